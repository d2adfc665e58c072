//! The web console at `/console`: server-rendered pages where a shop's
//! staff (at the shop's host) and the platform's operators (at the
//! platform's own host) do their daily work, beside the storefront and
//! the JSON API.
//!
//! Like the storefront, handlers call the same `services/` functions the
//! API calls and never touch the store; pages are askama templates
//! (`templates/console/`) in one layout, with the strict CSP and no
//! JavaScript. What is new here:
//!
//! - `desk`: which console a host opens, who is signed in (the console's
//!   own session cookie holding an API session token), the CSRF check of
//!   every form post, and the extractors handlers take (`Signed`, `Staff`,
//!   `Operator`);
//! - `page`: the layout, a navigation that shows only what the account's
//!   role may open, and the console's error pages. A handler checks the
//!   permission its action needs (`Staff::require`) whether or not the
//!   page showed the button: the server refuses regardless.

pub mod audit;
pub mod chart;
pub mod credentials;
pub mod customers;
pub mod deals;
pub mod desk;
pub mod emails;
pub mod home;
pub mod images;
pub mod import;
pub mod jobs;
pub mod orders;
pub mod page;
pub mod payments;
pub mod plans;
pub mod platform;
pub mod platform_jobs;
pub mod products;
pub mod rentals;
pub mod settings;
pub mod signin;
pub mod staff;
pub mod stock;
pub mod webhooks;
pub mod webhooks_endpoint;

use axum::Router;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};

use crate::app::AppState;

/// The console's routes behind its layers: `desk::layer` (the desk and
/// who is at it) outside `desk::guard` (every form post checked before
/// its handler runs).
pub fn routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/console", get(home::page))
        .route("/console/signin", get(signin::page).post(signin::submit))
        .route(
            "/console/signin/code",
            get(signin::code_page).post(signin::code),
        )
        .route("/console/signout", post(signin::sign_out))
        // --- operators (i18-console) ---
        .route(
            "/console/shops",
            get(platform::shops).post(platform::open_shop),
        )
        .route("/console/shops/{slug}/status", post(platform::set_status))
        .route("/console/shops/{slug}/plan", post(platform::set_plan))
        .route(
            "/console/plans",
            get(platform::plans).post(platform::create_plan),
        )
        .route("/console/health", get(platform::health))
        .route("/console/backups/verify", post(platform::verify_backup))
        .route("/console/platform-audit", get(platform::audit_log))
        .route("/console/platform-audit/verify", post(platform::verify))
        // --- end operators ---
        // --- rentals (i18-rentals) ---
        .route("/console/rentals", get(rentals::list))
        .route(
            "/console/rentals/units",
            get(rentals::units).post(rentals::add_unit),
        )
        .route(
            "/console/rentals/units/{id}",
            get(rentals::unit).post(rentals::edit_unit),
        )
        .route("/console/rentals/units/{id}/status", post(rentals::inspect))
        .route("/console/rentals/{id}", get(rentals::contract))
        .route("/console/rentals/{id}/payments", post(rentals::pay))
        .route("/console/rentals/{id}/buyout", post(rentals::buy_out))
        .route("/console/rentals/{id}/return", post(rentals::return_goods))
        .route("/console/rentals/{id}/extend", post(rentals::extend))
        .route("/console/jobs", get(jobs::list))
        .route("/console/jobs/{id}/retry", post(jobs::retry))
        .route("/console/jobs/{id}/discard", post(jobs::discard))
        // --- end rentals ---
        // --- orders and customers (i18-orders) ---
        .route("/console/orders", get(orders::list))
        .route("/console/orders/{id}", get(orders::detail))
        .route("/console/orders/{id}/mark-paid", post(orders::mark_paid))
        .route("/console/orders/{id}/fulfil", post(orders::fulfil))
        .route("/console/orders/{id}/deliver", post(orders::deliver))
        .route("/console/orders/{id}/cancel", post(orders::cancel))
        .route("/console/orders/{id}/refund", post(orders::refund))
        .route("/console/customers", get(customers::list))
        .route("/console/customers/{id}", get(customers::detail))
        .route("/console/customers/{id}/export", post(customers::export))
        .route("/console/customers/{id}/erase", post(customers::erase))
        .route("/console/payments/unmatched", get(payments::unmatched))
        .route("/console/payments/{id}/resolve", post(payments::resolve))
        // --- end orders and customers ---
        // --- products (i18-catalog) ---
        .route("/console/products", get(products::list))
        .route(
            "/console/products/new",
            get(products::new_page).post(products::create),
        )
        .route("/console/products/export", get(products::export))
        .route(
            "/console/products/{id}",
            get(products::show).post(products::update),
        )
        .route(
            "/console/products/{id}/variants",
            post(products::add_variant),
        )
        .route(
            "/console/products/{id}/variants/{vid}/adjust",
            post(stock::adjust),
        )
        .route(
            "/console/products/{id}/variants/{vid}/ledger",
            get(stock::ledger),
        )
        .route("/console/deals", get(deals::list))
        .route(
            "/console/deals/new",
            get(deals::new_page).post(deals::create),
        )
        .route("/console/deals/{id}/end", post(deals::end))
        .route("/console/deals/{id}/delete", post(deals::delete))
        // --- end products ---
        // --- admin (i18-admin) ---
        .route(
            "/console/api-keys",
            get(credentials::api_keys).post(credentials::create_api_key),
        )
        .route(
            "/console/api-keys/{id}/revoke",
            post(credentials::revoke_api_key),
        )
        .route(
            "/console/oauth-clients",
            get(credentials::oauth_clients).post(credentials::create_oauth_client),
        )
        .route(
            "/console/oauth-clients/{id}/revoke",
            post(credentials::revoke_oauth_client),
        )
        .route("/console/audit", get(audit::log))
        .route("/console/staff", get(staff::list).post(staff::add))
        // --- end admin ---
        // --- images, deal targets, import (i18-import) ---
        .route(
            "/console/products/import",
            get(import::page).post(import::upload),
        )
        .route("/console/products/{id}/images", post(images::upload))
        .route(
            "/console/products/{id}/images/{image}/delete",
            post(images::delete),
        )
        // --- end images, deal targets, import ---
        // --- settings (i18-settings) ---
        .route(
            "/console/settings",
            get(settings::show).post(settings::save),
        )
        .route("/console/staff/{id}/role", post(staff::change_role))
        // --- end settings ---
        // --- webhooks (i18-hooks) ---
        .route(
            "/console/webhooks",
            get(webhooks::list).post(webhooks::create),
        )
        // --- end webhooks ---
        // --- webhooks and email previews (i18-hooks2) ---
        .route("/console/webhooks/{id}", get(webhooks_endpoint::show))
        .route(
            "/console/webhooks/{id}/status",
            post(webhooks_endpoint::set_status),
        )
        .route(
            "/console/webhooks/{id}/rotate",
            post(webhooks_endpoint::rotate),
        )
        .route("/console/webhooks/{id}/test", post(webhooks_endpoint::test))
        .route(
            "/console/webhooks/{id}/replay",
            post(webhooks_endpoint::replay),
        )
        .route(
            "/console/webhooks/{id}/delete",
            post(webhooks_endpoint::delete),
        )
        .route("/console/emails", get(emails::list))
        .route("/console/emails/{name}", get(emails::show))
        // --- end webhooks and email previews ---
        // --- jobs and plans (i18-jobs) ---
        .route("/console/jobs/{id}", get(jobs::detail))
        .route("/console/platform-jobs", get(platform_jobs::list))
        .route("/console/platform-jobs/{id}", get(platform_jobs::detail))
        .route(
            "/console/platform-jobs/{id}/retry",
            post(platform_jobs::retry),
        )
        .route(
            "/console/platform-jobs/{id}/discard",
            post(platform_jobs::discard),
        )
        .route(
            "/console/plans/{name}",
            get(plans::show).post(plans::update),
        )
        // --- end jobs and plans ---
        // --- import (i18-importjob) ---
        .route("/console/products/imports/{id}", get(import::show))
        // --- end import ---
        .route_layer(from_fn_with_state(state.clone(), desk::guard))
        .route_layer(from_fn_with_state(state.clone(), desk::layer))
        // The stylesheet needs neither a desk nor a session.
        .route("/console/assets/{file}", get(page::asset))
}
