//! [`impl_job_store!`](crate::impl_job_store): the `JobStore` impl both
//! backends share, every method a call into [`crate::jobs`] with the
//! backend's `Backend` type, and the names it uses (public only for the
//! macro).

pub use async_trait::async_trait;
pub use chrono::{DateTime, Utc};
pub use std::time::Duration;
pub use storekeep_domain::{
    Job, JobFilter, JobId, NewJob, Page, PageRequest, QueueStats, TenantId,
};
pub use storekeep_store::StoreResult;
pub use storekeep_store::jobs::{Failure, JobStore};
pub use uuid::Uuid;

/// Implements `JobStore` for a backend's store type (which has a `pool`
/// field) with `$backend`, its `Backend` impl.
#[macro_export]
macro_rules! impl_job_store {
    ($store:ty, $backend:ty) => {
        const _: () = {
            use $crate::jobs;
            use $crate::jobs::store::*;

            #[async_trait]
            impl JobStore for $store {
                async fn enqueue(&self, job: &NewJob) -> StoreResult<JobId> {
                    jobs::enqueue::<$backend>(&self.pool, job).await
                }
                async fn enqueue_many(&self, new: &[NewJob]) -> StoreResult<Vec<JobId>> {
                    jobs::enqueue_many::<$backend>(&self.pool, new).await
                }
                async fn claim(
                    &self,
                    queue: &str,
                    limit: i64,
                    lease: Duration,
                    worker: &str,
                ) -> StoreResult<Vec<Job>> {
                    jobs::claim::<$backend>(&self.pool, queue, limit, lease, worker).await
                }
                async fn heartbeat(
                    &self,
                    id: JobId,
                    token: Uuid,
                    until: DateTime<Utc>,
                ) -> StoreResult<bool> {
                    jobs::heartbeat::<$backend>(&self.pool, id, token, until).await
                }
                async fn complete(&self, id: JobId, token: Uuid) -> StoreResult<bool> {
                    jobs::complete::<$backend>(&self.pool, id, token).await
                }
                async fn complete_many(&self, done: &[(JobId, Uuid)]) -> StoreResult<Vec<bool>> {
                    jobs::complete_many::<$backend>(&self.pool, done).await
                }
                async fn snooze(
                    &self,
                    id: JobId,
                    token: Uuid,
                    until: DateTime<Utc>,
                ) -> StoreResult<bool> {
                    jobs::snooze::<$backend>(&self.pool, id, token, until).await
                }
                async fn fail(
                    &self,
                    id: JobId,
                    token: Uuid,
                    error: &str,
                    failure: Failure,
                ) -> StoreResult<bool> {
                    jobs::fail::<$backend>(&self.pool, id, token, error, failure).await
                }
                async fn rescue(&self, now: DateTime<Utc>) -> StoreResult<u64> {
                    jobs::rescue::<$backend>(&self.pool, now).await
                }
                async fn list_jobs(
                    &self,
                    tenant: Option<TenantId>,
                    filter: &JobFilter,
                    page: &PageRequest,
                ) -> StoreResult<Page<Job>> {
                    jobs::list::<$backend>(&self.pool, tenant, filter, page).await
                }
                async fn job(&self, tenant: Option<TenantId>, id: JobId) -> StoreResult<Job> {
                    jobs::get::<$backend>(&self.pool, tenant, id).await
                }
                async fn retry_job(&self, tenant: Option<TenantId>, id: JobId) -> StoreResult<Job> {
                    jobs::retry::<$backend>(&self.pool, tenant, id).await
                }
                async fn discard_job(
                    &self,
                    tenant: Option<TenantId>,
                    id: JobId,
                ) -> StoreResult<Job> {
                    jobs::discard::<$backend>(&self.pool, tenant, id).await
                }
                async fn job_stats(&self, now: DateTime<Utc>) -> StoreResult<Vec<QueueStats>> {
                    jobs::stats::<$backend>(&self.pool, now).await
                }
                async fn prune_jobs(&self, before: DateTime<Utc>) -> StoreResult<u64> {
                    jobs::prune::<$backend>(&self.pool, before).await
                }
            }
        };
    };
}
