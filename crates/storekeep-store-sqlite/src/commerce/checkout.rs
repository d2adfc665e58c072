//! Checkout, run by the group-commit worker (`group_commit.rs`): each
//! checkout claims its stock and deals in the batch transaction, and what
//! only records a created order is written for the whole batch at its end
//! (`group_commit/batch.rs`).

use crate::Conn;
use chrono::{DateTime, Utc};
use storekeep_domain::{
    CartStatus, CheckoutOutcome, DealId, NewOrder, OrderId, ProductId, TenantId,
};
use storekeep_store::rules::commerce::checkout::{self as rules, Misses};
use storekeep_store::rules::commerce::deals::per_customer_cap_reached;
use storekeep_store::{StoreError, StoreResult, now};
use storekeep_store_sql::DbId;
use storekeep_store_sql::commerce::{CLAIM_DEAL, RESERVE_STOCK, STOCK_OF};

use super::orders::fetch_detail;
use crate::Store;
use crate::error::other;
use crate::group_commit::batch::{Batch, NESTED, OUTER};
use crate::run::RUN;
use storekeep_store_sql::stmt::Stmt;
// Rental contracts (contracts part).
use crate::backend::SqliteBackend;
use crate::group_commit::batch::HeldUnits;
use storekeep_store_sql::contracts::{self, LineHold};

pub(crate) async fn checkout(
    s: &Store,
    tenant: TenantId,
    order: &NewOrder,
) -> StoreResult<CheckoutOutcome> {
    s.checkouts.run(tenant, order.clone()).await
}

/// Runs one checkout in the batch transaction. Anything but `Created`
/// leaves no trace: a checkout that writes more than once (several lines
/// or deals) does so in a savepoint, rolled back if it is refused; one
/// that writes once writes only when it succeeds. A `Created` order is
/// recorded in `batch` for `Batch::write`.
///
/// The outer `Err` means the transaction is broken (a savepoint could not
/// be undone) and the batch must not commit.
///
/// Statements on the way to `Created` (L lines, D deals): one read of the
/// key and the cart, L reservations, D deal claims (+1 count for each deal
/// with a per-customer cap), and a savepoint if L + D > 1.
pub(crate) async fn checkout_in(
    conn: &mut Conn,
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
    // A created order's savepoint stays open until the batch is written.
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

async fn claim(
    conn: &mut Conn,
    tenant: TenantId,
    o: &NewOrder,
    batch: &mut Batch,
    undo: &mut Undo,
) -> StoreResult<CheckoutOutcome> {
    let at = now();
    if let Some(answer) = key_or_cart(conn, tenant, o, batch).await? {
        return Ok(answer);
    }
    rules::check_lines(&o.quote.lines)?;
    let deals = rules::deal_claims(&o.quote);
    // A rental line writes its unit's claim and history: always undone
    // through a savepoint.
    if o.quote.lines.len() + deals.len() > 1 || !o.rentals.is_empty() {
        let name = if batch.savepoint { NESTED } else { OUTER };
        sqlx::query(&format!("SAVEPOINT {name}"))
            .execute(&mut *conn)
            .await
            .map_err(other)?;
        batch.savepoint = true;
        undo.savepoint = Some(name);
    }
    let (owners, units) = match reserve(conn, tenant, o, undo).await? {
        Ok(held) => held,
        Err(refused) => return Ok(refused),
    };
    let unavailable = claim_deals(conn, tenant, o, &deals, batch, undo, at).await?;
    if !unavailable.is_empty() {
        return Ok(CheckoutOutcome::DealUnavailable(unavailable));
    }
    let lines = o
        .quote
        .lines
        .iter()
        .zip(&owners)
        .map(|(line, owner)| rules::order_line(line, ProductId(owner.0)))
        .collect();
    let detail = rules::created_order(o, lines, at);
    batch.add(tenant, o, detail.clone(), &owners, deals, units);
    Ok(CheckoutOutcome::Created(Box::new(detail)))
}

/// The idempotency key first (a replay finds the cart closed by its own
/// order), then the cart: this batch's first, then the database's. `Some`
/// answers the checkout without claiming anything.
async fn key_or_cart(
    conn: &mut Conn,
    tenant: TenantId,
    o: &NewOrder,
    batch: &Batch,
) -> StoreResult<Option<CheckoutOutcome>> {
    if let Some(earlier) = batch.created_with_key(tenant, &o.idempotency_key) {
        return Ok(Some(if rules::replays(&earlier.request_hash, o) {
            CheckoutOutcome::Replayed(Box::new(earlier.detail.clone()))
        } else {
            CheckoutOutcome::KeyReused
        }));
    }
    let (hash, order, cart): (Option<String>, Option<DbId>, Option<String>) = sqlx::query_as(
        "SELECT k.request_hash, k.order_id, \
         (SELECT status FROM carts WHERE id = $3 AND tenant_id = $1) \
         FROM (SELECT 1) LEFT JOIN idempotency_keys k \
         ON k.tenant_id = $1 AND k.scope = $4 AND k.key = $2",
    )
    .bind(tenant.to_string())
    .bind(&o.idempotency_key)
    .bind(o.cart_id.to_string())
    .bind(rules::SCOPE)
    .fetch_one(&mut *conn)
    .await
    .map_err(other)?;
    if let (Some(hash), Some(order)) = (hash, order) {
        if !rules::replays(&hash, o) {
            return Ok(Some(CheckoutOutcome::KeyReused));
        }
        let detail = fetch_detail(conn, tenant, OrderId(order.0)).await?;
        return Ok(Some(CheckoutOutcome::Replayed(Box::new(detail))));
    }
    match cart.as_deref() {
        None => Err(StoreError::NotFound("cart")),
        Some(s) if s == CartStatus::Open.as_str() && !batch.closes(tenant, o.cart_id) => Ok(None),
        Some(_) => Ok(Some(CheckoutOutcome::CartClosed)),
    }
}

/// Reserves every line's units in variant-id order (the same order on
/// both databases), trying every line so a refusal names them all; a
/// rental line of a serial-tracked variant claims one of its units
/// instead. Returns each line's product and the units claimed, or the
/// refusal.
async fn reserve(
    conn: &mut Conn,
    tenant: TenantId,
    o: &NewOrder,
    undo: &mut Undo,
) -> StoreResult<Result<(Vec<DbId>, HeldUnits), CheckoutOutcome>> {
    let lines = &o.quote.lines;
    let mut owners = vec![DbId(uuid::Uuid::nil()); lines.len()];
    let mut misses = Misses::default();
    let mut units = HeldUnits::new();
    for i in rules::reservation_order(lines) {
        let line =
            match contracts::hold_line::<SqliteBackend>(conn, tenant, o, &lines[i], now()).await? {
                LineHold::Unit(contract, unit) => {
                    undo.wrote = true;
                    owners[i] = DbId(lines[i].product_id.0);
                    units.push((contract, unit));
                    continue;
                }
                LineHold::Short(line) => {
                    misses.add(&line, Some((line.unit_price, 0)));
                    continue;
                }
                LineHold::Stock(line) => line,
            };
        let owner: Option<DbId> = RUN
            .scalar_optional(
                &mut *conn,
                Stmt::new(
                    RESERVE_STOCK,
                    (
                        line.variant_id.to_string(),
                        tenant.to_string(),
                        line.quantity,
                        line.unit_price,
                    ),
                ),
            )
            .await?;
        if let Some(product) = owner {
            undo.wrote = true;
            owners[i] = product;
            continue;
        }
        let current: Option<(i64, i64)> = RUN
            .optional(
                &mut *conn,
                Stmt::new(STOCK_OF, (line.variant_id.to_string(), tenant.to_string())),
            )
            .await?;
        misses.add(&line, current);
    }
    Ok(match misses.refusal() {
        Some(refused) => Err(refused),
        None => Ok((owners, units)),
    })
}

/// Claims each deal by a conditional update (its window and global caps);
/// the per-customer cap counts this batch's uses too. Returns the deals
/// that were unavailable.
async fn claim_deals(
    conn: &mut Conn,
    tenant: TenantId,
    o: &NewOrder,
    deals: &[(DealId, i64)],
    batch: &Batch,
    undo: &mut Undo,
    at: DateTime<Utc>,
) -> StoreResult<Vec<DealId>> {
    let mut unavailable = Vec::new();
    for &(deal, units) in deals {
        let cap: Option<Option<i64>> = RUN
            .scalar_optional(
                &mut *conn,
                Stmt::new(
                    CLAIM_DEAL,
                    (deal.to_string(), tenant.to_string(), units, at),
                ),
            )
            .await?;
        let Some(cap) = cap else {
            unavailable.push(deal);
            continue;
        };
        undo.wrote = true;
        if cap.is_some() {
            let stored: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM deal_uses \
                 WHERE deal_id = $1 AND customer_key = $2 AND released = 0",
            )
            .bind(deal.to_string())
            .bind(&o.customer_key)
            .fetch_one(&mut *conn)
            .await
            .map_err(other)?;
            let pending = batch.uses_of(deal, &o.customer_key);
            if per_customer_cap_reached(cap, stored + pending) {
                unavailable.push(deal);
            }
        }
    }
    Ok(unavailable)
}
