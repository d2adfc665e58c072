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
pub mod credentials;
pub mod desk;
pub mod home;
pub mod page;
pub mod signin;
pub mod staff;

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
        .route_layer(from_fn_with_state(state.clone(), desk::guard))
        .route_layer(from_fn_with_state(state.clone(), desk::layer))
        // The stylesheet needs neither a desk nor a session.
        .route("/console/assets/{file}", get(page::asset))
}
