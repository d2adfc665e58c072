//! The audit log, a page at a time.

use serde::{Deserialize, Serialize};
use storekeep_domain::AuditEntry;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Entries per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page (give the same filters with
    /// it).
    pub after: Option<String>,
    /// Only entries by exactly this actor: `staff:<id>`, `api_key:<id>`,
    /// `oauth_client:<id>`, `operator:<id>`…
    #[param(max_length = 200)]
    pub actor: Option<String>,
    /// Only entries of exactly this action (`order.refund`,
    /// `product.create`…; a prefix is not matched).
    #[param(max_length = 200)]
    pub action: Option<String>,
    /// Only entries at or after this time (RFC 3339).
    #[param(value_type = Option<chrono::DateTime<chrono::Utc>>)]
    pub from: Option<String>,
    /// Only entries before this time (RFC 3339; later than `from`).
    #[param(value_type = Option<chrono::DateTime<chrono::Utc>>)]
    pub to: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditEntry>,
    pub next_cursor: Option<String>,
}
