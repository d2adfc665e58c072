//! The second step of a sign-in with MFA: pending challenges, the same on
//! both databases — their statements and the store functions, generic over
//! the [`Backend`]. Only a challenge token's hash is stored; the service
//! (`services::accounts`) decides the lifetime and the bound of attempts.

use chrono::{DateTime, Utc};
use sqlx::Pool;
use storekeep_domain::{NewSignInChallenge, TenantId, UserId};
use storekeep_store::rules::identity::SIGN_IN_CHALLENGE;
use storekeep_store::{StoreError, StoreResult, now};

use crate::DbId;
use crate::backend::Backend;
use crate::stmt::Stmt;

/// The account's challenges that can no longer be answered (expired at
/// `$2`, or used), deleted when a new one is made so the table stays small.
const DELETE_STALE: &str = "DELETE FROM sign_in_challenges \
     WHERE user_id = $1 AND (expires_at <= $2 OR used_at IS NOT NULL)";

const INSERT: &str = "INSERT INTO sign_in_challenges \
     (token_hash, user_id, tenant_id, created_at, expires_at, attempts) \
     VALUES ($1, $2, $3, $4, $5, 0)";

/// One more attempt at the live challenge `$1` of shop `$2` (at `$3`,
/// fewer than `$4` attempts so far): counted in the statement that checks
/// it, so concurrent attempts each spend one.
const CLAIM: &str = "UPDATE sign_in_challenges SET attempts = attempts + 1 \
     WHERE token_hash = $1 AND (tenant_id = $2 OR (tenant_id IS NULL AND $2 IS NULL)) \
     AND used_at IS NULL AND expires_at > $3 AND attempts < $4 RETURNING user_id, attempts";

const USE: &str = "UPDATE sign_in_challenges SET used_at = $2 \
     WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2";

/// Every challenge of an account: a new password (a reset, a change)
/// voids the sign-ins that were waiting for a code.
pub fn delete_of_user(user: DbId) -> Stmt<(DbId,)> {
    Stmt::new("DELETE FROM sign_in_challenges WHERE user_id = $1", (user,))
}

pub async fn create<B: Backend>(pool: &Pool<B::Db>, c: &NewSignInChallenge) -> StoreResult<()> {
    let at = now();
    let mut tx = B::write_tx(pool).await?;
    B::exec(&mut tx, Stmt::new(DELETE_STALE, (DbId(c.user_id.0), at))).await?;
    let values = (
        c.token_hash.as_str(),
        DbId(c.user_id.0),
        c.tenant_id.map(|t| DbId(t.0)),
        at,
        c.expires_at,
    );
    B::exec(&mut tx, Stmt::new(INSERT, values)).await?;
    B::commit(tx).await
}

pub async fn claim<B: Backend>(
    pool: &Pool<B::Db>,
    token_hash: &str,
    tenant: Option<TenantId>,
    at: DateTime<Utc>,
    max_attempts: i64,
) -> StoreResult<(UserId, i64)> {
    let stmt = Stmt::new(
        CLAIM,
        (token_hash, tenant.map(|t| DbId(t.0)), at, max_attempts),
    );
    let row: Option<(DbId, i64)> = B::optional(&mut *B::conn(pool).await?, stmt).await?;
    row.map(|(u, n)| (UserId(u.0), n))
        .ok_or(StoreError::NotFound(SIGN_IN_CHALLENGE))
}

pub async fn use_one<B: Backend>(
    pool: &Pool<B::Db>,
    token_hash: &str,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let done = B::exec(&mut *B::conn(pool).await?, Stmt::new(USE, (token_hash, at))).await?;
    if done == 0 {
        return Err(StoreError::NotFound(SIGN_IN_CHALLENGE));
    }
    Ok(())
}
