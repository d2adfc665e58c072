//! Customers' rights (issue 16), the same SQL on both databases: the
//! audit entries about a customer, and the erasure of a customer's
//! personal data in one transaction (see docs/privacy.md for what each
//! table keeps). [`impl_privacy_store!`](crate::impl_privacy_store) is the
//! `PrivacyStore` impl both backends share; each gives an `after_erasure`
//! of its own (SQLite truncates its write-ahead log).
//!
//! Lock order (PostgreSQL; SQLite's write transaction serialises every
//! writer): an erasure locks the customer account's row first, then every
//! order it touches in ONE statement, by id (an erasure by email: the
//! address's orders and the account's together), as the commerce writes
//! lock an order before what hangs off it (`storekeep-store-postgres`
//! `commerce/mod.rs`). An account erasure and an erasure by email of the
//! same account therefore queue on the account's row instead of
//! deadlocking; should the database still pick a deadlock victim (a
//! writer with another order), the erasure answers
//! [`ErasureOutcome::Contended`] and the service prepares it again.

use std::collections::BTreeSet;

use sqlx::Pool;
use storekeep_domain::{
    AuditContext, AuditEntry, OrderId, OrderStatus, RentalContractId, TenantId, UserId, UserKind,
    UserRecord,
};
use storekeep_store::audit::Change;
use storekeep_store::privacy::{EmailErasure, ErasedOrder, Erasure, ErasureOutcome};
use storekeep_store::rules::delivery::EMAIL_QUEUE;
use storekeep_store::rules::identity::{throttle_scope, user_target};
use storekeep_store::rules::privacy::{
    self as rules, CUSTOMER, CUSTOMER_ERASED, CUSTOMER_ERASED_BY_EMAIL, ErasureReport, Obligations,
};
use storekeep_store::{StoreError, StoreResult, now};
use uuid::Uuid;

use crate::DbId;
use crate::backend::{Backend, Conn};
use crate::identity::UserRow;
use crate::platform::AuditRow;
use crate::stmt::{Stmt, found};

const CUSTOMER_ROW: &str =
    crate::select_users!("u.id = $1 AND u.tenant_id = $2 AND u.kind = 'customer'");
const CUSTOMER_ROW_LOCKED: &str = concat!(
    crate::select_users!("u.id = $1 AND u.tenant_id = $2 AND u.kind = 'customer'"),
    " FOR UPDATE"
);

const ORDERS_OF: &str =
    "SELECT id, status FROM orders WHERE tenant_id = $1 AND customer_id = $2 ORDER BY id";
const ORDERS_OF_LOCKED: &str = "SELECT id, status FROM orders \
     WHERE tenant_id = $1 AND customer_id = $2 ORDER BY id FOR UPDATE";
const CONTRACTS_OF: &str = "SELECT id, status FROM rental_contracts \
     WHERE tenant_id = $1 AND customer_id = $2 ORDER BY id";

const ERASE_ACCOUNT: &str = "UPDATE users SET email_sealed = $2, email_index = $3, \
     name_sealed = NULL, phone_sealed = NULL, password_hash = $4, totp_sealed = NULL, \
     totp_pending_sealed = NULL, totp_last_step = NULL, updated_at = $5 WHERE id = $1";
const DELETE_SESSIONS: &str = "DELETE FROM sessions WHERE user_id = $1";
const DELETE_RECOVERY_CODES: &str = "DELETE FROM recovery_codes WHERE user_id = $1";
const DELETE_RESETS: &str = "DELETE FROM password_resets WHERE user_id = $1";
const DELETE_CHALLENGES: &str = "DELETE FROM sign_in_challenges WHERE user_id = $1";
/// The account's login lockout counters: its shop's customer counter of
/// its email's blind index (scope `$1`, `<tenant>:customer`, index `$2`)
/// and those keyed by its account id `$3` (re-authentication before an
/// erasure or turning MFA off; an id belongs to one account). The same
/// index's counters in another shop, of a staff or operator account of the
/// same address, belong to someone else (or another role) and stay: the
/// blind index is the same in every shop.
const DELETE_THROTTLE: &str = "DELETE FROM login_throttle \
     WHERE (scope = $1 AND email_index = $2) OR email_index = $3";
/// The order keeps its lines, amounts, status, country and region (tax
/// records); `updated_at` is untouched, as the order did not change.
/// An order already erased (`email_index` is its marker `$3`) is left
/// alone, so erasing again touches only what was written since.
const ERASE_ORDER: &str = "UPDATE orders SET email_sealed = $2, email_index = $3, \
     address_sealed = $4 WHERE id = $1 AND email_index <> $3";

/// The email jobs (queue `$2`) of shop `$1` about a customer or an order,
/// pending or finished, deleted: an account email to them
/// (`payload.user_id`; a new-device notice carries their browser
/// and network in `payload.device`), a reminder of one of the contracts
/// (`payload.contract_id`), or the email of an outbox event about one of
/// the orders or contracts (`payload.event_id`); `last_error` may quote
/// the address. The macro's arguments select the user's jobs, the orders
/// and the contracts. A job running now is left to
/// finish (erasing again deletes it). Filtered here, not in Rust: `->>`
/// reads a JSON field on both databases (jsonb on PostgreSQL, JSON text
/// on SQLite).
macro_rules! delete_email_jobs {
    ($user:literal, $orders:literal, $contracts:literal) => {
        concat!(
            "DELETE FROM jobs WHERE tenant_id = $1 AND queue = $2 \
             AND state <> 'running' AND (",
            $user,
            " payload ->> 'contract_id' IN (SELECT CAST(rc.id AS TEXT) FROM rental_contracts rc \
               WHERE rc.tenant_id = $1 AND ",
            $contracts,
            ") OR payload ->> 'event_id' IN (SELECT CAST(e.id AS TEXT) FROM outbox_events e \
               WHERE e.tenant_id = $1 AND e.subject IN ( \
                 SELECT 'order:' || CAST(o.id AS TEXT) FROM orders o WHERE o.tenant_id = $1 AND ",
            $orders,
            " UNION ALL SELECT 'rental_contract:' || CAST(rc.id AS TEXT) FROM rental_contracts rc \
                 WHERE rc.tenant_id = $1 AND ",
            $contracts,
            ")))"
        )
    };
}
/// Customer `$4`'s email jobs (`$3`: its id as text).
const DELETE_EMAIL_JOBS: &str = delete_email_jobs!(
    "payload ->> 'user_id' = $3 OR",
    "o.customer_id = $4",
    "rc.customer_id = $4"
);

/// The orders of shop `$1` placed with the email whose blind index is
/// `$2` (guest or not), oldest first.
const ORDERS_BY_EMAIL: &str =
    "SELECT id, status FROM orders WHERE tenant_id = $1 AND email_index = $2 ORDER BY id";
/// The orders an erasure by email touches, locked in one statement by id
/// (see the lock order above): those placed with the email (`$2`), and
/// those of its account (`$3`; no row has a NULL one).
const SUBJECT_ORDERS: &str = "SELECT id, status, email_index, customer_id FROM orders \
     WHERE tenant_id = $1 AND (email_index = $2 OR customer_id = $3) ORDER BY id";
const SUBJECT_ORDERS_LOCKED: &str = "SELECT id, status, email_index, customer_id FROM orders \
     WHERE tenant_id = $1 AND (email_index = $2 OR customer_id = $3) ORDER BY id FOR UPDATE";
const CONTRACTS_OF_ORDER: &str =
    "SELECT id, status FROM rental_contracts WHERE tenant_id = $1 AND order_id = $2 ORDER BY id";
/// A guest's per-customer deal key is their email's blind index
/// (`email:<index>`, `$3`): it becomes the order's erased marker `$2`, so
/// the blind index leaves `deal_uses` (and that use no longer counts
/// towards the address's per-customer cap).
const ERASE_DEAL_KEY: &str =
    "UPDATE deal_uses SET customer_key = $2 WHERE order_id = $1 AND customer_key = $3";
/// The shop's customer sign-in failures of the email's blind index (scope
/// `$1`, `<tenant>:customer`; see [`DELETE_THROTTLE`]). An address
/// without an account has no account-id rows.
const DELETE_THROTTLE_OF_INDEX: &str =
    "DELETE FROM login_throttle WHERE scope = $1 AND email_index = $2";
/// Order `$3`'s email jobs: those of events about it or its contracts,
/// reminders of its contracts.
const DELETE_ORDER_EMAIL_JOBS: &str = delete_email_jobs!("", "o.id = $3", "rc.order_id = $3");
/// Checkout's idempotency rows of order `$1`: the request hash becomes
/// the marker `$2` (`rules::ERASED_REQUEST_HASH`).
const ERASE_REQUEST_HASH: &str =
    "UPDATE idempotency_keys SET request_hash = $2 WHERE order_id = $1 AND request_hash <> $2";

macro_rules! audit_rows {
    ($clause:literal) => {
        concat!(
            "SELECT scope, seq, actor, action, target, before, after, ip, request_id, at, \
             prev_hash, hash FROM audit_log WHERE ",
            $clause
        )
    };
}
const AUDIT_OWN: &str = audit_rows!("scope = $1 AND (actor = $2 OR target = $3)");
const AUDIT_OF_TARGET: &str = audit_rows!("scope = $1 AND target = $2");

pub async fn customer<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    customer: UserId,
) -> StoreResult<UserRecord> {
    let stmt = Stmt::new(CUSTOMER_ROW, (DbId(customer.0), DbId(tenant.0)));
    let row: Option<UserRow> = B::optional(&mut *B::conn(pool).await?, stmt).await?;
    found(row, CUSTOMER)
}

pub async fn order_ids<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    customer: UserId,
) -> StoreResult<Vec<OrderId>> {
    let stmt = Stmt::new(ORDERS_OF, (DbId(tenant.0), DbId(customer.0)));
    let rows: Vec<(DbId, String)> = B::all(&mut *B::conn(pool).await?, stmt).await?;
    Ok(rows.into_iter().map(|(id, _)| OrderId(id.0)).collect())
}

pub async fn audit_about<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    customer: Option<UserId>,
    targets: &[String],
) -> StoreResult<Vec<AuditEntry>> {
    let scope = tenant.to_string();
    let mut conn = B::conn(pool).await?;
    let mut rows: Vec<AuditRow> = Vec::new();
    if let Some(customer) = customer {
        let actor = format!("customer:{customer}");
        rows = B::all(
            &mut *conn,
            Stmt::new(
                AUDIT_OWN,
                (scope.as_str(), actor.as_str(), user_target(customer)),
            ),
        )
        .await?;
    }
    for target in targets {
        let more: Vec<AuditRow> = B::all(
            &mut *conn,
            Stmt::new(AUDIT_OF_TARGET, (scope.as_str(), target.as_str())),
        )
        .await?;
        rows.extend(more);
    }
    let mut entries: Vec<AuditEntry> = rows.into_iter().map(AuditEntry::from).collect();
    entries.sort_by_key(|e| e.seq);
    entries.dedup_by_key(|e| e.seq);
    Ok(entries)
}

/// The erasure's transaction; the caller runs its backend's
/// `after_erasure` once it committed.
pub async fn erase<B: Backend>(
    pool: &Pool<B::Db>,
    erasure: &Erasure,
    audit: &AuditContext,
) -> StoreResult<ErasureOutcome> {
    contended(erase_tx::<B>(pool, erasure, audit).await)
}

async fn erase_tx<B: Backend>(
    pool: &Pool<B::Db>,
    erasure: &Erasure,
    audit: &AuditContext,
) -> StoreResult<ErasureOutcome> {
    let (t, c) = (DbId(erasure.tenant.0), DbId(erasure.customer.0));
    let mut tx = B::write_tx(pool).await?;
    let user = lock_customer::<B>(&mut tx, erasure).await?;
    let read = B::read_for_update(ORDERS_OF, ORDERS_OF_LOCKED);
    let orders: Vec<(DbId, String)> = B::all(&mut *tx, Stmt::new(read, (t, c))).await?;
    let (report, changed) = match erase_account::<B>(&mut tx, erasure, &user, &orders).await? {
        AccountStep::Stop(outcome) => return Ok(outcome),
        AccountStep::Done { report, changed } => (report, changed),
    };
    if !changed {
        // Nothing was left to scrub: no second audit entry.
        return Ok(ErasureOutcome::AlreadyErased);
    }
    let change = Change {
        after: Some(rules::erasure_summary(&report)),
        ..Change::new(
            erasure.tenant.to_string(),
            CUSTOMER_ERASED,
            user_target(user.id),
        )
    };
    B::record_change(&mut tx, audit, change).await?;
    B::commit(tx).await?;
    Ok(ErasureOutcome::Erased(report))
}

/// `ErasureOutcome::Contended` for a transaction the database rolled back
/// to resolve a lock conflict (`StoreError::Contended`, as the backend's
/// classifier names PostgreSQL's 40P01 and 40001): nothing was written,
/// and preparing again may pass.
fn contended(result: StoreResult<ErasureOutcome>) -> StoreResult<ErasureOutcome> {
    match result {
        Err(StoreError::Contended(source)) => {
            tracing::info!(error = %source, "an erasure lost a lock conflict; prepared again");
            Ok(ErasureOutcome::Contended)
        }
        other => other,
    }
}

/// The customer account of `erasure`, its row locked (the first lock an
/// erasure takes).
async fn lock_customer<B: Backend>(
    tx: &mut Conn<B::Db>,
    erasure: &Erasure,
) -> StoreResult<UserRecord> {
    let (t, c) = (DbId(erasure.tenant.0), DbId(erasure.customer.0));
    let read = B::read_for_update(CUSTOMER_ROW, CUSTOMER_ROW_LOCKED);
    let row: Option<UserRow> = B::optional(&mut *tx, Stmt::new(read, (c, t))).await?;
    found(row, CUSTOMER)
}

/// What the account part of an erasure came to, inside its transaction.
enum AccountStep {
    /// Refused or to prepare again: the caller rolls back.
    Stop(ErasureOutcome),
    /// Written; `changed` is false when the account had been erased before
    /// and nothing was left to scrub.
    Done {
        report: ErasureReport,
        changed: bool,
    },
}

/// The account part of an erasure (docs/privacy.md), in `tx`, `user` and
/// its `orders` (`(id, status)`) read and locked by the caller: refused
/// for open obligations, `OrdersChanged` if its orders are not the ones
/// `erasure` names; otherwise the account, its sessions, secrets, throttle
/// rows, orders and email jobs scrubbed (not yet audited nor committed).
async fn erase_account<B: Backend>(
    tx: &mut Conn<B::Db>,
    erasure: &Erasure,
    user: &UserRecord,
    orders: &[(DbId, String)],
) -> StoreResult<AccountStep> {
    let (t, c) = (DbId(erasure.tenant.0), DbId(erasure.customer.0));
    // Erased before: still scrub what a race wrote since (an order placed,
    // a session begun while it committed); see docs/privacy.md.
    let already = rules::is_erased_index(&user.email_index);

    let contracts: Vec<(DbId, String)> = B::all(&mut *tx, Stmt::new(CONTRACTS_OF, (t, c))).await?;
    let blocked = obligations(orders, &contracts)?;
    if !blocked.is_empty() {
        return Ok(AccountStep::Stop(ErasureOutcome::Blocked(blocked)));
    }
    if !same_orders(orders, &erasure.orders) {
        return Ok(AccountStep::Stop(ErasureOutcome::OrdersChanged));
    }

    let mut report = ErasureReport::default();
    if !already {
        let stmt = Stmt::new(
            ERASE_ACCOUNT,
            (
                c,
                erasure.email_sealed.as_str(),
                rules::erased_index(user.id.0),
                rules::ERASED_PASSWORD_HASH,
                now(),
            ),
        );
        B::exec(&mut *tx, stmt).await?;
    }
    report.sessions = B::exec(&mut *tx, Stmt::new(DELETE_SESSIONS, (c,))).await?;
    let mut secrets = B::exec(&mut *tx, Stmt::new(DELETE_RECOVERY_CODES, (c,))).await?;
    secrets += B::exec(&mut *tx, Stmt::new(DELETE_RESETS, (c,))).await?;
    secrets += B::exec(&mut *tx, Stmt::new(DELETE_CHALLENGES, (c,))).await?;
    let scope = throttle_scope(Some(erasure.tenant), UserKind::Customer);
    let throttle = (scope, user.email_index.as_str(), user.id.to_string());
    secrets += B::exec(&mut *tx, Stmt::new(DELETE_THROTTLE, throttle)).await?;
    let (orders, hashes) = erase_orders::<B>(tx, &erasure.orders).await?;
    report.orders = orders;

    let jobs = (t, EMAIL_QUEUE, user.id.to_string(), c);
    report.jobs = B::exec(&mut *tx, Stmt::new(DELETE_EMAIL_JOBS, jobs)).await?;
    let changed = !already || report != ErasureReport::default() || secrets + hashes > 0;
    Ok(AccountStep::Done { report, changed })
}

/// The open orders and running contracts among these `(id, status)`
/// rows.
fn obligations(
    orders: &[(DbId, String)],
    contracts: &[(DbId, String)],
) -> StoreResult<Obligations> {
    let mut blocked = Obligations::default();
    for (id, status) in orders {
        let status = OrderStatus::parse(status)
            .ok_or_else(|| StoreError::Other(format!("unknown order status {status}").into()))?;
        if rules::order_is_open(status) {
            blocked.orders.push(id.0);
        }
    }
    for (id, status) in contracts {
        if rules::contract_is_open(status) {
            blocked.contracts.push(id.0);
        }
    }
    Ok(blocked)
}

/// Whether the orders read in the transaction are those the caller
/// prepared placeholders for.
fn same_orders(read: &[(DbId, String)], given: &[ErasedOrder]) -> bool {
    let read: BTreeSet<Uuid> = read.iter().map(|(id, _)| id.0).collect();
    let ids: BTreeSet<Uuid> = given.iter().map(|o| o.id.0).collect();
    read == ids && ids.len() == given.len()
}

/// Replaces these orders' email, address and email index with their
/// placeholders (an order already erased is left alone) and their
/// checkout idempotency rows' request hash with its marker: how many
/// orders, and how many idempotency rows, changed.
async fn erase_orders<B: Backend>(
    tx: &mut Conn<B::Db>,
    orders: &[ErasedOrder],
) -> StoreResult<(u64, u64)> {
    let (mut n, mut hashes) = (0, 0);
    for o in orders {
        let args = (
            DbId(o.id.0),
            o.email_sealed.as_str(),
            rules::erased_index(o.id.0),
            o.address_sealed.as_str(),
        );
        n += B::exec(&mut *tx, Stmt::new(ERASE_ORDER, args)).await?;
        let args = (DbId(o.id.0), rules::ERASED_REQUEST_HASH);
        hashes += B::exec(&mut *tx, Stmt::new(ERASE_REQUEST_HASH, args)).await?;
    }
    Ok((n, hashes))
}

/// The erasure of a data subject by email (docs/privacy.md, "Guest
/// purchases"), in one transaction: the account of that email (as
/// [`erase`] erases it) and every order of the shop placed with the email,
/// whatever account it belongs to, each with the email jobs about it and
/// the guest's per-customer deal key. One `customer.erased_by_email` audit
/// entry (counts and ids, no PII), none when nothing was left.
pub async fn erase_by_email<B: Backend>(
    pool: &Pool<B::Db>,
    erasure: &EmailErasure,
    audit: &AuditContext,
) -> StoreResult<ErasureOutcome> {
    contended(erase_by_email_tx::<B>(pool, erasure, audit).await)
}

/// One row of [`SUBJECT_ORDERS`]: id, status, email index, account.
type SubjectOrder = (DbId, String, String, Option<DbId>);

async fn erase_by_email_tx<B: Backend>(
    pool: &Pool<B::Db>,
    erasure: &EmailErasure,
    audit: &AuditContext,
) -> StoreResult<ErasureOutcome> {
    let t = DbId(erasure.tenant.0);
    let index = erasure.email_index.as_str();
    let mut tx = B::write_tx(pool).await?;
    // The lock order (module docs): the account's row, then every order of
    // the address or of the account in one statement, by id.
    let user = match &erasure.account {
        Some(a) => Some(lock_customer::<B>(&mut tx, a).await?),
        None => None,
    };
    let account_id = erasure.account.as_ref().map(|a| DbId(a.customer.0));
    let read = B::read_for_update(SUBJECT_ORDERS, SUBJECT_ORDERS_LOCKED);
    let rows: Vec<SubjectOrder> = B::all(&mut tx, Stmt::new(read, (t, index, account_id))).await?;
    let pick = |mine: &dyn Fn(&SubjectOrder) -> bool| -> Vec<(DbId, String)> {
        rows.iter()
            .filter(|r| mine(r))
            .map(|(id, status, _, _)| (*id, status.clone()))
            .collect()
    };
    let orders = pick(&|r| r.2 == index);
    let account_orders = pick(&|r| account_id.is_some() && r.3 == account_id);
    let mut contracts: Vec<(DbId, String)> = Vec::new();
    for (order, _) in &orders {
        let more: Vec<(DbId, String)> =
            B::all(&mut tx, Stmt::new(CONTRACTS_OF_ORDER, (t, *order))).await?;
        contracts.extend(more);
    }
    let mut blocked = obligations(&orders, &contracts)?;
    // The account's own obligations too, before anything is written.
    let mut account = None;
    if let (Some(a), Some(user)) = (&erasure.account, &user) {
        match erase_account::<B>(&mut tx, a, user, &account_orders).await? {
            AccountStep::Stop(ErasureOutcome::Blocked(more)) => {
                blocked.orders.extend(more.orders);
                blocked.contracts.extend(more.contracts);
            }
            AccountStep::Stop(outcome) => return Ok(outcome),
            AccountStep::Done { report, changed } => account = Some((user.id, report, changed)),
        }
    }
    if !blocked.is_empty() {
        blocked.orders.sort_unstable();
        blocked.orders.dedup();
        blocked.contracts.sort_unstable();
        blocked.contracts.dedup();
        return Ok(ErasureOutcome::Blocked(blocked));
    }
    if !same_orders(&orders, &erasure.orders) {
        return Ok(ErasureOutcome::OrdersChanged);
    }

    let (orders, mut other) = erase_orders::<B>(&mut tx, &erasure.orders).await?;
    let mut report = ErasureReport {
        orders,
        ..ErasureReport::default()
    };
    let guest_key = format!("email:{index}");
    for o in &erasure.orders {
        let (id, key) = (DbId(o.id.0), rules::erased_index(o.id.0));
        other += B::exec(
            &mut tx,
            Stmt::new(ERASE_DEAL_KEY, (id, key, guest_key.as_str())),
        )
        .await?;
        let args = (t, EMAIL_QUEUE, id);
        report.jobs += B::exec(&mut tx, Stmt::new(DELETE_ORDER_EMAIL_JOBS, args)).await?;
    }
    // Sign-in failures of an address that has no account are keyed by its
    // blind index too (this shop's customer counter only).
    let scope = throttle_scope(Some(erasure.tenant), UserKind::Customer);
    other += B::exec(&mut tx, Stmt::new(DELETE_THROTTLE_OF_INDEX, (scope, index))).await?;
    let mut changed = report != ErasureReport::default() || other > 0;
    let mut target = rules::GUEST_TARGET.to_owned();
    if let Some((user, a, account_changed)) = account {
        report.orders += a.orders;
        report.sessions += a.sessions;
        report.jobs += a.jobs;
        changed |= account_changed;
        target = user_target(user);
    }
    if !changed {
        return Ok(ErasureOutcome::AlreadyErased);
    }
    let ids: Vec<OrderId> = erasure.orders.iter().map(|o| o.id).collect();
    let change = Change {
        after: Some(rules::erasure_by_email_summary(
            &report,
            erasure.account.is_some(),
            &ids,
        )),
        ..Change::new(erasure.tenant.to_string(), CUSTOMER_ERASED_BY_EMAIL, target)
    };
    B::record_change(&mut tx, audit, change).await?;
    B::commit(tx).await?;
    Ok(ErasureOutcome::Erased(report))
}

pub async fn order_contract_ids<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    order: OrderId,
) -> StoreResult<Vec<RentalContractId>> {
    let stmt = Stmt::new(CONTRACTS_OF_ORDER, (DbId(tenant.0), DbId(order.0)));
    let rows: Vec<(DbId, String)> = B::all(&mut *B::conn(pool).await?, stmt).await?;
    Ok(rows
        .into_iter()
        .map(|(id, _)| RentalContractId(id.0))
        .collect())
}

pub async fn orders_by_email<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    email_index: &str,
) -> StoreResult<Vec<OrderId>> {
    let stmt = Stmt::new(ORDERS_BY_EMAIL, (DbId(tenant.0), email_index));
    let rows: Vec<(DbId, String)> = B::all(&mut *B::conn(pool).await?, stmt).await?;
    Ok(rows.into_iter().map(|(id, _)| OrderId(id.0)).collect())
}

/// Implements `PrivacyStore` for a backend's store type (with a `pool`
/// field and an inherent `async fn after_erasure(&self) -> StoreResult<()>`)
/// by calling this module's functions with `$backend`.
#[macro_export]
macro_rules! impl_privacy_store {
    ($store:ty, $backend:ty) => {
        const _: () = {
            use $crate::privacy::reexports::*;

            #[async_trait]
            impl PrivacyStore for $store {
                async fn customer(
                    &self,
                    tenant: TenantId,
                    customer: UserId,
                ) -> StoreResult<UserRecord> {
                    $crate::privacy::customer::<$backend>(&self.pool, tenant, customer).await
                }
                async fn customer_order_ids(
                    &self,
                    tenant: TenantId,
                    customer: UserId,
                ) -> StoreResult<Vec<OrderId>> {
                    $crate::privacy::order_ids::<$backend>(&self.pool, tenant, customer).await
                }
                async fn audit_about(
                    &self,
                    tenant: TenantId,
                    customer: Option<UserId>,
                    targets: &[String],
                ) -> StoreResult<Vec<AuditEntry>> {
                    $crate::privacy::audit_about::<$backend>(&self.pool, tenant, customer, targets)
                        .await
                }
                async fn erase_customer(
                    &self,
                    erasure: &Erasure,
                    audit: &AuditContext,
                ) -> StoreResult<ErasureOutcome> {
                    let outcome =
                        $crate::privacy::erase::<$backend>(&self.pool, erasure, audit).await?;
                    if matches!(outcome, ErasureOutcome::Erased(_)) {
                        self.after_erasure().await?;
                    }
                    Ok(outcome)
                }
                async fn orders_by_email(
                    &self,
                    tenant: TenantId,
                    email_index: &str,
                ) -> StoreResult<Vec<OrderId>> {
                    $crate::privacy::orders_by_email::<$backend>(&self.pool, tenant, email_index)
                        .await
                }
                async fn order_contract_ids(
                    &self,
                    tenant: TenantId,
                    order: OrderId,
                ) -> StoreResult<Vec<RentalContractId>> {
                    $crate::privacy::order_contract_ids::<$backend>(&self.pool, tenant, order).await
                }
                async fn erase_by_email(
                    &self,
                    erasure: &EmailErasure,
                    audit: &AuditContext,
                ) -> StoreResult<ErasureOutcome> {
                    let outcome =
                        $crate::privacy::erase_by_email::<$backend>(&self.pool, erasure, audit)
                            .await?;
                    if matches!(outcome, ErasureOutcome::Erased(_)) {
                        self.after_erasure().await?;
                    }
                    Ok(outcome)
                }
            }
        };
    };
}

/// The names [`impl_privacy_store!`](crate::impl_privacy_store) uses
/// (public only for the macro).
pub mod reexports {
    pub use async_trait::async_trait;
    pub use storekeep_domain::{
        AuditContext, AuditEntry, OrderId, RentalContractId, TenantId, UserId, UserRecord,
    };
    pub use storekeep_store::StoreResult;
    pub use storekeep_store::privacy::{EmailErasure, Erasure, ErasureOutcome, PrivacyStore};
}
