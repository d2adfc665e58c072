//! Checkout: the idempotency key, then (in lock order) the cart, the
//! stock, the deals, and the order with its lines, first transition and
//! pending payment. Any outcome but `Created` rolls back.
//!
//! A checkout without deals or rentals goes to the node's batch worker
//! (`batch.rs`), which commits many together; this file's [`one`] runs
//! every other checkout, and every one a batch sets aside, in a
//! transaction of its own.
//!
//! Each round trip holds the products' row locks a little longer, so the
//! writes that need no answer in between go together: a one-line order
//! without deals takes six (`BEGIN`, [`claim`]: key and cart in one
//! statement, the products' locks, the line's reservation,
//! [`insert_order`]: every row of the order and the products' summaries
//! in one statement, `COMMIT`; thirteen before). Each line's reservation
//! stays a statement of its own, by primary key: one `UPDATE … FROM
//! unnest(…)` for every line was tried and measured, and PostgreSQL's
//! generic plan for it (chosen after five runs of a prepared statement,
//! on estimates from before the shop's variants existed) read every
//! variant of the shop through the tenant's index, dead versions
//! included — 24 ms a checkout after 12,000 of them. (The batch's
//! `UPDATE … FROM unnest(…)` names no shop: the primary key is its only
//! path.)

use crate::Conn;
use crate::backend::PgBackend as B;
use chrono::{DateTime, Utc};
use storekeep_domain::{CheckoutOutcome, DealId, EventId, NewOrder, Order, OrderId, TenantId};
use storekeep_store::commerce::events;
use storekeep_store::rules::commerce::checkout::{self as rules, Misses};
use storekeep_store::rules::commerce::deals::per_customer_cap_reached;
use storekeep_store::rules::commerce::order_subject;
use storekeep_store::{StoreError, StoreResult, now};
use storekeep_store_sql::DbId;
use storekeep_store_sql::commerce::{CLAIM_DEAL, RESERVE_STOCK, STOCK_OF};
use uuid::Uuid;

use super::orders::{fetch_detail, lock_products_of};
use super::{batch, map_err};
use crate::catalog::product_summary_set;
use crate::error::other;
use crate::run::RUN;
use crate::{Store, write_tx};
use sqlx::PgPool;
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
    if batch::batchable(order) {
        s.checkouts.run(tenant, order.clone()).await
    } else {
        one(&s.pool, tenant, order).await
    }
}

/// One checkout in a transaction of its own: every checkout a batch
/// cannot take (deals, rentals, an empty cart, a line without units), and every one a
/// batch set aside (its key or cart taken, a line short or repriced, a
/// failed batch), whose outcome this decides exactly.
pub(crate) async fn one(
    pool: &PgPool,
    tenant: TenantId,
    order: &NewOrder,
) -> StoreResult<CheckoutOutcome> {
    let at = now();
    let mut tx = write_tx(pool).await?;
    match claim(&mut tx, tenant, order, at).await? {
        Claim::Claimed => {}
        Claim::KeyTaken => {
            tx.rollback().await.map_err(other)?;
            return replay(pool, tenant, order).await;
        }
        Claim::CartClosed => {
            tx.rollback().await.map_err(other)?;
            return Ok(CheckoutOutcome::CartClosed);
        }
        // Only the shop's own cart can be closed; one it does not have
        // (another shop's) is not found.
        Claim::NoCart => return Err(StoreError::NotFound("cart")),
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

/// What [`claim`] found.
enum Claim {
    /// The key is this attempt's and the cart is closed by it.
    Claimed,
    /// The key was used before (or by a concurrent attempt that committed).
    KeyTaken,
    /// The key is new but the cart is not open any more.
    CartClosed,
    /// The shop has no such cart.
    NoCart,
}

/// Locks 1 and 2 in one statement: claims the idempotency key, then (only
/// if it was claimed) closes the cart. A concurrent attempt with this key
/// waits on the key's unique index until the first commits (then finds
/// its row) or rolls back (then goes ahead); a concurrent checkout of the
/// cart with another key waits on the cart's row and then finds it closed.
/// The cart's `UPDATE` reads the key's CTE in its `WHERE`, so the key is
/// claimed before the cart is locked.
async fn claim(
    conn: &mut Conn,
    tenant: TenantId,
    order: &NewOrder,
    at: DateTime<Utc>,
) -> StoreResult<Claim> {
    let (claimed, closed, known): (bool, bool, bool) = sqlx::query_as(
        "WITH k AS (\
           INSERT INTO idempotency_keys (tenant_id, scope, key, request_hash, order_id, \
           created_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING 1), \
         c AS (\
           UPDATE carts SET status = 'checked_out', order_id = $5, updated_at = $6 \
           WHERE id = $7 AND tenant_id = $1 AND status = 'open' AND EXISTS (SELECT 1 FROM k) \
           RETURNING 1) \
         SELECT EXISTS (SELECT 1 FROM k), EXISTS (SELECT 1 FROM c), \
         EXISTS (SELECT 1 FROM carts WHERE id = $7 AND tenant_id = $1)",
    )
    .bind(tenant.0)
    .bind(rules::SCOPE)
    .bind(&order.idempotency_key)
    .bind(&order.request_hash)
    .bind(order.id.0)
    .bind(at)
    .bind(order.cart_id.0)
    .fetch_one(&mut *conn)
    .await
    .map_err(other)?;
    Ok(match (claimed, closed, known) {
        (false, _, _) => Claim::KeyTaken,
        (true, true, _) => Claim::Claimed,
        (true, false, true) => Claim::CartClosed,
        (true, false, false) => Claim::NoCart,
    })
}

/// The answer to a key already used: its order again, or `KeyReused`.
async fn replay(pool: &PgPool, tenant: TenantId, order: &NewOrder) -> StoreResult<CheckoutOutcome> {
    let mut conn = pool.acquire().await.map_err(other)?;
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
    let (products, units) = match reserve(conn, tenant, order).await? {
        Ok(held) => held,
        Err(refused) => return Ok(refused),
    };
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
    insert_order(conn, tenant, order, &detail.order, &deals, &products, at).await?;
    for c in &order.rentals {
        let unit = units.iter().find(|(id, _)| *id == c.id).map(|(_, u)| *u);
        contracts::insert_contract::<B>(conn, tenant, &detail.order, c, unit, at).await?;
        let (topic, payload) = contract_events::contract_created(order.id, c, unit);
        emit::<B>(conn, tenant, order.id, topic, payload).await?;
    }
    Ok(CheckoutOutcome::Created(Box::new(detail)))
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

/// The created order's rows in one statement: the order, its lines, its
/// deal uses, its first transition, its pending payment and its events
/// (`order.created` before `payment.created`: consumers see the order
/// first), and the summaries of the products whose stock it reserved.
/// The foreign keys between them are checked at the statement's end.
#[allow(clippy::too_many_arguments)]
async fn insert_order(
    conn: &mut Conn,
    tenant: TenantId,
    order: &NewOrder,
    created: &Order,
    deals: &[(DealId, i64)],
    products: &[DbId],
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let q = &order.quote;
    let lines = &created.lines;
    let p = &order.payment;
    let (order_topic, order_payload) = events::order_created(order);
    let (payment_topic, payment_payload) =
        events::payment("created", order.id, p.id, &p.provider, p.amount);
    let subject = order_subject(order.id);
    let event_ids = [EventId::new().0, EventId::new().0];
    let topics = [order_topic, payment_topic.as_str()];
    let payloads = [order_payload, payment_payload];
    let summaries: Vec<Uuid> = products.iter().map(|p| p.0).collect();
    sqlx::query(concat!(
        "WITH o AS (\
           INSERT INTO orders (id, tenant_id, cart_id, customer_id, status, currency, subtotal, \
           discount, shipping, tax, total, refunded, email_sealed, email_index, address_sealed, \
           country, region, shipping_method, payment_provider, expires_at, created_at, updated_at) \
           VALUES ($1, $2, $3, $4, 'pending_payment', $5, $6, $7, $8, $9, $10, 0, $11, $12, $13, \
           $14, $15, $16, $17, $18, $19, $19)), \
         l AS (\
           INSERT INTO order_lines (id, order_id, variant_id, product_id, sku, title, quantity, \
           unit_price, discount, total, deal_id, position) \
           SELECT l.id, $1, l.variant_id, l.product_id, l.sku, l.title, l.quantity, l.unit_price, \
           l.discount, l.total, l.deal_id, l.n - 1 \
           FROM unnest($20::uuid[], $21::uuid[], $22::uuid[], $23::text[], $24::text[], \
           $25::int8[], $26::int8[], $27::int8[], $28::int8[], $29::uuid[]) WITH ORDINALITY \
           AS l (id, variant_id, product_id, sku, title, quantity, unit_price, discount, total, \
           deal_id, n)), \
         d AS (\
           INSERT INTO deal_uses (order_id, deal_id, customer_key, units) \
           SELECT $1, d.id, $30, d.units FROM unnest($31::uuid[], $32::int8[]) AS d (id, units)), \
         t AS (\
           INSERT INTO order_transitions (id, order_id, from_status, to_status, actor, reason, at) \
           VALUES ($33, $1, NULL, 'pending_payment', $34, NULL, $19)), \
         p AS (\
           INSERT INTO payments (id, tenant_id, order_id, provider, reference, status, amount, \
           created_at, updated_at) VALUES ($35, $2, $1, $17, $36, 'pending', $37, $19, $19)), \
         e AS (\
           INSERT INTO outbox_events (id, tenant_id, topic, subject, payload, created_at) \
           SELECT e.id, $2, e.topic, $38, e.payload, $19 \
           FROM unnest($39::uuid[], $40::text[], $41::jsonb[]) AS e (id, topic, payload)) \
         UPDATE products SET ",
        product_summary_set!(),
        " WHERE id = ANY($42)"
    ))
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
    .bind(&p.provider)
    .bind(created.expires_at)
    .bind(at)
    .bind(lines.iter().map(|l| l.id.0).collect::<Vec<Uuid>>())
    .bind(lines.iter().map(|l| l.variant_id.0).collect::<Vec<Uuid>>())
    .bind(lines.iter().map(|l| l.product_id.0).collect::<Vec<Uuid>>())
    .bind(lines.iter().map(|l| l.sku.as_str()).collect::<Vec<&str>>())
    .bind(
        lines
            .iter()
            .map(|l| l.title.as_str())
            .collect::<Vec<&str>>(),
    )
    .bind(lines.iter().map(|l| l.quantity).collect::<Vec<i64>>())
    .bind(lines.iter().map(|l| l.unit_price).collect::<Vec<i64>>())
    .bind(lines.iter().map(|l| l.discount).collect::<Vec<i64>>())
    .bind(lines.iter().map(|l| l.total).collect::<Vec<i64>>())
    .bind(
        lines
            .iter()
            .map(|l| l.deal_id.map(|d| d.0))
            .collect::<Vec<Option<Uuid>>>(),
    )
    .bind(&order.customer_key)
    .bind(deals.iter().map(|d| d.0.0).collect::<Vec<Uuid>>())
    .bind(deals.iter().map(|d| d.1).collect::<Vec<i64>>())
    .bind(Uuid::now_v7())
    .bind(&order.actor)
    .bind(p.id.0)
    .bind(&p.reference)
    .bind(p.amount)
    .bind(&subject)
    .bind(&event_ids[..])
    .bind(&topics[..])
    .bind(&payloads[..])
    .bind(&summaries)
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    Ok(())
}
