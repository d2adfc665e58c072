//! The job queue's share of the store: one `jobs` table on both databases,
//! written by enqueuers (on their own or inside the transaction of a
//! business change) and by the runner's workers, which claim jobs under a
//! lease and settle them with the lease's token.
//!
//! Rules every backend keeps (the contract tests check them on both
//! databases):
//! - a job whose `unique_key` is taken is not enqueued: the existing job's
//!   id is answered;
//! - `claim` hands out due jobs (`available` or `retryable`, `run_at` not
//!   after now) of one queue, smaller priority first, then older `run_at`,
//!   each to one claimer only (one conditional `UPDATE`; on PostgreSQL
//!   over `FOR UPDATE SKIP LOCKED`), with a fresh lease token;
//! - `heartbeat`, `complete` and `fail` change a job only while it is
//!   `running` under the caller's token, and say whether they did, so a
//!   worker whose lease was rescued never overwrites what came after;
//! - `rescue` moves running jobs whose lease ended back to `retryable`, or
//!   to `dead` when they used their attempts.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use storekeep_domain::{Job, JobFilter, JobId, NewJob, Page, PageRequest, QueueStats, TenantId};
use uuid::Uuid;

use crate::StoreResult;

/// What becomes of a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Run it again at this time.
    RetryAt(DateTime<Utc>),
    /// Dead-letter it now.
    Dead,
}

#[async_trait]
pub trait JobStore: Send + Sync {
    /// Enqueues `job` (or answers the id of the job holding its unique key).
    async fn enqueue(&self, job: &NewJob) -> StoreResult<JobId>;

    /// Enqueues every job in one transaction: all of them or none.
    async fn enqueue_many(&self, jobs: &[NewJob]) -> StoreResult<Vec<JobId>>;

    /// Claims up to `limit` due jobs of `queue` for `worker`, leased for
    /// `lease` from now; each comes back `running` with its new token.
    async fn claim(
        &self,
        queue: &str,
        limit: i64,
        lease: Duration,
        worker: &str,
    ) -> StoreResult<Vec<Job>>;

    /// Extends the lease of a job still running under `token` to `until`.
    async fn heartbeat(&self, id: JobId, token: Uuid, until: DateTime<Utc>) -> StoreResult<bool>;

    /// Marks a job still running under `token` completed.
    async fn complete(&self, id: JobId, token: Uuid) -> StoreResult<bool>;

    /// Marks each job still running under its token completed, all in one
    /// transaction (one durable write for the batch); for each, whether
    /// it was.
    async fn complete_many(&self, done: &[(JobId, Uuid)]) -> StoreResult<Vec<bool>>;

    /// Puts a job still running under `token` back to wait until `until`
    /// without counting the attempt: it did not run (its handler had no
    /// room for it, e.g. its webhook endpoint's deliveries are full).
    async fn snooze(&self, id: JobId, token: Uuid, until: DateTime<Utc>) -> StoreResult<bool>;

    /// Records a failed attempt of a job still running under `token`.
    async fn fail(
        &self,
        id: JobId,
        token: Uuid,
        error: &str,
        failure: Failure,
    ) -> StoreResult<bool>;

    /// Moves running jobs whose lease ended before `now` back to
    /// `retryable` (or `dead`); how many moved.
    async fn rescue(&self, now: DateTime<Utc>) -> StoreResult<u64>;

    /// A page of jobs, newest first, of `tenant` if given (else of every
    /// shop and none).
    async fn list_jobs(
        &self,
        tenant: Option<TenantId>,
        filter: &JobFilter,
        page: &PageRequest,
    ) -> StoreResult<Page<Job>>;

    /// One job (of `tenant` if given).
    async fn job(&self, tenant: Option<TenantId>, id: JobId) -> StoreResult<Job>;

    /// Makes a dead, discarded or retryable job run again now, with its
    /// attempts counted afresh.
    async fn retry_job(&self, tenant: Option<TenantId>, id: JobId) -> StoreResult<Job>;

    /// Gives up a job that waits or is dead.
    async fn discard_job(&self, tenant: Option<TenantId>, id: JobId) -> StoreResult<Job>;

    /// Per queue: due, scheduled, running and dead jobs, and when the
    /// oldest due job became due, as of `now`.
    async fn job_stats(&self, now: DateTime<Utc>) -> StoreResult<Vec<QueueStats>>;

    /// Deletes completed jobs that finished before `before`; how many.
    async fn prune_jobs(&self, before: DateTime<Utc>) -> StoreResult<u64>;
}
