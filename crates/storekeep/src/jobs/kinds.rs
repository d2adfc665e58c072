//! The job kinds storekeep itself runs, and [`register`], which gives a
//! runner every handler and periodic job of this build.

use std::sync::Arc;

use async_trait::async_trait;
use storekeep_store::now;

use super::{JobError, JobHandler, JobRun, Periodic, Runner};
use crate::services::Services;

/// Cancels unpaid orders past their payment deadline (periodic, every
/// `orders.expiry_interval_secs`).
pub const ORDERS_EXPIRE: &str = "orders.expire";
/// Deletes completed jobs older than `jobs.retain_completed_days` (hourly).
pub const JOBS_PRUNE: &str = "jobs.prune";
/// The queue of storekeep's own upkeep.
pub const MAINTENANCE: &str = "maintenance";

/// Registers storekeep's own kinds and periodic jobs on `runner`.
pub fn register(runner: &mut Runner, services: &Arc<Services>) {
    let s = &services.settings;
    runner
        .register(ORDERS_EXPIRE, ExpireOrders(services.clone()))
        .register(JOBS_PRUNE, PruneJobs(services.clone()))
        .periodic(Periodic {
            name: ORDERS_EXPIRE.into(),
            kind: ORDERS_EXPIRE.into(),
            queue: MAINTENANCE.into(),
            period: s.order_expiry_interval,
        })
        .periodic(Periodic {
            name: JOBS_PRUNE.into(),
            kind: JOBS_PRUNE.into(),
            queue: MAINTENANCE.into(),
            period: std::time::Duration::from_secs(3600),
        });
}

/// A store error as a job error: an outage may pass, anything else is
/// retried too (the back-off bounds the cost) until the job dies.
fn retry(e: storekeep_store::StoreError) -> JobError {
    JobError::retry(e.to_string())
}

struct ExpireOrders(Arc<Services>);

#[async_trait]
impl JobHandler for ExpireOrders {
    async fn run(&self, _job: &JobRun) -> Result<(), JobError> {
        let n = crate::services::orders::expire_due(&self.0)
            .await
            .map_err(retry)?;
        if n > 0 {
            tracing::info!(orders = n, "cancelled unpaid orders past their deadline");
        }
        Ok(())
    }
}

struct PruneJobs(Arc<Services>);

#[async_trait]
impl JobHandler for PruneJobs {
    async fn run(&self, _job: &JobRun) -> Result<(), JobError> {
        let days = i64::from(self.0.settings.jobs.retain_completed_days);
        let before = now() - chrono::Duration::days(days);
        let n = self.0.store.prune_jobs(before).await.map_err(retry)?;
        if n > 0 {
            tracing::info!(jobs = n, "pruned completed jobs");
        }
        Ok(())
    }
}
