//! The jobs the outbox dispatcher creates (`rules::delivery`): an event's
//! email (`email.send`) and its delivery to one webhook endpoint
//! (`webhook.deliver`). Both load the event by id, so a job holds no
//! address or payload copy, and both are at least once: a worker that dies
//! after the SMTP server or the receiver took the message, before the job
//! was marked completed, sends it again (receivers dedupe on the event id:
//! `webhook-id`, and the email's `Message-ID`).

use std::sync::Arc;

use async_trait::async_trait;
use storekeep_domain::{EventId, OutboxEvent, Role, TenantId, UserId, UserKind, WebhookEndpointId};
use storekeep_store::StoreError;
use storekeep_store::rules::delivery::{EMAIL_JOB, WEBHOOK_JOB};
use storekeep_store::webhooks::ENDPOINT_DISABLED;

use super::{JobError, JobHandler, JobRun, Runner};
use crate::mail::templates::{Device, Kind};
use crate::mail::{Email, MailError};
use crate::services::webhooks::deliver::{DeliveryError, deliver, webhook_retry_delay_jittered};
use crate::services::{ServiceError, Services, notify};

pub fn register(runner: &mut Runner, services: &Arc<Services>) {
    runner
        .register(EMAIL_JOB, SendEmail(services.clone()))
        .register(
            notify::ACCOUNT_EMAIL_JOB,
            SendAccountEmail(services.clone()),
        )
        .register(
            WEBHOOK_JOB,
            DeliverWebhook(services.clone(), Arc::new(Slots::default())),
        );
}

/// Deliveries to one endpoint in flight at once on a node. A slow or dead
/// endpoint (each attempt up to `webhooks.timeout_secs`) so holds at most
/// this many of the webhook queue's workers: its other jobs are snoozed
/// (put back, not counted as attempts) while other endpoints' and other
/// shops' deliveries run.
pub const PER_ENDPOINT: usize = 2;

/// Per endpoint: deliveries running on this node, and jobs turned away
/// since one last started (the longer the line, the longer the snooze, so
/// a backlog for a slow endpoint is not claimed over and over).
#[derive(Default)]
struct Slots(std::sync::Mutex<std::collections::HashMap<WebhookEndpointId, (usize, u32)>>);

struct Slot {
    slots: Arc<Slots>,
    endpoint: WebhookEndpointId,
}

impl Slots {
    /// A slot for `endpoint`, or how long to snooze.
    fn take(self: &Arc<Self>, endpoint: WebhookEndpointId) -> Result<Slot, std::time::Duration> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let (running, waiting) = map.entry(endpoint).or_insert((0, 0));
        if *running < PER_ENDPOINT {
            *running += 1;
            *waiting = 0;
            return Ok(Slot {
                slots: self.clone(),
                endpoint,
            });
        }
        *waiting = waiting.saturating_add(1);
        let jitter = rand::random::<u64>() % 500;
        let millis = 500 + 100 * u64::from(*waiting) + jitter;
        Err(std::time::Duration::from_millis(millis.min(30_000)))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut map = self.slots.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((running, waiting)) = map.get_mut(&self.endpoint) {
            *running = running.saturating_sub(1);
            if *running == 0 && *waiting == 0 {
                map.remove(&self.endpoint);
            }
        }
    }
}

/// The shop and event a delivery job names.
fn event_of(job: &JobRun) -> Result<(TenantId, EventId), JobError> {
    let tenant = job
        .tenant
        .ok_or_else(|| JobError::permanent("the job names no shop"))?;
    let event = job.payload["event_id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .map(EventId)
        .ok_or_else(|| JobError::permanent("the job names no event"))?;
    Ok((tenant, event))
}

/// A store error: a missing row will not appear (permanent), anything else
/// (an outage) may pass.
fn store_error(what: &str, e: StoreError) -> JobError {
    match e {
        StoreError::NotFound(_) => JobError::permanent(format!("{what} no longer exists")),
        other => JobError::retry(format!("reading {what}: {other}")),
    }
}

fn service_error(e: ServiceError) -> JobError {
    match e {
        ServiceError::Store(e) => store_error("what the email shows", e),
        other => JobError::permanent(other.to_string()),
    }
}

async fn load(svc: &Services, tenant: TenantId, id: EventId) -> Result<OutboxEvent, JobError> {
    svc.store
        .event(tenant, id)
        .await
        .map_err(|e| store_error("the event", e))
}

struct SendEmail(Arc<Services>);

#[async_trait]
impl JobHandler for SendEmail {
    async fn run(&self, job: &JobRun) -> Result<(), JobError> {
        let svc = &*self.0;
        let (tenant_id, id) = event_of(job)?;
        let event = load(svc, tenant_id, id).await?;
        let tenant = svc
            .tenants
            .by_id(svc, tenant_id)
            .await
            .map_err(service_error)?
            .ok_or_else(|| store_error("the shop", StoreError::NotFound("shop")))?;
        let emails = if event.topic == ENDPOINT_DISABLED {
            staff_notices(svc, &tenant, &event).await?
        } else {
            notify::event_email(svc, &tenant, &event)
                .await
                .map_err(service_error)?
                .into_iter()
                .collect()
        };
        for mut email in emails {
            email.message_id = Some(message_id(&event, &email));
            notify::deliver(svc, &email).await.map_err(mail_error)?;
        }
        Ok(())
    }
}

/// The same on every attempt, so a receiving system can tell a resent
/// message from a new one.
fn message_id(event: &OutboxEvent, email: &Email) -> String {
    format!("{}.{}", event.id, email.template)
}

fn mail_error(e: MailError) -> JobError {
    if e.is_permanent() {
        JobError::permanent(e.to_string())
    } else {
        JobError::retry(e.to_string())
    }
}

/// The notice of a disabled endpoint, to the shop's owners and admins.
async fn staff_notices(
    svc: &Services,
    tenant: &storekeep_domain::Tenant,
    event: &OutboxEvent,
) -> Result<Vec<Email>, JobError> {
    let url = event.payload["url"].as_str().unwrap_or_default();
    let reason = event.payload["reason"].as_str().unwrap_or_default();
    let mut out = Vec::new();
    let mut page = storekeep_domain::PageRequest {
        limit: 100,
        after: None,
    };
    loop {
        let staff = svc
            .store
            .list_users(tenant.id, UserKind::Staff, &page)
            .await
            .map_err(|e| store_error("the shop's staff", e))?;
        for user in &staff.items {
            if !matches!(user.role, Some(Role::Owner | Role::Admin)) {
                continue;
            }
            let account = crate::services::accounts::open_account(&svc.keyring, user)
                .map_err(service_error)?;
            out.push(
                notify::webhook_disabled_email(svc, tenant, &account.email, url, reason)
                    .map_err(service_error)?,
            );
        }
        match staff.next_cursor {
            Some(next) => page.after = Some(next),
            None => return Ok(out),
        }
    }
}

/// An account email (`email.account`): the account is read when the job
/// runs, its address unsealed only to send; a reset token is unsealed from
/// the payload. The Message-ID is the job's, the same on every attempt.
struct SendAccountEmail(Arc<Services>);

#[async_trait]
impl JobHandler for SendAccountEmail {
    async fn run(&self, job: &JobRun) -> Result<(), JobError> {
        let svc = &*self.0;
        let p = &job.payload;
        let kind = p["template"]
            .as_str()
            .and_then(Kind::parse)
            .ok_or_else(|| JobError::permanent("the job names no template"))?;
        let user_id = p["user_id"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .map(UserId)
            .ok_or_else(|| JobError::permanent("the job names no account"))?;
        let user = svc
            .store
            .user_by_id(user_id)
            .await
            .map_err(|e| store_error("the account", e))?;
        let tenant = match job.tenant {
            Some(t) => Some(
                svc.store
                    .tenant_by_id(t)
                    .await
                    .map_err(|e| store_error("the shop", e))?,
            ),
            None => None,
        };
        let mut email = if kind == Kind::PasswordReset {
            let token = p["token_sealed"]
                .as_str()
                .and_then(|sealed| {
                    svc.keyring
                        .open(sealed, &notify::reset_token_context(user.id))
                        .ok()
                })
                .ok_or_else(|| JobError::permanent("the reset token does not open"))?;
            let account = crate::services::accounts::open_account(&svc.keyring, &user)
                .map_err(service_error)?;
            notify::password_reset_email(svc, tenant.as_ref(), &account.email, &token)
        } else {
            let device = p["device"].as_object().map(|d| Device {
                agent: d["agent"].as_str().unwrap_or("unknown").to_owned(),
                network: d["network"].as_str().unwrap_or("unknown").to_owned(),
            });
            notify::account_email(svc, tenant.as_ref(), &user, kind, device)
        }
        .map_err(service_error)?;
        email.message_id = Some(format!("{}.{}", job.id, email.template));
        notify::deliver(svc, &email).await.map_err(mail_error)
    }
}

struct DeliverWebhook(Arc<Services>, Arc<Slots>);

#[async_trait]
impl JobHandler for DeliverWebhook {
    async fn run(&self, job: &JobRun) -> Result<(), JobError> {
        let svc = &*self.0;
        let (tenant, id) = event_of(job)?;
        let endpoint = job.payload["endpoint_id"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .map(WebhookEndpointId)
            .ok_or_else(|| JobError::permanent("the job names no endpoint"))?;
        let _slot = self
            .1
            .take(endpoint)
            .map_err(|after| JobError::Snooze { after })?;
        let event = load(svc, tenant, id).await?;
        let attempt = u32::try_from(job.attempt).unwrap_or(1);
        deliver(svc, tenant, endpoint, &event, attempt)
            .await
            .map_err(|e| match e {
                DeliveryError::Permanent { message } => JobError::permanent(message),
                // The webhook schedule (5 s, 5 min, 30 min, 2 h, …) unless
                // the receiver said when.
                DeliveryError::Retry { message, after } => JobError::retry_after(
                    message,
                    after.unwrap_or_else(|| webhook_retry_delay_jittered(attempt)),
                ),
            })
    }
}
