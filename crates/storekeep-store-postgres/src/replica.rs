//! The read replica: its pool, and a monitor (one task per store) that
//! measures its lag every [`INTERVAL`] and says whether catalog reads may
//! use it (see `storekeep_store::replica` for who decides).
//!
//! Lag is measured in time, from positions in the WAL: the monitor samples
//! the primary's flushed position (`pg_current_wal_flush_lsn()`, what a
//! replica can have received) into a short ring of (instant, position),
//! then the replica's replayed position (`pg_last_wal_replay_lsn()`). The
//! lag is how long ago the primary first stood past the replayed
//! position: zero when the replica has replayed the last sample, however
//! long the primary has been idle (`pg_last_xact_replay_timestamp()`
//! alone would make an idle primary look like a lagging replica). A
//! replica that cannot be reached, or is not in recovery (promoted, or
//! the URL names a primary), is down.

use std::collections::VecDeque;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, PgConnection, PgPool};
use storekeep_store::replica::{ReadTarget, ReplicaStatus};
use storekeep_store::{PoolConfig, StoreError, StoreResult};

use crate::error;

/// How often the monitor measures.
pub(crate) const INTERVAL: Duration = Duration::from_millis(250);
/// The longest one measurement (connecting included) may take.
const PROBE_BOUND: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, PartialEq)]
enum Health {
    /// Not measured yet.
    Unknown,
    Up,
    Down(String),
}

#[derive(Debug)]
struct State {
    health: Health,
    /// Lag at the last measurement, `None` when it could not be measured.
    lag: Option<Duration>,
    /// When the replica was last measured.
    measured: Option<Instant>,
    /// Was the replica usable at the last measurement (for the log)?
    serving: bool,
}

/// The replica's pool and what the monitor knows of it.
#[derive(Debug)]
pub(crate) struct Replica {
    pub(crate) pool: PgPool,
    max_lag: Duration,
    state: Mutex<State>,
    reads_replica: AtomicU64,
    reads_primary: AtomicU64,
    fallbacks: AtomicU64,
    monitor: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Replica {
    /// A lazy pool on `url` (the node starts whether the replica answers
    /// or not) and its monitor, which compares it with `primary`.
    pub(crate) fn start(
        url: &str,
        max_lag: Duration,
        config: PoolConfig,
        primary: PgConnectOptions,
    ) -> StoreResult<Arc<Self>> {
        let options = PgConnectOptions::from_str(url)
            .map_err(error::other)?
            .application_name("storekeep-replica");
        let pool = crate::pool_options(config).connect_lazy_with(options.clone());
        let replica = Arc::new(Self {
            pool,
            max_lag,
            state: Mutex::new(State {
                health: Health::Unknown,
                lag: None,
                measured: None,
                serving: false,
            }),
            reads_replica: AtomicU64::new(0),
            reads_primary: AtomicU64::new(0),
            fallbacks: AtomicU64::new(0),
            monitor: Mutex::new(None),
        });
        let monitor = Monitor {
            replica: Arc::downgrade(&replica),
            primary_options: primary.application_name("storekeep-replica-monitor"),
            replica_options: options.application_name("storekeep-replica-monitor"),
            primary: None,
            replica_conn: None,
            ring: VecDeque::new(),
            keep: (max_lag * 4).max(Duration::from_secs(10)),
        };
        *replica.monitor.lock().expect("replica lock") = Some(tokio::spawn(monitor.run()));
        Ok(replica)
    }

    /// The staleness bound of a read served now, if the replica may serve
    /// it: up, measured, and lag plus the time since it was measured
    /// within the bound.
    pub(crate) fn staleness_now(&self) -> Option<Duration> {
        let state = self.state.lock().expect("replica lock");
        if state.health != Health::Up {
            return None;
        }
        let staleness = state.lag? + state.measured?.elapsed();
        (staleness <= self.max_lag).then_some(staleness)
    }

    pub(crate) fn count(&self, target: ReadTarget) {
        match target {
            ReadTarget::Replica => &self.reads_replica,
            ReadTarget::Primary => &self.reads_primary,
        }
        .fetch_add(1, Ordering::Relaxed);
    }

    /// A replica read failed with `e` and is about to be served by the
    /// primary: an outage marks the replica down until the monitor's next
    /// measurement finds it up again.
    pub(crate) fn failed(&self, e: &StoreError) {
        self.fallbacks.fetch_add(1, Ordering::Relaxed);
        if matches!(e, StoreError::Unavailable(_)) {
            let mut state = self.state.lock().expect("replica lock");
            if state.health == Health::Up {
                tracing::warn!(error = %e, "read replica: a read failed; reads go to the primary until it answers again");
                state.health = Health::Down(format!("a read failed: {e}"));
                state.serving = false;
            }
        }
    }

    pub(crate) fn status(&self) -> ReplicaStatus {
        let state = self.state.lock().expect("replica lock");
        ReplicaStatus {
            up: state.health == Health::Up,
            lag: state.lag,
            max_lag: self.max_lag,
            reads_replica: self.reads_replica.load(Ordering::Relaxed),
            reads_primary: self.reads_primary.load(Ordering::Relaxed),
            fallbacks: self.fallbacks.load(Ordering::Relaxed),
        }
    }

    pub(crate) async fn close(&self) {
        if let Some(monitor) = self.monitor.lock().expect("replica lock").take() {
            monitor.abort();
        }
        self.pool.close().await;
    }

    /// Records a measurement, logging once per change of state.
    fn measured(&self, health: Health, lag: Option<Duration>) {
        let mut state = self.state.lock().expect("replica lock");
        let was = state.health.clone();
        let serving = health == Health::Up && lag.is_some_and(|l| l <= self.max_lag);
        match (&was, &health) {
            (Health::Up | Health::Unknown, Health::Down(why)) => {
                tracing::warn!(
                    reason = why.as_str(),
                    "read replica down: catalog reads go to the primary"
                );
            }
            (Health::Down(_), Health::Up) => {
                tracing::info!("read replica up again");
            }
            _ => {}
        }
        if health == Health::Up && was == Health::Up && serving != state.serving {
            let lag_ms = lag.map(|l| l.as_millis());
            if serving {
                tracing::info!(lag_ms, "read replica caught up: catalog reads use it again");
            } else {
                tracing::warn!(
                    lag_ms,
                    max_lag_ms = self.max_lag.as_millis(),
                    "read replica lags past database.replica_max_lag_ms: catalog reads go to the primary"
                );
            }
        }
        state.health = health;
        state.lag = lag;
        state.measured = Some(Instant::now());
        state.serving = serving;
    }
}

struct Monitor {
    replica: Weak<Replica>,
    primary_options: PgConnectOptions,
    replica_options: PgConnectOptions,
    primary: Option<PgConnection>,
    replica_conn: Option<PgConnection>,
    /// (when, the primary's flushed WAL position), oldest first.
    ring: VecDeque<(Instant, i64)>,
    /// How far back the ring reaches: past it, any lag is far past the bound.
    keep: Duration,
}

impl Monitor {
    async fn run(mut self) {
        let mut tick = tokio::time::interval(INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if self.replica.strong_count() == 0 {
                return;
            }
            let (health, lag) = self.measure().await;
            let Some(replica) = self.replica.upgrade() else {
                return;
            };
            replica.measured(health, lag);
        }
    }

    async fn measure(&mut self) -> (Health, Option<Duration>) {
        // The primary first: a position sampled before the replica's is
        // one the replica may already have.
        if let Ok(position) = probe(
            &mut self.primary,
            &self.primary_options,
            "SELECT (pg_current_wal_flush_lsn() - '0/0'::pg_lsn)::bigint",
        )
        .await
        {
            let now = Instant::now();
            self.ring.push_back((now, position.1));
            while self
                .ring
                .front()
                .is_some_and(|(t, _)| now.duration_since(*t) > self.keep)
                && self.ring.len() > 1
            {
                self.ring.pop_front();
            }
        }
        // While the primary cannot be sampled, the replica is compared
        // with the primary's last known position (nothing newer can have
        // been committed where this node could see it).
        let replayed = match probe(
            &mut self.replica_conn,
            &self.replica_options,
            "SELECT coalesce((pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint, 0) \
             FROM (SELECT 1) AS one WHERE pg_is_in_recovery()",
        )
        .await
        {
            Ok((true, replayed)) => replayed,
            Ok((false, _)) => {
                return (
                    Health::Down("not in recovery (promoted, or not a replica)".into()),
                    None,
                );
            }
            Err(e) => return (Health::Down(format!("unreachable: {e}")), None),
        };
        (Health::Up, lag(&self.ring, replayed, Instant::now()))
    }
}

/// How far behind the primary a replica that replayed `replayed` is:
/// since the first sample past it (zero if none is), or at least since
/// the oldest sample if every one is. `None` with no sample at all.
fn lag(ring: &VecDeque<(Instant, i64)>, replayed: i64, now: Instant) -> Option<Duration> {
    ring.back()?;
    Some(
        ring.iter()
            .find(|(_, position)| *position > replayed)
            .map_or(Duration::ZERO, |(t, _)| now.duration_since(*t)),
    )
}

/// Runs `sql` (one row of one `bigint`, or no row) on the connection in
/// `slot`, (re)connecting first, within [`PROBE_BOUND`]. `(false, _)`
/// when the query returned no row. A failed connection is dropped.
async fn probe(
    slot: &mut Option<PgConnection>,
    options: &PgConnectOptions,
    sql: &str,
) -> Result<(bool, i64), String> {
    let result = tokio::time::timeout(PROBE_BOUND, async {
        let mut conn = match slot.take() {
            Some(conn) => conn,
            None => options.connect().await?,
        };
        let row: Option<i64> = sqlx::query_scalar(sql).fetch_optional(&mut conn).await?;
        *slot = Some(conn);
        Ok::<_, sqlx::Error>(row)
    })
    .await;
    match result {
        Ok(Ok(Some(position))) => Ok((true, position)),
        Ok(Ok(None)) => Ok((false, 0)),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {} ms", PROBE_BOUND.as_millis())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_is_time_since_the_primary_passed_the_replayed_position() {
        let now = Instant::now();
        let at = |ms: u64| now - Duration::from_millis(ms);
        let ring: VecDeque<_> = [
            (at(1000), 100),
            (at(750), 100),
            (at(500), 200),
            (at(250), 300),
        ]
        .into_iter()
        .collect();
        // Caught up, however long the primary has been idle.
        assert_eq!(lag(&ring, 300, now), Some(Duration::ZERO));
        let idle: VecDeque<_> = [(at(60_000), 100), (at(250), 100)].into_iter().collect();
        assert_eq!(lag(&idle, 100, now), Some(Duration::ZERO));
        // Replayed 100: the primary stood past it from the 500 ms sample.
        assert_eq!(lag(&ring, 100, now), Some(Duration::from_millis(500)));
        assert_eq!(lag(&ring, 250, now), Some(Duration::from_millis(250)));
        // Behind every sample: at least as old as the oldest.
        assert_eq!(lag(&ring, 50, now), Some(Duration::from_millis(1000)));
        assert_eq!(lag(&VecDeque::new(), 50, now), None);
    }
}
