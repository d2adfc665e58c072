//! `/api/v1/store`: the public face of one shop (the storefront API grows
//! here: products, carts, checkout).

use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::http::extract::{CurrentTenant, Json};
use crate::wire::storefront::{StoreBody, StoreInfo};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_store))
}

/// The shop addressed by `Host` or `X-Tenant`.
#[utoipa::path(get, path = "/api/v1/store", tag = "store",
    responses((status = 200, body = StoreBody), (status = 404, body = crate::wire::problem::Problem)))]
async fn get_store(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
) -> Json<StoreBody> {
    Json(StoreBody {
        store: StoreInfo {
            payment_providers: state.services.payments.usable(&tenant.settings),
            slug: tenant.slug.to_string(),
            name: tenant.name.clone(),
            currency: tenant.settings.currency.clone(),
        },
    })
}
