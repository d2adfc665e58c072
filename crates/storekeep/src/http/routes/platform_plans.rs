//! `/api/v1/platform/plans`: named limits tenants are held to.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::http::error::ApiResult;
use crate::http::extract::{Json, PageParams, PlatformOperator};
use crate::services::plans;
use crate::wire::plans::{NewPlanBody, PlanBody, PlanPage, PlanPatchBody};
use crate::wire::problem::Problem;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_plan, list_plans))
        .routes(routes!(update_plan))
}

/// Creates a plan; limits left out take the `default` plan's values.
#[utoipa::path(post, path = "/api/v1/platform/plans", tag = "platform",
    security(("platform_token" = [])),
    request_body = NewPlanBody,
    responses((status = 201, body = PlanBody), (status = 401, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_plan(
    op: PlatformOperator,
    State(state): State<AppState>,
    Json(body): Json<NewPlanBody>,
) -> ApiResult<(StatusCode, Json<PlanBody>)> {
    let plan = plans::create_plan(&state.services, &body.plan, &op.audit).await?;
    Ok((StatusCode::CREATED, Json(PlanBody { plan })))
}

/// Every plan, the built-in `default` first.
#[utoipa::path(get, path = "/api/v1/platform/plans", tag = "platform",
    security(("platform_token" = [])),
    params(crate::wire::page::PageQuery),
    responses((status = 200, body = PlanPage), (status = 401, body = Problem)))]
async fn list_plans(
    _op: PlatformOperator,
    State(state): State<AppState>,
    PageParams(page): PageParams,
) -> ApiResult<Json<PlanPage>> {
    let page = plans::list(&state.services, &page).await?;
    Ok(Json(PlanPage {
        items: page.items,
        next_cursor: page.next_cursor,
    }))
}

/// Changes some of a plan's limits (those left out stay). Every shop on the
/// plan is held to them at once; changing `default` also changes what new
/// plans start from and the limits of routes that address no shop.
#[utoipa::path(patch, path = "/api/v1/platform/plans/{name}", tag = "platform",
    security(("platform_token" = [])),
    params(("name" = String, Path, description = "the plan's name, e.g. default")),
    request_body = PlanPatchBody,
    responses((status = 200, body = PlanBody), (status = 401, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn update_plan(
    op: PlatformOperator,
    State(state): State<AppState>,
    Path(name): Path<String>,
    Json(body): Json<PlanPatchBody>,
) -> ApiResult<Json<PlanBody>> {
    let plan = plans::change_plan(&state.services, &name, &body.plan, &op.audit).await?;
    Ok(Json(PlanBody { plan }))
}
