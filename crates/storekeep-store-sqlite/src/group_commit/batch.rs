//! A checkout batch: one transaction, many checkouts.
//!
//! Only what decides a checkout's outcome is written as it runs
//! (`commerce::checkout::checkout_in`): stock reservations and deal claims,
//! conditional updates that cannot oversell. Idempotency keys and carts
//! are read, and this batch's own keys and carts are tracked here;
//! everything that only records a created order (the key, the cart's
//! closing, order, lines, first transition, payment, deal uses, outbox
//! events, product summaries) is written for the whole batch by
//! [`Batch::write`] just before the commit, a dozen statements per batch
//! instead of a dozen per checkout.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::SqliteConnection;
use sqlx::query::Query;
use sqlx::sqlite::{Sqlite, SqliteArguments};
use storekeep_domain::{
    CartId, DealId, EventId, NewOrder, Order, OrderDetail, OrderId, OrderLine, OrderTransition,
    Payment, TenantId,
};
use storekeep_store::commerce::events;
use storekeep_store::rules::commerce::order_subject;
use storekeep_store::{StoreError, StoreResult};
use storekeep_store_sql::DbId;

use crate::error::other;
// Rental contracts (contracts part).
use crate::backend::SqliteBackend;
use storekeep_domain::{NewContract, RentalContractId, RentalUnitId};
use storekeep_store::contracts::events as contract_events;

/// The first savepoint a batch keeps open, and the name of those nested in
/// it: releasing the outer one releases them all at once.
pub(crate) const OUTER: &str = "checkout_batch";
pub(crate) const NESTED: &str = "checkout";

#[derive(Default)]
pub(crate) struct Batch {
    created: Vec<Created>,
    /// (tenant, idempotency key) → index in `created`.
    keys: HashMap<(TenantId, String), usize>,
    /// Carts closed by this batch.
    carts: HashSet<(TenantId, CartId)>,
    /// Units reserved per product, for the summaries.
    reserved: HashMap<DbId, i64>,
    /// Deal uses per (deal, customer) not yet in `deal_uses`.
    uses: HashMap<(DealId, String), i64>,
    /// Whether the outer savepoint is open.
    pub(crate) savepoint: bool,
}

/// An order created in this batch.
pub(crate) struct Created {
    tenant: TenantId,
    idempotency_key: String,
    pub(crate) request_hash: String,
    pub(crate) detail: OrderDetail,
    customer_key: String,
    deals: Vec<(DealId, i64)>,
    events: Vec<(String, Value)>,
    /// Its rental contracts, with the unit each claimed.
    rentals: Vec<(NewContract, Option<RentalUnitId>)>,
}

/// The rental units a checkout claimed, by contract.
pub(crate) type HeldUnits = Vec<(RentalContractId, RentalUnitId)>;

impl Batch {
    /// The order this batch created with the shop's idempotency key.
    pub(crate) fn created_with_key(&self, tenant: TenantId, key: &str) -> Option<&Created> {
        let i = *self.keys.get(&(tenant, key.to_owned()))?;
        Some(&self.created[i])
    }

    /// Whether this batch closed the cart.
    pub(crate) fn closes(&self, tenant: TenantId, cart: CartId) -> bool {
        self.carts.contains(&(tenant, cart))
    }

    /// This batch's unreleased uses of the deal by the customer.
    pub(crate) fn uses_of(&self, deal: DealId, customer: &str) -> i64 {
        self.uses
            .get(&(deal, customer.to_owned()))
            .copied()
            .unwrap_or(0)
    }

    /// Records a created order; `owners` are its lines' products.
    pub(crate) fn add(
        &mut self,
        tenant: TenantId,
        o: &NewOrder,
        detail: OrderDetail,
        owners: &[DbId],
        deals: Vec<(DealId, i64)>,
        units: HeldUnits,
    ) {
        let (created_topic, created) = events::order_created(o);
        let p = &o.payment;
        let payment = events::payment("created", o.id, p.id, &p.provider, p.amount);
        let rentals: Vec<(NewContract, Option<RentalUnitId>)> = o
            .rentals
            .iter()
            .map(|c| {
                let unit = units.iter().find(|(id, _)| *id == c.id).map(|(_, u)| *u);
                (c.clone(), unit)
            })
            .collect();
        for (line, owner) in o.quote.lines.iter().zip(owners) {
            // A line holding a rental unit reserved no stock.
            let holds_unit = rentals
                .iter()
                .any(|(c, unit)| c.variant_id == line.variant_id && unit.is_some());
            if !holds_unit {
                *self.reserved.entry(*owner).or_default() += line.quantity;
            }
        }
        let mut events = vec![(created_topic.to_owned(), created), payment];
        for (c, unit) in &rentals {
            let (topic, payload) = contract_events::contract_created(o.id, c, *unit);
            events.push((topic.to_owned(), payload));
        }
        for &(deal, _) in &deals {
            *self.uses.entry((deal, o.customer_key.clone())).or_default() += 1;
        }
        self.keys
            .insert((tenant, o.idempotency_key.clone()), self.created.len());
        self.carts.insert((tenant, o.cart_id));
        self.created.push(Created {
            tenant,
            idempotency_key: o.idempotency_key.clone(),
            request_hash: o.request_hash.clone(),
            detail,
            customer_key: o.customer_key.clone(),
            deals,
            events,
            rentals,
        });
    }

    /// Writes what the batch's created orders need besides their claims,
    /// in a few multi-row statements. Runs in the batch transaction,
    /// before commit.
    pub(crate) async fn write(&self, conn: &mut SqliteConnection) -> StoreResult<()> {
        // Savepoints kept open would copy every page written below into
        // the savepoint journal.
        if self.savepoint {
            sqlx::query(&format!("RELEASE {OUTER}"))
                .execute(&mut *conn)
                .await
                .map_err(other)?;
        }
        if self.created.is_empty() {
            return Ok(());
        }
        self.write_summaries(conn).await?;
        self.write_keys_and_carts(conn).await?;
        self.write_orders(conn).await?;
        self.write_lines(conn).await?;
        self.write_history(conn).await?;
        self.write_contracts(conn).await?;
        self.write_events(conn).await
    }

    /// The rental contracts and their schedules (rare: a statement for
    /// each contract and one for its installments).
    async fn write_contracts(&self, conn: &mut SqliteConnection) -> StoreResult<()> {
        for c in &self.created {
            let order = &c.detail.order;
            for (contract, unit) in &c.rentals {
                storekeep_store_sql::contracts::insert_contract::<SqliteBackend>(
                    conn,
                    c.tenant,
                    order,
                    contract,
                    *unit,
                    order.created_at,
                )
                .await?;
            }
        }
        Ok(())
    }

    /// Each reserved unit came out of a variant's positive available
    /// stock, so each product's summary drops by exactly its reserved
    /// units.
    async fn write_summaries(&self, conn: &mut SqliteConnection) -> StoreResult<()> {
        let reserved: Vec<(&DbId, &i64)> = self.reserved.iter().collect();
        for (chunk, size) in sized(&reserved) {
            let sql = format!(
                "UPDATE products SET available = available - v.column2 \
                 FROM (VALUES {}) AS v WHERE products.id = v.column1",
                vec!["(?, ?)"; size].join(", ")
            );
            let mut q = sqlx::query(&sql);
            for (product, units) in chunk {
                q = q.bind(**product).bind(**units);
            }
            q = pad(q, (size - chunk.len()) * 2);
            q.execute(&mut *conn).await.map_err(other)?;
        }
        Ok(())
    }

    /// The idempotency keys, and the carts closed. The carts were read
    /// open in this transaction, which holds the write lock; each closes
    /// exactly once.
    async fn write_keys_and_carts(&self, conn: &mut SqliteConnection) -> StoreResult<()> {
        let keys: Vec<&Created> = self.created.iter().collect();
        insert_rows(
            conn,
            "idempotency_keys (tenant_id, scope, key, request_hash, order_id, created_at)",
            "(?, 'checkout', ?, ?, ?, ?)",
            5,
            &keys,
            |q, c| {
                q.bind(c.tenant.to_string())
                    .bind(c.idempotency_key.as_str())
                    .bind(c.request_hash.as_str())
                    .bind(c.detail.order.id.to_string())
                    .bind(c.detail.order.created_at)
            },
        )
        .await?;
        for (chunk, size) in sized(&keys) {
            let sql = format!(
                "UPDATE carts SET status = 'checked_out', order_id = v.column3, \
                 updated_at = v.column4 FROM (VALUES {}) AS v \
                 WHERE carts.id = v.column1 AND carts.tenant_id = v.column2 \
                 AND carts.status = 'open'",
                vec!["(?, ?, ?, ?)"; size].join(", ")
            );
            let mut q = sqlx::query(&sql);
            for c in chunk {
                let order = &c.detail.order;
                q = q
                    .bind(order.cart_id.to_string())
                    .bind(c.tenant.to_string())
                    .bind(order.id.to_string())
                    .bind(order.created_at);
            }
            q = pad(q, (size - chunk.len()) * 4);
            let closed = q.execute(&mut *conn).await.map_err(other)?.rows_affected();
            if closed != chunk.len() as u64 {
                return Err(StoreError::Other(
                    "a checked-out cart was no longer open".into(),
                ));
            }
        }
        Ok(())
    }

    async fn write_orders(&self, conn: &mut SqliteConnection) -> StoreResult<()> {
        let orders: Vec<(TenantId, &Order)> = self
            .created
            .iter()
            .map(|c| (c.tenant, &c.detail.order))
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
                    .bind(tenant.to_string())
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
        .await
    }

    async fn write_lines(&self, conn: &mut SqliteConnection) -> StoreResult<()> {
        let lines: Vec<(OrderId, usize, &OrderLine)> = self
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
            "order_lines (id, order_id, variant_id, product_id, sku, title, quantity, \
             unit_price, discount, total, deal_id, restocked, position)",
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
        .await
    }

    /// Each order's first transition, pending payment and deal uses.
    async fn write_history(&self, conn: &mut SqliteConnection) -> StoreResult<()> {
        let firsts: Vec<(OrderId, &OrderTransition)> = self
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
        let payments: Vec<(TenantId, &Payment)> = self
            .created
            .iter()
            .map(|c| (c.tenant, &c.detail.payments[0]))
            .collect();
        insert_rows(
            conn,
            "payments (id, tenant_id, order_id, provider, reference, status, amount, \
             created_at, updated_at)",
            "(?, ?, ?, ?, ?, 'pending', ?, ?, ?)",
            8,
            &payments,
            |q, (tenant, p)| {
                q.bind(p.id.to_string())
                    .bind(tenant.to_string())
                    .bind(p.order_id.to_string())
                    .bind(&p.provider)
                    .bind(&p.reference)
                    .bind(p.amount)
                    .bind(p.created_at)
                    .bind(p.updated_at)
            },
        )
        .await?;
        let uses: Vec<(OrderId, &str, DealId, i64)> = self
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
        .await
    }

    async fn write_events(&self, conn: &mut SqliteConnection) -> StoreResult<()> {
        type Row<'a> = (TenantId, String, &'a str, String, DateTime<Utc>);
        let events: Vec<Row<'_>> = self
            .created
            .iter()
            .flat_map(|c| {
                let order = c.detail.order.id;
                let at = c.detail.order.created_at;
                c.events.iter().map(move |(topic, payload)| {
                    (
                        c.tenant,
                        order_subject(order),
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
                    .bind(tenant.to_string())
                    .bind(*topic)
                    .bind(subject.as_str())
                    .bind(payload.as_str())
                    .bind(*at)
            },
        )
        .await
    }
}

type SqliteQuery<'q> = Query<'q, Sqlite, SqliteArguments<'q>>;

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

/// Binds `n` NULLs: the unused rows of a sized statement.
fn pad(mut q: SqliteQuery<'_>, n: usize) -> SqliteQuery<'_> {
    for _ in 0..n {
        q = q.bind(None::<i64>);
    }
    q
}

/// `INSERT INTO {head} SELECT … FROM (VALUES {tuple}, …)` over `rows`;
/// `tuple` has `binds` parameters, the first the (never NULL) id.
async fn insert_rows<T>(
    conn: &mut SqliteConnection,
    head: &str,
    tuple: &str,
    binds: usize,
    rows: &[T],
    bind: impl for<'q> Fn(SqliteQuery<'q>, &'q T) -> SqliteQuery<'q>,
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
        q = pad(q, (size - chunk.len()) * binds);
        q.execute(&mut *conn)
            .await
            .map_err(crate::commerce::map_err)?;
    }
    Ok(())
}
