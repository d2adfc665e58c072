//! `GET /api/v1/store/deals`: the shop's automatic deals that are live,
//! ending soon or starting soon.

use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{CurrentTenant, Json, Query};
use crate::services::deals;
use crate::wire::deals::DealListing;
use crate::wire::deals::DealsQuery;
use crate::wire::problem::Problem;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_deals))
}

#[utoipa::path(get, path = "/api/v1/store/deals", tag = "store",
    params(DealsQuery),
    responses((status = 200, body = DealListing), (status = 400, body = Problem)))]
async fn list_deals(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    Query(q): Query<DealsQuery>,
) -> ApiResult<Json<DealListing>> {
    let hours = q.soon_hours.unwrap_or(48);
    if !(1..=720).contains(&hours) {
        return Err(ApiError::BadRequest(
            "soon_hours must be between 1 and 720".into(),
        ));
    }
    Ok(Json(
        deals::listing(&state.services, &tenant, chrono::Duration::hours(hours)).await?,
    ))
}
