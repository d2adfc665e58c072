//! Unmatched payments: money a processor confirmed for an order no longer
//! awaiting it (`rules::commerce::payments::Settles::Unmatched`). The
//! settlement marks the payment (`unmatched_at`); staff list the open ones
//! and mark each resolved with a note. Written once over the [`Backend`];
//! the open ones are a partial index of their own (migration
//! `20261128000091_payments_unmatched`), so every read is bounded by its
//! page whatever the number of payments.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::Pool;
use storekeep_domain::{
    AuditContext, OrderId, OrderStatus, Page, PageRequest, PaymentId, TenantId, UnmatchedPayment,
};
use storekeep_store::audit::Change;
use storekeep_store::{StoreError, StoreResult, now};

use super::page_before;
use crate::DbId;
use crate::backend::Backend;
use crate::stmt::Stmt;

/// Marks a confirmed payment unmatched, in the settlement's transaction:
/// `$1` the time, `$2` the payment.
pub const MARK_UNMATCHED: &str = "UPDATE payments SET unmatched_at = $1 WHERE id = $2";

macro_rules! select {
    () => {
        "SELECT p.id, p.order_id, o.status AS order_status, p.provider, p.reference, \
         p.amount, o.currency, p.unmatched_at, p.resolved_at, p.resolved_by, p.resolution \
         FROM payments p JOIN orders o ON o.id = p.order_id "
    };
}

/// The open ones: the partial index's own condition, spelled as the index
/// declares it so both planners use it.
macro_rules! open {
    () => {
        "p.unmatched_at IS NOT NULL AND p.resolved_at IS NULL"
    };
}

/// `$1` tenant, `$2` the page's id bound, `$3` the fetch limit.
const LIST: &str = concat!(
    select!(),
    "WHERE p.tenant_id = $1 AND ",
    open!(),
    " AND p.id < $2 ORDER BY p.id DESC LIMIT $3"
);
/// `$1` tenant, `$2` the cap.
const COUNT_UPTO: &str = concat!(
    "SELECT count(*) FROM (SELECT 1 FROM payments p WHERE p.tenant_id = $1 AND ",
    open!(),
    " LIMIT $2) AS capped"
);
/// `$1` tenant, `$2` payment: one unmatched payment, open or resolved.
const ONE: &str = concat!(
    select!(),
    "WHERE p.tenant_id = $1 AND p.id = $2 AND p.unmatched_at IS NOT NULL"
);
const ONE_LOCKED: &str = concat!(
    select!(),
    "WHERE p.tenant_id = $1 AND p.id = $2 AND p.unmatched_at IS NOT NULL FOR UPDATE OF p"
);
/// `$1` time, `$2` actor, `$3` note, `$4` payment.
const RESOLVE: &str =
    "UPDATE payments SET resolved_at = $1, resolved_by = $2, resolution = $3 WHERE id = $4";

#[derive(sqlx::FromRow)]
struct Row {
    id: DbId,
    order_id: DbId,
    order_status: String,
    provider: String,
    reference: String,
    amount: i64,
    currency: String,
    unmatched_at: DateTime<Utc>,
    resolved_at: Option<DateTime<Utc>>,
    resolved_by: Option<String>,
    resolution: Option<String>,
}

impl TryFrom<Row> for UnmatchedPayment {
    type Error = StoreError;
    fn try_from(r: Row) -> StoreResult<Self> {
        Ok(Self {
            id: PaymentId(r.id.0),
            order_id: OrderId(r.order_id.0),
            order_status: OrderStatus::parse(&r.order_status)
                .ok_or(StoreError::Invalid("unknown order status"))?,
            provider: r.provider,
            reference: r.reference,
            amount: r.amount,
            currency: r.currency,
            unmatched_at: r.unmatched_at,
            resolved_at: r.resolved_at,
            resolved_by: r.resolved_by,
            resolution: r.resolution,
        })
    }
}

pub async fn list<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    page: &PageRequest,
) -> StoreResult<Page<UnmatchedPayment>> {
    let args = (DbId(tenant.0), page_before(page)?, page.fetch_limit());
    let rows: Vec<Row> = B::all(&mut *B::conn(pool).await?, Stmt::new(LIST, args)).await?;
    crate::stmt::page_of(rows, page, |p: &UnmatchedPayment| p.id.0)
}

pub async fn count_upto<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    cap: i64,
) -> StoreResult<i64> {
    let stmt = Stmt::new(COUNT_UPTO, (DbId(tenant.0), cap));
    B::scalar(&mut *B::conn(pool).await?, stmt).await
}

pub async fn resolve<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    id: PaymentId,
    note: &str,
    ctx: &AuditContext,
) -> StoreResult<UnmatchedPayment> {
    let mut tx = B::write_tx(pool).await?;
    let sql = B::read_for_update(ONE, ONE_LOCKED);
    let row: Option<Row> =
        B::optional(&mut tx, Stmt::new(sql, (DbId(tenant.0), DbId(id.0)))).await?;
    let before: UnmatchedPayment = crate::stmt::found(row, "payment")?;
    if before.resolved_at.is_some() {
        return Err(StoreError::Invalid(
            "the payment is already marked resolved",
        ));
    }
    let at = now();
    B::exec(
        &mut tx,
        Stmt::new(RESOLVE, (at, ctx.actor.as_str(), note, DbId(id.0))),
    )
    .await?;
    let change = Change {
        before: Some(json!({ "resolved": false })),
        after: Some(json!({
            "resolved": true, "resolution": note, "order_id": before.order_id,
            "amount": before.amount, "currency": before.currency,
        })),
        ..Change::new(
            tenant.to_string(),
            "payment.resolve",
            format!("payment:{id}"),
        )
    };
    B::record_change(&mut tx, ctx, change).await?;
    B::commit(tx).await?;
    Ok(UnmatchedPayment {
        resolved_at: Some(at),
        resolved_by: Some(ctx.actor.clone()),
        resolution: Some(note.to_owned()),
        ..before
    })
}
