//! The platform operator: whoever presents the platform token, or an
//! operator's login session. This is the one place that check lives.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use storekeep_domain::AuditContext;

use crate::app::AppState;
use crate::http::authn::{self, Authentication, Principal};
use crate::http::error::ApiError;
use crate::http::middleware::RequestContext;

/// Proof that a platform operator is calling, with how the audit log names them.
#[derive(Debug, Clone)]
pub struct PlatformOperator {
    pub audit: AuditContext,
}

impl FromRequestParts<AppState> for PlatformOperator {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let auth = match parts.extensions.get::<Authentication>() {
            Some(a) => a.clone(),
            None => authn::authenticate(state, &parts.headers).await?,
        };
        match auth {
            Authentication::Valid(p) if p.is_operator() => {
                let ctx = parts.extensions.get::<RequestContext>();
                Ok(Self {
                    audit: AuditContext {
                        actor: p.actor(),
                        ip: ctx.and_then(|c| c.client_ip).map(|ip| ip.to_string()),
                        request_id: ctx.map(|c| c.request_id.to_string()),
                    },
                })
            }
            Authentication::Valid(Principal::User { .. }) | Authentication::Valid(_) => Err(
                ApiError::Forbidden("platform routes are for platform operators".into()),
            ),
            _ => Err(ApiError::Unauthorized(
                "a valid platform token is required".into(),
            )),
        }
    }
}
