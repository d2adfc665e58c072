//! `AppState`: what every request handler and CLI command shares.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use storekeep_store::Store;

use crate::cache::ResponseCache;
use crate::config::Settings;
use crate::crypto::Keyring;
use crate::mail::Mailer;
use crate::media::Media;
use crate::metrics::Metrics;
use crate::ratelimit::RateLimiter;

/// Cheap to clone: everything inside is shared.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub settings: Arc<Settings>,
    pub keyring: Arc<Keyring>,
    pub mailer: Mailer,
    pub limiter: Arc<RateLimiter>,
    pub metrics: Arc<Metrics>,
    pub cache: Arc<ResponseCache>,
    pub tenants: Arc<crate::http::extract::tenant::TenantCache>,
    /// The `default` plan's limits, for requests that address no shop.
    pub default_limits: Arc<crate::services::plans::DefaultLimits>,
    pub media: Media,
    pub payments: crate::payments::Payments,
    pub started: Instant,
    /// What readiness remembers between checks.
    pub health: Arc<crate::http::routes::health::HealthMemory>,
    /// Work a request started and does not wait for (a password reset's
    /// mail); shutdown waits for it, within the grace period.
    pub background: tokio_util::task::TaskTracker,
    draining: Arc<AtomicBool>,
}

impl AppState {
    /// Fails only if the media store cannot be set up (an unwritable
    /// folder, an invalid S3 configuration).
    pub fn new(
        store: Arc<dyn Store>,
        settings: Settings,
        keyring: Keyring,
    ) -> anyhow::Result<Self> {
        let metrics = Arc::new(Metrics::new());
        let redis_url = settings.redis_url.as_ref().map(|u| u.expose().to_owned());
        let limiter = Arc::new(RateLimiter::new(redis_url.clone()));
        let cache = Arc::new(ResponseCache::new(
            settings.cache_max_bytes,
            settings.cache_ttl,
            redis_url,
        ));
        let media = Media::from_settings(&settings.media, &settings.data_dir)?;
        let payments = crate::payments::Payments::new(
            &settings.payments,
            &format!("http://{}", settings.listen),
        );
        Ok(Self {
            cache,
            media,
            payments,
            tenants: Arc::new(crate::http::extract::tenant::TenantCache::default()),
            default_limits: Arc::default(),
            store,
            mailer: Mailer::folder(settings.data_dir.join("mail")),
            settings: Arc::new(settings),
            keyring: Arc::new(keyring),
            limiter,
            metrics,
            started: Instant::now(),
            health: Arc::default(),
            background: tokio_util::task::TaskTracker::new(),
            draining: Arc::new(AtomicBool::new(false)),
        })
    }

    /// Points the `test` provider's simulated processor at the address the
    /// server actually bound (port 0 picks one at start-up).
    pub fn set_self_address(&mut self, addr: std::net::SocketAddr) {
        let host = if addr.ip().is_unspecified() {
            std::net::SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), addr.port())
        } else {
            addr
        };
        self.payments =
            crate::payments::Payments::new(&self.settings.payments, &format!("http://{host}"));
    }

    /// Readiness turns false for good: the node is shutting down.
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }
}
