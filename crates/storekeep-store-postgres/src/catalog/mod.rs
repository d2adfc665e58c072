//! The catalog on PostgreSQL, one file per aggregate (twins of the SQLite
//! backend's). Transactions run at READ COMMITTED, so where the SQLite
//! store relies on `BEGIN IMMEDIATE` serialising writers, this one takes
//! row locks before it reads what it is about to change. Locks are always
//! taken in this order, so writers queue instead of deadlocking:
//!
//! 1. the tenant row, `FOR NO KEY UPDATE` (which does not block inserts
//!    elsewhere that merely reference the tenant): plan limits (product
//!    count, image storage), the category tree, imports;
//! 2. the product row, `FOR UPDATE`: anything that changes a product, its
//!    variants, stock or images;
//! 3. the variant row, `FOR UPDATE`: stock changes;
//! 4. the audit chain's head, taken by `audit::append`, always last.
//!
//! Categories a product is filed under are read `FOR KEY SHARE`, so they
//! cannot be deleted before the filing commits.
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

use sqlx::{PgConnection, PgPool, Postgres};
use storekeep_domain::{AuditContext, TenantId};
use storekeep_store::rules::catalog_audit::AuditEvent;
use storekeep_store::{StoreError, StoreResult};

use crate::run::RUN;
use crate::{PgStore, audit, error};
use storekeep_store_sql::stmt::Stmt;

pub(crate) use inventory::record_ledger;
pub(crate) use products::{
    assemble, product_summary_set, refresh_summary, set_categories, set_tags,
};

type Pool = PgPool;
type Db = Postgres;
type Conn = PgConnection;

storekeep_store_sql::impl_catalog_store!(PgStore, crate::backend::PgBackend);

pub(crate) const UNIQUES: &[(&str, &str)] = &[
    ("products_handle_key", "handle"),
    ("variants_sku_key", "sku"),
    ("categories_handle_key", "handle"),
];

fn map_err(e: sqlx::Error) -> StoreError {
    error::map(e, UNIQUES)
}

/// Appends the shop's audit entry in the caller's transaction.
pub(crate) async fn append(
    conn: &mut Conn,
    tenant: TenantId,
    ctx: &AuditContext,
    action: &str,
    target: String,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> StoreResult<()> {
    let scope = tenant.to_string();
    audit::append(conn, &scope, ctx, action, &target, before, after).await?;
    Ok(())
}

/// Appends `e` to the shop's audit chain in the caller's transaction.
async fn record(
    conn: &mut Conn,
    tenant: TenantId,
    ctx: &AuditContext,
    e: AuditEvent,
) -> StoreResult<()> {
    append(conn, tenant, ctx, e.action, e.target, e.before, e.after).await
}

/// Lock 1: serialises the shop's limit checks, category tree changes and
/// imports. A missing tenant locks nothing (as on SQLite, the inserts that
/// follow fail instead).
pub(crate) async fn lock_tenant(conn: &mut Conn, tenant: TenantId) -> StoreResult<()> {
    RUN.exec(
        &mut *conn,
        Stmt::new(
            "SELECT 1 FROM tenants WHERE id = $1 FOR NO KEY UPDATE",
            (tenant.0,),
        ),
    )
    .await?;
    Ok(())
}
