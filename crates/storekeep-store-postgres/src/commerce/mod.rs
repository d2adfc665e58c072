//! Carts, checkout, orders, refunds, payments, deals and the outbox on
//! PostgreSQL, one file per aggregate (the same files as on SQLite). The
//! `CommerceStore` impl is `storekeep_store_sql::impl_commerce_store!`,
//! which calls the function of each method's name in these files; rows are
//! `storekeep_store_sql::commerce`'s and every rule is
//! `storekeep_store::rules::commerce`'s. Here: SQL, locks, transactions.
//!
//! Transactions run at READ COMMITTED: every read-modify-write locks what
//! it is about to change first, and locks are taken in this order (the
//! catalog's, extended), so writers queue instead of deadlocking:
//!
//! 1. checkout's idempotency key (a retry waits on the unique index until
//!    the first attempt commits or rolls back);
//! 2. the cart or order row, `FOR UPDATE`;
//! 3. the products whose variants' stock changes, `FOR UPDATE`, by id;
//! 4. those variants, by id (the stock updates lock them);
//! 5. the deals an order uses, by id;
//! 6. the audit chain's head, taken by `audit::append`, always last.
//!
//! An erasure (issue 16, `storekeep-store-sql/src/privacy.rs`) locks the
//! customer's account row, then all the orders it scrubs in one statement
//! by id, then the audit head: two erasures of one account queue on its
//! row.
//!
//! Stock and deal caps change through conditional updates, so no
//! interleaving oversells, and `products.available` is kept true.

pub(crate) mod batch;
pub(crate) mod carts;
pub(crate) mod checkout;
pub(crate) mod deals;
pub(crate) mod orders;
pub(crate) mod payments;
pub(crate) mod refunds;
pub(crate) mod to_price_reads;

use crate::Conn;
use storekeep_domain::{AuditContext, TenantId};
use storekeep_store::rules::commerce::Audited;
use storekeep_store::{StoreError, StoreResult};

use crate::{Store, error};

storekeep_store_sql::impl_commerce_store!(Store, crate::backend::PgBackend);

const UNIQUES: &[(&str, &str)] = &[
    ("deals_code_key", "code"),
    ("payments_reference_key", "reference"),
];

/// The rows of `select` as one JSON array (`[]` when none), in
/// `order_by` (over its columns as `x.…`; empty: any order): how a read
/// returns a parent's children in the parent's own row, so that the whole
/// read is one statement (ARCHITECTURE.md, "On PostgreSQL, a read behind
/// one answer is one statement"). Decoded with `Json<Vec<Row>>`.
pub(crate) fn json_rows(select: &str, order_by: &str) -> String {
    let order_by = if order_by.is_empty() {
        String::new()
    } else {
        format!(" ORDER BY {order_by}")
    };
    format!("(SELECT coalesce(json_agg(x{order_by}), '[]') FROM ({select}) x)")
}

fn map_err(e: sqlx::Error) -> StoreError {
    error::map(e, UNIQUES)
}

/// Appends a rule's audit entry to the shop's chain (lock 6, last).
async fn audit(
    conn: &mut Conn,
    tenant: TenantId,
    ctx: &AuditContext,
    entry: Audited,
) -> StoreResult<()> {
    crate::audit::append(
        conn,
        &tenant.to_string(),
        ctx,
        &entry.action,
        &entry.target,
        entry.before,
        entry.after,
    )
    .await?;
    Ok(())
}
