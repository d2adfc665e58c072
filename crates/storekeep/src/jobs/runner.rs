//! [`Runner`]: the poll loop of each queue, the job's lease and heartbeat,
//! settling the outcome, the rescuer, periodic jobs and the queue figures.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use storekeep_domain::{Job, NewJob};
use storekeep_store::jobs::Failure;
use storekeep_store::{Store, StoreResult, now};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use super::backoff::Backoff;
use super::completer::Completer;
use super::{JobError, JobHandler, JobQueue, JobRun, Periodic};
use crate::config::JobSettings;
use crate::metrics::Metrics;

/// How often the queue figures (metrics, detailed health) are re-read.
const STATS_EVERY: Duration = Duration::from_secs(10);

/// Runs the registered handlers on this node's queues until stopped.
pub struct Runner {
    store: Arc<dyn Store>,
    queue: JobQueue,
    settings: JobSettings,
    handlers: HashMap<String, Arc<dyn JobHandler>>,
    periodic: Vec<Periodic>,
    worker: String,
    metrics: Option<Arc<Metrics>>,
    grace: Duration,
    /// Saves successes in batches; started by `run`.
    completer: Option<Completer>,
}

impl Runner {
    /// A runner over `queue`'s store, with no handler yet; `grace` bounds
    /// how long shutdown waits for running handlers.
    pub fn new(queue: JobQueue, settings: JobSettings, grace: Duration) -> Self {
        let worker = format!(
            "{}:{}:{:04x}",
            std::env::var("HOSTNAME").unwrap_or_else(|_| "node".into()),
            std::process::id(),
            rand::random::<u16>()
        );
        Self {
            store: queue.store.clone(),
            queue,
            settings,
            handlers: HashMap::new(),
            periodic: Vec::new(),
            worker,
            metrics: None,
            grace,
            completer: None,
        }
    }

    /// Runs jobs of `kind` with `handler` (a later registration of the
    /// same kind replaces it).
    pub fn register(&mut self, kind: &str, handler: impl JobHandler) -> &mut Self {
        self.handlers.insert(kind.to_owned(), Arc::new(handler));
        self
    }

    /// Enqueues `job` once per period on every node (one run per period).
    pub fn periodic(&mut self, job: Periodic) -> &mut Self {
        self.periodic.push(job);
        self
    }

    /// Reports runs and queue figures to `metrics`.
    pub fn with_metrics(&mut self, metrics: Arc<Metrics>) -> &mut Self {
        self.metrics = Some(metrics);
        self
    }

    /// This runner's worker id (`locked_by` of the jobs it claims).
    pub fn worker_id(&self) -> &str {
        &self.worker
    }

    /// Runs until `stop` turns true, then stops claiming and waits for
    /// running handlers, at most the grace period.
    pub async fn run(mut self, stop: watch::Receiver<bool>) {
        self.completer = Some(Completer::start(self.store.clone()));
        let me = Arc::new(self);
        let handlers = TaskTracker::new();
        let loops = TaskTracker::new();
        for (queue, concurrency) in me.settings.queues.clone() {
            let sem = Arc::new(Semaphore::new(concurrency));
            let run =
                me.clone()
                    .queue_loop(queue, concurrency, sem, handlers.clone(), stop.clone());
            loops.spawn(run);
        }
        loops.spawn(me.clone().rescue_loop(stop.clone()));
        loops.spawn(me.clone().stats_loop(stop.clone()));
        for job in me.periodic.clone() {
            loops.spawn(me.clone().periodic_loop(job, stop.clone()));
        }
        loops.close();
        loops.wait().await;
        handlers.close();
        if tokio::time::timeout(me.grace, handlers.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                grace_secs = me.grace.as_secs(),
                "jobs: handlers still running at the end of the grace period; their leases will be rescued"
            );
        }
    }

    /// Claims while workers are free. With a backlog (the last claim filled
    /// every worker it asked for), it waits until a quarter of the workers
    /// are free and claims them in one statement, instead of one claim per
    /// finished job: a claim is a write, and a busy queue then costs about
    /// one write per job besides its own settling.
    ///
    /// A claim reserves the free workers' permits before it is sent, so no
    /// more handlers than `concurrency` ever run. One claim is outstanding
    /// at a time: several in flight on PostgreSQL (`SKIP LOCKED` lets them
    /// pass each other) measured worse, more commits per job
    /// (docs/benchmarks.md, "Background jobs").
    async fn queue_loop(
        self: Arc<Self>,
        queue: String,
        concurrency: usize,
        sem: Arc<Semaphore>,
        handlers: TaskTracker,
        mut stop: watch::Receiver<bool>,
    ) {
        let wake = self.queue.notify(&queue);
        let batch = (concurrency / 4).max(1);
        let mut claims: JoinSet<Claimed> = JoinSet::new();
        // May claim now: woken, polled, or the last claim came back full.
        let mut ready = true;
        let mut backlog = false;
        // Woken (new work, or a worker freed) while a claim was in flight:
        // that claim may have looked before the new job was committed, so
        // its coming back short must not put the loop to sleep until the
        // poll.
        let mut woken = false;
        let mut stopped = false;
        let mut failures: u32 = 0;
        loop {
            let stopping = stopped || *stop.borrow();
            let free = sem.available_permits();
            if !stopping && ready && claims.is_empty() && free > 0 && (!backlog || free >= batch) {
                let n = u32::try_from(free).unwrap_or(u32::MAX);
                if let Ok(permits) = sem.clone().try_acquire_many_owned(n) {
                    woken = false;
                    claims.spawn(self.clone().claim(queue.clone(), permits));
                }
            }
            if stopping && claims.is_empty() {
                // A claim in flight was waited for: its jobs run (within
                // the grace period), none is left claimed.
                return;
            }
            tokio::select! {
                Some(joined) = claims.join_next(), if !claims.is_empty() => {
                    let Ok((got, mut permits)) = joined else {
                        ready = false;
                        continue;
                    };
                    match got {
                        Ok(jobs) => {
                            failures = 0;
                            backlog = jobs.len() == permits.num_permits();
                            ready = backlog || woken;
                            for job in jobs {
                                let Some(permit) = permits.split(1) else {
                                    break;
                                };
                                handlers.spawn(self.clone().execute(job, permit, wake.clone()));
                            }
                        }
                        Err(e) => {
                            (backlog, ready) = (false, false);
                            failures += 1;
                            if failures == 1 || failures.is_multiple_of(10) {
                                tracing::warn!(error = %e, queue, failures, "jobs: claiming failed");
                            }
                        }
                    }
                }
                () = tokio::time::sleep(self.settings.poll_interval), if claims.is_empty() => ready = true,
                () = wake.notified() => (ready, woken) = (true, true),
                // A dropped sender stops the loop too.
                changed = stop.changed(), if !stopping => stopped = changed.is_err(),
            }
        }
    }

    /// One claim for as many jobs as `permits` holds; the permits come back
    /// with the jobs (those not used are freed when dropped).
    async fn claim(self: Arc<Self>, queue: String, permits: OwnedSemaphorePermit) -> Claimed {
        let limit = i64::try_from(permits.num_permits()).unwrap_or(i64::MAX);
        let got = self
            .store
            .claim(&queue, limit, self.settings.lease, &self.worker)
            .await;
        (got, permits)
    }

    async fn execute(self: Arc<Self>, job: Job, permit: OwnedSemaphorePermit, done: Arc<Notify>) {
        let span = tracing::info_span!("job", job.id = %job.id, job.kind = %job.kind);
        let mut slot = Some((permit, done));
        // Tracing off: one atomic load, no span.
        let trace = crate::traces::tracer().map(|t| crate::traces::start_job(t, &job));
        let run = async {
            let started = Instant::now();
            match self.run_handler(&job, trace.as_ref()).await {
                Some(outcome) => {
                    self.settle(&job, outcome, started.elapsed(), &mut slot)
                        .await
                }
                None => "lease_lost",
            }
        }
        .instrument(span);
        let result = match &trace {
            None => run.await,
            Some(cx) => crate::traces::FutureExt::with_context(run, cx.clone()).await,
        };
        if let Some(cx) = &trace {
            crate::traces::end_job(cx, result);
        }
        free(&mut slot);
    }

    /// The handler's outcome, or `None` if the lease was lost meanwhile
    /// (the job was rescued; its new worker settles it).
    async fn run_handler(
        &self,
        job: &Job,
        trace: Option<&opentelemetry::Context>,
    ) -> Option<Result<(), JobError>> {
        let Some(handler) = self.handlers.get(&job.kind).cloned() else {
            return Some(Err(JobError::retry(format!(
                "no handler for kind {} on this node",
                job.kind
            ))));
        };
        let token = job.lease_token?;
        let run = JobRun {
            id: job.id,
            kind: job.kind.clone(),
            queue: job.queue.clone(),
            tenant: job.tenant_id,
            payload: job.payload.clone(),
            attempt: job.attempt,
            max_attempts: job.max_attempts,
        };
        // A task of its own, so a panicking handler fails its job only.
        let work = async move { handler.run(&run).await };
        let mut task = match trace {
            None => tokio::spawn(work),
            // The handler's store calls are children of the job's span.
            Some(cx) => tokio::spawn(crate::traces::FutureExt::with_context(work, cx.clone())),
        };
        let lease = self.settings.lease;
        let mut beat = tokio::time::interval(lease / 3);
        beat.tick().await;
        loop {
            tokio::select! {
                res = &mut task => {
                    return Some(res.unwrap_or_else(|e| Err(JobError::retry(format!("the handler failed: {e}")))));
                }
                _ = beat.tick() => {
                    let until = later(now(), lease);
                    match self.store.heartbeat(job.id, token, until).await {
                        Ok(true) => {}
                        Ok(false) => {
                            task.abort();
                            tracing::warn!("jobs: the lease was lost; the job was handed to another worker");
                            return None;
                        }
                        Err(e) => tracing::warn!(error = %e, "jobs: heartbeat failed"),
                    }
                }
            }
        }
    }

    /// Saves the outcome. A success goes to the completer, and the worker's
    /// slot is freed as soon as it is handed over, so the queue claims its
    /// next jobs while the batch is written. A crash in between runs the job
    /// again, as a crash before any completion would: a crash repeats the
    /// jobs running and those whose success was not written yet (the batch
    /// being written and what finished meanwhile). Bounding those waiting
    /// to the queue's concurrency (a worker waiting, holding its slot) would
    /// cap a crash's repeats at twice the concurrency, but measured 0.27× of
    /// inserts on PostgreSQL against 0.42× without the bound
    /// (docs/benchmarks.md, "Background jobs").
    async fn settle(
        &self,
        job: &Job,
        outcome: Result<(), JobError>,
        took: Duration,
        slot: &mut Option<Slot>,
    ) -> &'static str {
        let Some(token) = job.lease_token else {
            return "lease_lost";
        };
        let backoff = Backoff {
            base: self.settings.backoff_base,
            max: self.settings.backoff_max,
        };
        let (result, applied) = match outcome {
            Ok(()) => (
                "completed",
                match &self.completer {
                    Some(batches) => {
                        let saved = batches.submit(job.id, token);
                        free(slot);
                        saved.await
                    }
                    None => self.store.complete(job.id, token).await,
                },
            ),
            Err(JobError::Snooze { after }) => (
                "snoozed",
                self.store.snooze(job.id, token, later(now(), after)).await,
            ),
            Err(JobError::Retry { message, after }) if job.attempt < job.max_attempts => {
                let delay = after.unwrap_or_else(|| backoff.delay(job.attempt));
                let at = later(now(), delay);
                tracing::info!(attempt = job.attempt, error = %message, retry_in_secs = delay.as_secs(), "jobs: attempt failed, will retry");
                let failure = Failure::RetryAt(at);
                (
                    "retried",
                    self.store.fail(job.id, token, &message, failure).await,
                )
            }
            Err(JobError::Retry { message, .. } | JobError::Permanent { message }) => {
                tracing::warn!(attempt = job.attempt, error = %message, "jobs: job is dead");
                (
                    "dead",
                    self.store
                        .fail(job.id, token, &message, Failure::Dead)
                        .await,
                )
            }
        };
        match applied {
            Ok(true) => {
                if let Some(m) = &self.metrics {
                    m.jobs.run(&job.kind, result, took);
                }
                result
            }
            Ok(false) => {
                tracing::warn!(
                    "jobs: the lease was lost before the outcome was saved; the job's new worker settles it"
                );
                "lease_lost"
            }
            Err(e) => {
                tracing::warn!(error = %e, "jobs: saving the outcome failed; the lease will be rescued");
                "unsaved"
            }
        }
    }

    async fn rescue_loop(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let every =
            (self.settings.lease / 2).clamp(Duration::from_millis(200), Duration::from_secs(30));
        loop {
            match self.store.rescue(now()).await {
                Ok(0) => {}
                Ok(n) => {
                    tracing::warn!(jobs = n, "jobs: rescued jobs whose worker's lease expired")
                }
                Err(e) => tracing::debug!(error = %e, "jobs: rescue failed"),
            }
            tokio::select! {
                () = tokio::time::sleep(every) => {}
                _ = stop.changed() => return,
            }
        }
    }

    async fn stats_loop(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        loop {
            match self.store.job_stats(now()).await {
                Ok(stats) => {
                    if let Some(m) = &self.metrics {
                        m.jobs.queues(&self.settings.queues, &stats, now());
                    }
                    self.queue.set_stats(stats);
                }
                Err(e) => tracing::debug!(error = %e, "jobs: reading the queue figures failed"),
            }
            tokio::select! {
                () = tokio::time::sleep(STATS_EVERY) => {}
                _ = stop.changed() => return,
            }
        }
    }

    async fn periodic_loop(self: Arc<Self>, job: Periodic, mut stop: watch::Receiver<bool>) {
        loop {
            let at = now();
            let start = period_start(at, job.period);
            let new = NewJob::new(
                job.kind.clone(),
                serde_json::json!({ "period_start": start }),
            )
            .queue(job.queue.clone())
            .max_attempts(3)
            .unique_key(format!(
                "periodic:{}:{}",
                job.name,
                start.timestamp_millis()
            ));
            if let Err(e) = self.queue.enqueue(new).await {
                tracing::debug!(error = %e, job = job.name, "jobs: enqueueing a periodic job failed");
            }
            let next = later(start, job.period);
            let wait = (next - now()).to_std().unwrap_or_default();
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                _ = stop.changed() => return,
            }
        }
    }
}

/// A claim's jobs and the workers' permits it reserved.
type Claimed = (StoreResult<Vec<Job>>, OwnedSemaphorePermit);

/// A worker's permit and the wake-up of its queue's claim loop.
type Slot = (OwnedSemaphorePermit, Arc<Notify>);

/// Gives the worker's slot back (once) and wakes the claim loop.
fn free(slot: &mut Option<Slot>) {
    if let Some((permit, done)) = slot.take() {
        drop(permit);
        done.notify_one();
    }
}

/// `at` plus `d` (saturating).
fn later(at: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(d)
        .ok()
        .and_then(|d| at.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// The start of the period of length `period` holding `at`, periods
/// aligned on the Unix epoch (so every node computes the same one).
pub fn period_start(at: DateTime<Utc>, period: Duration) -> DateTime<Utc> {
    let len = i64::try_from(period.as_millis()).unwrap_or(i64::MAX).max(1);
    let ms = at.timestamp_millis();
    DateTime::from_timestamp_millis(ms - ms.rem_euclid(len)).unwrap_or(at)
}

#[cfg(test)]
#[path = "runner_tests.rs"]
mod tests;
