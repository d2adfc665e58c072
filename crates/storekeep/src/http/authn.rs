//! Authentication: who presents which bearer credential. One look-up per
//! request, by the credential's prefix, against its stored hash.
//!
//! | prefix | credential |
//! |---|---|
//! | `sks_` | login session of a customer, staff member or operator |
//! | `skk_` | API key (also accepted in `X-Api-Key`) |
//! | `sko_` | OAuth 2.0 access token |
//! | other  | the platform token, if it matches |

use crate::app::AppState;
use crate::http::error::ApiError;
pub use crate::services::authn::{Authentication, Principal};
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;

/// The credential a request presents, if any.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .or_else(|| headers.get("x-api-key").and_then(|v| v.to_str().ok()))
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

pub async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Authentication, ApiError> {
    Ok(crate::services::authn::authenticate(&state.services, bearer(headers)).await?)
}
