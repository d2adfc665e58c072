//! `/api/v1/store/rentals`: the logged-in customer's rental contracts.

use axum::extract::{Path, State};
use storekeep_domain::{ContractFilter, UserRecord};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Json, PageParams};
use crate::http::routes::path_id;
use crate::http::routes::store_carts::Shopper;
use crate::services::contracts;
use crate::wire::contracts::{ContractBody, ContractPage, ContractSummary, ContractView};
use crate::wire::problem::Problem;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_rentals))
        .routes(routes!(get_rental))
        // i15 phase 2, glue: the agreement document.
        .routes(routes!(rental_document))
        // i15 phase 3, buy-out and returns.
        .routes(routes!(rental_buyout_quote))
        // i15 phase 3: customers paying installments.
        .routes(routes!(pay_rental))
}

fn customer(shopper: &Shopper) -> ApiResult<&UserRecord> {
    shopper
        .customer
        .as_ref()
        .ok_or_else(|| ApiError::Unauthorized("log in as a customer to see your rentals".into()))
}

/// The customer's rental contracts, newest first.
#[utoipa::path(get, path = "/api/v1/store/rentals", tag = "store: orders",
    security(("bearer" = [])), params(crate::wire::page::PageQuery),
    responses((status = 200, body = ContractPage), (status = 401, body = Problem)))]
async fn list_rentals(
    State(state): State<AppState>,
    shopper: Shopper,
    page: Result<PageParams, ApiError>,
) -> ApiResult<Json<ContractPage>> {
    // Who asks comes first: a guest is told to log in (401), whatever the
    // query says.
    let filter = ContractFilter {
        customer_id: Some(customer(&shopper)?.id),
        ..Default::default()
    };
    let PageParams(page) = page?;
    let found = contracts::list(&state.services, &shopper.tenant, &filter, &page).await?;
    Ok(Json(ContractPage {
        items: found.items.iter().map(ContractSummary::new).collect(),
        next_cursor: found.next_cursor,
    }))
}

/// One of the customer's contracts; anyone else's is not found.
#[utoipa::path(get, path = "/api/v1/store/rentals/{id}", tag = "store: orders",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = ContractBody), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn get_rental(
    State(state): State<AppState>,
    shopper: Shopper,
    Path(raw): Path<String>,
) -> ApiResult<Json<ContractBody>> {
    let me = customer(&shopper)?.id;
    let id = path_id(&raw, "rental contract")?;
    let detail = contracts::own(&state.services, &shopper.tenant, me, id).await?;
    Ok(Json(ContractBody {
        contract: ContractView::for_customer(&detail, me),
    }))
}

// i15 phase 2, glue: the agreement document.
/// The agreement of one of the customer's contracts as one printable HTML
/// page; anyone else's is not found.
#[utoipa::path(get, path = "/api/v1/store/rentals/{id}/document", tag = "store: orders",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, content_type = "text/html", body = String, description = "The agreement, a self-contained HTML page"), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn rental_document(
    State(state): State<AppState>,
    shopper: Shopper,
    Path(raw): Path<String>,
) -> ApiResult<axum::response::Html<String>> {
    let me = customer(&shopper)?.id;
    let id = path_id(&raw, "rental contract")?;
    let detail = contracts::own(&state.services, &shopper.tenant, me, id).await?;
    let html = contracts::document::render(&state.services, &shopper.tenant, &detail).await?;
    Ok(axum::response::Html(html))
}

// i15 phase 3, buy-out and returns.
/// What buying one of the customer's rent-to-own contracts out costs now;
/// anyone else's is not found.
#[utoipa::path(get, path = "/api/v1/store/rentals/{id}/buyout", tag = "store: orders",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = crate::wire::contracts::BuyoutQuoteBody), (status = 401, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn rental_buyout_quote(
    State(state): State<AppState>,
    shopper: Shopper,
    Path(raw): Path<String>,
) -> ApiResult<Json<crate::wire::contracts::BuyoutQuoteBody>> {
    let me = customer(&shopper)?.id;
    let id = path_id(&raw, "rental contract")?;
    let detail = contracts::own(&state.services, &shopper.tenant, me, id).await?;
    Ok(Json(crate::wire::contracts::BuyoutQuoteBody {
        buyout: contracts::end::quote(&detail)?,
    }))
}

// i15 phase 3: customers paying installments.
/// Pays an installment of one of the customer's contracts (the next unpaid
/// one unless `installment_id` names it) through one of the shop's payment
/// providers: the attempt is pending until the provider confirms it, which
/// records the installment. Repeating an `Idempotency-Key` answers the
/// payment it started; repeating it for another installment or provider
/// is refused (422).
#[utoipa::path(post, path = "/api/v1/store/rentals/{id}/payments", tag = "store: orders",
    security(("bearer" = [])),
    params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header, description = "optional; repeat it when retrying so the installment is not paid twice (1 to 255 visible ASCII characters)", pattern = "^[!-~]{1,255}$")),
    request_body = crate::wire::contracts::RentalPayBody,
    responses((status = 201, body = crate::wire::contracts::RentalPaymentBody), (status = 401, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn pay_rental(
    State(state): State<AppState>,
    shopper: Shopper,
    crate::http::routes::auth::RequestOrigin(origin): crate::http::routes::auth::RequestOrigin,
    Path(raw): Path<String>,
    headers: axum::http::HeaderMap,
    Json(body): Json<crate::wire::contracts::RentalPayBody>,
) -> ApiResult<axum::response::Response> {
    use crate::services::carts::money;
    use crate::wire::contracts::{InstallmentAttemptView, RentalPaymentBody};
    use axum::response::IntoResponse;

    let me = customer(&shopper)?.id;
    let id = path_id(&raw, "rental contract")?;
    let key = headers
        .get("idempotency-key")
        .map(|v| crate::services::checkout::parse_key(Some(v.to_str().unwrap_or("\u{7f}"))))
        .transpose()?;
    let audit = storekeep_domain::AuditContext {
        actor: format!("customer:{me}"),
        ip: origin.ip,
        request_id: origin.request_id,
    };
    let (p, detail) =
        contracts::customer_pay::pay(&state.services, &shopper.tenant, me, id, &body, key, &audit)
            .await?;
    let currency = &detail.contract.currency;
    let payment = InstallmentAttemptView {
        installment_id: p.installment_id,
        seq: p.seq,
        amount: money(p.amount, currency),
        late_fee: money(p.late_fee, currency),
        provider: p.provider,
        reference: p.reference,
        status: p.status,
    };
    let body = RentalPaymentBody {
        payment,
        contract: ContractView::for_customer(&detail, me),
    };
    let mut response = (axum::http::StatusCode::CREATED, Json(body)).into_response();
    if p.replayed {
        response.headers_mut().insert(
            "idempotent-replayed",
            axum::http::HeaderValue::from_static("true"),
        );
    }
    Ok(response)
}
