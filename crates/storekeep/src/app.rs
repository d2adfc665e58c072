//! `AppState`: what the HTTP layer and the server runtime share. It holds
//! the [`Services`] (everything business operations use) and the runtime's
//! own parts (rate limiter, readiness memory, the draining flag). One
//! `Arc` inside: cloning it per request is a single reference count.

use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use storekeep_store::Store;

use crate::config::Settings;
use crate::crypto::Keyring;
use crate::ratelimit::RateLimiter;
use crate::services::Services;

/// Cheap to clone: one `Arc`.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// What `AppState` shares; reached through `Deref`.
pub struct Shared {
    /// The business operations' dependencies; handlers pass
    /// `&state.services` to a service call and never use the store
    /// themselves.
    pub services: Arc<Services>,
    pub limiter: RateLimiter,
    pub started: Instant,
    /// What readiness remembers between checks.
    pub health: crate::http::routes::health::HealthMemory,
    /// Credentials that wrote lately (read-your-writes with a replica).
    pub recent_writers: crate::http::middleware::RecentWriters,
    draining: AtomicBool,
}

impl Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl AppState {
    /// Fails only if the media store cannot be set up (an unwritable
    /// folder, an invalid S3 configuration).
    pub fn new(
        store: Arc<dyn Store>,
        settings: Settings,
        keyring: Keyring,
    ) -> anyhow::Result<Self> {
        Ok(Self::from_services(Services::new(
            store, settings, keyring,
        )?))
    }

    pub fn from_services(services: Services) -> Self {
        let redis = services.redis.clone();
        Self(Arc::new(Shared {
            services: Arc::new(services),
            limiter: RateLimiter::new(redis.clone()),
            recent_writers: crate::http::middleware::RecentWriters::new(redis),
            started: Instant::now(),
            health: crate::http::routes::health::HealthMemory::default(),
            draining: AtomicBool::new(false),
        }))
    }

    /// Readiness turns false for good: the node is shutting down.
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }
}
