//! Login sessions on PostgreSQL.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use storekeep_domain::{NewSession, SessionId, SessionRecord, UserId, UserRecord};
use storekeep_store::rules::identity::SESSION;
use storekeep_store::{StoreError, StoreResult, now};
use storekeep_store_sql::DbId;
use storekeep_store_sql::identity::{SESSION_COLUMNS, SessionRow, USER_COLUMNS, UserRow};
use storekeep_store_sql::stmt::Stmt;

use crate::error::other;

pub async fn create(pool: &PgPool, s: &NewSession) -> StoreResult<SessionRecord> {
    let at = now();
    Stmt::new(
        "INSERT INTO sessions (id, token_hash, user_id, tenant_id, created_at, last_seen_at, \
         expires_at, ip, user_agent) VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $8)",
        (
            DbId(s.id.0),
            &s.token_hash,
            DbId(s.user_id.0),
            s.tenant_id.map(|t| DbId(t.0)),
            at,
            s.expires_at,
            &s.ip,
            &s.user_agent,
        ),
    )
    .query()
    .execute(pool)
    .await
    .map_err(other)?;
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
        "SELECT {SESSION_COLUMNS} FROM sessions s \
         WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2"
    ))
    .bind(token_hash)
    .bind(at)
    .fetch_optional(pool)
    .await
    .map_err(other)?;
    let session = SessionRecord::from(session.ok_or(StoreError::NotFound(SESSION))?);
    let user: UserRow = sqlx::query_as(&format!(
        "SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1"
    ))
    .bind(DbId(session.user_id.0))
    .fetch_one(pool)
    .await
    .map_err(other)?;
    Ok((session, user.try_into()?))
}

pub async fn touch(
    pool: &PgPool,
    id: SessionId,
    at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> StoreResult<()> {
    Stmt::new(
        "UPDATE sessions SET last_seen_at = $1, expires_at = $2 WHERE id = $3",
        (at, expires_at, DbId(id.0)),
    )
    .query()
    .execute(pool)
    .await
    .map_err(other)?;
    Ok(())
}

pub async fn list(
    pool: &PgPool,
    user: UserId,
    at: DateTime<Utc>,
) -> StoreResult<Vec<SessionRecord>> {
    let rows: Vec<SessionRow> = sqlx::query_as(&format!(
        "SELECT {SESSION_COLUMNS} FROM sessions s \
         WHERE s.user_id = $1 AND s.revoked_at IS NULL AND s.expires_at > $2 ORDER BY s.id"
    ))
    .bind(DbId(user.0))
    .bind(at)
    .fetch_all(pool)
    .await
    .map_err(other)?;
    Ok(rows.into_iter().map(SessionRecord::from).collect())
}

pub async fn revoke(pool: &PgPool, user: UserId, id: SessionId) -> StoreResult<()> {
    let done = Stmt::new(
        "UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL",
        (now(), DbId(id.0), DbId(user.0)),
    )
    .query()
    .execute(pool)
    .await
    .map_err(other)?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(SESSION));
    }
    Ok(())
}

pub async fn revoke_all(pool: &PgPool, user: UserId) -> StoreResult<u64> {
    let done = Stmt::new(
        "UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
        (now(), DbId(user.0)),
    )
    .query()
    .execute(pool)
    .await
    .map_err(other)?;
    Ok(done.rows_affected())
}

pub async fn revoke_others(pool: &PgPool, user: UserId, keep: SessionId) -> StoreResult<u64> {
    let done = Stmt::new(
        "UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND id <> $3 AND revoked_at IS NULL",
        (now(), DbId(user.0), DbId(keep.0)),
    )
    .query()
    .execute(pool)
    .await
    .map_err(other)?;
    Ok(done.rows_affected())
}
