//! `/api/v1/platform/tenants`: platform operators manage shops.

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::http::error::ApiResult;
use crate::http::extract::{Json, PageParams, PlatformOperator};
use crate::services::tenants;
use crate::wire::problem::Problem;
use crate::wire::tenants::{NewTenantBody, TenantBody, TenantPage, TenantPatchBody};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_tenant, list_tenants))
        .routes(routes!(get_tenant, update_tenant))
}

/// Creates a shop. Its slug and domains must be free.
#[utoipa::path(post, path = "/api/v1/platform/tenants", tag = "platform",
    security(("platform_token" = [])),
    request_body = NewTenantBody,
    responses((status = 201, body = TenantBody), (status = 401, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_tenant(
    op: PlatformOperator,
    State(state): State<AppState>,
    Json(body): Json<NewTenantBody>,
) -> ApiResult<impl IntoResponse> {
    let tenant = tenants::open_shop(&state.services, &body.tenant, &op.audit).await?;
    let location = format!("/api/v1/platform/tenants/{}", tenant.slug);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(TenantBody { tenant }),
    ))
}

/// Every shop, oldest first.
#[utoipa::path(get, path = "/api/v1/platform/tenants", tag = "platform",
    security(("platform_token" = [])),
    params(crate::wire::page::PageQuery),
    responses((status = 200, body = TenantPage), (status = 401, body = Problem)))]
async fn list_tenants(
    _op: PlatformOperator,
    State(state): State<AppState>,
    PageParams(page): PageParams,
) -> ApiResult<Json<TenantPage>> {
    let page = tenants::list(&state.services, &page).await?;
    Ok(Json(TenantPage {
        items: page.items,
        next_cursor: page.next_cursor,
    }))
}

/// One shop, active or suspended.
#[utoipa::path(get, path = "/api/v1/platform/tenants/{slug}", tag = "platform",
    security(("platform_token" = [])),
    params(("slug" = String, Path)),
    responses((status = 200, body = TenantBody), (status = 401, body = Problem),
        (status = 404, body = Problem)))]
async fn get_tenant(
    _op: PlatformOperator,
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> ApiResult<Json<TenantBody>> {
    let tenant = tenants::find(&state.services, &slug).await?;
    Ok(Json(TenantBody { tenant }))
}

/// Changes a shop: name, status (`suspended` takes it offline), plan,
/// domains or settings.
#[utoipa::path(patch, path = "/api/v1/platform/tenants/{slug}", tag = "platform",
    security(("platform_token" = [])),
    params(("slug" = String, Path)),
    request_body = TenantPatchBody,
    responses((status = 200, body = TenantBody), (status = 401, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
async fn update_tenant(
    op: PlatformOperator,
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Json(body): Json<TenantPatchBody>,
) -> ApiResult<Json<TenantBody>> {
    let tenant = tenants::change_shop(&state.services, &slug, &body.tenant, &op.audit).await?;
    Ok(Json(TenantBody { tenant }))
}
