//! Which requests may read the catalog from the read replica
//! (`database.replica_url`): the layer that decides. The store obeys (see
//! `storekeep_store::replica`): inside [`allow_stale_reads`] its catalog
//! reads use the replica while it is up and within its lag bound, and
//! everything else reads the primary.
//!
//! A request may read stale data when all hold:
//! - it is a `GET` or `HEAD` of a catalog page ([`stale_route`]: the
//!   storefront's and the API's product lists, product pages, search and
//!   categories, and the console's product list);
//! - its session has not written within `database.replica_max_lag_ms`
//!   (read-your-writes): after a successful write (any other method,
//!   answered 2xx or 3xx) the answer sets the `sk_wrote` cookie (the time,
//!   in Unix ms) for browsers, and the credential that wrote (the bearer
//!   token or API key, by its SHA-256) is remembered for the bound, in this
//!   node's memory and, with `redis.url`, in Redis for every node. A read
//!   carrying a recent cookie, or a credential that wrote, reads the
//!   primary; so does one whose credential cannot be looked up (Redis
//!   down).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::Response;
use sha2::{Digest, Sha256};
use storekeep_store::replica::allow_stale_reads;

use crate::app::AppState;
use crate::http::authn;
use crate::redis_link::RedisLink;

/// The read-your-writes cookie.
pub const WROTE_COOKIE: &str = "sk_wrote";

/// Paths whose `GET` may read the catalog from the replica.
pub fn stale_route(path: &str) -> bool {
    let one_below = |prefix: &str| {
        path.strip_prefix(prefix)
            .is_some_and(|rest| !rest.is_empty() && !rest.contains('/'))
    };
    matches!(
        path,
        "/api/v1/store/products"
            | "/api/v1/store/categories"
            | "/api/v1/store/search"
            | "/api/v1/admin/products"
            | "/api/v1/admin/categories"
            | "/"
            | "/search"
            | "/sitemap.xml"
            | "/console/products"
    ) || one_below("/api/v1/store/products/")
        || one_below("/api/v1/admin/products/")
        || one_below("/products/")
        || one_below("/categories/")
}

pub async fn replica_reads(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if !crate::services::health::has_replica(&state.services) {
        return next.run(req).await;
    }
    let bound = state.services.settings.database_replica_max_lag;
    let method = req.method().clone();
    if method == Method::GET || method == Method::HEAD {
        if stale_route(req.uri().path()) && !wrote_recently(&state, req.headers(), bound).await {
            return allow_stale_reads(next.run(req)).await;
        }
        return next.run(req).await;
    }
    let credential = authn::bearer(req.headers()).map(credential_key);
    let mut response = next.run(req).await;
    let status = response.status();
    if method != Method::OPTIONS && (status.is_success() || status.is_redirection()) {
        let now = unix_ms();
        let max_age = bound.as_millis().div_ceil(1000);
        if let Ok(v) = HeaderValue::from_str(&format!(
            "{WROTE_COOKIE}={now}; Max-Age={max_age}; Path=/; HttpOnly; SameSite=Lax"
        )) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
        if let Some(key) = credential {
            state.recent_writers.wrote(key, bound).await;
        }
    }
    response
}

async fn wrote_recently(state: &AppState, headers: &HeaderMap, bound: Duration) -> bool {
    if let Some(at) = wrote_cookie(headers) {
        let now = unix_ms();
        if at <= now.saturating_add(1000) && now.saturating_sub(at) < bound.as_millis() as u64 {
            return true;
        }
    }
    match authn::bearer(headers) {
        Some(token) => {
            state
                .recent_writers
                .wrote_within(credential_key(token), bound)
                .await
        }
        None => false,
    }
}

fn wrote_cookie(headers: &HeaderMap) -> Option<u64> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .filter(|(name, _)| *name == WROTE_COOKIE)
        .filter_map(|(_, value)| value.parse().ok())
        .max()
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// A credential's key: its SHA-256, never the token itself.
fn credential_key(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Credentials that wrote lately: in this node's memory, and in Redis
/// (`storekeep:wrote:<sha256>`, expiring after the bound) when configured.
pub struct RecentWriters {
    local: Mutex<HashMap<[u8; 32], Instant>>,
    redis: RedisLink,
}

impl RecentWriters {
    pub fn new(redis: Option<redis::Client>) -> Self {
        Self {
            local: Mutex::new(HashMap::new()),
            redis: RedisLink::new(redis),
        }
    }

    fn redis_key(key: &[u8; 32]) -> String {
        let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
        format!("storekeep:wrote:{hex}")
    }

    async fn wrote(&self, key: [u8; 32], bound: Duration) {
        {
            let mut local = self.local.lock().expect("recent writers lock");
            let now = Instant::now();
            // Forget what is past the bound once the map grows.
            if local.len() >= 4096 {
                local.retain(|_, at| now.duration_since(*at) < bound);
            }
            local.insert(key, now);
        }
        if !self.redis.worth_trying() {
            return;
        }
        let written = tokio::time::timeout(Duration::from_millis(250), async {
            let mut conn = self.redis.conn().await?;
            redis::cmd("SET")
                .arg(Self::redis_key(&key))
                .arg(1)
                .arg("PX")
                .arg(u64::try_from(bound.as_millis()).unwrap_or(u64::MAX))
                .query_async::<()>(&mut conn)
                .await
        })
        .await;
        self.note(matches!(written, Ok(Ok(()))));
    }

    /// Did the credential write within `bound`? When Redis is configured
    /// and does not answer, yes (the primary is always right).
    async fn wrote_within(&self, key: [u8; 32], bound: Duration) -> bool {
        if self
            .local
            .lock()
            .expect("recent writers lock")
            .get(&key)
            .is_some_and(|at| at.elapsed() < bound)
        {
            return true;
        }
        if !self.redis.configured() {
            return false;
        }
        if !self.redis.worth_trying() {
            return true;
        }
        let found = tokio::time::timeout(Duration::from_millis(250), async {
            let mut conn = self.redis.conn().await?;
            redis::cmd("EXISTS")
                .arg(Self::redis_key(&key))
                .query_async::<bool>(&mut conn)
                .await
        })
        .await;
        match found {
            Ok(Ok(exists)) => {
                self.note(true);
                exists
            }
            _ => {
                self.note(false);
                true
            }
        }
    }

    fn note(&self, ok: bool) {
        if ok {
            self.redis.succeeded();
        } else if self.redis.failed() {
            tracing::warn!(
                "read replica: Redis unavailable; requests with a credential read the primary"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_pages_may_read_stale_and_nothing_else() {
        for p in [
            "/api/v1/store/products",
            "/api/v1/store/products/blue-mug",
            "/api/v1/store/categories",
            "/api/v1/store/search",
            "/api/v1/admin/products",
            "/api/v1/admin/products/0190",
            "/",
            "/products/blue-mug",
            "/categories/mugs",
            "/search",
            "/console/products",
        ] {
            assert!(stale_route(p), "{p}");
        }
        for p in [
            "/api/v1/store/carts",
            "/api/v1/store/carts/1/checkout",
            "/api/v1/store/products/",
            "/api/v1/admin/products/1/variants",
            "/api/v1/admin/orders",
            "/api/v1/auth/sessions",
            "/api/health/ready",
            "/cart",
            "/account",
            "/console/orders",
            "/console/products/1",
        ] {
            assert!(!stale_route(p), "{p}");
        }
    }

    #[test]
    fn the_cookie_is_read_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=b; sk_wrote=1700000000000; c=d"),
        );
        assert_eq!(wrote_cookie(&h), Some(1_700_000_000_000));
        h.insert(header::COOKIE, HeaderValue::from_static("sk_wrote=soon"));
        assert_eq!(wrote_cookie(&h), None);
    }
}
