//! Business operations shared by the HTTP API and the CLI: they parse raw
//! input into domain types, collecting every problem, then call the store.

pub mod accounts;
pub mod audit;
pub mod authn;
pub mod bulk;
pub mod bulk_csv;
#[cfg(test)]
mod bulk_proptests;
pub mod cart_edits;
pub mod carts;
pub mod catalog;
pub mod checkout;
pub mod console;
pub mod credentials;
// i18: the console's customers screens.
pub mod customers;
pub mod deals;
pub mod delivery;
pub mod demo_catalog;
pub mod health;
pub mod images;
pub mod jobs;
pub mod keys;
pub mod notify;
pub mod orders;
pub mod payments;
pub mod plans;
// i16: customers' rights (export, erasure).
pub mod privacy;
pub mod privacy_email;
pub mod product_imports;
pub mod products;
pub mod rental_document;
pub mod sessions;
pub mod sign_in;
pub mod staff;
pub mod storefront;
pub mod tenancy;
pub mod tenants;
pub mod webhooks;
// Rentals.
pub mod rentals;
// Rental contracts (contracts part).
pub mod contracts;

use std::sync::Arc;

use storekeep_domain::ValidationErrors;
use storekeep_store::{Store, StoreError};

use crate::cache::ResponseCache;
use crate::config::Settings;
use crate::crypto::Keyring;
use crate::mail::Mailer;
use crate::media::Media;
use crate::metrics::Metrics;
use crate::payments::Payments;

/// What the services use, and nothing of HTTP: the store, the keyring,
/// payments, media, the read caches, the mailer, the settings and the
/// metrics. Built once at start-up and shared behind an `Arc`
/// (`Arc<Services>` is also what background work keeps).
pub struct Services {
    pub store: Arc<dyn Store>,
    pub settings: Arc<Settings>,
    pub keyring: Arc<Keyring>,
    pub mailer: Mailer,
    pub metrics: Arc<Metrics>,
    /// The read-response cache (public catalog reads).
    pub cache: ResponseCache,
    /// The client for `redis.url` (`redis_link::client`), for the HTTP
    /// layer's shared state (rate limits, recent writers).
    pub redis: Option<redis::Client>,
    /// Recently resolved tenants, by domain and slug.
    pub tenants: tenancy::TenantCache,
    /// The `default` plan's limits, for requests that address no shop.
    pub default_limits: plans::DefaultLimits,
    pub media: Media,
    pub payments: Payments,
    /// Work a service started and does not wait for (a password reset's
    /// mail); shutdown waits for it, within the grace period.
    pub background: tokio_util::task::TaskTracker,
    /// Enqueues background jobs (and wakes this node's workers).
    pub jobs: crate::jobs::JobQueue,
    /// Wakes this node's outbox dispatcher after events were committed.
    pub dispatch: delivery::DispatchSignal,
    /// The HTTP client of outbound webhooks (`webhooks::deliver::client`).
    pub webhook_client: reqwest::Client,
    /// Records webhook attempts in batches (`webhooks::deliver::recorder`).
    pub webhook_attempts: webhooks::deliver::AttemptRecorder,
    /// The last good backup and this node's backup failures.
    pub backups: Arc<crate::backup::watch::BackupWatch>,
}

impl Services {
    /// Fails only if the media store cannot be set up (an unwritable
    /// folder, an invalid S3 configuration), the mail transport cannot
    /// (`mail.*`) or the Redis client cannot (`redis.url`, `redis.ca_file`).
    pub fn new(
        store: Arc<dyn Store>,
        settings: Settings,
        keyring: Keyring,
    ) -> anyhow::Result<Self> {
        let redis = crate::redis_link::client(&settings)?;
        let cache = ResponseCache::new(settings.cache_max_bytes, settings.cache_ttl, redis.clone())
            .with_replica_max_lag(settings.database_replica_max_lag);
        let media = Media::from_settings(&settings.media, &settings.data_dir)?;
        let payments = Payments::new(&settings.payments, &format!("http://{}", settings.listen));
        let jobs = crate::jobs::JobQueue::new(
            store.clone(),
            settings.jobs.max_attempts,
            &settings.jobs.queues,
        );
        let settings_webhooks = settings.webhooks.clone();
        let metrics = Arc::new(Metrics::new());
        let backups = Arc::new(crate::backup::watch::BackupWatch::new(
            crate::backup::destination(&settings),
            crate::backup::schedule(&settings),
            metrics.clone(),
        ));
        Ok(Self {
            store: store.clone(),
            mailer: Mailer::from_settings(&settings.mail, &settings.data_dir)?,
            settings: Arc::new(settings),
            keyring: Arc::new(keyring),
            metrics,
            cache,
            redis,
            tenants: tenancy::TenantCache::default(),
            default_limits: plans::DefaultLimits::default(),
            media,
            payments,
            background: tokio_util::task::TaskTracker::new(),
            jobs,
            dispatch: delivery::DispatchSignal::default(),
            webhook_client: webhooks::deliver::client(&settings_webhooks),
            webhook_attempts: webhooks::deliver::recorder(store.clone()),
            backups,
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
        self.payments = Payments::new(&self.settings.payments, &format!("http://{host}"));
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The request is malformed as a whole (a bad cursor or query), not in
    /// a field.
    #[error("{0}")]
    BadRequest(String),
    /// An upload is larger than the server accepts.
    #[error("the upload is too large")]
    TooLarge,
    /// The shop's plan allows no more of something; the message says what.
    #[error("{0}")]
    PlanLimit(String),
    /// The request is valid but conflicts with the current state; `errors`
    /// name what (for example each line short of stock).
    #[error("{detail}")]
    Conflict {
        detail: String,
        errors: Vec<storekeep_domain::FieldError>,
    },
    /// The media store (images) failed.
    #[error(transparent)]
    Media(#[from] crate::media::MediaError),
}

pub type ServiceResult<T> = Result<T, ServiceError>;

/// A sealed value that does not open is a fault of the stored data or the
/// configured keys, never of the request.
impl From<crate::crypto::keyring::OpenError> for ServiceError {
    fn from(e: crate::crypto::keyring::OpenError) -> Self {
        Self::Store(StoreError::other(e))
    }
}
