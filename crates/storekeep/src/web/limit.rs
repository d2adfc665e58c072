//! Rate limits of storefront pages, as the API's: the Auth tier for the
//! posts that try a secret or make an account or a reset email (sign-in,
//! its code step, sign-up, password reset and its confirmation — the same
//! bucket as the API's `/api/v1/auth/*` from that address), the Search
//! tier for `/search`, the Api tier for every other page, counted per
//! client IP and shop under the shop's plan. A visitor past the limit gets an HTML 429
//! page with `Retry-After`. Hashed assets are not counted (a page pulls
//! several, and they are cacheable for a year).

use axum::extract::{FromRequestParts, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::http::middleware::RequestContext;
use crate::http::middleware::Tier;
use crate::web::WebError;
use crate::web::shop::Shop;

/// The paths whose posts count in the Auth tier (as `/api/v1/auth/*`).
pub const AUTH_POSTS: [&str; 5] = [
    "/signin",
    "/signin/code",
    "/signup",
    "/password-reset",
    "/password-reset/confirm",
];

/// The tier a page request counts in.
pub fn tier_of(method: &axum::http::Method, path: &str) -> Tier {
    if method == axum::http::Method::POST && AUTH_POSTS.contains(&path) {
        Tier::Auth
    } else if path == "/search" {
        Tier::Search
    } else {
        Tier::Api
    }
}

/// The middleware over the storefront's routes.
pub async fn pages(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if path.starts_with("/assets/") {
        return next.run(req).await;
    }
    let tier = tier_of(req.method(), path);
    let (mut parts, body) = req.into_parts();
    // No shop at this host: the page answers its own 404, uncounted.
    let Ok(shop) = Shop::from_request_parts(&mut parts, &state).await else {
        return next.run(Request::from_parts(parts, body)).await;
    };
    let ip = parts
        .extensions
        .get::<RequestContext>()
        .and_then(|c| c.client_ip)
        .map_or_else(|| "-".to_owned(), |ip| ip.to_string());
    let key = format!("{}:{}:ip:{ip}", tier.as_str(), shop.tenant.id);
    let per_minute = tier.per_minute(&shop.tenant.limits);
    let decision = state.limiter.check(&key, per_minute).await;
    if !decision.allowed {
        state
            .services
            .metrics
            .rate_limited
            .with_label_values(&[tier.as_str()])
            .inc();
        return WebError::TooManyRequests(decision.retry_after_secs.max(1)).render(shop.lang);
    }
    next.run(Request::from_parts(parts, body))
        .await
        .into_response()
}

#[cfg(test)]
mod tests {
    use axum::http::Method;

    use super::{Tier, tier_of};

    #[test]
    fn secret_trying_posts_count_in_the_auth_tier() {
        for p in super::AUTH_POSTS {
            assert_eq!(tier_of(&Method::POST, p), Tier::Auth, "{p}");
            assert_eq!(tier_of(&Method::GET, p), Tier::Api, "{p}");
        }
        assert_eq!(tier_of(&Method::POST, "/cart/items"), Tier::Api);
        assert_eq!(tier_of(&Method::GET, "/search"), Tier::Search);
    }
}
