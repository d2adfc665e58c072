//! Reads on a PostgreSQL streaming replica: who decides and who obeys.
//!
//! The HTTP layer decides, per request, whether the request's reads may be
//! stale (a `GET` of a catalog page whose session has not written lately)
//! and runs the handler inside [`allow_stale_reads`]. The store obeys: only
//! the methods that read the catalog ([`ReadTarget`] counts them) look at
//! [`stale_reads_allowed`], and they use the replica only if it is also up
//! and within its lag bound; every other method, and every call outside
//! such a scope (background jobs, the CLI, tasks a handler spawns), reads
//! the primary. So a store method never grows a parameter for it, and a
//! caller that does nothing gets the primary.

use std::cell::Cell;
use std::future::Future;
use std::time::Duration;

/// One request's permission, and what its replica reads were.
struct StaleReads {
    /// The largest staleness bound of the replica reads made so far
    /// (`None`: none was made).
    staleness: Cell<Option<Duration>>,
}

tokio::task_local! {
    static STALE_READS: StaleReads;
}

/// Runs `fut` with its catalog reads allowed on the replica.
pub async fn allow_stale_reads<F: Future>(fut: F) -> F::Output {
    STALE_READS
        .scope(
            StaleReads {
                staleness: Cell::new(None),
            },
            fut,
        )
        .await
}

/// Did the caller allow this task's catalog reads to be stale?
pub fn stale_reads_allowed() -> bool {
    STALE_READS.try_with(|_| ()).is_ok()
}

/// The store: a read of this task was served by the replica, at most
/// `staleness` behind the primary.
pub fn note_replica_read(staleness: Duration) {
    let _ = STALE_READS.try_with(|s| {
        let worst = s.staleness.get().map_or(staleness, |w| w.max(staleness));
        s.staleness.set(Some(worst));
    });
}

/// How stale this task's replica reads may have been, `None` if it made
/// none (what it read came from the primary). A response cache keeps
/// what such reads built only for the rest of the bound.
pub fn replica_staleness() -> Option<Duration> {
    STALE_READS.try_with(|s| s.staleness.get()).ok().flatten()
}

/// Where a catalog read was served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadTarget {
    Replica,
    Primary,
}

impl ReadTarget {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Replica => "replica",
            Self::Primary => "primary",
        }
    }
}

/// What a store with a replica knows of it, for metrics and health pages.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReplicaStatus {
    /// Reachable and still a replica (in recovery), as last checked.
    pub up: bool,
    /// How far behind the primary it was at the last check (zero when
    /// caught up); `None` when it could not be measured.
    pub lag: Option<Duration>,
    /// The bound past which reads leave it.
    pub max_lag: Duration,
    /// Catalog reads served by the replica since start-up.
    pub reads_replica: u64,
    /// Catalog reads served by the primary since start-up (not allowed to
    /// be stale, replica down or lagging, or retried after a failure).
    pub reads_primary: u64,
    /// Replica reads that failed and were served again by the primary.
    pub fallbacks: u64,
}

impl ReplicaStatus {
    /// Would a catalog read allowed to be stale go to the replica now?
    pub fn serving(&self) -> bool {
        self.up && self.lag.is_some_and(|l| l <= self.max_lag)
    }
}
