//! Login sessions on SQLite.

use crate::Pool;
use chrono::{DateTime, Utc};
use storekeep_domain::{NewSession, SessionId, SessionRecord, UserId, UserRecord};
use storekeep_store::rules::identity::SESSION;
use storekeep_store::{StoreError, StoreResult, now};
use storekeep_store_sql::DbId;
use storekeep_store_sql::identity::sessions::{self as sql, BY_TOKEN, OF_USER};
use storekeep_store_sql::identity::users::{BY_ID, select};
use storekeep_store_sql::identity::{SessionRow, UserRow};
use storekeep_store_sql::stmt::Stmt;

use crate::error::other;
use crate::run::RUN;

pub async fn create(pool: &Pool, s: &NewSession) -> StoreResult<SessionRecord> {
    let at = now();
    RUN.exec(pool, sql::insert(s, at)).await?;
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
    pool: &Pool,
    token_hash: &str,
    at: DateTime<Utc>,
) -> StoreResult<(SessionRecord, UserRecord)> {
    let session: Option<SessionRow> = RUN
        .optional(pool, Stmt::new(BY_TOKEN, (token_hash, at)))
        .await?;
    let session = SessionRecord::from(session.ok_or(StoreError::NotFound(SESSION))?);
    let user: UserRow = sqlx::query_as(&select(BY_ID))
        .bind(DbId(session.user_id.0))
        .fetch_one(pool)
        .await
        .map_err(other)?;
    Ok((session, user.try_into()?))
}

pub async fn touch(
    pool: &Pool,
    id: SessionId,
    at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> StoreResult<()> {
    RUN.exec(pool, sql::touch(id, at, expires_at)).await?;
    Ok(())
}

pub async fn list(pool: &Pool, user: UserId, at: DateTime<Utc>) -> StoreResult<Vec<SessionRecord>> {
    let rows: Vec<SessionRow> = RUN
        .all(pool, Stmt::new(OF_USER, (DbId(user.0), at)))
        .await?;
    Ok(rows.into_iter().map(SessionRecord::from).collect())
}

pub async fn revoke(pool: &Pool, user: UserId, id: SessionId) -> StoreResult<()> {
    let done = RUN.exec(pool, sql::revoke(user, id, now())).await?;
    if done == 0 {
        return Err(StoreError::NotFound(SESSION));
    }
    Ok(())
}

pub async fn revoke_all(pool: &Pool, user: UserId) -> StoreResult<u64> {
    let done = RUN.exec(pool, sql::revoke_all(DbId(user.0), now())).await?;
    Ok(done)
}

pub async fn revoke_others(pool: &Pool, user: UserId, keep: SessionId) -> StoreResult<u64> {
    let done = RUN
        .exec(pool, sql::revoke_others(user, keep, now()))
        .await?;
    Ok(done)
}
