//! The background job runner: one for all background work (email,
//! webhooks, order expiry, pruning…), over the store's `jobs` table.
//!
//! - A **handler** ([`JobHandler`]) runs one kind of job (`"email.send"`,
//!   `"webhook.deliver"`, `"orders.expire"`…), registered by kind name on
//!   the [`Runner`]. It answers `Ok`, [`JobError::Retry`] (with an optional
//!   delay that overrides the back-off, e.g. from `Retry-After`) or
//!   [`JobError::Permanent`] (dead-lettered at once).
//! - **Enqueue** with [`JobQueue::enqueue`] (wakes this node's workers of
//!   the queue at once), or inside a store transaction with
//!   `storekeep_store_sql::jobs::enqueue_in` (the job exists only if that
//!   transaction commits; other nodes see it at their next poll).
//! - **Queues** (`jobs.queues`) each have a poll loop and a concurrency; a
//!   claimed job is leased (`jobs.lease_secs`), the lease extended by a
//!   heartbeat while the handler runs; the **rescuer** hands jobs whose
//!   lease ended (a crashed node) back to the queue.
//! - **Retries** back off exponentially with full jitter ([`backoff`]), up
//!   to the job's `max_attempts`, then the job is dead: it stays for an
//!   operator to retry or discard (API, CLI).
//! - **Periodic** jobs ([`Periodic`]) are enqueued by every node with the
//!   unique key `periodic:{name}:{period start}`, so one run per period
//!   happens across all nodes.
//! - **Shutdown**: stop claiming, let running handlers finish within the
//!   grace period, return; unfinished leases are rescued later.

pub mod backoff;
mod backups;
mod completer;
mod delivery;
mod imports;
pub mod kinds;
pub mod metrics;
// i15 daily job
mod rentals;
mod runner;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use storekeep_domain::{JobId, NewJob, QueueStats, TenantId};
use storekeep_store::{Store, StoreResult};
use tokio::sync::Notify;

pub use runner::Runner;

/// The runner `serve` starts: this build's kinds registered, reporting
/// to the services' metrics, waiting at most the shutdown grace for
/// running handlers.
pub fn start(services: &Arc<crate::services::Services>) -> Runner {
    let settings = services.settings.jobs.clone();
    let mut runner = Runner::new(services.jobs.clone(), settings, services.settings.grace);
    runner.with_metrics(services.metrics.clone());
    runner.give_way(
        services.metrics.http_in_flight.clone(),
        services.settings.jobs.give_way_at(services.store.kind()),
    );
    kinds::register(&mut runner, services);
    delivery::register(&mut runner, services);
    // i15 daily job
    rentals::register(&mut runner, services);
    backups::register(&mut runner, services);
    imports::register(&mut runner, services);
    runner
}

/// A job as its handler sees it.
#[derive(Debug, Clone)]
pub struct JobRun {
    pub id: JobId,
    pub kind: String,
    pub queue: String,
    pub tenant: Option<TenantId>,
    pub payload: serde_json::Value,
    /// This attempt's number, from 1.
    pub attempt: i32,
    pub max_attempts: i32,
}

/// Why a handler did not finish its job.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    /// A retry may help: the job runs again after `after` if given (e.g.
    /// a `Retry-After`), else after the back-off, unless it is out of
    /// attempts.
    #[error("{message}")]
    Retry {
        message: String,
        after: Option<Duration>,
    },
    /// No retry can help: the job is dead-lettered now.
    #[error("{message}")]
    Permanent { message: String },
    /// The handler had no room for the job now (not an attempt): it waits
    /// `after` and is claimed again with its attempts unchanged.
    #[error("snoozed")]
    Snooze { after: Duration },
}

impl JobError {
    pub fn retry(message: impl Into<String>) -> Self {
        Self::Retry {
            message: message.into(),
            after: None,
        }
    }

    pub fn retry_after(message: impl Into<String>, after: Duration) -> Self {
        Self::Retry {
            message: message.into(),
            after: Some(after),
        }
    }

    pub fn permanent(message: impl Into<String>) -> Self {
        Self::Permanent {
            message: message.into(),
        }
    }
}

/// Runs one kind of job. Jobs may run more than once (a retry, a rescued
/// lease), so a handler must be idempotent in effect.
#[async_trait]
pub trait JobHandler: Send + Sync + 'static {
    async fn run(&self, job: &JobRun) -> Result<(), JobError>;
}

/// A job enqueued by every node once per `period` (periods aligned on the
/// Unix epoch), one run per period across all nodes.
#[derive(Debug, Clone)]
pub struct Periodic {
    /// The unique key's name part (usually the kind).
    pub name: String,
    pub kind: String,
    pub queue: String,
    pub period: Duration,
}

/// Enqueues jobs and wakes this node's workers of their queue. Cheap to
/// clone; one per process, in `Services`.
#[derive(Clone)]
pub struct JobQueue {
    store: Arc<dyn Store>,
    max_attempts: i32,
    wake: Arc<HashMap<String, Arc<Notify>>>,
    /// The latest queue figures the runner read (for detailed health).
    latest: Arc<std::sync::Mutex<Option<Vec<QueueStats>>>>,
}

impl JobQueue {
    /// A queue handle over `store` that gives jobs without their own
    /// `max_attempts` this default, waking the workers of `queues`.
    pub fn new(store: Arc<dyn Store>, max_attempts: i32, queues: &[(String, usize)]) -> Self {
        let wake = queues
            .iter()
            .map(|(q, _)| (q.clone(), Arc::new(Notify::new())))
            .collect();
        Self {
            store,
            max_attempts,
            wake: Arc::new(wake),
            latest: Arc::default(),
        }
    }

    /// `job` as this queue enqueues it (with the default `max_attempts`),
    /// for a store operation that inserts it in its own transaction; call
    /// [`JobQueue::wake`] once that has committed.
    pub fn with_default(&self, job: &NewJob) -> NewJob {
        let mut job = job.clone();
        job.max_attempts.get_or_insert(self.max_attempts);
        job
    }

    /// Enqueues `job` (a taken unique key answers the existing job's id)
    /// and wakes its queue's workers on this node.
    pub async fn enqueue(&self, job: NewJob) -> StoreResult<JobId> {
        let id = self.store.enqueue(&self.with_default(&job)).await?;
        self.wake(&job.queue);
        Ok(id)
    }

    /// Enqueues every job in one transaction (all or none).
    pub async fn enqueue_many(&self, jobs: &[NewJob]) -> StoreResult<Vec<JobId>> {
        let full: Vec<NewJob> = jobs.iter().map(|j| self.with_default(j)).collect();
        let ids = self.store.enqueue_many(&full).await?;
        for job in jobs {
            self.wake(&job.queue);
        }
        Ok(ids)
    }

    /// Wakes this node's workers of `queue` (after a job was enqueued by
    /// other means, e.g. in a store transaction that has now committed).
    pub fn wake(&self, queue: &str) {
        if let Some(n) = self.wake.get(queue) {
            n.notify_one();
        }
    }

    /// The queue figures the runner read last (every few seconds), if
    /// it runs on this node.
    pub fn stats(&self) -> Option<Vec<QueueStats>> {
        self.latest.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn set_stats(&self, stats: Vec<QueueStats>) {
        if let Ok(mut latest) = self.latest.lock() {
            *latest = Some(stats);
        }
    }

    fn notify(&self, queue: &str) -> Arc<Notify> {
        self.wake
            .get(queue)
            .cloned()
            .unwrap_or_else(|| Arc::new(Notify::new()))
    }
}
