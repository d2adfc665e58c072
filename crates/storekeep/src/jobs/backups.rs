//! `backup.run`, the scheduled backup (periodic, every `backup.schedule`,
//! once per period across all nodes, on the `default` queue): takes a backup, then prunes by
//! `backup.keep`. A failure is logged, counted
//! (`storekeep_backup_failures_total`, `stage` `create` or `prune`) and kept as the last error in
//! `/api/health/detailed`; the job itself ends (no retry within the
//! period): the next period's run tries again.
//!
//! At most one run at a time: per process (a mutex) and the backup lock
//! `storekeep backup create` takes too (`backup::lock`: on PostgreSQL a
//! session advisory lock across the cluster, on SQLite a lock file). A
//! run that finds another still going, or a `backup create` by hand, is
//! skipped (logged, `storekeep_backup_skipped_runs_total`). A run is
//! stopped after `backup.timeout` (its plain dump folder is removed and
//! `pg_dump` killed as the run's future is dropped) and counted as failed.
//!
//! The handler is registered on every node, scheduled or not: every node
//! claims from `default`, so a node with `backup.schedule = off` that
//! claims a run runs it (with its own settings) rather than failing the
//! job with "no handler". Only the periodic enqueue depends on the
//! schedule.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;

use super::{JobError, JobHandler, JobRun, Periodic, Runner};

use crate::backup::watch::Stage;
use crate::backup::{self, Progress};
use crate::services::Services;

pub const BACKUP_JOB: &str = "backup.run";
/// The queue it runs on: `default`, not `maintenance`, whose single worker
/// would wait for a long backup before expiring unpaid orders.
const QUEUE: &str = "default";

/// One scheduled run at a time in this process.
static RUNNING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub fn register(runner: &mut Runner, services: &Arc<Services>) {
    let period = services.backups.schedule();
    let runner = runner.register(BACKUP_JOB, ScheduledBackup(services.clone()));
    if let Some(period) = period {
        runner.periodic(Periodic {
            name: BACKUP_JOB.into(),
            kind: BACKUP_JOB.into(),
            queue: QUEUE.into(),
            period,
        });
    }
}

struct ScheduledBackup(Arc<Services>);

#[async_trait]
impl JobHandler for ScheduledBackup {
    async fn run(&self, _job: &JobRun) -> Result<(), JobError> {
        let settings = &self.0.settings;
        let watch = &self.0.backups;
        let Ok(_one) = RUNNING.try_lock() else {
            tracing::warn!("scheduled backup skipped: another run is still going on this node");
            watch.skipped();
            return Ok(());
        };
        let held = match backup::lock::try_lock(settings).await {
            Ok(Some(lock)) => lock,
            Ok(None) => {
                tracing::warn!(
                    "scheduled backup skipped: {} (another node's run, or `storekeep backup create`)",
                    backup::lock::BUSY
                );
                watch.skipped();
                return Ok(());
            }
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "scheduled backup failed");
                watch.failed(Stage::Create, &e);
                return Ok(());
            }
        };
        let limit = settings
            .backup
            .run_timeout(watch.schedule().unwrap_or(crate::config::AUTO_PERIOD));
        let created = AtomicBool::new(false);
        if tokio::time::timeout(limit, self.create_and_prune(&held, &created))
            .await
            .is_err()
        {
            let e = anyhow::anyhow!(
                "the run took longer than backup.timeout ({}); it was stopped and its temporary files removed",
                humantime(limit)
            );
            if created.load(Ordering::Relaxed) {
                tracing::error!(error = %format!("{e:#}"), "scheduled backup: pruning failed");
                watch.failed(Stage::Prune, &e);
            } else {
                tracing::error!(error = %format!("{e:#}"), "scheduled backup failed");
                watch.failed(Stage::Create, &e);
            }
        }
        if let Err(e) = held.release().await {
            tracing::warn!(error = %format!("{e:#}"), "backup: releasing the backup lock");
        }
        Ok(())
    }
}

fn humantime(d: Duration) -> String {
    let s = d.as_secs();
    if s.is_multiple_of(3600) {
        format!("{}h", s / 3600)
    } else if s.is_multiple_of(60) {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

impl ScheduledBackup {
    /// `created` is set once the backup is taken (a timeout after it is
    /// a prune failure).
    async fn create_and_prune(&self, held: &backup::RunLock, created: &AtomicBool) {
        let settings = &self.0.settings;
        let watch = &self.0.backups;
        let m = match backup::create(settings, held, &Progress::new(false)).await {
            Ok(m) => m,
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "scheduled backup failed");
                watch.failed(Stage::Create, &e);
                return;
            }
        };
        created.store(true, Ordering::Relaxed);
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
                watch.failed(Stage::Prune, &e);
            }
        }
    }
}
