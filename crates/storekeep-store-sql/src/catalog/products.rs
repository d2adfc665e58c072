//! What the products' code of both backends shares, written once over the
//! [`Backend`]: creating, reading, patching and deleting a product, the
//! product lock and the touch of its update time. What each database does
//! its own way — reading a page of products' variants, images and filings
//! by a list of ids, writing tags and filings, the summary columns, the
//! list's filters — stays in the backend's `catalog/products.rs`, behind
//! [`Backend::assemble`], [`Backend::set_tags`] and
//! [`Backend::set_categories`].

use sqlx::Pool;
use storekeep_domain::{
    AuditContext, CategoryId, Handle, NewProduct, Product, ProductId, ProductPatch, TenantId,
};
use storekeep_store::rules::catalog as rules;
use storekeep_store::rules::catalog_audit::AuditEvent;
use storekeep_store::{StoreError, StoreResult, now};

use super::variants::insert_variant;
use super::{ProductFields, ProductRow, sql};
use crate::DbId;
use crate::backend::{Backend, Conn};
use crate::stmt::Stmt;

/// Lock 2 on PostgreSQL (`FOR UPDATE`); on SQLite, whose write transaction
/// already holds the database's lock, only the check that the product
/// exists in the shop.
pub async fn lock_product<B: Backend>(
    conn: &mut Conn<B::Db>,
    tenant: TenantId,
    id: DbId,
) -> StoreResult<()> {
    let by_id = B::read_for_update(sql::PRODUCT_EXISTS, sql::PRODUCT_EXISTS_LOCKED);
    let found: Option<DbId> =
        B::scalar_optional(conn, Stmt::new(by_id, (DbId(tenant.0), id))).await?;
    found.map(|_| ()).ok_or(StoreError::NotFound("product"))
}

/// Marks a product changed now.
pub async fn touch<B: Backend>(conn: &mut Conn<B::Db>, product: DbId) -> StoreResult<()> {
    B::exec(conn, Stmt::new(sql::TOUCH_PRODUCT, (now(), product))).await?;
    Ok(())
}

/// `row` made whole; `NotFound` for none.
async fn one<B: Backend>(conn: &mut Conn<B::Db>, row: Option<ProductRow>) -> StoreResult<Product> {
    let row = row.ok_or(StoreError::NotFound("product"))?;
    B::assemble(conn, vec![row])
        .await?
        .pop()
        .ok_or(StoreError::NotFound("product"))
}

/// The shop's product `id`, whole.
pub async fn fetch<B: Backend>(
    conn: &mut Conn<B::Db>,
    tenant: TenantId,
    id: ProductId,
) -> StoreResult<Product> {
    let by_id = Stmt::new(sql::PRODUCT_BY_ID, (DbId(tenant.0), DbId(id.0)));
    let row: Option<ProductRow> = B::optional(conn, by_id).await?;
    one::<B>(conn, row).await
}

/// Inserts a product (no variants yet) with its tags and filings.
pub async fn insert<B: Backend>(
    conn: &mut Conn<B::Db>,
    tenant: TenantId,
    fields: ProductFields<'_>,
    categories: &[CategoryId],
) -> StoreResult<DbId> {
    let id = DbId(ProductId::new().0);
    let row = sql::insert_product(id, DbId(tenant.0), fields, now());
    B::exec_unique(conn, row, B::CATALOG_UNIQUES).await?;
    B::set_tags(conn, tenant, id, fields.tags).await?;
    B::set_categories(conn, tenant, id, categories).await?;
    Ok(id)
}

/// Rewrites a product's fields, and its tags and filings where given.
pub async fn rewrite<B: Backend>(
    conn: &mut Conn<B::Db>,
    tenant: TenantId,
    id: DbId,
    fields: ProductFields<'_>,
    tags: Option<&[String]>,
    categories: Option<&[CategoryId]>,
) -> StoreResult<()> {
    let row = sql::update_product(id, fields, now());
    B::exec_unique(conn, row, B::CATALOG_UNIQUES).await?;
    if let Some(tags) = tags {
        B::set_tags(conn, tenant, id, tags).await?;
    }
    if let Some(categories) = categories {
        B::set_categories(conn, tenant, id, categories).await?;
    }
    Ok(())
}

/// How many products the shop has.
pub async fn product_count<B: Backend>(
    conn: &mut Conn<B::Db>,
    tenant: TenantId,
) -> StoreResult<i64> {
    B::scalar(conn, Stmt::new(sql::PRODUCT_COUNT, (DbId(tenant.0),))).await
}

/// Creates `new` with its variants, within the plan's `max_products`.
pub async fn create<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    new: &NewProduct,
    max_products: i64,
    ctx: &AuditContext,
) -> StoreResult<Product> {
    let mut tx = B::write_tx(pool).await?;
    B::lock_tenant(&mut tx, tenant).await?;
    rules::product_room(product_count::<B>(&mut tx, tenant).await?, max_products)?;
    let id = insert::<B>(&mut tx, tenant, ProductFields::of_new(new), &new.categories).await?;
    for v in &new.variants {
        insert_variant::<B>(&mut tx, tenant, id, v, &ctx.actor, "initial").await?;
    }
    B::refresh_summary(&mut tx, id).await?;
    let product = fetch::<B>(&mut tx, tenant, ProductId(id.0)).await?;
    B::record(&mut tx, tenant, ctx, AuditEvent::product_created(&product)).await?;
    B::commit(tx).await?;
    Ok(product)
}

pub async fn get<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    id: ProductId,
) -> StoreResult<Product> {
    fetch::<B>(&mut *B::conn(pool).await?, tenant, id).await
}

pub async fn by_handle<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    handle: &Handle,
) -> StoreResult<Product> {
    let mut conn = B::conn(pool).await?;
    let by_handle = Stmt::new(sql::PRODUCT_BY_HANDLE, (DbId(tenant.0), handle.as_str()));
    let row: Option<ProductRow> = B::optional(&mut *conn, by_handle).await?;
    one::<B>(&mut conn, row).await
}

pub async fn count<B: Backend>(pool: &Pool<B::Db>, tenant: TenantId) -> StoreResult<i64> {
    product_count::<B>(&mut *B::conn(pool).await?, tenant).await
}

pub async fn update<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    id: ProductId,
    patch: &ProductPatch,
    ctx: &AuditContext,
) -> StoreResult<Product> {
    let mut tx = B::write_tx(pool).await?;
    // Locked before reading, so a concurrent patch is not overwritten with
    // what this one read.
    lock_product::<B>(&mut tx, tenant, DbId(id.0)).await?;
    let before = fetch::<B>(&mut tx, tenant, id).await?;
    let fields = ProductFields::patched(&before, patch);
    let (tags, categories) = (patch.tags.as_deref(), patch.categories.as_deref());
    rewrite::<B>(&mut tx, tenant, DbId(id.0), fields, tags, categories).await?;
    let after = fetch::<B>(&mut tx, tenant, id).await?;
    let event = AuditEvent::product_updated(&before, &after);
    B::record(&mut tx, tenant, ctx, event).await?;
    B::commit(tx).await?;
    Ok(after)
}

pub async fn delete<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    id: ProductId,
    ctx: &AuditContext,
) -> StoreResult<Product> {
    let mut tx = B::write_tx(pool).await?;
    // Locked first, so the images returned are all the ones deleted.
    lock_product::<B>(&mut tx, tenant, DbId(id.0)).await?;
    let before = fetch::<B>(&mut tx, tenant, id).await?;
    crate::rental_guard::product_deletable::<B>(&mut tx, tenant, id).await?;
    let delete = Stmt::new(sql::DELETE_PRODUCT, (DbId(tenant.0), DbId(id.0)));
    B::exec(&mut tx, delete).await?;
    B::record(&mut tx, tenant, ctx, AuditEvent::product_deleted(&before)).await?;
    B::commit(tx).await?;
    Ok(before)
}

/// Products in id order after `after`, for export.
pub async fn after<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    after: Option<ProductId>,
    limit: i64,
) -> StoreResult<Vec<Product>> {
    let mut conn = B::conn(pool).await?;
    let after = DbId(after.map_or(uuid::Uuid::nil(), |a| a.0));
    let page = Stmt::new(sql::PRODUCTS_AFTER, (DbId(tenant.0), after, limit));
    let rows: Vec<ProductRow> = B::all(&mut *conn, page).await?;
    B::assemble(&mut conn, rows).await
}
