//! CSRF protection of every form a shop's pages post.
//!
//! One route layer, [`guard`], sits in front of every storefront route and
//! checks every request that is not `GET`, `HEAD` or `OPTIONS` before any
//! handler runs, so no handler can forget it:
//!
//! 1. Defence in depth first: a browser's `Sec-Fetch-Site` must be
//!    `same-origin` (or `none`: typed or bookmarked) — `same-site` is
//!    refused too, since sibling shops (`a.shops.example`,
//!    `b.shops.example`) are one site — and an `Origin`, when sent, must be
//!    this host.
//! 2. The form (`application/x-www-form-urlencoded`, at most
//!    [`FORM_LIMIT`] bytes) must carry a `csrf` field equal to
//!    [`token`]: an HMAC, under a key derived from the keyring for this
//!    purpose alone (`Keyring::mac("web.csrf", …)`), of the shop's id and
//!    the signed-in session's id — or, for a guest, the random browser id
//!    of its `sk_browser` cookie. Another site cannot read the token, and
//!    cannot set the cookie (`__Host-`, `SameSite=Lax`); a token is worth
//!    nothing in another shop or for another session.
//!
//! A refusal is a 403 HTML page and the handler never runs, so nothing is
//! written. Pages put the token in every form with [`token`] (the page
//! context's `csrf` slot).

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq;

use storekeep_domain::{SessionId, TenantId};

use crate::app::AppState;
use crate::crypto::Keyring;
use crate::web::session::Visitor;

/// The form field that carries the token.
pub const FIELD: &str = "csrf";
/// The largest form body a storefront page accepts.
pub const FORM_LIMIT: usize = 64 * 1024;

/// What a token is bound to besides the shop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding<'a> {
    /// A signed-in customer's session.
    Session(SessionId),
    /// A guest's browser id (its `sk_browser` cookie).
    Browser(&'a str),
}

impl Visitor {
    pub fn csrf_binding(&self) -> Binding<'_> {
        match &self.customer {
            Some(c) => Binding::Session(c.session.id),
            None => Binding::Browser(&self.browser),
        }
    }
}

/// The token of forms shown in `tenant`'s pages to `binding`.
pub fn token(keyring: &Keyring, tenant: TenantId, binding: Binding<'_>) -> String {
    let message = match binding {
        Binding::Session(id) => format!("{tenant}\nsession:{id}"),
        Binding::Browser(id) => format!("{tenant}\nbrowser:{id}"),
    };
    URL_SAFE_NO_PAD.encode(keyring.mac("web.csrf", message.as_bytes()))
}

/// The token for `visitor`'s forms (the page context's `csrf`).
pub fn visitor_token(keyring: &Keyring, visitor: &Visitor) -> String {
    token(keyring, visitor.tenant.id, visitor.csrf_binding())
}

/// Whether `presented` is the token (compared in constant time).
pub fn valid(keyring: &Keyring, tenant: TenantId, binding: Binding<'_>, presented: &str) -> bool {
    bool::from(
        token(keyring, tenant, binding)
            .as_bytes()
            .ct_eq(presented.as_bytes()),
    )
}

/// Why a form post was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `Sec-Fetch-Site` or `Origin` says another site (or another shop).
    CrossSite,
    /// No token, or not this visitor's.
    BadToken,
    /// Not a form body.
    NotAForm,
    TooLarge,
}

impl Refusal {
    pub fn status(self) -> StatusCode {
        match self {
            Self::CrossSite | Self::BadToken => StatusCode::FORBIDDEN,
            Self::NotAForm => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        }
    }

    fn message(self) -> &'static str {
        match self {
            Self::CrossSite => "This form was sent from another site, so it was not accepted.",
            Self::BadToken => {
                "This form has expired or did not come from this shop's page. Go back, reload the page and try again."
            }
            Self::NotAForm => "This address only accepts forms sent by this shop's pages.",
            Self::TooLarge => "This form is too large.",
        }
    }
}

/// The browser's own word on where the request comes from: `Sec-Fetch-Site`
/// must be `same-origin` or `none`, and an `Origin` must be this `Host`.
/// A client that sends neither (an old browser, a script) is left to the
/// token. `Origin: null` is what Chromium sends on a same-origin form post
/// from a page whose `Referrer-Policy` is `no-referrer` (every page of
/// ours): it is taken only beside `Sec-Fetch-Site: same-origin`, which no
/// page can forge; alone it is refused.
pub fn check_origin(headers: &HeaderMap) -> Result<(), Refusal> {
    let site = headers.get("sec-fetch-site").map(HeaderValue::as_bytes);
    if site.is_some_and(|s| !matches!(s, b"same-origin" | b"none")) {
        return Err(Refusal::CrossSite);
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        if origin.as_bytes() == b"null" && site == Some(b"same-origin".as_slice()) {
            return Ok(());
        }
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
        let origin_host = origin.to_str().ok().and_then(|o| {
            o.strip_prefix("https://")
                .or_else(|| o.strip_prefix("http://"))
        });
        match (origin_host, host) {
            (Some(o), Some(h)) if o.eq_ignore_ascii_case(h) => {}
            _ => return Err(Refusal::CrossSite),
        }
    }
    Ok(())
}

pub fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// The `csrf` field of a form body (the first, if sent twice).
pub fn form_token(body: &[u8]) -> Option<String> {
    url::form_urlencoded::parse(body)
        .find(|(k, _)| k == FIELD)
        .map(|(_, v)| v.into_owned())
}

/// The page a refused post gets: a storefront page (its headers, the
/// strict CSP, the `StorefrontPage` mark that keeps it HTML), never stored.
pub fn refused(refusal: Refusal) -> Response {
    let body = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <link rel=\"icon\" href=\"data:,\">\
         <title>Not accepted</title></head><body><main><h1>Not accepted</h1><p>{}</p>\
         <p><a href=\"/\">Back to the shop</a></p></main></body></html>\n",
        refusal.message()
    );
    let mut response =
        crate::web::respond::html(refusal.status(), body, crate::web::i18n::Lang::En, None);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Checks `body` (a whole form) from `headers`, posted in `tenant`'s pages
/// by `binding`.
pub fn check(
    keyring: &Keyring,
    tenant: TenantId,
    binding: Binding<'_>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), Refusal> {
    check_origin(headers)?;
    if !is_form(headers) {
        return Err(Refusal::NotAForm);
    }
    match form_token(body) {
        Some(t) if valid(keyring, tenant, binding, &t) => Ok(()),
        _ => Err(Refusal::BadToken),
    }
}

/// The route layer: every request but `GET`, `HEAD` and `OPTIONS` is
/// checked before its handler runs. Needs the [`Visitor`] in the request's
/// extensions (the session layer runs first, and adds the visitor's
/// pending cookies to a refusal too, so a reload gets a token that works);
/// without one it refuses.
pub async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let Some(visitor) = parts.extensions.get::<Visitor>().cloned() else {
        return refused(Refusal::BadToken);
    };
    if let Err(r) = check_origin(&parts.headers) {
        return refused(r);
    }
    let bytes = match axum::body::to_bytes(body, FORM_LIMIT).await {
        Ok(b) => b,
        Err(_) => return refused(Refusal::TooLarge),
    };
    if let Err(r) = check(
        &state.services.keyring,
        visitor.tenant.id,
        visitor.csrf_binding(),
        &parts.headers,
        &bytes,
    ) {
        return refused(r);
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn keyring() -> Keyring {
        let (keys, index) = Keyring::generate();
        Keyring::parse(&keys, &index).unwrap()
    }

    fn form_headers() -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("shop.example"));
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        h
    }

    #[test]
    fn a_token_is_bound_to_its_browser_or_session_and_its_shop() {
        let k = keyring();
        let shop = TenantId::new();
        let ann = Binding::Browser("browser-ann-0123456789");
        let bob = Binding::Browser("browser-bob-0123456789");
        let t = token(&k, shop, ann);
        assert!(valid(&k, shop, ann, &t));
        assert!(!valid(&k, shop, bob, &t), "another browser's token");
        assert!(!valid(&k, shop, ann, ""), "no token");
        assert!(!valid(&k, shop, ann, &t[1..]), "a truncated token");
        assert!(
            !valid(&keyring(), shop, ann, &t),
            "another installation's keys"
        );
        assert!(
            !valid(&k, TenantId::new(), ann, &t),
            "the same browser in another shop"
        );

        let (s1, s2) = (SessionId::new(), SessionId::new());
        let signed_in = token(&k, shop, Binding::Session(s1));
        assert!(valid(&k, shop, Binding::Session(s1), &signed_in));
        assert!(
            !valid(&k, shop, Binding::Session(s1), &t),
            "a guest token after sign-in"
        );
        assert!(
            !valid(&k, shop, Binding::Session(s2), &signed_in),
            "another session's token"
        );
        assert!(
            !valid(&k, shop, Binding::Browser(&s1.to_string()), &signed_in),
            "a browser id equal to a session id is another binding"
        );
    }

    #[test]
    fn a_form_needs_its_token_and_a_same_origin() {
        let k = keyring();
        let shop = TenantId::new();
        let v = Binding::Browser("browser-ann-0123456789");
        let t = token(&k, shop, v);
        let body = format!("quantity=2&csrf={t}");
        let h = form_headers();
        assert_eq!(check(&k, shop, v, &h, body.as_bytes()), Ok(()));
        assert_eq!(
            check(&k, shop, v, &h, b"quantity=2"),
            Err(Refusal::BadToken),
            "no token"
        );
        assert_eq!(
            check(&k, shop, v, &h, b"quantity=2&csrf=forged"),
            Err(Refusal::BadToken)
        );

        for (site, ok) in [
            ("same-origin", true),
            ("none", true),
            ("same-site", false),
            ("cross-site", false),
        ] {
            let mut h = form_headers();
            h.insert("sec-fetch-site", HeaderValue::from_static(site));
            let r = check(&k, shop, v, &h, body.as_bytes());
            assert_eq!(r.is_ok(), ok, "Sec-Fetch-Site: {site}: {r:?}");
        }
        for (origin, ok) in [
            ("https://shop.example", true),
            ("http://SHOP.example", true),
            ("https://other.example", false),
            ("https://shop.example.evil", false),
            ("null", false),
        ] {
            let mut h = form_headers();
            h.insert(header::ORIGIN, HeaderValue::from_static(origin));
            let r = check(&k, shop, v, &h, body.as_bytes());
            assert_eq!(r.is_ok(), ok, "Origin: {origin}: {r:?}");
        }
        // Chromium's same-origin form post from a no-referrer page.
        for (site, ok) in [
            ("same-origin", true),
            ("none", false),
            ("same-site", false),
            ("cross-site", false),
        ] {
            let mut h = form_headers();
            h.insert(header::ORIGIN, HeaderValue::from_static("null"));
            h.insert("sec-fetch-site", HeaderValue::from_static(site));
            let r = check(&k, shop, v, &h, body.as_bytes());
            assert_eq!(r.is_ok(), ok, "Origin: null, Sec-Fetch-Site: {site}: {r:?}");
        }

        let mut json = form_headers();
        json.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        assert_eq!(
            check(&k, shop, v, &json, body.as_bytes()),
            Err(Refusal::NotAForm)
        );
    }

    #[test]
    fn the_first_csrf_field_is_the_one_read() {
        assert_eq!(form_token(b"a=1&csrf=x%2By&csrf=z").as_deref(), Some("x+y"));
        assert_eq!(form_token(b"a=1"), None);
    }
}
