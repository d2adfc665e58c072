//! Carts, checkout, orders, payments, deals and the outbox on PostgreSQL.
//! Transactions run at READ COMMITTED: every read-modify-write locks what
//! it is about to change first, and locks are taken in this order (the
//! catalog's, extended), so writers queue instead of deadlocking:
//!
//! 1. checkout's idempotency key (a retry waits on the unique index until
//!    the first attempt commits or rolls back);
//! 2. the cart or order row, `FOR UPDATE`;
//! 3. the products whose variants' stock changes, `FOR UPDATE`, by id;
//! 4. those variants, by id (the stock updates lock them);
//! 5. the deals an order uses, by id;
//! 6. the audit chain's head, taken by `audit::append`, always last.
//!
//! Stock and deal caps change through conditional updates, so no
//! interleaving oversells, and `products.available` is kept true.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use async_trait::async_trait;
use chrono::{DateTime, SubsecRound, Utc};
use serde_json::json;
use sqlx::types::Json;
use sqlx::{PgConnection, Postgres, QueryBuilder};
use storekeep_domain::{
    AuditContext, Cart, CartId, CartItem, CartItemId, CartPatch, CartStatus, CategoryId,
    CheckoutOutcome, Deal, DealId, DealKind, DealTarget, EventId, MAX_CART_LINES,
    MAX_LINE_QUANTITY, NewCart, NewDeal, NewOrder, NewPayment, NewRefund, Order, OrderDetail,
    OrderFilter, OrderId, OrderLine, OrderLineId, OrderStatus, OrderTransition, OutboxEvent, Page,
    PageRequest, Payment, PaymentId, PaymentOutcome, PaymentStatus, ProductId, Refund, RefundId,
    RestockLine, SaleVariant, Settlement, Shortage, TenantId, UserId, VariantId,
};
use storekeep_store::commerce::events;
use storekeep_store::{CommerceStore, StoreError, StoreResult, TransitionActor, now};
use uuid::Uuid;

use crate::catalog::{append, change_stock, record_ledger, refresh_summary};
use crate::error::other;
use crate::{PgStore, audit, error, write_tx};

const UNIQUES: &[(&str, &str)] = &[
    ("deals_code_key", "code"),
    ("payments_reference_key", "reference"),
];

/// The idempotency scope of checkouts.
const CHECKOUT_SCOPE: &str = "checkout";

const CART_CLOSED: &str = "the cart is checked out";

/// A refusal for a move the state machine does not allow (the same words
/// as on SQLite).
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

fn map_err(e: sqlx::Error) -> StoreError {
    error::map(e, UNIQUES)
}

fn corrupt(what: String) -> StoreError {
    StoreError::Other(format!("stored commerce row is invalid: {what}").into())
}

fn order_status(s: &str) -> StoreResult<OrderStatus> {
    OrderStatus::parse(s).ok_or_else(|| corrupt(format!("order status {s:?}")))
}

/// Without a cursor, the largest UUID (never a v7 id) bounds nothing.
fn before_cursor(page: &PageRequest) -> StoreResult<Uuid> {
    Ok(storekeep_store::parse_cursor(page)?.unwrap_or(Uuid::max()))
}

// ---------------------------------------------------------------- rows

#[derive(sqlx::FromRow)]
struct CartRow {
    id: Uuid,
    customer_id: Option<Uuid>,
    token_hash: String,
    status: String,
    coupon_code: Option<String>,
    shipping_method: Option<String>,
    country: Option<String>,
    region: Option<String>,
    order_id: Option<Uuid>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

const CART_COLUMNS: &str = "id, customer_id, token_hash, status, coupon_code, shipping_method, \
     country, region, order_id, created_at, updated_at";

#[derive(sqlx::FromRow)]
struct OrderRow {
    id: Uuid,
    cart_id: Uuid,
    customer_id: Option<Uuid>,
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

#[derive(sqlx::FromRow)]
struct LineRow {
    id: Uuid,
    order_id: Uuid,
    variant_id: Uuid,
    product_id: Uuid,
    sku: String,
    title: String,
    quantity: i64,
    unit_price: i64,
    discount: i64,
    total: i64,
    deal_id: Option<Uuid>,
    restocked: i64,
}

impl From<LineRow> for OrderLine {
    fn from(r: LineRow) -> Self {
        OrderLine {
            id: OrderLineId(r.id),
            variant_id: VariantId(r.variant_id),
            product_id: ProductId(r.product_id),
            sku: r.sku,
            title: r.title,
            quantity: r.quantity,
            unit_price: r.unit_price,
            discount: r.discount,
            total: r.total,
            deal_id: r.deal_id.map(DealId),
            restocked: r.restocked,
        }
    }
}

#[derive(sqlx::FromRow)]
struct PaymentRow {
    id: Uuid,
    order_id: Uuid,
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
            id: PaymentId(r.id),
            order_id: OrderId(r.order_id),
            provider: r.provider,
            reference: r.reference,
            status: PaymentStatus::parse(&r.status)
                .ok_or_else(|| corrupt(format!("payment status {:?}", r.status)))?,
            amount: r.amount,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct DealRow {
    id: Uuid,
    name: String,
    description: String,
    kind: String,
    value: i64,
    target: String,
    product_ids: Json<Vec<ProductId>>,
    category_ids: Json<Vec<CategoryId>>,
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
            id: DealId(r.id),
            name: r.name,
            description: r.description,
            kind: DealKind::parse(&r.kind)
                .ok_or_else(|| corrupt(format!("deal kind {:?}", r.kind)))?,
            value: r.value,
            target: DealTarget::parse(&r.target)
                .ok_or_else(|| corrupt(format!("deal target {:?}", r.target)))?,
            product_ids: r.product_ids.0,
            category_ids: r.category_ids.0,
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

// ---------------------------------------------------------------- carts

async fn fetch_cart(conn: &mut PgConnection, tenant: TenantId, id: CartId) -> StoreResult<Cart> {
    let row: Option<CartRow> = sqlx::query_as(&format!(
        "SELECT {CART_COLUMNS} FROM carts WHERE tenant_id = $1 AND id = $2"
    ))
    .bind(tenant.0)
    .bind(id.0)
    .fetch_optional(&mut *conn)
    .await
    .map_err(other)?;
    let r = row.ok_or(StoreError::NotFound("cart"))?;
    let items: Vec<(Uuid, Uuid, i64)> = sqlx::query_as(
        "SELECT id, variant_id, quantity FROM cart_items WHERE cart_id = $1 \
         ORDER BY created_at, id",
    )
    .bind(r.id)
    .fetch_all(&mut *conn)
    .await
    .map_err(other)?;
    Ok(Cart {
        id: CartId(r.id),
        customer_id: r.customer_id.map(UserId),
        token_hash: r.token_hash,
        status: CartStatus::parse(&r.status)
            .ok_or_else(|| corrupt(format!("cart status {:?}", r.status)))?,
        coupon_code: r.coupon_code,
        shipping_method: r.shipping_method,
        country: r.country,
        region: r.region,
        order_id: r.order_id.map(OrderId),
        items: items
            .into_iter()
            .map(|(id, variant, quantity)| CartItem {
                id: CartItemId(id),
                variant_id: VariantId(variant),
                quantity,
            })
            .collect(),
        created_at: r.created_at,
        updated_at: r.updated_at,
    })
}

/// Locks the cart row (before its lines, so a checkout and a line change
/// queue) and refuses a cart that became an order.
async fn lock_open_cart(conn: &mut PgConnection, tenant: TenantId, id: CartId) -> StoreResult<()> {
    let status: Option<String> =
        sqlx::query_scalar("SELECT status FROM carts WHERE tenant_id = $1 AND id = $2 FOR UPDATE")
            .bind(tenant.0)
            .bind(id.0)
            .fetch_optional(&mut *conn)
            .await
            .map_err(other)?;
    match status.as_deref() {
        None => Err(StoreError::NotFound("cart")),
        Some("open") => Ok(()),
        Some(_) => Err(StoreError::Invalid(CART_CLOSED)),
    }
}

async fn touch_cart(conn: &mut PgConnection, id: CartId) -> StoreResult<()> {
    sqlx::query("UPDATE carts SET updated_at = $1 WHERE id = $2")
        .bind(now())
        .bind(id.0)
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

// ---------------------------------------------------------------- stock

/// Lock 3: the products owning `variants`, by id, so a concurrent catalog
/// write (which locks the product before its variants) queues behind this
/// transaction's stock changes, or this one behind it.
async fn lock_products_of(
    conn: &mut PgConnection,
    tenant: TenantId,
    variants: &[Uuid],
) -> StoreResult<()> {
    if variants.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "SELECT p.id FROM products p WHERE p.tenant_id = $1 AND p.id IN \
         (SELECT v.product_id FROM variants v WHERE v.tenant_id = $1 AND v.id = ANY($2)) \
         ORDER BY p.id FOR UPDATE OF p",
    )
    .bind(tenant.0)
    .bind(variants)
    .execute(&mut *conn)
    .await
    .map_err(other)?;
    Ok(())
}

/// Units of each variant on the order's lines, by variant id.
async fn units_by_variant(
    conn: &mut PgConnection,
    order: OrderId,
) -> StoreResult<BTreeMap<Uuid, i64>> {
    let rows: Vec<(Uuid, i64)> = sqlx::query_as(
        "SELECT variant_id, sum(quantity)::bigint FROM order_lines WHERE order_id = $1 \
         GROUP BY variant_id",
    )
    .bind(order.0)
    .fetch_all(&mut *conn)
    .await
    .map_err(other)?;
    Ok(rows.into_iter().collect())
}

/// Payment: the reservation becomes a sale (`on_hand -= q, reserved -=
/// q`, with a ledger entry). Available stock does not change, so the
/// product summaries stay true. A variant deleted since is skipped.
async fn sell_reserved(
    conn: &mut PgConnection,
    tenant: TenantId,
    order: OrderId,
    actor: &str,
) -> StoreResult<()> {
    let units = units_by_variant(conn, order).await?;
    let variants: Vec<Uuid> = units.keys().copied().collect();
    lock_products_of(conn, tenant, &variants).await?;
    let reason = format!("order {order} paid");
    for (variant, q) in units {
        let on_hand: Option<i64> = sqlx::query_scalar(
            "UPDATE variants SET on_hand = on_hand - $3, reserved = reserved - $3, \
             updated_at = $4 WHERE id = $1 AND tenant_id = $2 RETURNING on_hand",
        )
        .bind(variant)
        .bind(tenant.0)
        .bind(q)
        .bind(now())
        .fetch_optional(&mut *conn)
        .await
        .map_err(other)?;
        if let Some(after) = on_hand {
            record_ledger(conn, tenant, variant, -q, &reason, after, actor).await?;
        }
    }
    Ok(())
}

/// Cancellation: the reservation is released and the deals' usage given
/// back.
async fn release_order(
    conn: &mut PgConnection,
    tenant: TenantId,
    order: OrderId,
) -> StoreResult<()> {
    let units = units_by_variant(conn, order).await?;
    let variants: Vec<Uuid> = units.keys().copied().collect();
    lock_products_of(conn, tenant, &variants).await?;
    let mut products = BTreeSet::new();
    for (variant, q) in units {
        let product: Option<Uuid> = sqlx::query_scalar(
            "UPDATE variants SET reserved = reserved - $3 WHERE id = $1 AND tenant_id = $2 \
             RETURNING product_id",
        )
        .bind(variant)
        .bind(tenant.0)
        .bind(q)
        .fetch_optional(&mut *conn)
        .await
        .map_err(other)?;
        products.extend(product);
    }
    for product in products {
        refresh_summary(conn, product).await?;
    }

    let mut uses: Vec<(Uuid, i64)> = sqlx::query_as(
        "UPDATE deal_uses SET released = true WHERE order_id = $1 AND NOT released \
         RETURNING deal_id, units",
    )
    .bind(order.0)
    .fetch_all(&mut *conn)
    .await
    .map_err(other)?;
    uses.sort_unstable();
    for (deal, units) in uses {
        sqlx::query(
            "UPDATE deals SET uses = greatest(uses - 1, 0), \
             units_sold = greatest(units_sold - $3, 0) WHERE id = $1 AND tenant_id = $2",
        )
        .bind(deal)
        .bind(tenant.0)
        .bind(units)
        .execute(&mut *conn)
        .await
        .map_err(other)?;
    }
    Ok(())
}

// ---------------------------------------------------------------- orders

/// Lock 2: the order row. Returns its status, total and refunded amount.
async fn lock_order(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: OrderId,
) -> StoreResult<(OrderStatus, i64, i64)> {
    let row: Option<(String, i64, i64)> = sqlx::query_as(
        "SELECT status, total, refunded FROM orders WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
    )
    .bind(tenant.0)
    .bind(id.0)
    .fetch_optional(&mut *conn)
    .await
    .map_err(other)?;
    let (status, total, refunded) = row.ok_or(StoreError::NotFound("order"))?;
    Ok((order_status(&status)?, total, refunded))
}

/// Attaches their lines to order rows (one query).
async fn with_lines(conn: &mut PgConnection, rows: Vec<OrderRow>) -> StoreResult<Vec<Order>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let mut lines: HashMap<Uuid, Vec<OrderLine>> = HashMap::new();
    for r in sqlx::query_as::<_, LineRow>(
        "SELECT id, order_id, variant_id, product_id, sku, title, quantity, unit_price, \
         discount, total, deal_id, restocked FROM order_lines WHERE order_id = ANY($1) \
         ORDER BY order_id, position",
    )
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await
    .map_err(other)?
    {
        lines.entry(r.order_id).or_default().push(r.into());
    }
    rows.into_iter()
        .map(|r| {
            Ok(Order {
                id: OrderId(r.id),
                cart_id: CartId(r.cart_id),
                customer_id: r.customer_id.map(UserId),
                status: order_status(&r.status)?,
                currency: r.currency,
                subtotal: r.subtotal,
                discount: r.discount,
                shipping: r.shipping,
                tax: r.tax,
                total: r.total,
                refunded: r.refunded,
                email_sealed: r.email_sealed,
                email_index: r.email_index,
                address_sealed: r.address_sealed,
                country: r.country,
                region: r.region,
                shipping_method: r.shipping_method,
                payment_provider: r.payment_provider,
                expires_at: r.expires_at,
                created_at: r.created_at,
                updated_at: r.updated_at,
                lines: lines.remove(&r.id).unwrap_or_default(),
            })
        })
        .collect()
}

async fn fetch_order(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: OrderId,
) -> StoreResult<OrderDetail> {
    let row: Option<OrderRow> = sqlx::query_as(&format!(
        "SELECT {ORDER_COLUMNS} FROM orders WHERE tenant_id = $1 AND id = $2"
    ))
    .bind(tenant.0)
    .bind(id.0)
    .fetch_optional(&mut *conn)
    .await
    .map_err(other)?;
    let row = row.ok_or(StoreError::NotFound("order"))?;
    let order = with_lines(conn, vec![row])
        .await?
        .pop()
        .ok_or(StoreError::NotFound("order"))?;

    let transitions = sqlx::query_as::<
        _,
        (
            Option<String>,
            String,
            String,
            Option<String>,
            DateTime<Utc>,
        ),
    >(
        "SELECT from_status, to_status, actor, reason, at FROM order_transitions \
         WHERE order_id = $1 ORDER BY at, id",
    )
    .bind(id.0)
    .fetch_all(&mut *conn)
    .await
    .map_err(other)?
    .into_iter()
    .map(|(from, to, actor, reason, at)| {
        Ok(OrderTransition {
            from: from.as_deref().map(order_status).transpose()?,
            to: order_status(&to)?,
            actor,
            reason,
            at,
        })
    })
    .collect::<StoreResult<Vec<_>>>()?;

    let payments = sqlx::query_as::<_, PaymentRow>(
        "SELECT id, order_id, provider, reference, status, amount, created_at, updated_at \
         FROM payments WHERE order_id = $1 ORDER BY created_at, id",
    )
    .bind(id.0)
    .fetch_all(&mut *conn)
    .await
    .map_err(other)?
    .into_iter()
    .map(Payment::try_from)
    .collect::<StoreResult<Vec<_>>>()?;

    let refunds = sqlx::query_as::<
        _,
        (
            Uuid,
            i64,
            Option<String>,
            Json<Vec<RestockLine>>,
            String,
            DateTime<Utc>,
        ),
    >(
        "SELECT id, amount, reason, restock, actor, created_at FROM refunds \
         WHERE order_id = $1 ORDER BY created_at, id",
    )
    .bind(id.0)
    .fetch_all(&mut *conn)
    .await
    .map_err(other)?
    .into_iter()
    .map(|(rid, amount, reason, restock, actor, created_at)| Refund {
        id: RefundId(rid),
        amount,
        reason,
        restock: restock.0,
        actor,
        created_at,
    })
    .collect();

    Ok(OrderDetail {
        order,
        transitions,
        payments,
        refunds,
    })
}

/// Appends one outbox event about `order` in the caller's transaction.
async fn emit(
    conn: &mut PgConnection,
    tenant: TenantId,
    order: OrderId,
    topic: &str,
    payload: serde_json::Value,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO outbox_events (id, tenant_id, topic, subject, payload, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(EventId::new().0)
    .bind(tenant.0)
    .bind(topic)
    .bind(format!("order:{order}"))
    .bind(Json(payload))
    .bind(now())
    .execute(&mut *conn)
    .await
    .map_err(other)?;
    Ok(())
}

async fn insert_transition(
    conn: &mut PgConnection,
    order: OrderId,
    from: Option<OrderStatus>,
    to: OrderStatus,
    actor: &str,
    reason: Option<&str>,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO order_transitions (id, order_id, from_status, to_status, actor, reason, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(Uuid::now_v7())
    .bind(order.0)
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

/// Moves an order whose row the caller has locked from `from` to `to`:
/// the status (conditional on `from`), the stock and deal effects of the
/// move, the transition row, the outbox event and, for staff, the audit
/// entry.
async fn move_order(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: OrderId,
    from: OrderStatus,
    to: OrderStatus,
    by: &TransitionActor<'_>,
) -> StoreResult<()> {
    let at = now();
    let moved =
        sqlx::query("UPDATE orders SET status = $3, updated_at = $4 WHERE id = $1 AND status = $2")
            .bind(id.0)
            .bind(from.as_str())
            .bind(to.as_str())
            .bind(at)
            .execute(&mut *conn)
            .await
            .map_err(other)?;
    if moved.rows_affected() == 0 {
        return Err(illegal_move(to));
    }
    match to {
        OrderStatus::Paid => sell_reserved(conn, tenant, id, by.actor).await?,
        OrderStatus::Cancelled => release_order(conn, tenant, id).await?,
        _ => {}
    }
    insert_transition(conn, id, Some(from), to, by.actor, by.reason, at).await?;
    let (topic, payload) = events::order_moved(id, from, to, by.actor, by.reason);
    emit(conn, tenant, id, &topic, payload).await?;
    if let Some(ctx) = by.audit {
        audit::append(
            conn,
            &tenant.to_string(),
            ctx,
            &format!("order.{}", to.as_str()),
            &format!("order:{id}"),
            Some(json!({"status": from.as_str()})),
            Some(json!({"status": to.as_str(), "reason": by.reason})),
        )
        .await?;
    }
    Ok(())
}

// ---------------------------------------------------------------- checkout

/// Everything checkout writes after the idempotency key, in lock order.
/// Any outcome but `Created` is returned for the caller to roll back.
async fn place_order(
    conn: &mut PgConnection,
    tenant: TenantId,
    order: &NewOrder,
    at: DateTime<Utc>,
) -> StoreResult<CheckoutOutcome> {
    // The cart row first: a concurrent checkout of it (another key) waits
    // here and then finds it closed.
    let closed = sqlx::query(
        "UPDATE carts SET status = 'checked_out', order_id = $3, updated_at = $4 \
         WHERE id = $1 AND tenant_id = $2 AND status = 'open'",
    )
    .bind(order.cart_id.0)
    .bind(tenant.0)
    .bind(order.id.0)
    .bind(at)
    .execute(&mut *conn)
    .await
    .map_err(other)?;
    if closed.rows_affected() == 0 {
        // Only the shop's own cart can be closed; one it does not have
        // (another shop's) is not found, as on SQLite.
        let known: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM carts WHERE id = $1 AND tenant_id = $2")
                .bind(order.cart_id.0)
                .bind(tenant.0)
                .fetch_optional(&mut *conn)
                .await
                .map_err(other)?;
        if known.is_none() {
            return Err(StoreError::NotFound("cart"));
        }
        return Ok(CheckoutOutcome::CartClosed);
    }

    // Stock: products, then each variant by id; every line is checked so
    // the refusal names all of them.
    let variant_ids: Vec<Uuid> = order.quote.lines.iter().map(|l| l.variant_id.0).collect();
    lock_products_of(conn, tenant, &variant_ids).await?;
    let mut lines: Vec<_> = order.quote.lines.iter().collect();
    lines.sort_by_key(|l| l.variant_id);
    let mut products = BTreeSet::new();
    let mut short = Vec::new();
    let mut repriced = Vec::new();
    for line in lines {
        let product: Option<Uuid> = sqlx::query_scalar(
            "UPDATE variants SET reserved = reserved + $3 WHERE id = $1 AND tenant_id = $2 \
             AND on_hand - reserved >= $3 AND price = $4 RETURNING product_id",
        )
        .bind(line.variant_id.0)
        .bind(tenant.0)
        .bind(line.quantity)
        .bind(line.unit_price)
        .fetch_optional(&mut *conn)
        .await
        .map_err(other)?;
        if let Some(p) = product {
            products.insert(p);
            continue;
        }
        let current: Option<(i64, i64)> = sqlx::query_as(
            "SELECT price, on_hand - reserved FROM variants WHERE id = $1 AND tenant_id = $2",
        )
        .bind(line.variant_id.0)
        .bind(tenant.0)
        .fetch_optional(&mut *conn)
        .await
        .map_err(other)?;
        match current {
            Some((price, _)) if price != line.unit_price => repriced.push(line.variant_id),
            current => short.push(Shortage {
                variant_id: line.variant_id,
                sku: line.sku.clone(),
                requested: line.quantity,
                available: current.map_or(0, |(_, available)| available.max(0)),
            }),
        }
    }
    if !repriced.is_empty() {
        return Ok(CheckoutOutcome::PriceChanged(repriced));
    }
    if !short.is_empty() {
        return Ok(CheckoutOutcome::ShortOfStock(short));
    }
    for product in products {
        refresh_summary(conn, product).await?;
    }

    // Deals, by id: the conditional update enforces the window and the
    // global caps; its row lock serialises the per-customer count.
    let mut deals: Vec<_> = order.quote.deals.iter().collect();
    deals.sort_by_key(|d| d.deal_id);
    let mut unavailable = Vec::new();
    for deal in &deals {
        let cap: Option<Option<i64>> = sqlx::query_scalar(
            "UPDATE deals SET uses = uses + 1, units_sold = units_sold + $3 \
             WHERE id = $1 AND tenant_id = $2 AND active \
             AND (starts_at IS NULL OR starts_at <= $4) AND (ends_at IS NULL OR ends_at > $4) \
             AND (max_uses IS NULL OR uses < max_uses) \
             AND (max_units IS NULL OR units_sold + $3 <= max_units) \
             RETURNING max_uses_per_customer",
        )
        .bind(deal.deal_id.0)
        .bind(tenant.0)
        .bind(deal.units)
        .bind(at)
        .fetch_optional(&mut *conn)
        .await
        .map_err(other)?;
        match cap {
            None => unavailable.push(deal.deal_id),
            Some(Some(cap)) => {
                let used: i64 = sqlx::query_scalar(
                    "SELECT count(*) FROM deal_uses WHERE deal_id = $1 AND customer_key = $2 \
                     AND NOT released",
                )
                .bind(deal.deal_id.0)
                .bind(&order.customer_key)
                .fetch_one(&mut *conn)
                .await
                .map_err(other)?;
                if used >= cap {
                    unavailable.push(deal.deal_id);
                }
            }
            Some(None) => {}
        }
    }
    if !unavailable.is_empty() {
        return Ok(CheckoutOutcome::DealUnavailable(unavailable));
    }

    let q = &order.quote;
    // As stored (microseconds), so the detail returned equals a later read.
    let expires_at = order.expires_at.trunc_subsecs(6);
    sqlx::query(
        "INSERT INTO orders (id, tenant_id, cart_id, customer_id, status, currency, subtotal, \
         discount, shipping, tax, total, refunded, email_sealed, email_index, address_sealed, \
         country, region, shipping_method, payment_provider, expires_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, 'pending_payment', $5, $6, $7, $8, $9, $10, 0, $11, $12, $13, \
         $14, $15, $16, $17, $18, $19, $19)",
    )
    .bind(order.id.0)
    .bind(tenant.0)
    .bind(order.cart_id.0)
    .bind(order.customer_id.map(|c| c.0))
    .bind(&order.currency)
    .bind(q.subtotal)
    .bind(q.discount)
    .bind(q.shipping)
    .bind(q.tax)
    .bind(q.total)
    .bind(&order.email_sealed)
    .bind(&order.email_index)
    .bind(&order.address_sealed)
    .bind(&order.country)
    .bind(&order.region)
    .bind(&order.shipping_method)
    .bind(&order.payment.provider)
    .bind(expires_at)
    .bind(at)
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;

    let lines: Vec<OrderLine> = q
        .lines
        .iter()
        .map(|l| OrderLine {
            id: OrderLineId::new(),
            variant_id: l.variant_id,
            product_id: l.product_id,
            sku: l.sku.clone(),
            title: l.title.clone(),
            quantity: l.quantity,
            unit_price: l.unit_price,
            discount: l.discount,
            total: l.total,
            deal_id: l.deal_id,
            restocked: 0,
        })
        .collect();
    insert_lines(conn, order.id, &lines).await?;

    if !deals.is_empty() {
        let ids: Vec<Uuid> = deals.iter().map(|d| d.deal_id.0).collect();
        let units: Vec<i64> = deals.iter().map(|d| d.units).collect();
        sqlx::query(
            "INSERT INTO deal_uses (order_id, deal_id, customer_key, units) \
             SELECT $1, d.id, $2, d.units FROM unnest($3::uuid[], $4::int8[]) AS d (id, units)",
        )
        .bind(order.id.0)
        .bind(&order.customer_key)
        .bind(&ids)
        .bind(&units)
        .execute(&mut *conn)
        .await
        .map_err(other)?;
    }

    insert_transition(
        conn,
        order.id,
        None,
        OrderStatus::PendingPayment,
        &order.actor,
        None,
        at,
    )
    .await?;
    // `order.created` before `payment.created`: consumers see the order first.
    let (topic, payload) = events::order_created(order);
    emit(conn, tenant, order.id, topic, payload).await?;
    let payment = insert_payment(conn, tenant, order.id, &order.payment, at).await?;

    Ok(CheckoutOutcome::Created(Box::new(OrderDetail {
        order: Order {
            id: order.id,
            cart_id: order.cart_id,
            customer_id: order.customer_id,
            status: OrderStatus::PendingPayment,
            currency: order.currency.clone(),
            subtotal: q.subtotal,
            discount: q.discount,
            shipping: q.shipping,
            tax: q.tax,
            total: q.total,
            refunded: 0,
            email_sealed: order.email_sealed.clone(),
            email_index: order.email_index.clone(),
            address_sealed: order.address_sealed.clone(),
            country: order.country.clone(),
            region: order.region.clone(),
            shipping_method: order.shipping_method.clone(),
            payment_provider: order.payment.provider.clone(),
            expires_at: Some(expires_at),
            created_at: at,
            updated_at: at,
            lines,
        },
        transitions: vec![OrderTransition {
            from: None,
            to: OrderStatus::PendingPayment,
            actor: order.actor.clone(),
            reason: None,
            at,
        }],
        payments: vec![payment],
        refunds: Vec::new(),
    })))
}

/// The order's lines in one statement; position is the index.
async fn insert_lines(
    conn: &mut PgConnection,
    order: OrderId,
    lines: &[OrderLine],
) -> StoreResult<()> {
    if lines.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = lines.iter().map(|l| l.id.0).collect();
    let variants: Vec<Uuid> = lines.iter().map(|l| l.variant_id.0).collect();
    let products: Vec<Uuid> = lines.iter().map(|l| l.product_id.0).collect();
    let skus: Vec<&str> = lines.iter().map(|l| l.sku.as_str()).collect();
    let titles: Vec<&str> = lines.iter().map(|l| l.title.as_str()).collect();
    let quantities: Vec<i64> = lines.iter().map(|l| l.quantity).collect();
    let prices: Vec<i64> = lines.iter().map(|l| l.unit_price).collect();
    let discounts: Vec<i64> = lines.iter().map(|l| l.discount).collect();
    let totals: Vec<i64> = lines.iter().map(|l| l.total).collect();
    let deals: Vec<Option<Uuid>> = lines.iter().map(|l| l.deal_id.map(|d| d.0)).collect();
    sqlx::query(
        "INSERT INTO order_lines (id, order_id, variant_id, product_id, sku, title, quantity, \
         unit_price, discount, total, deal_id, position) \
         SELECT l.id, $1, l.variant_id, l.product_id, l.sku, l.title, l.quantity, l.unit_price, \
         l.discount, l.total, l.deal_id, l.n - 1 \
         FROM unnest($2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::text[], $7::int8[], \
         $8::int8[], $9::int8[], $10::int8[], $11::uuid[]) WITH ORDINALITY \
         AS l (id, variant_id, product_id, sku, title, quantity, unit_price, discount, total, \
         deal_id, n)",
    )
    .bind(order.0)
    .bind(&ids)
    .bind(&variants)
    .bind(&products)
    .bind(&skus)
    .bind(&titles)
    .bind(&quantities)
    .bind(&prices)
    .bind(&discounts)
    .bind(&totals)
    .bind(&deals)
    .execute(&mut *conn)
    .await
    .map_err(other)?;
    Ok(())
}

/// A pending payment attempt and its `payment.created` event.
async fn insert_payment(
    conn: &mut PgConnection,
    tenant: TenantId,
    order: OrderId,
    p: &NewPayment,
    at: DateTime<Utc>,
) -> StoreResult<Payment> {
    sqlx::query(
        "INSERT INTO payments (id, tenant_id, order_id, provider, reference, status, amount, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $7)",
    )
    .bind(p.id.0)
    .bind(tenant.0)
    .bind(order.0)
    .bind(&p.provider)
    .bind(&p.reference)
    .bind(p.amount)
    .bind(at)
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    let (topic, payload) = events::payment("created", order, p.id, &p.provider, p.amount);
    emit(conn, tenant, order, &topic, payload).await?;
    Ok(Payment {
        id: p.id,
        order_id: order,
        provider: p.provider.clone(),
        reference: p.reference.clone(),
        status: PaymentStatus::Pending,
        amount: p.amount,
        created_at: at,
        updated_at: at,
    })
}

// ---------------------------------------------------------------- deals

async fn fetch_deal(conn: &mut PgConnection, tenant: TenantId, id: DealId) -> StoreResult<Deal> {
    let row: Option<DealRow> = sqlx::query_as(&format!(
        "SELECT {DEAL_COLUMNS} FROM deals WHERE tenant_id = $1 AND id = $2"
    ))
    .bind(tenant.0)
    .bind(id.0)
    .fetch_optional(&mut *conn)
    .await
    .map_err(other)?;
    row.ok_or(StoreError::NotFound("deal"))?.try_into()
}

/// Locks a deal row before it is replaced or deleted.
async fn lock_deal(conn: &mut PgConnection, tenant: TenantId, id: DealId) -> StoreResult<Deal> {
    let found: Option<Uuid> =
        sqlx::query_scalar("SELECT id FROM deals WHERE tenant_id = $1 AND id = $2 FOR UPDATE")
            .bind(tenant.0)
            .bind(id.0)
            .fetch_optional(&mut *conn)
            .await
            .map_err(other)?;
    found.ok_or(StoreError::NotFound("deal"))?;
    fetch_deal(conn, tenant, id).await
}

fn deal_json(deal: &Deal) -> StoreResult<serde_json::Value> {
    serde_json::to_value(deal).map_err(other)
}

#[async_trait]
impl CommerceStore for PgStore {
    async fn create_cart(&self, tenant: TenantId, cart: &NewCart) -> StoreResult<Cart> {
        let at = now();
        sqlx::query(
            "INSERT INTO carts (id, tenant_id, customer_id, token_hash, status, created_at, \
             updated_at) VALUES ($1, $2, $3, $4, 'open', $5, $5)",
        )
        .bind(cart.id.0)
        .bind(tenant.0)
        .bind(cart.customer_id.map(|c| c.0))
        .bind(&cart.token_hash)
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
        lock_open_cart(&mut tx, tenant, id).await?;
        let cart = fetch_cart(&mut tx, tenant, id).await?;
        sqlx::query(
            "UPDATE carts SET coupon_code = $1, shipping_method = $2, country = $3, region = $4, \
             updated_at = $5 WHERE id = $6",
        )
        .bind(patch.coupon_code.clone().unwrap_or(cart.coupon_code))
        .bind(
            patch
                .shipping_method
                .clone()
                .unwrap_or(cart.shipping_method),
        )
        .bind(patch.country.clone().unwrap_or(cart.country))
        .bind(patch.region.clone().unwrap_or(cart.region))
        .bind(now())
        .bind(id.0)
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
        lock_open_cart(&mut tx, tenant, cart).await?;
        // Held until commit, so the variant cannot be deleted before the
        // line referencing it is written.
        let known: Option<Uuid> = sqlx::query_scalar(
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
        let existing: Option<(Uuid, i64)> = sqlx::query_as(
            "SELECT id, quantity FROM cart_items WHERE cart_id = $1 AND variant_id = $2",
        )
        .bind(cart.0)
        .bind(variant.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(other)?;
        match existing {
            Some((item, held)) => {
                check_line_quantity(held.saturating_add(quantity))?;
                sqlx::query("UPDATE cart_items SET quantity = $1 WHERE id = $2")
                    .bind(held + quantity)
                    .bind(item)
                    .execute(&mut *tx)
                    .await
                    .map_err(other)?;
            }
            None => {
                let lines: i64 =
                    sqlx::query_scalar("SELECT count(*) FROM cart_items WHERE cart_id = $1")
                        .bind(cart.0)
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(other)?;
                if lines >= MAX_CART_LINES as i64 {
                    return Err(StoreError::Invalid("a cart holds at most 100 lines"));
                }
                sqlx::query(
                    "INSERT INTO cart_items (id, cart_id, variant_id, quantity, created_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(CartItemId::new().0)
                .bind(cart.0)
                .bind(variant.0)
                .bind(quantity)
                .bind(now())
                .execute(&mut *tx)
                .await
                .map_err(other)?;
            }
        }
        touch_cart(&mut tx, cart).await?;
        let cart = fetch_cart(&mut tx, tenant, cart).await?;
        tx.commit().await.map_err(other)?;
        Ok(cart)
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
        lock_open_cart(&mut tx, tenant, cart).await?;
        let set = sqlx::query("UPDATE cart_items SET quantity = $1 WHERE id = $2 AND cart_id = $3")
            .bind(quantity)
            .bind(item.0)
            .bind(cart.0)
            .execute(&mut *tx)
            .await
            .map_err(other)?;
        if set.rows_affected() == 0 {
            return Err(StoreError::NotFound("cart item"));
        }
        touch_cart(&mut tx, cart).await?;
        let cart = fetch_cart(&mut tx, tenant, cart).await?;
        tx.commit().await.map_err(other)?;
        Ok(cart)
    }

    async fn remove_cart_item(
        &self,
        tenant: TenantId,
        cart: CartId,
        item: CartItemId,
    ) -> StoreResult<Cart> {
        let mut tx = write_tx(&self.pool).await?;
        lock_open_cart(&mut tx, tenant, cart).await?;
        let removed = sqlx::query("DELETE FROM cart_items WHERE id = $1 AND cart_id = $2")
            .bind(item.0)
            .bind(cart.0)
            .execute(&mut *tx)
            .await
            .map_err(other)?;
        if removed.rows_affected() == 0 {
            return Err(StoreError::NotFound("cart item"));
        }
        touch_cart(&mut tx, cart).await?;
        let cart = fetch_cart(&mut tx, tenant, cart).await?;
        tx.commit().await.map_err(other)?;
        Ok(cart)
    }

    async fn sale_variants(
        &self,
        tenant: TenantId,
        variants: &[VariantId],
    ) -> StoreResult<Vec<SaleVariant>> {
        if variants.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<Uuid> = variants.iter().map(|v| v.0).collect();
        type Row = (Uuid, Uuid, String, String, String, String, i64, Vec<Uuid>);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT v.id, v.product_id, v.sku, v.title, p.title, p.status, v.price, \
             ARRAY(SELECT pc.category_id FROM product_categories pc WHERE pc.product_id = p.id) \
             FROM variants v JOIN products p ON p.id = v.product_id \
             WHERE v.tenant_id = $1 AND v.id = ANY($2)",
        )
        .bind(tenant.0)
        .bind(&ids)
        .fetch_all(&self.pool)
        .await
        .map_err(other)?;
        rows.into_iter()
            .map(|(v, p, sku, vt, pt, status, price, cats)| {
                Ok(SaleVariant {
                    variant_id: VariantId(v),
                    product_id: ProductId(p),
                    sku,
                    variant_title: vt,
                    product_title: pt,
                    status: storekeep_domain::ProductStatus::parse(&status)
                        .map_err(|e| StoreError::Other(e.into()))?,
                    price,
                    categories: cats.into_iter().map(CategoryId).collect(),
                })
            })
            .collect()
    }

    async fn checkout(&self, tenant: TenantId, order: &NewOrder) -> StoreResult<CheckoutOutcome> {
        let at = now();
        let mut tx = write_tx(&self.pool).await?;
        // A concurrent attempt with this key waits here until the first
        // commits (then finds its row) or rolls back (then goes ahead).
        let claimed = sqlx::query(
            "INSERT INTO idempotency_keys (tenant_id, scope, key, request_hash, order_id, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        )
        .bind(tenant.0)
        .bind(CHECKOUT_SCOPE)
        .bind(&order.idempotency_key)
        .bind(&order.request_hash)
        .bind(order.id.0)
        .bind(at)
        .execute(&mut *tx)
        .await
        .map_err(other)?;
        if claimed.rows_affected() == 0 {
            tx.rollback().await.map_err(other)?;
            let mut conn = self.pool.acquire().await.map_err(other)?;
            let seen: Option<(String, Uuid)> = sqlx::query_as(
                "SELECT request_hash, order_id FROM idempotency_keys \
                 WHERE tenant_id = $1 AND scope = $2 AND key = $3",
            )
            .bind(tenant.0)
            .bind(CHECKOUT_SCOPE)
            .bind(&order.idempotency_key)
            .fetch_optional(&mut *conn)
            .await
            .map_err(other)?;
            let (hash, first) = seen.ok_or_else(|| {
                StoreError::Other("an idempotency key vanished after it collided".into())
            })?;
            if hash != order.request_hash {
                return Ok(CheckoutOutcome::KeyReused);
            }
            let detail = fetch_order(&mut conn, tenant, OrderId(first)).await?;
            return Ok(CheckoutOutcome::Replayed(Box::new(detail)));
        }
        // Only now: a replay answers even if its cart has since emptied.
        if order.quote.lines.is_empty() {
            return Err(StoreError::Invalid("the cart is empty"));
        }
        if order.quote.lines.iter().any(|l| l.quantity < 1) {
            return Err(StoreError::Invalid("every line needs at least one unit"));
        }
        let outcome = place_order(&mut tx, tenant, order, at).await?;
        if matches!(outcome, CheckoutOutcome::Created(_)) {
            tx.commit().await.map_err(other)?;
        } else {
            tx.rollback().await.map_err(other)?;
        }
        Ok(outcome)
    }

    async fn order(&self, tenant: TenantId, id: OrderId) -> StoreResult<OrderDetail> {
        let mut conn = self.pool.acquire().await.map_err(other)?;
        fetch_order(&mut conn, tenant, id).await
    }

    async fn list_orders(
        &self,
        tenant: TenantId,
        filter: &OrderFilter,
        page: &PageRequest,
    ) -> StoreResult<Page<Order>> {
        let mut sql: QueryBuilder<'_, Postgres> = QueryBuilder::new(format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE tenant_id = "
        ));
        sql.push_bind(tenant.0)
            .push(" AND id < ")
            .push_bind(before_cursor(page)?);
        if let Some(status) = filter.status {
            sql.push(" AND status = ").push_bind(status.as_str());
        }
        if let Some(customer) = filter.customer_id {
            sql.push(" AND customer_id = ").push_bind(customer.0);
        }
        if let Some(index) = &filter.email_index {
            sql.push(" AND email_index = ").push_bind(index.as_str());
        }
        if let Some(from) = filter.created_from {
            sql.push(" AND created_at >= ").push_bind(from);
        }
        if let Some(to) = filter.created_to {
            sql.push(" AND created_at <= ").push_bind(to);
        }
        sql.push(" ORDER BY id DESC LIMIT ")
            .push_bind(page.fetch_limit());
        let mut conn = self.pool.acquire().await.map_err(other)?;
        let rows = sql
            .build_query_as::<OrderRow>()
            .fetch_all(&mut *conn)
            .await
            .map_err(other)?;
        let orders = with_lines(&mut conn, rows).await?;
        Ok(Page::from_rows(orders, page, |o| o.id.to_string()))
    }

    async fn transition_order(
        &self,
        tenant: TenantId,
        id: OrderId,
        to: OrderStatus,
        by: &TransitionActor<'_>,
    ) -> StoreResult<OrderDetail> {
        let mut tx = write_tx(&self.pool).await?;
        let (from, _, _) = lock_order(&mut tx, tenant, id).await?;
        // Refunds move orders to `refunded`; nothing moves one back to
        // `pending_payment` (its sources are empty).
        if to == OrderStatus::Refunded || !from.can_move_to(to) {
            return Err(illegal_move(to));
        }
        move_order(&mut tx, tenant, id, from, to, by).await?;
        let detail = fetch_order(&mut tx, tenant, id).await?;
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
        let mut tx = write_tx(&self.pool).await?;
        let (status, total, refunded) = lock_order(&mut tx, tenant, id).await?;
        if !status.can_move_to(OrderStatus::Refunded) {
            return Err(StoreError::Invalid(
                "only paid, fulfilled or delivered orders can be refunded",
            ));
        }
        if refund.amount < 1 || refund.amount > total - refunded {
            return Err(StoreError::Invalid(
                "the refund must be at least 1 and at most what is left unrefunded",
            ));
        }

        // Units to put back, per line and then per variant.
        let lines: HashMap<Uuid, (Uuid, i64, i64)> = sqlx::query_as::<_, (Uuid, Uuid, i64, i64)>(
            "SELECT id, variant_id, quantity, restocked FROM order_lines WHERE order_id = $1",
        )
        .bind(id.0)
        .fetch_all(&mut *tx)
        .await
        .map_err(other)?
        .into_iter()
        .map(|(line, variant, quantity, restocked)| (line, (variant, quantity, restocked)))
        .collect();
        let mut per_line: BTreeMap<Uuid, i64> = BTreeMap::new();
        for r in &refund.restock {
            if !lines.contains_key(&r.line_id.0) {
                return Err(StoreError::UnknownReference { field: "restock" });
            }
            if r.quantity < 1 {
                return Err(StoreError::Invalid("a restock needs at least one unit"));
            }
            *per_line.entry(r.line_id.0).or_default() += r.quantity;
        }
        let mut per_variant: BTreeMap<Uuid, i64> = BTreeMap::new();
        for (line, q) in &per_line {
            let (variant, quantity, restocked) = lines[line];
            if *q > quantity - restocked {
                return Err(StoreError::Invalid(
                    "a line cannot restock more units than it has left to restock",
                ));
            }
            *per_variant.entry(variant).or_default() += q;
        }

        let variants: Vec<Uuid> = per_variant.keys().copied().collect();
        lock_products_of(&mut tx, tenant, &variants).await?;
        let reason = format!("order {id} refund");
        let mut products = BTreeSet::new();
        for (variant, q) in per_variant {
            // Read after the product lock: a variant deleted since has no
            // stock to put back.
            let product: Option<Uuid> = sqlx::query_scalar(
                "SELECT product_id FROM variants WHERE id = $1 AND tenant_id = $2",
            )
            .bind(variant)
            .bind(tenant.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(other)?;
            if let Some(product) = product {
                change_stock(&mut tx, tenant, variant, q, &reason, by.actor).await?;
                products.insert(product);
            }
        }
        for product in products {
            refresh_summary(&mut tx, product).await?;
        }
        for (line, q) in &per_line {
            sqlx::query("UPDATE order_lines SET restocked = restocked + $1 WHERE id = $2")
                .bind(q)
                .bind(line)
                .execute(&mut *tx)
                .await
                .map_err(other)?;
        }

        let at = now();
        sqlx::query(
            "INSERT INTO refunds (id, order_id, amount, reason, restock, actor, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(refund.id.0)
        .bind(id.0)
        .bind(refund.amount)
        .bind(&refund.reason)
        .bind(Json(&refund.restock))
        .bind(by.actor)
        .bind(at)
        .execute(&mut *tx)
        .await
        .map_err(other)?;
        sqlx::query("UPDATE orders SET refunded = refunded + $1, updated_at = $2 WHERE id = $3")
            .bind(refund.amount)
            .bind(at)
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(other)?;
        let (topic, payload) = events::refund_created(id, refund);
        emit(&mut tx, tenant, id, topic, payload).await?;

        let refunded = refunded + refund.amount;
        if refunded == total {
            // Audited once below, as the refund.
            let quiet = TransitionActor {
                actor: by.actor,
                reason: refund.reason.as_deref().or(by.reason),
                audit: None,
            };
            move_order(&mut tx, tenant, id, status, OrderStatus::Refunded, &quiet).await?;
        }
        if let Some(ctx) = by.audit {
            append(
                &mut tx,
                tenant,
                ctx,
                "order.refund",
                format!("order:{id}"),
                Some(json!({"status": status.as_str(), "refunded": refunded - refund.amount})),
                Some(json!({
                    "refund_id": refund.id, "amount": refund.amount, "reason": refund.reason,
                    "restock": refund.restock, "refunded": refunded,
                })),
            )
            .await?;
        }
        let detail = fetch_order(&mut tx, tenant, id).await?;
        tx.commit().await.map_err(other)?;
        Ok(detail)
    }

    async fn expire_orders(&self, now_: DateTime<Utc>, limit: i64) -> StoreResult<u64> {
        let by = TransitionActor {
            actor: "system",
            reason: Some("payment timeout"),
            audit: None,
        };
        let mut cancelled = 0;
        // One order per transaction: each takes its products' locks in
        // order, which a batch spanning several orders could not.
        while cancelled < limit.max(0) {
            let mut tx = write_tx(&self.pool).await?;
            // Orders another node is sweeping (or anyone is moving) are
            // skipped, not waited for.
            let due: Option<(Uuid, Uuid)> = sqlx::query_as(
                "SELECT id, tenant_id FROM orders WHERE status = 'pending_payment' \
                 AND expires_at <= $1 ORDER BY expires_at LIMIT 1 FOR UPDATE SKIP LOCKED",
            )
            .bind(now_)
            .fetch_optional(&mut *tx)
            .await
            .map_err(other)?;
            let Some((id, tenant)) = due else { break };
            move_order(
                &mut tx,
                TenantId(tenant),
                OrderId(id),
                OrderStatus::PendingPayment,
                OrderStatus::Cancelled,
                &by,
            )
            .await?;
            tx.commit().await.map_err(other)?;
            cancelled += 1;
        }
        Ok(u64::try_from(cancelled).unwrap_or(0))
    }

    async fn create_payment(
        &self,
        tenant: TenantId,
        order: OrderId,
        payment: &NewPayment,
    ) -> StoreResult<OrderDetail> {
        let mut tx = write_tx(&self.pool).await?;
        let (status, _, _) = lock_order(&mut tx, tenant, order).await?;
        if status != OrderStatus::PendingPayment {
            return Err(StoreError::Invalid(
                "only an order awaiting payment can take a payment",
            ));
        }
        // Two attempts in flight could both be collected.
        let pending: Option<i32> = sqlx::query_scalar(
            "SELECT 1 FROM payments WHERE order_id = $1 AND status = 'pending' LIMIT 1",
        )
        .bind(order.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(other)?;
        if pending.is_some() {
            return Err(StoreError::Invalid(
                "a payment attempt for this order is still pending; wait for its outcome",
            ));
        }
        insert_payment(&mut tx, tenant, order, payment, now()).await?;
        let detail = fetch_order(&mut tx, tenant, order).await?;
        tx.commit().await.map_err(other)?;
        Ok(detail)
    }

    async fn payment_by_reference(
        &self,
        provider: &str,
        reference: &str,
    ) -> StoreResult<(TenantId, OrderId)> {
        let row: Option<(Uuid, Uuid)> = sqlx::query_as(
            "SELECT tenant_id, order_id FROM payments WHERE provider = $1 AND reference = $2",
        )
        .bind(provider)
        .bind(reference)
        .fetch_optional(&self.pool)
        .await
        .map_err(other)?;
        let (tenant, order) = row.ok_or(StoreError::NotFound("payment"))?;
        Ok((TenantId(tenant), OrderId(order)))
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
        // A payment's order and shop never change: no lock needed to read them.
        let found: Option<(Uuid, Uuid, Uuid)> = sqlx::query_as(
            "SELECT id, tenant_id, order_id FROM payments WHERE provider = $1 AND reference = $2",
        )
        .bind(provider)
        .bind(reference)
        .fetch_optional(&mut *tx)
        .await
        .map_err(other)?;
        let (payment, tenant, order) = found.ok_or(StoreError::NotFound("payment"))?;
        let (tenant, order) = (TenantId(tenant), OrderId(order));
        // A replay of this event waits here until the first commits.
        let recorded = sqlx::query(
            "INSERT INTO payment_events (provider, event_id, payment_id, received_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(provider)
        .bind(event_id)
        .bind(payment)
        .bind(now())
        .execute(&mut *tx)
        .await
        .map_err(other)?;
        if recorded.rows_affected() == 0 {
            tx.rollback().await.map_err(other)?;
            return Ok(Settlement::Duplicate);
        }

        let (order_status, _, _) = lock_order(&mut tx, tenant, order).await?;
        let (status, amount): (String, i64) =
            sqlx::query_as("SELECT status, amount FROM payments WHERE id = $1 FOR UPDATE")
                .bind(payment)
                .fetch_one(&mut *tx)
                .await
                .map_err(other)?;
        if status != PaymentStatus::Pending.as_str() {
            // The event is kept, so its replays are `Duplicate`.
            tx.commit().await.map_err(other)?;
            return Ok(Settlement::AlreadySettled);
        }
        let settled = match outcome {
            PaymentOutcome::Confirmed => PaymentStatus::Confirmed,
            PaymentOutcome::Declined => PaymentStatus::Declined,
        };
        sqlx::query("UPDATE payments SET status = $1, updated_at = $2 WHERE id = $3")
            .bind(settled.as_str())
            .bind(now())
            .bind(payment)
            .execute(&mut *tx)
            .await
            .map_err(other)?;
        let (topic, payload) = events::payment(settled.as_str(), order, payment, provider, amount);
        emit(&mut tx, tenant, order, &topic, payload).await?;

        let mut order_paid = false;
        if settled == PaymentStatus::Confirmed {
            if order_status == OrderStatus::PendingPayment {
                move_order(&mut tx, tenant, order, order_status, OrderStatus::Paid, by).await?;
                order_paid = true;
            } else {
                let (topic, payload) =
                    events::payment("unmatched", order, payment, provider, amount);
                emit(&mut tx, tenant, order, &topic, payload).await?;
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
        let mut tx = write_tx(&self.pool).await?;
        sqlx::query(
            "INSERT INTO deals (id, tenant_id, name, description, kind, value, target, \
             product_ids, category_ids, code, starts_at, ends_at, max_uses, \
             max_uses_per_customer, max_units, uses, units_sold, active, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 0, 0, \
             $16, $17, $17)",
        )
        .bind(deal.id.0)
        .bind(tenant.0)
        .bind(&deal.name)
        .bind(&deal.description)
        .bind(deal.kind.as_str())
        .bind(deal.value)
        .bind(deal.target.as_str())
        .bind(Json(&deal.product_ids))
        .bind(Json(&deal.category_ids))
        .bind(&deal.code)
        .bind(deal.starts_at)
        .bind(deal.ends_at)
        .bind(deal.max_uses)
        .bind(deal.max_uses_per_customer)
        .bind(deal.max_units)
        .bind(deal.active)
        .bind(now())
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        let created = fetch_deal(&mut tx, tenant, deal.id).await?;
        append(
            &mut tx,
            tenant,
            audit,
            "deal.create",
            format!("deal:{}", deal.id),
            None,
            Some(deal_json(&created)?),
        )
        .await?;
        tx.commit().await.map_err(other)?;
        Ok(created)
    }

    async fn update_deal(
        &self,
        tenant: TenantId,
        deal: &NewDeal,
        audit: &AuditContext,
    ) -> StoreResult<Deal> {
        let mut tx = write_tx(&self.pool).await?;
        let before = lock_deal(&mut tx, tenant, deal.id).await?;
        sqlx::query(
            "UPDATE deals SET name = $1, description = $2, kind = $3, value = $4, target = $5, \
             product_ids = $6, category_ids = $7, code = $8, starts_at = $9, ends_at = $10, \
             max_uses = $11, max_uses_per_customer = $12, max_units = $13, active = $14, \
             updated_at = $15 WHERE id = $16",
        )
        .bind(&deal.name)
        .bind(&deal.description)
        .bind(deal.kind.as_str())
        .bind(deal.value)
        .bind(deal.target.as_str())
        .bind(Json(&deal.product_ids))
        .bind(Json(&deal.category_ids))
        .bind(&deal.code)
        .bind(deal.starts_at)
        .bind(deal.ends_at)
        .bind(deal.max_uses)
        .bind(deal.max_uses_per_customer)
        .bind(deal.max_units)
        .bind(deal.active)
        .bind(now())
        .bind(deal.id.0)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        let after = fetch_deal(&mut tx, tenant, deal.id).await?;
        append(
            &mut tx,
            tenant,
            audit,
            "deal.update",
            format!("deal:{}", deal.id),
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
        let mut tx = write_tx(&self.pool).await?;
        let before = lock_deal(&mut tx, tenant, id).await?;
        sqlx::query("DELETE FROM deals WHERE id = $1")
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(other)?;
        append(
            &mut tx,
            tenant,
            audit,
            "deal.delete",
            format!("deal:{id}"),
            Some(deal_json(&before)?),
            None,
        )
        .await?;
        tx.commit().await.map_err(other)?;
        Ok(())
    }

    async fn deal(&self, tenant: TenantId, id: DealId) -> StoreResult<Deal> {
        let mut conn = self.pool.acquire().await.map_err(other)?;
        fetch_deal(&mut conn, tenant, id).await
    }

    async fn deal_by_code(&self, tenant: TenantId, code: &str) -> StoreResult<Deal> {
        let row: Option<DealRow> = sqlx::query_as(&format!(
            "SELECT {DEAL_COLUMNS} FROM deals WHERE tenant_id = $1 AND code = $2"
        ))
        .bind(tenant.0)
        .bind(code)
        .fetch_optional(&self.pool)
        .await
        .map_err(other)?;
        row.ok_or(StoreError::NotFound("deal"))?.try_into()
    }

    async fn list_deals(&self, tenant: TenantId, page: &PageRequest) -> StoreResult<Page<Deal>> {
        let rows: Vec<DealRow> = sqlx::query_as(&format!(
            "SELECT {DEAL_COLUMNS} FROM deals WHERE tenant_id = $1 AND id < $2 \
             ORDER BY id DESC LIMIT $3"
        ))
        .bind(tenant.0)
        .bind(before_cursor(page)?)
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
        now_: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<Vec<Deal>> {
        let rows: Vec<DealRow> = sqlx::query_as(&format!(
            "SELECT {DEAL_COLUMNS} FROM deals WHERE tenant_id = $1 AND active \
             AND (ends_at IS NULL OR ends_at > $2) AND (starts_at IS NULL OR starts_at < $3) \
             ORDER BY id"
        ))
        .bind(tenant.0)
        .bind(now_)
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
        let rows: Vec<(Uuid, String, String, Json<serde_json::Value>, DateTime<Utc>)> =
            sqlx::query_as(
                "SELECT id, topic, subject, payload, created_at FROM outbox_events \
                 WHERE tenant_id = $1 AND id > $2 AND ($3::text IS NULL OR topic = $3) \
                 ORDER BY id LIMIT $4",
            )
            .bind(tenant.0)
            .bind(crate::cursor(page)?)
            .bind(topic)
            .bind(page.fetch_limit())
            .fetch_all(&self.pool)
            .await
            .map_err(other)?;
        let events = rows
            .into_iter()
            .map(|(id, topic, subject, payload, created_at)| OutboxEvent {
                id: EventId(id),
                topic,
                subject,
                payload: payload.0,
                created_at,
            })
            .collect();
        Ok(Page::from_rows(events, page, |e| e.id.to_string()))
    }
}
