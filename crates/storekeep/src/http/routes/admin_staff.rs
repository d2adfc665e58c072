//! `/api/v1/admin/staff`: the shop's staff accounts.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::http::authz::AdminActor;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Json, PageParams};
use crate::services::staff;
use crate::wire::problem::Problem;
use crate::wire::staff::{NewStaffBody, StaffBody, StaffPage, StaffRoleBody};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_staff, create_staff))
        .routes(routes!(change_staff_role))
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

/// Changes a staff member's role. The giver may give only roles it may
/// give, and change only members whose present role it could give (only
/// an owner makes or unmakes an owner); nobody changes their own role; the
/// shop's last owner keeps the owner role (409). The member's sessions
/// stay signed in with the new role's permissions from their next request.
#[utoipa::path(patch, path = "/api/v1/admin/staff/{id}", tag = "admin: shop",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = StaffRoleBody,
    responses((status = 200, body = StaffBody), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn change_staff_role(
    State(state): State<AppState>,
    actor: AdminActor,
    Path(id): Path<String>,
    Json(body): Json<StaffRoleBody>,
) -> ApiResult<Json<StaffBody>> {
    let id = id.parse().map_err(|_| ApiError::not_found("account"))?;
    let member = staff::member(&state.services, &actor.tenant, id).await?;
    let own = actor.user.ok_or_else(|| {
        ApiError::Forbidden("staff roles are changed by staff, not by integrations".into())
    })?;
    staff::may_change(
        own,
        actor.role,
        &actor.permissions,
        &member,
        body.staff.role,
    )
    .map_err(ApiError::Forbidden)?;
    let staff = staff::change_role(
        &state.services,
        &actor.tenant,
        &member,
        body.staff.role,
        &actor.audit,
    )
    .await?;
    Ok(Json(StaffBody { staff }))
}
