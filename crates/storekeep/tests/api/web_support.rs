//! Helpers of the storefront tests: a server with a base domain, shops
//! with an owner, page requests by host, and the checks every page must
//! pass (its CSP, no inline script or style).

use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use storekeep::config::Settings;
use storekeep_test_support::{TestApp, spawn_app_with};

use crate::catalog_support;
use crate::identity::admin;

pub const BASE: &str = "shops.example";

/// A server serving shops at `{slug}.shops.example`.
pub async fn web_app() -> TestApp {
    spawn_app_with(serve_at_base).await
}

/// Settings that serve shops (storefront and console) at
/// `{slug}.shops.example`.
pub fn serve_at_base(s: &mut Settings) {
    s.base_domain = Some(storekeep_domain::DomainName::parse(BASE).unwrap());
}

/// A shop with an owner; returns the owner's token.
pub async fn shop(app: &TestApp, slug: &str) -> String {
    catalog_support::shop(app, slug, None).await.0
}

pub fn host(slug: &str) -> String {
    format!("{slug}.{BASE}")
}

/// A page as a browser fetches it.
pub struct Page {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// Asserts the page is HTML under the storefront's CSP, with no inline
    /// script (but JSON-LD) and no inline style.
    pub fn assert_safe(&self) {
        assert!(
            self.header("content-type").starts_with("text/html"),
            "not HTML: {}",
            self.header("content-type")
        );
        let csp = self.header("content-security-policy");
        for part in [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "form-action 'self'",
        ] {
            assert!(csp.contains(part), "CSP lacks {part}: {csp}");
        }
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert_eq!(self.header("x-content-type-options"), "nosniff");
        assert!(!self.header("referrer-policy").is_empty());
        let lower = self.body.to_ascii_lowercase();
        assert!(!lower.contains(" style="), "a style attribute");
        assert!(!lower.contains("<style"), "a style element");
        let mut rest = lower.as_str();
        while let Some(i) = rest.find("<script") {
            let tag_end = rest[i..].find('>').map_or(rest.len(), |e| i + e);
            let tag = &rest[i..tag_end];
            assert!(
                tag.contains(" src=") || tag.contains("type=\"application/ld+json\""),
                "inline script: {tag}"
            );
            rest = &rest[tag_end..];
        }
        assert!(!lower.contains(" onclick=") && !lower.contains(" onload="));
    }

    /// The `href` of `<link rel="canonical">`.
    pub fn canonical(&self) -> Option<&str> {
        let i = self.body.find("<link rel=\"canonical\" href=\"")?;
        let rest = &self.body[i + 28..];
        Some(&rest[..rest.find('"')?])
    }
}

/// GETs `path` at `host` (with any extra headers).
pub async fn get_at(app: &TestApp, host: &str, path: &str, extra: &[(&str, &str)]) -> Page {
    let mut req = app.request(Method::GET, path).header("host", host);
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.unwrap();
    Page {
        status: resp.status().as_u16(),
        headers: resp.headers().clone(),
        body: resp.text().await.unwrap(),
    }
}

/// GETs `path` of the shop `slug` at its subdomain.
pub async fn get(app: &TestApp, slug: &str, path: &str) -> Page {
    get_at(app, &host(slug), path, &[]).await
}

/// Replaces the shop's settings (through the admin API); returns the
/// response status and body.
pub async fn put_settings(app: &TestApp, slug: &str, token: &str, settings: Value) -> (u16, Value) {
    let resp = admin(app, slug, token, Method::PATCH, "/api/v1/admin/settings")
        .json(&json!({ "settings": settings }))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}
