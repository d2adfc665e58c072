//! The statements of login sessions, the same on both databases.

use chrono::{DateTime, Utc};
use storekeep_domain::{NewSession, SessionId, UserId};

use crate::DbId;
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

/// Stores a new session, begun at `at`.
pub fn insert(s: &NewSession, at: DateTime<Utc>) -> Stmt<SessionValues<'_>> {
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
