//! The outbox: events about orders, written in the transaction that made
//! them true, read by consumers in id order.

use crate::Conn;
use serde_json::Value;
use storekeep_domain::{EventId, OrderId, OutboxEvent, Page, PageRequest, TenantId};
use storekeep_store::rules::commerce::order_subject;
use storekeep_store::{StoreResult, now};
use storekeep_store_sql::commerce::sql;
use storekeep_store_sql::commerce::{EVENT_COLUMNS, EventRow};
use storekeep_store_sql::stmt::cursor;

use crate::Store;
use crate::error::other;
use crate::run::RUN;
use storekeep_store_sql::stmt::Stmt;

/// Appends one outbox event about `order` in the caller's transaction.
pub(crate) async fn emit(
    conn: &mut Conn,
    tenant: TenantId,
    order: OrderId,
    topic: &str,
    payload: Value,
) -> StoreResult<()> {
    RUN.exec(
        &mut *conn,
        Stmt::new(
            sql::INSERT_EVENT,
            (
                EventId::new().to_string(),
                tenant.to_string(),
                topic,
                order_subject(order),
                payload.to_string(),
                now(),
            ),
        ),
    )
    .await?;
    Ok(())
}

pub(crate) async fn list_events(
    s: &Store,
    tenant: TenantId,
    topic: Option<&str>,
    page: &PageRequest,
) -> StoreResult<Page<OutboxEvent>> {
    let rows: Vec<EventRow> = sqlx::query_as(&format!(
        "SELECT {EVENT_COLUMNS} FROM outbox_events \
         WHERE tenant_id = $1 AND id > $2 AND ($3 IS NULL OR topic = $3) \
         ORDER BY id LIMIT $4"
    ))
    .bind(tenant.to_string())
    .bind(cursor(page)?)
    .bind(topic)
    .bind(page.fetch_limit())
    .fetch_all(&s.pool)
    .await
    .map_err(other)?;
    let events = rows.into_iter().map(OutboxEvent::from).collect();
    Ok(Page::from_rows(events, page, |e| e.id.to_string()))
}
