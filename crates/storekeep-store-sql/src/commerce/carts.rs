//! Carts, their lines, and the variants pricing reads.

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use storekeep_domain::{
    Cart, CartId, CartItem, CartItemId, CartStatus, CategoryId, OrderId, ProductId, ProductStatus,
    SaleVariant, UserId, VariantId,
};
use storekeep_store::{StoreError, StoreResult};

use super::corrupt;
use crate::DbId;

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
