//! Carts and the variants pricing reads.

use sqlx::SqliteConnection;
use storekeep_domain::{
    Cart, CartId, CartItemId, CartPatch, CartStatus, NewCart, SaleVariant, TenantId, VariantId,
};
use storekeep_store::rules::commerce::carts as rules;
use storekeep_store::{StoreError, StoreResult, now};
use storekeep_store_sql::commerce::sql;
use storekeep_store_sql::commerce::{CART_COLUMNS, CartItemRow, CartRow, SaleVariantRow};

use crate::error::other;
use crate::{SqliteStore, write_tx};

pub(crate) async fn fetch_cart(
    conn: &mut SqliteConnection,
    tenant: TenantId,
    id: CartId,
) -> StoreResult<Cart> {
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
        "SELECT id, variant_id, quantity FROM cart_items WHERE cart_id = $1 ORDER BY id",
    )
    .bind(row.id)
    .fetch_all(&mut *conn)
    .await
    .map_err(other)?;
    row.into_cart(items)
}

/// Refuses changes to a cart that is missing or already an order (the
/// write transaction holds the lock).
async fn lock_open_cart(
    conn: &mut SqliteConnection,
    tenant: TenantId,
    id: CartId,
) -> StoreResult<()> {
    let status: Option<String> =
        sqlx::query_scalar("SELECT status FROM carts WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.to_string())
            .bind(id.to_string())
            .fetch_optional(&mut *conn)
            .await
            .map_err(other)?;
    rules::require_open(status.as_deref())
}

/// Marks the cart changed and reads it back; the caller commits.
async fn touch_cart(
    conn: &mut SqliteConnection,
    tenant: TenantId,
    id: CartId,
) -> StoreResult<Cart> {
    sqlx::query(sql::TOUCH_CART)
        .bind(now())
        .bind(id.to_string())
        .execute(&mut *conn)
        .await
        .map_err(other)?;
    fetch_cart(conn, tenant, id).await
}

pub(crate) async fn create_cart(
    s: &SqliteStore,
    tenant: TenantId,
    cart: &NewCart,
) -> StoreResult<Cart> {
    let at = now();
    sqlx::query(sql::INSERT_CART)
        .bind(cart.id.to_string())
        .bind(tenant.to_string())
        .bind(cart.customer_id.map(|c| c.to_string()))
        .bind(&cart.token_hash)
        .bind(at)
        .execute(&s.pool)
        .await
        .map_err(other)?;
    Ok(Cart {
        id: cart.id,
        customer_id: cart.customer_id,
        token_hash: cart.token_hash.clone(),
        status: CartStatus::Open,
        coupon_code: None,
        shipping_method: None,
        country: None,
        region: None,
        order_id: None,
        items: Vec::new(),
        created_at: at,
        updated_at: at,
    })
}

pub(crate) async fn cart(s: &SqliteStore, tenant: TenantId, id: CartId) -> StoreResult<Cart> {
    let mut conn = s.pool.acquire().await.map_err(other)?;
    fetch_cart(&mut conn, tenant, id).await
}

pub(crate) async fn update_cart(
    s: &SqliteStore,
    tenant: TenantId,
    id: CartId,
    patch: &CartPatch,
) -> StoreResult<Cart> {
    let mut tx = write_tx(&s.pool).await?;
    lock_open_cart(&mut tx, tenant, id).await?;
    let mut cart = fetch_cart(&mut tx, tenant, id).await?;
    rules::apply_patch(&mut cart, patch);
    sqlx::query(sql::UPDATE_CART)
        .bind(&cart.coupon_code)
        .bind(&cart.shipping_method)
        .bind(&cart.country)
        .bind(&cart.region)
        .bind(now())
        .bind(id.to_string())
        .execute(&mut *tx)
        .await
        .map_err(other)?;
    let cart = fetch_cart(&mut tx, tenant, id).await?;
    tx.commit().await.map_err(other)?;
    Ok(cart)
}

pub(crate) async fn add_cart_item(
    s: &SqliteStore,
    tenant: TenantId,
    cart: CartId,
    variant: VariantId,
    quantity: i64,
) -> StoreResult<Cart> {
    rules::check_line_quantity(quantity)?;
    let mut tx = write_tx(&s.pool).await?;
    lock_open_cart(&mut tx, tenant, cart).await?;
    let known: Option<i64> =
        sqlx::query_scalar("SELECT 1 FROM variants WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.to_string())
            .bind(variant.to_string())
            .fetch_optional(&mut *tx)
            .await
            .map_err(other)?;
    if known.is_none() {
        return Err(StoreError::UnknownReference {
            field: "variant_id",
        });
    }
    let existing: Option<CartItemRow> = sqlx::query_as(sql::CART_LINE_OF)
        .bind(cart.to_string())
        .bind(variant.to_string())
        .fetch_optional(&mut *tx)
        .await
        .map_err(other)?;
    match existing {
        Some(item) => {
            sqlx::query(sql::SET_LINE_UNITS)
                .bind(rules::add_to_line(item.quantity, quantity)?)
                .bind(item.id)
                .execute(&mut *tx)
                .await
                .map_err(other)?;
        }
        None => {
            let lines: i64 = sqlx::query_scalar(sql::COUNT_CART_LINES)
                .bind(cart.to_string())
                .fetch_one(&mut *tx)
                .await
                .map_err(other)?;
            rules::check_room_for_line(lines)?;
            sqlx::query(sql::INSERT_CART_LINE)
                .bind(CartItemId::new().to_string())
                .bind(cart.to_string())
                .bind(variant.to_string())
                .bind(quantity)
                .bind(now())
                .execute(&mut *tx)
                .await
                .map_err(other)?;
        }
    }
    let cart = touch_cart(&mut tx, tenant, cart).await?;
    tx.commit().await.map_err(other)?;
    Ok(cart)
}

pub(crate) async fn set_cart_item(
    s: &SqliteStore,
    tenant: TenantId,
    cart: CartId,
    item: CartItemId,
    quantity: i64,
) -> StoreResult<Cart> {
    rules::check_line_quantity(quantity)?;
    let mut tx = write_tx(&s.pool).await?;
    lock_open_cart(&mut tx, tenant, cart).await?;
    let set = sqlx::query(sql::SET_CART_LINE_UNITS)
        .bind(quantity)
        .bind(item.to_string())
        .bind(cart.to_string())
        .execute(&mut *tx)
        .await
        .map_err(other)?;
    if set.rows_affected() == 0 {
        return Err(StoreError::NotFound("cart item"));
    }
    let cart = touch_cart(&mut tx, tenant, cart).await?;
    tx.commit().await.map_err(other)?;
    Ok(cart)
}

pub(crate) async fn remove_cart_item(
    s: &SqliteStore,
    tenant: TenantId,
    cart: CartId,
    item: CartItemId,
) -> StoreResult<Cart> {
    let mut tx = write_tx(&s.pool).await?;
    lock_open_cart(&mut tx, tenant, cart).await?;
    let removed = sqlx::query(sql::DELETE_CART_LINE)
        .bind(item.to_string())
        .bind(cart.to_string())
        .execute(&mut *tx)
        .await
        .map_err(other)?;
    if removed.rows_affected() == 0 {
        return Err(StoreError::NotFound("cart item"));
    }
    let cart = touch_cart(&mut tx, tenant, cart).await?;
    tx.commit().await.map_err(other)?;
    Ok(cart)
}

pub(crate) async fn sale_variants(
    s: &SqliteStore,
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
