//! [`Runner`]: the poll loop of each queue, the job's lease and heartbeat,
//! settling the outcome, the rescuer, periodic jobs and the queue figures.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use prometheus::IntGauge;
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
    /// The node's requests being served, and how many make its queues
    /// give way (see [`Runner::give_way`]).
    give_way: Option<(IntGauge, i64)>,
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
            give_way: None,
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

    /// While `in_flight` (the node's requests being served) reads `at` or
    /// more, each queue starts jobs on a quarter of its workers (at least
    /// one) and claims ahead for those only; the others wait until it reads
    /// less. Jobs already running finish. `at` 0: never.
    ///
    /// On a node that serves and runs jobs, the jobs' handlers and their
    /// database writes take the processor and connections the requests
    /// wait for: in a rush, order emails could go out during it and
    /// checkouts slow down, or go out a few seconds later and checkouts
    /// keep their pace. Between rushes the queues run at full strength.
    pub fn give_way(&mut self, in_flight: IntGauge, at: usize) -> &mut Self {
        self.give_way = (at > 0).then(|| (in_flight, i64::try_from(at).unwrap_or(i64::MAX)));
        self
    }

    /// How many of a queue's `concurrency` workers may start jobs now.
    fn workers(&self, concurrency: usize) -> usize {
        match &self.give_way {
            Some((in_flight, at)) if in_flight.get() >= *at => (concurrency / 4).max(1),
            _ => concurrency,
        }
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

    /// Claims while workers are free, and runs what it claimed. With a
    /// backlog (the last claim filled all it asked for), it waits until
    /// there is room for a group (a quarter of the workers, or half of
    /// what it holds ahead) and claims it in one statement, instead of one
    /// claim per finished job: a claim is a write, and a busy queue then
    /// costs less than one write per job besides its own settling.
    ///
    /// A queue whose jobs are short also claims ahead: up to as many
    /// jobs as its workers get through in [`AHEAD_HORIZON`] (at most twice
    /// its concurrency), held until a worker is free. A busy queue of
    /// short jobs (order emails) then claims several at a time where it
    /// claimed one, and a claim of five costs PostgreSQL about a third of
    /// five claims of one (docs/benchmarks.md, "Background jobs"). A queue
    /// of long jobs (backups) claims nothing ahead, so no job waits behind
    /// one and no other node's free worker is kept from it. Jobs held
    /// ahead are handed back in their place when the runner stops or
    /// after a sixth of a lease, and a crash leaves them to the rescuer,
    /// as it does the running ones. A job enqueued meanwhile with a higher
    /// priority waits behind those held (at most twice the concurrency,
    /// 50 ms of work at the queue's pace).
    ///
    /// No more handlers than `concurrency` ever run (a job starts on a
    /// worker's permit). One claim is outstanding at a time: several in
    /// flight on PostgreSQL (`SKIP LOCKED` lets them pass each other)
    /// measured worse, more commits per job (docs/benchmarks.md,
    /// "Background jobs").
    async fn queue_loop(
        self: Arc<Self>,
        queue: String,
        concurrency: usize,
        sem: Arc<Semaphore>,
        handlers: TaskTracker,
        mut stop: watch::Receiver<bool>,
    ) {
        let wake = self.queue.notify(&queue);
        let pace = Arc::new(Pace::default());
        let workers_gauge = self.metrics.as_ref().map(|m| m.jobs.workers(&queue));
        let mut claims: JoinSet<(StoreResult<Vec<Job>>, usize)> = JoinSet::new();
        let mut held: VecDeque<Job> = VecDeque::new();
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
            // Jobs are held in claim order: the front one goes stale first.
            let stale = held.front().map(|j| self.held_until(j));
            if stale.is_some_and(|at| at <= Instant::now()) {
                // The workers are slower than the pace said (a long job
                // among short ones): hand back what is held while its
                // leases are young, and claim nothing ahead until a job
                // has finished and set the pace again.
                pace.reset();
                self.hand_back(std::mem::take(&mut held)).await;
            }
            // Fewer while the node gives way to requests.
            let workers = self.workers(concurrency);
            if let Some(g) = &workers_gauge {
                g.set(i64::try_from(workers).unwrap_or(i64::MAX));
            }
            let running = |sem: &Semaphore| concurrency - sem.available_permits();
            while !stopping && !held.is_empty() && running(&sem) < workers {
                let Ok(permit) = sem.clone().try_acquire_owned() else {
                    break;
                };
                if let Some(job) = held.pop_front() {
                    let slot = (permit, wake.clone());
                    handlers.spawn(self.clone().execute(job, slot, pace.clone()));
                }
            }
            let ahead = pace.ahead(workers);
            let room = (workers + ahead).saturating_sub(running(&sem) + held.len());
            // With a backlog, claim in groups: a quarter of the workers,
            // half of what is held ahead, and at least two when two or
            // more are (one worker with two ahead would otherwise claim
            // one job a start, as without claiming ahead).
            let enough = if backlog {
                (workers / 4).max(ahead / 2).max(ahead.min(2)).max(1)
            } else {
                1
            };
            if !stopping && ready && claims.is_empty() && room >= enough {
                woken = false;
                claims.spawn(self.clone().claim(queue.clone(), room));
            }
            if stopping && claims.is_empty() {
                // Jobs claimed ahead and not started go back to the queue
                // (for another node, or this one's next start) at once,
                // not when their leases run out.
                self.hand_back(held).await;
                return;
            }
            tokio::select! {
                Some(joined) = claims.join_next(), if !claims.is_empty() => {
                    let Ok((got, asked)) = joined else {
                        ready = false;
                        continue;
                    };
                    match got {
                        Ok(jobs) => {
                            failures = 0;
                            backlog = jobs.len() == asked;
                            ready = backlog || woken;
                            held.extend(jobs);
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
                // A started front job only makes this wake early.
                () = tokio::time::sleep_until(stale.unwrap_or_else(Instant::now).into()), if !held.is_empty() => {}
                () = wake.notified() => (ready, woken) = (true, true),
                // A dropped sender stops the loop too.
                changed = stop.changed(), if !stopping => stopped = changed.is_err(),
            }
        }
    }

    /// One claim for up to `limit` jobs; `limit` comes back with them.
    async fn claim(self: Arc<Self>, queue: String, limit: usize) -> (StoreResult<Vec<Job>>, usize) {
        let n = i64::try_from(limit).unwrap_or(i64::MAX);
        let got = self
            .store
            .claim(&queue, n, self.settings.lease, &self.worker)
            .await;
        (got, limit)
    }

    /// Until when a job claimed ahead may wait for a worker: while five
    /// sixths of its lease are left. Its handler's heartbeats come every
    /// third of a lease from the start, so a job that starts then still
    /// outlives one failed heartbeat, as a freshly claimed one does.
    fn held_until(&self, job: &Job) -> Instant {
        let lease = self.settings.lease;
        let left = job
            .locked_until
            .and_then(|until| (until - now()).to_std().ok())
            .unwrap_or(Duration::ZERO);
        Instant::now() + left.saturating_sub(lease * 5 / 6)
    }

    /// Gives claimed jobs that never started back to their queue in
    /// their place (`snooze` to their own `run_at`: available, the attempt
    /// not counted), within [`HAND_BACK_WITHIN`] in all. One that cannot
    /// be given back (the database is down) is left to the rescuer when
    /// its lease ends, as a running job of a crashed node is: with its
    /// attempt counted and the expired lease on record.
    async fn hand_back(&self, jobs: VecDeque<Job>) {
        let back = async {
            let mut back = 0;
            for job in &jobs {
                let Some(token) = job.lease_token else {
                    continue;
                };
                match self.store.snooze(job.id, token, job.run_at).await {
                    Ok(true) => back += 1,
                    // Its lease is gone already (the rescuer took it back,
                    // or another worker holds it).
                    Ok(false) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, job.id = %job.id, "jobs: handing back a job claimed ahead failed; its lease will be rescued");
                    }
                }
            }
            if back > 0 {
                tracing::info!(jobs = back, "jobs: handed back jobs claimed ahead");
            }
        };
        if tokio::time::timeout(HAND_BACK_WITHIN, back).await.is_err() {
            tracing::warn!(
                jobs = jobs.len(),
                "jobs: handing back the jobs claimed ahead took too long; the rest will be rescued when their leases end"
            );
        }
    }

    async fn execute(self: Arc<Self>, job: Job, slot: Slot, pace: Arc<Pace>) {
        let span = tracing::info_span!("job", job.id = %job.id, job.kind = %job.kind);
        let mut slot = Some(slot);
        // Tracing off: one atomic load, no span.
        let trace = crate::traces::tracer().map(|t| crate::traces::start_job(t, &job));
        let run = async {
            let started = Instant::now();
            let handler = self.handlers.get(&job.kind).cloned();
            // A kind no handler here knows "finishes" at once: no pace.
            let known = handler.is_some();
            let outcome = self.run_handler(&job, handler, trace.as_ref()).await;
            let took = started.elapsed();
            if known {
                pace.record(took);
            }
            match outcome {
                Some(outcome) => self.settle(&job, outcome, took, &mut slot).await,
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

    /// The outcome of `handler` (the job's kind's; `None`: this node has
    /// none, a retryable error), or `None` if the lease was lost meanwhile
    /// (the job was rescued; its new worker settles it).
    async fn run_handler(
        &self,
        job: &Job,
        handler: Option<Arc<dyn JobHandler>>,
        trace: Option<&opentelemetry::Context>,
    ) -> Option<Result<(), JobError>> {
        let Some(handler) = handler else {
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

/// The most a hand-back of held jobs may take (the database down: each
/// statement waits for a connection), so neither the claim loop nor a
/// shutdown stalls on it.
const HAND_BACK_WITHIN: Duration = Duration::from_secs(5);

/// How far ahead a queue of short jobs claims: as many jobs as its
/// workers get through in this time.
const AHEAD_HORIZON: Duration = Duration::from_millis(50);

/// How long a queue's handlers take, smoothed over the last few runs
/// (microseconds; 0 until one has run), and from it how many jobs the
/// queue claims ahead.
#[derive(Default)]
struct Pace(AtomicU64);

impl Pace {
    /// Forgets the pace: nothing is claimed ahead until a job has run.
    fn reset(&self) {
        self.0.store(0, Ordering::Relaxed);
    }

    fn record(&self, took: Duration) {
        let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX).max(1);
        // One update, so a `reset` between a read and a write is not lost:
        // after one the job that finishes sets the pace anew.
        let _ = self
            .0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |was| {
                Some(if was == 0 { us } else { was - was / 8 + us / 8 }.max(1))
            });
    }

    /// Jobs to hold beyond `concurrency` running ones: what the workers
    /// get through in [`AHEAD_HORIZON`] at this pace, at most twice
    /// `concurrency`; none before a job has run.
    fn ahead(&self, concurrency: usize) -> usize {
        let us = self.0.load(Ordering::Relaxed);
        if us == 0 {
            return 0;
        }
        let horizon = u64::try_from(AHEAD_HORIZON.as_micros()).unwrap_or(u64::MAX);
        let workers = u64::try_from(concurrency).unwrap_or(u64::MAX);
        let fits = horizon.saturating_mul(workers) / us;
        usize::try_from(fits)
            .unwrap_or(usize::MAX)
            .min(concurrency.saturating_mul(2))
    }
}

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
