//! `/api/v1/store/carts`: carts for guests (by cart token) and customers
//! (by session), and checkout.

use std::sync::Arc;

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use storekeep_domain::{CartId, CartItemId, Tenant, UserKind, UserRecord};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::http::authn::{Authentication, Principal};
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{CurrentTenant, Json, OptionalJson};
use crate::http::routes::path_id;
use crate::services::cart_edits;
use crate::services::carts::{CART_TOKEN_HEADER, CartAccess};
use crate::services::checkout::{self, Checkout};
use crate::wire::carts::{CartBody, CartChanges, NewCartBody, NewItem, QuantityBody};
use crate::wire::orders::OrderBody;
use crate::wire::orders::{CheckoutRequest, OrderView};
use crate::wire::problem::Problem;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_cart))
        .routes(routes!(get_cart, update_cart))
        .routes(routes!(add_item))
        .routes(routes!(update_item, remove_item))
        .routes(routes!(checkout_cart))
}

/// Whoever is shopping: the shop, the customer if logged in, and the cart
/// token if one was sent.
pub struct Shopper {
    pub tenant: Arc<Tenant>,
    pub customer: Option<UserRecord>,
    pub access: CartAccess,
}

impl FromRequestParts<AppState> for Shopper {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let CurrentTenant(tenant) = CurrentTenant::from_request_parts(parts, state).await?;
        let customer = match parts.extensions.get::<Authentication>() {
            Some(Authentication::Valid(Principal::User { user, .. }))
                if user.kind == UserKind::Customer && user.tenant_id == Some(tenant.id) =>
            {
                Some((**user).clone())
            }
            Some(Authentication::Invalid) => {
                return Err(ApiError::Unauthorized(
                    "the bearer credential is unknown, expired or revoked".into(),
                ));
            }
            _ => None,
        };
        let token = parts
            .headers
            .get(CART_TOKEN_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let access = CartAccess {
            token,
            customer: customer.as_ref().map(|u| u.id),
        };
        Ok(Self {
            tenant,
            customer,
            access,
        })
    }
}

/// Creates a cart (optionally with items). The response carries the cart
/// token once; send it back as `X-Cart-Token`. A logged-in customer's cart
/// is also theirs by session.
#[utoipa::path(post, path = "/api/v1/store/carts", tag = "store: carts",
    security((), ("bearer" = [])),
    request_body(content = Option<NewCartBody>),
    responses((status = 201, body = CartBody), (status = 422, body = Problem)))]
async fn create_cart(
    State(state): State<AppState>,
    shopper: Shopper,
    OptionalJson(body): OptionalJson<NewCartBody>,
) -> ApiResult<(StatusCode, Json<CartBody>)> {
    let body = body.unwrap_or_default();
    let cart = cart_edits::create(
        &state.services,
        &shopper.tenant,
        shopper.customer.as_ref(),
        &body.items,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(CartBody { cart })))
}

#[utoipa::path(get, path = "/api/v1/store/carts/{id}", tag = "store: carts",
    security(("cart_token" = []), ("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = CartBody), (status = 404, body = Problem)))]
async fn get_cart(
    State(state): State<AppState>,
    shopper: Shopper,
    Path(raw): Path<String>,
) -> ApiResult<Json<CartBody>> {
    let id = path_id(&raw, "cart")?;
    let cart = cart_edits::show(&state.services, &shopper.tenant, id, &shopper.access).await?;
    Ok(Json(CartBody { cart }))
}

/// Sets the coupon code, shipping method and destination (country,
/// region) the totals are computed for; `null` clears a field.
#[utoipa::path(patch, path = "/api/v1/store/carts/{id}", tag = "store: carts",
    security(("cart_token" = []), ("bearer" = [])),
    params(("id" = String, Path)), request_body = CartChanges,
    responses((status = 200, body = CartBody), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn update_cart(
    State(state): State<AppState>,
    shopper: Shopper,
    Path(raw): Path<String>,
    Json(body): Json<CartChanges>,
) -> ApiResult<Json<CartBody>> {
    let id: CartId = path_id(&raw, "cart")?;
    let cart =
        cart_edits::change(&state.services, &shopper.tenant, id, &shopper.access, body).await?;
    Ok(Json(CartBody { cart }))
}

/// Adds units of a variant (to its existing line, if any).
#[utoipa::path(post, path = "/api/v1/store/carts/{id}/items", tag = "store: carts",
    security(("cart_token" = []), ("bearer" = [])),
    params(("id" = String, Path)), request_body = NewItem,
    responses((status = 201, body = CartBody), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn add_item(
    State(state): State<AppState>,
    shopper: Shopper,
    Path(raw): Path<String>,
    Json(body): Json<NewItem>,
) -> ApiResult<(StatusCode, Json<CartBody>)> {
    let id: CartId = path_id(&raw, "cart")?;
    let cart =
        cart_edits::add_item(&state.services, &shopper.tenant, id, &shopper.access, &body).await?;
    Ok((StatusCode::CREATED, Json(CartBody { cart })))
}

#[utoipa::path(patch, path = "/api/v1/store/carts/{id}/items/{item_id}", tag = "store: carts",
    security(("cart_token" = []), ("bearer" = [])),
    params(("id" = String, Path), ("item_id" = String, Path)), request_body = QuantityBody,
    responses((status = 200, body = CartBody), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn update_item(
    State(state): State<AppState>,
    shopper: Shopper,
    Path((raw, raw_item)): Path<(String, String)>,
    Json(body): Json<QuantityBody>,
) -> ApiResult<Json<CartBody>> {
    let id: CartId = path_id(&raw, "cart")?;
    let item: CartItemId = path_id(&raw_item, "cart item")?;
    let cart = cart_edits::set_item(
        &state.services,
        &shopper.tenant,
        id,
        &shopper.access,
        item,
        body.quantity,
    )
    .await?;
    Ok(Json(CartBody { cart }))
}

#[utoipa::path(delete, path = "/api/v1/store/carts/{id}/items/{item_id}", tag = "store: carts",
    security(("cart_token" = []), ("bearer" = [])),
    params(("id" = String, Path), ("item_id" = String, Path)),
    responses((status = 200, body = CartBody), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn remove_item(
    State(state): State<AppState>,
    shopper: Shopper,
    Path((raw, raw_item)): Path<(String, String)>,
) -> ApiResult<Json<CartBody>> {
    let id: CartId = path_id(&raw, "cart")?;
    let item: CartItemId = path_id(&raw_item, "cart item")?;
    let cart = cart_edits::remove_item(&state.services, &shopper.tenant, id, &shopper.access, item)
        .await?;
    Ok(Json(CartBody { cart }))
}

/// Turns the cart into an order: every line's stock is reserved, deal
/// usage consumed and the payment started in one transaction — or nothing
/// happens and a 409 names the lines short of stock. `Idempotency-Key` is
/// required: a retry with the same key and body returns the same order
/// (with `Idempotent-Replayed: true`) and creates nothing; the same key
/// with another body is a 422.
#[utoipa::path(post, path = "/api/v1/store/carts/{id}/checkout", tag = "store: carts",
    security(("cart_token" = []), ("bearer" = [])),
    params(("id" = String, Path), ("Idempotency-Key" = String, Header, description = "unique per checkout (1 to 255 visible ASCII characters); repeat it when retrying", pattern = "^[!-~]{1,255}$")),
    request_body = CheckoutRequest,
    responses((status = 201, body = OrderBody), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn checkout_cart(
    State(state): State<AppState>,
    shopper: Shopper,
    Path(raw): Path<String>,
    headers: HeaderMap,
    Json(body): Json<CheckoutRequest>,
) -> ApiResult<Response> {
    let id: CartId = path_id(&raw, "cart")?;
    let key = checkout::parse_key(
        headers
            .get("idempotency-key")
            .map(|v| v.to_str().unwrap_or("\u{7f}")),
    )?;
    let outcome = checkout::checkout(
        &state.services,
        &shopper.tenant,
        id,
        &shopper.access,
        key,
        body,
    )
    .await?;
    let (detail, replayed) = match outcome {
        Checkout::Created(d) => (d, false),
        Checkout::Replayed(d) => (d, true),
    };
    let order = OrderView::for_customer(&detail, &state.services.keyring)?;
    let mut response = (StatusCode::CREATED, Json(OrderBody { order })).into_response();
    if replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}
