//! Accounts, login throttling, MFA and password resets, written once over
//! the [`Backend`]: the backend adds its dialect's email look-up
//! ([`Backend::USER_BY_EMAIL`]), its unique constraint names, its write
//! transaction and its audit chain.

use chrono::{DateTime, Utc};
use sqlx::Pool;
use storekeep_domain::{
    AuditContext, JobId, LoginThrottle, NewJob, Page, PageRequest, Role, TenantId, UserId,
    UserKind, UserRecord,
};
use storekeep_store::rules::identity::{
    ACCOUNT, MFA_DISABLE, MFA_ENABLE, PASSWORD_CHANGE, RESET_TOKEN, account_changed,
    account_created, require_an_owner_left, require_fresh_step, role_changed,
};
use storekeep_store::{StoreError, StoreResult, now};
use tracing::instrument;

use super::sessions::revoke_all;
use super::users::{self as sql, SELECT_AFTER, SELECT_BY_ID, SELECT_PAGE};
use super::{UserRow, changed_account, insert_user};
use crate::DbId;
use crate::backend::{Backend, Conn};
use crate::stmt::{Stmt, cursor, found, page_of};

#[instrument(skip_all)]
pub async fn create<B: Backend>(
    pool: &Pool<B::Db>,
    u: &UserRecord,
    ctx: Option<&AuditContext>,
) -> StoreResult<UserRecord> {
    let mut tx = B::write_tx(pool).await?;
    B::exec_unique(&mut tx, insert_user(u), B::USER_UNIQUES).await?;
    if let Some(ctx) = ctx {
        B::record_change(&mut tx, ctx, account_created(u)).await?;
    }
    B::commit(tx).await?;
    Ok(u.clone())
}

pub async fn by_email<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: Option<TenantId>,
    kind: UserKind,
    email_index: &str,
) -> StoreResult<UserRecord> {
    let tenant = tenant.map(|t| DbId(t.0));
    let stmt = Stmt::new(B::USER_BY_EMAIL, (tenant, kind.as_str(), email_index));
    let row: Option<UserRow> = B::optional(&mut *B::conn(pool).await?, stmt).await?;
    found(row, ACCOUNT)
}

pub async fn by_id<B: Backend>(pool: &Pool<B::Db>, id: UserId) -> StoreResult<UserRecord> {
    let stmt = Stmt::new(SELECT_BY_ID, (DbId(id.0),));
    let row: Option<UserRow> = B::optional(&mut *B::conn(pool).await?, stmt).await?;
    found(row, ACCOUNT)
}

pub async fn list<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    kind: UserKind,
    page: &PageRequest,
) -> StoreResult<Page<UserRecord>> {
    let args = (
        DbId(tenant.0),
        kind.as_str(),
        cursor(page)?,
        page.fetch_limit(),
    );
    let stmt = Stmt::new(SELECT_PAGE, args);
    let rows: Vec<UserRow> = B::all(&mut *B::conn(pool).await?, stmt).await?;
    page_of(rows, page, |u: &UserRecord| u.id.0)
}

pub async fn after<B: Backend>(
    pool: &Pool<B::Db>,
    after: Option<UserId>,
    limit: i64,
) -> StoreResult<Vec<UserRecord>> {
    let after = DbId(after.map_or(uuid::Uuid::nil(), |a| a.0));
    let stmt = Stmt::new(SELECT_AFTER, (after, limit));
    let rows: Vec<UserRow> = B::all(&mut *B::conn(pool).await?, stmt).await?;
    rows.into_iter().map(UserRecord::try_from).collect()
}

pub async fn replace_sealed<B: Backend>(
    pool: &Pool<B::Db>,
    old: &UserRecord,
    new: &UserRecord,
) -> StoreResult<bool> {
    if old.id != new.id {
        return Err(StoreError::Invalid(
            "a re-sealed account is another account",
        ));
    }
    let stmt = sql::replace_sealed(old, new, now());
    Ok(B::exec(&mut *B::conn(pool).await?, stmt).await? == 1)
}

pub async fn count<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    kind: UserKind,
) -> StoreResult<i64> {
    B::scalar(&mut *B::conn(pool).await?, sql::count(tenant, kind)).await
}

// --- login throttling

pub async fn throttle<B: Backend>(
    pool: &Pool<B::Db>,
    scope: &str,
    email_index: &str,
) -> StoreResult<LoginThrottle> {
    let stmt = sql::throttle(scope, email_index);
    let row: Option<(i64, Option<DateTime<Utc>>)> =
        B::optional(&mut *B::conn(pool).await?, stmt).await?;
    let (failures, locked_until) = row.unwrap_or_default();
    Ok(LoginThrottle {
        failures,
        locked_until,
    })
}

pub async fn record_failure<B: Backend>(
    pool: &Pool<B::Db>,
    scope: &str,
    email_index: &str,
    lock: impl Fn(i64) -> Option<DateTime<Utc>>,
) -> StoreResult<LoginThrottle> {
    let mut tx = B::write_tx(pool).await?;
    let failures: i64 = B::scalar(&mut tx, sql::count_failure(scope, email_index)).await?;
    let locked_until = lock(failures);
    B::exec(&mut tx, sql::lock(scope, email_index, locked_until)).await?;
    B::commit(tx).await?;
    Ok(LoginThrottle {
        failures,
        locked_until,
    })
}

pub async fn clear_failures<B: Backend>(
    pool: &Pool<B::Db>,
    scope: &str,
    email_index: &str,
) -> StoreResult<()> {
    let stmt = sql::clear_failures(scope, email_index);
    B::exec(&mut *B::conn(pool).await?, stmt).await?;
    Ok(())
}

// --- MFA

pub async fn set_totp_pending<B: Backend>(
    pool: &Pool<B::Db>,
    user: UserId,
    sealed: Option<&str>,
) -> StoreResult<()> {
    let stmt = sql::set_totp_pending(user, sealed, now());
    B::exec(&mut *B::conn(pool).await?, stmt).await?;
    Ok(())
}

/// Drops an account's recovery codes and stores `hashes` instead.
async fn replace_recovery_codes<B: Backend>(
    conn: &mut Conn<B::Db>,
    user: UserId,
    hashes: &[String],
) -> StoreResult<()> {
    B::exec(&mut *conn, sql::delete_recovery_codes(user)).await?;
    for h in hashes {
        B::exec(&mut *conn, sql::insert_recovery_code(user, h)).await?;
    }
    Ok(())
}

pub async fn enable_totp<B: Backend>(
    pool: &Pool<B::Db>,
    user: UserId,
    sealed: &str,
    step: i64,
    recovery: &[String],
    ctx: &AuditContext,
) -> StoreResult<()> {
    let mut tx = B::write_tx(pool).await?;
    let stmt = sql::enable_totp(user, sealed, step, now());
    let tenant = changed_account(B::scalar_optional(&mut tx, stmt).await?)?;
    replace_recovery_codes::<B>(&mut tx, user, recovery).await?;
    let change = account_changed(MFA_ENABLE, user, tenant);
    B::record_change(&mut tx, ctx, change).await?;
    B::commit(tx).await
}

pub async fn disable_totp<B: Backend>(
    pool: &Pool<B::Db>,
    user: UserId,
    ctx: &AuditContext,
) -> StoreResult<()> {
    let mut tx = B::write_tx(pool).await?;
    let stmt = sql::disable_totp(user, now());
    let tenant = changed_account(B::scalar_optional(&mut tx, stmt).await?)?;
    replace_recovery_codes::<B>(&mut tx, user, &[]).await?;
    let change = account_changed(MFA_DISABLE, user, tenant);
    B::record_change(&mut tx, ctx, change).await?;
    B::commit(tx).await
}

/// Gives the staff member `user` of `tenant` the role `role`, audited; the
/// shop's last owner keeps the owner role (`StoreError::Invalid`, a 409).
/// The shop's owners are locked first, then the member, so two owners
/// demoting each other at once cannot leave the shop without one.
#[instrument(skip_all)]
pub async fn set_staff_role<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    user: UserId,
    expect: Option<Role>,
    role: Role,
    ctx: &AuditContext,
) -> StoreResult<UserRecord> {
    let mut tx = B::write_tx(pool).await?;
    let owners_sql = B::read_for_update(sql::SHOP_OWNERS, sql::SHOP_OWNERS_LOCKED);
    let owners: Vec<(DbId,)> = B::all(&mut tx, Stmt::new(owners_sql, (DbId(tenant.0),))).await?;
    let member_sql = B::read_for_update(sql::STAFF_OF, sql::STAFF_OF_LOCKED);
    let member: Option<DbId> = B::scalar_optional(
        &mut tx,
        Stmt::new(member_sql, (DbId(user.0), DbId(tenant.0))),
    )
    .await?;
    if member.is_none() {
        return Err(StoreError::NotFound(ACCOUNT));
    }
    let row: Option<UserRow> =
        B::optional(&mut tx, Stmt::new(SELECT_BY_ID, (DbId(user.0),))).await?;
    let old: UserRecord = found(row, ACCOUNT)?;
    let before = old.role.unwrap_or(Role::Viewer);
    if expect.is_some_and(|r| r != before) {
        return Err(StoreError::Invalid(
            "the member's role changed meanwhile; look at it again",
        ));
    }
    if before == role {
        B::commit(tx).await?;
        return Ok(old);
    }
    let owners: Vec<UserId> = owners.into_iter().map(|(id,)| UserId(id.0)).collect();
    require_an_owner_left(&owners, user, role)?;
    B::exec(&mut tx, sql::set_role(user, role, now())).await?;
    B::record_change(&mut tx, ctx, role_changed(user, tenant, before, role)).await?;
    let row: Option<UserRow> =
        B::optional(&mut tx, Stmt::new(SELECT_BY_ID, (DbId(user.0),))).await?;
    let changed: UserRecord = found(row, ACCOUNT)?;
    B::commit(tx).await?;
    Ok(changed)
}

pub async fn use_totp_step<B: Backend>(
    pool: &Pool<B::Db>,
    user: UserId,
    step: i64,
) -> StoreResult<()> {
    let done = B::exec(&mut *B::conn(pool).await?, sql::use_totp_step(user, step)).await?;
    require_fresh_step(done)
}

pub async fn use_recovery_code<B: Backend>(
    pool: &Pool<B::Db>,
    user: UserId,
    code_hash: &str,
) -> StoreResult<bool> {
    let stmt = sql::use_recovery_code(user, code_hash, now());
    let done = B::exec(&mut *B::conn(pool).await?, stmt).await?;
    Ok(done == 1)
}

// --- passwords

pub async fn create_reset<B: Backend>(
    pool: &Pool<B::Db>,
    user: UserId,
    token_hash: &str,
    expires_at: DateTime<Utc>,
    email: &NewJob,
) -> StoreResult<JobId> {
    // The token first: a job that cannot be inserted takes it back.
    let mut tx = B::write_tx(pool).await?;
    B::exec(&mut tx, sql::insert_reset(user, token_hash, expires_at)).await?;
    let job = crate::jobs::enqueue_in::<B>(&mut tx, email).await?;
    B::commit(tx).await?;
    Ok(job)
}

pub async fn reset_password<B: Backend>(
    pool: &Pool<B::Db>,
    token_hash: &str,
    password_hash: &str,
    at: DateTime<Utc>,
) -> StoreResult<UserRecord> {
    let mut tx = B::write_tx(pool).await?;
    let user: Option<DbId> = B::scalar_optional(&mut tx, sql::use_reset(token_hash, at)).await?;
    let user = user.ok_or(StoreError::NotFound(RESET_TOKEN))?;
    set_password_in::<B>(&mut tx, user, password_hash, at).await?;
    // Every other outstanding reset link for the account dies too.
    B::exec(&mut tx, sql::end_resets(user, at)).await?;
    let row: UserRow = B::one(&mut tx, Stmt::new(SELECT_BY_ID, (user,))).await?;
    B::commit(tx).await?;
    row.try_into()
}

/// Sets the password, ends every session of the account and drops its
/// pending sign-in challenges.
async fn set_password_in<B: Backend>(
    conn: &mut Conn<B::Db>,
    user: DbId,
    password_hash: &str,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let done = B::exec(&mut *conn, sql::set_password(user, password_hash, at)).await?;
    if done == 0 {
        return Err(StoreError::NotFound(ACCOUNT));
    }
    B::exec(&mut *conn, revoke_all(user, at)).await?;
    // A sign-in waiting for its code began with the old password.
    B::exec(&mut *conn, super::challenges::delete_of_user(user)).await?;
    Ok(())
}

pub async fn set_password<B: Backend>(
    pool: &Pool<B::Db>,
    user: UserId,
    password_hash: &str,
    ctx: Option<&AuditContext>,
) -> StoreResult<()> {
    let mut tx = B::write_tx(pool).await?;
    set_password_in::<B>(&mut tx, DbId(user.0), password_hash, now()).await?;
    if let Some(ctx) = ctx {
        let tenant: Option<DbId> = B::scalar(&mut tx, sql::tenant_of(user)).await?;
        let change = account_changed(PASSWORD_CHANGE, user, tenant.map(|t| TenantId(t.0)));
        B::record_change(&mut tx, ctx, change).await?;
    }
    B::commit(tx).await
}
