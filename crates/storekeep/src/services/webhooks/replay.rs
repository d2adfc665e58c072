//! Replays: staff send an endpoint one event again, or every event of a
//! time range that it wants, as new `webhook.deliver` jobs (retried like
//! any delivery). A replayed delivery carries the event's own
//! `webhook-id`, so a receiver that already handled it can tell. The jobs
//! and the audit entry (`webhook_endpoint.replay`: who, which endpoint,
//! the event or the range, how many events) are written in one
//! transaction.

use chrono::{DateTime, Utc};
use storekeep_domain::{
    AuditContext, EventId, JobId, OutboxEvent, PageRequest, TenantId, ValidationErrors,
    WebhookEndpoint, WebhookEndpointId, WebhookReplay,
};
use storekeep_store::rules::delivery::{PendingEvent, WEBHOOK_QUEUE, webhook_job};

use crate::services::{ServiceResult, Services};
use crate::wire::webhooks::ReplayInput;

/// The most events one replay sends; a longer range is refused.
pub const MAX_REPLAY: usize = 1000;

/// Enqueues the replay `input` asks for; the jobs' ids, oldest event first.
pub async fn replay(
    svc: &Services,
    tenant: TenantId,
    id: WebhookEndpointId,
    input: &ReplayInput,
    audit: &AuditContext,
) -> ServiceResult<Vec<JobId>> {
    let endpoint = svc.store.webhook_endpoint(tenant, id).await?;
    let events = match (input.event_id, input.since, input.until) {
        (Some(event), None, None) => vec![one(svc, tenant, &endpoint, event).await?],
        (None, Some(since), Some(until)) if since < until => {
            range(svc, tenant, &endpoint, since, until).await?
        }
        (None, Some(_), Some(_)) => {
            return Err(ValidationErrors::single("until", "must be after since").into());
        }
        _ => {
            return Err(ValidationErrors::single(
                "event_id",
                "give either event_id, or since and until",
            )
            .into());
        }
    };
    let jobs: Vec<_> = events
        .iter()
        .map(|e| {
            let event = PendingEvent {
                id: e.id,
                tenant,
                topic: e.topic.clone(),
            };
            svc.jobs.with_default(&webhook_job(&event, endpoint.id))
        })
        .collect();
    let replay = WebhookReplay {
        event_id: input.event_id,
        since: input.since,
        until: input.until,
        events: jobs.len(),
    };
    // A disabled endpoint is refused here, under the endpoint's lock.
    let ids = svc
        .store
        .replay_webhook(tenant, endpoint.id, &replay, &jobs, audit)
        .await?;
    svc.jobs.wake(WEBHOOK_QUEUE);
    Ok(ids)
}

async fn one(
    svc: &Services,
    tenant: TenantId,
    endpoint: &WebhookEndpoint,
    id: EventId,
) -> ServiceResult<OutboxEvent> {
    let event = svc.store.event(tenant, id).await?;
    if !endpoint.wants(&event.topic) {
        return Err(ValidationErrors::single(
            "event_id",
            format!("the endpoint does not subscribe to {}", event.topic),
        )
        .into());
    }
    Ok(event)
}

/// The events created in `[since, until)` that the endpoint wants, read
/// from the first event id that could fall in the range (ids are UUIDv7,
/// ordered by time).
async fn range(
    svc: &Services,
    tenant: TenantId,
    endpoint: &WebhookEndpoint,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> ServiceResult<Vec<OutboxEvent>> {
    let millis = u128::try_from(since.timestamp_millis()).unwrap_or(0);
    let before_first = uuid::Uuid::from_u128((millis << 80).saturating_sub(1));
    let mut page = PageRequest {
        limit: 200,
        after: Some(before_first.to_string()),
    };
    let mut out = Vec::new();
    loop {
        let batch = svc.store.list_events(tenant, None, &page).await?;
        for e in batch.items {
            if e.created_at >= until {
                return Ok(out);
            }
            if e.created_at >= since && endpoint.wants(&e.topic) {
                if out.len() == MAX_REPLAY {
                    return Err(ValidationErrors::single(
                        "until",
                        format!(
                            "the range holds more than {MAX_REPLAY} events; replay a shorter one"
                        ),
                    )
                    .into());
                }
                out.push(e);
            }
        }
        match batch.next_cursor {
            Some(next) => page.after = Some(next),
            None => return Ok(out),
        }
    }
}
