//! Outbound webhook endpoints and their delivery attempts as shop admins
//! send and see them. Secrets are in the create and rotate responses only.

use serde::{Deserialize, Serialize};
use storekeep_domain::{WebhookDelivery, WebhookEndpoint};

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhookInput {
    /// `https://` or `http://`, at most 2,048 characters, no user or
    /// password; the host must not resolve to a private, loopback or
    /// link-local address.
    #[schema(example = "https://erp.example.com/storekeep-events")]
    pub url: String,
    /// Free text for staff, at most 200 characters.
    #[serde(default)]
    pub description: String,
    /// Event types to send (see `GET` on an endpoint for the list); empty
    /// or absent means every type.
    #[serde(default)]
    #[schema(example = json!(["order.paid", "refund.created"]))]
    pub events: Vec<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhookBody {
    pub webhook: NewWebhookInput,
}

/// Fields to change; absent ones stay.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookPatchInput {
    pub url: Option<String>,
    pub description: Option<String>,
    pub events: Option<Vec<String>>,
    /// `enabled` or `disabled`. Enabling clears the reason and the run of
    /// failures.
    #[schema(example = "enabled")]
    pub status: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookPatchBody {
    pub webhook: WebhookPatchInput,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookBody {
    pub webhook: WebhookEndpoint,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookWithSecret {
    pub webhook: WebhookEndpoint,
    /// The signing secret (`whsec_…`). It cannot be shown again.
    pub secret: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookPage {
    pub items: Vec<WebhookEndpoint>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryPage {
    /// Newest first.
    pub items: Vec<WebhookDelivery>,
    pub next_cursor: Option<String>,
}

/// What to send an endpoint again: one event, or every event it wants
/// created in `[since, until)` (at most 1,000).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayInput {
    pub event_id: Option<storekeep_domain::EventId>,
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    pub until: Option<chrono::DateTime<chrono::Utc>>,
}

/// The delivery jobs a replay enqueued, oldest event first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReplayAnswer {
    pub jobs: Vec<storekeep_domain::JobId>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryBody {
    pub delivery: WebhookDelivery,
}
