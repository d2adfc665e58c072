//! Payment attempts and their settlement.

use crate::Conn;
use crate::backend::PgBackend as B;
use chrono::{DateTime, Utc};
use storekeep_domain::{
    NewPayment, OrderDetail, OrderId, OrderStatus, PaymentOutcome, PaymentStatus, Settlement,
    TenantId,
};
use storekeep_store::commerce::events;
use storekeep_store::rules::commerce::payments::{self as rules, Settles};
use storekeep_store::{StoreError, StoreResult, TransitionActor, now};
use storekeep_store_sql::commerce::sql;
use uuid::Uuid;

use super::map_err;
use super::orders::{fetch_detail, lock_order, move_order};
use crate::error::other;
use crate::run::RUN;
use crate::{Store, write_tx};
use storekeep_store_sql::commerce::outbox::emit;
use storekeep_store_sql::stmt::Stmt;

/// A pending payment attempt and its `payment.created` event.
pub(crate) async fn insert_payment(
    conn: &mut Conn,
    tenant: TenantId,
    order: OrderId,
    p: &NewPayment,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query(sql::INSERT_PAYMENT)
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
    let pending: Option<i32> = RUN
        .scalar_optional(&mut *tx, Stmt::new(sql::ATTEMPT_PENDING, (order.0,)))
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
) -> StoreResult<(storekeep_domain::TenantId, OrderId)> {
    let row: Option<(Uuid, Uuid)> = RUN
        .optional(
            &s.pool,
            Stmt::new(sql::PAYMENT_BY_REFERENCE, (provider, reference)),
        )
        .await?;
    let (tenant, order) = row.ok_or(StoreError::NotFound("payment"))?;
    Ok((TenantId(tenant), OrderId(order)))
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
    let (status, amount): (String, i64) = RUN
        .one(
            &mut *tx,
            Stmt::new(
                "SELECT status, amount FROM payments WHERE id = $1 FOR UPDATE",
                (payment,),
            ),
        )
        .await?;
    if status != PaymentStatus::Pending.as_str() {
        // The event is kept, so its replays are `Duplicate`.
        tx.commit().await.map_err(other)?;
        return Ok(Settlement::AlreadySettled);
    }
    let settled = rules::settled(outcome);
    RUN.exec(
        &mut *tx,
        Stmt::new(
            "UPDATE payments SET status = $1, updated_at = $2 WHERE id = $3",
            (settled.as_str(), now(), payment),
        ),
    )
    .await?;
    let payment = storekeep_domain::PaymentId(payment);
    let (topic, payload) = events::payment(settled.as_str(), order, payment, provider, amount);
    emit::<B>(&mut tx, tenant, order, &topic, payload).await?;
    let order_paid = match rules::settles(settled, order_status) {
        Settles::PayOrder => {
            move_order(&mut tx, tenant, order, order_status, OrderStatus::Paid, by).await?;
            true
        }
        Settles::Unmatched => {
            RUN.exec(
                &mut *tx,
                Stmt::new(
                    storekeep_store_sql::commerce::unmatched::MARK_UNMATCHED,
                    (now(), storekeep_store_sql::DbId(payment.0)),
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
