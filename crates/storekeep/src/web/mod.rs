//! The storefront: server-rendered HTML pages of one shop at the shop's own
//! host (a custom domain or `{slug}.{base_domain}`), beside the JSON API.
//!
//! A layer next to `http/`: page handlers extract the [`shop::Shop`] (by
//! host only), call the SAME services the API calls, and render askama
//! templates (`templates/storefront/`) inside the layout with a
//! [`chrome::Chrome`]. `web/` never touches the store (checked by a grep in
//! ARCHITECTURE.md). Every request whose path is not `/api/…` or
//! `/media/…` comes here.
//!
//! Paths: `/`, `/products/{handle}`, `/categories/{handle}`, `/search`,
//! `/deals`, `/legal/{terms|privacy|returns}`, `/sitemap.xml`,
//! `/robots.txt`, `/assets/{file}`. Reserved for the session pages:
//! `/cart…`, `/checkout…`, `/orders/…`, `/account…`, `/signin`,
//! `/signup`, `/signout`, `/password-reset…`.

pub mod assets;
pub mod branding;
pub mod cache;
pub mod chrome;
pub mod console;
pub mod csrf;
pub mod i18n;
pub mod images;
pub mod limit;
pub mod money;
pub mod pages;
pub mod respond;
pub mod session;
pub mod shop;
pub mod shopping;

use axum::Router;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::app::AppState;
use crate::http::error::ApiError;
pub use respond::{Fragment, WebError};

/// The storefront's routes (merged into the one router by `http::build_router`).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(pages::home::page))
        .route("/assets/{file}", get(assets::serve))
        .route("/products/{handle}", get(pages::product::page))
        .route("/categories/{handle}", get(pages::catalog::page))
        .route("/search", get(pages::search::page))
        .route("/deals", get(pages::deals::page))
        .route("/legal/{page}", get(pages::legal::page))
        .route("/sitemap.xml", get(pages::seo::sitemap))
        .route("/robots.txt", get(pages::seo::robots))
}

/// The storefront as `http::build_router` mounts it: the catalog's routes
/// ([`router`]) and the session pages' (`pages::shopper::router`), behind
/// the pages' rate limit (`limit::pages`, outermost: a refused request
/// reads no session) and the visitor layers — `session::layer` (cookies →
/// visitor, layout slots, `Set-Cookie`) outside `csrf::guard` (every form
/// post checked before its handler runs).
pub fn routes(state: &AppState) -> Router<AppState> {
    router()
        .merge(pages::shopper::router())
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            csrf::guard,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            session::layer,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            limit::pages,
        ))
}

/// Whatever no route took: `/api/…` and `/media/…` keep the API's
/// problem+json 404; every other path is a storefront page that does not
/// exist (an HTML 404).
pub async fn fallback(State(state): State<AppState>, req: Request) -> Response {
    let path = req.uri().path();
    if path == "/api" || path.starts_with("/api/") || path.starts_with("/media/") {
        return ApiError::NotFound("there is nothing at this path".into()).into_response();
    }
    // At a shop's host, in the shop's language.
    let (mut parts, _) = req.into_parts();
    match <shop::Shop as axum::extract::FromRequestParts<AppState>>::from_request_parts(
        &mut parts, &state,
    )
    .await
    {
        Ok(shop) => WebError::NotFound.render(shop.lang),
        Err(_) => WebError::NotFound.into_response(),
    }
}
