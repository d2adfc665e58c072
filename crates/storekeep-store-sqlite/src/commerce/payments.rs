//! Payment attempts and their settlement.

use crate::Conn;
use crate::backend::SqliteBackend as B;
use chrono::{DateTime, Utc};
use storekeep_domain::{
    NewPayment, OrderDetail, OrderId, OrderStatus, PaymentId, PaymentOutcome, PaymentStatus,
    Settlement, TenantId,
};
use storekeep_store::commerce::events;
use storekeep_store::rules::commerce::orders::require_moved;
use storekeep_store::rules::commerce::payments::{self as rules, Settles};
use storekeep_store::{StoreError, StoreResult, TransitionActor, now};
use storekeep_store_sql::DbId;
use storekeep_store_sql::commerce::sql;

use super::map_err;
use super::orders::{fetch_detail, lock_order, move_order};
use crate::error::other;
use crate::run::RUN;
use crate::{Store, write_tx};
use storekeep_store_sql::commerce::outbox::emit;
use storekeep_store_sql::stmt::Stmt;

/// A pending payment attempt and its `payment.created` event.
async fn insert_payment(
    conn: &mut Conn,
    tenant: TenantId,
    order: OrderId,
    p: &NewPayment,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query(sql::INSERT_PAYMENT)
        .bind(p.id.to_string())
        .bind(tenant.to_string())
        .bind(order.to_string())
        .bind(&p.provider)
        .bind(&p.reference)
        .bind(p.amount)
        .bind(at)
        .execute(&mut *conn)
        .await
        .map_err(map_err)?;
    let (topic, payload) = events::payment("created", order, p.id, &p.provider, p.amount);
    emit::<B>(conn, tenant, order, &topic, payload).await
}

pub(crate) async fn create_payment(
    s: &Store,
    tenant: TenantId,
    order: OrderId,
    payment: &NewPayment,
) -> StoreResult<OrderDetail> {
    let mut tx = write_tx(&s.pool).await?;
    let (status, _, _) = lock_order(&mut tx, tenant, order).await?;
    rules::check_payable(status)?;
    let pending: Option<i64> = RUN
        .scalar_optional(
            &mut *tx,
            Stmt::new(sql::ATTEMPT_PENDING, (order.to_string(),)),
        )
        .await?;
    rules::check_no_attempt_pending(pending.is_some())?;
    insert_payment(&mut tx, tenant, order, payment, now()).await?;
    let detail = fetch_detail(&mut tx, tenant, order).await?;
    tx.commit().await.map_err(other)?;
    Ok(detail)
}

pub(crate) async fn payment_by_reference(
    s: &Store,
    provider: &str,
    reference: &str,
) -> StoreResult<(TenantId, OrderId)> {
    let row: Option<(DbId, DbId)> = RUN
        .optional(
            &s.pool,
            Stmt::new(sql::PAYMENT_BY_REFERENCE, (provider, reference)),
        )
        .await?;
    let (tenant, order) = row.ok_or(StoreError::NotFound("payment"))?;
    Ok((TenantId(tenant.0), OrderId(order.0)))
}

pub(crate) async fn settle_payment(
    s: &Store,
    provider: &str,
    reference: &str,
    event_id: &str,
    outcome: PaymentOutcome,
    by: &TransitionActor<'_>,
) -> StoreResult<Settlement> {
    let mut tx = write_tx(&s.pool).await?;
    let found: Option<(DbId, DbId, DbId, String, i64)> = sqlx::query_as(
        "SELECT id, tenant_id, order_id, status, amount FROM payments \
         WHERE provider = $1 AND reference = $2",
    )
    .bind(provider)
    .bind(reference)
    .fetch_optional(&mut *tx)
    .await
    .map_err(other)?;
    let (payment, tenant, order, status, amount) = found.ok_or(StoreError::NotFound("payment"))?;
    let (payment, tenant, order) = (PaymentId(payment.0), TenantId(tenant.0), OrderId(order.0));
    let at = now();
    let recorded = sqlx::query(
        "INSERT OR IGNORE INTO payment_events (provider, event_id, payment_id, received_at) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(provider)
    .bind(event_id)
    .bind(payment.to_string())
    .bind(at)
    .execute(&mut *tx)
    .await
    .map_err(other)?;
    if recorded.rows_affected() == 0 {
        return Ok(Settlement::Duplicate);
    }
    if status != PaymentStatus::Pending.as_str() {
        // The event is remembered, so its replays are `Duplicate`.
        tx.commit().await.map_err(other)?;
        return Ok(Settlement::AlreadySettled);
    }
    let settled = rules::settled(outcome);
    sqlx::query(
        "UPDATE payments SET status = $1, updated_at = $2 WHERE id = $3 AND status = 'pending'",
    )
    .bind(settled.as_str())
    .bind(at)
    .bind(payment.to_string())
    .execute(&mut *tx)
    .await
    .map_err(other)?;
    let (topic, payload) = events::payment(settled.as_str(), order, payment, provider, amount);
    emit::<B>(&mut tx, tenant, order, &topic, payload).await?;
    let (order_status, _, _) = lock_order(&mut tx, tenant, order).await?;
    let order_paid = match rules::settles(settled, order_status) {
        Settles::PayOrder => {
            let (from, to) = (order_status, OrderStatus::Paid);
            require_moved(move_order(&mut tx, tenant, order, from, to, by).await?, to)?;
            true
        }
        Settles::Unmatched => {
            RUN.exec(
                &mut *tx,
                Stmt::new(
                    storekeep_store_sql::commerce::unmatched::MARK_UNMATCHED,
                    (now(), DbId(payment.0)),
                ),
            )
            .await?;
            let (topic, payload) = events::payment("unmatched", order, payment, provider, amount);
            emit::<B>(&mut tx, tenant, order, &topic, payload).await?;
            false
        }
        Settles::Nothing => false,
    };
    tx.commit().await.map_err(other)?;
    Ok(Settlement::Applied { order_paid })
}
