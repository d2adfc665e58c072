//! Refunds: money back, units back on the shelf, and the order refunded
//! once its whole total is.

use std::collections::BTreeSet;

use sqlx::types::Json;
use storekeep_domain::{NewRefund, OrderDetail, OrderId, OrderStatus, TenantId};
use storekeep_store::commerce::events;
use storekeep_store::rules::commerce::refunds as rules;
use storekeep_store::{StoreResult, TransitionActor, now};
use storekeep_store_sql::commerce::sql;
use storekeep_store_sql::commerce::{SOLD_LINES, SoldLineRow, sold_lines};
use uuid::Uuid;

use super::orders::{fetch_detail, lock_order, lock_products_of, move_order};
use crate::backend::PgBackend as B;
use crate::catalog::refresh_summary;
use crate::error::other;
use crate::run::RUN;
use crate::{Store, write_tx};
use storekeep_store_sql::catalog::inventory::change_stock;
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
    let lines: Vec<SoldLineRow> = RUN.all(&mut *tx, Stmt::new(SOLD_LINES, (id.0,))).await?;
    let plan = rules::plan_restock(&sold_lines(lines), refund)?;

    let variants: Vec<Uuid> = plan.variants.keys().map(|v| v.0).collect();
    lock_products_of(&mut tx, tenant, &variants).await?;
    let reason = rules::restock_reason(id);
    let mut products = BTreeSet::new();
    for (variant, q) in &plan.variants {
        // Read after the product lock: a variant deleted since has no
        // stock to put back.
        let product: Option<Uuid> = RUN
            .scalar_optional(
                &mut *tx,
                Stmt::new(
                    "SELECT product_id FROM variants WHERE id = $1 AND tenant_id = $2",
                    (variant.0, tenant.0),
                ),
            )
            .await?;
        if let Some(product) = product {
            change_stock::<B>(&mut tx, tenant, variant.0, *q, &reason, by.actor).await?;
            products.insert(product);
        }
    }
    for product in products {
        refresh_summary(&mut tx, product).await?;
    }
    for (line, q) in &plan.lines {
        RUN.exec(&mut *tx, Stmt::new(sql::ADD_RESTOCKED, (q, line.0)))
            .await?;
    }

    let at = now();
    RUN.exec(
        &mut *tx,
        Stmt::new(
            sql::INSERT_REFUND,
            (
                refund.id.0,
                id.0,
                refund.amount,
                &refund.reason,
                Json(&refund.restock),
                by.actor,
                at,
            ),
        ),
    )
    .await?;
    RUN.exec(
        &mut *tx,
        Stmt::new(sql::ADD_REFUNDED, (refund.amount, at, id.0)),
    )
    .await?;
    let (topic, payload) = events::refund_created(id, refund);
    emit::<B>(&mut tx, tenant, id, topic, payload).await?;
    if completes {
        let quiet = rules::completing_move(refund, by);
        move_order(&mut tx, tenant, id, status, OrderStatus::Refunded, &quiet).await?;
    }
    if let Some(ctx) = by.audit {
        let entry = rules::refund_audit(id, status, refunded, refund);
        super::audit(&mut tx, tenant, ctx, entry).await?;
    }
    let detail = fetch_detail(&mut tx, tenant, id).await?;
    tx.commit().await.map_err(other)?;
    Ok(detail)
}
