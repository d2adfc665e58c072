//! What payment processors are answered.

use serde::Serialize;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookResult {
    /// `applied` or `already_settled`.
    pub result: &'static str,
    pub order_paid: bool,
}
