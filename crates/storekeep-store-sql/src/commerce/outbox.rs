//! The outbox: events about orders, written in the transaction that made
//! them true, read by consumers in id order; written once over the
//! [`Backend`].

use chrono::{DateTime, Utc};
use sqlx::Pool;
use sqlx::types::Json;
use storekeep_domain::{EventId, OrderId, OutboxEvent, Page, PageRequest, TenantId};
use storekeep_store::rules::commerce::order_subject;
use storekeep_store::{StoreResult, now};

use super::sql;
use crate::DbId;
use crate::backend::{Backend, Conn};
use crate::stmt::{Stmt, cursor};

pub const EVENT_COLUMNS: &str = "id, topic, subject, payload, created_at";

#[derive(sqlx::FromRow)]
pub struct EventRow {
    pub id: DbId,
    pub topic: String,
    pub subject: String,
    pub payload: Json<serde_json::Value>,
    pub created_at: DateTime<Utc>,
}

impl From<EventRow> for OutboxEvent {
    fn from(r: EventRow) -> Self {
        OutboxEvent {
            id: EventId(r.id.0),
            topic: r.topic,
            subject: r.subject,
            payload: r.payload.0,
            created_at: r.created_at,
        }
    }
}

/// A shop's events after `$2`, of topic `$3` (any if NULL), at most `$4`.
const EVENT_PAGE: &str = "SELECT id, topic, subject, payload, created_at FROM outbox_events \
     WHERE tenant_id = $1 AND id > $2 AND (CAST($3 AS TEXT) IS NULL OR topic = $3) \
     ORDER BY id LIMIT $4";

/// Appends one outbox event about `order` in the caller's transaction.
pub async fn emit<B: Backend>(
    conn: &mut Conn<B::Db>,
    tenant: TenantId,
    order: OrderId,
    topic: &str,
    payload: serde_json::Value,
) -> StoreResult<()> {
    let args = (
        DbId(EventId::new().0),
        DbId(tenant.0),
        topic,
        order_subject(order),
        Json(payload),
        now(),
    );
    B::exec(conn, Stmt::new(sql::INSERT_EVENT, args)).await?;
    Ok(())
}

pub async fn list_events<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    topic: Option<&str>,
    page: &PageRequest,
) -> StoreResult<Page<OutboxEvent>> {
    let args = (DbId(tenant.0), cursor(page)?, topic, page.fetch_limit());
    let rows: Vec<EventRow> =
        B::all(&mut *B::conn(pool).await?, Stmt::new(EVENT_PAGE, args)).await?;
    let events = rows.into_iter().map(OutboxEvent::from).collect();
    Ok(Page::from_rows(events, page, |e| e.id.to_string()))
}
