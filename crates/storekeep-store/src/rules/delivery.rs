//! Which jobs an outbox event becomes: the dispatcher hands every committed
//! event to its destinations — one `email.send` job if its topic has an
//! email, one `webhook.deliver` job per enabled endpoint of the shop that
//! wants it — in one transaction with marking the event dispatched. The
//! jobs' unique keys name the event and the destination, so an event is
//! handed to each destination once, whatever crashes or races happen.

use storekeep_domain::{EventId, NewJob, TenantId, WebhookEndpointId};

/// The job kind that sends an event's email.
pub const EMAIL_JOB: &str = "email.send";
/// The job kind that delivers an event to one webhook endpoint.
pub const WEBHOOK_JOB: &str = "webhook.deliver";
/// The queues those run on (each with its own concurrency, `jobs.queues`).
pub const EMAIL_QUEUE: &str = "email";
pub const WEBHOOK_QUEUE: &str = "webhooks";

/// Attempts at a webhook delivery: the schedule (5 s, 5 min, 30 min, 2 h,
/// 5 h, 10 h, then daily) spans about a week in 12 attempts; an endpoint
/// failing that long has been disabled before the last one.
pub const WEBHOOK_ATTEMPTS: i32 = 12;

/// Topics that send the customer (or, for a disabled endpoint, the shop's
/// staff) an email. Every one has a template (checked by the mail tests).
pub const EMAIL_TOPICS: &[&str] = &[
    "order.created",
    "payment.confirmed",
    "payment.declined",
    "order.fulfilled",
    "order.delivered",
    "refund.created",
    crate::webhooks::ENDPOINT_DISABLED,
    // i15 phase 2, glue: the contract email.
    crate::contracts::events::CONTRACT_STARTED,
];

/// An outbox event not yet handed to its destinations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingEvent {
    pub id: EventId,
    pub tenant: TenantId,
    pub topic: String,
}

/// An enabled endpoint of the event's shop and the event types it wants
/// (empty: every type).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub endpoint: WebhookEndpointId,
    pub events: Vec<String>,
}

/// The jobs `event` becomes.
pub fn delivery_jobs(event: &PendingEvent, subscriptions: &[Subscription]) -> Vec<NewJob> {
    let mut jobs = Vec::new();
    if EMAIL_TOPICS.contains(&event.topic.as_str()) {
        jobs.push(
            NewJob::new(
                EMAIL_JOB,
                serde_json::json!({ "event_id": event.id, "topic": event.topic }),
            )
            .queue(EMAIL_QUEUE)
            .tenant(event.tenant)
            .unique_key(format!("email:{}", event.id)),
        );
    }
    for sub in subscriptions {
        if storekeep_domain::subscribes(&sub.events, &event.topic) {
            jobs.push(
                webhook_job(event, sub.endpoint)
                    .unique_key(format!("webhook:{}:{}", sub.endpoint, event.id)),
            );
        }
    }
    jobs
}

/// The job delivering `event` to `endpoint` (the dispatcher's carry a
/// unique key; a replay is a new job).
pub fn webhook_job(event: &PendingEvent, endpoint: WebhookEndpointId) -> NewJob {
    NewJob::new(
        WEBHOOK_JOB,
        serde_json::json!({
            "event_id": event.id, "topic": event.topic, "endpoint_id": endpoint,
        }),
    )
    .queue(WEBHOOK_QUEUE)
    .tenant(event.tenant)
    .max_attempts(WEBHOOK_ATTEMPTS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(topic: &str) -> PendingEvent {
        PendingEvent {
            id: EventId::new(),
            tenant: TenantId::new(),
            topic: topic.into(),
        }
    }

    #[test]
    fn an_order_event_becomes_an_email_and_one_delivery_per_interested_endpoint() {
        let all = Subscription {
            endpoint: WebhookEndpointId::new(),
            events: vec![],
        };
        let payments = Subscription {
            endpoint: WebhookEndpointId::new(),
            events: vec!["payment.confirmed".into()],
        };
        let e = event("order.created");
        let jobs = delivery_jobs(&e, &[all.clone(), payments]);
        assert_eq!(jobs.len(), 2);
        assert_eq!(jobs[0].kind, EMAIL_JOB);
        assert_eq!(jobs[0].unique_key, Some(format!("email:{}", e.id)));
        assert_eq!(jobs[0].tenant, Some(e.tenant));
        assert_eq!(jobs[1].kind, WEBHOOK_JOB);
        assert_eq!(jobs[1].queue, WEBHOOK_QUEUE);
        assert_eq!(
            jobs[1].unique_key,
            Some(format!("webhook:{}:{}", all.endpoint, e.id))
        );
        assert_eq!(jobs[1].payload["endpoint_id"], all.endpoint.to_string());
        assert_eq!(jobs[1].max_attempts, Some(WEBHOOK_ATTEMPTS));
    }

    #[test]
    fn a_topic_without_email_or_subscriber_becomes_nothing() {
        let only_refunds = Subscription {
            endpoint: WebhookEndpointId::new(),
            events: vec!["refund.created".into()],
        };
        assert!(delivery_jobs(&event("payment.created"), &[only_refunds]).is_empty());
    }

    #[test]
    fn every_email_topic_is_an_event_type() {
        for topic in EMAIL_TOPICS {
            assert!(crate::webhooks::EVENT_TYPES.contains(topic), "{topic}");
        }
    }
}
