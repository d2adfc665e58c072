//! The outbox: events about orders, written in the transaction that made
//! them true, read by consumers in id order, and handed to their
//! destinations by the dispatcher ([`dispatch`]); written once over the
//! [`Backend`].

use chrono::{DateTime, Utc};
use sqlx::Pool;
use sqlx::types::Json;
use storekeep_domain::{EventId, OrderId, OutboxEvent, Page, PageRequest, TenantId};
use storekeep_store::rules::commerce::order_subject;
use storekeep_store::rules::delivery::{PendingEvent, Subscription, delivery_jobs};
use storekeep_store::{StoreError, StoreResult, now};

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

const EVENT: &str = "SELECT id, topic, subject, payload, created_at FROM outbox_events \
     WHERE tenant_id = $1 AND id = $2";

/// One of the shop's events.
pub async fn event<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    id: EventId,
) -> StoreResult<OutboxEvent> {
    let stmt = Stmt::new(EVENT, (DbId(tenant.0), DbId(id.0)));
    let row: Option<EventRow> = B::optional(&mut *B::conn(pool).await?, stmt).await?;
    row.map(OutboxEvent::from)
        .ok_or(StoreError::NotFound("event"))
}

/// Is any event waiting for the dispatcher? A plain read, so an idle
/// dispatcher never takes SQLite's write lock.
const ANY_PENDING: &str = "SELECT id FROM outbox_events WHERE dispatched_at IS NULL LIMIT 1";

/// Takes the oldest events not yet dispatched, marking them dispatched
/// at `$2` in the same statement (a statement per batch, not one per
/// event); the caller's transaction then inserts their jobs, so a crash
/// before its commit leaves both undone. On PostgreSQL the rows are locked
/// and others' locked rows skipped, so nodes dispatching at once take
/// disjoint events; SQLite's write transaction has one writer. `RETURNING`
/// promises no order: the caller sorts by id.
const TAKE_PENDING: &str = "UPDATE outbox_events SET dispatched_at = $2 \
     WHERE dispatched_at IS NULL AND id IN (SELECT id FROM outbox_events \
     WHERE dispatched_at IS NULL ORDER BY id LIMIT $1) \
     RETURNING id, tenant_id, topic";
/// The events are picked by an `ARRAY(…)` sub-select, run once: a locking
/// sub-select under `id IN (…)` may be run again for each row scanned and
/// take more than `$1` (as the jobs' claim did, `jobs::CLAIM_LOCKED`).
const TAKE_PENDING_LOCKED: &str = "UPDATE outbox_events SET dispatched_at = $2 \
     WHERE dispatched_at IS NULL AND id = ANY(ARRAY(SELECT id FROM outbox_events \
     WHERE dispatched_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)) \
     RETURNING id, tenant_id, topic";

#[derive(sqlx::FromRow)]
struct PendingRow {
    id: DbId,
    tenant_id: DbId,
    topic: String,
}

/// Hands up to `limit` undispatched events to their destinations: in one
/// transaction, the events are marked dispatched (one statement) and the
/// jobs each becomes ([`delivery_jobs`]: its email, one delivery per
/// subscribed endpoint, each under a unique key naming event and
/// destination) are inserted ([`Backend::enqueue_all`]: one statement on
/// PostgreSQL).
/// A crash before the commit leaves both undone; after it, both done.
/// Answers how many events were dispatched.
pub async fn dispatch<B: Backend>(pool: &Pool<B::Db>, limit: i64) -> StoreResult<usize> {
    let waiting: Option<DbId> =
        B::scalar_optional(&mut *B::conn(pool).await?, Stmt::new(ANY_PENDING, ())).await?;
    if waiting.is_none() {
        return Ok(0);
    }
    let mut tx = B::write_tx(pool).await?;
    let sql = B::read_for_update(TAKE_PENDING, TAKE_PENDING_LOCKED);
    let mut rows: Vec<PendingRow> = B::all(&mut tx, Stmt::new(sql, (limit, now()))).await?;
    rows.sort_unstable_by_key(|r| r.id);
    let mut subscriptions: std::collections::HashMap<DbId, Vec<Subscription>> =
        std::collections::HashMap::new();
    let mut jobs = Vec::with_capacity(rows.len());
    for row in &rows {
        if let std::collections::hash_map::Entry::Vacant(slot) = subscriptions.entry(row.tenant_id)
        {
            let endpoints =
                crate::webhooks::enabled_endpoints::<B>(&mut tx, TenantId(row.tenant_id.0)).await?;
            slot.insert(
                endpoints
                    .into_iter()
                    .map(|e| Subscription {
                        endpoint: e.id,
                        events: e.events,
                    })
                    .collect(),
            );
        }
        let event = PendingEvent {
            id: EventId(row.id.0),
            tenant: TenantId(row.tenant_id.0),
            topic: row.topic.clone(),
        };
        jobs.extend(delivery_jobs(&event, &subscriptions[&row.tenant_id]));
    }
    B::enqueue_all(&mut tx, &jobs).await?;
    B::commit(tx).await?;
    Ok(rows.len())
}
