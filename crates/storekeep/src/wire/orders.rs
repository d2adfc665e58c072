//! Orders as shoppers and staff see them, checkout and refund requests,
//! order and event list filters.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use storekeep_domain::{
    Money, OrderId, OrderLineId, OrderStatus, OrderTransition, OutboxEvent, PaymentId,
    PaymentStatus, RefundId, RestockLine, UserId, VariantId,
};

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckoutRequest {
    pub email: String,
    pub shipping_address: Address,
    /// The code of one of the shop's shipping methods.
    pub shipping_method: String,
    /// One of the shop's payment providers (`GET /api/v1/store` lists
    /// them): `manual`, or `test` where the server offers it.
    pub payment_provider: String,
    /// `test` provider only: what the simulated processor answers,
    /// `confirm` (default) or `decline`.
    #[serde(default)]
    pub test_outcome: Option<String>,
}

/// A postal address, sealed at rest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Address {
    pub name: String,
    pub line1: String,
    #[serde(default)]
    pub line2: Option<String>,
    pub city: String,
    #[serde(default)]
    pub region: Option<String>,
    pub postal_code: String,
    #[schema(example = "US")]
    pub country: String,
    #[serde(default)]
    pub phone: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OrderLineView {
    pub id: OrderLineId,
    pub variant_id: VariantId,
    pub product_id: storekeep_domain::ProductId,
    pub sku: String,
    pub title: String,
    pub quantity: i64,
    pub unit_price: Money,
    pub discount: Money,
    pub total: Money,
    pub deal_id: Option<storekeep_domain::DealId>,
    /// Units put back into stock by refunds.
    pub restocked: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PaymentView {
    pub id: PaymentId,
    pub provider: String,
    pub reference: String,
    pub status: PaymentStatus,
    pub amount: Money,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RefundView {
    pub id: RefundId,
    pub amount: Money,
    pub reason: Option<String>,
    pub restock: Vec<RestockLine>,
    pub actor: String,
    pub created_at: DateTime<Utc>,
}

/// An order as the API shows it, with its history.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OrderView {
    pub id: OrderId,
    pub status: OrderStatus,
    pub customer_id: Option<UserId>,
    pub email: String,
    pub shipping_address: Address,
    pub shipping_method: String,
    pub payment_provider: String,
    pub lines: Vec<OrderLineView>,
    pub subtotal: Money,
    pub discount: Money,
    pub shipping: Money,
    pub tax: Money,
    pub total: Money,
    pub refunded: Money,
    /// When an unpaid order is cancelled and its stock released.
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub transitions: Vec<OrderTransition>,
    pub payments: Vec<PaymentView>,
    pub refunds: Vec<RefundView>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundRequest {
    pub amount: Money,
    #[serde(default)]
    pub reason: Option<String>,
    /// Units to put back into stock, per order line.
    #[serde(default)]
    pub restock: Vec<RestockLine>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OrderBody {
    pub order: OrderView,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OrderPage {
    pub items: Vec<OrderView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PayBody {
    pub payment_provider: String,
    /// `test` provider only: `confirm` (default) or `decline`.
    #[serde(default)]
    pub test_outcome: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OrderQuery {
    #[param(value_type = Option<OrderStatus>)]
    pub status: Option<String>,
    /// A customer's account id.
    #[param(value_type = Option<UserId>)]
    pub customer_id: Option<String>,
    /// Exact email address (matched by blind index; emails are encrypted).
    pub email: Option<String>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
    /// Items per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    pub after: Option<String>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EventPage {
    pub items: Vec<OutboxEvent>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventQuery {
    /// Only this topic, e.g. `order.paid`.
    pub topic: Option<String>,
    /// Items per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    pub after: Option<String>,
}

/// A page of the shop's open unmatched payments.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UnmatchedPage {
    pub items: Vec<storekeep_domain::UnmatchedPayment>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    pub after: Option<String>,
}

/// What staff did about an unmatched payment.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveRequest {
    /// For example "refunded at the processor", at most 500 characters.
    pub resolution: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UnmatchedBody {
    pub payment: storekeep_domain::UnmatchedPayment,
}
