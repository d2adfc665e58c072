//! The audit log, newest first: `/api/v1/admin/audit-log` (the shop's) and
//! `/api/v1/platform/audit-log` (the platform's own actions).

use axum::extract::State;
use storekeep_domain::PLATFORM_SCOPE;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::http::authz::AdminActor;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Json, PlatformOperator, Query};
use crate::services::audit;
use crate::wire::audit::{AuditPage, AuditQuery};
use crate::wire::problem::Problem;

pub fn admin_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(shop_audit_log))
}

pub fn platform_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(platform_audit_log))
}

async fn page(state: &AppState, scope: &str, q: AuditQuery) -> ApiResult<Json<AuditPage>> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::BadRequest(
            "limit must be between 1 and 200".into(),
        ));
    }
    let before = q
        .after
        .map(|a| {
            a.parse::<i64>().map_err(|_| {
                ApiError::BadRequest("after is not a cursor this server issued".into())
            })
        })
        .transpose()?;
    let filter = audit::parse_filter(
        q.actor.as_deref(),
        q.action.as_deref(),
        q.from.as_deref(),
        q.to.as_deref(),
    )
    // A bad filter is a 400 naming it, as every list's filters are.
    .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let (items, next_cursor) = audit::page(&state.services, scope, &filter, before, limit).await?;
    Ok(Json(AuditPage { items, next_cursor }))
}

/// Every staff and integration action in the shop, newest first;
/// `actor`, `action`, `from` and `to` narrow it (each given again with
/// `after` for the next page).
#[utoipa::path(get, path = "/api/v1/admin/audit-log", tag = "admin: shop",
    security(("bearer" = [])),
    params(AuditQuery),
    responses((status = 200, body = AuditPage), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn shop_audit_log(
    State(state): State<AppState>,
    actor: AdminActor,
    Query(q): Query<AuditQuery>,
) -> ApiResult<Json<AuditPage>> {
    page(&state, &actor.tenant.id.to_string(), q).await
}

/// Every platform action (tenants, plans, operators), newest first;
/// filtered as the shop's audit log is.
#[utoipa::path(get, path = "/api/v1/platform/audit-log", tag = "platform",
    security(("platform_token" = [])),
    params(AuditQuery),
    responses((status = 200, body = AuditPage), (status = 400, body = Problem), (status = 401, body = Problem)))]
async fn platform_audit_log(
    State(state): State<AppState>,
    _op: PlatformOperator,
    Query(q): Query<AuditQuery>,
) -> ApiResult<Json<AuditPage>> {
    page(&state, PLATFORM_SCOPE, q).await
}
