//! Who is at the console, and for what: the desk a request's host opens
//! (a shop's staff desk at the shop's host, the platform's at the
//! platform's own host), the signed-in account from the console's own
//! session cookie, and the CSRF check of every form post.
//!
//! - The console's session cookie (`sk_console`) holds the very session
//!   token `POST /api/v1/auth/login` answers, as the storefront's does, so
//!   there is one session store: sessions list, revoke and expire the same
//!   way. It is a different cookie from the storefront's, so a staff
//!   member shopping in their own shop is signed in twice, as two
//!   accounts, and signing out of one leaves the other.
//! - At a shop's host only that shop's staff (kind `staff`, the shop's
//!   tenant) count; at the platform's host only operators. Any other
//!   session in the cookie is ignored and the cookie removed.
//! - Form posts: `Sec-Fetch-Site`/`Origin` as the storefront's
//!   (`web::csrf::check_origin`), and a `csrf` field equal to an HMAC,
//!   under a key of its own (`Keyring::mac("web.console.csrf", …)`, so no
//!   storefront token is ever one here), of the desk and the session's id
//!   — or, before sign-in, the browser's random id (`sk_browser`). A
//!   `multipart/form-data` upload carries its token in the query instead
//!   ([`upload_token`]), so the file is never buffered here.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use storekeep_domain::{AuditContext, Permission, Role, SessionRecord, UserKind, UserRecord};
use subtle::ConstantTimeEq;

use crate::app::AppState;
use crate::crypto::tokens;
use crate::http::extract::tenant::host_name;
use crate::services::authn::{self, Authentication, Principal};
use crate::services::tenancy;
use crate::web::WebError;
use crate::web::csrf::{self, Refusal};
use crate::web::session::{BROWSER, CookiePolicy, random_id};
use crate::web::shop::Shop;

/// The console's session cookie (`__Host-sk_console` when Secure).
pub const SESSION: &str = "sk_console";
/// The pending MFA challenge of a console sign-in.
pub const SIGN_IN: &str = "sk_console_signin";

/// Which console a host opens.
#[derive(Debug, Clone)]
pub enum Scope {
    /// A shop's staff console, at the shop's host.
    Shop(Shop),
    /// The platform operators' console, at the platform's own host (the
    /// configured `base_domain`; without one, any host that names no shop).
    Platform,
}

impl Scope {
    /// What CSRF tokens and sign-in are bound to.
    fn key(&self) -> String {
        match self {
            Self::Shop(s) => s.tenant.id.to_string(),
            Self::Platform => "platform".into(),
        }
    }

    /// The kind of account this desk signs in.
    pub fn kind(&self) -> UserKind {
        match self {
            Self::Shop(_) => UserKind::Staff,
            Self::Platform => UserKind::Operator,
        }
    }

    /// The heading the layout shows.
    pub fn name(&self) -> String {
        match self {
            Self::Shop(s) => s.name().to_owned(),
            Self::Platform => "Platform".into(),
        }
    }
}

/// A signed-in account at this desk.
#[derive(Debug, Clone)]
pub struct DeskUser {
    pub user: UserRecord,
    pub session: SessionRecord,
    /// The role's permissions (staff), empty for operators.
    pub permissions: Vec<Permission>,
    pub role: Option<Role>,
    /// How the header names them.
    pub name: String,
}

/// Whoever is at the console: kept in the request's extensions by
/// [`layer`].
#[derive(Debug, Clone)]
pub struct Desk {
    pub scope: Scope,
    pub user: Option<DeskUser>,
    /// The browser's random id (its `sk_browser` cookie).
    pub browser: String,
    pub cookies: CookiePolicy,
    /// `Set-Cookie` values the response must carry.
    pub pending: Vec<HeaderValue>,
    pub ip: Option<String>,
    pub request_id: Option<String>,
}

impl Desk {
    /// The CSRF token of this desk's forms.
    pub fn csrf(&self, state: &AppState) -> String {
        token(&state.services.keyring, self)
    }

    /// Whether the signed-in account may do `p` (operators hold every
    /// platform action; staff what their role grants).
    pub fn can(&self, p: Permission) -> bool {
        match (&self.scope, &self.user) {
            (Scope::Platform, Some(_)) => true,
            (Scope::Shop(_), Some(u)) => u.permissions.contains(&p),
            _ => false,
        }
    }

    /// How the audit log records what this account does here.
    pub fn audit(&self) -> AuditContext {
        AuditContext {
            actor: self.user.as_ref().map_or_else(
                || "anonymous".into(),
                |u| format!("{}:{}", u.user.kind.as_str(), u.user.id),
            ),
            ip: self.ip.clone(),
            request_id: self.request_id.clone(),
        }
    }
}

/// The token of `desk`'s forms: bound to the desk and the session (or,
/// signed out, the browser id).
pub fn token(keyring: &crate::crypto::Keyring, desk: &Desk) -> String {
    let binding = match &desk.user {
        Some(u) => format!("session:{}", u.session.id),
        None => format!("browser:{}", desk.browser),
    };
    let message = format!("{}\n{binding}", desk.scope.key());
    URL_SAFE_NO_PAD.encode(keyring.mac("web.console.csrf", message.as_bytes()))
}

/// The token of an upload form posting to `path` (its `?csrf=`): the form
/// token's binding plus the path, under a purpose of its own, so a token
/// seen in a URL (a proxy's log) is worth one upload path of one session
/// and no other form.
pub fn upload_token(keyring: &crate::crypto::Keyring, desk: &Desk, path: &str) -> String {
    let binding = match &desk.user {
        Some(u) => format!("session:{}", u.session.id),
        None => format!("browser:{}", desk.browser),
    };
    let message = format!("{}\n{binding}\n{path}", desk.scope.key());
    URL_SAFE_NO_PAD.encode(keyring.mac("web.console.upload", message.as_bytes()))
}

fn is_multipart(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("multipart/form-data"))
}

/// The desk `parts`' host opens: `None` when it opens none (a suspended
/// shop's host, or an unknown host beside a configured base domain).
async fn scope(state: &AppState, parts: &mut Parts) -> Result<Option<Scope>, WebError> {
    match Shop::from_request_parts(parts, state).await {
        Ok(shop) => return Ok(Some(Scope::Shop(shop))),
        Err(WebError::NoShop) => {}
        Err(e) => return Err(e),
    }
    let svc = &state.services;
    // The host as sent, without its port: `localhost` and IP addresses are
    // no `DomainName`, and either can be the platform's host.
    let raw = parts
        .headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(|h| match h.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
            _ => h,
        })
        .map(|h| h.trim_end_matches('.').to_ascii_lowercase());
    let platform = match (&svc.settings.base_domain, raw) {
        (_, None) => false,
        (Some(base), Some(raw)) => raw == base.as_str(),
        (None, Some(_)) => match host_name(parts) {
            Some(host) => tenancy::resolve(svc, Some(&host), None).await?.is_none(),
            None => true,
        },
    };
    Ok(platform.then_some(Scope::Platform))
}

/// The account a console session cookie signs in at `scope`, if any.
async fn user(state: &AppState, scope: &Scope, token: &str) -> Result<Option<DeskUser>, WebError> {
    if !token.starts_with(tokens::SESSION) {
        return Ok(None);
    }
    let svc = &state.services;
    let Authentication::Valid(Principal::User { user, session }) =
        authn::authenticate(svc, Some(token)).await?
    else {
        return Ok(None);
    };
    let belongs = match scope {
        Scope::Shop(shop) => user.kind == UserKind::Staff && user.tenant_id == Some(shop.tenant.id),
        Scope::Platform => user.kind == UserKind::Operator,
    };
    if !belongs {
        return Ok(None);
    }
    let (permissions, role) = match user.role {
        Some(role) => (role.permissions().to_vec(), Some(role)),
        None => (Vec::new(), None),
    };
    let name = crate::web::session::display_name(&svc.keyring, &user);
    Ok(Some(DeskUser {
        user: *user,
        session,
        permissions,
        role,
        name,
    }))
}

/// The console's outer route layer: finds the desk and who is at it,
/// keeps the [`Desk`] in the request's extensions, and adds its pending
/// cookies to the answer. A host that opens no desk is a 404 page.
pub async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if req.uri().path().starts_with("/console/assets/") {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    let scope = match scope(&state, &mut parts).await {
        Ok(Some(s)) => s,
        Ok(None) => return WebError::NotFound.into_response(),
        Err(e) => return e.into_response(),
    };
    if let Some(refused) = limit(&state, &scope, &parts).await {
        return refused;
    }
    let cookies = CookiePolicy {
        secure: state.services.settings.secure_cookies,
    };
    let mut pending = Vec::new();
    let mut signed_in = None;
    if let Some(token) = cookies.read(&parts.headers, SESSION) {
        match user(&state, &scope, token).await {
            Ok(Some(u)) => signed_in = Some(u),
            Ok(None) => pending.push(cookies.clear(SESSION)),
            Err(e) => return e.into_response(),
        }
    }
    let browser = match cookies.read(&parts.headers, BROWSER) {
        Some(id) if id.len() >= 16 && id.len() <= 64 => id.to_owned(),
        _ => {
            let id = random_id();
            pending.push(cookies.set(BROWSER, &id, None));
            id
        }
    };
    let ctx = parts
        .extensions
        .get::<crate::http::middleware::RequestContext>();
    let desk = Desk {
        scope,
        user: signed_in,
        browser,
        cookies,
        pending,
        ip: ctx.and_then(|c| c.client_ip).map(|ip| ip.to_string()),
        request_id: ctx.map(|c| c.request_id.to_string()),
    };
    parts.extensions.insert(desk.clone());
    let mut response = next.run(Request::from_parts(parts, body)).await;
    // The desk's own cookies, but none the handler set itself: a sign-in
    // that answers with a new session cookie must not be followed by the
    // removal of the stale one it replaces (browsers apply them in order).
    let set_by_handler: Vec<String> = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split_once('=').map(|(name, _)| name.to_owned()))
        .collect();
    for v in &desk.pending {
        let name = v
            .to_str()
            .ok()
            .and_then(|v| v.split_once('='))
            .map(|(n, _)| n);
        if name.is_some_and(|n| set_by_handler.iter().any(|s| s == n)) {
            continue;
        }
        response.headers_mut().append(header::SET_COOKIE, v.clone());
    }
    // Console pages are one person's: never stored anywhere.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The console's posts that try a secret (sign-in and its code step).
pub const AUTH_POSTS: [&str; 2] = ["/console/signin", "/console/signin/code"];

/// Rate limits, as the API's and the storefront's: sign-in posts in the
/// Auth tier (the same bucket as `/api/v1/auth/*` from that address, for
/// the shop or the platform), every other console request in the Api tier,
/// per client IP, under the shop's plan (the default plan's at the
/// platform's desk). A request past the limit gets a 429 page.
async fn limit(state: &AppState, scope: &Scope, parts: &Parts) -> Option<Response> {
    use crate::http::middleware::Tier;
    let tier = if parts.method == Method::POST && AUTH_POSTS.contains(&parts.uri.path()) {
        Tier::Auth
    } else {
        Tier::Api
    };
    let (shop, limits) = match scope {
        Scope::Shop(s) => (s.tenant.id.to_string(), s.tenant.limits),
        Scope::Platform => (
            "-".to_owned(),
            crate::services::plans::default_limits(&state.services).await,
        ),
    };
    let ip = parts
        .extensions
        .get::<crate::http::middleware::RequestContext>()
        .and_then(|c| c.client_ip)
        .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
    let key = format!("{}:{shop}:ip:{ip}", tier.as_str());
    let decision = state.limiter.check(&key, tier.per_minute(&limits)).await;
    if decision.allowed {
        return None;
    }
    state
        .services
        .metrics
        .rate_limited
        .with_label_values(&[tier.as_str()])
        .inc();
    Some(WebError::TooManyRequests(decision.retry_after_secs.max(1)).into_response())
}

/// Every console request but `GET`, `HEAD` and `OPTIONS` is checked before
/// its handler runs (see the module's documentation); a refusal is a 403
/// page and nothing is written.
pub async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let Some(desk) = parts.extensions.get::<Desk>().cloned() else {
        return csrf::refused(Refusal::BadToken);
    };
    if let Err(r) = csrf::check_origin(&parts.headers) {
        return csrf::refused(r);
    }
    // A file upload (`multipart/form-data`) carries its token in the
    // query (`?csrf=`), an upload token of its own bound to the session and
    // the path (see [`upload_token`]): its body is never buffered here, the
    // route's own body limit (`http::middleware::limits`) bounds it.
    if is_multipart(&parts.headers) {
        let expected = upload_token(&state.services.keyring, &desk, parts.uri.path());
        let presented = parts.uri.query().and_then(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == csrf::FIELD)
                .map(|(_, v)| v.into_owned())
        });
        let ok = presented.is_some_and(|t| bool::from(expected.as_bytes().ct_eq(t.as_bytes())));
        if !ok {
            return csrf::refused(Refusal::BadToken);
        }
        return next.run(Request::from_parts(parts, body)).await;
    }
    if !csrf::is_form(&parts.headers) {
        return csrf::refused(Refusal::NotAForm);
    }
    let bytes = match axum::body::to_bytes(body, csrf::FORM_LIMIT).await {
        Ok(b) => b,
        Err(_) => return csrf::refused(Refusal::TooLarge),
    };
    let expected = token(&state.services.keyring, &desk);
    let ok = csrf::form_token(&bytes)
        .is_some_and(|t| bool::from(expected.as_bytes().ct_eq(t.as_bytes())));
    if !ok {
        return csrf::refused(Refusal::BadToken);
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

impl<S: Send + Sync> FromRequestParts<S> for Desk {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Response> {
        parts.extensions.get::<Desk>().cloned().ok_or_else(|| {
            WebError::Internal("the console's layer did not run".into()).into_response()
        })
    }
}

/// A desk with someone signed in. Without, a page asks for sign-in (a
/// `303` to `/console/signin?next=…`).
#[derive(Debug, Clone)]
pub struct Signed {
    pub desk: Desk,
    pub user: DeskUser,
}

/// A shop's staff desk with a staff member signed in (and, when the shop
/// requires it, MFA on).
#[derive(Debug, Clone)]
pub struct Staff {
    pub desk: Desk,
    pub user: DeskUser,
    pub shop: Shop,
}

impl Staff {
    pub fn tenant(&self) -> &Arc<storekeep_domain::Tenant> {
        &self.shop.tenant
    }

    /// `Ok` when the staff member may do `p`; else the 403 page (a whole
    /// response: handlers return it as it is).
    #[allow(clippy::result_large_err)]
    pub fn require(&self, state: &AppState, p: Permission) -> Result<(), Response> {
        if self.desk.can(p) {
            Ok(())
        } else {
            Err(crate::web::console::page::forbidden(
                state,
                &self.desk,
                &format!(
                    "Your role does not allow this (it needs the '{}' permission).",
                    p.as_str()
                ),
            ))
        }
    }
}

/// The platform desk with an operator signed in.
#[derive(Debug, Clone)]
pub struct Operator {
    pub desk: Desk,
    pub user: DeskUser,
}

fn sign_in_first(parts: &Parts) -> Response {
    let here = parts
        .uri
        .path_and_query()
        .map_or("/console", |p| p.as_str());
    let next: String = url::form_urlencoded::byte_serialize(here.as_bytes()).collect();
    crate::web::pages::shopper::see_other(&format!("/console/signin?next={next}"))
}

impl<S: Send + Sync> FromRequestParts<S> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, s: &S) -> Result<Self, Response> {
        let desk = Desk::from_request_parts(parts, s).await?;
        match desk.user.clone() {
            Some(user) => Ok(Self { desk, user }),
            None => Err(sign_in_first(parts)),
        }
    }
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let signed = Signed::from_request_parts(parts, state).await?;
        Staff::of(state, signed)
    }
}

impl Staff {
    /// The staff member of a signed-in desk: 404 at the platform's host, the
    /// MFA page when the shop requires MFA and the account has none. The
    /// one place both checks live (the extractor and the first screen use
    /// it).
    #[allow(clippy::result_large_err)]
    pub fn of(state: &AppState, signed: Signed) -> Result<Self, Response> {
        let Signed { desk, user } = signed;
        let Scope::Shop(shop) = desk.scope.clone() else {
            return Err(WebError::NotFound.into_response());
        };
        if shop.tenant.settings.require_staff_mfa && !user.user.mfa_enabled() {
            return Err(crate::web::console::page::forbidden(
                state,
                &desk,
                "This shop requires staff to use MFA. Turn it on for your account \
                 (POST /api/v1/auth/mfa/totp), then sign in again.",
            ));
        }
        Ok(Self { desk, user, shop })
    }
}

impl FromRequestParts<AppState> for Operator {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let Signed { desk, user } = Signed::from_request_parts(parts, state).await?;
        match desk.scope {
            Scope::Platform => Ok(Self { desk, user }),
            Scope::Shop(_) => Err(WebError::NotFound.into_response()),
        }
    }
}
