//! `/api/v1/store`: the public face of one shop (the storefront API grows
//! here: products, carts, checkout).

use axum::extract::State;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::http::extract::{CurrentTenant, Json};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_store))
}

/// What a storefront needs to know about the shop it talks to.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StoreInfo {
    pub slug: String,
    pub name: String,
    pub currency: String,
    /// What `payment_provider` may be at checkout: the providers the shop
    /// accepts that this server offers.
    #[schema(example = json!(["manual"]))]
    pub payment_providers: Vec<&'static str>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StoreBody {
    pub store: StoreInfo,
}

/// The shop addressed by `Host` or `X-Tenant`.
#[utoipa::path(get, path = "/api/v1/store", tag = "store",
    responses((status = 200, body = StoreBody), (status = 404, body = crate::http::error::Problem)))]
async fn get_store(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
) -> Json<StoreBody> {
    Json(StoreBody {
        store: StoreInfo {
            payment_providers: state.payments.usable(&tenant.settings),
            slug: tenant.slug.to_string(),
            name: tenant.name,
            currency: tenant.settings.currency,
        },
    })
}
