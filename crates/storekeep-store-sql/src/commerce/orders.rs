//! Orders with their lines, transitions, payments and refunds.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use storekeep_domain::{
    CartId, DealId, Order, OrderDetail, OrderId, OrderLine, OrderLineId, OrderStatus,
    OrderTransition, Payment, PaymentId, PaymentStatus, ProductId, Refund, RefundId, RestockLine,
    UserId, VariantId,
};
use storekeep_store::rules::commerce::refunds::SoldLine;
use storekeep_store::{StoreError, StoreResult};

use super::corrupt;
use crate::DbId;

pub const ORDER_COLUMNS: &str = "id, cart_id, customer_id, status, currency, subtotal, \
     discount, shipping, tax, total, refunded, email_sealed, email_index, address_sealed, \
     country, region, shipping_method, payment_provider, expires_at, created_at, updated_at";
pub const LINE_COLUMNS: &str = "order_id, id, variant_id, product_id, sku, title, quantity, \
     unit_price, discount, total, deal_id, restocked";
pub const TRANSITION_COLUMNS: &str = "order_id, from_status, to_status, actor, reason, at";
pub const PAYMENT_COLUMNS: &str =
    "id, order_id, provider, reference, status, amount, created_at, updated_at";
pub const REFUND_COLUMNS: &str = "order_id, id, amount, reason, restock, actor, created_at";

/// The lines of order `$1` as a restock sees them ([`SoldLineRow`]).
/// A rental line whose contract holds a serial-tracked unit took no stock
/// (i15 phase 2, glue), so a refund never puts any back for it.
pub const SOLD_LINES: &str = "SELECT id, variant_id, quantity, restocked FROM order_lines l \
     WHERE order_id = $1 AND NOT EXISTS (SELECT 1 FROM rental_contracts c \
     WHERE c.order_line_id = l.id AND c.unit_id IS NOT NULL)";

/// A stored order status.
pub fn order_status(s: &str) -> StoreResult<OrderStatus> {
    OrderStatus::parse(s).ok_or_else(|| corrupt("order status", s))
}

#[derive(sqlx::FromRow)]
pub struct OrderRow {
    pub id: DbId,
    pub cart_id: DbId,
    pub customer_id: Option<DbId>,
    pub status: String,
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
}

impl OrderRow {
    pub fn into_order(self, lines: Vec<OrderLine>) -> StoreResult<Order> {
        Ok(Order {
            id: OrderId(self.id.0),
            cart_id: CartId(self.cart_id.0),
            customer_id: self.customer_id.map(|c| UserId(c.0)),
            status: order_status(&self.status)?,
            currency: self.currency,
            subtotal: self.subtotal,
            discount: self.discount,
            shipping: self.shipping,
            tax: self.tax,
            total: self.total,
            refunded: self.refunded,
            email_sealed: self.email_sealed,
            email_index: self.email_index,
            address_sealed: self.address_sealed,
            country: self.country,
            region: self.region,
            shipping_method: self.shipping_method,
            payment_provider: self.payment_provider,
            expires_at: self.expires_at,
            created_at: self.created_at,
            updated_at: self.updated_at,
            lines,
        })
    }
}

#[derive(sqlx::FromRow, serde::Deserialize)]
pub struct LineRow {
    pub order_id: DbId,
    pub id: DbId,
    pub variant_id: DbId,
    pub product_id: DbId,
    pub sku: String,
    pub title: String,
    pub quantity: i64,
    pub unit_price: i64,
    pub discount: i64,
    pub total: i64,
    pub deal_id: Option<DbId>,
    pub restocked: i64,
}

impl From<LineRow> for OrderLine {
    fn from(r: LineRow) -> Self {
        OrderLine {
            id: OrderLineId(r.id.0),
            variant_id: VariantId(r.variant_id.0),
            product_id: ProductId(r.product_id.0),
            sku: r.sku,
            title: r.title,
            quantity: r.quantity,
            unit_price: r.unit_price,
            discount: r.discount,
            total: r.total,
            deal_id: r.deal_id.map(|d| DealId(d.0)),
            restocked: r.restocked,
        }
    }
}

#[derive(sqlx::FromRow, serde::Deserialize)]
pub struct TransitionRow {
    pub order_id: DbId,
    pub from_status: Option<String>,
    pub to_status: String,
    pub actor: String,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
}

impl TryFrom<TransitionRow> for OrderTransition {
    type Error = StoreError;
    fn try_from(t: TransitionRow) -> StoreResult<Self> {
        Ok(OrderTransition {
            from: t.from_status.as_deref().map(order_status).transpose()?,
            to: order_status(&t.to_status)?,
            actor: t.actor,
            reason: t.reason,
            at: t.at,
        })
    }
}

#[derive(sqlx::FromRow, serde::Deserialize)]
pub struct PaymentRow {
    pub id: DbId,
    pub order_id: DbId,
    pub provider: String,
    pub reference: String,
    pub status: String,
    pub amount: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<PaymentRow> for Payment {
    type Error = StoreError;
    fn try_from(r: PaymentRow) -> StoreResult<Self> {
        Ok(Payment {
            id: PaymentId(r.id.0),
            order_id: OrderId(r.order_id.0),
            provider: r.provider,
            reference: r.reference,
            status: PaymentStatus::parse(&r.status)
                .ok_or_else(|| corrupt("payment status", &r.status))?,
            amount: r.amount,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

#[derive(sqlx::FromRow, serde::Deserialize)]
pub struct RefundRow {
    pub order_id: DbId,
    pub id: DbId,
    pub amount: i64,
    pub reason: Option<String>,
    pub restock: Json<Vec<RestockLine>>,
    pub actor: String,
    pub created_at: DateTime<Utc>,
}

impl From<RefundRow> for Refund {
    fn from(r: RefundRow) -> Self {
        Refund {
            id: RefundId(r.id.0),
            amount: r.amount,
            reason: r.reason,
            restock: r.restock.0,
            actor: r.actor,
            created_at: r.created_at,
        }
    }
}

/// `SELECT id, variant_id, quantity, restocked FROM order_lines …`
#[derive(sqlx::FromRow)]
pub struct SoldLineRow {
    pub id: DbId,
    pub variant_id: DbId,
    pub quantity: i64,
    pub restocked: i64,
}

/// An order's lines by id, as a restock checks them.
pub fn sold_lines(rows: Vec<SoldLineRow>) -> HashMap<OrderLineId, SoldLine> {
    rows.into_iter()
        .map(|r| {
            let line = SoldLine {
                variant_id: VariantId(r.variant_id.0),
                quantity: r.quantity,
                restocked: r.restocked,
            };
            (OrderLineId(r.id.0), line)
        })
        .collect()
}

/// The lines, transitions, payments and refunds of some orders, each
/// order's in the order they happened (on SQLite read with one query per
/// table; PostgreSQL reads them with their orders in one statement).
#[derive(Default)]
pub struct OrderParts {
    pub lines: Vec<LineRow>,
    pub transitions: Vec<TransitionRow>,
    pub payments: Vec<PaymentRow>,
    pub refunds: Vec<RefundRow>,
}

/// Orders with their history, in the order of `rows`.
pub fn order_details(rows: Vec<OrderRow>, parts: OrderParts) -> StoreResult<Vec<OrderDetail>> {
    let mut by_order: HashMap<DbId, OrderDetailParts> = HashMap::with_capacity(rows.len());
    for line in parts.lines {
        by_order
            .entry(line.order_id)
            .or_default()
            .0
            .push(line.into());
    }
    for t in parts.transitions {
        let order = t.order_id;
        by_order.entry(order).or_default().1.push(t.try_into()?);
    }
    for p in parts.payments {
        let order = p.order_id;
        by_order.entry(order).or_default().2.push(p.try_into()?);
    }
    for r in parts.refunds {
        by_order.entry(r.order_id).or_default().3.push(r.into());
    }
    rows.into_iter()
        .map(|row| {
            let (lines, transitions, payments, refunds) =
                by_order.remove(&row.id).unwrap_or_default();
            Ok(OrderDetail {
                order: row.into_order(lines)?,
                transitions,
                payments,
                refunds,
            })
        })
        .collect()
}

type OrderDetailParts = (
    Vec<OrderLine>,
    Vec<OrderTransition>,
    Vec<Payment>,
    Vec<Refund>,
);
