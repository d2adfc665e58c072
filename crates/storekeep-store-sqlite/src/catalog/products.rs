//! Products: their rows, tags and filings, the summary columns lists sort
//! and filter on, and reading them back whole.

use sqlx::sqlite::SqliteRow;
use sqlx::{Encode, FromRow, Type};
use storekeep_domain::{
    AuditContext, CategoryId, Handle, NewProduct, Page, Product, ProductId, ProductPatch,
    ProductQuery, TenantId,
};
use storekeep_store::rules::catalog as rules;
use storekeep_store::rules::catalog_audit::AuditEvent;
use storekeep_store::{StoreError, StoreResult, now};
use storekeep_store_sql::DbId;
use storekeep_store_sql::catalog::{
    self as shared, ProductFields, ProductRow, list_products, product_page, sql,
};

use super::{Conn, Db, Pool, lock_tenant, map_err, record};
use crate::backend::SqliteBackend as B;
use crate::error::other;
use crate::run::RUN;
use crate::write_tx;
use storekeep_store_sql::catalog::variants::insert_variant;
use storekeep_store_sql::stmt::Stmt;

/// Rows of `sql` for the products `ids` (bound as `$1, $2, …`).
async fn of_products<R>(conn: &mut Conn, sql: &str, ids: &[DbId]) -> StoreResult<Vec<R>>
where
    R: for<'r> FromRow<'r, SqliteRow> + Send + Unpin,
{
    let mut q = sqlx::query_as::<_, R>(sql);
    for id in ids {
        q = q.bind(*id);
    }
    q.fetch_all(&mut *conn).await.map_err(other)
}

/// Turns product rows into products, loading their variants, images and
/// categories with one query each.
pub(super) async fn assemble(conn: &mut Conn, rows: Vec<ProductRow>) -> StoreResult<Vec<Product>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<DbId> = rows.iter().map(|r| r.id).collect();
    let list = format!("IN ({})", sql::numbered(1, ids.len()));
    let variants = of_products(conn, &sql::variants_of(&list), &ids).await?;
    let images = of_products(conn, &sql::images_of(&list), &ids).await?;
    let filings = of_products(conn, &sql::filings_of(&list), &ids).await?;
    shared::assemble(rows, variants, images, filings)
}

async fn one(conn: &mut Conn, row: Option<ProductRow>) -> StoreResult<Product> {
    let row = row.ok_or(StoreError::NotFound("product"))?;
    assemble(conn, vec![row])
        .await?
        .pop()
        .ok_or(StoreError::NotFound("product"))
}

pub(super) async fn fetch(
    conn: &mut Conn,
    tenant: TenantId,
    id: ProductId,
) -> StoreResult<Product> {
    let row: Option<ProductRow> = RUN
        .optional(
            &mut *conn,
            Stmt::new(sql::PRODUCT_BY_ID, (DbId(tenant.0), DbId(id.0))),
        )
        .await?;
    one(conn, row).await
}

/// Recomputes a product's cheapest price and available stock.
pub(crate) async fn refresh_summary<'q>(
    conn: &mut Conn,
    product: impl Encode<'q, Db> + Type<Db> + Send + 'q,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE products SET \
         min_price = coalesce((SELECT min(price) FROM variants WHERE product_id = $1), 0), \
         available = coalesce((SELECT sum(max(on_hand - reserved, 0)) FROM variants \
                               WHERE product_id = $1), 0) \
         WHERE id = $1",
    )
    .bind(product)
    .execute(&mut *conn)
    .await
    .map_err(other)?;
    Ok(())
}

async fn set_tags(
    conn: &mut Conn,
    tenant: TenantId,
    product: DbId,
    tags: &[String],
) -> StoreResult<()> {
    RUN.exec(&mut *conn, Stmt::new(sql::DELETE_PRODUCT_TAGS, (product,)))
        .await?;
    for tag in tags {
        sqlx::query(
            "INSERT OR IGNORE INTO product_tags (product_id, tenant_id, tag) VALUES ($1, $2, $3)",
        )
        .bind(product)
        .bind(DbId(tenant.0))
        .bind(tag.as_str())
        .execute(&mut *conn)
        .await
        .map_err(other)?;
    }
    Ok(())
}

/// Files the product under `categories`, in that order (a repeat keeps its
/// first position).
async fn set_categories(
    conn: &mut Conn,
    tenant: TenantId,
    product: DbId,
    categories: &[CategoryId],
) -> StoreResult<()> {
    RUN.exec(
        &mut *conn,
        Stmt::new(sql::DELETE_PRODUCT_CATEGORIES, (product,)),
    )
    .await?;
    for (position, category) in categories.iter().enumerate() {
        let found: Option<i64> = RUN
            .scalar_optional(
                &mut *conn,
                Stmt::new(
                    "SELECT 1 FROM categories WHERE tenant_id = $1 AND id = $2",
                    (DbId(tenant.0), DbId(category.0)),
                ),
            )
            .await?;
        rules::known_category(found)?;
        sqlx::query(
            "INSERT OR IGNORE INTO product_categories (product_id, category_id, position) \
             VALUES ($1, $2, $3)",
        )
        .bind(product)
        .bind(DbId(category.0))
        .bind(position as i64)
        .execute(&mut *conn)
        .await
        .map_err(other)?;
    }
    Ok(())
}

/// Inserts a product (no variants yet) with its tags and filings.
pub(super) async fn insert(
    conn: &mut Conn,
    tenant: TenantId,
    fields: ProductFields<'_>,
    categories: &[CategoryId],
) -> StoreResult<DbId> {
    let id = DbId(ProductId::new().0);
    sql::insert_product(id, DbId(tenant.0), fields, now())
        .execute(&mut *conn)
        .await
        .map_err(map_err)?;
    set_tags(conn, tenant, id, fields.tags).await?;
    set_categories(conn, tenant, id, categories).await?;
    Ok(id)
}

/// Rewrites a product's fields, and its tags and filings where given.
pub(super) async fn rewrite(
    conn: &mut Conn,
    tenant: TenantId,
    id: DbId,
    fields: ProductFields<'_>,
    tags: Option<&[String]>,
    categories: Option<&[CategoryId]>,
) -> StoreResult<()> {
    sql::update_product(id, fields, now())
        .execute(&mut *conn)
        .await
        .map_err(map_err)?;
    if let Some(tags) = tags {
        set_tags(conn, tenant, id, tags).await?;
    }
    if let Some(categories) = categories {
        set_categories(conn, tenant, id, categories).await?;
    }
    Ok(())
}

pub(super) async fn product_count(conn: &mut Conn, tenant: TenantId) -> StoreResult<i64> {
    RUN.scalar(&mut *conn, Stmt::new(sql::PRODUCT_COUNT, (DbId(tenant.0),)))
        .await
}

pub(super) async fn create(
    pool: &Pool,
    tenant: TenantId,
    new: &NewProduct,
    max_products: i64,
    ctx: &AuditContext,
) -> StoreResult<Product> {
    let mut tx = write_tx(pool).await?;
    lock_tenant(&mut tx, tenant).await?;
    rules::product_room(product_count(&mut tx, tenant).await?, max_products)?;
    let id = insert(&mut tx, tenant, ProductFields::of_new(new), &new.categories).await?;
    for v in &new.variants {
        insert_variant::<B>(&mut tx, tenant, id, v, &ctx.actor, "initial").await?;
    }
    refresh_summary(&mut tx, id).await?;
    let product = fetch(&mut tx, tenant, ProductId(id.0)).await?;
    record(&mut tx, tenant, ctx, AuditEvent::product_created(&product)).await?;
    tx.commit().await.map_err(other)?;
    Ok(product)
}

pub(super) async fn get(pool: &Pool, tenant: TenantId, id: ProductId) -> StoreResult<Product> {
    let mut conn = pool.acquire().await.map_err(other)?;
    fetch(&mut conn, tenant, id).await
}

pub(super) async fn by_handle(
    pool: &Pool,
    tenant: TenantId,
    handle: &Handle,
) -> StoreResult<Product> {
    let mut conn = pool.acquire().await.map_err(other)?;
    let row: Option<ProductRow> = RUN
        .optional(
            &mut *conn,
            Stmt::new(sql::PRODUCT_BY_HANDLE, (DbId(tenant.0), handle.as_str())),
        )
        .await?;
    one(&mut conn, row).await
}

pub(super) async fn by_ids(
    pool: &Pool,
    tenant: TenantId,
    ids: &[ProductId],
) -> StoreResult<Vec<Product>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut conn = pool.acquire().await.map_err(other)?;
    let sql = format!(
        "SELECT {} FROM products p WHERE p.tenant_id = $1 AND p.id IN ({})",
        sql::PRODUCT_COLUMNS,
        sql::numbered(2, ids.len())
    );
    let mut q = sqlx::query_as::<_, ProductRow>(&sql).bind(DbId(tenant.0));
    for id in ids {
        q = q.bind(DbId(id.0));
    }
    let rows = q.fetch_all(&mut *conn).await.map_err(other)?;
    assemble(&mut conn, rows).await
}

pub(super) async fn list(
    pool: &Pool,
    tenant: TenantId,
    query: &ProductQuery,
) -> StoreResult<Page<Product>> {
    let mut sql = list_products(DbId(tenant.0), query, |sql, categories| {
        if categories.is_empty() {
            sql.push("IN (NULL)");
            return;
        }
        sql.push("IN (");
        let mut list = sql.separated(", ");
        for c in categories {
            list.push_bind(DbId(c.0));
        }
        sql.push(")");
    })?;
    let mut conn = pool.acquire().await.map_err(other)?;
    let rows = sql
        .build_query_as::<ProductRow>()
        .fetch_all(&mut *conn)
        .await
        .map_err(other)?;
    Ok(product_page(assemble(&mut conn, rows).await?, query))
}

pub(super) async fn count(pool: &Pool, tenant: TenantId) -> StoreResult<i64> {
    let mut conn = pool.acquire().await.map_err(other)?;
    product_count(&mut conn, tenant).await
}

pub(super) async fn count_low_stock_upto(
    pool: &Pool,
    tenant: TenantId,
    cap: i64,
) -> StoreResult<i64> {
    storekeep_store_sql::catalog::inventory::count_low_stock_upto(tenant, cap)
        .query_scalar()
        .fetch_one(pool)
        .await
        .map_err(other)
}

pub(super) async fn update(
    pool: &Pool,
    tenant: TenantId,
    id: ProductId,
    patch: &ProductPatch,
    ctx: &AuditContext,
) -> StoreResult<Product> {
    let mut tx = write_tx(pool).await?;
    let before = fetch(&mut tx, tenant, id).await?;
    let fields = ProductFields::patched(&before, patch);
    let (tags, categories) = (patch.tags.as_deref(), patch.categories.as_deref());
    rewrite(&mut tx, tenant, DbId(id.0), fields, tags, categories).await?;
    let after = fetch(&mut tx, tenant, id).await?;
    record(
        &mut tx,
        tenant,
        ctx,
        AuditEvent::product_updated(&before, &after),
    )
    .await?;
    tx.commit().await.map_err(other)?;
    Ok(after)
}

pub(super) async fn delete(
    pool: &Pool,
    tenant: TenantId,
    id: ProductId,
    ctx: &AuditContext,
) -> StoreResult<Product> {
    let mut tx = write_tx(pool).await?;
    let before = fetch(&mut tx, tenant, id).await?;
    storekeep_store_sql::rental_guard::product_deletable::<B>(&mut tx, tenant, id).await?;
    RUN.exec(
        &mut *tx,
        Stmt::new(sql::DELETE_PRODUCT, (DbId(tenant.0), DbId(id.0))),
    )
    .await?;
    record(&mut tx, tenant, ctx, AuditEvent::product_deleted(&before)).await?;
    tx.commit().await.map_err(other)?;
    Ok(before)
}

/// Products in id order after `after`, for export.
pub(super) async fn after(
    pool: &Pool,
    tenant: TenantId,
    after: Option<ProductId>,
    limit: i64,
) -> StoreResult<Vec<Product>> {
    let mut conn = pool.acquire().await.map_err(other)?;
    let rows: Vec<ProductRow> = RUN
        .all(
            &mut *conn,
            Stmt::new(
                sql::PRODUCTS_AFTER,
                (
                    DbId(tenant.0),
                    DbId(after.map_or(uuid::Uuid::nil(), |a| a.0)),
                    limit,
                ),
            ),
        )
        .await?;
    assemble(&mut conn, rows).await
}
