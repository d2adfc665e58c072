//! Login sessions, the same on both databases: their statements and the
//! store functions, generic over the [`Backend`].

use chrono::{DateTime, Utc};
use sqlx::Pool;
use storekeep_domain::{NewSession, SessionId, SessionRecord, UserId, UserRecord};
use storekeep_store::rules::identity::{ACCOUNT, SESSION};
use storekeep_store::{StoreError, StoreResult, now};

use super::users::SELECT_BY_ID;
use super::{SessionRow, UserRow};
use crate::DbId;
use crate::backend::Backend;
use crate::stmt::Stmt;

/// The live sessions (not revoked, not expired at `$2`) with token `$1`.
pub const BY_TOKEN: &str = "SELECT s.id, s.user_id, s.tenant_id, s.created_at, \
     s.last_seen_at, s.expires_at, s.ip, s.user_agent FROM sessions s \
     WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2";

/// An account's live sessions (user `$1`, at `$2`), oldest first.
pub const OF_USER: &str = "SELECT s.id, s.user_id, s.tenant_id, s.created_at, \
     s.last_seen_at, s.expires_at, s.ip, s.user_agent FROM sessions s \
     WHERE s.user_id = $1 AND s.revoked_at IS NULL AND s.expires_at > $2 ORDER BY s.id";

type SessionValues<'a> = (
    DbId,
    &'a str,
    DbId,
    Option<DbId>,
    DateTime<Utc>,
    DateTime<Utc>,
    Option<&'a str>,
    Option<&'a str>,
);

/// Stores a new session, begun at `at`, unless the account is erased
/// (its `email_index` is an erasure's, `rules::privacy::ERASED_INDEX_PREFIX`):
/// a sign-in whose password check ran while the erasure committed must not
/// leave a session behind, so the check is in the same statement.
pub fn insert(s: &NewSession, at: DateTime<Utc>) -> Stmt<SessionValues<'_>> {
    Stmt::new(
        "INSERT INTO sessions (id, token_hash, user_id, tenant_id, created_at, last_seen_at, \
         expires_at, ip, user_agent) SELECT $1, $2, $3, $4, $5, $5, $6, $7, $8 \
         WHERE EXISTS (SELECT 1 FROM users u WHERE u.id = $3 \
         AND u.email_index NOT LIKE 'erased:%')",
        (
            DbId(s.id.0),
            &s.token_hash,
            DbId(s.user_id.0),
            s.tenant_id.map(|t| DbId(t.0)),
            at,
            s.expires_at,
            s.ip.as_deref(),
            s.user_agent.as_deref(),
        ),
    )
}

/// Records a session's use at `at`, moving its expiry.
pub fn touch(
    id: SessionId,
    at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Stmt<(DateTime<Utc>, DateTime<Utc>, DbId)> {
    Stmt::new(
        "UPDATE sessions SET last_seen_at = $1, expires_at = $2 WHERE id = $3",
        (at, expires_at, DbId(id.0)),
    )
}

/// Ends one of an account's sessions, unless already ended.
pub fn revoke(user: UserId, id: SessionId, at: DateTime<Utc>) -> Stmt<(DateTime<Utc>, DbId, DbId)> {
    Stmt::new(
        "UPDATE sessions SET revoked_at = $1 \
         WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL",
        (at, DbId(id.0), DbId(user.0)),
    )
}

/// Ends every live session of an account.
pub fn revoke_all(user: DbId, at: DateTime<Utc>) -> Stmt<(DateTime<Utc>, DbId)> {
    Stmt::new(
        "UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
        (at, user),
    )
}

/// Ends every live session of an account but `keep`.
pub fn revoke_others(
    user: UserId,
    keep: SessionId,
    at: DateTime<Utc>,
) -> Stmt<(DateTime<Utc>, DbId, DbId)> {
    Stmt::new(
        "UPDATE sessions SET revoked_at = $1 \
         WHERE user_id = $2 AND id <> $3 AND revoked_at IS NULL",
        (at, DbId(user.0), DbId(keep.0)),
    )
}

pub async fn create<B: Backend>(pool: &Pool<B::Db>, s: &NewSession) -> StoreResult<SessionRecord> {
    let at = now();
    if B::exec(&mut *B::conn(pool).await?, insert(s, at)).await? == 0 {
        // The account is erased (or gone): no session.
        return Err(StoreError::NotFound(ACCOUNT));
    }
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

pub async fn by_token<B: Backend>(
    pool: &Pool<B::Db>,
    token_hash: &str,
    at: DateTime<Utc>,
) -> StoreResult<(SessionRecord, UserRecord)> {
    let mut conn = B::conn(pool).await?;
    let session: Option<SessionRow> =
        B::optional(&mut conn, Stmt::new(BY_TOKEN, (token_hash, at))).await?;
    let session = SessionRecord::from(session.ok_or(StoreError::NotFound(SESSION))?);
    let by_id = Stmt::new(SELECT_BY_ID, (DbId(session.user_id.0),));
    let user: UserRow = B::one(&mut conn, by_id).await?;
    Ok((session, user.try_into()?))
}

pub async fn touch_session<B: Backend>(
    pool: &Pool<B::Db>,
    id: SessionId,
    at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> StoreResult<()> {
    B::exec(&mut *B::conn(pool).await?, touch(id, at, expires_at)).await?;
    Ok(())
}

pub async fn list<B: Backend>(
    pool: &Pool<B::Db>,
    user: UserId,
    at: DateTime<Utc>,
) -> StoreResult<Vec<SessionRecord>> {
    let of_user = Stmt::new(OF_USER, (DbId(user.0), at));
    let rows: Vec<SessionRow> = B::all(&mut *B::conn(pool).await?, of_user).await?;
    Ok(rows.into_iter().map(SessionRecord::from).collect())
}

pub async fn revoke_one<B: Backend>(
    pool: &Pool<B::Db>,
    user: UserId,
    id: SessionId,
) -> StoreResult<()> {
    let done = B::exec(&mut *B::conn(pool).await?, revoke(user, id, now())).await?;
    if done == 0 {
        return Err(StoreError::NotFound(SESSION));
    }
    Ok(())
}

pub async fn revoke_every<B: Backend>(pool: &Pool<B::Db>, user: UserId) -> StoreResult<u64> {
    B::exec(&mut *B::conn(pool).await?, revoke_all(DbId(user.0), now())).await
}

pub async fn revoke_all_but<B: Backend>(
    pool: &Pool<B::Db>,
    user: UserId,
    keep: SessionId,
) -> StoreResult<u64> {
    B::exec(&mut *B::conn(pool).await?, revoke_others(user, keep, now())).await
}
