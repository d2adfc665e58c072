//! `/api/v1/store/products/{id_or_handle}/rental-plans`: what a published
//! product can be rented on.

use axum::extract::{Path, State};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::http::error::ApiResult;
use crate::http::extract::{CurrentTenant, Json};
use crate::services::rentals::plans;
use crate::wire::problem::Problem;
use crate::wire::rentals::PublicRentalPlanList;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(product_rental_plans))
}

/// The active rental plans of a published product's variants, with the
/// serial-tracked units available now (null: the variant's ordinary stock).
#[utoipa::path(get, path = "/api/v1/store/products/{id_or_handle}/rental-plans", tag = "store",
    params(("id_or_handle" = String, Path)),
    responses((status = 200, body = PublicRentalPlanList), (status = 404, body = Problem)))]
async fn product_rental_plans(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    Path(raw): Path<String>,
) -> ApiResult<Json<PublicRentalPlanList>> {
    Ok(Json(
        plans::for_product(&state.services, &tenant, &raw).await?,
    ))
}
