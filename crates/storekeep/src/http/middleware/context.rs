//! For every `/api/v1` request, before routing: who is calling
//! (authentication), which shop it is for, the shop's CORS policy, and the
//! rate limit of the route's tier under the shop's plan.

use std::sync::Arc;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use storekeep_domain::{PlanLimits, Tenant};

use crate::app::AppState;
use crate::http::authn::{self, Authentication};
use crate::http::error::ApiError;
use crate::http::extract::CurrentTenant;
use crate::http::middleware::RequestContext;
use crate::ratelimit::Decision;

/// Rate-limit tiers, each with its own quota in the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    Api,
    Auth,
    Search,
    Admin,
}

impl Tier {
    pub fn of(path: &str) -> Option<Self> {
        let rest = path.strip_prefix("/api/v1/")?;
        // Payment processors: signed, tenant-less, never rate limited (a
        // limited confirmation would only be retried later).
        if rest.starts_with("webhooks/") {
            return None;
        }
        Some(if rest.starts_with("auth/") || rest == "auth" {
            Self::Auth
        } else if rest.starts_with("admin/") || rest.starts_with("platform/") {
            Self::Admin
        } else if rest.starts_with("store/search") {
            Self::Search
        } else {
            Self::Api
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Api => "api",
            Self::Auth => "auth",
            Self::Search => "search",
            Self::Admin => "admin",
        }
    }

    pub fn per_minute(self, limits: &PlanLimits) -> u32 {
        let n = match self {
            Self::Api => limits.api_requests_per_minute,
            Self::Auth => limits.auth_requests_per_minute,
            Self::Search => limits.search_requests_per_minute,
            Self::Admin => limits.admin_requests_per_minute,
        };
        u32::try_from(n).unwrap_or(u32::MAX)
    }
}

fn is_shop_path(path: &str) -> bool {
    ["/api/v1/store", "/api/v1/admin", "/api/v1/auth"]
        .iter()
        .any(|p| {
            path.strip_prefix(p)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        })
}

pub async fn context(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let Some(tier) = Tier::of(&path) else {
        return next.run(req).await;
    };
    let (mut parts, body) = req.into_parts();

    let auth = match authn::authenticate(&state, &parts.headers).await {
        Ok(a) => a,
        Err(e) => return e.into_response(),
    };
    let tenant: Option<Arc<Tenant>> = if is_shop_path(&path) {
        match CurrentTenant::from_request_parts(&mut parts, &state).await {
            Ok(CurrentTenant(t)) => Some(t),
            Err(ApiError::NotFound(_)) => None,
            Err(e) => return e.into_response(),
        }
    } else {
        None
    };

    // CORS: only origins the shop allows; preflights end here.
    let origin = parts
        .headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let allowed_origin = origin.filter(|o| {
        tenant
            .as_ref()
            .is_some_and(|t| t.settings.cors_origins.iter().any(|a| a == o))
    });
    if parts.method == Method::OPTIONS
        && parts
            .headers
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
    {
        let mut response = StatusCode::NO_CONTENT.into_response();
        if let Some(o) = &allowed_origin {
            cors_headers(response.headers_mut(), o, true);
        }
        return response;
    }

    // Rate limit: a shop's integrations (API keys, OAuth tokens) share one
    // bucket per shop, everyone else is counted by IP.
    let limits = match &tenant {
        Some(t) => t.limits,
        None => crate::services::plans::default_limits(&state.services).await,
    };
    let per_minute = tier.per_minute(&limits);
    let key = rate_key(tier, tenant.as_deref(), &auth, &parts);
    let decision = state.limiter.check(&key, per_minute).await;
    if !decision.allowed {
        state
            .services
            .metrics
            .rate_limited
            .with_label_values(&[tier.as_str()])
            .inc();
        let mut response = ApiError::TooManyRequests {
            detail: format!(
                "the {} rate limit of {per_minute} requests per minute is used up; retry in {} s",
                tier.as_str(),
                decision.retry_after_secs
            ),
            retry_after_secs: decision.retry_after_secs,
        }
        .into_response();
        rate_headers(response.headers_mut(), &decision);
        return response;
    }

    parts.extensions.insert(auth);
    let mut response = next.run(Request::from_parts(parts, body)).await;
    rate_headers(response.headers_mut(), &decision);
    if let Some(o) = &allowed_origin {
        cors_headers(response.headers_mut(), o, false);
    }
    response
}

/// The rate-limit bucket of a request: `{tier}:{shop id or -}:{who}`,
/// built in one buffer.
fn rate_key(
    tier: Tier,
    tenant: Option<&Tenant>,
    auth: &Authentication,
    parts: &axum::http::request::Parts,
) -> String {
    use std::fmt::Write as _;
    let mut key = String::with_capacity(96);
    key.push_str(tier.as_str());
    key.push(':');
    match tenant {
        Some(t) => {
            let _ = write!(key, "{}", t.id);
        }
        None => key.push('-'),
    }
    key.push(':');
    // The shop's bucket applies only in its own shop and outside the auth
    // tier; elsewhere the credential counts by IP like anyone else.
    let shop_bucket = match auth {
        Authentication::Valid(p)
            if tier != Tier::Auth && tenant.is_some_and(|t| p.tenant() == Some(t.id)) =>
        {
            p.rate_key()
        }
        _ => None,
    };
    if let Some(bucket) = shop_bucket {
        key.push_str(&bucket);
        return key;
    }
    key.push_str("ip:");
    match parts
        .extensions
        .get::<RequestContext>()
        .and_then(|c| c.client_ip)
    {
        Some(ip) => {
            let _ = write!(key, "{ip}");
        }
        None => key.push_str("unknown"),
    }
    key
}

fn rate_headers(h: &mut HeaderMap, d: &Decision) {
    h.insert("ratelimit-limit", HeaderValue::from(d.limit));
    h.insert("ratelimit-remaining", HeaderValue::from(d.remaining));
    h.insert("ratelimit-reset", HeaderValue::from(d.reset_secs));
}

fn cors_headers(h: &mut HeaderMap, origin: &str, preflight: bool) {
    if let Ok(v) = HeaderValue::from_str(origin) {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
    }
    h.append(header::VARY, HeaderValue::from_static("Origin"));
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("x-request-id, ratelimit-limit, ratelimit-remaining, ratelimit-reset, retry-after, location, idempotent-replayed"),
    );
    if preflight {
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, PATCH, PUT, DELETE"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(
                "authorization, content-type, idempotency-key, x-cart-token, x-tenant, x-request-id, x-api-key",
            ),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
    }
}
