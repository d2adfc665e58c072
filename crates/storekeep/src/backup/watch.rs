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
    /// The operators' "verify now" on this node (see [`BackupWatch::verify_now`]).
    drill: Mutex<Drill>,
}

/// This node's latest restore drill started from the console.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Drill {
    #[default]
    Never,
    /// Started at this time, on the newest backup then.
    Running { since: DateTime<Utc> },
    /// Finished: the backup's id (if one was found), when, and what it
    /// found — `Ok` with what was checked, `Err` with what failed.
    Done {
        id: Option<String>,
        at: DateTime<Utc>,
        outcome: Result<String, String>,
    },
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
            drill: Mutex::new(Drill::Never),
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

    /// This node's latest drill.
    pub fn drill(&self) -> Drill {
        self.drill
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Starts a restore drill of the newest backup in the background, as
    /// `storekeep backup verify latest` does (restored into a scratch
    /// database, integrity, row counts and audit chains checked, the
    /// scratch dropped), with the configured identity; `false` when one is
    /// already running on this node. Its outcome is [`BackupWatch::drill`].
    pub fn verify_now(self: &Arc<Self>, settings: Arc<crate::config::Settings>) -> bool {
        {
            let mut drill = self
                .drill
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if matches!(*drill, Drill::Running { .. }) {
                return false;
            }
            *drill = Drill::Running { since: Utc::now() };
        }
        let watch = Arc::clone(self);
        tokio::spawn(async move {
            let (id, outcome) = match watch.run_drill(&settings).await {
                Ok((id, v)) => (
                    Some(id),
                    Ok(format!(
                        "restored into a scratch database, integrity checked, {} tables and {} rows as the \
                         manifest says, {} audit chains intact{}",
                        v.tables,
                        v.rows,
                        v.audit_chains,
                        if v.media_missing.is_empty() {
                            String::new()
                        } else {
                            format!("; {} media objects missing", v.media_missing.len())
                        }
                    )),
                ),
                Err((id, e)) => (id, Err(format!("{e:#}"))),
            };
            if let Err(e) = &outcome {
                tracing::warn!(error = %e, "backup: the console's restore drill failed");
            }
            *watch
                .drill
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Drill::Done {
                id,
                at: Utc::now(),
                outcome,
            };
        });
        true
    }

    async fn run_drill(
        &self,
        settings: &crate::config::Settings,
    ) -> Result<(String, super::Verified), (Option<String>, anyhow::Error)> {
        let Some(dest) = &self.destination else {
            return Err((
                None,
                anyhow::anyhow!("the backup destination is unavailable"),
            ));
        };
        let manifest = match super::newest(dest).await {
            Ok(Some(m)) => m,
            Ok(None) => return Err((None, anyhow::anyhow!("there is no backup to verify"))),
            Err(e) => return Err((None, e)),
        };
        // What the drill read is the newest good backup: the health page's
        // "last good backup" need not wait for its next reading.
        self.saw(Some(&manifest));
        let id = manifest.id.clone();
        let identities = super::identities(settings, None).map_err(|e| (Some(id.clone()), e))?;
        let progress = crate::progress::Progress::new(false);
        super::verify(settings, &manifest, identities, &progress)
            .await
            .map(|v| (id.clone(), v))
            .map_err(|e| (Some(id), e))
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
