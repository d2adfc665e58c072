//! Outbound webhooks (Standard Webhooks): the endpoints a shop registers,
//! their signing secrets (sealed with the keyring, shown once), and
//! delivery (`deliver.rs`), signing (`sign.rs`) and the address policy
//! (`ssrf.rs`).

pub mod deliver;
pub mod replay;
pub mod sign;
pub mod ssrf;
#[cfg(test)]
mod tests;

use storekeep_domain::{
    AuditContext, EventId, Page, PageRequest, TenantId, ValidationErrors, WebhookDelivery,
    WebhookEndpoint, WebhookEndpointId, WebhookEndpointPatch, WebhookStatus,
};
use storekeep_store::now;
use storekeep_store::webhooks::{EVENT_TYPES, TEST_EVENT};

pub use deliver::{
    DeliveryError, Message, WEBHOOK_MAX_ATTEMPTS, deliver, webhook_retry_delay,
    webhook_retry_delay_jittered,
};

use super::{ServiceResult, Services};
use crate::wire::webhooks::{NewWebhookInput, WebhookPatchInput};

/// The most endpoints… are not limited by plan yet; descriptions and URLs
/// are bounded.
const MAX_URL: usize = 2048;
const MAX_DESCRIPTION: usize = 200;
const MAX_EVENTS: usize = 50;

/// What a sealed secret is bound to.
pub fn secret_context(id: WebhookEndpointId) -> String {
    format!("webhook_endpoints.secret:{id}")
}

/// Checks a URL's form and that its host resolves to addresses webhooks
/// may reach; the problem goes on `field`.
async fn check_url(svc: &Services, raw: &str, field: &str, errors: &mut ValidationErrors) {
    let url = match reqwest::Url::parse(raw.trim()) {
        Ok(u) => u,
        Err(_) => return errors.add(field, "must be an absolute http:// or https:// URL"),
    };
    if !matches!(url.scheme(), "http" | "https") {
        return errors.add(field, "must start with https:// or http://");
    }
    if raw.len() > MAX_URL {
        return errors.add(field, format!("must be at most {MAX_URL} characters"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return errors.add(field, "must not hold a user name or password");
    }
    if url.fragment().is_some() {
        return errors.add(field, "must not have a #fragment");
    }
    let Some(host) = url.host_str() else {
        return errors.add(field, "must name a host");
    };
    let port = url.port_or_known_default().unwrap_or(443);
    let policy = ssrf::Policy::new(svc.settings.webhooks.allow_networks.clone());
    if let Err(e) = ssrf::resolve(&policy, host, port).await {
        errors.add(field, e.to_string());
    }
}

fn check_events(events: &[String], field: &str, errors: &mut ValidationErrors) -> Vec<String> {
    if events.len() > MAX_EVENTS {
        errors.add(field, format!("name at most {MAX_EVENTS} event types"));
    }
    let mut out: Vec<String> = Vec::new();
    for (i, e) in events.iter().enumerate() {
        if e == "*" {
            continue;
        }
        if !EVENT_TYPES.contains(&e.as_str()) {
            errors.add(
                &format!("{field}[{i}]"),
                format!(
                    "'{e}' is not an event type; known: {}",
                    EVENT_TYPES.join(", ")
                ),
            );
        } else if !out.contains(e) {
            out.push(e.clone());
        }
    }
    // `*` anywhere means every type, as an empty list does.
    if events.iter().any(|e| e == "*") {
        out.clear();
    }
    out
}

fn check_description(d: &str, field: &str, errors: &mut ValidationErrors) -> String {
    let d = d.trim();
    if d.chars().count() > MAX_DESCRIPTION {
        errors.add(
            field,
            format!("must be at most {MAX_DESCRIPTION} characters"),
        );
    }
    d.to_owned()
}

/// Registers an endpoint; returns it and its secret (shown once).
pub async fn create(
    svc: &Services,
    tenant: TenantId,
    input: &NewWebhookInput,
    audit: &AuditContext,
) -> ServiceResult<(WebhookEndpoint, String)> {
    let mut errors = ValidationErrors::new();
    check_url(svc, &input.url, "webhook.url", &mut errors).await;
    let events = check_events(&input.events, "webhook.events", &mut errors);
    let description = check_description(&input.description, "webhook.description", &mut errors);
    errors.into_result()?;
    let id = WebhookEndpointId::new();
    let secret = sign::new_secret();
    let at = now();
    let endpoint = WebhookEndpoint {
        id,
        tenant_id: tenant,
        url: input.url.trim().to_owned(),
        description,
        events,
        secret_sealed: svc.keyring.seal(&secret, &secret_context(id)),
        previous_secret_sealed: None,
        previous_secret_expires_at: None,
        status: WebhookStatus::Enabled,
        disabled_reason: None,
        failing_since: None,
        created_at: at,
        updated_at: at,
    };
    let endpoint = svc.store.create_webhook_endpoint(&endpoint, audit).await?;
    Ok((endpoint, secret))
}

pub async fn list(
    svc: &Services,
    tenant: TenantId,
    page: &PageRequest,
) -> ServiceResult<Page<WebhookEndpoint>> {
    Ok(svc.store.list_webhook_endpoints(tenant, page).await?)
}

pub async fn get(
    svc: &Services,
    tenant: TenantId,
    id: WebhookEndpointId,
) -> ServiceResult<WebhookEndpoint> {
    Ok(svc.store.webhook_endpoint(tenant, id).await?)
}

pub async fn update(
    svc: &Services,
    tenant: TenantId,
    id: WebhookEndpointId,
    input: &WebhookPatchInput,
    audit: &AuditContext,
) -> ServiceResult<WebhookEndpoint> {
    let mut errors = ValidationErrors::new();
    if let Some(url) = &input.url {
        check_url(svc, url, "webhook.url", &mut errors).await;
    }
    let events = input
        .events
        .as_ref()
        .map(|e| check_events(e, "webhook.events", &mut errors));
    let description = input
        .description
        .as_ref()
        .map(|d| check_description(d, "webhook.description", &mut errors));
    let status = input.status.as_ref().and_then(|s| {
        let parsed = WebhookStatus::parse(s);
        if parsed.is_none() {
            errors.add("webhook.status", "must be enabled or disabled");
        }
        parsed
    });
    errors.into_result()?;
    let patch = WebhookEndpointPatch {
        url: input.url.as_ref().map(|u| u.trim().to_owned()),
        description,
        events,
        status,
    };
    Ok(svc
        .store
        .update_webhook_endpoint(tenant, id, &patch, audit)
        .await?)
}

pub async fn delete(
    svc: &Services,
    tenant: TenantId,
    id: WebhookEndpointId,
    audit: &AuditContext,
) -> ServiceResult<()> {
    Ok(svc.store.delete_webhook_endpoint(tenant, id, audit).await?)
}

/// A new secret; the old one keeps signing for
/// `webhooks.rotation_overlap_hours`. Returns the endpoint and the new
/// secret (shown once).
pub async fn rotate(
    svc: &Services,
    tenant: TenantId,
    id: WebhookEndpointId,
    audit: &AuditContext,
) -> ServiceResult<(WebhookEndpoint, String)> {
    let secret = sign::new_secret();
    let overlap = chrono::Duration::from_std(svc.settings.webhooks.rotation_overlap)
        .unwrap_or(chrono::Duration::hours(24));
    let e = svc
        .store
        .rotate_webhook_secret(
            tenant,
            id,
            &svc.keyring.seal(&secret, &secret_context(id)),
            now() + overlap,
            audit,
        )
        .await?;
    Ok((e, secret))
}

pub async fn deliveries(
    svc: &Services,
    tenant: TenantId,
    id: WebhookEndpointId,
    page: &PageRequest,
) -> ServiceResult<Page<WebhookDelivery>> {
    Ok(svc.store.list_webhook_deliveries(tenant, id, page).await?)
}

/// Sends a `webhook.test` event now, to an enabled or a disabled
/// endpoint, and returns the recorded attempt.
pub async fn test(
    svc: &Services,
    tenant: TenantId,
    id: WebhookEndpointId,
) -> ServiceResult<WebhookDelivery> {
    let e = svc.store.webhook_endpoint(tenant, id).await?;
    let msg = Message {
        id: EventId::new().to_string(),
        event_type: TEST_EVENT.into(),
        created_at: now(),
        data: serde_json::json!({ "endpoint_id": e.id }),
    };
    Ok(deliver::attempt(svc, &e, &msg, 1).await?.delivery)
}
