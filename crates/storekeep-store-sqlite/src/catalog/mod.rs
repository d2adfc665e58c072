//! The catalog on SQLite, one file per aggregate (twins of the PostgreSQL
//! backend's). Writes run in `BEGIN IMMEDIATE` transactions, which hold the
//! database's write lock, so what they read (plan limits, stock, the
//! category tree) stays true until commit: no row locks are needed.
//!
//! Rows, shared SQL and the binding of long statements come from
//! `storekeep_store_sql::catalog`; every decision (limits, refusals, their
//! messages, audit entries) from `storekeep_store::rules`.

mod categories;
mod images;
mod import;
mod inventory;
mod products;
mod search;
mod variants;

use async_trait::async_trait;
use sqlx::{Sqlite, SqliteConnection, SqlitePool};
use storekeep_domain::{
    AuditContext, Category, CategoryId, CategoryPatch, Handle, ImageId, ImportOutcome, ImportRow,
    InventoryAdjustment, NewCategory, NewImage, NewProduct, NewVariant, Page, PageRequest, Product,
    ProductId, ProductImage, ProductPatch, ProductQuery, SearchDoc, TenantId, Variant, VariantId,
    VariantPatch,
};
use storekeep_store::rules::catalog_audit::AuditEvent;
use storekeep_store::{CatalogStore, StoreError, StoreResult};

use crate::error::other;
use crate::{SqliteStore, audit, error};

pub(crate) use inventory::record_ledger;
pub(crate) use products::refresh_summary;

type Pool = SqlitePool;
type Db = Sqlite;
type Conn = SqliteConnection;

const UNIQUES: &[(&str, &str)] = &[
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

async fn exec(conn: &mut Conn, sql: &str) -> StoreResult<()> {
    sqlx::query(sql).execute(&mut *conn).await.map_err(other)?;
    Ok(())
}

/// Lock 1 on PostgreSQL. Here the write transaction (`BEGIN IMMEDIATE`)
/// already holds the database's lock, which serialises every writer.
async fn lock_tenant(_conn: &mut Conn, _tenant: TenantId) -> StoreResult<()> {
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

#[async_trait]
impl CatalogStore for SqliteStore {
    async fn create_category(
        &self,
        tenant: TenantId,
        new: &NewCategory,
        ctx: &AuditContext,
    ) -> StoreResult<Category> {
        categories::create(&self.pool, tenant, new, ctx).await
    }

    async fn list_categories(&self, tenant: TenantId) -> StoreResult<Vec<Category>> {
        categories::list(&self.pool, tenant).await
    }

    async fn update_category(
        &self,
        tenant: TenantId,
        id: CategoryId,
        patch: &CategoryPatch,
        ctx: &AuditContext,
    ) -> StoreResult<Category> {
        categories::update(&self.pool, tenant, id, patch, ctx).await
    }

    async fn delete_category(
        &self,
        tenant: TenantId,
        id: CategoryId,
        ctx: &AuditContext,
    ) -> StoreResult<()> {
        categories::delete(&self.pool, tenant, id, ctx).await
    }

    async fn create_product(
        &self,
        tenant: TenantId,
        new: &NewProduct,
        max_products: i64,
        ctx: &AuditContext,
    ) -> StoreResult<Product> {
        products::create(&self.pool, tenant, new, max_products, ctx).await
    }

    async fn product(&self, tenant: TenantId, id: ProductId) -> StoreResult<Product> {
        products::get(&self.pool, tenant, id).await
    }

    async fn product_by_handle(&self, tenant: TenantId, handle: &Handle) -> StoreResult<Product> {
        products::by_handle(&self.pool, tenant, handle).await
    }

    async fn products_by_ids(
        &self,
        tenant: TenantId,
        ids: &[ProductId],
    ) -> StoreResult<Vec<Product>> {
        products::by_ids(&self.pool, tenant, ids).await
    }

    async fn list_products(
        &self,
        tenant: TenantId,
        query: &ProductQuery,
    ) -> StoreResult<Page<Product>> {
        products::list(&self.pool, tenant, query).await
    }

    async fn count_products(&self, tenant: TenantId) -> StoreResult<i64> {
        products::count(&self.pool, tenant).await
    }

    async fn update_product(
        &self,
        tenant: TenantId,
        id: ProductId,
        patch: &ProductPatch,
        ctx: &AuditContext,
    ) -> StoreResult<Product> {
        products::update(&self.pool, tenant, id, patch, ctx).await
    }

    async fn delete_product(
        &self,
        tenant: TenantId,
        id: ProductId,
        ctx: &AuditContext,
    ) -> StoreResult<Product> {
        products::delete(&self.pool, tenant, id, ctx).await
    }

    async fn add_variant(
        &self,
        tenant: TenantId,
        product: ProductId,
        new: &NewVariant,
        ctx: &AuditContext,
    ) -> StoreResult<Variant> {
        variants::add(&self.pool, tenant, product, new, ctx).await
    }

    async fn update_variant(
        &self,
        tenant: TenantId,
        id: VariantId,
        patch: &VariantPatch,
        ctx: &AuditContext,
    ) -> StoreResult<Variant> {
        variants::update(&self.pool, tenant, id, patch, ctx).await
    }

    async fn delete_variant(
        &self,
        tenant: TenantId,
        id: VariantId,
        ctx: &AuditContext,
    ) -> StoreResult<()> {
        variants::delete(&self.pool, tenant, id, ctx).await
    }

    async fn adjust_inventory(
        &self,
        tenant: TenantId,
        id: VariantId,
        delta: i64,
        reason: &str,
        ctx: &AuditContext,
    ) -> StoreResult<(Variant, InventoryAdjustment)> {
        inventory::adjust(&self.pool, tenant, id, delta, reason, ctx).await
    }

    async fn inventory_ledger(
        &self,
        tenant: TenantId,
        id: VariantId,
        page: &PageRequest,
    ) -> StoreResult<Page<InventoryAdjustment>> {
        inventory::ledger(&self.pool, tenant, id, page).await
    }

    async fn add_image(
        &self,
        tenant: TenantId,
        image: &NewImage,
        storage_limit: i64,
        ctx: &AuditContext,
    ) -> StoreResult<ProductImage> {
        images::add(&self.pool, tenant, image, storage_limit, ctx).await
    }

    async fn image(&self, tenant: TenantId, id: ImageId) -> StoreResult<ProductImage> {
        images::get(&self.pool, tenant, id).await
    }

    async fn delete_image(
        &self,
        tenant: TenantId,
        id: ImageId,
        ctx: &AuditContext,
    ) -> StoreResult<ProductImage> {
        images::delete(&self.pool, tenant, id, ctx).await
    }

    async fn search_candidates(
        &self,
        tenant: TenantId,
        terms: &[String],
        limit: i64,
    ) -> StoreResult<Vec<SearchDoc>> {
        search::candidates(&self.pool, tenant, terms, limit).await
    }

    async fn import_rows(
        &self,
        tenant: TenantId,
        rows: &[ImportRow],
        max_products: i64,
        ctx: &AuditContext,
    ) -> StoreResult<Vec<Result<ImportOutcome, StoreError>>> {
        import::rows(&self.pool, tenant, rows, max_products, ctx).await
    }

    async fn products_after(
        &self,
        tenant: TenantId,
        after: Option<ProductId>,
        limit: i64,
    ) -> StoreResult<Vec<Product>> {
        products::after(&self.pool, tenant, after, limit).await
    }
}
