//! `/api/v1/admin/settings`: the shop's own settings.

use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::http::authz::AdminActor;
use crate::http::error::ApiResult;
use crate::http::extract::Json;
use crate::wire::problem::Problem;
use crate::wire::settings::SettingsBody;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_settings, update_settings))
}

/// The shop's settings.
#[utoipa::path(get, path = "/api/v1/admin/settings", tag = "admin: shop",
    security(("bearer" = [])),
    responses((status = 200, body = SettingsBody), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn get_settings(actor: AdminActor) -> Json<SettingsBody> {
    Json(SettingsBody {
        settings: actor.tenant.settings.clone().redacted(),
    })
}

/// Replaces the shop's settings (send the whole object).
#[utoipa::path(patch, path = "/api/v1/admin/settings", tag = "admin: shop",
    security(("bearer" = [])),
    request_body = SettingsBody,
    responses((status = 200, body = SettingsBody), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn update_settings(
    State(state): State<AppState>,
    actor: AdminActor,
    Json(body): Json<SettingsBody>,
) -> ApiResult<Json<SettingsBody>> {
    let tenant = crate::services::tenants::change_settings(
        &state.services,
        &actor.tenant,
        body.settings,
        &actor.audit,
    )
    .await?;
    Ok(Json(SettingsBody {
        settings: tenant.settings.redacted(),
    }))
}
