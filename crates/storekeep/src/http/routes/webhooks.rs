//! `POST /api/v1/webhooks/payments/{provider}`: payment processors report
//! outcomes here. The provider verifies the signature; the store records
//! the event id, so a replayed event changes nothing.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use bytes::Bytes;
use storekeep_domain::Settlement;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::Json;
use crate::payments::{SIGNATURE_HEADER, WebhookError};
use crate::services::payments::{self, WebhookRefusal};
use crate::wire::payments::WebhookResult;
use crate::wire::problem::Problem;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(payment_webhook))
}

#[utoipa::path(post, path = "/api/v1/webhooks/payments/{provider}", tag = "webhooks",
    params(("provider" = String, Path), ("Storekeep-Signature" = String, Header, description = "t=<unix seconds>,v1=<hex HMAC-SHA256 of \"{t}.{body}\">")),
    responses((status = 200, body = WebhookResult), (status = 400, body = Problem), (status = 401, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn payment_webhook(
    State(state): State<AppState>,
    Path(provider_name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<WebhookResult>> {
    let signature = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
    let settled = payments::receive(&state.services, &provider_name, signature, &body).await;
    match settled {
        Ok(Settlement::Applied { order_paid }) => Ok(Json(WebhookResult {
            result: "applied",
            order_paid,
        })),
        Ok(Settlement::AlreadySettled) => Ok(Json(WebhookResult {
            result: "already_settled",
            order_paid: false,
        })),
        Ok(Settlement::Duplicate) => Err(ApiError::Conflict {
            detail: "this event was already processed".into(),
            field: "id",
        }),
        Err(WebhookRefusal::UnknownProvider) => Err(ApiError::not_found("payment provider")),
        Err(WebhookRefusal::Rejected(e)) => Err(match e {
            WebhookError::NotSupported => ApiError::not_found("webhook endpoint"),
            WebhookError::BadBody(m) => ApiError::BadRequest(m),
            other => ApiError::Unauthorized(other.to_string()),
        }),
        Err(WebhookRefusal::Failed(e)) => Err(e.into()),
    }
}
