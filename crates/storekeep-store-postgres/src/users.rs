//! Accounts, login throttling, MFA and password resets on PostgreSQL.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use storekeep_domain::{
    AuditContext, LoginThrottle, Page, PageRequest, Role, TenantId, UserId, UserKind, UserRecord,
};
use storekeep_store::{StoreError, StoreResult, now};
use tracing::instrument;

use crate::{audit, cursor, error, write_tx};

#[derive(sqlx::FromRow)]
pub struct UserRow {
    id: uuid::Uuid,
    tenant_id: Option<uuid::Uuid>,
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
            id: UserId(r.id),
            tenant_id: r.tenant_id.map(TenantId),
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
    pool: &PgPool,
    u: &UserRecord,
    ctx: Option<&AuditContext>,
) -> StoreResult<UserRecord> {
    let mut tx = write_tx(pool).await?;
    sqlx::query(&format!(
        "INSERT INTO users ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        COLUMNS.replace("u.", "")
    ))
    .bind(u.id.0)
    .bind(u.tenant_id.map(|t| t.0))
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
    .map_err(|e| error::map(e, &[("users_email_key", "email")]))?;
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

async fn fetch_one<'q>(
    pool: &PgPool,
    q: sqlx::query::QueryAs<'q, sqlx::Postgres, UserRow, sqlx::postgres::PgArguments>,
) -> StoreResult<UserRecord> {
    q.fetch_optional(pool)
        .await
        .map_err(crate::error::other)?
        .ok_or(StoreError::NotFound("account"))?
        .try_into()
}

pub async fn by_email(
    pool: &PgPool,
    tenant: Option<TenantId>,
    kind: UserKind,
    email_index: &str,
) -> StoreResult<UserRecord> {
    let sql = format!(
        "SELECT {COLUMNS} FROM users u WHERE u.tenant_id IS NOT DISTINCT FROM $1 AND u.kind = $2 AND u.email_index = $3"
    );
    let q = sqlx::query_as(&sql)
        .bind(tenant.map(|t| t.0))
        .bind(kind.as_str())
        .bind(email_index);
    fetch_one(pool, q).await
}

pub async fn by_id(pool: &PgPool, id: UserId) -> StoreResult<UserRecord> {
    let sql = format!("SELECT {COLUMNS} FROM users u WHERE u.id = $1");
    fetch_one(pool, sqlx::query_as(&sql).bind(id.0)).await
}

pub async fn list(
    pool: &PgPool,
    tenant: TenantId,
    kind: UserKind,
    page: &PageRequest,
) -> StoreResult<Page<UserRecord>> {
    let rows: Vec<UserRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM users u WHERE u.tenant_id = $1 AND u.kind = $2 AND u.id > $3 ORDER BY u.id LIMIT $4"
    ))
    .bind(tenant.0)
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
    pool: &PgPool,
    after: Option<UserId>,
    limit: i64,
) -> StoreResult<Vec<UserRecord>> {
    let rows: Vec<UserRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM users u WHERE u.id > $1 ORDER BY u.id LIMIT $2"
    ))
    .bind(after.map_or(uuid::Uuid::nil(), |a| a.0))
    .bind(limit)
    .fetch_all(pool)
    .await
    .map_err(crate::error::other)?;
    rows.into_iter().map(UserRecord::try_from).collect()
}

pub async fn update_sealed(pool: &PgPool, u: &UserRecord) -> StoreResult<()> {
    let done = sqlx::query(
        "UPDATE users SET email_sealed = $1, name_sealed = $2, phone_sealed = $3, totp_sealed = $4, \
         totp_pending_sealed = $5, updated_at = $6 WHERE id = $7",
    )
    .bind(&u.email_sealed)
    .bind(&u.name_sealed)
    .bind(&u.phone_sealed)
    .bind(&u.totp_sealed)
    .bind(&u.totp_pending_sealed)
    .bind(now())
    .bind(u.id.0)
    .execute(pool)
    .await
    .map_err(crate::error::other)?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound("account"));
    }
    Ok(())
}

// --- login throttling

pub async fn throttle(pool: &PgPool, scope: &str, email_index: &str) -> StoreResult<LoginThrottle> {
    let row: Option<(i64, Option<DateTime<Utc>>)> = sqlx::query_as(
        "SELECT failures, locked_until FROM login_throttle WHERE scope = $1 AND email_index = $2",
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
    pool: &PgPool,
    scope: &str,
    email_index: &str,
    lock: impl Fn(i64) -> Option<DateTime<Utc>>,
) -> StoreResult<LoginThrottle> {
    let mut tx = write_tx(pool).await?;
    let failures: i64 = sqlx::query_scalar(
        "INSERT INTO login_throttle (scope, email_index, failures) VALUES ($1, $2, 1) \
         ON CONFLICT (scope, email_index) DO UPDATE SET failures = login_throttle.failures + 1 RETURNING failures",
    )
    .bind(scope)
    .bind(email_index)
    .fetch_one(&mut *tx)
    .await
    .map_err(crate::error::other)?;
    let locked_until = lock(failures);
    sqlx::query(
        "UPDATE login_throttle SET locked_until = $1 WHERE scope = $2 AND email_index = $3",
    )
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

pub async fn clear_failures(pool: &PgPool, scope: &str, email_index: &str) -> StoreResult<()> {
    sqlx::query("DELETE FROM login_throttle WHERE scope = $1 AND email_index = $2")
        .bind(scope)
        .bind(email_index)
        .execute(pool)
        .await
        .map_err(crate::error::other)?;
    Ok(())
}

// --- MFA

pub async fn set_totp_pending(
    pool: &PgPool,
    user: UserId,
    sealed: Option<&str>,
) -> StoreResult<()> {
    sqlx::query("UPDATE users SET totp_pending_sealed = $1, updated_at = $2 WHERE id = $3")
        .bind(sealed)
        .bind(now())
        .bind(user.0)
        .execute(pool)
        .await
        .map_err(crate::error::other)?;
    Ok(())
}

pub async fn enable_totp(
    pool: &PgPool,
    user: UserId,
    sealed: &str,
    step: i64,
    recovery: &[String],
    ctx: &AuditContext,
) -> StoreResult<()> {
    let mut tx = write_tx(pool).await?;
    let tenant: Option<Option<uuid::Uuid>> = sqlx::query_scalar(
        "UPDATE users SET totp_sealed = $1, totp_pending_sealed = NULL, totp_last_step = $2, updated_at = $3 \
         WHERE id = $4 RETURNING tenant_id",
    )
    .bind(sealed)
    .bind(step)
    .bind(now())
    .bind(user.0)
    .fetch_optional(&mut *tx)
    .await
    .map_err(crate::error::other)?;
    let tenant = tenant.ok_or(StoreError::NotFound("account"))?;
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user.0)
        .execute(&mut *tx)
        .await
        .map_err(crate::error::other)?;
    for h in recovery {
        sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
            .bind(user.0)
            .bind(h)
            .execute(&mut *tx)
            .await
            .map_err(crate::error::other)?;
    }
    let scope = scope_of(tenant.map(TenantId));
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

pub async fn disable_totp(pool: &PgPool, user: UserId, ctx: &AuditContext) -> StoreResult<()> {
    let mut tx = write_tx(pool).await?;
    let tenant: Option<Option<uuid::Uuid>> = sqlx::query_scalar(
        "UPDATE users SET totp_sealed = NULL, totp_pending_sealed = NULL, totp_last_step = NULL, updated_at = $1 \
         WHERE id = $2 RETURNING tenant_id",
    )
    .bind(now())
    .bind(user.0)
    .fetch_optional(&mut *tx)
    .await
    .map_err(crate::error::other)?;
    let tenant = tenant.ok_or(StoreError::NotFound("account"))?;
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user.0)
        .execute(&mut *tx)
        .await
        .map_err(crate::error::other)?;
    let scope = scope_of(tenant.map(TenantId));
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

pub async fn use_totp_step(pool: &PgPool, user: UserId, step: i64) -> StoreResult<()> {
    let done = sqlx::query(
        "UPDATE users SET totp_last_step = $1 WHERE id = $2 AND (totp_last_step IS NULL OR totp_last_step < $3)",
    )
    .bind(step)
    .bind(user.0)
    .bind(step)
    .execute(pool)
    .await
    .map_err(crate::error::other)?;
    if done.rows_affected() == 0 {
        return Err(StoreError::Invalid("this code was already used"));
    }
    Ok(())
}

pub async fn use_recovery_code(pool: &PgPool, user: UserId, code_hash: &str) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL",
    )
    .bind(now())
    .bind(user.0)
    .bind(code_hash)
    .execute(pool)
    .await
    .map_err(crate::error::other)?;
    Ok(done.rows_affected() == 1)
}

// --- passwords

pub async fn create_reset(
    pool: &PgPool,
    user: UserId,
    token_hash: &str,
    expires_at: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO password_resets (token_hash, user_id, expires_at) VALUES ($1, $2, $3)",
    )
    .bind(token_hash)
    .bind(user.0)
    .bind(expires_at)
    .execute(pool)
    .await
    .map_err(crate::error::other)?;
    Ok(())
}

pub async fn reset_password(
    pool: &PgPool,
    token_hash: &str,
    password_hash: &str,
    at: DateTime<Utc>,
) -> StoreResult<UserRecord> {
    let mut tx = write_tx(pool).await?;
    let user: Option<uuid::Uuid> = sqlx::query_scalar(
        "UPDATE password_resets SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $3 \
         RETURNING user_id",
    )
    .bind(at)
    .bind(token_hash)
    .bind(at)
    .fetch_optional(&mut *tx)
    .await
    .map_err(crate::error::other)?;
    let user = user.ok_or(StoreError::NotFound("reset token"))?;
    set_password_in(&mut tx, user, password_hash, at).await?;
    // Every other outstanding reset link for the account dies too.
    sqlx::query("UPDATE password_resets SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL")
        .bind(at)
        .bind(user)
        .execute(&mut *tx)
        .await
        .map_err(crate::error::other)?;
    let row: UserRow = sqlx::query_as(&format!("SELECT {COLUMNS} FROM users u WHERE u.id = $1"))
        .bind(user)
        .fetch_one(&mut *tx)
        .await
        .map_err(crate::error::other)?;
    tx.commit().await.map_err(crate::error::other)?;
    row.try_into()
}

async fn set_password_in(
    conn: &mut sqlx::PgConnection,
    user: uuid::Uuid,
    password_hash: &str,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let done = sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
        .bind(password_hash)
        .bind(at)
        .bind(user)
        .execute(&mut *conn)
        .await
        .map_err(crate::error::other)?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound("account"));
    }
    sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
        .bind(at)
        .bind(user)
        .execute(&mut *conn)
        .await
        .map_err(crate::error::other)?;
    Ok(())
}

pub async fn set_password(
    pool: &PgPool,
    user: UserId,
    password_hash: &str,
    ctx: Option<&AuditContext>,
) -> StoreResult<()> {
    let mut tx = write_tx(pool).await?;
    set_password_in(&mut tx, user.0, password_hash, now()).await?;
    if let Some(ctx) = ctx {
        let tenant: Option<uuid::Uuid> =
            sqlx::query_scalar("SELECT tenant_id FROM users WHERE id = $1")
                .bind(user.0)
                .fetch_one(&mut *tx)
                .await
                .map_err(crate::error::other)?;
        let scope = scope_of(tenant.map(TenantId));
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

pub async fn count(pool: &PgPool, tenant: TenantId, kind: UserKind) -> StoreResult<i64> {
    sqlx::query_scalar("SELECT count(*) FROM users WHERE tenant_id = $1 AND kind = $2")
        .bind(tenant.0)
        .bind(kind.as_str())
        .fetch_one(pool)
        .await
        .map_err(crate::error::other)
}
