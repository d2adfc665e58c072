//! Customers' rights (issue 16), the same SQL on both databases: the
//! audit entries about a customer, and the erasure of a customer's
//! personal data in one transaction (see docs/privacy.md for what each
//! table keeps). [`impl_privacy_store!`](crate::impl_privacy_store) is the
//! `PrivacyStore` impl both backends share; each gives an `after_erasure`
//! of its own (SQLite truncates its write-ahead log).

use std::collections::BTreeSet;

use serde_json::{Value, json};
use sqlx::Pool;
use sqlx::types::Json;
use storekeep_domain::{
    AuditContext, AuditEntry, OrderId, OrderStatus, TenantId, UserId, UserRecord,
};
use storekeep_store::audit::Change;
use storekeep_store::privacy::{Erasure, ErasureOutcome};
use storekeep_store::rules::commerce::order_subject;
use storekeep_store::rules::delivery::EMAIL_QUEUE;
use storekeep_store::rules::identity::user_target;
use storekeep_store::rules::privacy::{
    self as rules, CUSTOMER, CUSTOMER_ERASED, ErasureReport, Obligations,
};
use storekeep_store::{StoreError, StoreResult, now};
use uuid::Uuid;

use crate::DbId;
use crate::backend::Backend;
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
/// Login failures are keyed by email index (logins) or account id (a
/// second factor's checks).
const DELETE_THROTTLE: &str = "DELETE FROM login_throttle WHERE email_index IN ($1, $2)";
/// The order keeps its lines, amounts, status, country and region (tax
/// records); `updated_at` is untouched, as the order did not change.
const ERASE_ORDER: &str = "UPDATE orders SET email_sealed = $2, email_index = $3, \
     address_sealed = $4 WHERE id = $1";

const EVENTS_OF: &str = "SELECT id FROM outbox_events WHERE tenant_id = $1 AND subject = $2";
const EMAIL_JOBS: &str = "SELECT id, state, payload FROM jobs WHERE tenant_id = $1 AND queue = $2";
const DROP_JOB: &str = "DELETE FROM jobs WHERE id = $1 AND state IN ('available', 'retryable')";
const CLEAR_JOB_ERRORS: &str =
    "UPDATE jobs SET last_error = NULL, errors = $2 WHERE id = $1 AND last_error IS NOT NULL";

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
    customer: UserId,
    targets: &[String],
) -> StoreResult<Vec<AuditEntry>> {
    let scope = tenant.to_string();
    let mut conn = B::conn(pool).await?;
    let actor = format!("customer:{customer}");
    let mut rows: Vec<AuditRow> = B::all(
        &mut *conn,
        Stmt::new(
            AUDIT_OWN,
            (scope.as_str(), actor.as_str(), user_target(customer)),
        ),
    )
    .await?;
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
    let (t, c) = (DbId(erasure.tenant.0), DbId(erasure.customer.0));
    let mut tx = B::write_tx(pool).await?;
    let read = B::read_for_update(CUSTOMER_ROW, CUSTOMER_ROW_LOCKED);
    let row: Option<UserRow> = B::optional(&mut tx, Stmt::new(read, (c, t))).await?;
    let user: UserRecord = found(row, CUSTOMER)?;
    if rules::is_erased_index(&user.email_index) {
        return Ok(ErasureOutcome::AlreadyErased);
    }

    let read = B::read_for_update(ORDERS_OF, ORDERS_OF_LOCKED);
    let orders: Vec<(DbId, String)> = B::all(&mut tx, Stmt::new(read, (t, c))).await?;
    let contracts: Vec<(DbId, String)> = B::all(&mut tx, Stmt::new(CONTRACTS_OF, (t, c))).await?;
    let mut blocked = Obligations::default();
    for (id, status) in &orders {
        let status = OrderStatus::parse(status)
            .ok_or_else(|| StoreError::Other(format!("unknown order status {status}").into()))?;
        if rules::order_is_open(status) {
            blocked.orders.push(id.0);
        }
    }
    for (id, status) in &contracts {
        if rules::contract_is_open(status) {
            blocked.contracts.push(id.0);
        }
    }
    if !blocked.is_empty() {
        return Ok(ErasureOutcome::Blocked(blocked));
    }
    let read: BTreeSet<Uuid> = orders.iter().map(|(id, _)| id.0).collect();
    let given: BTreeSet<Uuid> = erasure.orders.iter().map(|o| o.id.0).collect();
    if read != given || given.len() != erasure.orders.len() {
        return Ok(ErasureOutcome::OrdersChanged);
    }

    let mut report = ErasureReport::default();
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
    B::exec(&mut tx, stmt).await?;
    report.sessions = B::exec(&mut tx, Stmt::new(DELETE_SESSIONS, (c,))).await?;
    B::exec(&mut tx, Stmt::new(DELETE_RECOVERY_CODES, (c,))).await?;
    B::exec(&mut tx, Stmt::new(DELETE_RESETS, (c,))).await?;
    let throttle = (user.email_index.as_str(), user.id.to_string());
    B::exec(&mut tx, Stmt::new(DELETE_THROTTLE, throttle)).await?;
    for o in &erasure.orders {
        let args = (
            DbId(o.id.0),
            o.email_sealed.as_str(),
            rules::erased_index(o.id.0),
            o.address_sealed.as_str(),
        );
        report.orders += B::exec(&mut tx, Stmt::new(ERASE_ORDER, args)).await?;
    }

    // The email jobs about the customer: pending ones dropped, finished
    // ones cleared of their errors (a refusal may quote the address).
    let mut subjects: Vec<String> = orders
        .iter()
        .map(|(id, _)| order_subject(OrderId(id.0)))
        .collect();
    subjects.extend(
        contracts
            .iter()
            .map(|(id, _)| format!("rental_contract:{}", id.0)),
    );
    let mut events = Vec::new();
    for subject in &subjects {
        let ids: Vec<(DbId,)> =
            B::all(&mut tx, Stmt::new(EVENTS_OF, (t, subject.as_str()))).await?;
        events.extend(ids.into_iter().map(|(id,)| id.0));
    }
    let contract_ids: Vec<Uuid> = contracts.iter().map(|(id, _)| id.0).collect();
    let jobs: Vec<(DbId, String, Json<Value>)> =
        B::all(&mut tx, Stmt::new(EMAIL_JOBS, (t, EMAIL_QUEUE))).await?;
    for (id, state, Json(payload)) in jobs {
        if !rules::job_is_about(&payload, user.id, &contract_ids, &events) {
            continue;
        }
        let done = match state.as_str() {
            "available" | "retryable" => B::exec(&mut tx, Stmt::new(DROP_JOB, (id,))).await?,
            "running" => 0,
            _ => {
                let stmt = Stmt::new(CLEAR_JOB_ERRORS, (id, Json(json!([]))));
                B::exec(&mut tx, stmt).await?
            }
        };
        report.jobs += done;
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
                    customer: UserId,
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
            }
        };
    };
}

/// The names [`impl_privacy_store!`](crate::impl_privacy_store) uses
/// (public only for the macro).
pub mod reexports {
    pub use async_trait::async_trait;
    pub use storekeep_domain::{AuditContext, AuditEntry, OrderId, TenantId, UserId, UserRecord};
    pub use storekeep_store::StoreResult;
    pub use storekeep_store::privacy::{Erasure, ErasureOutcome, PrivacyStore};
}
