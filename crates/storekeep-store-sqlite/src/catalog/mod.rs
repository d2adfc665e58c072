//! The catalog on SQLite, one file per aggregate (twins of the PostgreSQL
//! backend's). Writes run in `BEGIN IMMEDIATE` transactions, which hold the
//! database's write lock, so what they read (plan limits, stock, the
//! category tree) stays true until commit: no row locks are needed.
//!
//! The `CatalogStore` impl is `storekeep_store_sql::impl_catalog_store!`,
//! which calls the functions of these files or, for categories, images,
//! variants and stock, the generic ones of `storekeep_store_sql::catalog`
//! with this backend's `Backend` impl. Rows, shared SQL and the
//! binding of long statements come from
//! `storekeep_store_sql::catalog`; every decision (limits, refusals, their
//! messages, audit entries) from `storekeep_store::rules`.

mod import;
mod inventory;
mod products;
mod search;

use sqlx::{Sqlite, SqliteConnection, SqlitePool};
use storekeep_domain::{AuditContext, TenantId};
use storekeep_store::rules::catalog_audit::AuditEvent;
use storekeep_store::{StoreError, StoreResult};

use crate::{SqliteStore, audit, error};

pub(crate) use inventory::record_ledger;
pub(crate) use products::{assemble, refresh_summary, set_categories, set_tags};

type Pool = SqlitePool;
type Db = Sqlite;
type Conn = SqliteConnection;

storekeep_store_sql::impl_catalog_store!(SqliteStore, crate::backend::SqliteBackend);

pub(crate) const UNIQUES: &[(&str, &str)] = &[
    ("products.handle", "handle"),
    ("variants.sku", "sku"),
    ("categories.handle", "handle"),
];

fn map_err(e: sqlx::Error) -> StoreError {
    error::map(e, UNIQUES)
}

/// `n` positional placeholders, for an `IN (...)` list.
pub(crate) fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// Lock 1 on PostgreSQL. Here the write transaction (`BEGIN IMMEDIATE`)
/// already holds the database's lock, which serialises every writer.
pub(crate) async fn lock_tenant(_conn: &mut Conn, _tenant: TenantId) -> StoreResult<()> {
    Ok(())
}

/// Appends the shop's audit entry in the caller's transaction.
async fn record(
    conn: &mut Conn,
    tenant: TenantId,
    ctx: &AuditContext,
    e: AuditEvent,
) -> StoreResult<()> {
    let scope = tenant.to_string();
    audit::append(conn, &scope, ctx, e.action, &e.target, e.before, e.after).await?;
    Ok(())
}
