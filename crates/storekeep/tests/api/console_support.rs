//! Helpers of the console tests: a server with a base domain (the
//! platform's console at `shops.example`, shops' consoles at
//! `{slug}.shops.example`), staff of each role made with the CLI, and a
//! signed-in console browser.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use storekeep_test_support::TestApp;

use crate::identity::{PASSWORD, cli_operator, cli_staff, now_unix, token, totp};
use crate::web_browser::{Browser, Page};
use crate::web_support::{BASE, host, shop};

pub use crate::web_support::web_app;

/// The console's session cookie as the test server names it (Secure
/// cookies, so `__Host-`).
pub const SESSION: &str = "__Host-sk_console";
/// The pending MFA challenge's cookie.
pub const SIGN_IN: &str = "__Host-sk_console_signin";

/// A shop `slug` with an owner (the owner's API token) and a staff member
/// of each role `{role}@{slug}.example`.
pub async fn staffed_shop(app: &TestApp, slug: &str) -> String {
    let owner = shop(app, slug).await;
    for role in ["admin", "staff", "viewer"] {
        cli_staff(app, slug, &format!("{role}@{slug}.example"), role).await;
    }
    owner
}

/// Signs `email` in at the console of `host` (no MFA); the browser keeps
/// the session cookie. Asserts the sign-in lands on the console.
pub async fn sign_in_at(app: &TestApp, host: &str, email: &str) -> Browser {
    let mut b = Browser::new(app, host);
    let form = b.get("/console/signin").await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    let csrf = form.csrf();
    let done = b
        .post(
            "/console/signin",
            &[("csrf", &csrf), ("email", email), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location.as_deref(), Some("/console"));
    b
}

/// A console browser signed in as `{role}@{slug}.example` (the owner is
/// `owner@{slug}.example`) at the shop's host.
pub async fn staff_console(app: &TestApp, slug: &str, role: &str) -> Browser {
    sign_in_at(app, &host(slug), &format!("{role}@{slug}.example")).await
}

/// The console home's row of today's sales in USD (orders, revenue and
/// last week's same day), as `slug`'s owner sees it.
pub async fn todays_sales_row(app: &TestApp, slug: &str) -> String {
    let home = staff_console(app, slug, "owner")
        .await
        .get("/console")
        .await;
    assert_eq!(home.status, StatusCode::OK, "{}", home.body);
    sales_row(&home)
}

/// The row of today's sales in USD on a console home page.
pub fn sales_row(home: &Page) -> String {
    let row = home
        .body
        .split("<tr data-sales=\"USD\">")
        .nth(1)
        .unwrap_or_else(|| panic!("no USD row of sales in {}", home.body));
    row[..row.find("</tr>").unwrap()].to_owned()
}

/// A platform operator `email` and a console browser signed in as them at
/// the platform's host.
pub async fn operator_console(app: &TestApp, email: &str) -> Browser {
    cli_operator(app, email).await;
    sign_in_at(app, BASE, email).await
}

/// Turns TOTP on for `email` (staff of `slug`) through the API; returns
/// the secret.
pub async fn enable_totp(app: &TestApp, slug: &str, email: &str) -> String {
    let t = token(app, Some(slug), email, "staff").await;
    let enrol: Value = app
        .shop(slug, Method::POST, "/api/v1/auth/mfa/totp")
        .bearer_auth(&t)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = enrol["secret"].as_str().unwrap().to_owned();
    let ok = app
        .shop(slug, Method::POST, "/api/v1/auth/mfa/totp/confirm")
        .bearer_auth(&t)
        .json(&json!({"code": totp(&secret, now_unix())}))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    secret
}

/// Posts a console form with the page's CSRF token (taken from `from`,
/// a page of the same session), as a same-origin browser does.
pub async fn submit(b: &mut Browser, from: &Page, path: &str, fields: &[(&str, &str)]) -> Page {
    let csrf = from.csrf();
    let mut all = vec![("csrf", csrf.as_str())];
    all.extend_from_slice(fields);
    b.post(path, &all).await
}

/// The number a "needs attention" tile shows (`data-figure="{key}"`).
pub fn figure(page: &Page, key: &str) -> String {
    let needle = format!("data-figure=\"{key}\">");
    let at = page
        .body
        .find(&needle)
        .unwrap_or_else(|| panic!("no figure {key}: {}", page.body))
        + needle.len();
    page.body[at..at + page.body[at..].find('<').unwrap()].to_owned()
}
