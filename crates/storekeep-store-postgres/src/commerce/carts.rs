//! Carts and the variants pricing reads.

use crate::Conn;
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use storekeep_domain::{Cart, CartId, CartItemId, Deal, SaleVariant, TenantId, VariantId};
use storekeep_store::CartToPrice;
use storekeep_store::rules::commerce::carts as rules;
use storekeep_store::{StoreError, StoreResult, now};
use storekeep_store_sql::DbId;
use storekeep_store_sql::commerce::sql;
use storekeep_store_sql::commerce::{
    CART_COLUMNS, CartItemRow, CartRow, DEAL_COLUMNS, DealRow, SaleVariantRow,
};

use super::json_rows;
use crate::backend::PgBackend as B;
use crate::commerce::deals::deals_live;
use crate::error::other;
use crate::run::RUN;
use crate::{Store, write_tx};
use storekeep_store_sql::commerce::carts::{lock_open_cart, touch_cart};
use storekeep_store_sql::stmt::Stmt;
use uuid::Uuid;

/// The cart `cart` of shop `tenant` (SQL expressions) with its lines as
/// a JSON array, in the order they were added; `{extra}` adds columns.
fn cart_with(tenant: &str, cart: &str, extra: &str) -> String {
    let items = json_rows(
        "SELECT id, variant_id, quantity, rental_plan_id, rental_term, created_at \
         FROM cart_items WHERE cart_id = c.id",
        "x.created_at, x.id",
    );
    format!(
        "SELECT {CART_COLUMNS}, {items} AS items{extra} \
         FROM carts c WHERE c.tenant_id = {tenant} AND c.id = {cart}"
    )
}

/// A row of [`cart_with`]: one statement, so one snapshot and one round
/// trip.
#[derive(sqlx::FromRow)]
struct CartWithItems {
    #[sqlx(flatten)]
    cart: CartRow,
    items: Json<Vec<CartItemRow>>,
}

pub(crate) async fn fetch_cart(conn: &mut Conn, tenant: TenantId, id: CartId) -> StoreResult<Cart> {
    static SQL: LazyLock<String> = LazyLock::new(|| cart_with("$1", "$2", ""));
    let row: Option<CartWithItems> = sqlx::query_as(&SQL)
        .bind(tenant.0)
        .bind(id.0)
        .fetch_optional(&mut *conn)
        .await
        .map_err(other)?;
    let row = row.ok_or(StoreError::NotFound("cart"))?;
    row.cart.into_cart(row.items.0)
}

/// A row of [`to_price`]'s statement but its place in the batch (`n`,
/// from 1, read apart so that a row that does not decode fails only its
/// own read).
#[derive(sqlx::FromRow)]
pub(super) struct CartToPriceRow {
    #[sqlx(flatten)]
    cart: CartWithItems,
    variants: Json<Vec<SaleVariantRow>>,
    deals: Json<Vec<DealRow>>,
}

impl CartToPriceRow {
    pub(super) fn into_read(self) -> StoreResult<CartToPrice> {
        Ok(CartToPrice {
            cart: self.cart.cart.into_cart(self.cart.items.0)?,
            variants: self
                .variants
                .0
                .into_iter()
                .map(SaleVariant::try_from)
                .collect::<StoreResult<_>>()?,
            deals: self
                .deals
                .0
                .into_iter()
                .map(Deal::try_from)
                .collect::<StoreResult<_>>()?,
        })
    }
}

/// Carts to price, each with its lines' variants and the deals live at
/// its time, in one statement: `$1` the shops, `$2` the carts and `$3`
/// the times, one element per read; each row's `n` is its read's place
/// (from 1). A shop's missing cart has no row.
///
/// Each cart is found by its primary key (a `LATERAL` with `LIMIT 1`,
/// which the planner cannot turn into a join that reads the table), and
/// each variant likewise from its cart line: as `v.id IN (SELECT …)`,
/// `= ANY` or a plain join, the generic plan read every variant of the
/// shop by its tenant and probed the cart for each.
pub(super) async fn to_price(
    conn: &mut Conn,
    tenants: &[Uuid],
    carts: &[Uuid],
    at: &[DateTime<Utc>],
) -> StoreResult<Vec<sqlx::postgres::PgRow>> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        let (tenant, cart, at) = ("k.k_tenant", "k.k_cart", "k.k_at");
        let variants = json_rows(
            &format!(
                "SELECT s.* FROM cart_items ci CROSS JOIN LATERAL \
                 (SELECT {SALE_VARIANT_COLUMNS} FROM variants v \
                 JOIN products p ON p.id = v.product_id \
                 WHERE v.id = ci.variant_id AND v.tenant_id = {tenant} LIMIT 1) s \
                 WHERE ci.cart_id = c.id"
            ),
            "",
        );
        let deals = json_rows(
            &format!(
                "SELECT {DEAL_COLUMNS} FROM deals WHERE {}",
                deals_live(tenant, at, at)
            ),
            "x.id",
        );
        let one = cart_with(
            tenant,
            cart,
            &format!(", {variants} AS variants, {deals} AS deals"),
        );
        format!(
            "SELECT k.n, r.* \
             FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[]) WITH ORDINALITY \
             AS k (k_tenant, k_cart, k_at, n) \
             CROSS JOIN LATERAL ({one} LIMIT 1) r"
        )
    });
    sqlx::query(&SQL)
        .bind(tenants)
        .bind(carts)
        .bind(at)
        .fetch_all(&mut *conn)
        .await
        .map_err(other)
}

/// The cart, its lines' variants and the deals live at `at`, read with
/// whatever other checkouts of the node are reading at the same time
/// (`commerce/to_price_reads.rs`).
pub(crate) async fn cart_to_price(
    s: &Store,
    tenant: TenantId,
    id: CartId,
    at: DateTime<Utc>,
) -> StoreResult<CartToPrice> {
    s.cart_reads.read(tenant, id, at).await
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
    // Held until commit, so the variant cannot be deleted before the
    // line referencing it is written.
    let known: Option<DbId> = sqlx::query_scalar(
        "SELECT id FROM variants WHERE tenant_id = $1 AND id = $2 FOR KEY SHARE",
    )
    .bind(tenant.0)
    .bind(variant.0)
    .fetch_optional(&mut *tx)
    .await
    .map_err(other)?;
    if known.is_none() {
        return Err(StoreError::UnknownReference {
            field: "variant_id",
        });
    }
    let existing: Option<CartItemRow> = RUN
        .optional(&mut *tx, Stmt::new(sql::CART_LINE_OF, (cart.0, variant.0)))
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
                .scalar(&mut *tx, Stmt::new(sql::COUNT_CART_LINES, (cart.0,)))
                .await?;
            rules::check_room_for_line(lines)?;
            RUN.exec(
                &mut *tx,
                Stmt::new(
                    sql::INSERT_CART_LINE,
                    (CartItemId::new().0, cart.0, variant.0, quantity, now()),
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
            Stmt::new(sql::SET_CART_LINE_UNITS, (quantity, item.0, cart.0)),
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
        .exec(&mut *tx, Stmt::new(sql::DELETE_CART_LINE, (item.0, cart.0)))
        .await?;
    if removed == 0 {
        return Err(StoreError::NotFound("cart item"));
    }
    let cart = touch_cart::<B>(&mut tx, tenant, cart).await?;
    tx.commit().await.map_err(other)?;
    Ok(cart)
}

/// The sale view of a variant `v` and its product `p`.
const SALE_VARIANT_COLUMNS: &str = "v.id AS variant_id, v.product_id, v.sku, \
     v.title AS variant_title, p.title AS product_title, p.status, v.price, \
     coalesce((SELECT json_agg(pc.category_id) FROM product_categories pc \
               WHERE pc.product_id = p.id), '[]') AS categories";

pub(crate) async fn sale_variants(
    s: &Store,
    tenant: TenantId,
    variants: &[VariantId],
) -> StoreResult<Vec<SaleVariant>> {
    if variants.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<DbId> = variants.iter().map(|v| DbId(v.0)).collect();
    let rows: Vec<SaleVariantRow> = sqlx::query_as(&format!(
        "SELECT {SALE_VARIANT_COLUMNS} FROM variants v JOIN products p ON p.id = v.product_id \
         WHERE v.tenant_id = $1 AND v.id = ANY($2)"
    ))
    .bind(tenant.0)
    .bind(&ids)
    .fetch_all(&s.pool)
    .await
    .map_err(other)?;
    rows.into_iter().map(SaleVariant::try_from).collect()
}
