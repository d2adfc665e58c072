//! Carts as shoppers send and see them, with their prices.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use storekeep_domain::{CartId, CartItemId, CartStatus, Money, OrderId, UserId, VariantId};

/// A cart with its prices, as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CartView {
    pub id: CartId,
    /// Only in the response that created the cart: keep it, it is the only
    /// way back to a guest cart (send it as `X-Cart-Token`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    pub status: CartStatus,
    pub customer_id: Option<UserId>,
    pub coupon_code: Option<String>,
    pub shipping_method: Option<String>,
    pub country: Option<String>,
    pub region: Option<String>,
    pub order_id: Option<OrderId>,
    pub items: Vec<LineView>,
    pub subtotal: Money,
    pub discount: Money,
    pub shipping: Money,
    pub tax: Money,
    pub total: Money,
    pub deals: Vec<DealApplied>,
    /// Why something in the cart is not priced as it might seem (a coupon
    /// that does not apply, an item no longer for sale…).
    pub notes: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LineView {
    pub id: Option<CartItemId>,
    pub variant_id: VariantId,
    pub product_id: storekeep_domain::ProductId,
    pub sku: String,
    pub title: String,
    pub quantity: i64,
    pub unit_price: Money,
    pub discount: Money,
    pub total: Money,
    pub deal_id: Option<storekeep_domain::DealId>,
    /// For a rental line: the plan, what is due today, the schedule and
    /// the disclosures (its `total` is what is due today).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rental: Option<crate::wire::contracts::RentalLineView>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DealApplied {
    pub deal_id: storekeep_domain::DealId,
    pub name: String,
    pub code: Option<String>,
    pub amount: Money,
}

/// `PATCH /carts/{id}`: each field may be a value or `null` (cleared).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CartChanges {
    #[serde(default, deserialize_with = "crate::wire::double_option")]
    #[schema(value_type = Option<String>)]
    pub coupon_code: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::wire::double_option")]
    #[schema(value_type = Option<String>)]
    pub shipping_method: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::wire::double_option")]
    #[schema(value_type = Option<String>)]
    pub country: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::wire::double_option")]
    #[schema(value_type = Option<String>)]
    pub region: Option<Option<String>>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CartBody {
    pub cart: CartView,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewItem {
    pub variant_id: VariantId,
    /// 1 for a rental line.
    #[schema(minimum = 1, maximum = 1000)]
    pub quantity: i64,
    /// Rents the variant on this plan instead of buying it.
    #[serde(default)]
    pub rental_plan_id: Option<storekeep_domain::RentalPlanId>,
    /// The term in periods (the plan's own if absent).
    #[serde(default)]
    pub rental_term: Option<i32>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCartBody {
    /// Items to put in the cart at once (at most 100 lines).
    #[serde(default)]
    #[schema(max_items = 100)]
    pub items: Vec<NewItem>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuantityBody {
    #[schema(minimum = 1, maximum = 1000)]
    pub quantity: i64,
}
