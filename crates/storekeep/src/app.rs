//! `AppState`: what every request handler and CLI command shares.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use storekeep_store::Store;

use crate::config::Settings;
use crate::metrics::Metrics;

/// Cheap to clone: everything inside is shared.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub settings: Arc<Settings>,
    pub metrics: Arc<Metrics>,
    pub started: Instant,
    draining: Arc<AtomicBool>,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, settings: Settings) -> Self {
        Self {
            store,
            settings: Arc::new(settings),
            metrics: Arc::new(Metrics::new()),
            started: Instant::now(),
            draining: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Readiness turns false for good: the node is shutting down.
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }
}
