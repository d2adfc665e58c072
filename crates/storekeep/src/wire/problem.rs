//! The RFC 9457 problem body every error response carries; built and
//! rendered by `http::error`.

use serde::Serialize;
use storekeep_domain::FieldError;

/// The RFC 9457 body. `type` points at the problem's entry on the docs page.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The request id; quote it when reporting a problem.
    pub instance: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}
