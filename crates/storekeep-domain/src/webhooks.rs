//! Outbound webhooks: the endpoints a shop registers and the record of
//! every delivery attempt to them.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{EventId, TenantId, WebhookDeliveryId, WebhookEndpointId};

/// Whether an endpoint is sent events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WebhookStatus {
    Enabled,
    Disabled,
}

impl WebhookStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enabled => "enabled",
            Self::Disabled => "disabled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "enabled" => Some(Self::Enabled),
            "disabled" => Some(Self::Disabled),
            _ => None,
        }
    }
}

/// A receiver of the shop's events. The secrets are sealed with the
/// keyring and never serialised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct WebhookEndpoint {
    pub id: WebhookEndpointId,
    #[serde(skip)]
    pub tenant_id: TenantId,
    pub url: String,
    pub description: String,
    /// The event types sent; empty means every type.
    pub events: Vec<String>,
    #[serde(skip)]
    pub secret_sealed: String,
    #[serde(skip)]
    pub previous_secret_sealed: Option<String>,
    /// Until when the secret replaced by the last rotation still signs.
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    pub status: WebhookStatus,
    pub disabled_reason: Option<String>,
    /// When the current run of failed attempts began (`None`: the last
    /// attempt succeeded, or none was made).
    pub failing_since: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl WebhookEndpoint {
    /// Whether the endpoint wants events of `topic`.
    pub fn wants(&self, topic: &str) -> bool {
        subscribes(&self.events, topic)
    }
}

/// Whether an endpoint subscribed to `events` wants `topic`: empty means
/// every type.
pub fn subscribes(events: &[String], topic: &str) -> bool {
    events.is_empty() || events.iter().any(|e| e == topic)
}

/// A change to an endpoint; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookEndpointPatch {
    pub url: Option<String>,
    pub description: Option<String>,
    pub events: Option<Vec<String>>,
    /// `Some(Enabled)` also clears the disabled reason and the failure run.
    pub status: Option<WebhookStatus>,
}

/// How an attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryOutcome {
    /// 2xx: delivered.
    Succeeded,
    /// Worth retrying (5xx, 429, other 4xx, timeout, connection error).
    Failed,
    /// Never worth retrying (410 Gone, a refused address, a disabled
    /// endpoint).
    Abandoned,
}

impl DeliveryOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Abandoned => "abandoned",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "succeeded" => Some(Self::Succeeded),
            "failed" => Some(Self::Failed),
            "abandoned" => Some(Self::Abandoned),
            _ => None,
        }
    }
}

/// One attempt to deliver one event to one endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct WebhookDelivery {
    pub id: WebhookDeliveryId,
    #[serde(skip)]
    pub tenant_id: TenantId,
    pub endpoint_id: WebhookEndpointId,
    /// The event's id: the `webhook-id` header, the same on every attempt.
    pub event_id: String,
    pub event_type: String,
    /// 1 for the first attempt.
    pub attempt: i64,
    pub at: DateTime<Utc>,
    /// The receiver's HTTP status, if it answered.
    pub status_code: Option<i64>,
    /// Why no answer was read: `timeout`, `connect`, `refused_address`,
    /// `unresolvable`, `request`.
    pub error: Option<String>,
    pub latency_ms: i64,
    /// The start of the answer's body (at most 1 KiB of text, control
    /// characters removed).
    pub response_excerpt: String,
    pub outcome: DeliveryOutcome,
}

/// A staff replay as the audit log records it (`webhook_endpoint.replay`):
/// the one event, or the time range, and how many events it sends again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WebhookReplay {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<EventId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<DateTime<Utc>>,
    /// Events sent again: one delivery job each.
    pub events: usize,
}
