//! `/api/v1/store/account`: customers' rights, asked by the signed-in
//! customer: their data export, and the erasure of their personal data
//! (with their password again). See docs/privacy.md.

use axum::extract::State;
use storekeep_domain::UserKind;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{CurrentTenant, Json};
use crate::http::routes::auth::SessionUser;
use crate::services::accounts::LoginFailure;
use crate::services::privacy::{self, Requester};
use crate::wire::privacy::{CustomerExportBody, EraseOwnRequest, ErasureBody};
use crate::wire::problem::Problem;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(export_account))
        .routes(routes!(erase_account))
}

/// The session's customer (staff and operators are told to log in as a
/// customer of this shop).
fn customer(me: &SessionUser) -> ApiResult<()> {
    if me.user.kind == UserKind::Customer {
        Ok(())
    } else {
        Err(ApiError::Unauthorized(
            "log in as a customer of this shop".into(),
        ))
    }
}

/// Everything the shop holds about the signed-in customer, in one JSON
/// document. Audited (`customer.data_exported`).
#[utoipa::path(get, path = "/api/v1/store/account/export", tag = "privacy",
    security(("tenant" = [], "bearer" = [])),
    responses((status = 200, body = CustomerExportBody), (status = 401, body = Problem)))]
async fn export_account(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    me: SessionUser,
) -> ApiResult<Json<CustomerExportBody>> {
    customer(&me)?;
    let export = privacy::export(
        &state.services,
        &tenant,
        me.user.id,
        Requester::Customer,
        &me.audit,
    )
    .await?;
    Ok(Json(CustomerExportBody { export }))
}

/// Erases the signed-in customer's personal data (as staff's erasure
/// does) once they give their password again (and, with MFA on, a TOTP
/// or recovery code: `401` with `errors[0].field = "totp"` without one);
/// every session ends, this
/// one included. `409` names the open orders and running rental contracts
/// that stop it; wrong passwords are throttled like logins.
#[utoipa::path(post, path = "/api/v1/store/account/erase", tag = "privacy",
    security(("tenant" = [], "bearer" = [])), request_body = EraseOwnRequest,
    responses((status = 200, body = ErasureBody), (status = 401, body = Problem),
        (status = 409, body = Problem), (status = 429, body = Problem)))]
async fn erase_account(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    me: SessionUser,
    Json(body): Json<EraseOwnRequest>,
) -> ApiResult<Json<ErasureBody>> {
    customer(&me)?;
    match privacy::erase_own(
        &state.services,
        &tenant,
        &me.user,
        &body.password,
        body.code.as_deref(),
        &me.audit,
    )
    .await
    {
        Ok(erasure) => Ok(Json(ErasureBody { erasure })),
        Err(LoginFailure::Locked { retry_after_secs }) => Err(ApiError::TooManyRequests {
            detail: format!("too many wrong attempts; try again in {retry_after_secs} s"),
            retry_after_secs,
        }),
        Err(LoginFailure::MfaRequired) => Err(ApiError::MfaRequired),
        Err(LoginFailure::Error(e)) => Err(e.into()),
        Err(_) => Err(ApiError::Unauthorized(
            "the password or code is wrong".into(),
        )),
    }
}
