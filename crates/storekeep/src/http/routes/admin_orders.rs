//! `/api/v1/admin/orders`: staff find orders and move them through their
//! life (mark paid, fulfil, deliver, cancel, refund); `/api/v1/admin/events`
//! shows the transactional outbox; `/api/v1/admin/payments/unmatched`
//! the money processors confirmed for orders no longer awaiting it.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use storekeep_domain::{OrderId, OrderStatus};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::http::authz::AdminActor;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Json, Query};
use crate::http::routes::path_id;
use crate::services::{orders, payments};
use crate::wire::orders::{
    EventPage, EventQuery, OrderBody, OrderPage, OrderQuery, OrderView, PageQuery, ReasonBody,
    RefundRequest, ResolveRequest, UnmatchedBody, UnmatchedPage,
};
use crate::wire::problem::Problem;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_orders))
        .routes(routes!(get_order))
        .routes(routes!(mark_paid))
        .routes(routes!(fulfil))
        .routes(routes!(deliver))
        .routes(routes!(cancel))
        .routes(routes!(refund))
        .routes(routes!(list_events))
        .routes(routes!(list_unmatched))
        .routes(routes!(resolve_unmatched))
}

/// Orders, newest first, filtered.
#[utoipa::path(get, path = "/api/v1/admin/orders", tag = "admin: orders",
    security(("bearer" = [])), params(OrderQuery),
    responses((status = 200, body = OrderPage), (status = 400, body = Problem)))]
async fn list_orders(
    State(state): State<AppState>,
    actor: AdminActor,
    Query(q): Query<OrderQuery>,
) -> ApiResult<Json<OrderPage>> {
    let (filter, page) = orders::parse_query(&state.services, &q)?;
    let found = orders::list(
        &state.services,
        &actor.tenant,
        &filter,
        &page,
        orders::Audience::Staff,
    )
    .await?;
    Ok(Json(OrderPage {
        items: found.items,
        next_cursor: found.next_cursor,
    }))
}

/// An order with its lines, status history, payment attempts and refunds.
#[utoipa::path(get, path = "/api/v1/admin/orders/{id}", tag = "admin: orders",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = OrderBody), (status = 404, body = Problem)))]
async fn get_order(
    State(state): State<AppState>,
    actor: AdminActor,
    Path(raw): Path<String>,
) -> ApiResult<Json<OrderBody>> {
    let detail = orders::get(&state.services, &actor.tenant, path_id(&raw, "order")?).await?;
    Ok(Json(OrderBody {
        order: OrderView::new(&detail, &state.services.keyring)?,
    }))
}

async fn move_to(
    state: &AppState,
    actor: &AdminActor,
    raw: &str,
    to: OrderStatus,
    reason: Option<String>,
) -> ApiResult<Json<OrderBody>> {
    let id: OrderId = path_id(raw, "order")?;
    let detail =
        orders::move_order(&state.services, &actor.tenant, id, to, reason, &actor.audit).await?;
    Ok(Json(OrderBody {
        order: OrderView::new(&detail, &state.services.keyring)?,
    }))
}

/// Confirms payment by hand (the `manual` provider, or a payment taken
/// outside storekeep): pending_payment → paid, once.
#[utoipa::path(post, path = "/api/v1/admin/orders/{id}/mark-paid", tag = "admin: orders",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = OrderBody), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn mark_paid(
    State(state): State<AppState>,
    actor: AdminActor,
    Path(raw): Path<String>,
) -> ApiResult<Json<OrderBody>> {
    let id: OrderId = path_id(&raw, "order")?;
    let detail = orders::mark_paid(&state.services, &actor.tenant, id, &actor.audit).await?;
    Ok(Json(OrderBody {
        order: OrderView::new(&detail, &state.services.keyring)?,
    }))
}

/// paid → fulfilled.
#[utoipa::path(post, path = "/api/v1/admin/orders/{id}/fulfil", tag = "admin: orders",
    security(("bearer" = [])), params(("id" = String, Path)), request_body(content = Option<ReasonBody>),
    responses((status = 200, body = OrderBody), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn fulfil(
    State(state): State<AppState>,
    actor: AdminActor,
    Path(raw): Path<String>,
    crate::http::extract::OptionalJson(body): crate::http::extract::OptionalJson<ReasonBody>,
) -> ApiResult<Json<OrderBody>> {
    move_to(
        &state,
        &actor,
        &raw,
        OrderStatus::Fulfilled,
        body.unwrap_or_default().reason,
    )
    .await
}

/// fulfilled → delivered.
#[utoipa::path(post, path = "/api/v1/admin/orders/{id}/deliver", tag = "admin: orders",
    security(("bearer" = [])), params(("id" = String, Path)), request_body(content = Option<ReasonBody>),
    responses((status = 200, body = OrderBody), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn deliver(
    State(state): State<AppState>,
    actor: AdminActor,
    Path(raw): Path<String>,
    crate::http::extract::OptionalJson(body): crate::http::extract::OptionalJson<ReasonBody>,
) -> ApiResult<Json<OrderBody>> {
    move_to(
        &state,
        &actor,
        &raw,
        OrderStatus::Delivered,
        body.unwrap_or_default().reason,
    )
    .await
}

/// pending_payment → cancelled: reserved stock and deal usage are given
/// back. Paid orders are refunded instead.
#[utoipa::path(post, path = "/api/v1/admin/orders/{id}/cancel", tag = "admin: orders",
    security(("bearer" = [])), params(("id" = String, Path)), request_body(content = Option<ReasonBody>),
    responses((status = 200, body = OrderBody), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn cancel(
    State(state): State<AppState>,
    actor: AdminActor,
    Path(raw): Path<String>,
    crate::http::extract::OptionalJson(body): crate::http::extract::OptionalJson<ReasonBody>,
) -> ApiResult<Json<OrderBody>> {
    move_to(
        &state,
        &actor,
        &raw,
        OrderStatus::Cancelled,
        body.unwrap_or_default().reason,
    )
    .await
}

/// Refunds part or all of a paid order, optionally putting units back
/// into stock; the refund that completes the total moves the order to
/// refunded.
#[utoipa::path(post, path = "/api/v1/admin/orders/{id}/refunds", tag = "admin: orders",
    security(("bearer" = [])), params(("id" = String, Path)), request_body = RefundRequest,
    responses((status = 201, body = OrderBody), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn refund(
    State(state): State<AppState>,
    actor: AdminActor,
    Path(raw): Path<String>,
    Json(body): Json<RefundRequest>,
) -> ApiResult<(StatusCode, Json<OrderBody>)> {
    let id: OrderId = path_id(&raw, "order")?;
    let detail = orders::refund(&state.services, &actor.tenant, id, body, &actor.audit).await?;
    Ok((
        StatusCode::CREATED,
        Json(OrderBody {
            order: OrderView::new(&detail, &state.services.keyring)?,
        }),
    ))
}

/// The shop's outbox events (order, payment and refund changes), oldest
/// first; what email and webhook delivery consume.
#[utoipa::path(get, path = "/api/v1/admin/events", tag = "admin: orders",
    security(("bearer" = [])), params(EventQuery),
    responses((status = 200, body = EventPage), (status = 400, body = Problem)))]
async fn list_events(
    State(state): State<AppState>,
    actor: AdminActor,
    Query(q): Query<EventQuery>,
) -> ApiResult<Json<EventPage>> {
    let page =
        storekeep_domain::PageRequest::new(q.limit, q.after).map_err(ApiError::BadRequest)?;
    let found = orders::events(&state.services, &actor.tenant, q.topic.as_deref(), &page).await?;
    Ok(Json(EventPage {
        items: found.items,
        next_cursor: found.next_cursor,
    }))
}

/// Payments the processor confirmed for an order no longer awaiting payment
/// (cancelled meanwhile, or paid by another attempt) and not yet marked
/// resolved, newest first: money taken that paid nothing.
#[utoipa::path(get, path = "/api/v1/admin/payments/unmatched", tag = "admin: orders",
    security(("bearer" = [])), params(PageQuery),
    responses((status = 200, body = UnmatchedPage), (status = 400, body = Problem)))]
async fn list_unmatched(
    State(state): State<AppState>,
    actor: AdminActor,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<UnmatchedPage>> {
    let page =
        storekeep_domain::PageRequest::new(q.limit, q.after).map_err(ApiError::BadRequest)?;
    let found = payments::unmatched(&state.services, &actor.tenant, &page).await?;
    Ok(Json(UnmatchedPage {
        items: found.items,
        next_cursor: found.next_cursor,
    }))
}

/// Marks an unmatched payment resolved with what was done about it (a
/// refund at the processor, the goods sent after all); audited
/// `payment.resolve`. A payment that paid its order is not found; one
/// already resolved is a conflict.
#[utoipa::path(post, path = "/api/v1/admin/payments/{id}/resolve", tag = "admin: orders",
    security(("bearer" = [])), params(("id" = String, Path)), request_body = ResolveRequest,
    responses((status = 200, body = UnmatchedBody), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn resolve_unmatched(
    State(state): State<AppState>,
    actor: AdminActor,
    Path(raw): Path<String>,
    Json(body): Json<ResolveRequest>,
) -> ApiResult<Json<UnmatchedBody>> {
    let id = path_id(&raw, "payment")?;
    let payment = payments::resolve(
        &state.services,
        &actor.tenant,
        id,
        &body.resolution,
        &actor.audit,
    )
    .await?;
    Ok(Json(UnmatchedBody { payment }))
}
