//! `/api/v1/admin/rental-contracts`: rental contracts made at checkout,
//! with their schedules, payments, units and disclosures (the orders
//! permissions).

use axum::extract::{Path, State};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::http::authz::AdminActor;
use crate::http::error::ApiResult;
use crate::http::extract::{Json, Query};
use crate::http::routes::path_id;
use crate::services::contracts;
use crate::wire::contracts::{
    ContractBody, ContractPage, ContractQuery, ContractSummary, ContractView,
    InstallmentPaymentBody,
};
use crate::wire::problem::Problem;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_contracts))
        .routes(routes!(get_contract))
        .routes(routes!(pay_installment))
        // i15 phase 2, glue: the agreement document.
        .routes(routes!(contract_document))
        // i15 phase 3, buy-out and returns.
        .routes(routes!(buyout_quote, buy_out_contract))
        .routes(routes!(return_contract))
        // i15 phase 3, payments and extension.
        .routes(routes!(extend_contract))
}

/// Rental contracts, newest first, optionally of one status or customer.
#[utoipa::path(get, path = "/api/v1/admin/rental-contracts", tag = "admin: orders",
    security(("bearer" = [])), params(ContractQuery),
    responses((status = 200, body = ContractPage), (status = 400, body = Problem)))]
async fn list_contracts(
    State(state): State<AppState>,
    actor: AdminActor,
    Query(q): Query<ContractQuery>,
) -> ApiResult<Json<ContractPage>> {
    let (filter, page) = contracts::parse_query(&q)?;
    let found = contracts::list(&state.services, &actor.tenant, &filter, &page).await?;
    Ok(Json(ContractPage {
        items: found.items.iter().map(ContractSummary::new).collect(),
        next_cursor: found.next_cursor,
    }))
}

/// A contract with its installments, payments, unit and disclosures.
#[utoipa::path(get, path = "/api/v1/admin/rental-contracts/{id}", tag = "admin: orders",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = ContractBody), (status = 404, body = Problem)))]
async fn get_contract(
    State(state): State<AppState>,
    actor: AdminActor,
    Path(raw): Path<String>,
) -> ApiResult<Json<ContractBody>> {
    let id = path_id(&raw, "rental contract")?;
    let detail = contracts::get(&state.services, &actor.tenant, id).await?;
    Ok(Json(ContractBody {
        contract: ContractView::new(&detail),
    }))
}

/// Records an installment paid outside the shop's processors (the first
/// unpaid one unless `installment_id` names it), with any late fee charged
/// on it; each amount is recorded once and audited.
#[utoipa::path(post, path = "/api/v1/admin/rental-contracts/{id}/payments", tag = "admin: orders",
    security(("bearer" = [])), params(("id" = String, Path)), request_body = InstallmentPaymentBody,
    responses((status = 200, body = ContractBody), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn pay_installment(
    State(state): State<AppState>,
    actor: AdminActor,
    Path(raw): Path<String>,
    Json(body): Json<InstallmentPaymentBody>,
) -> ApiResult<Json<ContractBody>> {
    let id = path_id(&raw, "rental contract")?;
    let detail =
        contracts::pay_installment(&state.services, &actor.tenant, id, body, &actor.audit).await?;
    Ok(Json(ContractBody {
        contract: ContractView::new(&detail),
    }))
}

// i15 phase 2, glue: the agreement document.
/// The contract's agreement as one printable HTML page: both parties, the
/// goods, every disclosure with its amount, the schedule and the
/// early-purchase table.
#[utoipa::path(get, path = "/api/v1/admin/rental-contracts/{id}/document", tag = "admin: orders",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, content_type = "text/html", body = String, description = "The agreement, a self-contained HTML page"), (status = 404, body = Problem)))]
async fn contract_document(
    State(state): State<AppState>,
    actor: AdminActor,
    Path(raw): Path<String>,
) -> ApiResult<axum::response::Html<String>> {
    let id = path_id(&raw, "rental contract")?;
    let detail = contracts::get(&state.services, &actor.tenant, id).await?;
    let html = contracts::document::render(&state.services, &actor.tenant, &detail).await?;
    Ok(axum::response::Html(html))
}

// i15 phase 3, buy-out and returns.
/// What buying a rent-to-own contract out costs now: the buy-out price by
/// the plan's rule, late fees still owed, the total and the rule in words.
#[utoipa::path(get, path = "/api/v1/admin/rental-contracts/{id}/buyout", tag = "admin: orders",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = crate::wire::contracts::BuyoutQuoteBody), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn buyout_quote(
    State(state): State<AppState>,
    actor: AdminActor,
    Path(raw): Path<String>,
) -> ApiResult<Json<crate::wire::contracts::BuyoutQuoteBody>> {
    let id = path_id(&raw, "rental contract")?;
    let detail = contracts::get(&state.services, &actor.tenant, id).await?;
    Ok(Json(crate::wire::contracts::BuyoutQuoteBody {
        buyout: contracts::end::quote(&detail)?,
    }))
}

/// Records an early buy-out paid outside the shop's processors: the
/// buy-out price and any late fees owed, the contract `bought_out` and its
/// unit sold, in one transaction (audited). `amount`, if given, must be the
/// quote's total now.
#[utoipa::path(post, path = "/api/v1/admin/rental-contracts/{id}/buyout", tag = "admin: orders",
    security(("bearer" = [])), params(("id" = String, Path)), request_body = crate::wire::contracts::BuyoutBody,
    responses((status = 200, body = ContractBody), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn buy_out_contract(
    State(state): State<AppState>,
    actor: AdminActor,
    Path(raw): Path<String>,
    Json(body): Json<crate::wire::contracts::BuyoutBody>,
) -> ApiResult<Json<ContractBody>> {
    let id = path_id(&raw, "rental contract")?;
    let detail =
        contracts::end::buy_out(&state.services, &actor.tenant, id, body, &actor.audit).await?;
    Ok(Json(ContractBody {
        contract: ContractView::new(&detail),
    }))
}

/// Records the goods coming back (or missing) as inspected: the deposit
/// settled as a damage charge and a refund owed, the unit to inspection
/// (or retired), the contract `returned`, in one transaction (audited).
#[utoipa::path(post, path = "/api/v1/admin/rental-contracts/{id}/return", tag = "admin: orders",
    security(("bearer" = [])), params(("id" = String, Path)), request_body = crate::wire::contracts::ReturnBody,
    responses((status = 200, body = ContractBody), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn return_contract(
    State(state): State<AppState>,
    actor: AdminActor,
    Path(raw): Path<String>,
    Json(body): Json<crate::wire::contracts::ReturnBody>,
) -> ApiResult<Json<ContractBody>> {
    let id = path_id(&raw, "rental contract")?;
    let detail =
        contracts::end::return_goods(&state.services, &actor.tenant, id, body, &actor.audit)
            .await?;
    Ok(Json(ContractBody {
        contract: ContractView::new(&detail),
    }))
}

// i15 phase 3, payments and extension.
/// Extends a running contract by more periods, if its terms allow
/// extension and the new term stays within the plan's `max_term`: the
/// installments are appended on the same anchor, audited.
#[utoipa::path(post, path = "/api/v1/admin/rental-contracts/{id}/extend", tag = "admin: orders",
    security(("bearer" = [])), params(("id" = String, Path)), request_body = crate::wire::contracts::ExtendBody,
    responses((status = 200, body = ContractBody), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn extend_contract(
    State(state): State<AppState>,
    actor: AdminActor,
    Path(raw): Path<String>,
    Json(body): Json<crate::wire::contracts::ExtendBody>,
) -> ApiResult<Json<ContractBody>> {
    let id = path_id(&raw, "rental contract")?;
    let detail = contracts::extend(&state.services, &actor.tenant, id, &body, &actor.audit).await?;
    Ok(Json(ContractBody {
        contract: ContractView::new(&detail),
    }))
}
