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
use sqlx::{PgConnection, PgPool, Postgres};
use storekeep_domain::{
    AuditContext, Category, CategoryId, CategoryPatch, Handle, ImageId, ImportOutcome, ImportRow,
    InventoryAdjustment, NewCategory, NewImage, NewProduct, NewVariant, Page, PageRequest, Product,
    ProductId, ProductImage, ProductPatch, ProductQuery, SearchDoc, TenantId, Variant, VariantId,
    VariantPatch,
};
use storekeep_store::rules::catalog_audit::AuditEvent;
use storekeep_store::{CatalogStore, StoreError, StoreResult};

use crate::error::other;
use crate::{PgStore, audit, error};

pub(crate) use inventory::{change_stock, record_ledger};
pub(crate) use products::refresh_summary;

type Pool = PgPool;
type Db = Postgres;
type Conn = PgConnection;

const UNIQUES: &[(&str, &str)] = &[
    ("products_handle_key", "handle"),
    ("variants_sku_key", "sku"),
    ("categories_handle_key", "handle"),
];

fn map_err(e: sqlx::Error) -> StoreError {
    error::map(e, UNIQUES)
}

async fn exec(conn: &mut Conn, sql: &str) -> StoreResult<()> {
    sqlx::query(sql).execute(&mut *conn).await.map_err(other)?;
    Ok(())
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
async fn lock_tenant(conn: &mut Conn, tenant: TenantId) -> StoreResult<()> {
    sqlx::query("SELECT 1 FROM tenants WHERE id = $1 FOR NO KEY UPDATE")
        .bind(tenant.0)
        .execute(&mut *conn)
        .await
        .map_err(other)?;
    Ok(())
}

#[async_trait]
impl CatalogStore for PgStore {
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
