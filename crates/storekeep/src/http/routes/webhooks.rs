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
use crate::payments::WebhookError;
use crate::services;
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
    let count = |result: &str| {
        state
            .services
            .metrics
            .payments
            .with_label_values(&[provider_name.as_str(), result])
            .inc();
    };
    let provider = state
        .services
        .payments
        .get(&provider_name)
        .ok_or_else(|| ApiError::not_found("payment provider"))?;
    let event = match provider.verify_webhook(&headers, &body, chrono::Utc::now().timestamp()) {
        Ok(e) => e,
        Err(e) => {
            count("rejected");
            return Err(match e {
                WebhookError::NotSupported => ApiError::not_found("webhook endpoint"),
                WebhookError::BadBody(m) => ApiError::BadRequest(m),
                other => ApiError::Unauthorized(other.to_string()),
            });
        }
    };
    let settled = services::payments::settle(&state.services, provider.name(), &event).await?;
    match settled {
        Settlement::Applied { order_paid } => {
            count("applied");
            Ok(Json(WebhookResult {
                result: "applied",
                order_paid,
            }))
        }
        Settlement::AlreadySettled => {
            count("already_settled");
            Ok(Json(WebhookResult {
                result: "already_settled",
                order_paid: false,
            }))
        }
        Settlement::Duplicate => {
            count("replayed");
            Err(ApiError::Conflict {
                detail: "this event was already processed".into(),
                field: "id",
            })
        }
    }
}
