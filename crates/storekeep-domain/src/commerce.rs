//! Carts, orders, payments and deals, and the one pricing engine every
//! total comes from ([`price`]).
//!
//! Amounts are integer minor units of the shop's currency. Discounts,
//! shipping and tax are computed here, never in SQL, so a cart and the
//! order made from it agree to the cent on both databases.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    CartId, CartItemId, CategoryId, DealId, OrderId, OrderLineId, PaymentId, ProductId, RefundId,
    UserId, VariantId,
};

/// Most lines in one cart.
pub const MAX_CART_LINES: usize = 100;
/// Most units of one variant in one cart line.
pub const MAX_LINE_QUANTITY: i64 = 1_000;

// ---------------------------------------------------------------- carts

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CartStatus {
    Open,
    CheckedOut,
}

impl CartStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::CheckedOut => "checked_out",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "open" => Some(Self::Open),
            "checked_out" => Some(Self::CheckedOut),
            _ => None,
        }
    }
}

/// A cart as stored: who may use it, what is in it, and the choices that
/// affect its totals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cart {
    pub id: CartId,
    pub customer_id: Option<UserId>,
    /// SHA-256 (hex) of the cart token; the token itself is never stored.
    pub token_hash: String,
    pub status: CartStatus,
    pub coupon_code: Option<String>,
    pub shipping_method: Option<String>,
    pub country: Option<String>,
    pub region: Option<String>,
    pub order_id: Option<OrderId>,
    pub items: Vec<CartItem>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartItem {
    pub id: CartItemId,
    pub variant_id: VariantId,
    pub quantity: i64,
    /// A rental line rents its variant on this plan (quantity 1).
    pub rental_plan_id: Option<crate::RentalPlanId>,
    /// The term asked for, in periods (the plan's own when `None`).
    pub rental_term: Option<i32>,
}

#[derive(Debug, Clone)]
pub struct NewCart {
    pub id: CartId,
    pub customer_id: Option<UserId>,
    pub token_hash: String,
}

/// Changes to a cart's choices; `None` leaves a field alone,
/// `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct CartPatch {
    pub coupon_code: Option<Option<String>>,
    pub shipping_method: Option<Option<String>>,
    pub country: Option<Option<String>>,
    pub region: Option<Option<String>>,
}

// ---------------------------------------------------------------- tax and shipping

/// A sales-tax rate for a country, or for one region of it (a region rate
/// wins over the country's). `rate_bp` is in basis points: 825 = 8.25 %.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaxRate {
    #[schema(example = "US", pattern = "^[A-Z]{2}$")]
    pub country: String,
    #[serde(default)]
    #[schema(example = "CA", pattern = "^[A-Z0-9]{1,3}$")]
    pub region: Option<String>,
    #[schema(example = 725, minimum = 0, maximum = 10000)]
    pub rate_bp: i64,
    #[serde(default)]
    pub name: String,
}

/// A flat-rate shipping method. `countries` empty = ships everywhere.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShippingMethod {
    #[schema(example = "standard", pattern = "^[a-z0-9_-]{1,40}$")]
    pub code: String,
    #[schema(
        max_length = 120,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: String,
    /// Flat price in minor units of the shop's currency.
    #[schema(example = 500, minimum = 0, maximum = 1_000_000_000)]
    pub price: i64,
    #[serde(default)]
    #[schema(example = json!(["US"]))]
    pub countries: Vec<String>,
}

impl ShippingMethod {
    pub fn ships_to(&self, country: Option<&str>) -> bool {
        self.countries.is_empty() || country.is_some_and(|c| self.countries.iter().any(|x| x == c))
    }
}

/// The rate for an address: the region's if the shop has one, else the
/// country's, else none.
pub fn tax_rate_for<'a>(
    rates: &'a [TaxRate],
    country: Option<&str>,
    region: Option<&str>,
) -> Option<&'a TaxRate> {
    let country = country?;
    rates
        .iter()
        .find(|r| r.country == country && r.region.is_some() && r.region.as_deref() == region)
        .or_else(|| {
            rates
                .iter()
                .find(|r| r.country == country && r.region.is_none())
        })
}

/// A two-letter ISO 3166-1 country code (upper case).
pub fn parse_country(raw: &str) -> Result<String, String> {
    let c = raw.trim().to_ascii_uppercase();
    if c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(c)
    } else {
        Err("must be a two-letter ISO 3166-1 country code such as US".into())
    }
}

/// A region (state, province) code: 1–3 letters or digits, upper case.
pub fn parse_region(raw: &str) -> Result<String, String> {
    let r = raw.trim().to_ascii_uppercase();
    if (1..=3).contains(&r.len()) && r.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(r)
    } else {
        Err("must be a region code of 1 to 3 letters or digits such as CA".into())
    }
}

// ---------------------------------------------------------------- deals

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DealKind {
    /// `value` percent off (1–100).
    Percentage,
    /// `value` minor units off each unit (product/category deals) or off
    /// the order.
    Fixed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DealTarget {
    Order,
    Products,
    Categories,
}

impl DealKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Percentage => "percentage",
            Self::Fixed => "fixed",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "percentage" => Some(Self::Percentage),
            "fixed" => Some(Self::Fixed),
            _ => None,
        }
    }
}

impl DealTarget {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Order => "order",
            Self::Products => "products",
            Self::Categories => "categories",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "order" => Some(Self::Order),
            "products" => Some(Self::Products),
            "categories" => Some(Self::Categories),
            _ => None,
        }
    }
}

/// A promotion: automatic when `code` is `None`, a coupon otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Deal {
    pub id: DealId,
    pub name: String,
    pub description: String,
    pub kind: DealKind,
    pub value: i64,
    pub target: DealTarget,
    pub product_ids: Vec<ProductId>,
    /// Categories; products filed under a subcategory count too.
    pub category_ids: Vec<CategoryId>,
    /// Coupon code (upper case); `None` = applied automatically.
    pub code: Option<String>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    /// Orders that may use the deal in total.
    pub max_uses: Option<i64>,
    /// Orders one customer may use it on.
    pub max_uses_per_customer: Option<i64>,
    /// Units that may be sold under the deal (a flash sale's quantity).
    pub max_units: Option<i64>,
    pub uses: i64,
    pub units_sold: i64,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Deal {
    /// In its time window and switched on (caps are checked at checkout).
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.active
            && self.starts_at.is_none_or(|s| s <= now)
            && self.ends_at.is_none_or(|e| now < e)
    }

    /// Whether the global caps leave room for one more order of `units`.
    pub fn has_room(&self, units: i64) -> bool {
        self.max_uses.is_none_or(|m| self.uses < m)
            && self.max_units.is_none_or(|m| self.units_sold + units <= m)
    }
}

/// A deal as created or replaced by staff (already validated).
#[derive(Debug, Clone)]
pub struct NewDeal {
    pub id: DealId,
    pub name: String,
    pub description: String,
    pub kind: DealKind,
    pub value: i64,
    pub target: DealTarget,
    pub product_ids: Vec<ProductId>,
    pub category_ids: Vec<CategoryId>,
    pub code: Option<String>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub max_uses: Option<i64>,
    pub max_uses_per_customer: Option<i64>,
    pub max_units: Option<i64>,
    pub active: bool,
}

/// A coupon code: 3–40 of `A-Z`, `0-9`, `-`, `_`, compared upper-cased.
pub fn parse_coupon_code(raw: &str) -> Result<String, String> {
    let c = raw.trim().to_ascii_uppercase();
    if (3..=40).contains(&c.len())
        && c.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
    {
        Ok(c)
    } else {
        Err("must be 3 to 40 letters, digits, '-' or '_'".into())
    }
}

// ---------------------------------------------------------------- pricing

/// What selling needs to know about a variant, read in one query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaleVariant {
    pub variant_id: VariantId,
    pub product_id: ProductId,
    pub sku: String,
    pub variant_title: String,
    pub product_title: String,
    pub status: crate::ProductStatus,
    pub price: i64,
    /// The categories the product is filed under (not their ancestors).
    pub categories: Vec<CategoryId>,
}

/// One cart line as the pricing engine sees it.
#[derive(Debug, Clone)]
pub struct PricingLine {
    pub item_id: Option<CartItemId>,
    pub variant_id: VariantId,
    pub product_id: ProductId,
    pub sku: String,
    pub title: String,
    pub unit_price: i64,
    pub quantity: i64,
    /// The product's categories and all their ancestors.
    pub categories: Vec<CategoryId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct QuotedLine {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_id: Option<CartItemId>,
    pub variant_id: VariantId,
    pub product_id: ProductId,
    pub sku: String,
    pub title: String,
    pub quantity: i64,
    pub unit_price: i64,
    /// Discount on the whole line from a product or category deal.
    pub discount: i64,
    /// `unit_price × quantity − discount`.
    pub total: i64,
    pub deal_id: Option<DealId>,
}

/// A deal that lowered the price, and by how much.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AppliedDeal {
    pub deal_id: DealId,
    pub name: String,
    pub code: Option<String>,
    pub amount: i64,
    /// Units bought under the deal (all units for an order deal).
    pub units: i64,
}

/// The totals of a cart or order, all in minor units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Quote {
    pub lines: Vec<QuotedLine>,
    /// Sum of `unit_price × quantity`.
    pub subtotal: i64,
    /// Line discounts plus the order discount.
    pub discount: i64,
    pub shipping: i64,
    pub tax: i64,
    pub total: i64,
    pub deals: Vec<AppliedDeal>,
    /// Why a coupon or shipping method was not applied, for the shopper.
    pub notes: Vec<String>,
}

/// What the pricing engine is given besides the lines.
#[derive(Debug, Clone, Default)]
pub struct PricingContext<'a> {
    /// Automatic deals that are live now (others are ignored).
    pub deals: &'a [Deal],
    /// The coupon the shopper entered, if it exists.
    pub coupon: Option<&'a Deal>,
    pub shipping: Option<&'a ShippingMethod>,
    pub tax: Option<&'a TaxRate>,
}

fn deal_discount_per_unit(deal: &Deal, unit_price: i64) -> i64 {
    match deal.kind {
        DealKind::Percentage => pct(unit_price, deal.value),
        DealKind::Fixed => deal.value.min(unit_price),
    }
}

/// `amount × percent / 100`, rounded half up.
fn pct(amount: i64, percent: i64) -> i64 {
    let p = i128::from(amount) * i128::from(percent.clamp(0, 100));
    i64::try_from((p + 50) / 100).unwrap_or(i64::MAX)
}

fn applies_to(deal: &Deal, line: &PricingLine) -> bool {
    match deal.target {
        DealTarget::Order => false,
        DealTarget::Products => deal.product_ids.contains(&line.product_id),
        DealTarget::Categories => line
            .categories
            .iter()
            .any(|c| deal.category_ids.contains(c)),
    }
}

/// Prices lines under the shop's deals, one coupon, shipping and tax.
///
/// Rules (documented in docs/API.md, "Pricing"):
/// - each line gets the single best product/category deal that applies to
///   it (automatic or the coupon), discounting every unit;
/// - then the single best order deal (automatic or the coupon) comes off
///   what remains, never below zero;
/// - tax is `rate × (subtotal − discount)`, rounded half up; shipping is
///   not taxed;
/// - deals must be live now and have room left under their caps; caps are
///   enforced again at checkout, inside the transaction (a cart priced
///   with the last units of a flash sale can still lose the race).
pub fn price(lines: &[PricingLine], ctx: &PricingContext<'_>, now: DateTime<Utc>) -> Quote {
    let mut notes = Vec::new();
    let coupon = ctx.coupon.filter(|c| {
        let live = c.is_live(now);
        if !live {
            notes.push(format!(
                "coupon {} is not valid now",
                c.code.as_deref().unwrap_or("")
            ));
        }
        live
    });
    let candidates: Vec<&Deal> = ctx
        .deals
        .iter()
        .filter(|d| d.code.is_none() && d.is_live(now))
        .chain(coupon)
        .collect();

    let mut applied: BTreeMap<DealId, AppliedDeal> = BTreeMap::new();
    let mut quoted = Vec::with_capacity(lines.len());
    let mut subtotal = 0i64;
    let mut line_discounts = 0i64;
    for line in lines {
        let gross = line.unit_price.saturating_mul(line.quantity);
        // Room is counted across lines: checkout claims the deal's units
        // for the whole cart at once.
        let best = candidates
            .iter()
            .filter(|d| applies_to(d, line))
            .filter(|d| {
                let earlier = applied.get(&d.id).map_or(0, |a| a.units);
                d.has_room(earlier + line.quantity)
            })
            .map(|d| (deal_discount_per_unit(d, line.unit_price), *d))
            .filter(|(per_unit, _)| *per_unit > 0)
            .max_by(|a, b| a.0.cmp(&b.0).then_with(|| b.1.id.cmp(&a.1.id)));
        let (discount, deal_id) = match best {
            Some((per_unit, d)) => {
                let amount = per_unit.saturating_mul(line.quantity);
                let entry = applied.entry(d.id).or_insert_with(|| AppliedDeal {
                    deal_id: d.id,
                    name: d.name.clone(),
                    code: d.code.clone(),
                    amount: 0,
                    units: 0,
                });
                entry.amount += amount;
                entry.units += line.quantity;
                (amount, Some(d.id))
            }
            None => (0, None),
        };
        subtotal += gross;
        line_discounts += discount;
        quoted.push(QuotedLine {
            item_id: line.item_id,
            variant_id: line.variant_id,
            product_id: line.product_id,
            sku: line.sku.clone(),
            title: line.title.clone(),
            quantity: line.quantity,
            unit_price: line.unit_price,
            discount,
            total: gross - discount,
            deal_id,
        });
    }

    let after_lines = subtotal - line_discounts;
    let units: i64 = lines.iter().map(|l| l.quantity).sum();
    let order_deal = candidates
        .iter()
        .filter(|d| d.target == DealTarget::Order && d.has_room(units))
        .map(|d| {
            let off = match d.kind {
                DealKind::Percentage => pct(after_lines, d.value),
                DealKind::Fixed => d.value,
            };
            (off.min(after_lines), *d)
        })
        .filter(|(off, _)| *off > 0)
        .max_by(|a, b| a.0.cmp(&b.0).then_with(|| b.1.id.cmp(&a.1.id)));
    let order_discount = order_deal.map_or(0, |(off, _)| off);
    if let Some((off, d)) = order_deal {
        applied.insert(
            d.id,
            AppliedDeal {
                deal_id: d.id,
                name: d.name.clone(),
                code: d.code.clone(),
                amount: off,
                units,
            },
        );
    }
    if let Some(c) = coupon
        && !applied.contains_key(&c.id)
    {
        notes.push(format!(
            "coupon {} does not lower the price of this cart",
            c.code.as_deref().unwrap_or("")
        ));
    }

    let discount = line_discounts + order_discount;
    let taxable = subtotal - discount;
    let tax = ctx.tax.map_or(0, |r| {
        let t = i128::from(taxable) * i128::from(r.rate_bp);
        i64::try_from((t + 5_000) / 10_000).unwrap_or(i64::MAX)
    });
    let shipping = if lines.is_empty() {
        0
    } else {
        ctx.shipping.map_or(0, |s| s.price)
    };
    let mut deals: Vec<AppliedDeal> = applied.into_values().collect();
    deals.sort_by(|a, b| b.amount.cmp(&a.amount).then(a.deal_id.cmp(&b.deal_id)));
    Quote {
        lines: quoted,
        subtotal,
        discount,
        shipping,
        tax,
        total: taxable + shipping + tax,
        deals,
        notes,
    }
}

// ---------------------------------------------------------------- orders

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    PendingPayment,
    Paid,
    Fulfilled,
    Delivered,
    Cancelled,
    Refunded,
}

impl OrderStatus {
    pub const ALL: [Self; 6] = [
        Self::PendingPayment,
        Self::Paid,
        Self::Fulfilled,
        Self::Delivered,
        Self::Cancelled,
        Self::Refunded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::PendingPayment => "pending_payment",
            Self::Paid => "paid",
            Self::Fulfilled => "fulfilled",
            Self::Delivered => "delivered",
            Self::Cancelled => "cancelled",
            Self::Refunded => "refunded",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// The states an order may move to `to` from. Refunds move an order to
    /// `refunded` only once the whole total is refunded.
    pub fn sources(to: Self) -> &'static [Self] {
        match to {
            Self::PendingPayment => &[],
            Self::Paid => &[Self::PendingPayment],
            Self::Fulfilled => &[Self::Paid],
            Self::Delivered => &[Self::Fulfilled],
            Self::Cancelled => &[Self::PendingPayment],
            Self::Refunded => &[Self::Paid, Self::Fulfilled, Self::Delivered],
        }
    }

    pub fn can_move_to(self, to: Self) -> bool {
        Self::sources(to).contains(&self)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct OrderLine {
    pub id: OrderLineId,
    pub variant_id: VariantId,
    pub product_id: ProductId,
    pub sku: String,
    pub title: String,
    pub quantity: i64,
    pub unit_price: i64,
    pub discount: i64,
    pub total: i64,
    pub deal_id: Option<DealId>,
    /// Units put back into stock by refunds.
    pub restocked: i64,
}

/// An order as stored. `email` and `shipping_address` are sealed (PII);
/// services open them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub id: OrderId,
    pub cart_id: CartId,
    pub customer_id: Option<UserId>,
    pub status: OrderStatus,
    pub currency: String,
    pub subtotal: i64,
    pub discount: i64,
    pub shipping: i64,
    pub tax: i64,
    pub total: i64,
    pub refunded: i64,
    pub email_sealed: String,
    pub email_index: String,
    pub address_sealed: String,
    pub country: String,
    pub region: Option<String>,
    pub shipping_method: String,
    pub payment_provider: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub lines: Vec<OrderLine>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct OrderTransition {
    pub from: Option<OrderStatus>,
    pub to: OrderStatus,
    pub actor: String,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    Pending,
    Confirmed,
    Declined,
    /// A rental installment attempt still pending when its shop's payment
    /// timeout passed: closed, so another may start (a late confirmation
    /// is still recorded).
    Expired,
}

impl PaymentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Confirmed => "confirmed",
            Self::Declined => "declined",
            Self::Expired => "expired",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(Self::Pending),
            "confirmed" => Some(Self::Confirmed),
            "declined" => Some(Self::Declined),
            "expired" => Some(Self::Expired),
            _ => None,
        }
    }
}

/// One attempt to collect an order's total through a provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Payment {
    pub id: PaymentId,
    pub order_id: OrderId,
    pub provider: String,
    /// The provider's reference for the attempt.
    pub reference: String,
    pub status: PaymentStatus,
    pub amount: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A confirmed payment that paid no order: the processor took money for
/// an order no longer awaiting it (cancelled meanwhile, or paid by another
/// attempt). Staff settle it outside storekeep (a refund at the processor,
/// or the goods sent after all) and mark it resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct UnmatchedPayment {
    pub id: PaymentId,
    pub order_id: OrderId,
    /// The order's status now.
    pub order_status: OrderStatus,
    pub provider: String,
    pub reference: String,
    /// In the order's currency, minor units.
    pub amount: i64,
    pub currency: String,
    /// When the confirmation arrived.
    pub unmatched_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// Who marked it resolved (`staff:<id>`, `key:<id>`).
    pub resolved_by: Option<String>,
    /// What was done, in staff's words.
    pub resolution: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Refund {
    pub id: RefundId,
    pub amount: i64,
    pub reason: Option<String>,
    /// `(line id, units put back into stock)`.
    pub restock: Vec<RestockLine>,
    pub actor: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RestockLine {
    pub line_id: OrderLineId,
    pub quantity: i64,
}

/// An order with its history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderDetail {
    pub order: Order,
    pub transitions: Vec<OrderTransition>,
    pub payments: Vec<Payment>,
    pub refunds: Vec<Refund>,
}

/// Everything checkout writes, priced and sealed by the service.
#[derive(Debug, Clone)]
pub struct NewOrder {
    pub id: OrderId,
    pub cart_id: CartId,
    pub customer_id: Option<UserId>,
    /// Who per-customer deal caps count: `user:{id}` or `email:{blind index}`.
    pub customer_key: String,
    pub idempotency_key: String,
    /// SHA-256 of the request; the same key with another request is refused.
    pub request_hash: String,
    pub currency: String,
    pub quote: Quote,
    pub email_sealed: String,
    pub email_index: String,
    pub address_sealed: String,
    pub country: String,
    pub region: Option<String>,
    pub shipping_method: String,
    pub payment: NewPayment,
    pub expires_at: DateTime<Utc>,
    pub actor: String,
    /// One contract per rental line, written with the order.
    pub rentals: Vec<crate::NewContract>,
}

#[derive(Debug, Clone)]
pub struct NewPayment {
    pub id: PaymentId,
    pub provider: String,
    pub reference: String,
    pub amount: i64,
}

/// A line short of stock at checkout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Shortage {
    pub variant_id: VariantId,
    pub sku: String,
    pub requested: i64,
    pub available: i64,
}

/// How a checkout ended. Anything but `Created` wrote nothing.
#[derive(Debug, Clone)]
pub enum CheckoutOutcome {
    Created(Box<OrderDetail>),
    /// The idempotency key was used before with the same request.
    Replayed(Box<OrderDetail>),
    /// The idempotency key was used before with a different request.
    KeyReused,
    ShortOfStock(Vec<Shortage>),
    /// A deal's cap was reached or its window closed since pricing.
    DealUnavailable(Vec<DealId>),
    /// A price changed between pricing and commit.
    PriceChanged(Vec<VariantId>),
    /// The cart was checked out already (with another key).
    CartClosed,
}

/// What a shop sold in one currency over a span of time: the orders it
/// took (every status but cancelled) and what its paid ones brought in
/// (their totals less refunds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrencySales {
    pub currency: String,
    pub orders: i64,
    pub revenue: i64,
}

#[derive(Debug, Clone, Default)]
pub struct OrderFilter {
    pub status: Option<OrderStatus>,
    pub customer_id: Option<UserId>,
    pub email_index: Option<String>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
}

/// A refund as requested by staff (validated against the order in the
/// store, inside the transaction).
#[derive(Debug, Clone)]
pub struct NewRefund {
    pub id: RefundId,
    pub amount: i64,
    pub reason: Option<String>,
    pub restock: Vec<RestockLine>,
}

/// The result a payment provider reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentOutcome {
    Confirmed,
    Declined,
}

/// What settling a payment did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settlement {
    /// The payment changed state (and the order moved to paid on confirm).
    Applied { order_paid: bool },
    /// The provider's event was seen before: nothing changed.
    Duplicate,
    /// The payment had already been settled: nothing changed.
    AlreadySettled,
}

/// A row of the transactional outbox.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct OutboxEvent {
    pub id: crate::EventId,
    pub topic: String,
    pub subject: String,
    pub payload: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(product: ProductId, price: i64, qty: i64, cats: Vec<CategoryId>) -> PricingLine {
        PricingLine {
            item_id: None,
            variant_id: VariantId::new(),
            product_id: product,
            sku: "SKU".into(),
            title: "T".into(),
            unit_price: price,
            quantity: qty,
            categories: cats,
        }
    }

    fn deal(kind: DealKind, value: i64, target: DealTarget) -> Deal {
        let now = Utc::now();
        Deal {
            id: DealId::new(),
            name: "d".into(),
            description: String::new(),
            kind,
            value,
            target,
            product_ids: vec![],
            category_ids: vec![],
            code: None,
            starts_at: None,
            ends_at: None,
            max_uses: None,
            max_uses_per_customer: None,
            max_units: None,
            uses: 0,
            units_sold: 0,
            active: true,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn best_line_deal_then_best_order_deal_then_tax() {
        let p = ProductId::new();
        let cat = CategoryId::new();
        let mut ten_pct = deal(DealKind::Percentage, 10, DealTarget::Products);
        ten_pct.product_ids = vec![p];
        let mut three_off = deal(DealKind::Fixed, 300, DealTarget::Categories);
        three_off.category_ids = vec![cat];
        let order5 = deal(DealKind::Fixed, 500, DealTarget::Order);
        let deals = vec![ten_pct.clone(), three_off.clone(), order5.clone()];
        let ship = ShippingMethod {
            code: "std".into(),
            name: "Standard".into(),
            price: 499,
            countries: vec![],
        };
        let rate = TaxRate {
            country: "US".into(),
            region: None,
            rate_bp: 825,
            name: String::new(),
        };
        let lines = vec![
            line(p, 1999, 2, vec![cat]),
            line(ProductId::new(), 1000, 1, vec![]),
        ];
        let q = price(
            &lines,
            &PricingContext {
                deals: &deals,
                coupon: None,
                shipping: Some(&ship),
                tax: Some(&rate),
            },
            Utc::now(),
        );
        // 3.00 off per unit beats 10 % (2.00) on the first line.
        assert_eq!(q.lines[0].discount, 600);
        assert_eq!(q.lines[0].deal_id, Some(three_off.id));
        assert_eq!(q.subtotal, 4998);
        assert_eq!(q.discount, 1100);
        // 8.25 % of 38.98 = 3.21585 → 3.22
        assert_eq!(q.tax, 322);
        assert_eq!(q.total, 3898 + 322 + 499);
        assert_eq!(q.deals.len(), 2);
    }

    #[test]
    fn order_discount_never_goes_below_zero_and_dead_coupons_are_noted() {
        let mut big = deal(DealKind::Fixed, 10_000, DealTarget::Order);
        big.code = Some("BIG".into());
        let q = price(
            &[line(ProductId::new(), 1000, 1, vec![])],
            &PricingContext {
                coupon: Some(&big),
                ..Default::default()
            },
            Utc::now(),
        );
        assert_eq!(q.total, 0);
        assert_eq!(q.discount, 1000);
        big.ends_at = Some(Utc::now() - chrono::Duration::seconds(1));
        let q = price(
            &[line(ProductId::new(), 1000, 1, vec![])],
            &PricingContext {
                coupon: Some(&big),
                ..Default::default()
            },
            Utc::now(),
        );
        assert_eq!(q.total, 1000);
        assert_eq!(q.notes.len(), 1);
    }

    #[test]
    fn a_flash_sale_discounts_no_more_units_than_it_has_left_across_lines() {
        let p = ProductId::new();
        let mut flash = deal(DealKind::Percentage, 50, DealTarget::Products);
        flash.product_ids = vec![p];
        flash.max_units = Some(10);
        flash.units_sold = 5;
        let q = price(
            &[line(p, 1000, 3, vec![]), line(p, 1000, 3, vec![])],
            &PricingContext {
                deals: std::slice::from_ref(&flash),
                ..Default::default()
            },
            Utc::now(),
        );
        assert_eq!(q.lines[0].discount, 1500);
        assert_eq!(
            q.lines[1].discount, 0,
            "only 2 units were left after the first line"
        );
        assert_eq!(q.deals[0].units, 3);
    }

    #[test]
    fn region_rate_wins_over_country_rate() {
        let rates = vec![
            TaxRate {
                country: "US".into(),
                region: None,
                rate_bp: 500,
                name: String::new(),
            },
            TaxRate {
                country: "US".into(),
                region: Some("CA".into()),
                rate_bp: 725,
                name: String::new(),
            },
        ];
        assert_eq!(
            tax_rate_for(&rates, Some("US"), Some("CA")).map(|r| r.rate_bp),
            Some(725)
        );
        assert_eq!(
            tax_rate_for(&rates, Some("US"), Some("NY")).map(|r| r.rate_bp),
            Some(500)
        );
        assert_eq!(tax_rate_for(&rates, Some("DE"), None), None);
    }

    #[test]
    fn state_machine_allows_only_the_documented_moves() {
        use OrderStatus::*;
        assert!(PendingPayment.can_move_to(Paid));
        assert!(PendingPayment.can_move_to(Cancelled));
        assert!(!Paid.can_move_to(Cancelled));
        assert!(!Delivered.can_move_to(Fulfilled));
        assert!(Delivered.can_move_to(Refunded));
        assert!(!Cancelled.can_move_to(Paid));
    }
}
