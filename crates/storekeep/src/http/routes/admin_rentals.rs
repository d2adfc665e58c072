//! `/api/v1/admin/rental-plans` and `/api/v1/admin/rental-units`: the terms
//! variants are rented on, and the serial-tracked units rented out.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use storekeep_domain::{RentalPlanId, RentalUnitId};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::http::authz::AdminActor;
use crate::http::error::ApiResult;
use crate::http::extract::{Json, Query};
use crate::http::routes::path_id;
use crate::services::rentals::{plans, units};
use crate::wire::problem::Problem;
use crate::wire::rentals::{
    RentalPlanBody, RentalPlanInputBody, RentalPlanPage, RentalPlanPatchBody, RentalPlanQuery,
    RentalPlanView, RentalUnitBody, RentalUnitDetail, RentalUnitInputBody, RentalUnitPage,
    RentalUnitPatchBody, RentalUnitQuery, UnitStatusInput,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_rental_plans, create_rental_plan))
        .routes(routes!(
            get_rental_plan,
            update_rental_plan,
            delete_rental_plan
        ))
        .routes(routes!(list_rental_units, create_rental_unit))
        .routes(routes!(get_rental_unit, update_rental_unit))
        .routes(routes!(move_rental_unit))
}

fn plan_body(actor: &AdminActor, p: storekeep_domain::RentalPlan) -> Json<RentalPlanBody> {
    Json(RentalPlanBody {
        rental_plan: RentalPlanView::new(p, &actor.tenant.settings.currency),
    })
}

/// The shop's rental plans, oldest first, optionally of one variant.
#[utoipa::path(get, path = "/api/v1/admin/rental-plans", tag = "admin: rentals",
    security(("bearer" = [])), params(RentalPlanQuery),
    responses((status = 200, body = RentalPlanPage), (status = 400, body = Problem)))]
async fn list_rental_plans(
    State(state): State<AppState>,
    actor: AdminActor,
    Query(q): Query<RentalPlanQuery>,
) -> ApiResult<Json<RentalPlanPage>> {
    let (filter, page) = plans::parse_query(&q)?;
    let found = plans::list(&state.services, &actor.tenant, &filter, &page).await?;
    let currency = &actor.tenant.settings.currency;
    Ok(Json(RentalPlanPage {
        items: found
            .items
            .into_iter()
            .map(|p| RentalPlanView::new(p, currency))
            .collect(),
        next_cursor: found.next_cursor,
    }))
}

/// Creates a plan for one of the shop's variants.
#[utoipa::path(post, path = "/api/v1/admin/rental-plans", tag = "admin: rentals",
    security(("bearer" = [])), request_body = RentalPlanInputBody,
    responses((status = 201, body = RentalPlanBody), (status = 422, body = Problem)))]
async fn create_rental_plan(
    State(state): State<AppState>,
    actor: AdminActor,
    Json(body): Json<RentalPlanInputBody>,
) -> ApiResult<(StatusCode, Json<RentalPlanBody>)> {
    let plan = plans::create(
        &state.services,
        &actor.tenant,
        body.rental_plan,
        &actor.audit,
    )
    .await?;
    Ok((StatusCode::CREATED, plan_body(&actor, plan)))
}

#[utoipa::path(get, path = "/api/v1/admin/rental-plans/{id}", tag = "admin: rentals",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = RentalPlanBody), (status = 404, body = Problem)))]
async fn get_rental_plan(
    State(state): State<AppState>,
    actor: AdminActor,
    Path(raw): Path<String>,
) -> ApiResult<Json<RentalPlanBody>> {
    let id: RentalPlanId = path_id(&raw, "rental plan")?;
    let plan = plans::get(&state.services, &actor.tenant, id).await?;
    Ok(plan_body(&actor, plan))
}

/// Changes the given fields; the plan they make is checked as a whole.
/// Contracts already made keep the terms they were made on.
#[utoipa::path(patch, path = "/api/v1/admin/rental-plans/{id}", tag = "admin: rentals",
    security(("bearer" = [])), params(("id" = String, Path)), request_body = RentalPlanPatchBody,
    responses((status = 200, body = RentalPlanBody), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn update_rental_plan(
    State(state): State<AppState>,
    actor: AdminActor,
    Path(raw): Path<String>,
    Json(body): Json<RentalPlanPatchBody>,
) -> ApiResult<Json<RentalPlanBody>> {
    let id: RentalPlanId = path_id(&raw, "rental plan")?;
    let plan = plans::update(
        &state.services,
        &actor.tenant,
        id,
        body.rental_plan,
        &actor.audit,
    )
    .await?;
    Ok(plan_body(&actor, plan))
}

/// Deletes a plan no contract was made on; a used plan is a 409 (withdraw
/// it with `active: false` instead).
#[utoipa::path(delete, path = "/api/v1/admin/rental-plans/{id}", tag = "admin: rentals",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn delete_rental_plan(
    State(state): State<AppState>,
    actor: AdminActor,
    Path(raw): Path<String>,
) -> ApiResult<StatusCode> {
    let id: RentalPlanId = path_id(&raw, "rental plan")?;
    plans::delete(&state.services, &actor.tenant, id, &actor.audit).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The shop's serial-tracked units, oldest first, filtered.
#[utoipa::path(get, path = "/api/v1/admin/rental-units", tag = "admin: rentals",
    security(("bearer" = [])), params(RentalUnitQuery),
    responses((status = 200, body = RentalUnitPage), (status = 400, body = Problem)))]
async fn list_rental_units(
    State(state): State<AppState>,
    actor: AdminActor,
    Query(q): Query<RentalUnitQuery>,
) -> ApiResult<Json<RentalUnitPage>> {
    let (filter, page) = units::parse_query(&q)?;
    let found = units::list(&state.services, &actor.tenant, &filter, &page).await?;
    Ok(Json(RentalUnitPage {
        items: found.items.into_iter().map(Into::into).collect(),
        next_cursor: found.next_cursor,
    }))
}

/// Adds a unit, available; its serial must be new to the shop (409).
#[utoipa::path(post, path = "/api/v1/admin/rental-units", tag = "admin: rentals",
    security(("bearer" = [])), request_body = RentalUnitInputBody,
    responses((status = 201, body = RentalUnitBody), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_rental_unit(
    State(state): State<AppState>,
    actor: AdminActor,
    Json(body): Json<RentalUnitInputBody>,
) -> ApiResult<(StatusCode, Json<RentalUnitBody>)> {
    let unit = units::add(
        &state.services,
        &actor.tenant,
        body.rental_unit,
        &actor.audit,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(RentalUnitBody {
            rental_unit: unit.into(),
        }),
    ))
}

/// A unit and its history, newest first.
#[utoipa::path(get, path = "/api/v1/admin/rental-units/{id}", tag = "admin: rentals",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = RentalUnitDetail), (status = 404, body = Problem)))]
async fn get_rental_unit(
    State(state): State<AppState>,
    actor: AdminActor,
    Path(raw): Path<String>,
) -> ApiResult<Json<RentalUnitDetail>> {
    let id: RentalUnitId = path_id(&raw, "rental unit")?;
    let (unit, history) = units::get(&state.services, &actor.tenant, id).await?;
    Ok(Json(RentalUnitDetail {
        rental_unit: unit.into(),
        history: history.into_iter().map(Into::into).collect(),
    }))
}

/// Changes a unit's grade or notes (recorded in its history).
#[utoipa::path(patch, path = "/api/v1/admin/rental-units/{id}", tag = "admin: rentals",
    security(("bearer" = [])), params(("id" = String, Path)), request_body = RentalUnitPatchBody,
    responses((status = 200, body = RentalUnitBody), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn update_rental_unit(
    State(state): State<AppState>,
    actor: AdminActor,
    Path(raw): Path<String>,
    Json(body): Json<RentalUnitPatchBody>,
) -> ApiResult<Json<RentalUnitBody>> {
    let id: RentalUnitId = path_id(&raw, "rental unit")?;
    let unit = units::update(
        &state.services,
        &actor.tenant,
        id,
        body.rental_unit,
        &actor.audit,
    )
    .await?;
    Ok(Json(RentalUnitBody {
        rental_unit: unit.into(),
    }))
}

/// Moves a unit between staff states (repair, back to stock, retired);
/// renting and selling happen through contracts (409).
#[utoipa::path(post, path = "/api/v1/admin/rental-units/{id}/status", tag = "admin: rentals",
    security(("bearer" = [])), params(("id" = String, Path)), request_body = UnitStatusInput,
    responses((status = 200, body = RentalUnitBody), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn move_rental_unit(
    State(state): State<AppState>,
    actor: AdminActor,
    Path(raw): Path<String>,
    Json(body): Json<UnitStatusInput>,
) -> ApiResult<Json<RentalUnitBody>> {
    let id: RentalUnitId = path_id(&raw, "rental unit")?;
    let unit = units::move_to(&state.services, &actor.tenant, id, body, &actor.audit).await?;
    Ok(Json(RentalUnitBody {
        rental_unit: unit.into(),
    }))
}
