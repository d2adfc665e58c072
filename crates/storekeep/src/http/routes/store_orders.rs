//! `/api/v1/store/orders`: a customer's own orders (by session), or the
//! order made from a guest's cart (by that cart's token).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use storekeep_domain::{OrderDetail, OrderFilter, OrderId, PaymentOutcome, ValidationErrors};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Json, PageParams};
use crate::http::routes::path_id;
use crate::http::routes::store_carts::Shopper;
use crate::services::orders;
use crate::wire::orders::{OrderBody, OrderPage, OrderView, PayBody};
use crate::wire::problem::Problem;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_orders))
        .routes(routes!(get_order))
        .routes(routes!(pay_order))
}

/// The logged-in customer's orders, newest first.
#[utoipa::path(get, path = "/api/v1/store/orders", tag = "store: orders",
    security(("bearer" = [])), params(crate::wire::page::PageQuery),
    responses((status = 200, body = OrderPage), (status = 401, body = Problem)))]
async fn list_orders(
    State(state): State<AppState>,
    shopper: Shopper,
    PageParams(page): PageParams,
) -> ApiResult<Json<OrderPage>> {
    let Some(customer) = shopper.customer else {
        return Err(ApiError::Unauthorized(
            "log in as a customer to list your orders".into(),
        ));
    };
    let filter = OrderFilter {
        customer_id: Some(customer.id),
        ..Default::default()
    };
    let found = orders::list(
        &state.services,
        &shopper.tenant,
        &filter,
        &page,
        orders::Audience::Customer,
    )
    .await?;
    Ok(Json(OrderPage {
        items: found.items,
        next_cursor: found.next_cursor,
    }))
}

/// The order if the caller placed it: its customer's session, or the
/// token of the cart it was made from.
async fn own_order(state: &AppState, shopper: &Shopper, raw: &str) -> ApiResult<OrderDetail> {
    let id: OrderId = path_id(raw, "order")?;
    Ok(orders::own(&state.services, &shopper.tenant, &shopper.access, id).await?)
}

#[utoipa::path(get, path = "/api/v1/store/orders/{id}", tag = "store: orders",
    security(("cart_token" = []), ("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = OrderBody), (status = 404, body = Problem)))]
async fn get_order(
    State(state): State<AppState>,
    shopper: Shopper,
    Path(raw): Path<String>,
) -> ApiResult<Json<OrderBody>> {
    let detail = own_order(&state, &shopper, &raw).await?;
    Ok(Json(OrderBody {
        order: OrderView::for_customer(&detail, &state.services.keyring)?,
    }))
}

/// Starts another payment attempt for an unpaid order (after a decline).
#[utoipa::path(post, path = "/api/v1/store/orders/{id}/payments", tag = "store: orders",
    security(("cart_token" = []), ("bearer" = [])),
    params(("id" = String, Path)), request_body = PayBody,
    responses((status = 201, body = OrderBody), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn pay_order(
    State(state): State<AppState>,
    shopper: Shopper,
    Path(raw): Path<String>,
    Json(body): Json<PayBody>,
) -> ApiResult<(StatusCode, Json<OrderBody>)> {
    let detail = own_order(&state, &shopper, &raw).await?;
    let outcome = match body.test_outcome.as_deref() {
        None | Some("confirm") => PaymentOutcome::Confirmed,
        Some("decline") => PaymentOutcome::Declined,
        Some(_) => {
            return Err(
                ValidationErrors::single("test_outcome", "must be confirm or decline").into(),
            );
        }
    };
    let detail = orders::retry_payment(
        &state.services,
        &shopper.tenant,
        detail.order.id,
        &body.payment_provider,
        outcome,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(OrderBody {
            order: OrderView::for_customer(&detail, &state.services.keyring)?,
        }),
    ))
}
