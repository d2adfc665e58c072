//! Outbox events.

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use storekeep_domain::{EventId, OutboxEvent};

use crate::DbId;

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
