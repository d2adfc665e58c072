//! `/api/v1/admin/deals`: automatic deals and coupons.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use storekeep_domain::DealId;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::http::authz::AdminActor;
use crate::http::error::ApiResult;
use crate::http::extract::{Json, PageParams};
use crate::http::routes::path_id;
use crate::services::deals;
use crate::wire::deals::{DealBody, DealInputBody, DealPage, DealView};
use crate::wire::problem::Problem;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_deals, create_deal))
        .routes(routes!(get_deal, replace_deal, delete_deal))
}

/// Every deal, newest first, with usage counts and its state now.
#[utoipa::path(get, path = "/api/v1/admin/deals", tag = "admin: deals",
    security(("bearer" = [])), params(crate::wire::page::PageQuery),
    responses((status = 200, body = DealPage)))]
async fn list_deals(
    State(state): State<AppState>,
    actor: AdminActor,
    PageParams(page): PageParams,
) -> ApiResult<Json<DealPage>> {
    let found = deals::list(&state.services, &actor.tenant, &page).await?;
    let currency = &actor.tenant.settings.currency;
    Ok(Json(DealPage {
        items: found
            .items
            .into_iter()
            .map(|d| DealView::new(d, currency))
            .collect(),
        next_cursor: found.next_cursor,
    }))
}

#[utoipa::path(post, path = "/api/v1/admin/deals", tag = "admin: deals",
    security(("bearer" = [])), request_body = DealInputBody,
    responses((status = 201, body = DealBody), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_deal(
    State(state): State<AppState>,
    actor: AdminActor,
    Json(body): Json<DealInputBody>,
) -> ApiResult<(StatusCode, Json<DealBody>)> {
    let deal = deals::create(&state.services, &actor.tenant, body.deal, &actor.audit).await?;
    Ok((
        StatusCode::CREATED,
        Json(DealBody {
            deal: DealView::new(deal, &actor.tenant.settings.currency),
        }),
    ))
}

#[utoipa::path(get, path = "/api/v1/admin/deals/{id}", tag = "admin: deals",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = DealBody), (status = 404, body = Problem)))]
async fn get_deal(
    State(state): State<AppState>,
    actor: AdminActor,
    Path(raw): Path<String>,
) -> ApiResult<Json<DealBody>> {
    let deal = deals::get(&state.services, &actor.tenant, path_id(&raw, "deal")?).await?;
    Ok(Json(DealBody {
        deal: DealView::new(deal, &actor.tenant.settings.currency),
    }))
}

/// Replaces the deal's definition; its usage counts stay.
#[utoipa::path(put, path = "/api/v1/admin/deals/{id}", tag = "admin: deals",
    security(("bearer" = [])), params(("id" = String, Path)), request_body = DealInputBody,
    responses((status = 200, body = DealBody), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn replace_deal(
    State(state): State<AppState>,
    actor: AdminActor,
    Path(raw): Path<String>,
    Json(body): Json<DealInputBody>,
) -> ApiResult<Json<DealBody>> {
    let id: DealId = path_id(&raw, "deal")?;
    let deal = deals::replace(&state.services, &actor.tenant, id, body.deal, &actor.audit).await?;
    Ok(Json(DealBody {
        deal: DealView::new(deal, &actor.tenant.settings.currency),
    }))
}

/// Deletes the deal; orders that used it keep their prices.
#[utoipa::path(delete, path = "/api/v1/admin/deals/{id}", tag = "admin: deals",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
async fn delete_deal(
    State(state): State<AppState>,
    actor: AdminActor,
    Path(raw): Path<String>,
) -> ApiResult<StatusCode> {
    deals::delete(
        &state.services,
        &actor.tenant,
        path_id(&raw, "deal")?,
        &actor.audit,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
