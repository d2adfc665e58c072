//! The HTTP API: `build_router()` merges every resource's routes, the
//! OpenAPI document generated from them, and the middleware stack.

pub mod error;
pub mod extract;
pub mod middleware;
pub mod routes;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::header;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::{Router, middleware as mw};
use tower_http::limit::RequestBodyLimitLayer;
use utoipa::OpenApi;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;

use crate::app::AppState;
use error::ApiError;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "storekeep",
        description = "Multi-tenant headless commerce server. Shop routes are addressed to one tenant by Host or X-Tenant; platform routes need the platform token."
    ),
    modifiers(&SecuritySchemes),
    tags(
        (name = "health", description = "Liveness, readiness and status"),
        (name = "operations", description = "Metrics"),
        (name = "platform", description = "Platform operators: tenants and plans"),
        (name = "store", description = "Storefront API of one shop"),
    )
)]
struct ApiDoc;

struct SecuritySchemes;

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "platform_token",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// Every documented route, and the OpenAPI document describing them.
pub fn api() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(routes::health::router())
        .merge(routes::metrics::router())
        .merge(routes::platform_tenants::router())
        .merge(routes::platform_plans::router())
        .merge(routes::store::router())
        .split_for_parts()
}

pub fn build_router(state: AppState) -> Router {
    let (api_routes, mut openapi) = api();
    openapi.info.version = crate::VERSION.to_owned();
    let spec: Arc<str> = openapi
        .to_json()
        .expect("the OpenAPI document serialises")
        .into();
    let page: Arc<str> = routes::docs::render(&openapi).into();
    let body_limit = state.settings.body_limit_bytes;

    api_routes
        .route(
            "/api/openapi.json",
            get(move || async move {
                (
                    [(header::CONTENT_TYPE, "application/json")],
                    spec.to_string(),
                )
            }),
        )
        .route(
            "/api/docs",
            get(move || async move { Html(page.to_string()) }),
        )
        .route_layer(mw::from_fn(middleware::record_route))
        .fallback(|| async {
            ApiError::NotFound("there is nothing at this path".into()).into_response()
        })
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(RequestBodyLimitLayer::new(body_limit))
        .layer(mw::from_fn_with_state(state.clone(), middleware::timeout))
        .layer(mw::from_fn_with_state(state.clone(), middleware::observe))
        .with_state(state)
}
