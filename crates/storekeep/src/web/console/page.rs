//! How console pages answer: a page body (`main`) in the console's layout
//! (`templates/console/layout.html`), with the storefront's strict headers
//! (`web::respond::html`: CSP without inline script or style) and
//! `Cache-Control: no-store` (set by `desk::layer`). The navigation shows
//! only what the signed-in account may open.

use std::sync::LazyLock;

use askama::Template;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use storekeep_domain::Permission;

use crate::app::AppState;
use crate::web::WebError;
use crate::web::console::desk::{Desk, Scope};
use crate::web::i18n::Lang;

const CONSOLE_CSS: &[u8] = include_bytes!("../../../assets/console/console.css");

/// `/console/assets/console-<hash>.css`.
static CSS_URL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "/console/assets/console-{}.css",
        crate::web::branding::short_hash(CONSOLE_CSS)
    )
});

pub fn css_url() -> &'static str {
    &CSS_URL
}

/// `GET /console/assets/{file}`: the console's stylesheet under its current
/// name, cached for a year.
pub async fn asset(Path(file): Path<String>) -> Response {
    if CSS_URL.strip_prefix("/console/assets/") == Some(file.as_str()) {
        return (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/css; charset=utf-8"),
                ),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=31536000, immutable"),
                ),
            ],
            CONSOLE_CSS,
        )
            .into_response();
    }
    WebError::NotFound.into_response()
}

/// One link of the navigation.
#[derive(Debug, Clone)]
pub struct NavLink {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

/// A staff console's sections and what opening each needs.
const SHOP_SECTIONS: &[(&str, &str, Permission)] = &[
    ("/console", "Needs attention", Permission::OrdersRead),
    ("/console/orders", "Orders", Permission::OrdersRead),
    ("/console/customers", "Customers", Permission::CustomersRead),
    ("/console/products", "Products", Permission::CatalogRead),
    ("/console/rentals", "Rentals", Permission::OrdersRead),
    ("/console/jobs", "Jobs", Permission::OrdersRead),
    ("/console/deals", "Deals", Permission::CatalogRead),
    ("/console/api-keys", "API keys", Permission::CredentialsRead),
    ("/console/webhooks", "Webhooks", Permission::SettingsRead),
    ("/console/emails", "Emails", Permission::SettingsRead),
    ("/console/staff", "Staff", Permission::StaffRead),
    ("/console/audit", "Audit log", Permission::AuditRead),
    ("/console/settings", "Settings", Permission::SettingsRead),
];

/// The operators' sections.
const PLATFORM_SECTIONS: &[(&str, &str)] = &[
    ("/console", "Overview"),
    ("/console/shops", "Shops"),
    ("/console/plans", "Plans"),
    ("/console/platform-jobs", "Jobs"),
    ("/console/health", "Health"),
    ("/console/platform-audit", "Audit log"),
];

fn nav(desk: &Desk, path: &str) -> Vec<NavLink> {
    if desk.user.is_none() {
        return Vec::new();
    }
    let current = |href: &str| {
        if href == "/console" {
            path == "/console"
        } else {
            path == href || path.starts_with(&format!("{href}/"))
        }
    };
    match &desk.scope {
        Scope::Shop(_) => SHOP_SECTIONS
            .iter()
            .filter(|(_, _, p)| desk.can(*p))
            .map(|(href, label, _)| NavLink {
                href,
                label,
                current: current(href),
            })
            .collect(),
        Scope::Platform => PLATFORM_SECTIONS
            .iter()
            .map(|(href, label)| NavLink {
                href,
                label,
                current: current(href),
            })
            .collect(),
    }
}

#[derive(Template)]
#[template(path = "console/layout.html")]
struct Layout<'a> {
    css: &'a str,
    title: &'a str,
    desk_name: &'a str,
    platform: bool,
    user: Option<&'a str>,
    role: Option<&'a str>,
    nav: Vec<NavLink>,
    csrf: &'a str,
    main: &'a str,
}

/// `main` in the layout of `desk`'s console, answered with `status`.
pub fn render(
    state: &AppState,
    desk: &Desk,
    path: &str,
    status: StatusCode,
    title: &str,
    main: Result<String, askama::Error>,
) -> Response {
    let main = match main {
        Ok(m) => m,
        Err(e) => return WebError::Internal(format!("rendering {path}: {e}")).into_response(),
    };
    let csrf = desk.csrf(state);
    let desk_name = desk.scope.name();
    let user = desk.user.as_ref();
    let body = Layout {
        css: css_url(),
        title,
        desk_name: &desk_name,
        platform: matches!(desk.scope, Scope::Platform),
        user: user.map(|u| u.name.as_str()),
        role: user.and_then(|u| u.role).map(|r| r.as_str()),
        nav: nav(desk, path),
        csrf: &csrf,
        main: &main,
    }
    .render();
    match body {
        Ok(body) => crate::web::respond::html(status, body, Lang::En, None),
        Err(e) => WebError::Internal(format!("rendering the console layout: {e}")).into_response(),
    }
}

#[derive(Template)]
#[template(path = "console/message.html")]
struct Message<'a> {
    heading: &'a str,
    text: &'a str,
}

/// A page that only says something (a refusal, a missing record).
pub fn message(
    state: &AppState,
    desk: &Desk,
    status: StatusCode,
    heading: &str,
    text: &str,
) -> Response {
    render(
        state,
        desk,
        "",
        status,
        heading,
        Message { heading, text }.render(),
    )
}

/// The 403 page of an action the account may not take.
pub fn forbidden(state: &AppState, desk: &Desk, text: &str) -> Response {
    message(state, desk, StatusCode::FORBIDDEN, "Not allowed", text)
}

/// What a console page could not do: a web error (a page that does not
/// exist, a bad link) or a service's refusal.
#[derive(Debug)]
pub enum Failure {
    Web(WebError),
    Service(crate::services::ServiceError),
}

impl From<WebError> for Failure {
    fn from(e: WebError) -> Self {
        Self::Web(e)
    }
}

impl From<crate::services::ServiceError> for Failure {
    fn from(e: crate::services::ServiceError) -> Self {
        Self::Service(e)
    }
}

/// The page of a failure, in the console's layout. A service's refusal is
/// answered with the status and words the API gives it (a 404, a 409 of a
/// conflict, a 422 of invalid input, a 403 of a plan limit, a 503 of a
/// database that is down or a transaction that collided — nothing
/// written); only a fault of the server itself is a 500.
pub fn error(state: &AppState, desk: &Desk, e: impl Into<Failure>) -> Response {
    use crate::services::ServiceError;
    use storekeep_store::StoreError;
    let e = match e.into() {
        Failure::Web(e) => e,
        // What the web layer words itself (a missing record, a bad page
        // link, a database that is down).
        Failure::Service(
            e @ (ServiceError::BadRequest(_)
            | ServiceError::Store(
                StoreError::NotFound(_) | StoreError::InvalidCursor | StoreError::Unavailable(_),
            )),
        ) => WebError::from(e),
        Failure::Service(e) => {
            let api = crate::http::error::ApiError::from(e);
            let status = api.status();
            if status == StatusCode::INTERNAL_SERVER_ERROR {
                return WebError::Internal(api.to_string()).into_response();
            }
            let heading = match status {
                StatusCode::NOT_FOUND => "Not found",
                StatusCode::CONFLICT => "Not possible now",
                StatusCode::FORBIDDEN => "Not allowed",
                StatusCode::SERVICE_UNAVAILABLE | StatusCode::TOO_MANY_REQUESTS => "Try again",
                _ => "Not accepted",
            };
            let text = if status == StatusCode::NOT_FOUND {
                "There is nothing here.".to_owned()
            } else {
                api.to_string()
            };
            let mut r = message(state, desk, status, heading, &text);
            if status == StatusCode::SERVICE_UNAVAILABLE {
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            }
            return r;
        }
    };
    let (status, heading, text) = match &e {
        WebError::NoShop | WebError::NotFound => (
            StatusCode::NOT_FOUND,
            "Not found",
            "There is nothing here.".to_owned(),
        ),
        WebError::BadRequest(m) => (StatusCode::BAD_REQUEST, "Not accepted", m.clone()),
        WebError::Unavailable(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "Unavailable",
            "The database is not answering. Try again in a moment.".to_owned(),
        ),
        WebError::TooManyRequests(_) => (
            StatusCode::TOO_MANY_REQUESTS,
            "Too many requests",
            "Wait a moment and try again.".to_owned(),
        ),
        WebError::Internal(_) => return e.into_response(),
    };
    message(state, desk, status, heading, &text)
}

/// The 400 page of a request the console could not read (a form, a
/// filter, a page link), with `text` saying which.
pub fn bad_request(state: &AppState, desk: &Desk, text: impl Into<String>) -> Response {
    error(state, desk, WebError::BadRequest(text.into()))
}

/// The 400 page of a form that could not be read (a forged or truncated
/// post: the console's own forms always are).
pub fn unreadable_form(state: &AppState, desk: &Desk) -> Response {
    bad_request(state, desk, "The form could not be read.")
}

/// How the console writes a time: `2026-11-28 14:05 UTC`.
pub fn when(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// The link to a list's next page: `path` with the list's own filters
/// (`query`, empty values left out) and `after=<cursor>`; `None` on the
/// last page. Lists page by keyset only (the store's cursors), never by
/// counting rows.
pub fn next_link(path: &str, query: &[(&str, &str)], next_cursor: Option<&str>) -> Option<String> {
    let cursor = next_cursor?;
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in query.iter().filter(|(_, v)| !v.is_empty()) {
        q.append_pair(k, v);
    }
    q.append_pair("after", cursor);
    Some(format!("{path}?{}", q.finish()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_next_page_keeps_the_filters_and_adds_the_cursor() {
        assert_eq!(
            super::next_link("/console/orders", &[("status", "paid")], None),
            None
        );
        assert_eq!(
            super::next_link(
                "/console/orders",
                &[("status", "paid"), ("q", ""), ("email", "a b@x")],
                Some("c/1=")
            )
            .as_deref(),
            Some("/console/orders?status=paid&email=a+b%40x&after=c%2F1%3D")
        );
    }
}
