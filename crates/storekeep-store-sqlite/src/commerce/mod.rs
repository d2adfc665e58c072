//! Carts, checkout, orders, refunds, payments, deals and the outbox on
//! SQLite, one file per aggregate (the same files as on PostgreSQL). The
//! `CommerceStore` impl is `storekeep_store_sql::impl_commerce_store!`,
//! which calls the function of each method's name in these files; rows are
//! `storekeep_store_sql::commerce`'s and every rule is
//! `storekeep_store::rules::commerce`'s. Here: SQL, locks, transactions.
//!
//! Writes run in `BEGIN IMMEDIATE` transactions (SQLite's write lock), so
//! what a write reads stays true until it commits; status changes are
//! still conditional updates on the status read, as the contract asks.
//! Checkout runs in the group-commit worker (`group_commit.rs`), which
//! calls [`checkout::checkout_in`] inside a savepoint of a shared
//! transaction and writes what its orders record at the end of the batch
//! (`group_commit/batch.rs`).
//!
//! Stock invariant kept here as in the catalog: a product's `available` is
//! the sum of `max(on_hand - reserved, 0)` over its variants.

pub(crate) mod carts;
pub(crate) mod checkout;
pub(crate) mod deals;
pub(crate) mod orders;
pub(crate) mod payments;
pub(crate) mod refunds;

use crate::Conn;
use storekeep_domain::{AuditContext, TenantId};
use storekeep_store::rules::commerce::Audited;
use storekeep_store::{StoreError, StoreResult};

use crate::{Store, error};

storekeep_store_sql::impl_commerce_store!(Store, crate::backend::SqliteBackend);

const UNIQUES: &[(&str, &str)] = &[("deals.code", "code"), ("payments.provider", "reference")];

pub(crate) fn map_err(e: sqlx::Error) -> StoreError {
    error::map(e, UNIQUES)
}

/// Appends a rule's audit entry to the shop's chain.
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
