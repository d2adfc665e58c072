//! A product list's query (filters, sort order, cursor) and its page,
//! alike on both databases but for how a list of category ids is tested.

use sqlx::{Database, Encode, QueryBuilder, Type};
use storekeep_domain::{
    CategoryId, Page, PageRequest, Product, ProductCursor, ProductQuery, ProductSort,
};
use storekeep_store::{StoreError, StoreResult};

use super::sql::PRODUCT_COLUMNS;
use crate::DbId;

/// The query for `query`'s page of `tenant`'s products, one more than the
/// page holds (to tell whether another follows). `in_categories` writes
/// the backend's test of `pc.category_id` against a list (which may be
/// empty and then matches nothing).
pub fn list_products<'a, DB>(
    tenant: DbId,
    query: &'a ProductQuery,
    in_categories: impl FnOnce(&mut QueryBuilder<'a, DB>, &'a [CategoryId]),
) -> StoreResult<QueryBuilder<'a, DB>>
where
    DB: Database,
    <DB as Database>::Arguments<'a>: Default,
    DbId: Encode<'a, DB> + Type<DB>,
    &'a str: Encode<'a, DB> + Type<DB>,
    i64: Encode<'a, DB> + Type<DB>,
{
    let mut sql = QueryBuilder::new(format!(
        "SELECT {PRODUCT_COLUMNS} FROM products p WHERE p.tenant_id = "
    ));
    sql.push_bind(tenant);
    if let Some(status) = query.status {
        sql.push(" AND p.status = ").push_bind(status.as_str());
    }
    if let Some(categories) = &query.categories {
        sql.push(
            " AND EXISTS (SELECT 1 FROM product_categories pc WHERE pc.product_id = p.id \
             AND pc.category_id ",
        );
        in_categories(&mut sql, categories);
        sql.push(")");
    }
    if let Some(tag) = &query.tag {
        sql.push(
            " AND EXISTS (SELECT 1 FROM product_tags t WHERE t.product_id = p.id AND t.tag = ",
        )
        .push_bind(tag.as_str())
        .push(")");
    }
    if query.min_price.is_some() || query.max_price.is_some() {
        sql.push(" AND EXISTS (SELECT 1 FROM variants v WHERE v.product_id = p.id AND v.price >= ")
            .push_bind(query.min_price.unwrap_or(0))
            .push(" AND v.price <= ")
            .push_bind(query.max_price.unwrap_or(i64::MAX))
            .push(")");
    }
    if query.in_stock {
        sql.push(" AND p.available > 0");
    }
    let order = after(&mut sql, query)?;
    sql.push(format_args!(" ORDER BY {order} LIMIT "))
        .push_bind(i64::from(query.limit) + 1);
    Ok(sql)
}

/// Adds the cursor's condition, if any, and returns the sort order. A
/// cursor of another sort order is refused.
fn after<'a, DB>(
    sql: &mut QueryBuilder<'a, DB>,
    query: &'a ProductQuery,
) -> StoreResult<&'static str>
where
    DB: Database,
    DbId: Encode<'a, DB> + Type<DB>,
    &'a str: Encode<'a, DB> + Type<DB>,
    i64: Encode<'a, DB> + Type<DB>,
{
    // Each order ends with the id, so it is total; title_key compares
    // bytewise on both databases (COLLATE "C" on PostgreSQL).
    let (order, column, newer) = match query.sort {
        ProductSort::Newest => ("p.id DESC", "", " < "),
        ProductSort::PriceAsc => ("p.min_price, p.id", "p.min_price", " > "),
        ProductSort::PriceDesc => ("p.min_price DESC, p.id DESC", "p.min_price", " < "),
        ProductSort::Title => ("p.title_key, p.id", "p.title_key", " > "),
    };
    match (&query.after, query.sort) {
        (None, _) => {}
        (Some(ProductCursor::Newest(id)), ProductSort::Newest) => {
            sql.push(" AND p.id < ").push_bind(DbId(id.0));
        }
        (
            Some(ProductCursor::Price(amount, id)),
            ProductSort::PriceAsc | ProductSort::PriceDesc,
        ) => {
            sql.push(format_args!(" AND ({column}{newer}"))
                .push_bind(*amount)
                .push(format_args!(" OR ({column} = "))
                .push_bind(*amount)
                .push(format_args!(" AND p.id{newer}"))
                .push_bind(DbId(id.0))
                .push("))");
        }
        (Some(ProductCursor::Title(key, id)), ProductSort::Title) => {
            sql.push(format_args!(" AND ({column}{newer}"))
                .push_bind(key.as_str())
                .push(format_args!(" OR ({column} = "))
                .push_bind(key.as_str())
                .push(format_args!(" AND p.id{newer}"))
                .push_bind(DbId(id.0))
                .push("))");
        }
        _ => return Err(StoreError::InvalidCursor),
    }
    Ok(order)
}

/// The page of `query` from the rows [`list_products`] fetched.
pub fn product_page(products: Vec<Product>, query: &ProductQuery) -> Page<Product> {
    let page = PageRequest {
        limit: query.limit,
        after: None,
    };
    Page::from_rows(products, &page, |p| {
        ProductCursor::of(query.sort, p).encode(query.sort)
    })
}
