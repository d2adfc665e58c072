//! The HTTP API: `build_router()` merges every resource's routes, the
//! OpenAPI document generated from them, and the middleware stack.

pub mod authn;
pub mod authz;
pub mod error;
pub mod extract;
pub mod middleware;
pub mod openapi;
mod openapi_examples;
pub mod routes;
pub mod server;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::header;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::{Router, middleware as mw};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::app::AppState;
use error::ApiError;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "storekeep",
        description = "Multi-tenant headless commerce server. Shop routes (`/api/v1/store`, `/api/v1/admin`, `/api/v1/auth`) are addressed to one shop by its domain in Host or by `X-Tenant: {slug}`; platform routes need the platform token. Admin routes take a staff session, an API key or an OAuth token whose role or scopes hold the route's permission."
    ),
    tags(
        (name = "health", description = "Liveness, readiness and status"),
        (name = "operations", description = "Metrics"),
        (name = "platform", description = "Platform operators: tenants, plans, audit log"),
        (name = "auth", description = "Accounts, sessions, MFA, password reset, OAuth tokens"),
        (name = "store", description = "The storefront of one shop: its products, categories, search and deals, for anyone"),
        (name = "store: carts", description = "Carts and checkout, for guests (by cart token) and customers (by session)"),
        (name = "store: orders", description = "A customer's orders, or a guest's by the cart token"),
        (name = "admin: catalog", description = "Products, variants, stock, images, categories, bulk import and export"),
        (name = "admin: orders", description = "Orders through their life, refunds, the event outbox"),
        (name = "admin: deals", description = "Automatic deals and coupons"),
        (name = "admin: shop", description = "Settings, staff, API keys, OAuth clients, outbound webhooks, audit log"),
        (name = "webhooks", description = "Payment processors report outcomes"),
        (name = "admin: rentals", description = "Rental plans and serial-tracked rental units"),
        (name = "privacy", description = "Customers' rights: data export and erasure"),
    )
)]
struct ApiDoc;

/// Every documented route, and the OpenAPI document describing them.
/// Admin routes sit behind `authz::admin_guard`.
pub fn api(state: &AppState) -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let admin = OpenApiRouter::new()
        .merge(routes::admin_settings::router())
        .merge(routes::admin_staff::router())
        .merge(routes::admin_credentials::router())
        .merge(routes::audit_log::admin_router())
        .merge(routes::admin_orders::router())
        .merge(routes::admin_deals::router())
        .merge(routes::admin_webhooks::router())
        .merge(routes::admin_email::router())
        .merge(routes::admin_jobs::router())
        // Rental contracts (contracts part).
        .merge(routes::admin_contracts::router())
        // i16: customers' rights (export, erasure).
        .merge(routes::admin_customers::router())
        // i16: customers' rights by email (guest purchases).
        .merge(routes::admin_privacy::router())
        .merge(
            OpenApiRouter::new()
                .merge(routes::admin_catalog::router())
                .merge(routes::admin_bulk::router())
                // Plans and units: product pages show their terms.
                .merge(routes::admin_rentals::router())
                .route_layer(mw::from_fn_with_state(
                    state.clone(),
                    routes::admin_catalog::invalidate_after_writes,
                )),
        )
        .route_layer(mw::from_fn_with_state(state.clone(), authz::admin_guard));
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(routes::health::router())
        .merge(routes::metrics::router())
        .merge(routes::platform_tenants::router())
        .merge(routes::platform_plans::router())
        .merge(routes::audit_log::platform_router())
        .merge(routes::auth::router())
        .merge(routes::store::router())
        .merge(routes::store_catalog::router())
        .merge(routes::store_carts::router())
        .merge(routes::store_orders::router())
        .merge(routes::store_deals::router())
        .merge(routes::webhooks::router())
        .merge(routes::platform_jobs::router())
        .merge(routes::store_rental_plans::router())
        // Rental contracts (contracts part).
        .merge(routes::store_rentals::router())
        // i16: customers' rights (export, erasure).
        .merge(routes::store_account::router())
        .merge(admin)
        .split_for_parts()
}

pub fn build_router(state: AppState) -> Router {
    let (api_routes, mut openapi) = api(&state);
    openapi.info.version = crate::VERSION.to_owned();
    if let Some(d) = openapi.info.description.as_mut() {
        d.push_str(&routes::docs::problems_markdown());
    }
    let spec: Arc<str> = openapi::document(&openapi).to_string().into();
    let page: Arc<str> = routes::docs::page(&openapi.info.title, crate::VERSION).into();

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
        .route("/media/{*key}", get(routes::store_catalog::media_object))
        .route(
            "/api/docs",
            get(move || async move { Html(page.to_string()) }),
        )
        .route("/api/docs/assets/{file}", get(routes::docs::asset))
        // The console: `/console…`, at a shop's host or the platform's.
        .merge(crate::web::console::routes(&state))
        // The storefront: every other path, at a shop's host.
        .merge(crate::web::routes(&state))
        .route_layer(tower::util::MapRequestLayer::new(middleware::record_route))
        .fallback(crate::web::fallback)
        .layer(mw::from_fn_with_state(state.clone(), middleware::context))
        .layer(mw::from_fn_with_state(
            state.clone(),
            middleware::replica_reads,
        ))
        .layer(DefaultBodyLimit::disable())
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            panic_response,
        ))
        .layer(mw::from_fn_with_state(state.clone(), middleware::observe))
        .with_state(state)
}

/// A handler panic becomes a logged 500 problem instead of a dropped connection.
fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    let message = panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "unknown panic".into());
    ApiError::internal(format!("handler panicked: {message}")).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deny by default is only safe if every admin route is listed.
    #[tokio::test]
    async fn every_admin_route_has_a_permission() {
        let settings = crate::config::Settings::default();
        let (keys, index) = crate::crypto::Keyring::generate();
        let keyring = crate::crypto::Keyring::parse(&keys, &index).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/t.db", dir.path().display());
        let store = storekeep_store_sqlite::SqliteStore::connect(
            &url,
            storekeep_store::PoolConfig {
                max_connections: 1,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let state = AppState::new(std::sync::Arc::new(store), settings, keyring).unwrap();
        let (_, doc) = api(&state);
        let mut admin_ops = 0;
        for (path, item) in &doc.paths.paths {
            if !path.starts_with("/api/v1/admin") {
                continue;
            }
            for (method, op) in [
                ("GET", &item.get),
                ("POST", &item.post),
                ("PATCH", &item.patch),
                ("PUT", &item.put),
                ("DELETE", &item.delete),
            ] {
                if op.is_some() {
                    admin_ops += 1;
                    let m = axum::http::Method::from_bytes(method.as_bytes()).unwrap();
                    assert!(
                        authz::required(&m, path).is_some(),
                        "{method} {path} has no permission"
                    );
                }
            }
        }
        assert_eq!(
            admin_ops,
            authz::ADMIN_ROUTES.len(),
            "ADMIN_ROUTES lists a route that does not exist"
        );
    }
}
