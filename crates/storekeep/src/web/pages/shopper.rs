//! The session pages' routes — cart, checkout, orders, sign-in, sign-up,
//! sign-out, account, its rentals, sessions, MFA and privacy pages, password reset — and what they share: the [`Here`] extractor (the
//! shop and the visitor), rendering a page body in the layout with a
//! status, redirects after a post, and how a refused action is shown.
//! Every form post among them passes `csrf::guard` first (see
//! `web::routes`).

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::app::AppState;
use crate::web::chrome::Chrome;
use crate::web::pages::{
    account, account_security, cart, checkout, password_reset, privacy, rental_document, rentals,
};
use crate::web::session::Visitor;
use crate::web::shop::Shop;
use crate::web::shopping::Refused;
use crate::web::{Fragment, WebError, respond};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/cart", get(cart::show))
        .route("/cart/items", post(cart::add))
        .route("/cart/rentals", post(cart::rent))
        .route("/cart/items/{item}", post(cart::set_quantity))
        .route("/cart/items/{item}/remove", post(cart::remove))
        .route("/cart/coupon", post(cart::coupon))
        .route("/checkout", get(checkout::show).post(checkout::place))
        .route("/orders/{id}", get(checkout::order))
        .route("/signin", get(account::sign_in_page).post(account::sign_in))
        .route("/signin/code", get(account::code_page).post(account::code))
        .route("/signup", get(account::sign_up_page).post(account::sign_up))
        .route("/signout", post(account::sign_out))
        .route("/account", get(account::page))
        // The account's security and privacy pages (issue 17, "account").
        .route("/account/sessions", get(account_security::list))
        .route(
            "/account/sessions/revoke-all",
            post(account_security::revoke_all),
        )
        .route(
            "/account/sessions/{id}/revoke",
            post(account_security::revoke),
        )
        .route(
            "/account/mfa",
            get(account_security::mfa).post(account_security::mfa_start),
        )
        .route("/account/mfa/confirm", post(account_security::mfa_confirm))
        .route("/account/privacy", get(privacy::page))
        .route("/account/privacy/export", post(privacy::export))
        .route(
            "/account/privacy/erase",
            get(privacy::erase_page).post(privacy::erase),
        )
        .route("/account/erased", get(privacy::erased))
        .route(
            "/password-reset",
            get(password_reset::ask_page).post(password_reset::ask),
        )
        .route(
            "/password-reset/confirm",
            get(password_reset::confirm_page).post(password_reset::confirm),
        )
        .route("/password-reset/done", get(password_reset::done))
        // i17: the customer's rentals (web/pages/rentals.rs, rental_document.rs).
        .route("/account/rentals", get(rentals::list))
        .route("/account/rentals/{id}", get(rentals::show))
        .route("/account/rentals/{id}/payments", post(rentals::pay))
        .route(
            "/account/rentals/{id}/document",
            get(rental_document::document),
        )
}

/// The shop (by host) and its visitor (from `session::layer`).
pub struct Here {
    pub shop: Shop,
    pub visitor: Visitor,
    /// The client's address (sessions record it).
    pub ip: Option<String>,
    /// The request's id (audit entries carry it).
    pub request_id: Option<String>,
}

impl FromRequestParts<AppState> for Here {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let shop = Shop::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let visitor = parts.extensions.get::<Visitor>().cloned().ok_or_else(|| {
            WebError::Internal("the session layer did not run".into()).render(shop.lang)
        })?;
        let ctx = parts
            .extensions
            .get::<crate::http::middleware::RequestContext>();
        let ip = ctx.and_then(|c| c.client_ip).map(|ip| ip.to_string());
        let request_id = ctx.map(|c| c.request_id.to_string());
        Ok(Self {
            shop,
            visitor,
            ip,
            request_id,
        })
    }
}

/// `main` (a rendered page body) in the layout, answered with `status`.
pub fn render(
    state: &AppState,
    shop: &Shop,
    path: &str,
    status: StatusCode,
    title: &str,
    main: Result<String, askama::Error>,
) -> Response {
    render_with_head(state, shop, path, status, title, "", main)
}

/// [`render`], with `head` added to the page's `<head>`.
pub fn render_with_head(
    state: &AppState,
    shop: &Shop,
    path: &str,
    status: StatusCode,
    title: &str,
    head: &str,
    main: Result<String, askama::Error>,
) -> Response {
    let main = match main {
        Ok(m) => m,
        Err(e) => return WebError::Internal(format!("rendering {path}: {e}")).render(shop.lang),
    };
    let chrome = Chrome::new(state, shop, path);
    let fragment = Fragment {
        title: format!("{title} · {}", shop.name()),
        head: format!("<meta name=\"robots\" content=\"noindex\">{head}"),
        main,
        hit: false,
        canonical_path: None,
    };
    match respond::page(
        &chrome,
        &fragment,
        state.services.media.public_origin().as_deref(),
    ) {
        Ok(mut r) => {
            *r.status_mut() = status;
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(e) => e.render(shop.lang),
    }
}

/// The answer to a successful form post: `303 See Other` to `to` (a path
/// of this shop), so a reload does not post again.
pub fn see_other(to: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// The status a refused action's page is shown with.
pub fn status_of(r: &Refused) -> StatusCode {
    match r {
        Refused::Fields(_) => StatusCode::UNPROCESSABLE_ENTITY,
        Refused::Conflict { .. } => StatusCode::CONFLICT,
        Refused::NotFound => StatusCode::NOT_FOUND,
        Refused::Fault(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// A form that could not be read at all (not UTF-8, a malformed body).
pub fn unreadable(shop: &Shop) -> Response {
    WebError::BadRequest("the form could not be read".into()).render(shop.lang)
}

/// A path segment or query value that may be shown safely in a `Location`:
/// only local paths.
pub fn local_path(raw: Option<&str>) -> &str {
    match raw {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.contains('\\')
                && p.len() <= 512
                && p.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            p
        }
        _ => "/",
    }
}

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(local_path(Some("/checkout")), "/checkout");
        for bad in [
            "//evil.example",
            "https://evil.example",
            "/\\evil",
            "checkout",
        ] {
            assert_eq!(local_path(Some(bad)), "/", "{bad}");
        }
        assert_eq!(local_path(None), "/");
    }
}
