//! Carts and the variants pricing reads.

use crate::Conn;
use storekeep_domain::{Cart, CartId, CartItemId, SaleVariant, TenantId, VariantId};
use storekeep_store::rules::commerce::carts as rules;
use storekeep_store::{StoreError, StoreResult, now};
use storekeep_store_sql::commerce::sql;
use storekeep_store_sql::commerce::{CART_COLUMNS, CartItemRow, CartRow, SaleVariantRow};

use crate::backend::SqliteBackend as B;
use crate::error::other;
use crate::run::RUN;
use crate::{Store, write_tx};
use storekeep_store_sql::commerce::carts::{lock_open_cart, touch_cart};
use storekeep_store_sql::stmt::Stmt;

pub(crate) async fn fetch_cart(conn: &mut Conn, tenant: TenantId, id: CartId) -> StoreResult<Cart> {
    let row: Option<CartRow> = sqlx::query_as(&format!(
        "SELECT {CART_COLUMNS} FROM carts WHERE tenant_id = $1 AND id = $2"
    ))
    .bind(tenant.to_string())
    .bind(id.to_string())
    .fetch_optional(&mut *conn)
    .await
    .map_err(other)?;
    let row = row.ok_or(StoreError::NotFound("cart"))?;
    let items: Vec<CartItemRow> = sqlx::query_as(
        "SELECT id, variant_id, quantity, rental_plan_id, rental_term FROM cart_items \
         WHERE cart_id = $1 ORDER BY id",
    )
    .bind(row.id)
    .fetch_all(&mut *conn)
    .await
    .map_err(other)?;
    row.into_cart(items)
}

pub(crate) async fn add_cart_item(
    s: &Store,
    tenant: TenantId,
    cart: CartId,
    variant: VariantId,
    quantity: i64,
) -> StoreResult<Cart> {
    rules::check_line_quantity(quantity)?;
    let mut tx = write_tx(&s.pool).await?;
    lock_open_cart::<B>(&mut tx, tenant, cart).await?;
    let known: Option<i64> = RUN
        .scalar_optional(
            &mut *tx,
            Stmt::new(
                "SELECT 1 FROM variants WHERE tenant_id = $1 AND id = $2",
                (tenant.to_string(), variant.to_string()),
            ),
        )
        .await?;
    if known.is_none() {
        return Err(StoreError::UnknownReference {
            field: "variant_id",
        });
    }
    let existing: Option<CartItemRow> = RUN
        .optional(
            &mut *tx,
            Stmt::new(sql::CART_LINE_OF, (cart.to_string(), variant.to_string())),
        )
        .await?;
    match existing {
        Some(item) => {
            RUN.exec(
                &mut *tx,
                Stmt::new(
                    sql::SET_LINE_UNITS,
                    (rules::add_to_line(item.quantity, quantity)?, item.id),
                ),
            )
            .await?;
        }
        None => {
            let lines: i64 = RUN
                .scalar(
                    &mut *tx,
                    Stmt::new(sql::COUNT_CART_LINES, (cart.to_string(),)),
                )
                .await?;
            rules::check_room_for_line(lines)?;
            RUN.exec(
                &mut *tx,
                Stmt::new(
                    sql::INSERT_CART_LINE,
                    (
                        CartItemId::new().to_string(),
                        cart.to_string(),
                        variant.to_string(),
                        quantity,
                        now(),
                    ),
                ),
            )
            .await?;
        }
    }
    let cart = touch_cart::<B>(&mut tx, tenant, cart).await?;
    tx.commit().await.map_err(other)?;
    Ok(cart)
}

pub(crate) async fn set_cart_item(
    s: &Store,
    tenant: TenantId,
    cart: CartId,
    item: CartItemId,
    quantity: i64,
) -> StoreResult<Cart> {
    rules::check_line_quantity(quantity)?;
    let mut tx = write_tx(&s.pool).await?;
    lock_open_cart::<B>(&mut tx, tenant, cart).await?;
    let set = RUN
        .exec(
            &mut *tx,
            Stmt::new(
                sql::SET_CART_LINE_UNITS,
                (quantity, item.to_string(), cart.to_string()),
            ),
        )
        .await?;
    if set == 0 {
        return Err(StoreError::NotFound("cart item"));
    }
    let cart = touch_cart::<B>(&mut tx, tenant, cart).await?;
    tx.commit().await.map_err(other)?;
    Ok(cart)
}

pub(crate) async fn remove_cart_item(
    s: &Store,
    tenant: TenantId,
    cart: CartId,
    item: CartItemId,
) -> StoreResult<Cart> {
    let mut tx = write_tx(&s.pool).await?;
    lock_open_cart::<B>(&mut tx, tenant, cart).await?;
    let removed = RUN
        .exec(
            &mut *tx,
            Stmt::new(sql::DELETE_CART_LINE, (item.to_string(), cart.to_string())),
        )
        .await?;
    if removed == 0 {
        return Err(StoreError::NotFound("cart item"));
    }
    let cart = touch_cart::<B>(&mut tx, tenant, cart).await?;
    tx.commit().await.map_err(other)?;
    Ok(cart)
}

pub(crate) async fn sale_variants(
    s: &Store,
    tenant: TenantId,
    variants: &[VariantId],
) -> StoreResult<Vec<SaleVariant>> {
    if variants.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT v.id AS variant_id, v.product_id, v.sku, v.title AS variant_title, \
         p.title AS product_title, p.status, v.price, \
         (SELECT json_group_array(pc.category_id) FROM product_categories pc \
          WHERE pc.product_id = p.id) AS categories \
         FROM variants v JOIN products p ON p.id = v.product_id \
         WHERE v.tenant_id = $1 AND v.id IN ({})",
        (2..variants.len() + 2)
            .map(|n| format!("${n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut q = sqlx::query_as::<_, SaleVariantRow>(&sql).bind(tenant.to_string());
    for v in variants {
        q = q.bind(v.to_string());
    }
    let rows = q.fetch_all(&s.pool).await.map_err(other)?;
    rows.into_iter().map(SaleVariant::try_from).collect()
}

/// Three reads: SQLite's cost no round trip.
pub(crate) async fn cart_to_price(
    s: &Store,
    tenant: TenantId,
    id: CartId,
    at: chrono::DateTime<chrono::Utc>,
) -> StoreResult<storekeep_store::CartToPrice> {
    let cart = storekeep_store_sql::commerce::carts::cart::<B>(&s.pool, tenant, id).await?;
    let ids: Vec<VariantId> = cart.items.iter().map(|i| i.variant_id).collect();
    let variants = sale_variants(s, tenant, &ids).await?;
    let deals = super::deals::deals_between(s, tenant, at, at).await?;
    Ok(storekeep_store::CartToPrice {
        cart,
        variants,
        deals,
    })
}
