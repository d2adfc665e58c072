//! Checkout batches: many checkouts in one transaction of a few set-based
//! statements (issue 19).
//!
//! One checkout in a transaction of its own (`checkout::one`) costs
//! PostgreSQL about six statements and a commit; at 64 clients on two
//! cores PostgreSQL's CPU, most of it per statement, capped it at about
//! 700–950/s. So each node queues its plain checkouts to one worker task,
//! which takes whatever has queued up (up to [`MAX_BATCH`]) and runs it
//! as one transaction of ten statements, whatever its size, in the lock
//! order of `commerce/mod.rs`:
//!
//! 1. `BEGIN` with a [`lock_timeout`](BEGIN_BATCH);
//! 2. every idempotency key, by shop and key;
//! 3. the carts of the keys claimed, `FOR UPDATE` by id, then closed;
//! 4. the products of every line, `FOR UPDATE`, by id;
//! 5. the variants' price and stock, read under those locks; which
//!    checkouts fit is decided here, in arrival order;
//! 6. every reservation in one conditional `UPDATE`, by variant id;
//! 7. every row of every order and the products' summaries in one
//!    statement, whose trigger adds the orders to the sales counters;
//! 8. `COMMIT`: no caller hears back before its order is durable.
//!
//! Every batch takes its locks in the same order, so two nodes' batches
//! queue rather than deadlock.
//!
//! The batch takes only the outcomes it can decide without writing and
//! undoing: `Created` for every checkout in it, and the refusal of a
//! checkout whose own lines refuse it against the stock read under its
//! products' locks (`refused_alone`: sold out, repriced, gone), which is
//! answered as the batch runs again without it. A checkout whose key was
//! used before, whose cart is not open or not the shop's, or one of whose
//! lines is short only behind the batch's other checkouts (which may yet
//! fail), is *set aside*: the batch rolls back and runs again without it
//! (up to [`ATTEMPTS`] runs), and the set-aside checkout runs alone after
//! the batch (`checkout::one`), which decides its outcome exactly as it
//! would have without batches: replay, `KeyReused`, `CartClosed`, the
//! refusal naming every line. So does every
//! checkout of a batch that fails (a lock wait past the timeout, a broken
//! constraint, a connection lost at `COMMIT`: its idempotency key then
//! tells a committed order, answered as created, from one that was not).
//! A second use of a key or a cart within one batch waits for the batch
//! and then runs alone, so it finds the first's order.
//!
//! Checkouts with deals or rentals (deal caps, rental units) always run
//! alone: their claims are conditional writes per deal and per unit that
//! a batch would have to undo.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgPool;
use storekeep_domain::{CheckoutOutcome, EventId, NewOrder, OrderDetail, TenantId, VariantId};
use storekeep_store::commerce::events;
use storekeep_store::gather::{Calls, Gather, Waiting};
use storekeep_store::rules::commerce::checkout::{self as rules, Miss, StockSeen, fit_in_order};
use storekeep_store::rules::commerce::order_subject;
use storekeep_store::{BatchCounters, StoreError, StoreResult, now};
use uuid::Uuid;

use super::checkout::one;
use super::map_err;
use crate::Conn;
use crate::catalog::product_summary_set;
use crate::error::other;

/// Most checkouts committed together.
const MAX_BATCH: usize = 128;
/// Checkouts that may wait for the worker before callers are held back.
const QUEUE: usize = 4096;
/// Runs of one batch (each without the checkouts the last set aside)
/// before its remaining checkouts run alone.
const ATTEMPTS: usize = 3;
/// A batch waits at most this long for a row lock (a product held by an
/// import or a refund, a key held by a retry in flight): every plain
/// checkout of the node waits behind it. Past it, the batch fails and its
/// checkouts run alone, each waiting only for its own rows
/// (`storekeep_checkout_batch_failures_total`). A sold-out product's queue
/// of refusals is answered by the batches, not run alone, so it does not
/// hold the product's lock against them.
const BEGIN_BATCH: &str = "BEGIN; SET LOCAL lock_timeout = '300ms'";

struct Checkout {
    tenant: TenantId,
    order: NewOrder,
    /// Its batch's `COMMIT` failed without an answer: the order may be
    /// committed.
    commit_lost: bool,
}

/// A checkout queued to the worker, with its caller's answer to give.
type Job = Waiting<Checkout, CheckoutOutcome>;

/// The queue into the node's checkout worker. Cloning shares the worker;
/// it stops when the last clone is dropped.
#[derive(Debug, Clone)]
pub(crate) struct Checkouts {
    queue: Gather<Checkout, CheckoutOutcome>,
    pub(crate) counters: Arc<BatchCounters>,
}

impl Checkouts {
    /// Starts the worker on the current tokio runtime.
    pub(crate) fn start(pool: PgPool) -> Self {
        let counters = Arc::new(BatchCounters::default());
        let task_counters = counters.clone();
        let queue = Gather::start("checkout worker", QUEUE, move |calls| {
            worker(pool.clone(), calls, task_counters.clone())
        });
        Self { queue, counters }
    }

    /// Runs one checkout through the worker and waits for its durable
    /// outcome.
    pub(crate) async fn run(
        &self,
        tenant: TenantId,
        order: NewOrder,
    ) -> StoreResult<CheckoutOutcome> {
        let checkout = Checkout {
            tenant,
            order,
            commit_lost: false,
        };
        self.queue.call(checkout).await
    }
}

/// Whether a checkout may join a batch: no deals, no rentals, and lines
/// that `check_lines` accepts (its refusal is `one`'s to give, after the
/// key is known to be new).
pub(crate) fn batchable(order: &NewOrder) -> bool {
    order.rentals.is_empty()
        && order.quote.deals.is_empty()
        && order.quote.lines.iter().all(|l| l.deal_id.is_none())
        && rules::check_lines(&order.quote.lines).is_ok()
}

async fn worker(
    pool: PgPool,
    mut calls: Calls<Checkout, CheckoutOutcome>,
    counters: Arc<BatchCounters>,
) {
    let mut jobs: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    // Waits for at least one job, then takes every job already queued (a
    // caller that gave up is not served: nobody would learn of the order).
    while calls.next(&mut jobs, MAX_BATCH).await {
        let mut alone = second_uses(&mut jobs);
        for _ in 0..ATTEMPTS {
            if jobs.is_empty() {
                break;
            }
            match run(&pool, &jobs).await {
                Ok(Ran::Committed(created)) => {
                    BatchCounters::add(&counters.batches, 1);
                    BatchCounters::add(&counters.batched, created.len());
                    for (job, detail) in jobs.drain(..).zip(created) {
                        job.answer(Ok(CheckoutOutcome::Created(Box::new(detail))));
                    }
                }
                Ok(Ran::SetAside(set_aside)) => {
                    // Highest index first, so the others stay put.
                    for (i, refusal) in set_aside.into_iter().rev() {
                        let job = jobs.remove(i);
                        match refusal {
                            Some(refused) => {
                                BatchCounters::add(&counters.batched, 1);
                                job.answer(Ok(refused));
                            }
                            None => alone.push(job),
                        }
                    }
                }
                Ok(Ran::CommitLost(e)) => {
                    BatchCounters::add(&counters.failed, 1);
                    tracing::warn!(error = %e, jobs = jobs.len(), "checkout batch's COMMIT failed; its checkouts run alone");
                    for job in &mut jobs {
                        job.commit_lost = true;
                    }
                    alone.append(&mut jobs);
                }
                Err(e) => {
                    BatchCounters::add(&counters.failed, 1);
                    tracing::warn!(error = %e, jobs = jobs.len(), "checkout batch failed; its checkouts run alone");
                    alone.append(&mut jobs);
                }
            }
        }
        alone.append(&mut jobs);
        BatchCounters::add(&counters.alone, alone.len());
        for job in alone {
            let pool = pool.clone();
            tokio::spawn(async move {
                let outcome = one(&pool, job.tenant, &job.order).await.map(|o| match o {
                    // Its own order, committed by the batch whose `COMMIT`
                    // answer was lost (the batch claimed the key, so no
                    // earlier checkout had it): this request created it.
                    CheckoutOutcome::Replayed(d)
                        if job.commit_lost && d.order.id == job.order.id =>
                    {
                        CheckoutOutcome::Created(d)
                    }
                    o => o,
                });
                job.answer(outcome);
            });
        }
    }
}

/// Takes out of `jobs` every second use of a shop's idempotency key or
/// cart: it runs alone once the batch with the first is over.
fn second_uses(jobs: &mut Vec<Job>) -> Vec<Job> {
    let mut keys = HashSet::new();
    let mut carts = HashSet::new();
    let mut later = Vec::new();
    let mut kept = Vec::with_capacity(jobs.len());
    for job in jobs.drain(..) {
        let key = keys.insert((job.tenant, job.order.idempotency_key.clone()));
        let cart = carts.insert((job.tenant, job.order.cart_id));
        if key && cart {
            kept.push(job);
        } else {
            later.push(job);
        }
    }
    *jobs = kept;
    later
}

/// What a run of a batch did.
enum Ran {
    /// Every checkout's order is committed, in the batch's order.
    Committed(Vec<OrderDetail>),
    /// Nothing was committed; these checkouts (indexes, ascending) are
    /// answered with the refusal beside them, or, with none, must run
    /// alone; the rest may run as a batch again.
    SetAside(Vec<Miss>),
    /// `COMMIT` failed without an answer (the connection broke): it may
    /// or may not have committed.
    CommitLost(StoreError),
}

/// A variant as read under its product's lock.
struct Stock {
    product: Uuid,
    seen: StockSeen,
}

/// Runs `jobs` as one batch; `Err` means nothing was committed.
async fn run(pool: &PgPool, jobs: &[Job]) -> StoreResult<Ran> {
    let at = now();
    let mut tx = pool.begin_with(BEGIN_BATCH).await.map_err(other)?;
    let claimed = claim(&mut tx, jobs, at).await?;
    let unclaimed = indexes(jobs, |job| !claimed.contains(&job.order.id.0));
    if !unclaimed.is_empty() {
        tx.rollback().await.map_err(other)?;
        return Ok(Ran::SetAside(
            unclaimed.into_iter().map(|i| (i, None)).collect(),
        ));
    }
    let mut variants: Vec<Uuid> = jobs
        .iter()
        .flat_map(|job| job.order.quote.lines.iter().map(|l| l.variant_id.0))
        .collect();
    variants.sort_unstable();
    variants.dedup();
    let stock = lock_and_read(&mut tx, &variants).await?;
    let (take, misses) = fit(jobs, &stock);
    if !misses.is_empty() {
        tx.rollback().await.map_err(other)?;
        // One that its own lines refuse (sold out, repriced, gone) is
        // answered now, from what was read under its products' locks; one
        // that missed only behind the batch's others runs alone.
        return Ok(Ran::SetAside(misses));
    }
    reserve(&mut tx, &take, &stock).await?;
    let created: Vec<OrderDetail> = jobs
        .iter()
        .map(|job| {
            let lines = job
                .order
                .quote
                .lines
                .iter()
                .map(|l| rules::order_line(l, l.product_id))
                .collect();
            rules::created_order(&job.order, lines, at)
        })
        .collect();
    let mut products: Vec<Uuid> = take.keys().map(|v| stock[v].product).collect();
    products.sort_unstable();
    products.dedup();
    insert_orders(&mut tx, jobs, &created, &products, at).await?;
    if let Err(e) = tx.commit().await {
        // An error the server answered rolled the batch back; only a
        // broken connection leaves the outcome unknown.
        return match e.as_database_error() {
            Some(_) => Err(other(e)),
            None => Ok(Ran::CommitLost(other(e))),
        };
    }
    Ok(Ran::Committed(created))
}

/// The indexes of the jobs `pick` picks, ascending.
fn indexes(jobs: &[Job], mut pick: impl FnMut(&Job) -> bool) -> Vec<usize> {
    jobs.iter()
        .enumerate()
        .filter(|(_, job)| pick(job))
        .map(|(i, _)| i)
        .collect()
}

/// Locks 1 and 2 for every checkout: claims the keys (in shop and key
/// order), then locks the carts of the orders whose key was claimed (by
/// id) and closes those still open. Returns the orders whose key and cart
/// are both theirs. (Two statements, not one: PostgreSQL runs the parts
/// of a `WITH` in no set order, and a key must be claimed before its
/// cart is locked, carts in one order across batches.)
async fn claim(conn: &mut Conn, jobs: &[Job], at: DateTime<Utc>) -> StoreResult<HashSet<Uuid>> {
    let mut by_key: Vec<&Job> = jobs.iter().collect();
    by_key.sort_by(|a, b| {
        (a.tenant, &a.order.idempotency_key).cmp(&(b.tenant, &b.order.idempotency_key))
    });
    let keyed: HashSet<Uuid> = sqlx::query_scalar::<_, Uuid>(
        "INSERT INTO idempotency_keys (tenant_id, scope, key, request_hash, order_id, created_at) \
         SELECT i.tenant_id, $5, i.key, i.request_hash, i.order_id, $6 \
         FROM unnest($1::uuid[], $2::text[], $3::text[], $4::uuid[]) WITH ORDINALITY \
         AS i (tenant_id, key, request_hash, order_id, n) ORDER BY i.n \
         ON CONFLICT DO NOTHING RETURNING order_id",
    )
    .bind(by_key.iter().map(|j| j.tenant.0).collect::<Vec<Uuid>>())
    .bind(
        by_key
            .iter()
            .map(|j| j.order.idempotency_key.as_str())
            .collect::<Vec<&str>>(),
    )
    .bind(
        by_key
            .iter()
            .map(|j| j.order.request_hash.as_str())
            .collect::<Vec<&str>>(),
    )
    .bind(by_key.iter().map(|j| j.order.id.0).collect::<Vec<Uuid>>())
    .bind(rules::SCOPE)
    .bind(at)
    .fetch_all(&mut *conn)
    .await
    .map_err(other)?
    .into_iter()
    .collect();
    let mut by_cart: Vec<&Job> = jobs
        .iter()
        .filter(|j| keyed.contains(&j.order.id.0))
        .collect();
    if by_cart.is_empty() {
        return Ok(HashSet::new());
    }
    by_cart.sort_by_key(|j| j.order.cart_id);
    let carts: Vec<Uuid> = by_cart.iter().map(|j| j.order.cart_id.0).collect();
    sqlx::query("SELECT id FROM carts WHERE id = ANY($1) ORDER BY id FOR UPDATE")
        .bind(&carts)
        .execute(&mut *conn)
        .await
        .map_err(other)?;
    let claimed: Vec<Uuid> = sqlx::query_scalar(
        "UPDATE carts SET status = 'checked_out', order_id = i.order_id, updated_at = $4 \
         FROM unnest($1::uuid[], $2::uuid[], $3::uuid[]) AS i (cart_id, tenant_id, order_id) \
         WHERE carts.id = ANY($1) AND carts.id = i.cart_id AND carts.tenant_id = i.tenant_id \
         AND carts.status = 'open' \
         RETURNING i.order_id",
    )
    .bind(&carts)
    .bind(by_cart.iter().map(|j| j.tenant.0).collect::<Vec<Uuid>>())
    .bind(by_cart.iter().map(|j| j.order.id.0).collect::<Vec<Uuid>>())
    .bind(at)
    .fetch_all(&mut *conn)
    .await
    .map_err(other)?;
    Ok(claimed.into_iter().collect())
}

/// Locks 3 and 4's read: the products of `variants` (sorted), then the
/// variants' price and stock as they stand under those locks.
async fn lock_and_read(conn: &mut Conn, variants: &[Uuid]) -> StoreResult<HashMap<Uuid, Stock>> {
    sqlx::query(
        "SELECT p.id FROM products p WHERE p.id IN \
         (SELECT v.product_id FROM variants v WHERE v.id = ANY($1)) \
         ORDER BY p.id FOR UPDATE OF p",
    )
    .bind(variants)
    .execute(&mut *conn)
    .await
    .map_err(other)?;
    let rows: Vec<(Uuid, Uuid, Uuid, i64, i64)> = sqlx::query_as(
        "SELECT id, tenant_id, product_id, price, on_hand - reserved FROM variants \
         WHERE id = ANY($1)",
    )
    .bind(variants)
    .fetch_all(&mut *conn)
    .await
    .map_err(other)?;
    Ok(rows
        .into_iter()
        .map(|(id, tenant, product, price, available)| {
            (
                id,
                Stock {
                    product,
                    seen: StockSeen {
                        tenant: TenantId(tenant),
                        price,
                        available,
                    },
                },
            )
        })
        .collect())
}

/// The rules' look-up of what was read of a variant.
fn seen(stock: &HashMap<Uuid, Stock>) -> impl Fn(VariantId) -> Option<StockSeen> + '_ {
    |v| stock.get(&v.0).map(|s| s.seen)
}

/// Which checkouts fit ([`fit_in_order`], the rule), by variant id as
/// this file binds them.
fn fit(jobs: &[Job], stock: &HashMap<Uuid, Stock>) -> (BTreeMap<Uuid, i64>, Vec<Miss>) {
    let checkouts = jobs
        .iter()
        .map(|job| (job.tenant, job.order.quote.lines.as_slice()));
    let (take, misses) = fit_in_order(checkouts, seen(stock));
    (
        take.into_iter().map(|(v, units)| (v.0, units)).collect(),
        misses,
    )
}

/// Lock 4: every reservation in one conditional update, by variant id, at
/// the price read. Under the products' locks every one fits; one that
/// does not means stock or price changed without its product's lock, and
/// fails the batch.
async fn reserve(
    conn: &mut Conn,
    take: &BTreeMap<Uuid, i64>,
    stock: &HashMap<Uuid, Stock>,
) -> StoreResult<()> {
    let ids: Vec<Uuid> = take.keys().copied().collect();
    let units: Vec<i64> = take.values().copied().collect();
    let prices: Vec<i64> = ids.iter().map(|v| stock[v].seen.price).collect();
    let reserved: Vec<Uuid> = sqlx::query_scalar(
        "UPDATE variants v SET reserved = v.reserved + u.units \
         FROM unnest($1::uuid[], $2::int8[], $3::int8[]) AS u (id, units, price) \
         WHERE v.id = ANY($1) AND v.id = u.id AND v.on_hand - v.reserved >= u.units \
         AND v.price = u.price \
         RETURNING v.id",
    )
    .bind(&ids)
    .bind(&units)
    .bind(&prices)
    .fetch_all(&mut *conn)
    .await
    .map_err(other)?;
    if reserved.len() != ids.len() {
        return Err(StoreError::Other(
            "a batch's stock changed under its products' locks".into(),
        ));
    }
    Ok(())
}

/// Every created order's rows in one statement: the orders, their lines,
/// first transitions, pending payments and events (`order.created` before
/// `payment.created`), and the summaries of `products`. The foreign keys
/// between them are checked at the statement's end. The sales counters'
/// trigger runs once at the statement's end: it adds the orders up per
/// shop, quarter hour and currency and updates those counter rows in that
/// order, the same in every batch, so two batches sharing counter rows
/// queue instead of deadlocking (migration 20261129000040). The orders
/// go in by shop and currency too.
async fn insert_orders(
    conn: &mut Conn,
    jobs: &[Job],
    created: &[OrderDetail],
    products: &[Uuid],
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let orders: Vec<&NewOrder> = jobs.iter().map(|j| &j.order).collect();
    let col = |f: &dyn Fn(&NewOrder) -> i64| orders.iter().map(|o| f(o)).collect::<Vec<i64>>();
    let text = |f: &dyn Fn(&NewOrder) -> &str| orders.iter().map(|o| f(o)).collect::<Vec<&str>>();
    let ids: Vec<Uuid> = orders.iter().map(|o| o.id.0).collect();
    let tenants: Vec<Uuid> = jobs.iter().map(|j| j.tenant.0).collect();

    let mut line_ids = Vec::new();
    let mut line_orders = Vec::new();
    let mut line_variants = Vec::new();
    let mut line_products = Vec::new();
    let mut skus = Vec::new();
    let mut titles = Vec::new();
    let mut quantities = Vec::new();
    let mut prices = Vec::new();
    let mut discounts = Vec::new();
    let mut totals = Vec::new();
    let mut positions: Vec<i64> = Vec::new();
    for detail in created {
        for (n, l) in detail.order.lines.iter().enumerate() {
            line_ids.push(l.id.0);
            line_orders.push(detail.order.id.0);
            line_variants.push(l.variant_id.0);
            line_products.push(l.product_id.0);
            skus.push(l.sku.as_str());
            titles.push(l.title.as_str());
            quantities.push(l.quantity);
            prices.push(l.unit_price);
            discounts.push(l.discount);
            totals.push(l.total);
            positions.push(i64::try_from(n).unwrap_or(i64::MAX));
        }
    }

    let mut event_ids = Vec::new();
    let mut event_tenants = Vec::new();
    let mut topics: Vec<String> = Vec::new();
    let mut subjects = Vec::new();
    let mut payloads: Vec<Value> = Vec::new();
    for job in jobs {
        let o = &job.order;
        let p = &o.payment;
        let (order_topic, order_payload) = events::order_created(o);
        let (payment_topic, payment_payload) =
            events::payment("created", o.id, p.id, &p.provider, p.amount);
        let subject = order_subject(o.id);
        for (topic, payload) in [
            (order_topic.to_owned(), order_payload),
            (payment_topic, payment_payload),
        ] {
            event_ids.push(EventId::new().0);
            event_tenants.push(job.tenant.0);
            topics.push(topic);
            subjects.push(subject.clone());
            payloads.push(payload);
        }
    }

    sqlx::query(concat!(
        "WITH o AS (\
           INSERT INTO orders (id, tenant_id, cart_id, customer_id, status, currency, subtotal, \
           discount, shipping, tax, total, refunded, email_sealed, email_index, address_sealed, \
           country, region, shipping_method, payment_provider, expires_at, created_at, updated_at) \
           SELECT o.id, o.tenant_id, o.cart_id, o.customer_id, 'pending_payment', o.currency, \
           o.subtotal, o.discount, o.shipping, o.tax, o.total, 0, o.email_sealed, o.email_index, \
           o.address_sealed, o.country, o.region, o.shipping_method, o.provider, o.expires_at, \
           $1, $1 \
           FROM unnest($2::uuid[], $3::uuid[], $4::uuid[], $5::uuid[], $6::text[], $7::int8[], \
           $8::int8[], $9::int8[], $10::int8[], $11::int8[], $12::text[], $13::text[], \
           $14::text[], $15::text[], $16::text[], $17::text[], $18::text[], \
           $19::timestamptz[]) AS o (id, tenant_id, cart_id, customer_id, currency, subtotal, \
           discount, shipping, tax, total, email_sealed, email_index, address_sealed, country, \
           region, shipping_method, provider, expires_at) \
           ORDER BY o.tenant_id, o.currency), \
         l AS (\
           INSERT INTO order_lines (id, order_id, variant_id, product_id, sku, title, quantity, \
           unit_price, discount, total, deal_id, position) \
           SELECT l.id, l.order_id, l.variant_id, l.product_id, l.sku, l.title, l.quantity, \
           l.unit_price, l.discount, l.total, NULL, l.position \
           FROM unnest($20::uuid[], $21::uuid[], $22::uuid[], $23::uuid[], $24::text[], \
           $25::text[], $26::int8[], $27::int8[], $28::int8[], $29::int8[], $30::int8[]) \
           AS l (id, order_id, variant_id, product_id, sku, title, quantity, unit_price, \
           discount, total, position)), \
         t AS (\
           INSERT INTO order_transitions (id, order_id, from_status, to_status, actor, reason, at) \
           SELECT t.id, t.order_id, NULL, 'pending_payment', t.actor, NULL, $1 \
           FROM unnest($31::uuid[], $2::uuid[], $32::text[]) AS t (id, order_id, actor)), \
         p AS (\
           INSERT INTO payments (id, tenant_id, order_id, provider, reference, status, amount, \
           created_at, updated_at) \
           SELECT p.id, p.tenant_id, p.order_id, p.provider, p.reference, 'pending', p.amount, \
           $1, $1 \
           FROM unnest($33::uuid[], $3::uuid[], $2::uuid[], $18::text[], $34::text[], \
           $35::int8[]) AS p (id, tenant_id, order_id, provider, reference, amount)), \
         e AS (\
           INSERT INTO outbox_events (id, tenant_id, topic, subject, payload, created_at) \
           SELECT e.id, e.tenant_id, e.topic, e.subject, e.payload, $1 \
           FROM unnest($36::uuid[], $37::uuid[], $38::text[], $39::text[], $40::jsonb[]) \
           AS e (id, tenant_id, topic, subject, payload)) \
         UPDATE products SET ",
        product_summary_set!(),
        " WHERE id = ANY($41)"
    ))
    .bind(at)
    .bind(&ids)
    .bind(&tenants)
    .bind(orders.iter().map(|o| o.cart_id.0).collect::<Vec<Uuid>>())
    .bind(
        orders
            .iter()
            .map(|o| o.customer_id.map(|c| c.0))
            .collect::<Vec<Option<Uuid>>>(),
    )
    .bind(text(&|o| o.currency.as_str()))
    .bind(col(&|o| o.quote.subtotal))
    .bind(col(&|o| o.quote.discount))
    .bind(col(&|o| o.quote.shipping))
    .bind(col(&|o| o.quote.tax))
    .bind(col(&|o| o.quote.total))
    .bind(text(&|o| o.email_sealed.as_str()))
    .bind(text(&|o| o.email_index.as_str()))
    .bind(text(&|o| o.address_sealed.as_str()))
    .bind(text(&|o| o.country.as_str()))
    .bind(
        orders
            .iter()
            .map(|o| o.region.as_deref())
            .collect::<Vec<Option<&str>>>(),
    )
    .bind(text(&|o| o.shipping_method.as_str()))
    .bind(text(&|o| o.payment.provider.as_str()))
    .bind(
        created
            .iter()
            .map(|d| d.order.expires_at)
            .collect::<Vec<Option<DateTime<Utc>>>>(),
    )
    .bind(&line_ids)
    .bind(&line_orders)
    .bind(&line_variants)
    .bind(&line_products)
    .bind(&skus)
    .bind(&titles)
    .bind(&quantities)
    .bind(&prices)
    .bind(&discounts)
    .bind(&totals)
    .bind(&positions)
    .bind(orders.iter().map(|_| Uuid::now_v7()).collect::<Vec<Uuid>>())
    .bind(text(&|o| o.actor.as_str()))
    .bind(orders.iter().map(|o| o.payment.id.0).collect::<Vec<Uuid>>())
    .bind(text(&|o| o.payment.reference.as_str()))
    .bind(col(&|o| o.payment.amount))
    .bind(&event_ids)
    .bind(&event_tenants)
    .bind(&topics)
    .bind(&subjects)
    .bind(&payloads)
    .bind(products)
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    Ok(())
}
