//! Checkout: the idempotency key, then (in lock order) the cart, the
//! stock, the deals, and the order with its lines, first transition and
//! pending payment. Any outcome but `Created` rolls back.

use crate::Conn;
use crate::backend::PgBackend as B;
use chrono::{DateTime, Utc};
use storekeep_domain::{
    CheckoutOutcome, DealId, NewOrder, Order, OrderId, OrderLine, OrderStatus, TenantId,
};
use storekeep_store::commerce::events;
use storekeep_store::rules::commerce::checkout::{self as rules, Misses};
use storekeep_store::rules::commerce::deals::per_customer_cap_reached;
use storekeep_store::{StoreError, StoreResult, now};
use storekeep_store_sql::DbId;
use storekeep_store_sql::commerce::{CLAIM_DEAL, RESERVE_STOCK, STOCK_OF};
use uuid::Uuid;

use super::map_err;
use super::orders::{fetch_detail, insert_transition, lock_products_of};
use super::payments::insert_payment;
use crate::catalog::refresh_summary;
use crate::error::other;
use crate::run::RUN;
use crate::{Store, write_tx};
use storekeep_store_sql::commerce::outbox::emit;
use storekeep_store_sql::stmt::Stmt;
// Rental contracts (contracts part).
use storekeep_domain::{RentalContractId, RentalUnitId};
use storekeep_store::contracts::events as contract_events;
use storekeep_store_sql::contracts::{self, LineHold};

pub(crate) async fn checkout(
    s: &Store,
    tenant: TenantId,
    order: &NewOrder,
) -> StoreResult<CheckoutOutcome> {
    let at = now();
    let mut tx = write_tx(&s.pool).await?;
    // A concurrent attempt with this key waits here until the first
    // commits (then finds its row) or rolls back (then goes ahead).
    let claimed = sqlx::query(
        "INSERT INTO idempotency_keys (tenant_id, scope, key, request_hash, order_id, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
    )
    .bind(tenant.0)
    .bind(rules::SCOPE)
    .bind(&order.idempotency_key)
    .bind(&order.request_hash)
    .bind(order.id.0)
    .bind(at)
    .execute(&mut *tx)
    .await
    .map_err(other)?;
    if claimed.rows_affected() == 0 {
        tx.rollback().await.map_err(other)?;
        return replay(s, tenant, order).await;
    }
    rules::check_lines(&order.quote.lines)?;
    let outcome = place_order(&mut tx, tenant, order, at).await?;
    if matches!(outcome, CheckoutOutcome::Created(_)) {
        tx.commit().await.map_err(other)?;
    } else {
        tx.rollback().await.map_err(other)?;
    }
    Ok(outcome)
}

/// The answer to a key already used: its order again, or `KeyReused`.
async fn replay(s: &Store, tenant: TenantId, order: &NewOrder) -> StoreResult<CheckoutOutcome> {
    let mut conn = s.pool.acquire().await.map_err(other)?;
    let seen: Option<(String, Uuid)> = sqlx::query_as(
        "SELECT request_hash, order_id FROM idempotency_keys \
         WHERE tenant_id = $1 AND scope = $2 AND key = $3",
    )
    .bind(tenant.0)
    .bind(rules::SCOPE)
    .bind(&order.idempotency_key)
    .fetch_optional(&mut *conn)
    .await
    .map_err(other)?;
    let (hash, first) = seen
        .ok_or_else(|| StoreError::Other("an idempotency key vanished after it collided".into()))?;
    if !rules::replays(&hash, order) {
        return Ok(CheckoutOutcome::KeyReused);
    }
    let detail = fetch_detail(&mut conn, tenant, OrderId(first)).await?;
    Ok(CheckoutOutcome::Replayed(Box::new(detail)))
}

/// Everything checkout writes after the idempotency key, in lock order.
/// Any outcome but `Created` is returned for the caller to roll back.
async fn place_order(
    conn: &mut Conn,
    tenant: TenantId,
    order: &NewOrder,
    at: DateTime<Utc>,
) -> StoreResult<CheckoutOutcome> {
    if let Some(refused) = close_cart(conn, tenant, order, at).await? {
        return Ok(refused);
    }
    let (products, units) = match reserve(conn, tenant, order).await? {
        Ok(held) => held,
        Err(refused) => return Ok(refused),
    };
    for product in products {
        refresh_summary(conn, product.0).await?;
    }
    let deals = rules::deal_claims(&order.quote);
    let mut unavailable = Vec::new();
    for &(deal, units) in &deals {
        let cap: Option<Option<i64>> = RUN
            .scalar_optional(
                &mut *conn,
                Stmt::new(CLAIM_DEAL, (deal.0, tenant.0, units, at)),
            )
            .await?;
        let Some(cap) = cap else {
            unavailable.push(deal);
            continue;
        };
        if cap.is_some() {
            // The claim's row lock serialises this count.
            let used: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM deal_uses WHERE deal_id = $1 AND customer_key = $2 \
                 AND NOT released",
            )
            .bind(deal.0)
            .bind(&order.customer_key)
            .fetch_one(&mut *conn)
            .await
            .map_err(other)?;
            if per_customer_cap_reached(cap, used) {
                unavailable.push(deal);
            }
        }
    }
    if !unavailable.is_empty() {
        return Ok(CheckoutOutcome::DealUnavailable(unavailable));
    }
    let lines = order
        .quote
        .lines
        .iter()
        .map(|l| rules::order_line(l, l.product_id))
        .collect();
    let detail = rules::created_order(order, lines, at);
    insert_order(conn, tenant, order, &detail.order, &deals, at).await?;
    for c in &order.rentals {
        let unit = units.iter().find(|(id, _)| *id == c.id).map(|(_, u)| *u);
        contracts::insert_contract::<B>(conn, tenant, &detail.order, c, unit, at).await?;
        let (topic, payload) = contract_events::contract_created(order.id, c, unit);
        emit::<B>(conn, tenant, order.id, topic, payload).await?;
    }
    Ok(CheckoutOutcome::Created(Box::new(detail)))
}

/// Lock 2: closes the cart (a concurrent checkout of it, with another key,
/// waits here and then finds it closed). `Some` refuses the checkout.
async fn close_cart(
    conn: &mut Conn,
    tenant: TenantId,
    order: &NewOrder,
    at: DateTime<Utc>,
) -> StoreResult<Option<CheckoutOutcome>> {
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
    if closed.rows_affected() > 0 {
        return Ok(None);
    }
    // Only the shop's own cart can be closed; one it does not have
    // (another shop's) is not found.
    let known: Option<i32> = RUN
        .scalar_optional(
            &mut *conn,
            Stmt::new(
                "SELECT 1 FROM carts WHERE id = $1 AND tenant_id = $2",
                (order.cart_id.0, tenant.0),
            ),
        )
        .await?;
    match known {
        None => Err(StoreError::NotFound("cart")),
        Some(_) => Ok(Some(CheckoutOutcome::CartClosed)),
    }
}

/// The rental units claimed by a checkout, by contract.
type HeldUnits = Vec<(RentalContractId, RentalUnitId)>;

/// Locks 3 and 4: reserves every line's units, products first, then each
/// variant by id (a rental line of a serial-tracked variant claims one of
/// its units instead). Returns the products whose summaries changed and
/// the units claimed, or the refusal naming every line that missed.
async fn reserve(
    conn: &mut Conn,
    tenant: TenantId,
    order: &NewOrder,
) -> StoreResult<Result<(Vec<DbId>, HeldUnits), CheckoutOutcome>> {
    let lines = &order.quote.lines;
    let variant_ids: Vec<Uuid> = lines.iter().map(|l| l.variant_id.0).collect();
    lock_products_of(conn, tenant, &variant_ids).await?;
    let mut products: Vec<DbId> = Vec::new();
    let mut misses = Misses::default();
    let mut units = HeldUnits::new();
    for i in rules::reservation_order(lines) {
        let line = match contracts::hold_line::<B>(conn, tenant, order, &lines[i], now()).await? {
            LineHold::Unit(contract, unit) => {
                units.push((contract, unit));
                continue;
            }
            LineHold::Short(line) => {
                misses.add(&line, Some((line.unit_price, 0)));
                continue;
            }
            LineHold::Stock(line) => line,
        };
        let product: Option<DbId> = RUN
            .scalar_optional(
                &mut *conn,
                Stmt::new(
                    RESERVE_STOCK,
                    (line.variant_id.0, tenant.0, line.quantity, line.unit_price),
                ),
            )
            .await?;
        if let Some(p) = product {
            products.push(p);
            continue;
        }
        let current: Option<(i64, i64)> = RUN
            .optional(
                &mut *conn,
                Stmt::new(STOCK_OF, (line.variant_id.0, tenant.0)),
            )
            .await?;
        misses.add(&line, current);
    }
    if let Some(refused) = misses.refusal() {
        return Ok(Err(refused));
    }
    products.sort_unstable();
    products.dedup();
    Ok(Ok((products, units)))
}

/// The created order's rows: the order, its lines, its deal uses, its
/// first transition, its events and its pending payment.
async fn insert_order(
    conn: &mut Conn,
    tenant: TenantId,
    order: &NewOrder,
    created: &Order,
    deals: &[(DealId, i64)],
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let q = &order.quote;
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
    .bind(created.expires_at)
    .bind(at)
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    insert_lines(conn, order.id, &created.lines).await?;
    if !deals.is_empty() {
        let ids: Vec<Uuid> = deals.iter().map(|d| d.0.0).collect();
        let units: Vec<i64> = deals.iter().map(|d| d.1).collect();
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
    emit::<B>(conn, tenant, order.id, topic, payload).await?;
    insert_payment(conn, tenant, order.id, &order.payment, at).await
}

/// The order's lines in one statement; position is the index.
async fn insert_lines(conn: &mut Conn, order: OrderId, lines: &[OrderLine]) -> StoreResult<()> {
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
