//! Sending one event to one endpoint: sign, send, record the attempt,
//! classify the answer. What the job handler for `webhook.deliver` calls;
//! retries are the job runner's (with [`webhook_retry_delay`]).

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::json;
use storekeep_domain::{
    DeliveryOutcome, OutboxEvent, TenantId, WebhookDelivery, WebhookDeliveryId, WebhookEndpoint,
    WebhookEndpointId, WebhookStatus,
};
use storekeep_store::webhooks::{AttemptEffect, AttemptRecorded};
use storekeep_store::{Store, StoreError, StoreResult, now};

use super::ssrf::{self, Policy, Refused};
use super::{secret_context, sign};
use crate::batch::Batcher;
use crate::config::WebhookSettings;
use crate::services::{ServiceError, ServiceResult, Services};

/// The most an answer's `Retry-After` delays the next attempt.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// How much of an answer's body an attempt keeps.
pub const EXCERPT_BYTES: usize = 1024;

/// Attempts before a delivery is given up (dead-lettered): six on the
/// schedule below, then daily ones past `webhooks.disable_after_hours`'
/// default of five days.
pub const WEBHOOK_MAX_ATTEMPTS: u32 =
    storekeep_store::rules::delivery::WEBHOOK_ATTEMPTS.unsigned_abs();

/// The pause after failed attempt number `attempt` (1 for the first):
/// 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, then daily, each stretched or
/// shrunk by up to 10 % by `jitter` (in `[0, 1)`; 0.5 is none) so that
/// deliveries failing together do not retry together.
pub fn webhook_retry_delay(attempt: u32, jitter: f64) -> Duration {
    const SCHEDULE: [u64; 6] = [5, 300, 1800, 7200, 18_000, 36_000];
    let base = SCHEDULE
        .get(attempt.saturating_sub(1) as usize)
        .copied()
        .unwrap_or(86_400);
    let factor = 0.9 + 0.2 * jitter.clamp(0.0, 1.0);
    Duration::from_secs_f64(base as f64 * factor)
}

/// [`webhook_retry_delay`] with a random jitter.
pub fn webhook_retry_delay_jittered(attempt: u32) -> Duration {
    webhook_retry_delay(attempt, rand::random())
}

/// Why a delivery did not succeed, and whether trying again can help.
/// Messages never hold a secret or the payload.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// Try again: after `after` if the receiver said when (`Retry-After`,
    /// capped at a day), else on the back-off schedule.
    #[error("{message}")]
    Retry {
        message: String,
        after: Option<Duration>,
    },
    /// Never worth trying again: the endpoint is gone, disabled (410 Gone
    /// disables it) or its address is refused.
    #[error("{message}")]
    Permanent { message: String },
}

impl DeliveryError {
    pub fn is_permanent(&self) -> bool {
        matches!(self, Self::Permanent { .. })
    }
}

/// What is sent: the outbox event's id, type, time and payload.
#[derive(Debug, Clone)]
pub struct Message {
    /// `webhook-id`: the same on every attempt, the receiver's
    /// idempotency key.
    pub id: String,
    pub event_type: String,
    pub created_at: DateTime<Utc>,
    pub data: serde_json::Value,
}

impl From<&OutboxEvent> for Message {
    fn from(e: &OutboxEvent) -> Self {
        Self {
            id: e.id.to_string(),
            event_type: e.topic.clone(),
            created_at: e.created_at,
            data: e.payload.clone(),
        }
    }
}

impl Message {
    /// The body: `{"type", "timestamp", "data"}`.
    pub fn body(&self) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "type": self.event_type,
            "timestamp": self.created_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "data": self.data,
        }))
        .expect("JSON values serialise")
    }
}

/// The HTTP client of every delivery: no proxy, no redirects, the
/// configured timeout, and a resolver that answers only allowed
/// addresses.
pub fn client(settings: &WebhookSettings) -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(concat!("storekeep/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(settings.timeout)
        .connect_timeout(settings.timeout)
        .pool_idle_timeout(Duration::from_secs(30))
        .dns_resolver(std::sync::Arc::new(ssrf::CheckedResolver(Policy::new(
            settings.allow_networks.clone(),
        ))))
        .build()
        .expect("the webhook client's settings are valid")
}

/// What an attempt ended in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Succeeded,
    Retry(Option<Duration>),
    /// Never retried; `gone` when the receiver answered 410.
    Permanent {
        gone: bool,
    },
}

/// Classifies an answer's status (and its `Retry-After`, already parsed):
/// 2xx delivered; 410 gone for good; everything else (5xx, 429, other 4xx
/// such as a misconfigured receiver's 401 or 404, unfollowed 3xx) retried.
pub fn classify(status: u16, retry_after: Option<Duration>) -> Verdict {
    match status {
        200..=299 => Verdict::Succeeded,
        410 => Verdict::Permanent { gone: true },
        _ => Verdict::Retry(retry_after),
    }
}

/// A `Retry-After` value: delay seconds or an HTTP date, capped at
/// [`MAX_RETRY_AFTER`]; a date in the past is no delay; anything else is
/// ignored.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    let delay = if let Ok(secs) = value.parse::<u64>() {
        Duration::from_secs(secs)
    } else {
        let at = DateTime::parse_from_rfc2822(value).ok()?;
        (at.with_timezone(&Utc) - now)
            .to_std()
            .unwrap_or(Duration::ZERO)
    };
    Some(delay.min(MAX_RETRY_AFTER))
}

/// At most [`EXCERPT_BYTES`] of `body` as text: cut at a character
/// boundary, invalid UTF-8 replaced, control characters removed (line
/// breaks and tabs become spaces).
pub fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(EXCERPT_BYTES)]);
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let c = if matches!(c, '\n' | '\r' | '\t') {
            ' '
        } else {
            c
        };
        if c.is_control() {
            continue;
        }
        if out.len() + c.len_utf8() > EXCERPT_BYTES {
            break;
        }
        out.push(c);
    }
    out
}

/// One attempt, recorded: what the `/test` route shows and what
/// [`deliver`] classifies.
pub struct Attempt {
    pub delivery: WebhookDelivery,
    pub verdict: Verdict,
    /// Whether this attempt disabled the endpoint.
    pub disabled: bool,
}

/// The signing keys in force: the current secret, and the previous one
/// until its expiry.
fn keys(svc: &Services, e: &WebhookEndpoint, at: DateTime<Utc>) -> ServiceResult<Vec<Vec<u8>>> {
    let open = |sealed: &str| -> ServiceResult<Vec<u8>> {
        let secret = svc
            .keyring
            .open(sealed, &secret_context(e.id))
            .map_err(|err| ServiceError::Store(StoreError::other(err)))?;
        sign::secret_key(&secret).ok_or_else(|| {
            ServiceError::Store(StoreError::Other(
                "a stored webhook secret is malformed".into(),
            ))
        })
    };
    let mut keys = vec![open(&e.secret_sealed)?];
    if let (Some(prev), Some(until)) = (&e.previous_secret_sealed, e.previous_secret_expires_at)
        && until > at
    {
        keys.push(open(prev)?);
    }
    Ok(keys)
}

/// The part of a URL that may be logged: its host.
fn host_of(url: &str) -> String {
    reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Sends `msg` to `e` once, records the attempt and applies its effect on
/// the endpoint. Sends even to a disabled endpoint (the caller decides).
/// Records attempts in batches: [`recorder`].
pub type AttemptRecorder = Batcher<(WebhookDelivery, AttemptEffect), StoreResult<AttemptRecorded>>;

/// Records the attempts of deliveries running at once with one commit
/// (`Store::record_webhook_attempts`): on SQLite, whose one writer pays an
/// fsync per commit, that commit was the bound on deliveries per second.
/// If the batch cannot be written (an endpoint deleted while its delivery
/// ran), each attempt is recorded on its own, so only that one fails.
pub fn recorder(store: Arc<dyn Store>) -> AttemptRecorder {
    Batcher::new(move |batch: Vec<(WebhookDelivery, AttemptEffect)>| {
        let store = store.clone();
        async move {
            match store.record_webhook_attempts(&batch).await {
                Ok(recorded) => recorded.into_iter().map(|r| Ok(Ok(r))).collect(),
                Err(_) if batch.len() > 1 => {
                    let mut answers = Vec::with_capacity(batch.len());
                    for (delivery, effect) in &batch {
                        answers.push(Ok(store.record_webhook_attempt(delivery, *effect).await));
                    }
                    answers
                }
                Err(e) => vec![Ok(Err(e))],
            }
        }
    })
}

pub async fn attempt(
    svc: &Services,
    e: &WebhookEndpoint,
    msg: &Message,
    number: u32,
) -> ServiceResult<Attempt> {
    let settings = &svc.settings.webhooks;
    let at = now();
    let keys = keys(svc, e, at)?;
    let body = msg.body();
    let timestamp = at.timestamp();
    let signature = sign::signature_header(&keys, &msg.id, timestamp, &body);
    let started = Instant::now();
    let sent = send(svc, e, msg, timestamp, &signature, body).await;
    let took = started.elapsed();
    let mut delivery = WebhookDelivery {
        id: WebhookDeliveryId::new(),
        tenant_id: e.tenant_id,
        endpoint_id: e.id,
        event_id: msg.id.clone(),
        event_type: msg.event_type.clone(),
        attempt: i64::from(number),
        at,
        status_code: None,
        error: None,
        latency_ms: i64::try_from(took.as_millis()).unwrap_or(i64::MAX),
        response_excerpt: String::new(),
        outcome: DeliveryOutcome::Failed,
    };
    let verdict = match sent {
        Ok(answer) => {
            delivery.status_code = Some(i64::from(answer.status));
            delivery.response_excerpt = answer.excerpt;
            classify(answer.status, answer.retry_after)
        }
        Err((kind, verdict)) => {
            delivery.error = Some(kind.to_owned());
            verdict
        }
    };
    let (outcome, effect) = match verdict {
        Verdict::Succeeded => (DeliveryOutcome::Succeeded, AttemptEffect::Succeeded),
        Verdict::Retry(_) => {
            let cutoff =
                chrono::Duration::from_std(settings.disable_after).unwrap_or(chrono::Duration::MAX);
            (
                DeliveryOutcome::Failed,
                AttemptEffect::Failed {
                    disable_if_failing_since: at - cutoff,
                },
            )
        }
        Verdict::Permanent { gone: true } => (DeliveryOutcome::Abandoned, AttemptEffect::Gone),
        Verdict::Permanent { gone: false } => (DeliveryOutcome::Abandoned, AttemptEffect::None),
    };
    delivery.outcome = outcome;
    svc.metrics
        .webhook_deliveries
        .with_label_values(&[outcome.as_str()])
        .inc();
    svc.metrics.webhook_duration.observe(took.as_secs_f64());
    let recorded = svc
        .webhook_attempts
        .submit((delivery.clone(), effect))
        .await
        .map_err(|e| StoreError::Other(e.into()))??;
    tracing::info!(
        tenant = %e.tenant_id,
        endpoint = %e.id,
        host = %host_of(&e.url),
        event = %msg.id,
        event_type = %msg.event_type,
        attempt = number,
        status = delivery.status_code,
        error = delivery.error.as_deref(),
        outcome = outcome.as_str(),
        latency_ms = delivery.latency_ms,
        "webhook attempt"
    );
    if recorded.disabled {
        tracing::warn!(
            tenant = %e.tenant_id,
            endpoint = %e.id,
            reason = recorded.endpoint.disabled_reason.as_deref(),
            "webhook endpoint disabled"
        );
    }
    Ok(Attempt {
        delivery,
        verdict,
        disabled: recorded.disabled,
    })
}

struct Answer {
    status: u16,
    retry_after: Option<Duration>,
    excerpt: String,
}

/// The request itself; an error is the kind recorded and its verdict.
async fn send(
    svc: &Services,
    e: &WebhookEndpoint,
    msg: &Message,
    timestamp: i64,
    signature: &str,
    body: Vec<u8>,
) -> Result<Answer, (&'static str, Verdict)> {
    let refused = || ("refused_address", Verdict::Permanent { gone: false });
    let url = reqwest::Url::parse(&e.url).map_err(|_| refused())?;
    // An IP literal never reaches the resolver: check it here.
    if let Some(host) = url.host_str()
        && let Ok(ip) = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
        && Policy::new(svc.settings.webhooks.allow_networks.clone())
            .check(ip)
            .is_some()
    {
        return Err(refused());
    }
    let response = svc
        .webhook_client
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", &msg.id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body)
        .send()
        .await;
    let mut response = match response {
        Ok(r) => r,
        Err(err) => return Err(failure(&err)),
    };
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, Utc::now()));
    let mut head = Vec::new();
    while head.len() < EXCERPT_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => head.extend_from_slice(&chunk),
            // The status is the answer; a body cut short does not change it.
            Ok(None) | Err(_) => break,
        }
    }
    Ok(Answer {
        status,
        retry_after,
        excerpt: excerpt(&head),
    })
}

/// The kind and verdict of a request that got no answer.
fn failure(err: &reqwest::Error) -> (&'static str, Verdict) {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        if e.downcast_ref::<Refused>().is_some() {
            return ("refused_address", Verdict::Permanent { gone: false });
        }
        if let Some(ssrf::ResolveError::Unresolvable(_)) = e.downcast_ref::<ssrf::ResolveError>() {
            return ("unresolvable", Verdict::Retry(None));
        }
        if let Some(ssrf::ResolveError::Refused(_)) = e.downcast_ref::<ssrf::ResolveError>() {
            return ("refused_address", Verdict::Permanent { gone: false });
        }
        source = e.source();
    }
    let kind = if err.is_timeout() {
        "timeout"
    } else if err.is_connect() {
        "connect"
    } else {
        "request"
    };
    (kind, Verdict::Retry(None))
}

/// Delivers `event` to the shop's endpoint `endpoint` (attempt `number`,
/// 1 for the first): what the `webhook.deliver` job runs. A deleted or
/// disabled endpoint is a permanent failure and nothing is sent.
pub async fn deliver(
    svc: &Services,
    tenant: TenantId,
    endpoint: WebhookEndpointId,
    event: &OutboxEvent,
    number: u32,
) -> Result<(), DeliveryError> {
    let e = match svc.store.webhook_endpoint(tenant, endpoint).await {
        Ok(e) => e,
        Err(StoreError::NotFound(_)) => {
            return Err(DeliveryError::Permanent {
                message: "the endpoint was deleted".into(),
            });
        }
        Err(err) => {
            return Err(DeliveryError::Retry {
                message: format!("the endpoint could not be read: {err}"),
                after: None,
            });
        }
    };
    if e.status == WebhookStatus::Disabled {
        return Err(DeliveryError::Permanent {
            message: "the endpoint is disabled".into(),
        });
    }
    let done = attempt(svc, &e, &Message::from(event), number)
        .await
        .map_err(|err| match err {
            ServiceError::Store(StoreError::NotFound(_)) => DeliveryError::Permanent {
                message: "the endpoint was deleted".into(),
            },
            other => DeliveryError::Retry {
                message: format!("the attempt could not be made or recorded: {other}"),
                after: None,
            },
        })?;
    let d = &done.delivery;
    let what = match (d.status_code, &d.error) {
        (Some(s), _) => format!("the receiver answered {s}"),
        (None, Some(kind)) => format!("no answer ({kind})"),
        (None, None) => "no answer".into(),
    };
    match done.verdict {
        Verdict::Succeeded => Ok(()),
        Verdict::Retry(after) if !done.disabled => Err(DeliveryError::Retry {
            message: what,
            after,
        }),
        Verdict::Retry(_) => Err(DeliveryError::Permanent {
            message: format!("{what}; the endpoint has failed too long and is now disabled"),
        }),
        Verdict::Permanent { .. } => Err(DeliveryError::Permanent { message: what }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_backs_off_then_runs_daily_with_bounded_jitter() {
        let secs = |n| webhook_retry_delay(n, 0.5).as_secs();
        assert_eq!(
            (1..=8).map(secs).collect::<Vec<_>>(),
            [5, 300, 1800, 7200, 18_000, 36_000, 86_400, 86_400]
        );
        assert_eq!(secs(0), 5);
        assert_eq!(secs(u32::MAX), 86_400);
        assert_eq!(webhook_retry_delay(2, 0.0), Duration::from_secs(270));
        assert_eq!(webhook_retry_delay(2, 1.0), Duration::from_secs(330));
        for _ in 0..100 {
            let d = webhook_retry_delay_jittered(3).as_secs_f64();
            assert!((1620.0..=1980.0).contains(&d), "{d}");
        }
    }

    #[test]
    fn answers_are_classified() {
        assert_eq!(classify(200, None), Verdict::Succeeded);
        assert_eq!(classify(204, None), Verdict::Succeeded);
        assert_eq!(classify(410, None), Verdict::Permanent { gone: true });
        let soon = Some(Duration::from_secs(7));
        assert_eq!(classify(429, soon), Verdict::Retry(soon));
        assert_eq!(classify(503, soon), Verdict::Retry(soon));
        assert_eq!(classify(500, None), Verdict::Retry(None));
        assert_eq!(classify(404, None), Verdict::Retry(None));
        assert_eq!(classify(401, None), Verdict::Retry(None));
        assert_eq!(classify(301, None), Verdict::Retry(None));
    }

    #[test]
    fn retry_after_takes_seconds_or_a_date_capped_at_a_day() {
        let now = DateTime::parse_from_rfc3339("2026-11-27T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("Fri, 27 Nov 2026 10:01:30 GMT", now),
            Some(Duration::from_secs(90))
        );
        assert_eq!(
            parse_retry_after("Fri, 27 Nov 2026 09:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("999999999", now), Some(MAX_RETRY_AFTER));
        assert_eq!(parse_retry_after("-5", now), None);
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn excerpts_are_short_clean_text() {
        assert_eq!(excerpt(b"line\none\ttab\x00\x1b[31m"), "line one tab[31m");
        let long = "é".repeat(EXCERPT_BYTES);
        let e = excerpt(long.as_bytes());
        assert!(e.len() <= EXCERPT_BYTES && e.chars().all(|c| c == 'é'));
        assert_eq!(excerpt(&[0xff, b'o', b'k']), "\u{fffd}ok");
    }
}
