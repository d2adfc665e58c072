//! Accounts, login throttling, MFA and password resets on PostgreSQL.

use crate::{Conn, Pool};
use chrono::{DateTime, Utc};
use storekeep_domain::{
    AuditContext, LoginThrottle, Page, PageRequest, TenantId, UserId, UserKind, UserRecord,
};
use storekeep_store::rules::identity::{
    ACCOUNT, MFA_DISABLE, MFA_ENABLE, PASSWORD_CHANGE, RESET_TOKEN, account_changed,
    account_created, require_fresh_step,
};
use storekeep_store::{StoreError, StoreResult, now};
use storekeep_store_sql::DbId;
use storekeep_store_sql::identity::sessions::revoke_all;
use storekeep_store_sql::identity::users::{self as sql, AFTER, BY_ID, PAGE, select};
use storekeep_store_sql::identity::{USERS_EMAIL_KEY, UserRow, changed_account, insert_user};
use storekeep_store_sql::stmt::{cursor, found, page_of};
use tracing::instrument;

use crate::error::{self, other};
use crate::run::RUN;
use crate::{audit, write_tx};

/// The unique constraint of a taken email.
const UNIQUES: &[(&str, &str)] = &[USERS_EMAIL_KEY];

/// The account with this email in a shop (or the platform's, for no
/// shop).
const BY_EMAIL: &str = "u.tenant_id IS NOT DISTINCT FROM $1 AND u.kind = $2 AND u.email_index = $3";

#[instrument(skip_all)]
pub async fn create(
    pool: &Pool,
    u: &UserRecord,
    ctx: Option<&AuditContext>,
) -> StoreResult<UserRecord> {
    let mut tx = write_tx(pool).await?;
    insert_user(u)
        .query()
        .execute(&mut *tx)
        .await
        .map_err(|e| error::map(e, UNIQUES))?;
    if let Some(ctx) = ctx {
        audit::record(&mut tx, ctx, account_created(u)).await?;
    }
    tx.commit().await.map_err(other)?;
    Ok(u.clone())
}

pub async fn by_email(
    pool: &Pool,
    tenant: Option<TenantId>,
    kind: UserKind,
    email_index: &str,
) -> StoreResult<UserRecord> {
    let row: Option<UserRow> = sqlx::query_as(&select(BY_EMAIL))
        .bind(tenant.map(|t| DbId(t.0)))
        .bind(kind.as_str())
        .bind(email_index)
        .fetch_optional(pool)
        .await
        .map_err(other)?;
    found(row, ACCOUNT)
}

pub async fn by_id(pool: &Pool, id: UserId) -> StoreResult<UserRecord> {
    let row: Option<UserRow> = sqlx::query_as(&select(BY_ID))
        .bind(DbId(id.0))
        .fetch_optional(pool)
        .await
        .map_err(other)?;
    found(row, ACCOUNT)
}

pub async fn list(
    pool: &Pool,
    tenant: TenantId,
    kind: UserKind,
    page: &PageRequest,
) -> StoreResult<Page<UserRecord>> {
    let rows: Vec<UserRow> = sqlx::query_as(&select(PAGE))
        .bind(DbId(tenant.0))
        .bind(kind.as_str())
        .bind(cursor(page)?)
        .bind(page.fetch_limit())
        .fetch_all(pool)
        .await
        .map_err(other)?;
    page_of(rows, page, |u: &UserRecord| u.id.0)
}

pub async fn after(pool: &Pool, after: Option<UserId>, limit: i64) -> StoreResult<Vec<UserRecord>> {
    let rows: Vec<UserRow> = sqlx::query_as(&select(AFTER))
        .bind(DbId(after.map_or(uuid::Uuid::nil(), |a| a.0)))
        .bind(limit)
        .fetch_all(pool)
        .await
        .map_err(other)?;
    rows.into_iter().map(UserRecord::try_from).collect()
}

pub async fn update_sealed(pool: &Pool, u: &UserRecord) -> StoreResult<()> {
    let done = RUN.exec(pool, sql::update_sealed(u, now())).await?;
    if done == 0 {
        return Err(StoreError::NotFound(ACCOUNT));
    }
    Ok(())
}

// --- login throttling

pub async fn throttle(pool: &Pool, scope: &str, email_index: &str) -> StoreResult<LoginThrottle> {
    let row: Option<(i64, Option<DateTime<Utc>>)> = RUN
        .optional(pool, sql::throttle(scope, email_index))
        .await?;
    let (failures, locked_until) = row.unwrap_or_default();
    Ok(LoginThrottle {
        failures,
        locked_until,
    })
}

pub async fn record_failure(
    pool: &Pool,
    scope: &str,
    email_index: &str,
    lock: impl Fn(i64) -> Option<DateTime<Utc>>,
) -> StoreResult<LoginThrottle> {
    let mut tx = write_tx(pool).await?;
    let failures: i64 = sql::count_failure(scope, email_index)
        .query_scalar()
        .fetch_one(&mut *tx)
        .await
        .map_err(other)?;
    let locked_until = lock(failures);
    RUN.exec(&mut *tx, sql::lock(scope, email_index, locked_until))
        .await?;
    tx.commit().await.map_err(other)?;
    Ok(LoginThrottle {
        failures,
        locked_until,
    })
}

pub async fn clear_failures(pool: &Pool, scope: &str, email_index: &str) -> StoreResult<()> {
    RUN.exec(pool, sql::clear_failures(scope, email_index))
        .await?;
    Ok(())
}

// --- MFA

pub async fn set_totp_pending(pool: &Pool, user: UserId, sealed: Option<&str>) -> StoreResult<()> {
    RUN.exec(pool, sql::set_totp_pending(user, sealed, now()))
        .await?;
    Ok(())
}

/// Drops an account's recovery codes and stores `hashes` instead.
async fn replace_recovery_codes(
    conn: &mut Conn,
    user: UserId,
    hashes: &[String],
) -> StoreResult<()> {
    RUN.exec(&mut *conn, sql::delete_recovery_codes(user))
        .await?;
    for h in hashes {
        RUN.exec(&mut *conn, sql::insert_recovery_code(user, h))
            .await?;
    }
    Ok(())
}

pub async fn enable_totp(
    pool: &Pool,
    user: UserId,
    sealed: &str,
    step: i64,
    recovery: &[String],
    ctx: &AuditContext,
) -> StoreResult<()> {
    let mut tx = write_tx(pool).await?;
    let tenant = sql::enable_totp(user, sealed, step, now())
        .query_scalar()
        .fetch_optional(&mut *tx)
        .await
        .map_err(other)?;
    let tenant = changed_account(tenant)?;
    replace_recovery_codes(&mut tx, user, recovery).await?;
    audit::record(&mut tx, ctx, account_changed(MFA_ENABLE, user, tenant)).await?;
    tx.commit().await.map_err(other)?;
    Ok(())
}

pub async fn disable_totp(pool: &Pool, user: UserId, ctx: &AuditContext) -> StoreResult<()> {
    let mut tx = write_tx(pool).await?;
    let tenant = sql::disable_totp(user, now())
        .query_scalar()
        .fetch_optional(&mut *tx)
        .await
        .map_err(other)?;
    let tenant = changed_account(tenant)?;
    replace_recovery_codes(&mut tx, user, &[]).await?;
    audit::record(&mut tx, ctx, account_changed(MFA_DISABLE, user, tenant)).await?;
    tx.commit().await.map_err(other)?;
    Ok(())
}

pub async fn use_totp_step(pool: &Pool, user: UserId, step: i64) -> StoreResult<()> {
    let done = RUN.exec(pool, sql::use_totp_step(user, step)).await?;
    require_fresh_step(done)
}

pub async fn use_recovery_code(pool: &Pool, user: UserId, code_hash: &str) -> StoreResult<bool> {
    let done = RUN
        .exec(pool, sql::use_recovery_code(user, code_hash, now()))
        .await?;
    Ok(done == 1)
}

// --- passwords

pub async fn create_reset(
    pool: &Pool,
    user: UserId,
    token_hash: &str,
    expires_at: DateTime<Utc>,
) -> StoreResult<()> {
    RUN.exec(pool, sql::insert_reset(user, token_hash, expires_at))
        .await?;
    Ok(())
}

pub async fn reset_password(
    pool: &Pool,
    token_hash: &str,
    password_hash: &str,
    at: DateTime<Utc>,
) -> StoreResult<UserRecord> {
    let mut tx = write_tx(pool).await?;
    let user: Option<DbId> = sql::use_reset(token_hash, at)
        .query_scalar()
        .fetch_optional(&mut *tx)
        .await
        .map_err(other)?;
    let user = user.ok_or(StoreError::NotFound(RESET_TOKEN))?;
    set_password_in(&mut tx, user, password_hash, at).await?;
    // Every other outstanding reset link for the account dies too.
    sql::end_resets(user, at)
        .query()
        .execute(&mut *tx)
        .await
        .map_err(other)?;
    let row: UserRow = sqlx::query_as(&select(BY_ID))
        .bind(user)
        .fetch_one(&mut *tx)
        .await
        .map_err(other)?;
    tx.commit().await.map_err(other)?;
    row.try_into()
}

/// Sets the password and ends every session of the account.
async fn set_password_in(
    conn: &mut Conn,
    user: DbId,
    password_hash: &str,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let done = RUN
        .exec(&mut *conn, sql::set_password(user, password_hash, at))
        .await?;
    if done == 0 {
        return Err(StoreError::NotFound(ACCOUNT));
    }
    RUN.exec(&mut *conn, revoke_all(user, at)).await?;
    Ok(())
}

pub async fn set_password(
    pool: &Pool,
    user: UserId,
    password_hash: &str,
    ctx: Option<&AuditContext>,
) -> StoreResult<()> {
    let mut tx = write_tx(pool).await?;
    set_password_in(&mut tx, DbId(user.0), password_hash, now()).await?;
    if let Some(ctx) = ctx {
        let tenant: Option<DbId> = sql::tenant_of(user)
            .query_scalar()
            .fetch_one(&mut *tx)
            .await
            .map_err(other)?;
        let change = account_changed(PASSWORD_CHANGE, user, tenant.map(|t| TenantId(t.0)));
        audit::record(&mut tx, ctx, change).await?;
    }
    tx.commit().await.map_err(other)?;
    Ok(())
}

pub async fn count(pool: &Pool, tenant: TenantId, kind: UserKind) -> StoreResult<i64> {
    sql::count(tenant, kind)
        .query_scalar()
        .fetch_one(pool)
        .await
        .map_err(other)
}
