//! Carts, checkout, orders, payments, deals and the outbox on SQLite.
//!
//! Writes run in `BEGIN IMMEDIATE` transactions (SQLite's write lock), so
//! what a write reads stays true until it commits; status changes are
//! still conditional updates on the status read, as the contract asks.
//! Checkout runs in the group-commit worker (`group_commit.rs`), which
//! calls [`checkout_in`] inside a savepoint of a shared transaction.
//!
//! Stock invariant kept here as in the catalog: a product's `available` is
//! the sum of `max(on_hand - reserved, 0)` over its variants.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sqlx::SqliteConnection;
use storekeep_domain::{
    AuditContext, Cart, CartId, CartItem, CartItemId, CartPatch, CartStatus, CheckoutOutcome, Deal,
    DealId, DealKind, DealTarget, EventId, MAX_CART_LINES, MAX_LINE_QUANTITY, NewCart, NewDeal,
    NewOrder, NewPayment, NewRefund, Order, OrderDetail, OrderFilter, OrderId, OrderLine,
    OrderLineId, OrderStatus, OrderTransition, OutboxEvent, Page, PageRequest, Payment,
    PaymentOutcome, PaymentStatus, Refund, RestockLine, SaleVariant, Settlement, Shortage,
    TenantId, VariantId,
};
use storekeep_store::commerce::events;
use storekeep_store::{CommerceStore, StoreError, StoreResult, TransitionActor, now};

use crate::catalog::{placeholders, record_ledger, refresh_summary};
use crate::error::other;
use crate::{SqliteStore, audit, cursor, error, write_tx};

const UNIQUES: &[(&str, &str)] = &[("deals.code", "code"), ("payments.provider", "reference")];

fn map_err(e: sqlx::Error) -> StoreError {
    error::map(e, UNIQUES)
}

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Other(format!("stored {what} is invalid: {value:?}").into())
}

/// Parses a stored id.
fn id<T>(s: &str) -> StoreResult<T>
where
    T: FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    s.parse().map_err(other)
}

fn opt_id<T>(s: Option<&str>) -> StoreResult<Option<T>>
where
    T: FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    s.map(id).transpose()
}

fn order_status(s: &str) -> StoreResult<OrderStatus> {
    OrderStatus::parse(s).ok_or_else(|| corrupt("order status", s))
}

/// Outbox events of an order (and its payments and refunds) are about it.
fn subject(order: &str) -> String {
    format!("order:{order}")
}

// ---------------------------------------------------------------- rows

#[derive(sqlx::FromRow)]
struct CartRow {
    id: String,
    customer_id: Option<String>,
    token_hash: String,
    status: String,
    coupon_code: Option<String>,
    shipping_method: Option<String>,
    country: Option<String>,
    region: Option<String>,
    order_id: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

const CART_COLUMNS: &str = "id, customer_id, token_hash, status, coupon_code, shipping_method, \
     country, region, order_id, created_at, updated_at";

#[derive(sqlx::FromRow)]
struct OrderRow {
    id: String,
    cart_id: String,
    customer_id: Option<String>,
    status: String,
    currency: String,
    subtotal: i64,
    discount: i64,
    shipping: i64,
    tax: i64,
    total: i64,
    refunded: i64,
    email_sealed: String,
    email_index: String,
    address_sealed: String,
    country: String,
    region: Option<String>,
    shipping_method: String,
    payment_provider: String,
    expires_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

const ORDER_COLUMNS: &str = "id, cart_id, customer_id, status, currency, subtotal, discount, \
     shipping, tax, total, refunded, email_sealed, email_index, address_sealed, country, region, \
     shipping_method, payment_provider, expires_at, created_at, updated_at";

impl OrderRow {
    fn into_order(self, lines: Vec<OrderLine>) -> StoreResult<Order> {
        Ok(Order {
            id: id(&self.id)?,
            cart_id: id(&self.cart_id)?,
            customer_id: opt_id(self.customer_id.as_deref())?,
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

#[derive(sqlx::FromRow)]
struct LineRow {
    order_id: String,
    id: String,
    variant_id: String,
    product_id: String,
    sku: String,
    title: String,
    quantity: i64,
    unit_price: i64,
    discount: i64,
    total: i64,
    deal_id: Option<String>,
    restocked: i64,
}

const LINE_COLUMNS: &str = "order_id, id, variant_id, product_id, sku, title, quantity, \
     unit_price, discount, total, deal_id, restocked";

impl TryFrom<LineRow> for OrderLine {
    type Error = StoreError;
    fn try_from(r: LineRow) -> StoreResult<Self> {
        Ok(OrderLine {
            id: id(&r.id)?,
            variant_id: id(&r.variant_id)?,
            product_id: id(&r.product_id)?,
            sku: r.sku,
            title: r.title,
            quantity: r.quantity,
            unit_price: r.unit_price,
            discount: r.discount,
            total: r.total,
            deal_id: opt_id(r.deal_id.as_deref())?,
            restocked: r.restocked,
        })
    }
}

#[derive(sqlx::FromRow)]
struct PaymentRow {
    id: String,
    order_id: String,
    provider: String,
    reference: String,
    status: String,
    amount: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<PaymentRow> for Payment {
    type Error = StoreError;
    fn try_from(r: PaymentRow) -> StoreResult<Self> {
        Ok(Payment {
            id: id(&r.id)?,
            order_id: id(&r.order_id)?,
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

#[derive(sqlx::FromRow)]
struct TransitionRow {
    from_status: Option<String>,
    to_status: String,
    actor: String,
    reason: Option<String>,
    at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct RefundRow {
    id: String,
    amount: i64,
    reason: Option<String>,
    restock: String,
    actor: String,
    created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct DealRow {
    id: String,
    name: String,
    description: String,
    kind: String,
    value: i64,
    target: String,
    product_ids: String,
    category_ids: String,
    code: Option<String>,
    starts_at: Option<DateTime<Utc>>,
    ends_at: Option<DateTime<Utc>>,
    max_uses: Option<i64>,
    max_uses_per_customer: Option<i64>,
    max_units: Option<i64>,
    uses: i64,
    units_sold: i64,
    active: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

const DEAL_COLUMNS: &str = "id, name, description, kind, value, target, product_ids, \
     category_ids, code, starts_at, ends_at, max_uses, max_uses_per_customer, max_units, uses, \
     units_sold, active, created_at, updated_at";

impl TryFrom<DealRow> for Deal {
    type Error = StoreError;
    fn try_from(r: DealRow) -> StoreResult<Self> {
        Ok(Deal {
            id: id(&r.id)?,
            name: r.name,
            description: r.description,
            kind: DealKind::parse(&r.kind).ok_or_else(|| corrupt("deal kind", &r.kind))?,
            value: r.value,
            target: DealTarget::parse(&r.target)
                .ok_or_else(|| corrupt("deal target", &r.target))?,
            product_ids: serde_json::from_str(&r.product_ids).map_err(other)?,
            category_ids: serde_json::from_str(&r.category_ids).map_err(other)?,
            code: r.code,
            starts_at: r.starts_at,
            ends_at: r.ends_at,
            max_uses: r.max_uses,
            max_uses_per_customer: r.max_uses_per_customer,
            max_units: r.max_units,
            uses: r.uses,
            units_sold: r.units_sold,
            active: r.active,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

// ---------------------------------------------------------------- shared writes

/// Appends outbox events about `subject` in one statement.
async fn insert_events(
    conn: &mut SqliteConnection,
    tenant: &str,
    subject: &str,
    events: &[(&str, &Value)],
    at: DateTime<Utc>,
) -> StoreResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO outbox_events (id, tenant_id, topic, subject, payload, created_at) VALUES {}",
        vec!["(?, ?, ?, ?, ?, ?)"; events.len()].join(", ")
    );
    let mut q = sqlx::query(&sql);
    for (topic, payload) in events {
        q = q
            .bind(EventId::new().to_string())
            .bind(tenant)
            .bind(*topic)
            .bind(subject)
            .bind(payload.to_string())
            .bind(at);
    }
    q.execute(&mut *conn).await.map_err(other)?;
    Ok(())
}

async fn insert_transition(
    conn: &mut SqliteConnection,
    order: &str,
    from: Option<OrderStatus>,
    to: OrderStatus,
    actor: &str,
    reason: Option<&str>,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO order_transitions (id, order_id, from_status, to_status, actor, reason, at) \
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(order)
    .bind(from.map(OrderStatus::as_str))
    .bind(to.as_str())
    .bind(actor)
    .bind(reason)
    .bind(at)
    .execute(&mut *conn)
    .await
    .map_err(other)?;
    Ok(())
}

/// Inserts a pending payment attempt.
async fn insert_payment(
    conn: &mut SqliteConnection,
    tenant: &str,
    order: &str,
    payment: &NewPayment,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO payments (id, tenant_id, order_id, provider, reference, status, amount, \
         created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?)",
    )
    .bind(payment.id.to_string())
    .bind(tenant)
    .bind(order)
    .bind(&payment.provider)
    .bind(&payment.reference)
    .bind(payment.amount)
    .bind(at)
    .bind(at)
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    Ok(())
}

// ---------------------------------------------------------------- carts

async fn fetch_cart(
    conn: &mut SqliteConnection,
    tenant: TenantId,
    cart: CartId,
) -> StoreResult<Cart> {
    let row: Option<CartRow> = sqlx::query_as(&format!(
        "SELECT {CART_COLUMNS} FROM carts WHERE id = ? AND tenant_id = ?"
    ))
    .bind(cart.to_string())
    .bind(tenant.to_string())
    .fetch_optional(&mut *conn)
    .await
    .map_err(other)?;
    let r = row.ok_or(StoreError::NotFound("cart"))?;
    let items: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT id, variant_id, quantity FROM cart_items WHERE cart_id = ? ORDER BY id",
    )
    .bind(&r.id)
    .fetch_all(&mut *conn)
    .await
    .map_err(other)?;
    Ok(Cart {
        id: id(&r.id)?,
        customer_id: opt_id(r.customer_id.as_deref())?,
        token_hash: r.token_hash,
        status: CartStatus::parse(&r.status).ok_or_else(|| corrupt("cart status", &r.status))?,
        coupon_code: r.coupon_code,
        shipping_method: r.shipping_method,
        country: r.country,
        region: r.region,
        order_id: opt_id(r.order_id.as_deref())?,
        items: items
            .into_iter()
            .map(|(item, variant, quantity)| {
                Ok(CartItem {
                    id: id(&item)?,
                    variant_id: id(&variant)?,
                    quantity,
                })
            })
            .collect::<StoreResult<_>>()?,
        created_at: r.created_at,
        updated_at: r.updated_at,
    })
}

/// Refuses changes to a cart that is missing or already an order.
async fn require_open(
    conn: &mut SqliteConnection,
    tenant: TenantId,
    cart: CartId,
) -> StoreResult<()> {
    let status: Option<String> =
        sqlx::query_scalar("SELECT status FROM carts WHERE id = ? AND tenant_id = ?")
            .bind(cart.to_string())
            .bind(tenant.to_string())
            .fetch_optional(&mut *conn)
            .await
            .map_err(other)?;
    match status.as_deref() {
        None => Err(StoreError::NotFound("cart")),
        Some("open") => Ok(()),
        Some(_) => Err(StoreError::Invalid("the cart is checked out")),
    }
}

async fn touch_cart(conn: &mut SqliteConnection, cart: CartId) -> StoreResult<()> {
    sqlx::query("UPDATE carts SET updated_at = ? WHERE id = ?")
        .bind(now())
        .bind(cart.to_string())
        .execute(&mut *conn)
        .await
        .map_err(other)?;
    Ok(())
}

fn check_line_quantity(quantity: i64) -> StoreResult<()> {
    if quantity < 1 {
        return Err(StoreError::Invalid("a cart line needs at least one unit"));
    }
    if quantity > MAX_LINE_QUANTITY {
        return Err(StoreError::Invalid(
            "a cart line holds at most 1000 units of a variant",
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------- checkout

/// A checkout batch: one transaction, many checkouts (see `group_commit`).
///
/// Only what decides a checkout's outcome is written as it runs: stock
/// reservations and deal claims, conditional updates that cannot
/// oversell. Idempotency keys and carts are read, and this batch's own
/// keys and carts are tracked here; everything that only records a created
/// order (the key, the cart's closing, order, lines, first transition,
/// payment, deal uses, outbox events, product summaries) is written for
/// the whole batch by [`write_batch`] just before the commit, a dozen
/// statements per batch instead of a dozen per checkout.
#[derive(Default)]
pub(crate) struct Batch {
    created: Vec<Created>,
    /// (tenant, idempotency key) → index in `created`.
    keys: HashMap<(String, String), usize>,
    /// (tenant, cart) closed by this batch.
    carts: HashSet<(String, String)>,
    /// Units reserved per product, for the summaries.
    reserved: HashMap<String, i64>,
    /// Deal uses per (deal, customer) not yet in `deal_uses`.
    uses: HashMap<(DealId, String), i64>,
    /// Whether the outer savepoint is open.
    savepoint: bool,
}

struct Created {
    tenant: String,
    idempotency_key: String,
    request_hash: String,
    detail: OrderDetail,
    customer_key: String,
    deals: Vec<(DealId, i64)>,
    events: Vec<(String, Value)>,
}

/// Runs one checkout in the batch transaction. Anything but `Created`
/// leaves no trace: a checkout that writes more than once (several lines
/// or deals) does so in a savepoint, rolled back if it is refused; one
/// that writes once writes only when it succeeds. A `Created` order is
/// recorded in `batch` for [`write_batch`].
///
/// The outer `Err` means the transaction is broken (a savepoint could not
/// be undone) and the batch must not commit.
///
/// Statements on the way to `Created` (L lines, D deals): one read of the
/// key and the cart, L reservations, D deal claims (+1 count for each deal
/// with a per-customer cap), and a savepoint if L + D > 1.
pub(crate) async fn checkout_in(
    conn: &mut SqliteConnection,
    tenant: TenantId,
    o: &NewOrder,
    batch: &mut Batch,
) -> StoreResult<StoreResult<CheckoutOutcome>> {
    let mut undo = Undo::default();
    let result = claim(conn, tenant, o, batch, &mut undo).await;
    if !matches!(result, Ok(CheckoutOutcome::Created(_))) {
        match undo.savepoint {
            Some(name) => {
                for sql in [format!("ROLLBACK TO {name}"), format!("RELEASE {name}")] {
                    sqlx::query(&sql).execute(&mut *conn).await.map_err(other)?;
                }
                if name == OUTER {
                    batch.savepoint = false;
                }
            }
            // Its one write succeeded, then it failed (a corrupt row):
            // nothing can undo that write but dropping the batch.
            None if undo.wrote => {
                return Err(match result {
                    Err(e) => e,
                    Ok(_) => StoreError::Other("a checkout wrote, then was refused".into()),
                });
            }
            None => {}
        }
    }
    // A created order's savepoint stays open until `write_batch`.
    Ok(result)
}

/// How to undo a refused checkout's writes.
#[derive(Default)]
struct Undo {
    /// The savepoint it wrote in, if it wrote more than once.
    savepoint: Option<&'static str>,
    /// Whether it wrote.
    wrote: bool,
}

/// The first savepoint a batch keeps open, and the name of those nested in
/// it: releasing the outer one releases them all at once.
/// Two attempts in flight could both be collected.
const PAYMENT_PENDING: &str =
    "a payment attempt for this order is still pending; wait for its outcome";

const OUTER: &str = "checkout_batch";
const NESTED: &str = "checkout";

async fn claim(
    conn: &mut SqliteConnection,
    tenant: TenantId,
    o: &NewOrder,
    batch: &mut Batch,
    undo: &mut Undo,
) -> StoreResult<CheckoutOutcome> {
    let at = now();
    let tenant_key = tenant.to_string();
    let cart_key = o.cart_id.to_string();
    let lines = &o.quote.lines;
    let mut deals: Vec<(DealId, i64)> = Vec::with_capacity(o.quote.deals.len());
    for deal in &o.quote.deals {
        match deals.iter_mut().find(|(d, _)| *d == deal.deal_id) {
            Some((_, units)) => *units += deal.units,
            None => deals.push((deal.deal_id, deal.units)),
        }
    }

    // The key first (a replay finds the cart closed by its own order),
    // then the cart: this batch's first, then the database's.
    let batch_key = (tenant_key.clone(), o.idempotency_key.clone());
    if let Some(&i) = batch.keys.get(&batch_key) {
        let earlier = &batch.created[i];
        return Ok(if earlier.request_hash == o.request_hash {
            CheckoutOutcome::Replayed(Box::new(earlier.detail.clone()))
        } else {
            CheckoutOutcome::KeyReused
        });
    }
    let (hash, order, cart): (Option<String>, Option<String>, Option<String>) = sqlx::query_as(
        "SELECT k.request_hash, k.order_id, \
         (SELECT status FROM carts WHERE id = ?3 AND tenant_id = ?1) \
         FROM (SELECT 1) LEFT JOIN idempotency_keys k \
         ON k.tenant_id = ?1 AND k.scope = 'checkout' AND k.key = ?2",
    )
    .bind(&tenant_key)
    .bind(&o.idempotency_key)
    .bind(&cart_key)
    .fetch_one(&mut *conn)
    .await
    .map_err(other)?;
    if let (Some(hash), Some(order)) = (hash, order) {
        if hash != o.request_hash {
            return Ok(CheckoutOutcome::KeyReused);
        }
        let detail = fetch_detail(conn, tenant, &order).await?;
        return Ok(CheckoutOutcome::Replayed(Box::new(detail)));
    }
    let batch_cart = (tenant_key.clone(), cart_key);
    match cart.as_deref() {
        None => return Err(StoreError::NotFound("cart")),
        Some("open") if !batch.carts.contains(&batch_cart) => {}
        Some(_) => return Ok(CheckoutOutcome::CartClosed),
    }
    // Only now: a replay answers even if its cart has since emptied.
    if lines.is_empty() {
        return Err(StoreError::Invalid("the cart is empty"));
    }
    if lines.iter().any(|l| l.quantity < 1) {
        return Err(StoreError::Invalid("every line needs at least one unit"));
    }
    if lines.len() + deals.len() > 1 {
        let name = if batch.savepoint { NESTED } else { OUTER };
        sqlx::query(&format!("SAVEPOINT {name}"))
            .execute(&mut *conn)
            .await
            .map_err(other)?;
        batch.savepoint = true;
        undo.savepoint = Some(name);
    }

    // Reservations in variant-id order (the same order on both databases);
    // every line is tried so a refusal names them all.
    let mut by_variant: Vec<usize> = (0..lines.len()).collect();
    by_variant.sort_by_key(|&i| lines[i].variant_id);
    let mut owners: Vec<String> = vec![String::new(); lines.len()];
    let mut short = Vec::new();
    let mut repriced = Vec::new();
    for i in by_variant {
        let line = &lines[i];
        let variant = line.variant_id.to_string();
        let owner: Option<String> = sqlx::query_scalar(
            "UPDATE variants SET reserved = reserved + ?1 \
             WHERE id = ?2 AND tenant_id = ?3 AND on_hand - reserved >= ?1 AND price = ?4 \
             RETURNING product_id",
        )
        .bind(line.quantity)
        .bind(&variant)
        .bind(&tenant_key)
        .bind(line.unit_price)
        .fetch_optional(&mut *conn)
        .await
        .map_err(other)?;
        match owner {
            Some(product) => {
                undo.wrote = true;
                owners[i] = product;
            }
            None => {
                let found: Option<(i64, i64)> = sqlx::query_as(
                    "SELECT price, on_hand - reserved FROM variants WHERE id = ? AND tenant_id = ?",
                )
                .bind(&variant)
                .bind(&tenant_key)
                .fetch_optional(&mut *conn)
                .await
                .map_err(other)?;
                match found {
                    Some((price, _)) if price != line.unit_price => {
                        repriced.push(line.variant_id);
                    }
                    found => short.push(Shortage {
                        variant_id: line.variant_id,
                        sku: line.sku.clone(),
                        requested: line.quantity,
                        available: found.map_or(0, |(_, available)| available.max(0)),
                    }),
                }
            }
        }
    }
    // A changed price makes the whole quote stale: the shopper re-prices
    // first (and then sees any shortage).
    if !repriced.is_empty() {
        return Ok(CheckoutOutcome::PriceChanged(repriced));
    }
    if !short.is_empty() {
        return Ok(CheckoutOutcome::ShortOfStock(short));
    }

    // Deal caps, each claimed by a conditional update; the per-customer
    // cap counts this batch's uses too.
    let mut unavailable = Vec::new();
    for &(deal, units) in &deals {
        let claimed: Option<i64> = sqlx::query_scalar(
            "UPDATE deals SET uses = uses + 1, units_sold = units_sold + ?1 \
             WHERE id = ?2 AND tenant_id = ?3 AND active = 1 \
             AND (starts_at IS NULL OR starts_at <= ?4) AND (ends_at IS NULL OR ends_at > ?4) \
             AND (max_uses IS NULL OR uses < max_uses) \
             AND (max_units IS NULL OR units_sold + ?1 <= max_units) \
             RETURNING coalesce(max_uses_per_customer, -1)",
        )
        .bind(units)
        .bind(deal.to_string())
        .bind(&tenant_key)
        .bind(at)
        .fetch_optional(&mut *conn)
        .await
        .map_err(other)?;
        undo.wrote |= claimed.is_some();
        match claimed {
            None => unavailable.push(deal),
            Some(cap) if cap >= 0 => {
                let stored: i64 = sqlx::query_scalar(
                    "SELECT count(*) FROM deal_uses \
                     WHERE deal_id = ? AND customer_key = ? AND released = 0",
                )
                .bind(deal.to_string())
                .bind(&o.customer_key)
                .fetch_one(&mut *conn)
                .await
                .map_err(other)?;
                let pending = batch
                    .uses
                    .get(&(deal, o.customer_key.clone()))
                    .copied()
                    .unwrap_or(0);
                if stored + pending >= cap {
                    unavailable.push(deal);
                }
            }
            Some(_) => {}
        }
    }
    if !unavailable.is_empty() {
        return Ok(CheckoutOutcome::DealUnavailable(unavailable));
    }

    // Created: everything else is recorded for `write_batch`.
    let q = &o.quote;
    let order_lines = lines
        .iter()
        .zip(&owners)
        .map(|(line, owner)| {
            Ok(OrderLine {
                id: OrderLineId::new(),
                variant_id: line.variant_id,
                product_id: id(owner)?,
                sku: line.sku.clone(),
                title: line.title.clone(),
                quantity: line.quantity,
                unit_price: line.unit_price,
                discount: line.discount,
                total: line.total,
                deal_id: line.deal_id,
                restocked: 0,
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    let detail = OrderDetail {
        order: Order {
            id: o.id,
            cart_id: o.cart_id,
            customer_id: o.customer_id,
            status: OrderStatus::PendingPayment,
            currency: o.currency.clone(),
            subtotal: q.subtotal,
            discount: q.discount,
            shipping: q.shipping,
            tax: q.tax,
            total: q.total,
            refunded: 0,
            email_sealed: o.email_sealed.clone(),
            email_index: o.email_index.clone(),
            address_sealed: o.address_sealed.clone(),
            country: o.country.clone(),
            region: o.region.clone(),
            shipping_method: o.shipping_method.clone(),
            payment_provider: o.payment.provider.clone(),
            expires_at: Some(o.expires_at),
            created_at: at,
            updated_at: at,
            lines: order_lines,
        },
        transitions: vec![OrderTransition {
            from: None,
            to: OrderStatus::PendingPayment,
            actor: o.actor.clone(),
            reason: None,
            at,
        }],
        payments: vec![Payment {
            id: o.payment.id,
            order_id: o.id,
            provider: o.payment.provider.clone(),
            reference: o.payment.reference.clone(),
            status: PaymentStatus::Pending,
            amount: o.payment.amount,
            created_at: at,
            updated_at: at,
        }],
        refunds: Vec::new(),
    };
    let (created_topic, created) = events::order_created(o);
    let payment = events::payment(
        "created",
        o.id,
        o.payment.id,
        &o.payment.provider,
        o.payment.amount,
    );
    for (line, owner) in lines.iter().zip(&owners) {
        *batch.reserved.entry(owner.clone()).or_default() += line.quantity;
    }
    for &(deal, _) in &deals {
        *batch
            .uses
            .entry((deal, o.customer_key.clone()))
            .or_default() += 1;
    }
    batch.keys.insert(batch_key, batch.created.len());
    batch.carts.insert(batch_cart);
    batch.created.push(Created {
        tenant: tenant_key,
        idempotency_key: o.idempotency_key.clone(),
        request_hash: o.request_hash.clone(),
        detail: detail.clone(),
        customer_key: o.customer_key.clone(),
        deals,
        events: vec![(created_topic.to_owned(), created), payment],
    });
    Ok(CheckoutOutcome::Created(Box::new(detail)))
}

/// Rows per batch statement. A statement's text depends on its row count,
/// and preparing a statement of many rows costs more than running it, so
/// batch statements come in these sizes only (each stays in the
/// connection's statement cache) and unused rows are bound to NULL and
/// skipped.
const BATCH_ROWS: [usize; 3] = [4, 32, 256];

/// Splits `rows` into chunks of at most the largest size, each with the
/// statement size that fits it.
fn sized<T>(rows: &[T]) -> impl Iterator<Item = (&[T], usize)> {
    let largest = BATCH_ROWS[BATCH_ROWS.len() - 1];
    rows.chunks(largest).map(move |chunk| {
        let size = BATCH_ROWS
            .into_iter()
            .find(|&n| n >= chunk.len())
            .unwrap_or(largest);
        (chunk, size)
    })
}

/// `INSERT INTO {head} SELECT … FROM (VALUES {tuple}, …)` over `rows`;
/// `tuple` has `binds` parameters, the first the (never NULL) id.
async fn insert_rows<T>(
    conn: &mut SqliteConnection,
    head: &str,
    tuple: &str,
    binds: usize,
    rows: &[T],
    bind: impl for<'q> Fn(
        sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>,
        &'q T,
    )
        -> sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>,
) -> StoreResult<()> {
    for (chunk, size) in sized(rows) {
        let sql = format!(
            "INSERT INTO {head} SELECT * FROM (VALUES {}) WHERE column1 IS NOT NULL",
            vec![tuple; size].join(", ")
        );
        let mut q = sqlx::query(&sql);
        for row in chunk {
            q = bind(q, row);
        }
        for _ in 0..(size - chunk.len()) * binds {
            q = q.bind(None::<i64>);
        }
        q.execute(&mut *conn).await.map_err(map_err)?;
    }
    Ok(())
}

/// Writes what the batch's created orders need besides their claims, in a
/// few multi-row statements. Runs in the batch transaction, before commit.
pub(crate) async fn write_batch(conn: &mut SqliteConnection, batch: &Batch) -> StoreResult<()> {
    // Savepoints kept open would copy every page written below into the
    // savepoint journal.
    if batch.savepoint {
        sqlx::query(&format!("RELEASE {OUTER}"))
            .execute(&mut *conn)
            .await
            .map_err(other)?;
    }
    if batch.created.is_empty() {
        return Ok(());
    }
    // Each reserved unit came out of a variant's positive available stock,
    // so each product's summary drops by exactly its reserved units.
    let reserved: Vec<(&String, &i64)> = batch.reserved.iter().collect();
    for (chunk, size) in sized(&reserved) {
        let sql = format!(
            "UPDATE products SET available = available - v.column2 \
             FROM (VALUES {}) AS v WHERE products.id = v.column1",
            vec!["(?, ?)"; size].join(", ")
        );
        let mut q = sqlx::query(&sql);
        for (product, units) in chunk {
            q = q.bind(product.as_str()).bind(**units);
        }
        for _ in 0..(size - chunk.len()) * 2 {
            q = q.bind(None::<i64>);
        }
        q.execute(&mut *conn).await.map_err(other)?;
    }

    let keys: Vec<&Created> = batch.created.iter().collect();
    insert_rows(
        conn,
        "idempotency_keys (tenant_id, scope, key, request_hash, order_id, created_at)",
        "(?, 'checkout', ?, ?, ?, ?)",
        5,
        &keys,
        |q, c| {
            q.bind(c.tenant.as_str())
                .bind(c.idempotency_key.as_str())
                .bind(c.request_hash.as_str())
                .bind(c.detail.order.id.to_string())
                .bind(c.detail.order.created_at)
        },
    )
    .await?;
    // The carts were read open in this transaction, which holds the write
    // lock; each closes exactly once.
    for (chunk, size) in sized(&keys) {
        let sql = format!(
            "UPDATE carts SET status = 'checked_out', order_id = v.column3, \
             updated_at = v.column4 FROM (VALUES {}) AS v \
             WHERE carts.id = v.column1 AND carts.tenant_id = v.column2 AND carts.status = 'open'",
            vec!["(?, ?, ?, ?)"; size].join(", ")
        );
        let mut q = sqlx::query(&sql);
        for c in chunk {
            let order = &c.detail.order;
            q = q
                .bind(order.cart_id.to_string())
                .bind(c.tenant.as_str())
                .bind(order.id.to_string())
                .bind(order.created_at);
        }
        for _ in 0..(size - chunk.len()) * 4 {
            q = q.bind(None::<i64>);
        }
        let closed = q.execute(&mut *conn).await.map_err(other)?.rows_affected();
        if closed != chunk.len() as u64 {
            return Err(StoreError::Other(
                "a checked-out cart was no longer open".into(),
            ));
        }
    }

    let orders: Vec<(&str, &Order)> = batch
        .created
        .iter()
        .map(|c| (c.tenant.as_str(), &c.detail.order))
        .collect();
    insert_rows(
        conn,
        "orders (id, tenant_id, cart_id, customer_id, status, currency, subtotal, discount, \
         shipping, tax, total, refunded, email_sealed, email_index, address_sealed, country, \
         region, shipping_method, payment_provider, expires_at, created_at, updated_at)",
        "(?, ?, ?, ?, 'pending_payment', ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        20,
        &orders,
        |q, (tenant, o)| {
            q.bind(o.id.to_string())
                .bind(*tenant)
                .bind(o.cart_id.to_string())
                .bind(o.customer_id.map(|c| c.to_string()))
                .bind(&o.currency)
                .bind(o.subtotal)
                .bind(o.discount)
                .bind(o.shipping)
                .bind(o.tax)
                .bind(o.total)
                .bind(&o.email_sealed)
                .bind(&o.email_index)
                .bind(&o.address_sealed)
                .bind(&o.country)
                .bind(&o.region)
                .bind(&o.shipping_method)
                .bind(&o.payment_provider)
                .bind(o.expires_at)
                .bind(o.created_at)
                .bind(o.updated_at)
        },
    )
    .await?;

    let lines: Vec<(OrderId, usize, &OrderLine)> = batch
        .created
        .iter()
        .flat_map(|c| {
            let order = c.detail.order.id;
            c.detail
                .order
                .lines
                .iter()
                .enumerate()
                .map(move |(position, line)| (order, position, line))
        })
        .collect();
    insert_rows(
        conn,
        "order_lines (id, order_id, variant_id, product_id, sku, title, quantity, unit_price, \
         discount, total, deal_id, restocked, position)",
        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?)",
        12,
        &lines,
        |q, (order, position, l)| {
            q.bind(l.id.to_string())
                .bind(order.to_string())
                .bind(l.variant_id.to_string())
                .bind(l.product_id.to_string())
                .bind(&l.sku)
                .bind(&l.title)
                .bind(l.quantity)
                .bind(l.unit_price)
                .bind(l.discount)
                .bind(l.total)
                .bind(l.deal_id.map(|d| d.to_string()))
                .bind(*position as i64)
        },
    )
    .await?;

    let firsts: Vec<(OrderId, &OrderTransition)> = batch
        .created
        .iter()
        .map(|c| (c.detail.order.id, &c.detail.transitions[0]))
        .collect();
    insert_rows(
        conn,
        "order_transitions (id, order_id, from_status, to_status, actor, reason, at)",
        "(?, ?, NULL, 'pending_payment', ?, NULL, ?)",
        4,
        &firsts,
        |q, (order, t)| {
            q.bind(uuid::Uuid::now_v7().to_string())
                .bind(order.to_string())
                .bind(&t.actor)
                .bind(t.at)
        },
    )
    .await?;

    let payments: Vec<(&str, &Payment)> = batch
        .created
        .iter()
        .map(|c| (c.tenant.as_str(), &c.detail.payments[0]))
        .collect();
    insert_rows(
        conn,
        "payments (id, tenant_id, order_id, provider, reference, status, amount, created_at, \
         updated_at)",
        "(?, ?, ?, ?, ?, 'pending', ?, ?, ?)",
        8,
        &payments,
        |q, (tenant, p)| {
            q.bind(p.id.to_string())
                .bind(*tenant)
                .bind(p.order_id.to_string())
                .bind(&p.provider)
                .bind(&p.reference)
                .bind(p.amount)
                .bind(p.created_at)
                .bind(p.updated_at)
        },
    )
    .await?;

    let uses: Vec<(OrderId, &str, DealId, i64)> = batch
        .created
        .iter()
        .flat_map(|c| {
            c.deals
                .iter()
                .map(|&(deal, units)| (c.detail.order.id, c.customer_key.as_str(), deal, units))
        })
        .collect();
    insert_rows(
        conn,
        "deal_uses (order_id, deal_id, customer_key, units, released)",
        "(?, ?, ?, ?, 0)",
        4,
        &uses,
        |q, (order, customer, deal, units)| {
            q.bind(order.to_string())
                .bind(deal.to_string())
                .bind(*customer)
                .bind(*units)
        },
    )
    .await?;

    let events: Vec<(&str, String, &str, String, DateTime<Utc>)> = batch
        .created
        .iter()
        .flat_map(|c| {
            let order = c.detail.order.id.to_string();
            let at = c.detail.order.created_at;
            c.events.iter().map(move |(topic, payload)| {
                (
                    c.tenant.as_str(),
                    subject(&order),
                    topic.as_str(),
                    payload.to_string(),
                    at,
                )
            })
        })
        .collect();
    insert_rows(
        conn,
        "outbox_events (id, tenant_id, topic, subject, payload, created_at)",
        "(?, ?, ?, ?, ?, ?)",
        6,
        &events,
        |q, (tenant, subject, topic, payload, at)| {
            q.bind(EventId::new().to_string())
                .bind(*tenant)
                .bind(*topic)
                .bind(subject.as_str())
                .bind(payload.as_str())
                .bind(*at)
        },
    )
    .await?;
    Ok(())
}

// ---------------------------------------------------------------- orders

/// The lines of these orders, each order's in position order.
async fn fetch_lines(
    conn: &mut SqliteConnection,
    orders: &[&str],
) -> StoreResult<HashMap<String, Vec<OrderLine>>> {
    let mut out: HashMap<String, Vec<OrderLine>> = HashMap::new();
    if orders.is_empty() {
        return Ok(out);
    }
    let sql = format!(
        "SELECT {LINE_COLUMNS} FROM order_lines WHERE order_id IN ({}) \
         ORDER BY order_id, position",
        placeholders(orders.len())
    );
    let mut q = sqlx::query_as::<_, LineRow>(&sql);
    for o in orders {
        q = q.bind(*o);
    }
    for row in q.fetch_all(&mut *conn).await.map_err(other)? {
        let order = row.order_id.clone();
        out.entry(order).or_default().push(row.try_into()?);
    }
    Ok(out)
}

async fn fetch_order_row(
    conn: &mut SqliteConnection,
    tenant: TenantId,
    order: &str,
) -> StoreResult<OrderRow> {
    let row: Option<OrderRow> = sqlx::query_as(&format!(
        "SELECT {ORDER_COLUMNS} FROM orders WHERE id = ? AND tenant_id = ?"
    ))
    .bind(order)
    .bind(tenant.to_string())
    .fetch_optional(&mut *conn)
    .await
    .map_err(other)?;
    row.ok_or(StoreError::NotFound("order"))
}

/// An order with its lines, transitions, payments and refunds.
async fn fetch_detail(
    conn: &mut SqliteConnection,
    tenant: TenantId,
    order: &str,
) -> StoreResult<OrderDetail> {
    let row = fetch_order_row(conn, tenant, order).await?;
    let lines = fetch_lines(conn, &[order])
        .await?
        .remove(order)
        .unwrap_or_default();
    let transitions: Vec<TransitionRow> = sqlx::query_as(
        "SELECT from_status, to_status, actor, reason, at FROM order_transitions \
         WHERE order_id = ? ORDER BY id",
    )
    .bind(order)
    .fetch_all(&mut *conn)
    .await
    .map_err(other)?;
    let payments: Vec<PaymentRow> = sqlx::query_as(
        "SELECT id, order_id, provider, reference, status, amount, created_at, updated_at \
         FROM payments WHERE order_id = ? ORDER BY id",
    )
    .bind(order)
    .fetch_all(&mut *conn)
    .await
    .map_err(other)?;
    let refunds: Vec<RefundRow> = sqlx::query_as(
        "SELECT id, amount, reason, restock, actor, created_at FROM refunds \
         WHERE order_id = ? ORDER BY id",
    )
    .bind(order)
    .fetch_all(&mut *conn)
    .await
    .map_err(other)?;
    Ok(OrderDetail {
        order: row.into_order(lines)?,
        transitions: transitions
            .into_iter()
            .map(|t| {
                Ok(OrderTransition {
                    from: t.from_status.as_deref().map(order_status).transpose()?,
                    to: order_status(&t.to_status)?,
                    actor: t.actor,
                    reason: t.reason,
                    at: t.at,
                })
            })
            .collect::<StoreResult<_>>()?,
        payments: payments
            .into_iter()
            .map(Payment::try_from)
            .collect::<StoreResult<_>>()?,
        refunds: refunds
            .into_iter()
            .map(|r| {
                Ok(Refund {
                    id: id(&r.id)?,
                    amount: r.amount,
                    reason: r.reason,
                    restock: serde_json::from_str::<Vec<RestockLine>>(&r.restock).map_err(other)?,
                    actor: r.actor,
                    created_at: r.created_at,
                })
            })
            .collect::<StoreResult<_>>()?,
    })
}

/// A static refusal for a move the state machine does not allow.
fn illegal_move(to: OrderStatus) -> StoreError {
    StoreError::Invalid(match to {
        OrderStatus::Paid => "only an order awaiting payment can be paid",
        OrderStatus::Fulfilled => "only a paid order can be fulfilled",
        OrderStatus::Delivered => "only a fulfilled order can be delivered",
        OrderStatus::Cancelled => "only an order awaiting payment can be cancelled",
        OrderStatus::Refunded => "an order is refunded by refunding its total",
        OrderStatus::PendingPayment => "an order cannot go back to awaiting payment",
    })
}

/// Moves an order from `from` (the status just read in this transaction)
/// to `to` with the stock and deal effects of the move, its transition,
/// outbox event and (for staff) audit entry. `false` if the order was no
/// longer in `from`: nothing was written.
#[allow(clippy::too_many_arguments)]
async fn move_order(
    conn: &mut SqliteConnection,
    tenant: TenantId,
    order: &str,
    from: OrderStatus,
    to: OrderStatus,
    actor: &str,
    reason: Option<&str>,
    audit: Option<&AuditContext>,
) -> StoreResult<bool> {
    let at = now();
    let moved = sqlx::query(
        "UPDATE orders SET status = ?, updated_at = ? WHERE id = ? AND tenant_id = ? AND status = ?",
    )
    .bind(to.as_str())
    .bind(at)
    .bind(order)
    .bind(tenant.to_string())
    .bind(from.as_str())
    .execute(&mut *conn)
    .await
    .map_err(other)?
    .rows_affected();
    if moved == 0 {
        return Ok(false);
    }
    let tenant_key = tenant.to_string();
    match to {
        OrderStatus::Paid => {
            // The reservation becomes a sale: on_hand - reserved, and so
            // the product's available stock, does not change.
            let lines: Vec<(String, i64)> =
                sqlx::query_as("SELECT variant_id, quantity FROM order_lines WHERE order_id = ?")
                    .bind(order)
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(other)?;
            let why = format!("order {order} paid");
            for (variant, quantity) in lines {
                let after: Option<i64> = sqlx::query_scalar(
                    "UPDATE variants SET on_hand = on_hand - ?1, reserved = reserved - ?1, \
                     updated_at = ?2 WHERE id = ?3 AND tenant_id = ?4 RETURNING on_hand",
                )
                .bind(quantity)
                .bind(at)
                .bind(&variant)
                .bind(&tenant_key)
                .fetch_optional(&mut *conn)
                .await
                .map_err(other)?;
                // A variant deleted with its product since checkout has no
                // stock left to sell from.
                if let Some(after) = after {
                    record_ledger(conn, tenant, &variant, -quantity, &why, after, actor).await?;
                }
            }
        }
        OrderStatus::Cancelled => {
            let lines: Vec<(String, String, i64)> = sqlx::query_as(
                "SELECT variant_id, product_id, quantity FROM order_lines WHERE order_id = ?",
            )
            .bind(order)
            .fetch_all(&mut *conn)
            .await
            .map_err(other)?;
            let mut products: Vec<String> = Vec::new();
            for (variant, product, quantity) in lines {
                sqlx::query(
                    "UPDATE variants SET reserved = max(reserved - ?, 0) \
                     WHERE id = ? AND tenant_id = ?",
                )
                .bind(quantity)
                .bind(&variant)
                .bind(&tenant_key)
                .execute(&mut *conn)
                .await
                .map_err(other)?;
                if !products.contains(&product) {
                    products.push(product);
                }
            }
            for product in &products {
                refresh_summary(conn, product).await?;
            }
            release_deals(conn, order).await?;
        }
        OrderStatus::Fulfilled | OrderStatus::Delivered | OrderStatus::Refunded => {}
        OrderStatus::PendingPayment => return Err(illegal_move(to)),
    }
    insert_transition(conn, order, Some(from), to, actor, reason, at).await?;
    let (topic, payload) = events::order_moved(id(order)?, from, to, actor, reason);
    insert_events(
        conn,
        &tenant_key,
        &subject(order),
        &[(&topic, &payload)],
        at,
    )
    .await?;
    if let Some(ctx) = audit {
        audit::append(
            conn,
            &tenant_key,
            ctx,
            &format!("order.{}", to.as_str()),
            &format!("order:{order}"),
            Some(json!({ "status": from.as_str() })),
            Some(json!({ "status": to.as_str(), "reason": reason })),
        )
        .await?;
    }
    Ok(true)
}

/// Gives back the deal uses of a cancelled order.
async fn release_deals(conn: &mut SqliteConnection, order: &str) -> StoreResult<()> {
    let uses: Vec<(String, i64)> =
        sqlx::query_as("SELECT deal_id, units FROM deal_uses WHERE order_id = ? AND released = 0")
            .bind(order)
            .fetch_all(&mut *conn)
            .await
            .map_err(other)?;
    if uses.is_empty() {
        return Ok(());
    }
    for (deal, units) in &uses {
        sqlx::query(
            "UPDATE deals SET uses = max(uses - 1, 0), units_sold = max(units_sold - ?, 0) \
             WHERE id = ?",
        )
        .bind(units)
        .bind(deal)
        .execute(&mut *conn)
        .await
        .map_err(other)?;
    }
    sqlx::query("UPDATE deal_uses SET released = 1 WHERE order_id = ? AND released = 0")
        .bind(order)
        .execute(&mut *conn)
        .await
        .map_err(other)?;
    Ok(())
}

async fn refund_in(
    conn: &mut SqliteConnection,
    tenant: TenantId,
    order: &str,
    refund: &NewRefund,
    by: &TransitionActor<'_>,
) -> StoreResult<()> {
    let row = fetch_order_row(conn, tenant, order).await?;
    let status = order_status(&row.status)?;
    if !OrderStatus::sources(OrderStatus::Refunded).contains(&status) {
        return Err(StoreError::Invalid(
            "only paid, fulfilled or delivered orders can be refunded",
        ));
    }
    let left = row.total - row.refunded;
    if refund.amount < 1 || refund.amount > left {
        return Err(StoreError::Invalid(
            "the refund must be at least 1 and at most what is left unrefunded",
        ));
    }
    let tenant_key = tenant.to_string();
    let at = now();
    let why = format!("order {order} refund");
    let mut products: Vec<String> = Vec::new();
    for restock in &refund.restock {
        let line: Option<(String, String, i64, i64)> = sqlx::query_as(
            "SELECT variant_id, product_id, quantity, restocked FROM order_lines \
             WHERE id = ? AND order_id = ?",
        )
        .bind(restock.line_id.to_string())
        .bind(order)
        .fetch_optional(&mut *conn)
        .await
        .map_err(other)?;
        let (variant, product, quantity, restocked) =
            line.ok_or(StoreError::UnknownReference { field: "restock" })?;
        if restock.quantity < 1 {
            return Err(StoreError::Invalid("a restock needs at least one unit"));
        }
        if restock.quantity > quantity - restocked {
            return Err(StoreError::Invalid(
                "a line cannot restock more units than it has left to restock",
            ));
        }
        sqlx::query("UPDATE order_lines SET restocked = restocked + ? WHERE id = ?")
            .bind(restock.quantity)
            .bind(restock.line_id.to_string())
            .execute(&mut *conn)
            .await
            .map_err(other)?;
        let after: Option<i64> = sqlx::query_scalar(
            "UPDATE variants SET on_hand = on_hand + ?, updated_at = ? \
             WHERE id = ? AND tenant_id = ? RETURNING on_hand",
        )
        .bind(restock.quantity)
        .bind(at)
        .bind(&variant)
        .bind(&tenant_key)
        .fetch_optional(&mut *conn)
        .await
        .map_err(other)?;
        // A variant deleted since the sale takes no stock back.
        if let Some(after) = after {
            record_ledger(
                conn,
                tenant,
                &variant,
                restock.quantity,
                &why,
                after,
                by.actor,
            )
            .await?;
            if !products.contains(&product) {
                products.push(product);
            }
        }
    }
    for product in &products {
        refresh_summary(conn, product).await?;
    }
    sqlx::query(
        "INSERT INTO refunds (id, order_id, amount, reason, restock, actor, created_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(refund.id.to_string())
    .bind(order)
    .bind(refund.amount)
    .bind(&refund.reason)
    .bind(serde_json::to_string(&refund.restock).map_err(other)?)
    .bind(by.actor)
    .bind(at)
    .execute(&mut *conn)
    .await
    .map_err(other)?;
    sqlx::query("UPDATE orders SET refunded = refunded + ?, updated_at = ? WHERE id = ?")
        .bind(refund.amount)
        .bind(at)
        .bind(order)
        .execute(&mut *conn)
        .await
        .map_err(other)?;
    let order_id: OrderId = id(order)?;
    let (topic, payload) = events::refund_created(order_id, refund);
    insert_events(conn, &tenant_key, &subject(order), &[(topic, &payload)], at).await?;
    if let Some(ctx) = by.audit {
        audit::append(
            conn,
            &tenant_key,
            ctx,
            "order.refund",
            &format!("order:{order}"),
            Some(json!({ "status": status.as_str(), "refunded": row.refunded })),
            Some(json!({
                "refunded": row.refunded + refund.amount, "refund_id": refund.id,
                "amount": refund.amount, "reason": refund.reason, "restock": refund.restock,
            })),
        )
        .await?;
    }
    if refund.amount == left {
        // The refund's own audit entry covers the move (as on PostgreSQL).
        let reason = refund.reason.as_deref().or(by.reason);
        let moved = move_order(
            conn,
            tenant,
            order,
            status,
            OrderStatus::Refunded,
            by.actor,
            reason,
            None,
        )
        .await?;
        if !moved {
            return Err(illegal_move(OrderStatus::Refunded));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- deals

async fn fetch_deal(
    conn: &mut SqliteConnection,
    tenant: TenantId,
    clause: &str,
    value: &str,
) -> StoreResult<Deal> {
    let row: Option<DealRow> = sqlx::query_as(&format!(
        "SELECT {DEAL_COLUMNS} FROM deals WHERE tenant_id = ? AND {clause}"
    ))
    .bind(tenant.to_string())
    .bind(value)
    .fetch_optional(&mut *conn)
    .await
    .map_err(other)?;
    row.ok_or(StoreError::NotFound("deal"))?.try_into()
}

fn deal_json(deal: &Deal) -> StoreResult<Value> {
    serde_json::to_value(deal).map_err(other)
}

// ---------------------------------------------------------------- the trait

#[async_trait]
impl CommerceStore for SqliteStore {
    async fn create_cart(&self, tenant: TenantId, cart: &NewCart) -> StoreResult<Cart> {
        let at = now();
        sqlx::query(
            "INSERT INTO carts (id, tenant_id, customer_id, token_hash, status, created_at, \
             updated_at) VALUES (?, ?, ?, ?, 'open', ?, ?)",
        )
        .bind(cart.id.to_string())
        .bind(tenant.to_string())
        .bind(cart.customer_id.map(|c| c.to_string()))
        .bind(&cart.token_hash)
        .bind(at)
        .bind(at)
        .execute(&self.pool)
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

    async fn cart(&self, tenant: TenantId, id: CartId) -> StoreResult<Cart> {
        let mut conn = self.pool.acquire().await.map_err(other)?;
        fetch_cart(&mut conn, tenant, id).await
    }

    async fn update_cart(
        &self,
        tenant: TenantId,
        id: CartId,
        patch: &CartPatch,
    ) -> StoreResult<Cart> {
        let mut tx = write_tx(&self.pool).await?;
        let cart = fetch_cart(&mut tx, tenant, id).await?;
        if cart.status != CartStatus::Open {
            return Err(StoreError::Invalid("the cart is checked out"));
        }
        let pick = |new: &Option<Option<String>>, old: Option<String>| match new {
            Some(v) => v.clone(),
            None => old,
        };
        sqlx::query(
            "UPDATE carts SET coupon_code = ?, shipping_method = ?, country = ?, region = ?, \
             updated_at = ? WHERE id = ?",
        )
        .bind(pick(&patch.coupon_code, cart.coupon_code))
        .bind(pick(&patch.shipping_method, cart.shipping_method))
        .bind(pick(&patch.country, cart.country))
        .bind(pick(&patch.region, cart.region))
        .bind(now())
        .bind(id.to_string())
        .execute(&mut *tx)
        .await
        .map_err(other)?;
        let cart = fetch_cart(&mut tx, tenant, id).await?;
        tx.commit().await.map_err(other)?;
        Ok(cart)
    }

    async fn add_cart_item(
        &self,
        tenant: TenantId,
        cart: CartId,
        variant: VariantId,
        quantity: i64,
    ) -> StoreResult<Cart> {
        check_line_quantity(quantity)?;
        let mut tx = write_tx(&self.pool).await?;
        require_open(&mut tx, tenant, cart).await?;
        let known: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM variants WHERE id = ? AND tenant_id = ?")
                .bind(variant.to_string())
                .bind(tenant.to_string())
                .fetch_optional(&mut *tx)
                .await
                .map_err(other)?;
        if known.is_none() {
            return Err(StoreError::UnknownReference {
                field: "variant_id",
            });
        }
        let line: Option<(String, i64)> = sqlx::query_as(
            "SELECT id, quantity FROM cart_items WHERE cart_id = ? AND variant_id = ?",
        )
        .bind(cart.to_string())
        .bind(variant.to_string())
        .fetch_optional(&mut *tx)
        .await
        .map_err(other)?;
        match line {
            Some((item, held)) => {
                check_line_quantity(held.saturating_add(quantity))?;
                sqlx::query("UPDATE cart_items SET quantity = ? WHERE id = ?")
                    .bind(held + quantity)
                    .bind(item)
                    .execute(&mut *tx)
                    .await
                    .map_err(other)?;
            }
            None => {
                let lines: i64 =
                    sqlx::query_scalar("SELECT count(*) FROM cart_items WHERE cart_id = ?")
                        .bind(cart.to_string())
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(other)?;
                if lines >= MAX_CART_LINES as i64 {
                    return Err(StoreError::Invalid("a cart holds at most 100 lines"));
                }
                sqlx::query(
                    "INSERT INTO cart_items (id, cart_id, variant_id, quantity, created_at) \
                     VALUES (?, ?, ?, ?, ?)",
                )
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
        touch_cart(&mut tx, cart).await?;
        let out = fetch_cart(&mut tx, tenant, cart).await?;
        tx.commit().await.map_err(other)?;
        Ok(out)
    }

    async fn set_cart_item(
        &self,
        tenant: TenantId,
        cart: CartId,
        item: CartItemId,
        quantity: i64,
    ) -> StoreResult<Cart> {
        check_line_quantity(quantity)?;
        let mut tx = write_tx(&self.pool).await?;
        require_open(&mut tx, tenant, cart).await?;
        let changed =
            sqlx::query("UPDATE cart_items SET quantity = ? WHERE id = ? AND cart_id = ?")
                .bind(quantity)
                .bind(item.to_string())
                .bind(cart.to_string())
                .execute(&mut *tx)
                .await
                .map_err(other)?
                .rows_affected();
        if changed == 0 {
            return Err(StoreError::NotFound("cart item"));
        }
        touch_cart(&mut tx, cart).await?;
        let out = fetch_cart(&mut tx, tenant, cart).await?;
        tx.commit().await.map_err(other)?;
        Ok(out)
    }

    async fn remove_cart_item(
        &self,
        tenant: TenantId,
        cart: CartId,
        item: CartItemId,
    ) -> StoreResult<Cart> {
        let mut tx = write_tx(&self.pool).await?;
        require_open(&mut tx, tenant, cart).await?;
        let removed = sqlx::query("DELETE FROM cart_items WHERE id = ? AND cart_id = ?")
            .bind(item.to_string())
            .bind(cart.to_string())
            .execute(&mut *tx)
            .await
            .map_err(other)?
            .rows_affected();
        if removed == 0 {
            return Err(StoreError::NotFound("cart item"));
        }
        touch_cart(&mut tx, cart).await?;
        let out = fetch_cart(&mut tx, tenant, cart).await?;
        tx.commit().await.map_err(other)?;
        Ok(out)
    }

    async fn sale_variants(
        &self,
        tenant: TenantId,
        variants: &[VariantId],
    ) -> StoreResult<Vec<SaleVariant>> {
        if variants.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT v.id, v.product_id, v.sku, v.title, p.title, p.status, v.price, \
             (SELECT group_concat(pc.category_id) FROM product_categories pc \
              WHERE pc.product_id = p.id) \
             FROM variants v JOIN products p ON p.id = v.product_id \
             WHERE v.tenant_id = ?1 AND v.id IN ({})",
            (2..variants.len() + 2)
                .map(|n| format!("?{n}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        type Row = (
            String,
            String,
            String,
            String,
            String,
            String,
            i64,
            Option<String>,
        );
        let mut q = sqlx::query_as::<_, Row>(&sql).bind(tenant.to_string());
        for v in variants {
            q = q.bind(v.to_string());
        }
        let rows = q.fetch_all(&self.pool).await.map_err(other)?;
        rows.into_iter()
            .map(|(v, p, sku, vt, pt, status, price, cats)| {
                Ok(SaleVariant {
                    variant_id: id(&v)?,
                    product_id: id(&p)?,
                    sku,
                    variant_title: vt,
                    product_title: pt,
                    status: storekeep_domain::ProductStatus::parse(&status)
                        .map_err(|e| StoreError::Other(e.into()))?,
                    price,
                    categories: cats
                        .as_deref()
                        .unwrap_or("")
                        .split(',')
                        .filter(|c| !c.is_empty())
                        .map(id)
                        .collect::<StoreResult<_>>()?,
                })
            })
            .collect()
    }

    async fn checkout(&self, tenant: TenantId, order: &NewOrder) -> StoreResult<CheckoutOutcome> {
        self.checkouts.run(tenant, order.clone()).await
    }

    async fn order(&self, tenant: TenantId, id: OrderId) -> StoreResult<OrderDetail> {
        // One read transaction: the parts come from one snapshot.
        let mut tx = self.pool.begin().await.map_err(other)?;
        let detail = fetch_detail(&mut tx, tenant, &id.to_string()).await?;
        tx.commit().await.map_err(other)?;
        Ok(detail)
    }

    async fn list_orders(
        &self,
        tenant: TenantId,
        filter: &OrderFilter,
        page: &PageRequest,
    ) -> StoreResult<Page<Order>> {
        enum Arg {
            Text(String),
            Time(DateTime<Utc>),
            Int(i64),
        }
        let before = storekeep_store::parse_cursor(page)?
            .map(|u| u.to_string())
            .unwrap_or_else(|| "~".into());
        let mut sql = format!("SELECT {ORDER_COLUMNS} FROM orders WHERE tenant_id = ? AND id < ?");
        let mut args = vec![Arg::Text(tenant.to_string()), Arg::Text(before)];
        if let Some(status) = filter.status {
            sql.push_str(" AND status = ?");
            args.push(Arg::Text(status.as_str().into()));
        }
        if let Some(customer) = filter.customer_id {
            sql.push_str(" AND customer_id = ?");
            args.push(Arg::Text(customer.to_string()));
        }
        if let Some(index) = &filter.email_index {
            sql.push_str(" AND email_index = ?");
            args.push(Arg::Text(index.clone()));
        }
        if let Some(from) = filter.created_from {
            sql.push_str(" AND created_at >= ?");
            args.push(Arg::Time(from));
        }
        if let Some(to) = filter.created_to {
            sql.push_str(" AND created_at <= ?");
            args.push(Arg::Time(to));
        }
        sql.push_str(" ORDER BY id DESC LIMIT ?");
        args.push(Arg::Int(page.fetch_limit()));
        let mut q = sqlx::query_as::<_, OrderRow>(&sql);
        for a in args {
            q = match a {
                Arg::Text(s) => q.bind(s),
                Arg::Time(t) => q.bind(t),
                Arg::Int(i) => q.bind(i),
            };
        }
        let mut tx = self.pool.begin().await.map_err(other)?;
        let rows = q.fetch_all(&mut *tx).await.map_err(other)?;
        let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        let keys: Vec<&str> = ids.iter().map(String::as_str).collect();
        let mut lines = fetch_lines(&mut tx, &keys).await?;
        tx.commit().await.map_err(other)?;
        let orders = rows
            .into_iter()
            .map(|r| {
                let l = lines.remove(&r.id).unwrap_or_default();
                r.into_order(l)
            })
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Page::from_rows(orders, page, |o| o.id.to_string()))
    }

    async fn transition_order(
        &self,
        tenant: TenantId,
        id: OrderId,
        to: OrderStatus,
        by: &TransitionActor<'_>,
    ) -> StoreResult<OrderDetail> {
        if matches!(to, OrderStatus::Refunded | OrderStatus::PendingPayment) {
            return Err(illegal_move(to));
        }
        let key = id.to_string();
        let mut tx = write_tx(&self.pool).await?;
        let from = order_status(&fetch_order_row(&mut tx, tenant, &key).await?.status)?;
        if !from.can_move_to(to) {
            return Err(illegal_move(to));
        }
        if !move_order(
            &mut tx, tenant, &key, from, to, by.actor, by.reason, by.audit,
        )
        .await?
        {
            return Err(illegal_move(to));
        }
        let detail = fetch_detail(&mut tx, tenant, &key).await?;
        tx.commit().await.map_err(other)?;
        Ok(detail)
    }

    async fn refund_order(
        &self,
        tenant: TenantId,
        id: OrderId,
        refund: &NewRefund,
        by: &TransitionActor<'_>,
    ) -> StoreResult<OrderDetail> {
        let key = id.to_string();
        let mut tx = write_tx(&self.pool).await?;
        refund_in(&mut tx, tenant, &key, refund, by).await?;
        let detail = fetch_detail(&mut tx, tenant, &key).await?;
        tx.commit().await.map_err(other)?;
        Ok(detail)
    }

    async fn expire_orders(&self, now: DateTime<Utc>, limit: i64) -> StoreResult<u64> {
        // Most sweeps find nothing: look before taking the write lock.
        let any: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM orders WHERE status = 'pending_payment' AND expires_at <= ? LIMIT 1",
        )
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(other)?;
        if any.is_none() {
            return Ok(0);
        }
        let mut tx = write_tx(&self.pool).await?;
        let due: Vec<(String, String)> = sqlx::query_as(
            "SELECT id, tenant_id FROM orders \
             WHERE status = 'pending_payment' AND expires_at <= ? \
             ORDER BY expires_at, id LIMIT ?",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await
        .map_err(other)?;
        let mut cancelled = 0;
        for (order, tenant) in due {
            let moved = move_order(
                &mut tx,
                id(&tenant)?,
                &order,
                OrderStatus::PendingPayment,
                OrderStatus::Cancelled,
                "system",
                Some("payment timeout"),
                None,
            )
            .await?;
            if moved {
                cancelled += 1;
            }
        }
        tx.commit().await.map_err(other)?;
        Ok(cancelled)
    }

    async fn create_payment(
        &self,
        tenant: TenantId,
        order: OrderId,
        payment: &NewPayment,
    ) -> StoreResult<OrderDetail> {
        let key = order.to_string();
        let tenant_key = tenant.to_string();
        let mut tx = write_tx(&self.pool).await?;
        let row = fetch_order_row(&mut tx, tenant, &key).await?;
        if order_status(&row.status)? != OrderStatus::PendingPayment {
            return Err(StoreError::Invalid(
                "only an order awaiting payment can take a payment",
            ));
        }
        let pending: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM payments WHERE order_id = ? AND status = 'pending' LIMIT 1",
        )
        .bind(&key)
        .fetch_optional(&mut *tx)
        .await
        .map_err(other)?;
        if pending.is_some() {
            return Err(StoreError::Invalid(PAYMENT_PENDING));
        }
        let at = now();
        insert_payment(&mut tx, &tenant_key, &key, payment, at).await?;
        let (topic, payload) = events::payment(
            "created",
            order,
            payment.id,
            &payment.provider,
            payment.amount,
        );
        insert_events(
            &mut tx,
            &tenant_key,
            &subject(&key),
            &[(&topic, &payload)],
            at,
        )
        .await?;
        let detail = fetch_detail(&mut tx, tenant, &key).await?;
        tx.commit().await.map_err(other)?;
        Ok(detail)
    }

    async fn payment_by_reference(
        &self,
        provider: &str,
        reference: &str,
    ) -> StoreResult<(TenantId, OrderId)> {
        let row: Option<(String, String)> = sqlx::query_as(
            "SELECT tenant_id, order_id FROM payments WHERE provider = ? AND reference = ?",
        )
        .bind(provider)
        .bind(reference)
        .fetch_optional(&self.pool)
        .await
        .map_err(other)?;
        let (tenant, order) = row.ok_or(StoreError::NotFound("payment"))?;
        Ok((id(&tenant)?, id(&order)?))
    }

    async fn settle_payment(
        &self,
        provider: &str,
        reference: &str,
        event_id: &str,
        outcome: PaymentOutcome,
        by: &TransitionActor<'_>,
    ) -> StoreResult<Settlement> {
        let mut tx = write_tx(&self.pool).await?;
        let found: Option<(String, String, String, String, i64)> = sqlx::query_as(
            "SELECT id, tenant_id, order_id, status, amount FROM payments \
             WHERE provider = ? AND reference = ?",
        )
        .bind(provider)
        .bind(reference)
        .fetch_optional(&mut *tx)
        .await
        .map_err(other)?;
        let (payment, tenant_key, order, status, amount) =
            found.ok_or(StoreError::NotFound("payment"))?;
        let at = now();
        let fresh = sqlx::query(
            "INSERT OR IGNORE INTO payment_events (provider, event_id, payment_id, received_at) \
             VALUES (?, ?, ?, ?)",
        )
        .bind(provider)
        .bind(event_id)
        .bind(&payment)
        .bind(at)
        .execute(&mut *tx)
        .await
        .map_err(other)?
        .rows_affected();
        if fresh == 0 {
            return Ok(Settlement::Duplicate);
        }
        if status != PaymentStatus::Pending.as_str() {
            // The event is remembered, so its replays are `Duplicate`.
            tx.commit().await.map_err(other)?;
            return Ok(Settlement::AlreadySettled);
        }
        let (new_status, what) = match outcome {
            PaymentOutcome::Confirmed => (PaymentStatus::Confirmed, "confirmed"),
            PaymentOutcome::Declined => (PaymentStatus::Declined, "declined"),
        };
        sqlx::query(
            "UPDATE payments SET status = ?, updated_at = ? WHERE id = ? AND status = 'pending'",
        )
        .bind(new_status.as_str())
        .bind(at)
        .bind(&payment)
        .execute(&mut *tx)
        .await
        .map_err(other)?;
        let tenant: TenantId = id(&tenant_key)?;
        let order_id: OrderId = id(&order)?;
        let payment_id: storekeep_domain::PaymentId = id(&payment)?;
        let (topic, payload) = events::payment(what, order_id, payment_id, provider, amount);
        insert_events(
            &mut tx,
            &tenant_key,
            &subject(&order),
            &[(&topic, &payload)],
            at,
        )
        .await?;
        let mut order_paid = false;
        if outcome == PaymentOutcome::Confirmed {
            let current = order_status(&fetch_order_row(&mut tx, tenant, &order).await?.status)?;
            if current == OrderStatus::PendingPayment {
                order_paid = move_order(
                    &mut tx,
                    tenant,
                    &order,
                    current,
                    OrderStatus::Paid,
                    by.actor,
                    by.reason,
                    by.audit,
                )
                .await?;
            }
            if !order_paid {
                let (topic, payload) =
                    events::payment("unmatched", order_id, payment_id, provider, amount);
                insert_events(
                    &mut tx,
                    &tenant_key,
                    &subject(&order),
                    &[(&topic, &payload)],
                    at,
                )
                .await?;
            }
        }
        tx.commit().await.map_err(other)?;
        Ok(Settlement::Applied { order_paid })
    }

    async fn create_deal(
        &self,
        tenant: TenantId,
        deal: &NewDeal,
        audit: &AuditContext,
    ) -> StoreResult<Deal> {
        let at = now();
        let key = deal.id.to_string();
        let mut tx = write_tx(&self.pool).await?;
        sqlx::query(
            "INSERT INTO deals (id, tenant_id, name, description, kind, value, target, \
             product_ids, category_ids, code, starts_at, ends_at, max_uses, \
             max_uses_per_customer, max_units, uses, units_sold, active, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, ?, ?, ?)",
        )
        .bind(&key)
        .bind(tenant.to_string())
        .bind(&deal.name)
        .bind(&deal.description)
        .bind(deal.kind.as_str())
        .bind(deal.value)
        .bind(deal.target.as_str())
        .bind(serde_json::to_string(&deal.product_ids).map_err(other)?)
        .bind(serde_json::to_string(&deal.category_ids).map_err(other)?)
        .bind(&deal.code)
        .bind(deal.starts_at)
        .bind(deal.ends_at)
        .bind(deal.max_uses)
        .bind(deal.max_uses_per_customer)
        .bind(deal.max_units)
        .bind(deal.active)
        .bind(at)
        .bind(at)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        let stored = fetch_deal(&mut tx, tenant, "id = ?", &key).await?;
        audit::append(
            &mut tx,
            &tenant.to_string(),
            audit,
            "deal.create",
            &format!("deal:{key}"),
            None,
            Some(deal_json(&stored)?),
        )
        .await?;
        tx.commit().await.map_err(other)?;
        Ok(stored)
    }

    async fn update_deal(
        &self,
        tenant: TenantId,
        deal: &NewDeal,
        audit: &AuditContext,
    ) -> StoreResult<Deal> {
        let key = deal.id.to_string();
        let mut tx = write_tx(&self.pool).await?;
        let before = fetch_deal(&mut tx, tenant, "id = ?", &key).await?;
        sqlx::query(
            "UPDATE deals SET name = ?, description = ?, kind = ?, value = ?, target = ?, \
             product_ids = ?, category_ids = ?, code = ?, starts_at = ?, ends_at = ?, \
             max_uses = ?, max_uses_per_customer = ?, max_units = ?, active = ?, updated_at = ? \
             WHERE id = ? AND tenant_id = ?",
        )
        .bind(&deal.name)
        .bind(&deal.description)
        .bind(deal.kind.as_str())
        .bind(deal.value)
        .bind(deal.target.as_str())
        .bind(serde_json::to_string(&deal.product_ids).map_err(other)?)
        .bind(serde_json::to_string(&deal.category_ids).map_err(other)?)
        .bind(&deal.code)
        .bind(deal.starts_at)
        .bind(deal.ends_at)
        .bind(deal.max_uses)
        .bind(deal.max_uses_per_customer)
        .bind(deal.max_units)
        .bind(deal.active)
        .bind(now())
        .bind(&key)
        .bind(tenant.to_string())
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        let after = fetch_deal(&mut tx, tenant, "id = ?", &key).await?;
        audit::append(
            &mut tx,
            &tenant.to_string(),
            audit,
            "deal.update",
            &format!("deal:{key}"),
            Some(deal_json(&before)?),
            Some(deal_json(&after)?),
        )
        .await?;
        tx.commit().await.map_err(other)?;
        Ok(after)
    }

    async fn delete_deal(
        &self,
        tenant: TenantId,
        id: DealId,
        audit: &AuditContext,
    ) -> StoreResult<()> {
        let key = id.to_string();
        let mut tx = write_tx(&self.pool).await?;
        let before = fetch_deal(&mut tx, tenant, "id = ?", &key).await?;
        sqlx::query("DELETE FROM deals WHERE id = ? AND tenant_id = ?")
            .bind(&key)
            .bind(tenant.to_string())
            .execute(&mut *tx)
            .await
            .map_err(other)?;
        audit::append(
            &mut tx,
            &tenant.to_string(),
            audit,
            "deal.delete",
            &format!("deal:{key}"),
            Some(deal_json(&before)?),
            None,
        )
        .await?;
        tx.commit().await.map_err(other)?;
        Ok(())
    }

    async fn deal(&self, tenant: TenantId, id: DealId) -> StoreResult<Deal> {
        let mut conn = self.pool.acquire().await.map_err(other)?;
        fetch_deal(&mut conn, tenant, "id = ?", &id.to_string()).await
    }

    async fn deal_by_code(&self, tenant: TenantId, code: &str) -> StoreResult<Deal> {
        let mut conn = self.pool.acquire().await.map_err(other)?;
        fetch_deal(&mut conn, tenant, "code = ?", code).await
    }

    async fn list_deals(&self, tenant: TenantId, page: &PageRequest) -> StoreResult<Page<Deal>> {
        let before = storekeep_store::parse_cursor(page)?
            .map(|u| u.to_string())
            .unwrap_or_else(|| "~".into());
        let rows: Vec<DealRow> = sqlx::query_as(&format!(
            "SELECT {DEAL_COLUMNS} FROM deals WHERE tenant_id = ? AND id < ? \
             ORDER BY id DESC LIMIT ?"
        ))
        .bind(tenant.to_string())
        .bind(before)
        .bind(page.fetch_limit())
        .fetch_all(&self.pool)
        .await
        .map_err(other)?;
        let deals = rows
            .into_iter()
            .map(Deal::try_from)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Page::from_rows(deals, page, |d| d.id.to_string()))
    }

    async fn deals_between(
        &self,
        tenant: TenantId,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<Vec<Deal>> {
        let rows: Vec<DealRow> = sqlx::query_as(&format!(
            "SELECT {DEAL_COLUMNS} FROM deals WHERE tenant_id = ? AND active = 1 \
             AND (ends_at IS NULL OR ends_at > ?) AND (starts_at IS NULL OR starts_at < ?) \
             ORDER BY id"
        ))
        .bind(tenant.to_string())
        .bind(now)
        .bind(until)
        .fetch_all(&self.pool)
        .await
        .map_err(other)?;
        rows.into_iter().map(Deal::try_from).collect()
    }

    async fn list_events(
        &self,
        tenant: TenantId,
        topic: Option<&str>,
        page: &PageRequest,
    ) -> StoreResult<Page<OutboxEvent>> {
        let after = cursor(page)?;
        let rows: Vec<(String, String, String, String, DateTime<Utc>)> = sqlx::query_as(
            "SELECT id, topic, subject, payload, created_at FROM outbox_events \
             WHERE tenant_id = ?1 AND id > ?2 AND (?3 IS NULL OR topic = ?3) \
             ORDER BY id LIMIT ?4",
        )
        .bind(tenant.to_string())
        .bind(after)
        .bind(topic)
        .bind(page.fetch_limit())
        .fetch_all(&self.pool)
        .await
        .map_err(other)?;
        let events = rows
            .into_iter()
            .map(|(eid, topic, subject, payload, created_at)| {
                Ok(OutboxEvent {
                    id: id(&eid)?,
                    topic,
                    subject,
                    payload: serde_json::from_str(&payload).map_err(other)?,
                    created_at,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Page::from_rows(events, page, |e| e.id.to_string()))
    }
}

/// What only SQLite has: the group-commit batch and its throughput. Every
/// backend-neutral behaviour (checkout, orders, payments, refunds, deals,
/// carts, the races) is in the contract suite, `storekeep-store-tests`, run
/// on both databases.
#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::Duration;
    use storekeep_domain::{
        Handle, Money, NewProduct, NewTenant, NewVariant, PaymentId, PricingContext, PricingLine,
        Product, ProductStatus, Sku, Slug, TenantSettings, Variant, price,
    };
    use storekeep_store::{CatalogStore, Store};

    use super::*;

    struct Shop {
        store: SqliteStore,
        tenant: TenantId,
        dir: std::path::PathBuf,
    }

    impl Drop for Shop {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    fn ctx() -> AuditContext {
        AuditContext {
            actor: "staff:test".into(),
            ip: None,
            request_id: None,
        }
    }

    async fn shop() -> Shop {
        let dir = std::env::temp_dir().join(format!("storekeep-commerce-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}", dir.join("db.sqlite").display());
        let store = SqliteStore::connect(
            &url,
            storekeep_store::PoolConfig {
                max_connections: 8,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        store.migrate().await.unwrap();
        let tenant = store
            .create_tenant(
                &NewTenant {
                    slug: Slug::parse("shop").unwrap(),
                    name: "Shop".into(),
                    plan: None,
                    domains: vec![],
                    settings: TenantSettings::default(),
                },
                &ctx(),
            )
            .await
            .unwrap()
            .id;
        Shop { store, tenant, dir }
    }

    impl Shop {
        async fn product(&self, handle: &str, variants: &[(&str, i64, i64)]) -> Product {
            self.store
                .create_product(
                    self.tenant,
                    &NewProduct {
                        handle: Handle::parse(handle).unwrap(),
                        title: handle.into(),
                        description: String::new(),
                        status: ProductStatus::Active,
                        tags: vec![],
                        categories: vec![],
                        variants: variants
                            .iter()
                            .map(|(sku, price, on_hand)| NewVariant {
                                sku: Sku::parse(sku).unwrap(),
                                title: (*sku).into(),
                                options: BTreeMap::new(),
                                price: Money {
                                    amount: *price,
                                    currency: "USD".into(),
                                },
                                compare_at_price: None,
                                on_hand: *on_hand,
                            })
                            .collect(),
                    },
                    1000,
                    &ctx(),
                )
                .await
                .unwrap()
        }

        async fn cart(&self, items: &[(&Variant, i64)]) -> Cart {
            let cart = self
                .store
                .create_cart(
                    self.tenant,
                    &NewCart {
                        id: CartId::new(),
                        customer_id: None,
                        token_hash: "t".into(),
                    },
                )
                .await
                .unwrap();
            for (v, q) in items {
                self.store
                    .add_cart_item(self.tenant, cart.id, v.id, *q)
                    .await
                    .unwrap();
            }
            self.store.cart(self.tenant, cart.id).await.unwrap()
        }

        async fn order_for(&self, cart: &Cart, deals: &[Deal], who: &str) -> NewOrder {
            let variants: Vec<VariantId> = cart.items.iter().map(|i| i.variant_id).collect();
            let found = self
                .store
                .sale_variants(self.tenant, &variants)
                .await
                .unwrap();
            let lines: Vec<PricingLine> = cart
                .items
                .iter()
                .map(|i| {
                    let v = found.iter().find(|v| v.variant_id == i.variant_id).unwrap();
                    PricingLine {
                        item_id: Some(i.id),
                        variant_id: v.variant_id,
                        product_id: v.product_id,
                        sku: v.sku.clone(),
                        title: v.variant_title.clone(),
                        unit_price: v.price,
                        quantity: i.quantity,
                        categories: vec![],
                    }
                })
                .collect();
            let quote = price(
                &lines,
                &PricingContext {
                    deals,
                    coupon: deals.iter().find(|d| d.code.is_some()),
                    ..Default::default()
                },
                Utc::now(),
            );
            NewOrder {
                id: OrderId::new(),
                cart_id: cart.id,
                customer_id: None,
                customer_key: who.into(),
                idempotency_key: uuid::Uuid::now_v7().to_string(),
                request_hash: "hash".into(),
                currency: "USD".into(),
                email_sealed: "sealed".into(),
                email_index: "index".into(),
                address_sealed: "address".into(),
                country: "US".into(),
                region: None,
                shipping_method: "standard".into(),
                payment: NewPayment {
                    id: PaymentId::new(),
                    provider: "test".into(),
                    reference: uuid::Uuid::now_v7().to_string(),
                    amount: quote.total,
                },
                expires_at: Utc::now() + Duration::minutes(30),
                actor: "guest".into(),
                quote,
            }
        }

        async fn variant(&self, p: &Product, i: usize) -> Variant {
            self.store
                .product(self.tenant, p.id)
                .await
                .unwrap()
                .variants
                .remove(i)
        }

        /// Every product's summary matches its variants.
        async fn assert_summaries(&self) {
            let wrong: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM products p WHERE available != coalesce((SELECT \
                 sum(max(on_hand - reserved, 0)) FROM variants v WHERE v.product_id = p.id), 0)",
            )
            .fetch_one(&self.store.pool)
            .await
            .unwrap();
            assert_eq!(wrong, 0, "product summaries out of date");
        }

        async fn count(&self, table: &str) -> i64 {
            sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
                .fetch_one(&self.store.pool)
                .await
                .unwrap()
        }

        async fn available(&self, p: &Product) -> i64 {
            sqlx::query_scalar("SELECT available FROM products WHERE id = ?")
                .bind(p.id.to_string())
                .fetch_one(&self.store.pool)
                .await
                .unwrap()
        }
    }

    fn created(o: CheckoutOutcome) -> OrderDetail {
        match o {
            CheckoutOutcome::Created(d) => *d,
            other => panic!("expected Created, got {other:?}"),
        }
    }

    /// Many checkouts in one batch see each other's claims exactly as if
    /// they had run one after another.
    #[tokio::test]
    async fn one_batch_behaves_like_a_sequence() {
        let s = shop().await;
        let p = s.product("p", &[("A", 1000, 3), ("B", 250, 10)]).await;
        let (a, b) = (&p.variants[0], &p.variants[1]);
        let deal = s
            .store
            .create_deal(
                s.tenant,
                &NewDeal {
                    id: DealId::new(),
                    name: "once each".into(),
                    description: String::new(),
                    kind: DealKind::Fixed,
                    value: 10,
                    target: DealTarget::Products,
                    product_ids: vec![p.id],
                    category_ids: vec![],
                    code: None,
                    starts_at: None,
                    ends_at: None,
                    max_uses: None,
                    max_uses_per_customer: Some(1),
                    max_units: None,
                    active: true,
                },
                &ctx(),
            )
            .await
            .unwrap();
        let one = s.order_for(&s.cart(&[(a, 1)]).await, &[], "email:x").await;
        let mut reused = one.clone();
        reused.request_hash = "different".into();
        let mut same_cart = one.clone();
        same_cart.id = OrderId::new();
        same_cart.idempotency_key = "other key".into();
        let multi = s
            .order_for(&s.cart(&[(a, 2), (b, 1)]).await, &[], "email:x")
            .await;
        let short = s
            .order_for(&s.cart(&[(b, 1), (a, 1)]).await, &[], "email:x")
            .await;
        let single = s.order_for(&s.cart(&[(b, 1)]).await, &[], "email:x").await;
        let deals = std::slice::from_ref(&deal);
        let first_use = s.order_for(&s.cart(&[(b, 1)]).await, deals, "user:9").await;
        let second_use = s.order_for(&s.cart(&[(b, 1)]).await, deals, "user:9").await;
        assert_eq!(second_use.quote.deals.len(), 1);
        let results = crate::group_commit::run_together(
            &s.store.pool,
            [
                &one,
                &one,
                &reused,
                &same_cart,
                &multi,
                &short,
                &single,
                &first_use,
                &second_use,
            ]
            .into_iter()
            .map(|o| (s.tenant, o.clone()))
            .collect(),
        )
        .await;
        let mut results = results.into_iter().map(Result::unwrap);
        let first = created(results.next().unwrap());
        match results.next().unwrap() {
            CheckoutOutcome::Replayed(d) => assert_eq!(*d, first),
            other => panic!("{other:?}"),
        }
        assert!(matches!(results.next(), Some(CheckoutOutcome::KeyReused)));
        assert!(matches!(results.next(), Some(CheckoutOutcome::CartClosed)));
        created(results.next().unwrap());
        match results.next().unwrap() {
            CheckoutOutcome::ShortOfStock(lines) => {
                assert_eq!(lines.len(), 1);
                assert_eq!((lines[0].variant_id, lines[0].available), (a.id, 0));
            }
            other => panic!("{other:?}"),
        }
        created(results.next().unwrap());
        created(results.next().unwrap());
        assert!(matches!(
            results.next(),
            Some(CheckoutOutcome::DealUnavailable(_))
        ));

        assert_eq!(s.variant(&p, 0).await.inventory.reserved, 3);
        assert_eq!(s.variant(&p, 1).await.inventory.reserved, 3);
        assert_eq!(s.available(&p).await, 7);
        s.assert_summaries().await;
        assert_eq!(s.count("orders").await, 4);
        assert_eq!(s.count("idempotency_keys").await, 4);
        assert_eq!(s.count("deal_uses").await, 1);
        assert_eq!(s.count("outbox_events").await, 8);
        assert_eq!(
            s.count("carts WHERE status = 'checked_out'").await,
            4,
            "carts closed"
        );
        let stored = s.store.deal(s.tenant, deal.id).await.unwrap();
        assert_eq!(stored.uses, 1);
        for o in [&one, &multi, &single, &first_use] {
            let d = s.store.order(s.tenant, o.id).await.unwrap();
            assert_eq!(d.order.lines.len(), o.quote.lines.len());
            assert_eq!(d.payments.len(), 1);
            assert_eq!(d.transitions.len(), 1);
        }
        // Replaying now reads the committed order.
        match s.store.checkout(s.tenant, &one).await.unwrap() {
            CheckoutOutcome::Replayed(d) => assert_eq!(*d, first),
            other => panic!("{other:?}"),
        }
    }

    /// An order whose rows cannot be written fails alone.
    #[tokio::test]
    async fn a_bad_order_does_not_fail_its_batch() {
        let s = shop().await;
        let p = s.product("p", &[("A", 1000, 10)]).await;
        let a = &p.variants[0];
        let good = s.order_for(&s.cart(&[(a, 1)]).await, &[], "email:x").await;
        let mut bad = s.order_for(&s.cart(&[(a, 1)]).await, &[], "email:x").await;
        bad.payment.reference = good.payment.reference.clone();
        let also_good = s.order_for(&s.cart(&[(a, 2)]).await, &[], "email:x").await;
        let results = crate::group_commit::run_together(
            &s.store.pool,
            vec![
                (s.tenant, good.clone()),
                (s.tenant, bad.clone()),
                (s.tenant, also_good.clone()),
            ],
        )
        .await;
        assert!(matches!(results[0], Ok(CheckoutOutcome::Created(_))));
        assert!(matches!(
            results[1],
            Err(StoreError::Conflict { field: "reference" })
        ));
        assert!(matches!(results[2], Ok(CheckoutOutcome::Created(_))));
        assert_eq!(s.variant(&p, 0).await.inventory.reserved, 3);
        assert_eq!(s.count("orders").await, 2);
        assert_eq!(
            s.store.cart(s.tenant, bad.cart_id).await.unwrap().status,
            CartStatus::Open
        );
        s.assert_summaries().await;
    }

    /// Checkout throughput of the group-commit path alone (`CLIENTS`
    /// concurrent callers, `CHECKOUTS` one-line orders):
    /// `cargo test -p storekeep-store-sqlite --release -- --ignored --nocapture checkout_throughput`
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore]
    async fn checkout_throughput() {
        let env = |k: &str, d: usize| {
            std::env::var(k)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(d)
        };
        let (n, clients) = (env("CHECKOUTS", 20_000), env("CLIENTS", 64));
        let s = shop().await;
        let p = s.product("p", &[("A", 100, 1_000_000)]).await;
        let v = &p.variants[0];
        let template = {
            let cart = s.cart(&[(v, 1)]).await;
            s.order_for(&cart, &[], "email:x").await
        };
        // Carts written directly, in one transaction. Client k checks out
        // carts k, k + clients, …, so carts in flight are recent ones (as
        // when shoppers check out carts they just filled); order, payment
        // and key ids are made at checkout, as the service does.
        let mut carts: Vec<Vec<CartId>> = vec![Vec::new(); clients];
        let mut tx = s.store.pool.begin().await.unwrap();
        for i in 0..n {
            let cart = CartId::new();
            sqlx::query(
                "INSERT INTO carts (id, tenant_id, token_hash, status, created_at, updated_at) \
                 VALUES (?, ?, 't', 'open', ?, ?)",
            )
            .bind(cart.to_string())
            .bind(s.tenant.to_string())
            .bind(now())
            .bind(now())
            .execute(&mut *tx)
            .await
            .unwrap();
            carts[i % clients].push(cart);
        }
        tx.commit().await.unwrap();
        let started = std::time::Instant::now();
        let mut tasks = Vec::new();
        for mine in carts {
            let store = s.store.clone();
            let tenant = s.tenant;
            let template = template.clone();
            tasks.push(tokio::spawn(async move {
                for cart in mine {
                    let mut o = template.clone();
                    o.id = OrderId::new();
                    o.cart_id = cart;
                    o.idempotency_key = uuid::Uuid::now_v7().to_string();
                    o.payment.id = PaymentId::new();
                    o.payment.reference = uuid::Uuid::now_v7().to_string();
                    o.expires_at = Utc::now() + Duration::minutes(30);
                    created(store.checkout(tenant, &o).await.unwrap());
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let secs = started.elapsed().as_secs_f64();
        println!(
            "{n} checkouts by {clients} clients in {secs:.2}s: {:.0}/s ({:.0} µs each)",
            n as f64 / secs,
            secs * 1e6 / n as f64
        );
        assert_eq!(s.count("orders").await, n as i64);
        s.assert_summaries().await;
    }
}
