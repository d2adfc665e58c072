//! `/api/v1/admin/privacy/*`: customers' rights by email, asked by staff
//! for whoever uses an address (a guest's orders belong to no account):
//! the data export (`customers:read`) and the erasure (`customers:erase`).
//! POSTs, so the address stays out of URLs and access logs. See
//! docs/privacy.md, "Guest purchases".

use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::http::authz::AdminActor;
use crate::http::error::ApiResult;
use crate::http::extract::Json;
use crate::services::privacy_email;
use crate::wire::privacy::{SubjectErasureBody, SubjectExportBody, SubjectRequest};
use crate::wire::problem::Problem;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(export_by_email))
        .routes(routes!(erase_by_email))
}

/// Everything the shop holds about whoever uses an email address, in one
/// JSON document: the customer account of that email (its whole export),
/// if any, and every order placed with the address, guest or not, with
/// their contracts and audit entries. An address the shop knows nothing
/// about answers an empty document. Audited (`customer.data_exported`,
/// without the address).
#[utoipa::path(post, path = "/api/v1/admin/privacy/export", tag = "privacy",
    security(("bearer" = [])), request_body = SubjectRequest,
    responses((status = 200, body = SubjectExportBody), (status = 403, body = Problem),
        (status = 422, body = Problem)))]
async fn export_by_email(
    State(state): State<AppState>,
    actor: AdminActor,
    Json(body): Json<SubjectRequest>,
) -> ApiResult<Json<SubjectExportBody>> {
    let export =
        privacy_email::export(&state.services, &actor.tenant, &body.email, &actor.audit).await?;
    Ok(Json(SubjectExportBody { export }))
}

/// Erases the personal data of whoever uses an email address: the customer
/// account of that email, if any (as the account erasure does), and every
/// order placed with the address (email and address replaced, lines and
/// amounts kept), with the email jobs about them. `409` names the open
/// orders (unpaid, unshipped) and running rental contracts that stop it.
/// Asking again changes nothing (`erased_now: false`). Audited
/// (`customer.erased_by_email`, counts and order ids, no PII).
#[utoipa::path(post, path = "/api/v1/admin/privacy/erase", tag = "privacy",
    security(("bearer" = [])), request_body = SubjectRequest,
    responses((status = 200, body = SubjectErasureBody), (status = 403, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn erase_by_email(
    State(state): State<AppState>,
    actor: AdminActor,
    Json(body): Json<SubjectRequest>,
) -> ApiResult<Json<SubjectErasureBody>> {
    let erasure =
        privacy_email::erase(&state.services, &actor.tenant, &body.email, &actor.audit).await?;
    Ok(Json(SubjectErasureBody { erasure }))
}
