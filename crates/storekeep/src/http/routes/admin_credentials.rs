//! `/api/v1/admin/api-keys` and `/api/v1/admin/oauth-clients`: credentials
//! for the shop's integrations. Secrets are in the create response only.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::http::authz::AdminActor;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Json, PageParams};
use crate::services::credentials;
use crate::wire::credentials::{
    ApiKeyBody, ApiKeyPage, ClientBody, ClientPage, CreatedApiKey, CreatedClient, NewApiKeyBody,
    NewClientBody,
};
use crate::wire::problem::Problem;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_api_keys, create_api_key))
        .routes(routes!(revoke_api_key))
        .routes(routes!(list_clients, create_client))
        .routes(routes!(revoke_client))
}

/// The shop's API keys, revoked ones included.
#[utoipa::path(get, path = "/api/v1/admin/api-keys", tag = "admin: shop",
    security(("bearer" = [])),
    params(crate::wire::page::PageQuery),
    responses((status = 200, body = ApiKeyPage), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn list_api_keys(
    State(state): State<AppState>,
    actor: AdminActor,
    PageParams(page): PageParams,
) -> ApiResult<Json<ApiKeyPage>> {
    let page = credentials::list_api_keys(&state.services, actor.tenant.id, &page).await?;
    Ok(Json(ApiKeyPage {
        items: page.items,
        next_cursor: page.next_cursor,
    }))
}

/// Creates an API key with scopes no wider than the creator's.
#[utoipa::path(post, path = "/api/v1/admin/api-keys", tag = "admin: shop",
    security(("bearer" = [])),
    request_body = NewApiKeyBody,
    responses((status = 201, body = CreatedApiKey), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create_api_key(
    State(state): State<AppState>,
    actor: AdminActor,
    Json(body): Json<NewApiKeyBody>,
) -> ApiResult<(StatusCode, Json<CreatedApiKey>)> {
    let (api_key, secret) = credentials::create_api_key(
        &state.services,
        actor.tenant.id,
        &body.api_key,
        &actor.permissions,
        &actor.audit,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(CreatedApiKey { api_key, secret })))
}

/// Revokes an API key at once.
#[utoipa::path(delete, path = "/api/v1/admin/api-keys/{id}", tag = "admin: shop",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = ApiKeyBody), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn revoke_api_key(
    State(state): State<AppState>,
    actor: AdminActor,
    Path(id): Path<String>,
) -> ApiResult<Json<ApiKeyBody>> {
    let id = id.parse().map_err(|_| ApiError::not_found("API key"))?;
    let api_key =
        credentials::revoke_api_key(&state.services, actor.tenant.id, id, &actor.audit).await?;
    Ok(Json(ApiKeyBody { api_key }))
}

/// The shop's OAuth clients.
#[utoipa::path(get, path = "/api/v1/admin/oauth-clients", tag = "admin: shop",
    security(("bearer" = [])),
    params(crate::wire::page::PageQuery),
    responses((status = 200, body = ClientPage), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn list_clients(
    State(state): State<AppState>,
    actor: AdminActor,
    PageParams(page): PageParams,
) -> ApiResult<Json<ClientPage>> {
    let page = credentials::list_oauth_clients(&state.services, actor.tenant.id, &page).await?;
    Ok(Json(ClientPage {
        items: page.items,
        next_cursor: page.next_cursor,
    }))
}

/// Creates an OAuth client for the client-credentials grant.
#[utoipa::path(post, path = "/api/v1/admin/oauth-clients", tag = "admin: shop",
    security(("bearer" = [])),
    request_body = NewClientBody,
    responses((status = 201, body = CreatedClient), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create_client(
    State(state): State<AppState>,
    actor: AdminActor,
    Json(body): Json<NewClientBody>,
) -> ApiResult<(StatusCode, Json<CreatedClient>)> {
    let (oauth_client, client_secret) = credentials::create_oauth_client(
        &state.services,
        actor.tenant.id,
        &body.oauth_client,
        &actor.permissions,
        &actor.audit,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedClient {
            oauth_client,
            client_secret,
        }),
    ))
}

/// Revokes a client and every token issued to it.
#[utoipa::path(delete, path = "/api/v1/admin/oauth-clients/{id}", tag = "admin: shop",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = ClientBody), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn revoke_client(
    State(state): State<AppState>,
    actor: AdminActor,
    Path(id): Path<String>,
) -> ApiResult<Json<ClientBody>> {
    let id = id
        .parse()
        .map_err(|_| ApiError::not_found("OAuth client"))?;
    let oauth_client =
        credentials::revoke_oauth_client(&state.services, actor.tenant.id, id, &actor.audit)
            .await?;
    Ok(Json(ClientBody { oauth_client }))
}
