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
        product_imports::run(&self.0, tenant, what.import)
            .await
            .map_err(|e| JobError::retry(e.0))
    }
}
