//! Carts, their lines, and the variants pricing reads; creating, reading
//! and patching a cart, its lock and its touch, written once over the
//! [`Backend`] (each database reads a cart with its lines its own way,
//! [`Backend::fetch_cart`]).

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use storekeep_domain::{
    Cart, CartId, CartItem, CartItemId, CartStatus, CategoryId, OrderId, ProductId, ProductStatus,
    SaleVariant, UserId, VariantId,
};
use storekeep_store::{StoreError, StoreResult};

use sqlx::Pool;
use storekeep_domain::{CartPatch, NewCart, TenantId};
use storekeep_store::now;
use storekeep_store::rules::commerce::carts as rules;

use super::{corrupt, sql};
use crate::DbId;
use crate::backend::{Backend, Conn};
use crate::stmt::Stmt;

pub const CART_COLUMNS: &str = "id, customer_id, token_hash, status, coupon_code, \
     shipping_method, country, region, order_id, created_at, updated_at";

#[derive(sqlx::FromRow)]
pub struct CartRow {
    pub id: DbId,
    pub customer_id: Option<DbId>,
    pub token_hash: String,
    pub status: String,
    pub coupon_code: Option<String>,
    pub shipping_method: Option<String>,
    pub country: Option<String>,
    pub region: Option<String>,
    pub order_id: Option<DbId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `SELECT id, variant_id, quantity FROM cart_items …`
#[derive(sqlx::FromRow, serde::Deserialize)]
pub struct CartItemRow {
    pub id: DbId,
    pub variant_id: DbId,
    pub quantity: i64,
    /// Read with the cart's lines (each backend's cart read), not by the
    /// line look-ups.
    #[sqlx(default)]
    pub rental_plan_id: Option<DbId>,
    #[sqlx(default)]
    pub rental_term: Option<i32>,
}

impl CartRow {
    pub fn into_cart(self, items: Vec<CartItemRow>) -> StoreResult<Cart> {
        Ok(Cart {
            id: CartId(self.id.0),
            customer_id: self.customer_id.map(|c| UserId(c.0)),
            token_hash: self.token_hash,
            status: CartStatus::parse(&self.status)
                .ok_or_else(|| corrupt("cart status", &self.status))?,
            coupon_code: self.coupon_code,
            shipping_method: self.shipping_method,
            country: self.country,
            region: self.region,
            order_id: self.order_id.map(|o| OrderId(o.0)),
            items: items
                .into_iter()
                .map(|i| CartItem {
                    id: CartItemId(i.id.0),
                    variant_id: VariantId(i.variant_id.0),
                    quantity: i.quantity,
                    rental_plan_id: i
                        .rental_plan_id
                        .map(|p| storekeep_domain::RentalPlanId(p.0)),
                    rental_term: i.rental_term,
                })
                .collect(),
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// A variant with its product's title and status, and the product's
/// categories as a JSON array of ids.
#[derive(sqlx::FromRow, serde::Deserialize)]
pub struct SaleVariantRow {
    pub variant_id: DbId,
    pub product_id: DbId,
    pub sku: String,
    pub variant_title: String,
    pub product_title: String,
    pub status: String,
    pub price: i64,
    pub categories: Json<Vec<CategoryId>>,
}

impl TryFrom<SaleVariantRow> for SaleVariant {
    type Error = StoreError;
    fn try_from(r: SaleVariantRow) -> StoreResult<Self> {
        Ok(SaleVariant {
            variant_id: VariantId(r.variant_id.0),
            product_id: ProductId(r.product_id.0),
            sku: r.sku,
            variant_title: r.variant_title,
            product_title: r.product_title,
            status: ProductStatus::parse(&r.status)
                .map_err(|_| corrupt("product status", &r.status))?,
            price: r.price,
            categories: r.categories.0,
        })
    }
}

/// Refuses changes to a cart that is missing or already an order; on
/// PostgreSQL it locks the cart's row first (before its lines, so a
/// checkout and a line change queue), where SQLite's write transaction
/// already holds the database.
pub async fn lock_open_cart<B: Backend>(
    conn: &mut Conn<B::Db>,
    tenant: TenantId,
    id: CartId,
) -> StoreResult<()> {
    let by_id = B::read_for_update(
        "SELECT status FROM carts WHERE tenant_id = $1 AND id = $2",
        "SELECT status FROM carts WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
    );
    let status: Option<String> =
        B::scalar_optional(conn, Stmt::new(by_id, (DbId(tenant.0), DbId(id.0)))).await?;
    rules::require_open(status.as_deref())
}

/// Marks the cart changed and reads it back; the caller commits.
pub async fn touch_cart<B: Backend>(
    conn: &mut Conn<B::Db>,
    tenant: TenantId,
    id: CartId,
) -> StoreResult<Cart> {
    B::exec(conn, Stmt::new(sql::TOUCH_CART, (now(), DbId(id.0)))).await?;
    B::fetch_cart(conn, tenant, id).await
}

pub async fn create_cart<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    cart: &NewCart,
) -> StoreResult<Cart> {
    let at = now();
    let row = (
        DbId(cart.id.0),
        DbId(tenant.0),
        cart.customer_id.map(|c| DbId(c.0)),
        cart.token_hash.as_str(),
        at,
    );
    B::exec(&mut *B::conn(pool).await?, Stmt::new(sql::INSERT_CART, row)).await?;
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

pub async fn cart<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    id: CartId,
) -> StoreResult<Cart> {
    B::fetch_cart(&mut *B::conn(pool).await?, tenant, id).await
}

pub async fn update_cart<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    id: CartId,
    patch: &CartPatch,
) -> StoreResult<Cart> {
    let mut tx = B::write_tx(pool).await?;
    lock_open_cart::<B>(&mut tx, tenant, id).await?;
    let mut cart = B::fetch_cart(&mut tx, tenant, id).await?;
    rules::apply_patch(&mut cart, patch);
    let fields = (
        cart.coupon_code.as_deref(),
        cart.shipping_method.as_deref(),
        cart.country.as_deref(),
        cart.region.as_deref(),
        now(),
        DbId(id.0),
    );
    B::exec(&mut tx, Stmt::new(sql::UPDATE_CART, fields)).await?;
    let cart = B::fetch_cart(&mut tx, tenant, id).await?;
    B::commit(tx).await?;
    Ok(cart)
}
