//! Deals and coupons as staff send and see them, and the public listing.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use storekeep_domain::{CategoryId, DealId, DealTarget, Money, ProductId};

/// A deal as staff send it (`POST` creates, `PUT` replaces).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DealInput {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// 1–100; exactly one of `percent_off` and `amount_off`.
    #[serde(default)]
    pub percent_off: Option<i64>,
    /// Off each unit (product and category deals) or off the order.
    #[serde(default)]
    pub amount_off: Option<Money>,
    /// `order`, `products` or `categories`.
    pub applies_to: String,
    #[serde(default)]
    pub product_ids: Vec<ProductId>,
    /// Products in subcategories count too.
    #[serde(default)]
    pub category_ids: Vec<CategoryId>,
    /// A coupon code makes the deal apply only when entered; without one
    /// it applies automatically.
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub starts_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub ends_at: Option<DateTime<Utc>>,
    /// Orders that may use the deal, in total.
    #[serde(default)]
    pub max_uses: Option<i64>,
    /// Orders one customer may use it on (coupons only: a customer is known
    /// by account, or by email for guests).
    #[serde(default)]
    pub max_uses_per_customer: Option<i64>,
    /// Units that may be sold under the deal (a flash sale's quantity).
    #[serde(default)]
    pub max_units: Option<i64>,
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

/// A deal as staff see it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DealView {
    pub id: DealId,
    pub name: String,
    pub description: String,
    pub percent_off: Option<i64>,
    pub amount_off: Option<Money>,
    pub applies_to: DealTarget,
    pub product_ids: Vec<ProductId>,
    pub category_ids: Vec<CategoryId>,
    pub code: Option<String>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub max_uses: Option<i64>,
    pub max_uses_per_customer: Option<i64>,
    pub max_units: Option<i64>,
    /// Orders that used the deal (given back when an order is cancelled).
    pub uses: i64,
    pub units_sold: i64,
    pub active: bool,
    /// `scheduled`, `live`, `sold_out`, `ended` or `inactive`, now.
    pub state: &'static str,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A deal as shoppers see it (no usage figures, no coupon codes).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PublicDeal {
    pub id: DealId,
    pub name: String,
    pub description: String,
    pub percent_off: Option<i64>,
    pub amount_off: Option<Money>,
    pub applies_to: DealTarget,
    pub product_ids: Vec<ProductId>,
    pub category_ids: Vec<CategoryId>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    /// Units left in a flash sale.
    pub units_left: Option<i64>,
}

/// The public listing.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DealListing {
    /// Live now, with room left.
    pub active: Vec<PublicDeal>,
    /// Live now and ending within the window.
    pub ending_soon: Vec<PublicDeal>,
    /// Starting within the window.
    pub starting_soon: Vec<PublicDeal>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DealInputBody {
    pub deal: DealInput,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DealBody {
    pub deal: DealView,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DealPage {
    pub items: Vec<DealView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DealsQuery {
    /// What "soon" means, in hours (1–720) [48].
    #[param(minimum = 1, maximum = 720)]
    pub soon_hours: Option<i64>,
}
