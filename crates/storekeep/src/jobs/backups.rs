//! `backup.run`, the scheduled backup (periodic, every `backup.schedule`,
//! once per period across all nodes, on the `default` queue): takes a backup, then prunes by
//! `backup.keep`. A failure is logged, counted
//! (`storekeep_backup_failures_total`) and kept as the last error in
//! `/api/health/detailed`; the job itself ends (no retry within the
//! period): the next period's run tries again.

use std::sync::Arc;

use async_trait::async_trait;

use super::{JobError, JobHandler, JobRun, Periodic, Runner};
use crate::backup::{self, Progress};
use crate::services::Services;

pub const BACKUP_JOB: &str = "backup.run";
/// The queue it runs on: `default`, not `maintenance`, whose single worker
/// would wait for a long backup before expiring unpaid orders.
const QUEUE: &str = "default";

pub fn register(runner: &mut Runner, services: &Arc<Services>) {
    let Some(period) = services.backups.schedule() else {
        return;
    };
    runner
        .register(BACKUP_JOB, ScheduledBackup(services.clone()))
        .periodic(Periodic {
            name: BACKUP_JOB.into(),
            kind: BACKUP_JOB.into(),
            queue: QUEUE.into(),
            period,
        });
}

struct ScheduledBackup(Arc<Services>);

#[async_trait]
impl JobHandler for ScheduledBackup {
    async fn run(&self, _job: &JobRun) -> Result<(), JobError> {
        let settings = &self.0.settings;
        let watch = &self.0.backups;
        let m = match backup::create(settings, &Progress::new(false)).await {
            Ok(m) => m,
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "scheduled backup failed");
                watch.failed(&e);
                return Ok(());
            }
        };
        watch.succeeded(&m);
        tracing::info!(
            id = m.id,
            archive_bytes = m.archive.bytes,
            tables = m.tables.len(),
            "scheduled backup created"
        );
        let pruned = async {
            let dest = backup::destination(settings)?;
            let gone = backup::to_prune(settings, storekeep_store::now()).await?;
            for old in &gone {
                backup::delete(&dest, old).await?;
            }
            anyhow::Ok(gone.len())
        }
        .await;
        match pruned {
            Ok(n) if n > 0 => tracing::info!(backups = n, "pruned backups by backup.keep"),
            Ok(_) => {}
            Err(e) => {
                let e = e.context("pruning after the scheduled backup");
                tracing::error!(error = %format!("{e:#}"), "scheduled backup: pruning failed");
                watch.failed(&e);
            }
        }
        Ok(())
    }
}
