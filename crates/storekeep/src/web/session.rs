//! Browser sessions: cookies that carry the API's own credentials.
//!
//! - The session cookie holds the very session token `POST
//!   /api/v1/auth/login` answers (`services::accounts::login` makes both),
//!   so there is one session store: the account's session list shows
//!   browser sign-ins, "log out everywhere" ends them, and sign-out revokes
//!   the session server-side (`services::sessions::end`), so a copied
//!   cookie stops working at once.
//! - The cart cookie holds a guest's cart id and cart token (what the API
//!   sends as `X-Cart-Token`), so a cart opens exactly as it does through
//!   the API (`CartAccess`).
//! - The browser cookie holds a random id that binds a guest's CSRF tokens
//!   (`web::csrf`); it says nothing and is kept for the browser's session.
//! - The sign-in cookie holds only the random token of a pending sign-in
//!   challenge (`services::sign_in`) between the password step and the
//!   code step of a sign-in with MFA, for five minutes; the challenge
//!   itself (its hash, the account, the shop, the attempts) is in the
//!   database, so any node answers the code step. No password is kept.
//!
//! Every cookie is `HttpOnly`, `SameSite=Lax`, `Path=/`, has no `Domain`
//! (so it goes back only to the host that set it: one shop's cookies are
//! never sent to another shop's host, even a sibling `{slug}` subdomain)
//! and, with `web.secure_cookies` (the default), is `Secure` and named with
//! the `__Host-` prefix, which browsers refuse to accept from any other
//! host or over plain HTTP — except from `localhost` and `*.localhost`,
//! which Chromium treats as secure contexts (checked with Chromium 156 over
//! `http://shop1.localhost:PORT`: a `__Host-` `Secure` cookie is kept and
//! sent back), so development needs no change there. Browsers that do not
//! (Safari) need `web.secure_cookies = false` for plain-HTTP development:
//! then the cookies are neither `Secure` nor `__Host-`-prefixed.

use std::sync::Arc;

use axum::http::{HeaderMap, HeaderValue, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use storekeep_domain::{CartId, SessionRecord, Tenant, UserKind, UserRecord};

use crate::crypto::{Keyring, tokens};
use crate::services::authn::{self, Authentication, Principal};
use crate::services::carts::CartAccess;
use crate::services::{ServiceResult, Services};

/// The session cookie's base name (`__Host-sk_session` when Secure).
pub const SESSION: &str = "sk_session";
/// A guest's cart: `<cart id>.<cart token>`.
pub const CART: &str = "sk_cart";
/// The random id binding a guest's CSRF tokens.
pub const BROWSER: &str = "sk_browser";
/// The pending challenge of a sign-in with MFA (its token).
pub const SIGN_IN: &str = "sk_signin";

/// How long the cart cookie is kept (an abandoned cart is abandoned).
pub const CART_MAX_AGE_SECS: u64 = 30 * 24 * 3600;
/// How long the first step of a sign-in with MFA may wait for the code
/// (the challenge's own lifetime, `services::sign_in::CHALLENGE_TTL`).
pub const SIGN_IN_MAX_AGE_SECS: i64 = crate::services::sign_in::CHALLENGE_TTL.num_seconds();

/// How this server writes its cookies (`web.secure_cookies`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CookiePolicy {
    pub secure: bool,
}

impl CookiePolicy {
    /// The name a cookie goes by: `__Host-` prefixed when Secure.
    pub fn name(self, base: &str) -> String {
        if self.secure {
            format!("__Host-{base}")
        } else {
            base.to_owned()
        }
    }

    fn attributes(self) -> &'static str {
        if self.secure {
            "; Path=/; HttpOnly; SameSite=Lax; Secure"
        } else {
            "; Path=/; HttpOnly; SameSite=Lax"
        }
    }

    /// A `Set-Cookie` value; `max_age_secs: None` makes a cookie that ends
    /// with the browser's session. `value` must be cookie-safe (the values
    /// written here are base64url, ids and dots).
    pub fn set(self, base: &str, value: &str, max_age_secs: Option<u64>) -> HeaderValue {
        debug_assert!(value.bytes().all(cookie_octet));
        let age = max_age_secs.map_or(String::new(), |s| format!("; Max-Age={s}"));
        HeaderValue::try_from(format!(
            "{}={value}{}{age}",
            self.name(base),
            self.attributes()
        ))
        .expect("cookie names, values and attributes are visible ASCII")
    }

    /// A `Set-Cookie` value that removes the cookie.
    pub fn clear(self, base: &str) -> HeaderValue {
        HeaderValue::try_from(format!(
            "{}={}; Max-Age=0",
            self.name(base),
            self.attributes()
        ))
        .expect("visible ASCII")
    }

    /// The cookie's value as the request sent it (the first, should a
    /// broken client send the name twice); only the policy's own name is
    /// read, so with `__Host-` names a cookie a sibling host managed to
    /// set for the parent domain is never taken.
    pub fn read<'a>(self, headers: &'a HeaderMap, base: &str) -> Option<&'a str> {
        let name = self.name(base);
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.trim_matches('"'))
            .filter(|v| !v.is_empty() && v.len() <= 512 && v.bytes().all(cookie_octet))
    }
}

/// RFC 6265's cookie-octet.
fn cookie_octet(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E)
}

/// A signed-in customer of this shop.
#[derive(Debug, Clone)]
pub struct Customer {
    pub user: UserRecord,
    pub session: SessionRecord,
}

/// A guest's cart as its cookie names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartCookie {
    pub id: CartId,
    pub token: String,
}

impl CartCookie {
    pub fn parse(value: &str) -> Option<Self> {
        let (id, token) = value.split_once('.')?;
        let ok = token.starts_with("skc_")
            && token.len() <= 100
            && token[4..]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        Some(Self {
            id: id.parse().ok()?,
            token: token.to_owned(),
        })
        .filter(|_| ok)
    }

    pub fn value(&self) -> String {
        format!("{}.{}", self.id, self.token)
    }
}

/// Whoever is browsing a shop, as their cookies say: read once per page
/// request by the web layer and kept in the request's extensions.
#[derive(Debug, Clone)]
pub struct Visitor {
    pub tenant: Arc<Tenant>,
    /// Signed in as a customer of this shop, with a live session.
    pub customer: Option<Customer>,
    /// The cart the cart cookie names (not yet checked against the store).
    pub cart: Option<CartCookie>,
    /// The browser id (from its cookie, or made for this response).
    pub browser: String,
    pub cookies: CookiePolicy,
    /// `Set-Cookie` values the response must carry: a new browser id, the
    /// removal of a session cookie that no longer works.
    pub pending: Vec<HeaderValue>,
}

/// A new random id or nonce, base64url.
pub fn random_id() -> String {
    let mut b = [0u8; 24];
    rand::rng().fill_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

impl Visitor {
    /// Reads the request's cookies. A session cookie counts only if its
    /// token is a live session of a *customer of this shop*; anything else
    /// (expired, revoked, another shop's, a staff account's) is ignored
    /// and the cookie removed.
    pub async fn resolve(
        svc: &Services,
        tenant: Arc<Tenant>,
        headers: &HeaderMap,
        cookies: CookiePolicy,
    ) -> ServiceResult<Self> {
        let mut pending = Vec::new();
        let mut customer = None;
        if let Some(token) = cookies.read(headers, SESSION) {
            if token.starts_with(tokens::SESSION)
                && let Authentication::Valid(Principal::User { user, session }) =
                    authn::authenticate(svc, Some(token)).await?
                && user.kind == UserKind::Customer
                && user.tenant_id == Some(tenant.id)
            {
                customer = Some(Customer {
                    user: *user,
                    session,
                });
            } else {
                pending.push(cookies.clear(SESSION));
            }
        }
        let cart = cookies.read(headers, CART).and_then(CartCookie::parse);
        let browser = match cookies.read(headers, BROWSER) {
            Some(id) if id.len() >= 16 && id.len() <= 64 => id.to_owned(),
            _ => {
                let id = random_id();
                pending.push(cookies.set(BROWSER, &id, None));
                id
            }
        };
        Ok(Self {
            tenant,
            customer,
            cart,
            browser,
            cookies,
            pending,
        })
    }

    /// What opens carts and orders for this visitor: the cart cookie's
    /// token and the signed-in customer.
    pub fn access(&self) -> CartAccess {
        CartAccess {
            token: self.cart.as_ref().map(|c| c.token.clone()),
            customer: self.customer.as_ref().map(|c| c.user.id),
        }
    }

    /// Appends the pending `Set-Cookie` values to a response's headers.
    pub fn finish(&self, headers: &mut HeaderMap) {
        for v in &self.pending {
            headers.append(header::SET_COOKIE, v.clone());
        }
    }
}

/// What the layout shows of the visitor: the CSRF token of its forms, the
/// signed-in customer's name, the cart's unit count. Set by [`layer`] for
/// the request's handler and read by `Chrome::new` ([`fill`]), so every
/// page — the catalog's too — shows them without passing them along.
#[derive(Debug, Clone, Default)]
pub struct Slots {
    pub csrf: Option<String>,
    pub account: Option<String>,
    pub cart_count: u32,
}

tokio::task_local! {
    static SLOTS: Slots;
}

/// Fills the page context's visitor slots from the request's [`Slots`]
/// (nothing outside a storefront request).
pub fn fill(chrome: &mut crate::web::chrome::Chrome) {
    let _ = SLOTS.try_with(|s| {
        chrome.csrf = s.csrf.clone();
        chrome.account = s.account.clone();
        chrome.cart_count = s.cart_count;
    });
}

/// Paths that are no page: served without looking at the visitor.
fn is_asset(path: &str) -> bool {
    path.starts_with("/assets/") || path == "/robots.txt" || path == "/sitemap.xml"
}

/// The storefront's outer route layer: resolves the shop (by host) and the
/// [`Visitor`] from the cookies, keeps the visitor in the request's
/// extensions for the CSRF guard and the handlers, sets the layout's
/// [`Slots`] and adds the visitor's pending `Set-Cookie`s to the answer.
/// A host with no shop passes through (the handler answers its 404).
pub async fn layer(
    axum::extract::State(state): axum::extract::State<crate::app::AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::extract::FromRequestParts;
    if is_asset(req.uri().path()) {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    let Ok(shop) = crate::web::shop::Shop::from_request_parts(&mut parts, &state).await else {
        return next
            .run(axum::extract::Request::from_parts(parts, body))
            .await;
    };
    let svc = &state.services;
    let policy = CookiePolicy {
        secure: svc.settings.secure_cookies,
    };
    let visitor = match Visitor::resolve(svc, shop.tenant.clone(), &parts.headers, policy).await {
        Ok(v) => v,
        Err(e) => return crate::web::WebError::from(e).render(shop.lang),
    };
    let cart_count = match crate::web::shopping::cart_count(svc, &visitor).await {
        Ok(n) => n,
        Err(e) => return crate::web::WebError::from(e).render(shop.lang),
    };
    let slots = Slots {
        csrf: Some(crate::web::csrf::visitor_token(&svc.keyring, &visitor)),
        account: visitor
            .customer
            .as_ref()
            .map(|c| display_name(&svc.keyring, &c.user)),
        cart_count,
    };
    parts.extensions.insert(visitor.clone());
    let req = axum::extract::Request::from_parts(parts, body);
    let mut response = SLOTS.scope(slots, next.run(req)).await;
    visitor.finish(response.headers_mut());
    response
}

/// How the header names a signed-in customer: their name, else their
/// email.
pub fn display_name(keyring: &Keyring, user: &UserRecord) -> String {
    match crate::services::accounts::open_account(keyring, user) {
        Ok(a) => a.name.filter(|n| !n.trim().is_empty()).unwrap_or(a.email),
        Err(_) => String::new(),
    }
}

/// The `Set-Cookie` that signs a browser in with a session token; kept as
/// long as a session can live (`auth.session_ttl_hours`: the server ends
/// it sooner when it idles).
pub fn sign_in_cookie(svc: &Services, cookies: CookiePolicy, token: &str) -> HeaderValue {
    cookies.set(SESSION, token, Some(svc.settings.session_ttl.as_secs()))
}

/// The `Set-Cookie` values of a sign-out: the session and cart cookies go
/// (the session is revoked by the caller, server-side).
pub fn sign_out_cookies(cookies: CookiePolicy) -> [HeaderValue; 3] {
    [
        cookies.clear(SESSION),
        cookies.clear(CART),
        cookies.clear(SIGN_IN),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECURE: CookiePolicy = CookiePolicy { secure: true };
    const PLAIN: CookiePolicy = CookiePolicy { secure: false };

    #[test]
    fn cookies_are_host_only_http_only_lax_and_secure_by_default() {
        let v = SECURE.set(SESSION, "sks_abc", Some(60));
        let v = v.to_str().unwrap();
        assert!(v.starts_with("__Host-sk_session=sks_abc;"), "{v}");
        for attr in ["Path=/", "HttpOnly", "SameSite=Lax", "Secure", "Max-Age=60"] {
            assert!(v.split("; ").any(|a| a == attr), "{attr} missing: {v}");
        }
        assert!(!v.to_ascii_lowercase().contains("domain="), "{v}");

        let v = PLAIN.set(SESSION, "sks_abc", None);
        let v = v.to_str().unwrap();
        assert!(v.starts_with("sk_session=sks_abc;"), "{v}");
        assert!(!v.contains("Secure") && !v.contains("Max-Age"), "{v}");
        assert!(v.contains("HttpOnly") && v.contains("SameSite=Lax"), "{v}");

        let c = SECURE.clear(CART);
        assert!(c.to_str().unwrap().starts_with("__Host-sk_cart=;"));
        assert!(c.to_str().unwrap().contains("Max-Age=0"));
    }

    #[test]
    fn only_the_policys_own_cookie_name_is_read() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("sk_session=injected; other=1"),
        );
        h.append(
            header::COOKIE,
            HeaderValue::from_static("__Host-sk_session=sks_real"),
        );
        assert_eq!(SECURE.read(&h, SESSION), Some("sks_real"));
        assert_eq!(PLAIN.read(&h, SESSION), Some("injected"));
        assert_eq!(SECURE.read(&h, CART), None);

        let mut bad = HeaderMap::new();
        bad.insert(
            header::COOKIE,
            HeaderValue::from_static("__Host-sk_session=a\\b; __Host-sk_cart="),
        );
        assert_eq!(SECURE.read(&bad, SESSION), None, "not a cookie-octet");
        assert_eq!(SECURE.read(&bad, CART), None, "empty");
    }

    #[test]
    fn a_cart_cookie_is_an_id_and_a_cart_token() {
        let id = CartId::new();
        let c = CartCookie {
            id,
            token: "skc_AbC-d_1".into(),
        };
        assert_eq!(CartCookie::parse(&c.value()), Some(c));
        for bad in [
            "skc_abc",
            &format!("{id}.sks_abc"),
            &format!("{id}.skc_a.b"),
            "not-an-id.skc_abc",
            &format!("{id}."),
        ] {
            assert_eq!(CartCookie::parse(bad), None, "{bad}");
        }
    }
}
