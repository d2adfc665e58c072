//! Products, what this database does its own way: reading products whole
//! by a list of ids, writing their tags and filings, the summary columns
//! lists sort and filter on, and the lists themselves. Creating, reading,
//! patching and deleting one product is written once over the `Backend`
//! in `storekeep_store_sql::catalog::products`.

use std::collections::HashSet;

use sqlx::postgres::PgRow;
use sqlx::{Encode, FromRow, Type};
use storekeep_domain::{CategoryId, Page, Product, ProductId, ProductQuery, TenantId};
use storekeep_store::StoreResult;
use storekeep_store::rules::catalog as rules;
use storekeep_store_sql::DbId;
use storekeep_store_sql::catalog::{self as shared, ProductRow, list_products, product_page, sql};

use super::{Conn, Db, Pool};
use crate::error::other;
use crate::run::RUN;
use storekeep_store_sql::stmt::Stmt;

/// Rows of `sql` for the products `ids` (bound as one array, `$1`).
async fn of_products<R>(conn: &mut Conn, sql: &str, ids: &[DbId]) -> StoreResult<Vec<R>>
where
    R: for<'r> FromRow<'r, PgRow> + Send + Unpin,
{
    sqlx::query_as::<_, R>(sql)
        .bind(ids)
        .fetch_all(&mut *conn)
        .await
        .map_err(other)
}

/// Turns product rows into products, loading their variants, images and
/// categories with one query each.
pub(crate) async fn assemble(conn: &mut Conn, rows: Vec<ProductRow>) -> StoreResult<Vec<Product>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<DbId> = rows.iter().map(|r| r.id).collect();
    let list = "= ANY($1)";
    let variants = of_products(conn, &sql::variants_of(list), &ids).await?;
    let images = of_products(conn, &sql::images_of(list), &ids).await?;
    let filings = of_products(conn, &sql::filings_of(list), &ids).await?;
    shared::assemble(rows, variants, images, filings)
}

/// The `SET` list of an `UPDATE products` that recomputes each row's
/// cheapest price and available stock from its variants. For `concat!`.
macro_rules! product_summary_set {
    () => {
        "min_price = coalesce((SELECT min(v.price) FROM variants v \
         WHERE v.product_id = products.id), 0), \
         available = coalesce((SELECT sum(greatest(v.on_hand - v.reserved, 0)) FROM variants v \
         WHERE v.product_id = products.id), 0)::bigint"
    };
}
pub(crate) use product_summary_set;

/// Recomputes a product's cheapest price and available stock.
pub(crate) async fn refresh_summary<'q>(
    conn: &mut Conn,
    product: impl Encode<'q, Db> + Type<Db> + Send + 'q,
) -> StoreResult<()> {
    sqlx::query(concat!(
        "UPDATE products SET ",
        product_summary_set!(),
        " WHERE id = $1"
    ))
    .bind(product)
    .execute(&mut *conn)
    .await
    .map_err(other)?;
    Ok(())
}

pub(crate) async fn set_tags(
    conn: &mut Conn,
    tenant: TenantId,
    product: DbId,
    tags: &[String],
) -> StoreResult<()> {
    RUN.exec(&mut *conn, Stmt::new(sql::DELETE_PRODUCT_TAGS, (product,)))
        .await?;
    if !tags.is_empty() {
        sqlx::query(
            "INSERT INTO product_tags (product_id, tenant_id, tag) \
             SELECT $1, $2, unnest($3::text[]) ON CONFLICT DO NOTHING",
        )
        .bind(product)
        .bind(DbId(tenant.0))
        .bind(tags)
        .execute(&mut *conn)
        .await
        .map_err(other)?;
    }
    Ok(())
}

/// Files the product under `categories`, in that order (a repeat keeps its
/// first position). The categories are checked and locked `FOR KEY SHARE`
/// before the old filing is touched, so a concurrent category delete waits
/// for this transaction instead of deadlocking with it.
pub(crate) async fn set_categories(
    conn: &mut Conn,
    tenant: TenantId,
    product: DbId,
    categories: &[CategoryId],
) -> StoreResult<()> {
    let ids: Vec<DbId> = categories.iter().map(|c| DbId(c.0)).collect();
    if !ids.is_empty() {
        let found: HashSet<DbId> = sqlx::query_scalar(
            "SELECT id FROM categories WHERE tenant_id = $1 AND id = ANY($2) FOR KEY SHARE",
        )
        .bind(DbId(tenant.0))
        .bind(&ids)
        .fetch_all(&mut *conn)
        .await
        .map_err(other)?
        .into_iter()
        .collect();
        for id in &ids {
            rules::known_category(found.get(id))?;
        }
    }
    RUN.exec(
        &mut *conn,
        Stmt::new(sql::DELETE_PRODUCT_CATEGORIES, (product,)),
    )
    .await?;
    if !ids.is_empty() {
        sqlx::query(
            "INSERT INTO product_categories (product_id, category_id, position) \
             SELECT $1, c.id, c.n - 1 FROM unnest($2::uuid[]) WITH ORDINALITY AS c (id, n) \
             ORDER BY c.n ON CONFLICT DO NOTHING",
        )
        .bind(product)
        .bind(&ids)
        .execute(&mut *conn)
        .await
        .map_err(other)?;
    }
    Ok(())
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
        "SELECT {} FROM products p WHERE p.tenant_id = $1 AND p.id = ANY($2)",
        sql::PRODUCT_COLUMNS,
    );
    let ids: Vec<DbId> = ids.iter().map(|id| DbId(id.0)).collect();
    let rows = sqlx::query_as::<_, ProductRow>(&sql)
        .bind(DbId(tenant.0))
        .bind(ids)
        .fetch_all(&mut *conn)
        .await
        .map_err(other)?;
    assemble(&mut conn, rows).await
}

pub(super) async fn list(
    pool: &Pool,
    tenant: TenantId,
    query: &ProductQuery,
) -> StoreResult<Page<Product>> {
    let mut sql = list_products(DbId(tenant.0), query, |sql, categories| {
        // An empty list matches nothing, as on SQLite.
        let ids: Vec<DbId> = categories.iter().map(|c| DbId(c.0)).collect();
        sql.push("= ANY(").push_bind(ids).push(")");
    })?;
    let mut conn = pool.acquire().await.map_err(other)?;
    let rows = sql
        .build_query_as::<ProductRow>()
        .fetch_all(&mut *conn)
        .await
        .map_err(other)?;
    Ok(product_page(assemble(&mut conn, rows).await?, query))
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
