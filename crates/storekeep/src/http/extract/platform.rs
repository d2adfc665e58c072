//! The platform operator: whoever presents the configured platform token.
//! This is the one place that check lives.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use subtle::ConstantTimeEq;

use crate::app::AppState;
use crate::http::error::ApiError;

/// Proof that the request carries the platform token.
#[derive(Debug, Clone, Copy)]
pub struct PlatformOperator;

impl FromRequestParts<AppState> for PlatformOperator {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let refused = || ApiError::Unauthorized("a valid platform token is required".into());
        let expected = state.settings.platform_token.as_ref().ok_or_else(refused)?;
        let presented = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(refused)?;
        if bool::from(
            presented
                .trim()
                .as_bytes()
                .ct_eq(expected.expose().as_bytes()),
        ) {
            Ok(Self)
        } else {
            Err(refused())
        }
    }
}
