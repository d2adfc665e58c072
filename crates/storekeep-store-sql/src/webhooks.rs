//! Outbound webhook endpoints and their delivery attempts, the same on
//! both databases, written once over the [`Backend`]; and
//! [`impl_webhook_store!`](crate::impl_webhook_store), the `WebhookStore`
//! impl both backends share. Every statement names the tenant.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::Pool;
use sqlx::types::Json;
use storekeep_domain::{
    AuditContext, DeliveryOutcome, EventId, JobId, NewJob, Page, PageRequest, TenantId,
    WebhookDelivery, WebhookDeliveryId, WebhookEndpoint, WebhookEndpointId, WebhookEndpointPatch,
    WebhookReplay, WebhookStatus,
};
use storekeep_store::audit::Change;
use storekeep_store::webhooks::{
    AttemptEffect, AttemptRecorded, ENDPOINT_DISABLED, ENDPOINT_REPLAY, REPLAY_DISABLED,
    apply_attempt,
};
use storekeep_store::{StoreError, StoreResult, now};

use crate::DbId;
use crate::backend::{Backend, Conn};
use crate::stmt::{Stmt, cursor, found, page_of};

const ENDPOINT: &str = "webhook endpoint";

macro_rules! endpoint_columns {
    () => {
        "id, tenant_id, url, description, events, secret_sealed, previous_secret_sealed, \
         previous_secret_expires_at, status, disabled_reason, failing_since, created_at, \
         updated_at"
    };
}

const INSERT_ENDPOINT: &str = concat!(
    "INSERT INTO webhook_endpoints (",
    endpoint_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
);

const ENDPOINT_BY_ID: &str = concat!(
    "SELECT ",
    endpoint_columns!(),
    " FROM webhook_endpoints WHERE id = $1 AND tenant_id = $2"
);

/// [`ENDPOINT_BY_ID`], locking the row (PostgreSQL).
const ENDPOINT_BY_ID_LOCKED: &str = concat!(
    "SELECT ",
    endpoint_columns!(),
    " FROM webhook_endpoints WHERE id = $1 AND tenant_id = $2 FOR UPDATE"
);

/// A shop's endpoints: ids after `$2`, at most `$3`.
const ENDPOINT_PAGE: &str = concat!(
    "SELECT ",
    endpoint_columns!(),
    " FROM webhook_endpoints WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3"
);

const ENABLED_ENDPOINTS: &str = concat!(
    "SELECT ",
    endpoint_columns!(),
    " FROM webhook_endpoints WHERE tenant_id = $1 AND status = 'enabled' ORDER BY id"
);

const UPDATE_ENDPOINT: &str = "UPDATE webhook_endpoints SET url = $3, description = $4, \
     events = $5, secret_sealed = $6, previous_secret_sealed = $7, \
     previous_secret_expires_at = $8, status = $9, disabled_reason = $10, failing_since = $11, \
     updated_at = $12 WHERE id = $1 AND tenant_id = $2";

const DELETE_DELIVERIES: &str =
    "DELETE FROM webhook_deliveries WHERE endpoint_id = $1 AND tenant_id = $2";

const DELETE_ENDPOINT: &str = "DELETE FROM webhook_endpoints WHERE id = $1 AND tenant_id = $2";

const INSERT_DELIVERY: &str = "INSERT INTO webhook_deliveries (id, tenant_id, endpoint_id, \
     event_id, event_type, attempt, at, status_code, error, latency_ms, response_excerpt, \
     outcome) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";

/// An endpoint's attempts, ids before `$3`, newest first, at most `$4`.
const DELIVERY_PAGE: &str = "SELECT id, tenant_id, endpoint_id, event_id, event_type, attempt, \
     at, status_code, error, latency_ms, response_excerpt, outcome FROM webhook_deliveries \
     WHERE tenant_id = $1 AND endpoint_id = $2 AND id < $3 ORDER BY id DESC LIMIT $4";

const INSERT_EVENT: &str = "INSERT INTO outbox_events (id, tenant_id, topic, subject, \
     payload, created_at) VALUES ($1, $2, $3, $4, $5, $6)";

#[derive(sqlx::FromRow)]
pub struct EndpointRow {
    id: DbId,
    tenant_id: DbId,
    url: String,
    description: String,
    events: Json<Vec<String>>,
    secret_sealed: String,
    previous_secret_sealed: Option<String>,
    previous_secret_expires_at: Option<DateTime<Utc>>,
    status: String,
    disabled_reason: Option<String>,
    failing_since: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Other(format!("unknown {what} in the database").into())
}

impl TryFrom<EndpointRow> for WebhookEndpoint {
    type Error = StoreError;
    fn try_from(r: EndpointRow) -> StoreResult<Self> {
        Ok(Self {
            id: WebhookEndpointId(r.id.0),
            tenant_id: TenantId(r.tenant_id.0),
            url: r.url,
            description: r.description,
            events: r.events.0,
            secret_sealed: r.secret_sealed,
            previous_secret_sealed: r.previous_secret_sealed,
            previous_secret_expires_at: r.previous_secret_expires_at,
            status: WebhookStatus::parse(&r.status).ok_or_else(|| corrupt("endpoint status"))?,
            disabled_reason: r.disabled_reason,
            failing_since: r.failing_since,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct DeliveryRow {
    id: DbId,
    tenant_id: DbId,
    endpoint_id: DbId,
    event_id: String,
    event_type: String,
    attempt: i64,
    at: DateTime<Utc>,
    status_code: Option<i64>,
    error: Option<String>,
    latency_ms: i64,
    response_excerpt: String,
    outcome: String,
}

impl TryFrom<DeliveryRow> for WebhookDelivery {
    type Error = StoreError;
    fn try_from(r: DeliveryRow) -> StoreResult<Self> {
        Ok(Self {
            id: WebhookDeliveryId(r.id.0),
            tenant_id: TenantId(r.tenant_id.0),
            endpoint_id: WebhookEndpointId(r.endpoint_id.0),
            event_id: r.event_id,
            event_type: r.event_type,
            attempt: r.attempt,
            at: r.at,
            status_code: r.status_code,
            error: r.error,
            latency_ms: r.latency_ms,
            response_excerpt: r.response_excerpt,
            outcome: DeliveryOutcome::parse(&r.outcome)
                .ok_or_else(|| corrupt("delivery outcome"))?,
        })
    }
}

/// The audit target of an endpoint.
fn target(e: &WebhookEndpoint) -> String {
    format!("webhook_endpoint:{}", e.id)
}

fn change(e: &WebhookEndpoint, action: &str) -> Change {
    Change::new(e.tenant_id.to_string(), action, target(e))
}

async fn write<B: Backend>(conn: &mut Conn<B::Db>, e: &WebhookEndpoint) -> StoreResult<()> {
    let args = (
        DbId(e.id.0),
        DbId(e.tenant_id.0),
        e.url.as_str(),
        e.description.as_str(),
        Json(e.events.clone()),
        e.secret_sealed.as_str(),
        e.previous_secret_sealed.as_deref(),
        e.previous_secret_expires_at,
        e.status.as_str(),
        e.disabled_reason.as_deref(),
        e.failing_since,
        e.updated_at,
    );
    B::exec(conn, Stmt::new(UPDATE_ENDPOINT, args)).await?;
    Ok(())
}

async fn locked<B: Backend>(
    conn: &mut Conn<B::Db>,
    tenant: TenantId,
    id: WebhookEndpointId,
) -> StoreResult<WebhookEndpoint> {
    let sql = B::read_for_update(ENDPOINT_BY_ID, ENDPOINT_BY_ID_LOCKED);
    let row: Option<EndpointRow> =
        B::optional(conn, Stmt::new(sql, (DbId(id.0), DbId(tenant.0)))).await?;
    found(row, ENDPOINT)
}

pub async fn create_webhook_endpoint<B: Backend>(
    pool: &Pool<B::Db>,
    e: &WebhookEndpoint,
    ctx: &AuditContext,
) -> StoreResult<WebhookEndpoint> {
    let mut tx = B::write_tx(pool).await?;
    let args = (
        DbId(e.id.0),
        DbId(e.tenant_id.0),
        e.url.as_str(),
        e.description.as_str(),
        Json(e.events.clone()),
        e.secret_sealed.as_str(),
        e.previous_secret_sealed.as_deref(),
        e.previous_secret_expires_at,
        e.status.as_str(),
        e.disabled_reason.as_deref(),
        e.failing_since,
        e.created_at,
        e.updated_at,
    );
    B::exec(&mut tx, Stmt::new(INSERT_ENDPOINT, args)).await?;
    let audit = change(e, "webhook_endpoint.create").after(e)?;
    B::record_change(&mut tx, ctx, audit).await?;
    B::commit(tx).await?;
    Ok(e.clone())
}

pub async fn list_webhook_endpoints<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    page: &PageRequest,
) -> StoreResult<Page<WebhookEndpoint>> {
    let args = (DbId(tenant.0), cursor(page)?, page.fetch_limit());
    let rows: Vec<EndpointRow> =
        B::all(&mut *B::conn(pool).await?, Stmt::new(ENDPOINT_PAGE, args)).await?;
    page_of(rows, page, |e: &WebhookEndpoint| e.id.0)
}

pub async fn webhook_endpoint<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    id: WebhookEndpointId,
) -> StoreResult<WebhookEndpoint> {
    let stmt = Stmt::new(ENDPOINT_BY_ID, (DbId(id.0), DbId(tenant.0)));
    let row: Option<EndpointRow> = B::optional(&mut *B::conn(pool).await?, stmt).await?;
    found(row, ENDPOINT)
}

/// The shop's enabled endpoints, on `conn` (the outbox dispatcher passes
/// its open transaction).
pub async fn enabled_endpoints<B: Backend>(
    conn: &mut Conn<B::Db>,
    tenant: TenantId,
) -> StoreResult<Vec<WebhookEndpoint>> {
    let stmt = Stmt::new(ENABLED_ENDPOINTS, (DbId(tenant.0),));
    let rows: Vec<EndpointRow> = B::all(conn, stmt).await?;
    rows.into_iter().map(WebhookEndpoint::try_from).collect()
}

pub async fn webhook_endpoints_for<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    topic: &str,
) -> StoreResult<Vec<WebhookEndpoint>> {
    let mut endpoints = enabled_endpoints::<B>(&mut *B::conn(pool).await?, tenant).await?;
    endpoints.retain(|e| e.wants(topic));
    Ok(endpoints)
}

pub async fn update_webhook_endpoint<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    id: WebhookEndpointId,
    patch: &WebhookEndpointPatch,
    ctx: &AuditContext,
) -> StoreResult<WebhookEndpoint> {
    let mut tx = B::write_tx(pool).await?;
    let before = locked::<B>(&mut tx, tenant, id).await?;
    let mut after = before.clone();
    if let Some(url) = &patch.url {
        after.url.clone_from(url);
    }
    if let Some(d) = &patch.description {
        after.description.clone_from(d);
    }
    if let Some(events) = &patch.events {
        after.events.clone_from(events);
    }
    if let Some(status) = patch.status {
        if status == WebhookStatus::Enabled && before.status == WebhookStatus::Disabled {
            after.disabled_reason = None;
            after.failing_since = None;
        }
        if status == WebhookStatus::Disabled && before.status == WebhookStatus::Enabled {
            after.disabled_reason = Some(format!("disabled by {}", ctx.actor));
        }
        after.status = status;
    }
    after.updated_at = now();
    write::<B>(&mut tx, &after).await?;
    let audit = change(&after, "webhook_endpoint.update")
        .before(&before)?
        .after(&after)?;
    B::record_change(&mut tx, ctx, audit).await?;
    B::commit(tx).await?;
    Ok(after)
}

pub async fn delete_webhook_endpoint<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    id: WebhookEndpointId,
    ctx: &AuditContext,
) -> StoreResult<()> {
    let mut tx = B::write_tx(pool).await?;
    let before = locked::<B>(&mut tx, tenant, id).await?;
    let key = (DbId(id.0), DbId(tenant.0));
    B::exec(&mut tx, Stmt::new(DELETE_DELIVERIES, key)).await?;
    B::exec(&mut tx, Stmt::new(DELETE_ENDPOINT, key)).await?;
    let audit = change(&before, "webhook_endpoint.delete").before(&before)?;
    B::record_change(&mut tx, ctx, audit).await?;
    B::commit(tx).await
}

pub async fn rotate_webhook_secret<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    id: WebhookEndpointId,
    secret_sealed: &str,
    previous_expires_at: DateTime<Utc>,
    ctx: &AuditContext,
) -> StoreResult<WebhookEndpoint> {
    let mut tx = B::write_tx(pool).await?;
    let mut e = locked::<B>(&mut tx, tenant, id).await?;
    e.previous_secret_sealed = Some(std::mem::replace(
        &mut e.secret_sealed,
        secret_sealed.to_owned(),
    ));
    e.previous_secret_expires_at = Some(previous_expires_at);
    e.updated_at = now();
    write::<B>(&mut tx, &e).await?;
    let audit = change(&e, "webhook_endpoint.rotate_secret").after(&e)?;
    B::record_change(&mut tx, ctx, audit).await?;
    B::commit(tx).await?;
    Ok(e)
}

/// A staff replay: the endpoint locked (and checked enabled), its jobs
/// inserted and the replay audited, all in one transaction.
pub async fn replay_webhook<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    id: WebhookEndpointId,
    replay: &WebhookReplay,
    jobs: &[NewJob],
    ctx: &AuditContext,
) -> StoreResult<Vec<JobId>> {
    let mut tx = B::write_tx(pool).await?;
    let endpoint = locked::<B>(&mut tx, tenant, id).await?;
    if endpoint.status == WebhookStatus::Disabled {
        return Err(StoreError::Invalid(REPLAY_DISABLED));
    }
    let mut ids = Vec::with_capacity(jobs.len());
    for job in jobs {
        ids.push(crate::jobs::enqueue_in::<B>(&mut tx, job).await?);
    }
    let audit = change(&endpoint, ENDPOINT_REPLAY).after(replay)?;
    B::record_change(&mut tx, ctx, audit).await?;
    B::commit(tx).await?;
    Ok(ids)
}

pub async fn record_webhook_attempt<B: Backend>(
    pool: &Pool<B::Db>,
    d: &WebhookDelivery,
    effect: AttemptEffect,
) -> StoreResult<AttemptRecorded> {
    let mut tx = B::write_tx(pool).await?;
    let recorded = record_in::<B>(&mut *tx, d, effect).await?;
    B::commit(tx).await?;
    Ok(recorded)
}

/// Records a batch of attempts in one transaction (one commit), in order
/// of endpoint so that batches written at once on several nodes lock the
/// endpoints in one order (attempts of one endpoint keep theirs); the
/// answers in the order given. One attempt that cannot be recorded (its
/// endpoint was deleted meanwhile) fails the batch: the caller records
/// them one by one then.
pub async fn record_webhook_attempts<B: Backend>(
    pool: &Pool<B::Db>,
    batch: &[(WebhookDelivery, AttemptEffect)],
) -> StoreResult<Vec<AttemptRecorded>> {
    let mut order: Vec<usize> = (0..batch.len()).collect();
    order.sort_by_key(|&i| (batch[i].0.tenant_id, batch[i].0.endpoint_id));
    let mut answers: Vec<Option<AttemptRecorded>> = vec![None; batch.len()];
    let mut tx = B::write_tx(pool).await?;
    for i in order {
        let (d, effect) = &batch[i];
        answers[i] = Some(record_in::<B>(&mut *tx, d, *effect).await?);
    }
    B::commit(tx).await?;
    Ok(answers.into_iter().flatten().collect())
}

async fn record_in<B: Backend>(
    conn: &mut Conn<B::Db>,
    d: &WebhookDelivery,
    effect: AttemptEffect,
) -> StoreResult<AttemptRecorded> {
    let mut endpoint = locked::<B>(conn, d.tenant_id, d.endpoint_id).await?;
    let args = (
        DbId(d.id.0),
        DbId(d.tenant_id.0),
        DbId(d.endpoint_id.0),
        d.event_id.as_str(),
        d.event_type.as_str(),
        d.attempt,
        d.at,
        d.status_code,
        d.error.as_deref(),
        d.latency_ms,
        d.response_excerpt.as_str(),
        d.outcome.as_str(),
    );
    B::exec(conn, Stmt::new(INSERT_DELIVERY, args)).await?;
    let before = endpoint.clone();
    let disabled = apply_attempt(&mut endpoint, effect, d.at);
    if endpoint != before {
        endpoint.updated_at = now();
        write::<B>(conn, &endpoint).await?;
    }
    if let Some(reason) = &disabled {
        let payload = json!({
            "endpoint_id": endpoint.id, "url": endpoint.url, "reason": reason,
        });
        let args = (
            DbId(EventId::new().0),
            DbId(endpoint.tenant_id.0),
            ENDPOINT_DISABLED,
            target(&endpoint),
            Json(payload),
            now(),
        );
        B::exec(conn, Stmt::new(INSERT_EVENT, args)).await?;
        let ctx = AuditContext {
            actor: "system".into(),
            ip: None,
            request_id: None,
        };
        let audit = change(&endpoint, "webhook_endpoint.disable")
            .before(&before)?
            .after(&endpoint)?;
        B::record_change(conn, &ctx, audit).await?;
    }
    Ok(AttemptRecorded {
        endpoint,
        disabled: disabled.is_some(),
    })
}

pub async fn list_webhook_deliveries<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    endpoint: WebhookEndpointId,
    page: &PageRequest,
) -> StoreResult<Page<WebhookDelivery>> {
    // Newest first: the upper bound is the cursor, or the greatest id.
    let before = storekeep_store::parse_cursor(page)?.unwrap_or(uuid::Uuid::max());
    let args = (
        DbId(tenant.0),
        DbId(endpoint.0),
        DbId(before),
        page.fetch_limit(),
    );
    let mut conn = B::conn(pool).await?;
    let stmt = Stmt::new(ENDPOINT_BY_ID, (DbId(endpoint.0), DbId(tenant.0)));
    let row: Option<EndpointRow> = B::optional(&mut conn, stmt).await?;
    let _: WebhookEndpoint = found(row, ENDPOINT)?;
    let rows: Vec<DeliveryRow> = B::all(&mut conn, Stmt::new(DELIVERY_PAGE, args)).await?;
    page_of(rows, page, |d: &WebhookDelivery| d.id.0)
}

/// Implements `WebhookStore` for a backend's store type (with a `pool`
/// field) by calling this module's functions with `$backend`.
#[macro_export]
macro_rules! impl_webhook_store {
    ($store:ty, $backend:ty) => {
        const _: () = {
            use $crate::webhooks as w;
            use $crate::webhooks::reexports::*;

            #[async_trait]
            impl WebhookStore for $store {
                async fn create_webhook_endpoint(
                    &self,
                    endpoint: &WebhookEndpoint,
                    audit: &AuditContext,
                ) -> StoreResult<WebhookEndpoint> {
                    w::create_webhook_endpoint::<$backend>(&self.pool, endpoint, audit).await
                }
                async fn list_webhook_endpoints(
                    &self,
                    tenant: TenantId,
                    page: &PageRequest,
                ) -> StoreResult<Page<WebhookEndpoint>> {
                    w::list_webhook_endpoints::<$backend>(&self.pool, tenant, page).await
                }
                async fn webhook_endpoint(
                    &self,
                    tenant: TenantId,
                    id: WebhookEndpointId,
                ) -> StoreResult<WebhookEndpoint> {
                    w::webhook_endpoint::<$backend>(&self.pool, tenant, id).await
                }
                async fn webhook_endpoints_for(
                    &self,
                    tenant: TenantId,
                    topic: &str,
                ) -> StoreResult<Vec<WebhookEndpoint>> {
                    w::webhook_endpoints_for::<$backend>(&self.pool, tenant, topic).await
                }
                async fn update_webhook_endpoint(
                    &self,
                    tenant: TenantId,
                    id: WebhookEndpointId,
                    patch: &WebhookEndpointPatch,
                    audit: &AuditContext,
                ) -> StoreResult<WebhookEndpoint> {
                    w::update_webhook_endpoint::<$backend>(&self.pool, tenant, id, patch, audit)
                        .await
                }
                async fn delete_webhook_endpoint(
                    &self,
                    tenant: TenantId,
                    id: WebhookEndpointId,
                    audit: &AuditContext,
                ) -> StoreResult<()> {
                    w::delete_webhook_endpoint::<$backend>(&self.pool, tenant, id, audit).await
                }
                async fn rotate_webhook_secret(
                    &self,
                    tenant: TenantId,
                    id: WebhookEndpointId,
                    secret_sealed: &str,
                    previous_expires_at: DateTime<Utc>,
                    audit: &AuditContext,
                ) -> StoreResult<WebhookEndpoint> {
                    w::rotate_webhook_secret::<$backend>(
                        &self.pool,
                        tenant,
                        id,
                        secret_sealed,
                        previous_expires_at,
                        audit,
                    )
                    .await
                }
                async fn replay_webhook(
                    &self,
                    tenant: TenantId,
                    id: WebhookEndpointId,
                    replay: &WebhookReplay,
                    jobs: &[NewJob],
                    audit: &AuditContext,
                ) -> StoreResult<Vec<JobId>> {
                    w::replay_webhook::<$backend>(&self.pool, tenant, id, replay, jobs, audit).await
                }
                async fn record_webhook_attempt(
                    &self,
                    attempt: &WebhookDelivery,
                    effect: AttemptEffect,
                ) -> StoreResult<AttemptRecorded> {
                    w::record_webhook_attempt::<$backend>(&self.pool, attempt, effect).await
                }
                async fn record_webhook_attempts(
                    &self,
                    batch: &[(WebhookDelivery, AttemptEffect)],
                ) -> StoreResult<Vec<AttemptRecorded>> {
                    w::record_webhook_attempts::<$backend>(&self.pool, batch).await
                }
                async fn list_webhook_deliveries(
                    &self,
                    tenant: TenantId,
                    endpoint: WebhookEndpointId,
                    page: &PageRequest,
                ) -> StoreResult<Page<WebhookDelivery>> {
                    w::list_webhook_deliveries::<$backend>(&self.pool, tenant, endpoint, page).await
                }
            }
        };
    };
}

/// The names [`impl_webhook_store!`](crate::impl_webhook_store) uses
/// (public only for the macro).
pub mod reexports {
    pub use async_trait::async_trait;
    pub use chrono::{DateTime, Utc};
    pub use storekeep_domain::{
        AuditContext, JobId, NewJob, Page, PageRequest, TenantId, WebhookDelivery, WebhookEndpoint,
        WebhookEndpointId, WebhookEndpointPatch, WebhookReplay,
    };
    pub use storekeep_store::StoreResult;
    pub use storekeep_store::webhooks::{AttemptEffect, AttemptRecorded, WebhookStore};
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What an endpoint's audit entries record of it (`change(..).before`,
    /// `.after`): its state, never a secret, sealed or not (the import's
    /// re-seal relies on it, docs/export.md).
    #[test]
    fn an_endpoint_snapshot_records_no_sealed_field() {
        let at = now();
        let e = WebhookEndpoint {
            id: WebhookEndpointId(uuid::Uuid::now_v7()),
            tenant_id: TenantId(uuid::Uuid::now_v7()),
            url: "https://hooks.example/in".into(),
            description: "orders".into(),
            events: vec!["order.paid".into()],
            secret_sealed: "v1.k1.current-secret-sealed".into(),
            previous_secret_sealed: Some("v1.k1.previous-secret-sealed".into()),
            previous_secret_expires_at: Some(at),
            status: WebhookStatus::Enabled,
            disabled_reason: None,
            failing_since: None,
            created_at: at,
            updated_at: at,
        };
        let audit = change(&e, "webhook_endpoint.update")
            .before(&e)
            .unwrap()
            .after(&e)
            .unwrap();
        for state in [audit.before.unwrap(), audit.after.unwrap()] {
            let fields = state.as_object().expect("an endpoint is an object");
            assert_eq!(fields["url"], "https://hooks.example/in", "{state}");
            assert!(fields.contains_key("previous_secret_expires_at"), "{state}");
            assert!(fields.keys().all(|k| !k.ends_with("_sealed")), "{state}");
            assert!(!state.to_string().contains("secret-sealed"), "{state}");
        }
    }
}
