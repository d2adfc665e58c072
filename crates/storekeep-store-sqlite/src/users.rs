//! Accounts, login throttling, MFA and password resets on SQLite.

use chrono::{DateTime, Utc};
use sqlx::SqlitePool;
use storekeep_domain::{
    AuditContext, LoginThrottle, Page, PageRequest, Role, TenantId, UserId, UserKind, UserRecord,
};
use storekeep_store::{StoreError, StoreResult, now};
use tracing::instrument;

use crate::{audit, cursor, error, write_tx};

#[derive(sqlx::FromRow)]
pub struct UserRow {
    id: String,
    tenant_id: Option<String>,
    kind: String,
    role: Option<String>,
    email_index: String,
    email_sealed: String,
    name_sealed: Option<String>,
    phone_sealed: Option<String>,
    password_hash: String,
    totp_sealed: Option<String>,
    totp_pending_sealed: Option<String>,
    totp_last_step: Option<i64>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

fn corrupt(m: String) -> StoreError {
    StoreError::Other(format!("stored account is invalid: {m}").into())
}

impl TryFrom<UserRow> for UserRecord {
    type Error = StoreError;
    fn try_from(r: UserRow) -> StoreResult<Self> {
        Ok(UserRecord {
            id: r.id.parse().map_err(crate::error::other)?,
            tenant_id: r
                .tenant_id
                .map(|t| t.parse::<TenantId>())
                .transpose()
                .map_err(crate::error::other)?,
            kind: UserKind::parse(&r.kind).map_err(corrupt)?,
            role: r
                .role
                .as_deref()
                .map(Role::parse)
                .transpose()
                .map_err(corrupt)?,
            email_index: r.email_index,
            email_sealed: r.email_sealed,
            name_sealed: r.name_sealed,
            phone_sealed: r.phone_sealed,
            password_hash: r.password_hash,
            totp_sealed: r.totp_sealed,
            totp_pending_sealed: r.totp_pending_sealed,
            totp_last_step: r.totp_last_step,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

pub const COLUMNS: &str = "u.id, u.tenant_id, u.kind, u.role, u.email_index, u.email_sealed, u.name_sealed, \
     u.phone_sealed, u.password_hash, u.totp_sealed, u.totp_pending_sealed, u.totp_last_step, \
     u.created_at, u.updated_at";

/// The audit scope of an account: its tenant, or the platform.
fn scope_of(tenant: Option<TenantId>) -> String {
    tenant.map_or_else(
        || storekeep_domain::PLATFORM_SCOPE.to_owned(),
        |t| t.to_string(),
    )
}

/// What the audit log says about an account: never its PII.
pub fn summary(u: &UserRecord) -> serde_json::Value {
    serde_json::json!({
        "id": u.id,
        "kind": u.kind.as_str(),
        "role": u.role.map(Role::as_str),
        "mfa": u.mfa_enabled(),
    })
}

#[instrument(skip_all)]
pub async fn create(
    pool: &SqlitePool,
    u: &UserRecord,
    ctx: Option<&AuditContext>,
) -> StoreResult<UserRecord> {
    let mut tx = write_tx(pool).await?;
    sqlx::query(&format!(
        "INSERT INTO users ({}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        COLUMNS.replace("u.", "")
    ))
    .bind(u.id.to_string())
    .bind(u.tenant_id.map(|t| t.to_string()))
    .bind(u.kind.as_str())
    .bind(u.role.map(Role::as_str))
    .bind(&u.email_index)
    .bind(&u.email_sealed)
    .bind(&u.name_sealed)
    .bind(&u.phone_sealed)
    .bind(&u.password_hash)
    .bind(&u.totp_sealed)
    .bind(&u.totp_pending_sealed)
    .bind(u.totp_last_step)
    .bind(u.created_at)
    .bind(u.updated_at)
    .execute(&mut *tx)
    .await
    .map_err(|e| error::map(e, &[("users.", "email"), ("users_email_key", "email")]))?;
    if let Some(ctx) = ctx {
        audit::append(
            &mut tx,
            &scope_of(u.tenant_id),
            ctx,
            &format!("{}.create", u.kind.as_str()),
            &format!("user:{}", u.id),
            None,
            Some(summary(u)),
        )
        .await?;
    }
    tx.commit().await.map_err(crate::error::other)?;
    Ok(u.clone())
}

async fn fetch(
    pool: &SqlitePool,
    clause: &str,
    binds: &[Option<String>],
) -> StoreResult<UserRecord> {
    let sql = format!("SELECT {COLUMNS} FROM users u WHERE {clause}");
    let mut q = sqlx::query_as::<_, UserRow>(&sql);
    for b in binds {
        q = q.bind(b.clone());
    }
    q.fetch_optional(pool)
        .await
        .map_err(crate::error::other)?
        .ok_or(StoreError::NotFound("account"))?
        .try_into()
}

pub async fn by_email(
    pool: &SqlitePool,
    tenant: Option<TenantId>,
    kind: UserKind,
    email_index: &str,
) -> StoreResult<UserRecord> {
    fetch(
        pool,
        "coalesce(u.tenant_id, '') = coalesce(?, '') AND u.kind = ? AND u.email_index = ?",
        &[
            tenant.map(|t| t.to_string()),
            Some(kind.as_str().to_owned()),
            Some(email_index.to_owned()),
        ],
    )
    .await
}

pub async fn by_id(pool: &SqlitePool, id: UserId) -> StoreResult<UserRecord> {
    fetch(pool, "u.id = ?", &[Some(id.to_string())]).await
}

pub async fn list(
    pool: &SqlitePool,
    tenant: TenantId,
    kind: UserKind,
    page: &PageRequest,
) -> StoreResult<Page<UserRecord>> {
    let rows: Vec<UserRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM users u WHERE u.tenant_id = ? AND u.kind = ? AND u.id > ? ORDER BY u.id LIMIT ?"
    ))
    .bind(tenant.to_string())
    .bind(kind.as_str())
    .bind(cursor(page)?)
    .bind(page.fetch_limit())
    .fetch_all(pool)
    .await
    .map_err(crate::error::other)?;
    let users = rows
        .into_iter()
        .map(UserRecord::try_from)
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(Page::from_rows(users, page, |u| u.id.to_string()))
}

pub async fn after(
    pool: &SqlitePool,
    after: Option<UserId>,
    limit: i64,
) -> StoreResult<Vec<UserRecord>> {
    let rows: Vec<UserRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM users u WHERE u.id > ? ORDER BY u.id LIMIT ?"
    ))
    .bind(after.map(|a| a.to_string()).unwrap_or_default())
    .bind(limit)
    .fetch_all(pool)
    .await
    .map_err(crate::error::other)?;
    rows.into_iter().map(UserRecord::try_from).collect()
}

pub async fn update_sealed(pool: &SqlitePool, u: &UserRecord) -> StoreResult<()> {
    let done = sqlx::query(
        "UPDATE users SET email_sealed = ?, name_sealed = ?, phone_sealed = ?, totp_sealed = ?, \
         totp_pending_sealed = ?, updated_at = ? WHERE id = ?",
    )
    .bind(&u.email_sealed)
    .bind(&u.name_sealed)
    .bind(&u.phone_sealed)
    .bind(&u.totp_sealed)
    .bind(&u.totp_pending_sealed)
    .bind(now())
    .bind(u.id.to_string())
    .execute(pool)
    .await
    .map_err(crate::error::other)?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound("account"));
    }
    Ok(())
}

// --- login throttling

pub async fn throttle(
    pool: &SqlitePool,
    scope: &str,
    email_index: &str,
) -> StoreResult<LoginThrottle> {
    let row: Option<(i64, Option<DateTime<Utc>>)> = sqlx::query_as(
        "SELECT failures, locked_until FROM login_throttle WHERE scope = ? AND email_index = ?",
    )
    .bind(scope)
    .bind(email_index)
    .fetch_optional(pool)
    .await
    .map_err(crate::error::other)?;
    Ok(row.map_or(
        LoginThrottle {
            failures: 0,
            locked_until: None,
        },
        |(failures, locked_until)| LoginThrottle {
            failures,
            locked_until,
        },
    ))
}

pub async fn record_failure(
    pool: &SqlitePool,
    scope: &str,
    email_index: &str,
    lock: impl Fn(i64) -> Option<DateTime<Utc>>,
) -> StoreResult<LoginThrottle> {
    let mut tx = write_tx(pool).await?;
    let failures: i64 = sqlx::query_scalar(
        "INSERT INTO login_throttle (scope, email_index, failures) VALUES (?, ?, 1) \
         ON CONFLICT (scope, email_index) DO UPDATE SET failures = failures + 1 RETURNING failures",
    )
    .bind(scope)
    .bind(email_index)
    .fetch_one(&mut *tx)
    .await
    .map_err(crate::error::other)?;
    let locked_until = lock(failures);
    sqlx::query("UPDATE login_throttle SET locked_until = ? WHERE scope = ? AND email_index = ?")
        .bind(locked_until)
        .bind(scope)
        .bind(email_index)
        .execute(&mut *tx)
        .await
        .map_err(crate::error::other)?;
    tx.commit().await.map_err(crate::error::other)?;
    Ok(LoginThrottle {
        failures,
        locked_until,
    })
}

pub async fn clear_failures(pool: &SqlitePool, scope: &str, email_index: &str) -> StoreResult<()> {
    sqlx::query("DELETE FROM login_throttle WHERE scope = ? AND email_index = ?")
        .bind(scope)
        .bind(email_index)
        .execute(pool)
        .await
        .map_err(crate::error::other)?;
    Ok(())
}

// --- MFA

pub async fn set_totp_pending(
    pool: &SqlitePool,
    user: UserId,
    sealed: Option<&str>,
) -> StoreResult<()> {
    sqlx::query("UPDATE users SET totp_pending_sealed = ?, updated_at = ? WHERE id = ?")
        .bind(sealed)
        .bind(now())
        .bind(user.to_string())
        .execute(pool)
        .await
        .map_err(crate::error::other)?;
    Ok(())
}

pub async fn enable_totp(
    pool: &SqlitePool,
    user: UserId,
    sealed: &str,
    step: i64,
    recovery: &[String],
    ctx: &AuditContext,
) -> StoreResult<()> {
    let mut tx = write_tx(pool).await?;
    let tenant: Option<Option<String>> = sqlx::query_scalar(
        "UPDATE users SET totp_sealed = ?, totp_pending_sealed = NULL, totp_last_step = ?, updated_at = ? \
         WHERE id = ? RETURNING tenant_id",
    )
    .bind(sealed)
    .bind(step)
    .bind(now())
    .bind(user.to_string())
    .fetch_optional(&mut *tx)
    .await
    .map_err(crate::error::other)?;
    let tenant = tenant.ok_or(StoreError::NotFound("account"))?;
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = ?")
        .bind(user.to_string())
        .execute(&mut *tx)
        .await
        .map_err(crate::error::other)?;
    for h in recovery {
        sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES (?, ?)")
            .bind(user.to_string())
            .bind(h)
            .execute(&mut *tx)
            .await
            .map_err(crate::error::other)?;
    }
    let scope = tenant.unwrap_or_else(|| storekeep_domain::PLATFORM_SCOPE.to_owned());
    audit::append(
        &mut tx,
        &scope,
        ctx,
        "mfa.enable",
        &format!("user:{user}"),
        None,
        None,
    )
    .await?;
    tx.commit().await.map_err(crate::error::other)?;
    Ok(())
}

pub async fn disable_totp(pool: &SqlitePool, user: UserId, ctx: &AuditContext) -> StoreResult<()> {
    let mut tx = write_tx(pool).await?;
    let tenant: Option<Option<String>> = sqlx::query_scalar(
        "UPDATE users SET totp_sealed = NULL, totp_pending_sealed = NULL, totp_last_step = NULL, updated_at = ? \
         WHERE id = ? RETURNING tenant_id",
    )
    .bind(now())
    .bind(user.to_string())
    .fetch_optional(&mut *tx)
    .await
    .map_err(crate::error::other)?;
    let tenant = tenant.ok_or(StoreError::NotFound("account"))?;
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = ?")
        .bind(user.to_string())
        .execute(&mut *tx)
        .await
        .map_err(crate::error::other)?;
    let scope = tenant.unwrap_or_else(|| storekeep_domain::PLATFORM_SCOPE.to_owned());
    audit::append(
        &mut tx,
        &scope,
        ctx,
        "mfa.disable",
        &format!("user:{user}"),
        None,
        None,
    )
    .await?;
    tx.commit().await.map_err(crate::error::other)?;
    Ok(())
}

pub async fn use_totp_step(pool: &SqlitePool, user: UserId, step: i64) -> StoreResult<()> {
    let done = sqlx::query(
        "UPDATE users SET totp_last_step = ? WHERE id = ? AND (totp_last_step IS NULL OR totp_last_step < ?)",
    )
    .bind(step)
    .bind(user.to_string())
    .bind(step)
    .execute(pool)
    .await
    .map_err(crate::error::other)?;
    if done.rows_affected() == 0 {
        return Err(StoreError::Invalid("this code was already used"));
    }
    Ok(())
}

pub async fn use_recovery_code(
    pool: &SqlitePool,
    user: UserId,
    code_hash: &str,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at IS NULL",
    )
    .bind(now())
    .bind(user.to_string())
    .bind(code_hash)
    .execute(pool)
    .await
    .map_err(crate::error::other)?;
    Ok(done.rows_affected() == 1)
}

// --- passwords

pub async fn create_reset(
    pool: &SqlitePool,
    user: UserId,
    token_hash: &str,
    expires_at: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query("INSERT INTO password_resets (token_hash, user_id, expires_at) VALUES (?, ?, ?)")
        .bind(token_hash)
        .bind(user.to_string())
        .bind(expires_at)
        .execute(pool)
        .await
        .map_err(crate::error::other)?;
    Ok(())
}

pub async fn reset_password(
    pool: &SqlitePool,
    token_hash: &str,
    password_hash: &str,
    at: DateTime<Utc>,
) -> StoreResult<UserRecord> {
    let mut tx = write_tx(pool).await?;
    let user: Option<String> = sqlx::query_scalar(
        "UPDATE password_resets SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND expires_at > ? \
         RETURNING user_id",
    )
    .bind(at)
    .bind(token_hash)
    .bind(at)
    .fetch_optional(&mut *tx)
    .await
    .map_err(crate::error::other)?;
    let user = user.ok_or(StoreError::NotFound("reset token"))?;
    set_password_in(&mut tx, &user, password_hash, at).await?;
    // Every other outstanding reset link for the account dies too.
    sqlx::query("UPDATE password_resets SET used_at = ? WHERE user_id = ? AND used_at IS NULL")
        .bind(at)
        .bind(&user)
        .execute(&mut *tx)
        .await
        .map_err(crate::error::other)?;
    let row: UserRow = sqlx::query_as(&format!("SELECT {COLUMNS} FROM users u WHERE u.id = ?"))
        .bind(&user)
        .fetch_one(&mut *tx)
        .await
        .map_err(crate::error::other)?;
    tx.commit().await.map_err(crate::error::other)?;
    row.try_into()
}

async fn set_password_in(
    conn: &mut sqlx::SqliteConnection,
    user: &str,
    password_hash: &str,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let done = sqlx::query("UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?")
        .bind(password_hash)
        .bind(at)
        .bind(user)
        .execute(&mut *conn)
        .await
        .map_err(crate::error::other)?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound("account"));
    }
    sqlx::query("UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL")
        .bind(at)
        .bind(user)
        .execute(&mut *conn)
        .await
        .map_err(crate::error::other)?;
    Ok(())
}

pub async fn set_password(
    pool: &SqlitePool,
    user: UserId,
    password_hash: &str,
    ctx: Option<&AuditContext>,
) -> StoreResult<()> {
    let mut tx = write_tx(pool).await?;
    set_password_in(&mut tx, &user.to_string(), password_hash, now()).await?;
    if let Some(ctx) = ctx {
        let tenant: Option<String> = sqlx::query_scalar("SELECT tenant_id FROM users WHERE id = ?")
            .bind(user.to_string())
            .fetch_one(&mut *tx)
            .await
            .map_err(crate::error::other)?;
        let scope = tenant.unwrap_or_else(|| storekeep_domain::PLATFORM_SCOPE.to_owned());
        audit::append(
            &mut tx,
            &scope,
            ctx,
            "password.change",
            &format!("user:{user}"),
            None,
            None,
        )
        .await?;
    }
    tx.commit().await.map_err(crate::error::other)?;
    Ok(())
}

pub async fn count(pool: &SqlitePool, tenant: TenantId, kind: UserKind) -> StoreResult<i64> {
    sqlx::query_scalar("SELECT count(*) FROM users WHERE tenant_id = ? AND kind = ?")
        .bind(tenant.to_string())
        .bind(kind.as_str())
        .fetch_one(pool)
        .await
        .map_err(crate::error::other)
}
