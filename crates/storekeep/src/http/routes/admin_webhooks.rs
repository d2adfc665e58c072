//! `/api/v1/admin/webhooks`: the shop's outbound webhook endpoints, their
//! secrets (in the create and rotate responses only), their delivery
//! attempts, and a test ping sent at once.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::path_id;
use crate::app::AppState;
use crate::http::authz::AdminActor;
use crate::http::error::ApiResult;
use crate::http::extract::{Json, PageParams};
use crate::services::webhooks;
use crate::wire::problem::Problem;
use crate::wire::webhooks::{
    DeliveryBody, DeliveryPage, NewWebhookBody, ReplayAnswer, ReplayInput, WebhookBody,
    WebhookPage, WebhookPatchBody, WebhookWithSecret,
};

const WHAT: &str = "webhook endpoint";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_webhooks, create_webhook))
        .routes(routes!(get_webhook, update_webhook, delete_webhook))
        .routes(routes!(rotate_webhook_secret))
        .routes(routes!(list_webhook_deliveries))
        .routes(routes!(test_webhook))
        .routes(routes!(replay_webhook))
}

/// The shop's webhook endpoints, oldest first.
#[utoipa::path(get, path = "/api/v1/admin/webhooks", tag = "admin: shop",
    security(("bearer" = [])),
    params(crate::wire::page::PageQuery),
    responses((status = 200, body = WebhookPage), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn list_webhooks(
    State(state): State<AppState>,
    actor: AdminActor,
    PageParams(page): PageParams,
) -> ApiResult<Json<WebhookPage>> {
    let page = webhooks::list(&state.services, actor.tenant.id, &page).await?;
    Ok(Json(WebhookPage {
        items: page.items,
        next_cursor: page.next_cursor,
    }))
}

/// Registers an endpoint. The answer holds its signing secret, which
/// cannot be shown again.
#[utoipa::path(post, path = "/api/v1/admin/webhooks", tag = "admin: shop",
    security(("bearer" = [])),
    request_body = NewWebhookBody,
    responses((status = 201, body = WebhookWithSecret), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create_webhook(
    State(state): State<AppState>,
    actor: AdminActor,
    Json(body): Json<NewWebhookBody>,
) -> ApiResult<(StatusCode, Json<WebhookWithSecret>)> {
    let (webhook, secret) = webhooks::create(
        &state.services,
        actor.tenant.id,
        &body.webhook,
        &actor.audit,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(WebhookWithSecret { webhook, secret }),
    ))
}

/// One endpoint (never its secret).
#[utoipa::path(get, path = "/api/v1/admin/webhooks/{id}", tag = "admin: shop",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = WebhookBody), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn get_webhook(
    State(state): State<AppState>,
    actor: AdminActor,
    Path(id): Path<String>,
) -> ApiResult<Json<WebhookBody>> {
    let id = path_id(&id, WHAT)?;
    let webhook = webhooks::get(&state.services, actor.tenant.id, id).await?;
    Ok(Json(WebhookBody { webhook }))
}

/// Changes an endpoint's URL, event types, description, or enables or
/// disables it.
#[utoipa::path(patch, path = "/api/v1/admin/webhooks/{id}", tag = "admin: shop",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = WebhookPatchBody,
    responses((status = 200, body = WebhookBody), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn update_webhook(
    State(state): State<AppState>,
    actor: AdminActor,
    Path(id): Path<String>,
    Json(body): Json<WebhookPatchBody>,
) -> ApiResult<Json<WebhookBody>> {
    let id = path_id(&id, WHAT)?;
    let webhook = webhooks::update(
        &state.services,
        actor.tenant.id,
        id,
        &body.webhook,
        &actor.audit,
    )
    .await?;
    Ok(Json(WebhookBody { webhook }))
}

/// Deletes an endpoint and its attempts; nothing more is sent to it.
#[utoipa::path(delete, path = "/api/v1/admin/webhooks/{id}", tag = "admin: shop",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn delete_webhook(
    State(state): State<AppState>,
    actor: AdminActor,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = path_id(&id, WHAT)?;
    webhooks::delete(&state.services, actor.tenant.id, id, &actor.audit).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Makes a new signing secret, returned once. The previous one keeps
/// signing beside it (two signatures per delivery) for
/// `webhooks.rotation_overlap_hours` (24 by default).
#[utoipa::path(post, path = "/api/v1/admin/webhooks/{id}/rotate-secret", tag = "admin: shop",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = WebhookWithSecret), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn rotate_webhook_secret(
    State(state): State<AppState>,
    actor: AdminActor,
    Path(id): Path<String>,
) -> ApiResult<Json<WebhookWithSecret>> {
    let id = path_id(&id, WHAT)?;
    let (webhook, secret) =
        webhooks::rotate(&state.services, actor.tenant.id, id, &actor.audit).await?;
    Ok(Json(WebhookWithSecret { webhook, secret }))
}

/// The endpoint's delivery attempts, newest first.
#[utoipa::path(get, path = "/api/v1/admin/webhooks/{id}/deliveries", tag = "admin: shop",
    security(("bearer" = [])),
    params(("id" = String, Path), crate::wire::page::PageQuery),
    responses((status = 200, body = DeliveryPage), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn list_webhook_deliveries(
    State(state): State<AppState>,
    actor: AdminActor,
    Path(id): Path<String>,
    PageParams(page): PageParams,
) -> ApiResult<Json<DeliveryPage>> {
    let id = path_id(&id, WHAT)?;
    let page = webhooks::deliveries(&state.services, actor.tenant.id, id, &page).await?;
    Ok(Json(DeliveryPage {
        items: page.items,
        next_cursor: page.next_cursor,
    }))
}

/// Sends a signed `webhook.test` event to the endpoint now (even a
/// disabled one) and answers the recorded attempt, whatever the receiver
/// said: the way to check a receiver before real events flow.
#[utoipa::path(post, path = "/api/v1/admin/webhooks/{id}/test", tag = "admin: shop",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = DeliveryBody), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn test_webhook(
    State(state): State<AppState>,
    actor: AdminActor,
    Path(id): Path<String>,
) -> ApiResult<Json<DeliveryBody>> {
    let id = path_id(&id, WHAT)?;
    let delivery = webhooks::test(&state.services, actor.tenant.id, id).await?;
    Ok(Json(DeliveryBody { delivery }))
}

/// Sends the endpoint one event again (`event_id`), or every event it
/// wants created in `[since, until)` (at most 1,000), as new deliveries
/// with the events' own `webhook-id`s. A disabled endpoint is refused.
/// Audited (`webhook_endpoint.replay`, with the event or the range and how
/// many events were sent again).
#[utoipa::path(post, path = "/api/v1/admin/webhooks/{id}/replay", tag = "admin: shop",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = ReplayInput,
    responses((status = 202, body = ReplayAnswer), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn replay_webhook(
    State(state): State<AppState>,
    actor: AdminActor,
    Path(id): Path<String>,
    Json(input): Json<ReplayInput>,
) -> ApiResult<(StatusCode, Json<ReplayAnswer>)> {
    let id = path_id(&id, WHAT)?;
    let jobs = webhooks::replay::replay(&state.services, actor.tenant.id, id, &input, &actor.audit)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(ReplayAnswer { jobs })))
}
