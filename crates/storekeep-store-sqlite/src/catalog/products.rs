//! Products, what this database does its own way: reading products whole
//! by a list of ids, writing their tags and filings, the summary columns
//! lists sort and filter on, and the lists themselves. Creating, reading,
//! patching and deleting one product is written once over the `Backend`
//! in `storekeep_store_sql::catalog::products`.

use sqlx::sqlite::SqliteRow;
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
pub(crate) async fn assemble(conn: &mut Conn, rows: Vec<ProductRow>) -> StoreResult<Vec<Product>> {
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

pub(crate) async fn set_tags(
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
pub(crate) async fn set_categories(
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
