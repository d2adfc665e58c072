//! The age of the last good backup, as every node sees it.
//!
//! "Good" means `create` finished and wrote its manifest (the manifest
//! goes last). Every node reads it from the destination itself: the
//! newest valid manifest there, one listing and one small read, at most
//! once a [`REFRESH`] (lazily, when `/api/metrics` or
//! `/api/health/detailed` asks). So with a shared bucket every node
//! reports the same time whichever node took the backup, and a backup
//! taken by `storekeep backup create` (cron) counts too. A node that runs
//! a scheduled backup records its result at once. Failures (the counter
//! and the last error) are this node's own: the node whose job failed.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::{Destination, Manifest};
use crate::metrics::Metrics;
use crate::wire::health::BackupHealth;

/// How long a reading of the destination is reused.
pub const REFRESH: Duration = Duration::from_secs(60);
/// The longest a reading may take before the previous one is kept.
const READ_BOUND: Duration = Duration::from_secs(5);

#[derive(Default)]
struct State {
    last_success: Option<(String, DateTime<Utc>)>,
    last_error: Option<(DateTime<Utc>, String)>,
    read_at: Option<Instant>,
}

/// Where a scheduled run failed (the `stage` label of
/// `storekeep_backup_failures_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Taking the backup (or the run's lock): no new backup.
    Create,
    /// Pruning after a good backup.
    Prune,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Prune => "prune",
        }
    }
}

/// Shared by the job and the health and metrics routes; one per process,
/// in `Services`.
pub struct BackupWatch {
    destination: Option<Destination>,
    described: String,
    schedule: Option<Duration>,
    metrics: Arc<Metrics>,
    state: Mutex<State>,
    /// One reading of the destination at a time per node; others keep
    /// the previous value meanwhile.
    reading: tokio::sync::Mutex<()>,
}

impl BackupWatch {
    /// `destination`: `Err` when it cannot be set up (reported as the
    /// last error).
    pub fn new(
        destination: anyhow::Result<Destination>,
        schedule: Option<Duration>,
        metrics: Arc<Metrics>,
    ) -> Self {
        let mut state = State::default();
        let (destination, described) = match destination {
            Ok(d) => {
                let s = d.describe();
                (Some(d), s)
            }
            Err(e) => {
                state.last_error = Some((Utc::now(), format!("{e:#}")));
                (None, "unavailable".to_owned())
            }
        };
        Self {
            destination,
            described,
            schedule,
            metrics,
            state: Mutex::new(state),
            reading: tokio::sync::Mutex::new(()),
        }
    }

    /// The scheduled period (`None`: off).
    pub fn schedule(&self) -> Option<Duration> {
        self.schedule
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A backup this node just took.
    pub fn succeeded(&self, manifest: &Manifest) {
        self.saw(Some(manifest));
    }

    /// A scheduled run that failed at `stage`: counted, kept as the last
    /// error.
    pub fn failed(&self, stage: Stage, error: &anyhow::Error) {
        self.metrics
            .backup_failures
            .with_label_values(&[stage.as_str()])
            .inc();
        self.state().last_error = Some((Utc::now(), format!("{error:#}")));
    }

    /// A scheduled run skipped: another was still going.
    pub fn skipped(&self) {
        self.metrics.backup_skips.inc();
    }

    fn saw(&self, newest: Option<&Manifest>) {
        let mut state = self.state();
        if let Some(m) = newest {
            let newer = state
                .last_success
                .as_ref()
                .is_none_or(|(_, at)| m.created_at >= *at);
            if newer {
                state.last_success = Some((m.id.clone(), m.created_at));
            }
        }
        let ts = state
            .last_success
            .as_ref()
            .map_or(0, |(_, at)| at.timestamp());
        self.metrics.backup_last_success.set(ts);
    }

    /// Reads the destination's newest manifest unless read within
    /// [`REFRESH`] or being read; a reading that fails or takes longer
    /// than a few seconds keeps the previous one (and is the last error).
    /// A local folder is read on the blocking pool, so the bound holds
    /// and no runtime thread waits on the disk.
    pub async fn refresh(&self) {
        let Some(dest) = &self.destination else {
            return;
        };
        // A reading already under way (perhaps stuck on a slow disk or
        // bucket, up to READ_BOUND): serve the value we have rather than
        // make every scrape wait behind it.
        let Ok(_one) = self.reading.try_lock() else {
            return;
        };
        if self.state().read_at.is_some_and(|t| t.elapsed() < REFRESH) {
            return;
        }
        let read = tokio::time::timeout(READ_BOUND, super::newest(dest)).await;
        let error = match read {
            Ok(Ok(newest)) => {
                self.saw(newest.as_ref());
                None
            }
            Ok(Err(e)) => Some(format!("reading {}: {e:#}", self.described)),
            Err(_) => Some(format!(
                "reading {}: no answer within {} s",
                self.described,
                READ_BOUND.as_secs()
            )),
        };
        let mut state = self.state();
        state.read_at = Some(Instant::now());
        if let Some(e) = error {
            tracing::warn!(error = %e, "backup: reading the last good backup failed");
            state.last_error = Some((Utc::now(), e));
        }
    }

    /// Forgets the last reading: the next [`BackupWatch::refresh`] reads
    /// the destination.
    pub fn stale(&self) {
        self.state().read_at = None;
    }

    pub fn health(&self) -> BackupHealth {
        let state = self.state();
        let (id, at) = state.last_success.clone().unzip();
        BackupHealth {
            destination: self.described.clone(),
            schedule_seconds: self.schedule.map(|d| d.as_secs()),
            age_seconds: at.map(|at| (Utc::now() - at).num_seconds().max(0)),
            last_success_id: id,
            last_success_at: at,
            failures: ["create", "prune"]
                .iter()
                .map(|s| self.metrics.backup_failures.with_label_values(&[*s]).get())
                .sum(),
            last_error: state.last_error.as_ref().map(|(_, e)| e.clone()),
            last_error_at: state.last_error.as_ref().map(|(at, _)| *at),
        }
    }
}
