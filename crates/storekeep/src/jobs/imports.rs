//! `catalog.import`: one background product import
//! (`services::product_imports`), enqueued by the console's upload.

use std::sync::Arc;

use async_trait::async_trait;

use super::{JobError, JobHandler, JobRun, Runner};
use crate::services::Services;
use crate::services::product_imports::{self, ImportJob, JOB};

pub fn register(runner: &mut Runner, services: &Arc<Services>) {
    runner.register(JOB, RunImport(services.clone()));
}

struct RunImport(Arc<Services>);

#[async_trait]
impl JobHandler for RunImport {
    async fn run(&self, job: &JobRun) -> Result<(), JobError> {
        let tenant = job
            .tenant
            .ok_or_else(|| JobError::permanent("an import job names no shop"))?;
        let what: ImportJob = serde_json::from_value(job.payload.clone())
            .map_err(|e| JobError::permanent(format!("a malformed import job: {e}")))?;
        let Err(product_imports::Retry(why)) =
            product_imports::run(&self.0, tenant, what.import).await
        else {
            return Ok(());
        };
        if job.attempt < job.max_attempts {
            return Err(JobError::retry(why));
        }
        // The last attempt: the job is dead-lettered, so the import ends
        // `failed` (not `running` for ever) and its file is let go. A retry
        // of the dead job later finds it final and only deletes the file,
        // if storage was down now.
        let message = format!("gave up after {} attempts: {why}", job.attempt);
        product_imports::give_up(&self.0, tenant, what.import, &message).await;
        Err(JobError::permanent(message))
    }
}
