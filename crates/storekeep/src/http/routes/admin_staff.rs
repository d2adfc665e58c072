//! `/api/v1/admin/staff`: the shop's staff accounts.

use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::http::authz::AdminActor;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Json, PageParams};
use crate::services::staff;
use crate::wire::problem::Problem;
use crate::wire::staff::{NewStaffBody, StaffBody, StaffPage};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_staff, create_staff))
}

/// The shop's staff.
#[utoipa::path(get, path = "/api/v1/admin/staff", tag = "admin: shop",
    security(("bearer" = [])),
    params(crate::wire::page::PageQuery),
    responses((status = 200, body = StaffPage), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn list_staff(
    State(state): State<AppState>,
    actor: AdminActor,
    PageParams(page): PageParams,
) -> ApiResult<Json<StaffPage>> {
    let (items, next_cursor) = staff::list(&state.services, &actor.tenant, &page).await?;
    Ok(Json(StaffPage { items, next_cursor }))
}

/// Adds a staff member. Only an owner can add an owner.
#[utoipa::path(post, path = "/api/v1/admin/staff", tag = "admin: shop",
    security(("bearer" = [])),
    request_body = NewStaffBody,
    responses((status = 201, body = StaffBody), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 402, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_staff(
    State(state): State<AppState>,
    actor: AdminActor,
    Json(body): Json<NewStaffBody>,
) -> ApiResult<(StatusCode, Json<StaffBody>)> {
    staff::may_give(actor.role, &actor.permissions, body.staff.role)
        .map_err(ApiError::Forbidden)?;
    let staff = staff::add(
        &state.services,
        &actor.tenant,
        body.staff.role,
        &body.staff.account(),
        &actor.audit,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(StaffBody { staff })))
}
