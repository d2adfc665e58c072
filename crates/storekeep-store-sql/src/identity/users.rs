//! The statements of accounts, login throttling, MFA and password
//! resets, the same on both databases.

use chrono::{DateTime, Utc};
use storekeep_domain::{Role, TenantId, UserId, UserKind, UserRecord};

use crate::DbId;
use crate::stmt::Stmt;

/// The account `$1`.
pub const SELECT_BY_ID: &str = crate::select_users!("u.id = $1");

/// A shop's accounts of a kind: ids after `$3`, at most `$4`.
pub const SELECT_PAGE: &str =
    crate::select_users!("u.tenant_id = $1 AND u.kind = $2 AND u.id > $3 ORDER BY u.id LIMIT $4");

/// Every account, in id order: ids after `$1`, at most `$2`.
pub const SELECT_AFTER: &str = crate::select_users!("u.id > $1 ORDER BY u.id LIMIT $2");

type SealedColumns<'a> = (
    &'a str,
    Option<&'a str>,
    Option<&'a str>,
    Option<&'a str>,
    Option<&'a str>,
);

fn sealed_columns(u: &UserRecord) -> SealedColumns<'_> {
    (
        &u.email_sealed,
        u.name_sealed.as_deref(),
        u.phone_sealed.as_deref(),
        u.totp_sealed.as_deref(),
        u.totp_pending_sealed.as_deref(),
    )
}

type ReplaceSealed<'a> = (
    &'a str,
    Option<&'a str>,
    Option<&'a str>,
    Option<&'a str>,
    Option<&'a str>,
    DateTime<Utc>,
    DbId,
    &'a str,
    Option<&'a str>,
    Option<&'a str>,
    Option<&'a str>,
    Option<&'a str>,
);

/// Stores an account's sealed fields (after a key rotation) only while
/// all five are still `old`'s: a compare-and-set, no row if the account
/// changed meanwhile or is gone.
pub fn replace_sealed<'a>(
    old: &'a UserRecord,
    new: &'a UserRecord,
    at: DateTime<Utc>,
) -> Stmt<ReplaceSealed<'a>> {
    let (email, name, phone, totp, pending) = sealed_columns(new);
    let (old_email, old_name, old_phone, old_totp, old_pending) = sealed_columns(old);
    Stmt::new(
        "UPDATE users SET email_sealed = $1, name_sealed = $2, phone_sealed = $3, \
         totp_sealed = $4, totp_pending_sealed = $5, updated_at = $6 \
         WHERE id = $7 AND email_sealed = $8 AND name_sealed IS NOT DISTINCT FROM $9 \
         AND phone_sealed IS NOT DISTINCT FROM $10 AND totp_sealed IS NOT DISTINCT FROM $11 \
         AND totp_pending_sealed IS NOT DISTINCT FROM $12",
        (
            email,
            name,
            phone,
            totp,
            pending,
            at,
            DbId(new.id.0),
            old_email,
            old_name,
            old_phone,
            old_totp,
            old_pending,
        ),
    )
}

/// How many accounts of a kind a shop has.
pub fn count(tenant: TenantId, kind: UserKind) -> Stmt<(DbId, &'static str)> {
    Stmt::new(
        "SELECT count(*) FROM users WHERE tenant_id = $1 AND kind = $2",
        (DbId(tenant.0), kind.as_str()),
    )
}

/// An account's shop (NULL: the platform's).
pub fn tenant_of(user: UserId) -> Stmt<(DbId,)> {
    Stmt::new("SELECT tenant_id FROM users WHERE id = $1", (DbId(user.0),))
}

// --- login throttling

/// The failures and lock of an email in a throttle scope.
pub fn throttle<'a>(scope: &'a str, email_index: &'a str) -> Stmt<(&'a str, &'a str)> {
    Stmt::new(
        "SELECT failures, locked_until FROM login_throttle WHERE scope = $1 AND email_index = $2",
        (scope, email_index),
    )
}

/// Counts one more failure, returning the count.
pub fn count_failure<'a>(scope: &'a str, email_index: &'a str) -> Stmt<(&'a str, &'a str)> {
    Stmt::new(
        "INSERT INTO login_throttle (scope, email_index, failures) VALUES ($1, $2, 1) \
         ON CONFLICT (scope, email_index) DO UPDATE \
         SET failures = login_throttle.failures + 1 RETURNING failures",
        (scope, email_index),
    )
}

pub fn lock<'a>(
    scope: &'a str,
    email_index: &'a str,
    until: Option<DateTime<Utc>>,
) -> Stmt<(&'a str, &'a str, Option<DateTime<Utc>>)> {
    Stmt::new(
        "UPDATE login_throttle SET locked_until = $3 WHERE scope = $1 AND email_index = $2",
        (scope, email_index, until),
    )
}

pub fn clear_failures<'a>(scope: &'a str, email_index: &'a str) -> Stmt<(&'a str, &'a str)> {
    Stmt::new(
        "DELETE FROM login_throttle WHERE scope = $1 AND email_index = $2",
        (scope, email_index),
    )
}

// --- MFA

pub fn set_totp_pending(
    user: UserId,
    sealed: Option<&str>,
    at: DateTime<Utc>,
) -> Stmt<(Option<&str>, DateTime<Utc>, DbId)> {
    Stmt::new(
        "UPDATE users SET totp_pending_sealed = $1, updated_at = $2 WHERE id = $3",
        (sealed, at, DbId(user.0)),
    )
}

/// Turns TOTP on with the confirmed secret; returns the account's shop.
pub fn enable_totp(
    user: UserId,
    sealed: &str,
    step: i64,
    at: DateTime<Utc>,
) -> Stmt<(&str, i64, DateTime<Utc>, DbId)> {
    Stmt::new(
        "UPDATE users SET totp_sealed = $1, totp_pending_sealed = NULL, totp_last_step = $2, \
         updated_at = $3 WHERE id = $4 RETURNING tenant_id",
        (sealed, step, at, DbId(user.0)),
    )
}

/// The shop `$1`'s owners, in id order (locked in that order where rows
/// lock: two concurrent role changes cannot each count the other owner).
pub const SHOP_OWNERS: &str =
    "SELECT id FROM users WHERE tenant_id = $1 AND kind = 'staff' AND role = 'owner' ORDER BY id";
pub const SHOP_OWNERS_LOCKED: &str = "SELECT id FROM users WHERE tenant_id = $1 AND kind = 'staff' \
     AND role = 'owner' ORDER BY id FOR UPDATE";

/// The staff member `$1` of shop `$2`, if it is one (locked where rows lock).
pub const STAFF_OF: &str =
    "SELECT id FROM users WHERE id = $1 AND tenant_id = $2 AND kind = 'staff'";
pub const STAFF_OF_LOCKED: &str =
    "SELECT id FROM users WHERE id = $1 AND tenant_id = $2 AND kind = 'staff' FOR UPDATE";

/// Gives a staff member `role`.
pub fn set_role(
    user: UserId,
    role: Role,
    at: DateTime<Utc>,
) -> Stmt<(&'static str, DateTime<Utc>, DbId)> {
    Stmt::new(
        "UPDATE users SET role = $1, updated_at = $2 WHERE id = $3",
        (role.as_str(), at, DbId(user.0)),
    )
}

/// Turns TOTP off; returns the account's shop.
pub fn disable_totp(user: UserId, at: DateTime<Utc>) -> Stmt<(DateTime<Utc>, DbId)> {
    Stmt::new(
        "UPDATE users SET totp_sealed = NULL, totp_pending_sealed = NULL, \
         totp_last_step = NULL, updated_at = $1 WHERE id = $2 RETURNING tenant_id",
        (at, DbId(user.0)),
    )
}

pub fn delete_recovery_codes(user: UserId) -> Stmt<(DbId,)> {
    Stmt::new(
        "DELETE FROM recovery_codes WHERE user_id = $1",
        (DbId(user.0),),
    )
}

pub fn insert_recovery_code(user: UserId, hash: &str) -> Stmt<(DbId, &str)> {
    Stmt::new(
        "INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)",
        (DbId(user.0), hash),
    )
}

/// Accepts a TOTP step only if it is later than the last accepted one.
pub fn use_totp_step(user: UserId, step: i64) -> Stmt<(i64, DbId)> {
    Stmt::new(
        "UPDATE users SET totp_last_step = $1 \
         WHERE id = $2 AND (totp_last_step IS NULL OR totp_last_step < $1)",
        (step, DbId(user.0)),
    )
}

/// Uses a recovery code, once.
pub fn use_recovery_code(
    user: UserId,
    code_hash: &str,
    at: DateTime<Utc>,
) -> Stmt<(DateTime<Utc>, DbId, &str)> {
    Stmt::new(
        "UPDATE recovery_codes SET used_at = $1 \
         WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL",
        (at, DbId(user.0), code_hash),
    )
}

// --- passwords

pub fn insert_reset(
    user: UserId,
    token_hash: &str,
    expires_at: DateTime<Utc>,
) -> Stmt<(&str, DbId, DateTime<Utc>)> {
    Stmt::new(
        "INSERT INTO password_resets (token_hash, user_id, expires_at) VALUES ($1, $2, $3)",
        (token_hash, DbId(user.0), expires_at),
    )
}

/// Uses a live reset token at `at`; returns its account.
pub fn use_reset(token_hash: &str, at: DateTime<Utc>) -> Stmt<(DateTime<Utc>, &str)> {
    Stmt::new(
        "UPDATE password_resets SET used_at = $1 \
         WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 RETURNING user_id",
        (at, token_hash),
    )
}

/// Ends every outstanding reset of an account.
pub fn end_resets(user: DbId, at: DateTime<Utc>) -> Stmt<(DateTime<Utc>, DbId)> {
    Stmt::new(
        "UPDATE password_resets SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL",
        (at, user),
    )
}

pub fn set_password(
    user: DbId,
    password_hash: &str,
    at: DateTime<Utc>,
) -> Stmt<(&str, DateTime<Utc>, DbId)> {
    Stmt::new(
        "UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3",
        (password_hash, at, user),
    )
}
