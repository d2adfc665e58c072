//! `/api/v1/admin/customers/{id}`: customers' rights, asked by staff on a
//! customer's behalf: the data export (`customers:read`) and the erasure of
//! their personal data (`customers:erase`). Owners and admins hold both.
//! See docs/privacy.md.

use axum::extract::{Path, State};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::http::authz::AdminActor;
use crate::http::error::ApiResult;
use crate::http::extract::Json;
use crate::http::routes::path_id;
use crate::services::privacy::{self, Requester};
use crate::wire::privacy::{CustomerExportBody, ErasureBody};
use crate::wire::problem::Problem;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(export_customer))
        .routes(routes!(erase_customer))
}

/// Everything the shop holds about the customer, in one JSON document:
/// profile, addresses, orders, rental contracts, sessions, audit entries.
/// Audited (`customer.data_exported`).
#[utoipa::path(get, path = "/api/v1/admin/customers/{id}/export", tag = "privacy",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = CustomerExportBody), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
async fn export_customer(
    State(state): State<AppState>,
    actor: AdminActor,
    Path(raw): Path<String>,
) -> ApiResult<Json<CustomerExportBody>> {
    let id = path_id(&raw, "customer")?;
    let export = privacy::export(
        &state.services,
        &actor.tenant,
        id,
        Requester::Staff,
        &actor.audit,
    )
    .await?;
    Ok(Json(CustomerExportBody { export }))
}

/// Erases the customer's personal data: the account's email, name, phone
/// and second factor, its sessions, its orders' email and address (their
/// lines and amounts stay), email jobs about them. `409` names the open
/// orders (unpaid, unshipped) and running rental contracts that stop it.
/// Erasing again changes nothing (`erased_now: false`). Audited
/// (`customer.erased`, without PII).
#[utoipa::path(post, path = "/api/v1/admin/customers/{id}/erase", tag = "privacy",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = ErasureBody), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn erase_customer(
    State(state): State<AppState>,
    actor: AdminActor,
    Path(raw): Path<String>,
) -> ApiResult<Json<ErasureBody>> {
    let id = path_id(&raw, "customer")?;
    let erasure = privacy::erase(&state.services, &actor.tenant, id, &actor.audit).await?;
    Ok(Json(ErasureBody { erasure }))
}
