//! Refunds: money back, units back on the shelf, and the order refunded
//! once its whole total is.

use storekeep_domain::{NewRefund, OrderDetail, OrderId, OrderStatus, TenantId};
use storekeep_store::commerce::events;
use storekeep_store::rules::commerce::orders::require_moved;
use storekeep_store::rules::commerce::refunds as rules;
use storekeep_store::{StoreResult, TransitionActor, now};
use storekeep_store_sql::commerce::sql;
use storekeep_store_sql::commerce::{SOLD_LINES, SoldLineRow, sold_lines};

use super::orders::{fetch_detail, lock_order, move_order};
use crate::backend::SqliteBackend as B;
use crate::catalog::{record_ledger, refresh_summary};
use crate::error::other;
use crate::run::RUN;
use crate::{Store, write_tx};
use storekeep_store_sql::commerce::outbox::emit;
use storekeep_store_sql::stmt::Stmt;

pub(crate) async fn refund_order(
    s: &Store,
    tenant: TenantId,
    id: OrderId,
    refund: &NewRefund,
    by: &TransitionActor<'_>,
) -> StoreResult<OrderDetail> {
    let mut tx = write_tx(&s.pool).await?;
    let (status, total, refunded) = lock_order(&mut tx, tenant, id).await?;
    let completes = rules::check_refund(status, total, refunded, refund.amount)?;
    let lines: Vec<SoldLineRow> = RUN
        .all(&mut *tx, Stmt::new(SOLD_LINES, (id.to_string(),)))
        .await?;
    let plan = rules::plan_restock(&sold_lines(lines), refund)?;

    let at = now();
    let reason = rules::restock_reason(id);
    for (line, q) in &plan.lines {
        RUN.exec(
            &mut *tx,
            Stmt::new(sql::ADD_RESTOCKED, (q, line.to_string())),
        )
        .await?;
    }
    let mut products: Vec<String> = Vec::new();
    for (variant, q) in &plan.variants {
        let variant = variant.to_string();
        let after: Option<(i64, String)> = sqlx::query_as(
            "UPDATE variants SET on_hand = on_hand + $1, updated_at = $2 \
             WHERE id = $3 AND tenant_id = $4 RETURNING on_hand, product_id",
        )
        .bind(q)
        .bind(at)
        .bind(&variant)
        .bind(tenant.to_string())
        .fetch_optional(&mut *tx)
        .await
        .map_err(other)?;
        // A variant deleted since the sale takes no stock back.
        if let Some((after, product)) = after {
            record_ledger(&mut tx, tenant, &variant, *q, &reason, after, by.actor).await?;
            if !products.contains(&product) {
                products.push(product);
            }
        }
    }
    for product in &products {
        refresh_summary(&mut tx, product).await?;
    }

    RUN.exec(
        &mut *tx,
        Stmt::new(
            sql::INSERT_REFUND,
            (
                refund.id.to_string(),
                id.to_string(),
                refund.amount,
                &refund.reason,
                serde_json::to_string(&refund.restock).map_err(other)?,
                by.actor,
                at,
            ),
        ),
    )
    .await?;
    RUN.exec(
        &mut *tx,
        Stmt::new(sql::ADD_REFUNDED, (refund.amount, at, id.to_string())),
    )
    .await?;
    let (topic, payload) = events::refund_created(id, refund);
    emit::<B>(&mut tx, tenant, id, topic, payload).await?;
    if let Some(ctx) = by.audit {
        let entry = rules::refund_audit(id, status, refunded, refund);
        super::audit(&mut tx, tenant, ctx, entry).await?;
    }
    if completes {
        let quiet = rules::completing_move(refund, by);
        let moved = move_order(&mut tx, tenant, id, status, OrderStatus::Refunded, &quiet).await?;
        require_moved(moved, OrderStatus::Refunded)?;
    }
    let detail = fetch_detail(&mut tx, tenant, id).await?;
    tx.commit().await.map_err(other)?;
    Ok(detail)
}
