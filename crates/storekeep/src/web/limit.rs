//! Rate limits of storefront pages, as the API's: the Search tier for
//! `/search`, the Api tier for every other page, counted per client IP and
//! shop under the shop's plan. A visitor past the limit gets an HTML 429
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

/// The middleware over the storefront's routes.
pub async fn pages(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if path.starts_with("/assets/") {
        return next.run(req).await;
    }
    let tier = if path == "/search" {
        Tier::Search
    } else {
        Tier::Api
    };
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
