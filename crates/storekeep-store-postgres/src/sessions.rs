//! Login sessions on PostgreSQL.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use storekeep_domain::{NewSession, SessionId, SessionRecord, TenantId, UserId, UserRecord};
use storekeep_store::{StoreError, StoreResult, now};

use crate::users::{COLUMNS as USER_COLUMNS, UserRow};

#[derive(sqlx::FromRow)]
struct SessionRow {
    id: uuid::Uuid,
    user_id: uuid::Uuid,
    tenant_id: Option<uuid::Uuid>,
    created_at: DateTime<Utc>,
    last_seen_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    ip: Option<String>,
    user_agent: Option<String>,
}

impl TryFrom<SessionRow> for SessionRecord {
    type Error = StoreError;
    fn try_from(r: SessionRow) -> StoreResult<Self> {
        Ok(SessionRecord {
            id: SessionId(r.id),
            user_id: UserId(r.user_id),
            tenant_id: r.tenant_id.map(TenantId),
            created_at: r.created_at,
            last_seen_at: r.last_seen_at,
            expires_at: r.expires_at,
            ip: r.ip,
            user_agent: r.user_agent,
        })
    }
}

const COLUMNS: &str =
    "s.id, s.user_id, s.tenant_id, s.created_at, s.last_seen_at, s.expires_at, s.ip, s.user_agent";

pub async fn create(pool: &PgPool, s: &NewSession) -> StoreResult<SessionRecord> {
    let at = now();
    sqlx::query(
        "INSERT INTO sessions (id, token_hash, user_id, tenant_id, created_at, last_seen_at, expires_at, ip, user_agent) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(s.id.0)
    .bind(&s.token_hash)
    .bind(s.user_id.0)
    .bind(s.tenant_id.map(|t| t.0))
    .bind(at)
    .bind(at)
    .bind(s.expires_at)
    .bind(&s.ip)
    .bind(&s.user_agent)
    .execute(pool)
    .await
    .map_err(crate::error::other)?;
    Ok(SessionRecord {
        id: s.id,
        user_id: s.user_id,
        tenant_id: s.tenant_id,
        created_at: at,
        last_seen_at: at,
        expires_at: s.expires_at,
        ip: s.ip.clone(),
        user_agent: s.user_agent.clone(),
    })
}

pub async fn by_token(
    pool: &PgPool,
    token_hash: &str,
    at: DateTime<Utc>,
) -> StoreResult<(SessionRecord, UserRecord)> {
    let session: Option<SessionRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM sessions s WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2"
    ))
    .bind(token_hash)
    .bind(at)
    .fetch_optional(pool)
    .await
    .map_err(crate::error::other)?;
    let session: SessionRecord = session.ok_or(StoreError::NotFound("session"))?.try_into()?;
    let user: UserRow = sqlx::query_as(&format!(
        "SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1"
    ))
    .bind(session.user_id.0)
    .fetch_one(pool)
    .await
    .map_err(crate::error::other)?;
    Ok((session, user.try_into()?))
}

pub async fn touch(
    pool: &PgPool,
    id: SessionId,
    at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query("UPDATE sessions SET last_seen_at = $1, expires_at = $2 WHERE id = $3")
        .bind(at)
        .bind(expires_at)
        .bind(id.0)
        .execute(pool)
        .await
        .map_err(crate::error::other)?;
    Ok(())
}

pub async fn list(
    pool: &PgPool,
    user: UserId,
    at: DateTime<Utc>,
) -> StoreResult<Vec<SessionRecord>> {
    let rows: Vec<SessionRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM sessions s WHERE s.user_id = $1 AND s.revoked_at IS NULL AND s.expires_at > $2 \
         ORDER BY s.id"
    ))
    .bind(user.0)
    .bind(at)
    .fetch_all(pool)
    .await
    .map_err(crate::error::other)?;
    rows.into_iter().map(SessionRecord::try_from).collect()
}

pub async fn revoke(pool: &PgPool, user: UserId, id: SessionId) -> StoreResult<()> {
    let done = sqlx::query(
        "UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL",
    )
    .bind(now())
    .bind(id.0)
    .bind(user.0)
    .execute(pool)
    .await
    .map_err(crate::error::other)?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound("session"));
    }
    Ok(())
}

pub async fn revoke_all(pool: &PgPool, user: UserId) -> StoreResult<u64> {
    let done = sqlx::query(
        "UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
    )
    .bind(now())
    .bind(user.0)
    .execute(pool)
    .await
    .map_err(crate::error::other)?;
    Ok(done.rows_affected())
}

pub async fn revoke_others(pool: &PgPool, user: UserId, keep: SessionId) -> StoreResult<u64> {
    let done = sqlx::query(
        "UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND id <> $3 AND revoked_at IS NULL",
    )
    .bind(now())
    .bind(user.0)
    .bind(keep.0)
    .execute(pool)
    .await
    .map_err(crate::error::other)?;
    Ok(done.rows_affected())
}
