//! The runner's behaviour with test handlers on a real store (the
//! suite's database): retries and back-off, dead letters, heartbeats,
//! rescue, shutdown, periodic jobs, and a busy queue's concurrency.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use storekeep_domain::{Job, JobId, JobState, NewJob};
use storekeep_store::{PoolConfig, Store, now};
use tokio::sync::watch;

use super::*;
use crate::config::JobSettings;
use crate::jobs::{JobError, JobHandler, JobQueue, JobRun, Periodic};

struct Db {
    store: Arc<dyn Store>,
    _db: storekeep_test_support::TestDb,
}

/// A fresh, migrated store on the database the suite runs against (SQLite
/// by default, PostgreSQL under `STOREKEEP_TEST_DATABASE_URL`).
async fn db() -> Db {
    let db = storekeep_test_support::TestDb::new().await;
    let store: Arc<dyn Store> = if db.is_sqlite() {
        Arc::new(
            storekeep_store_sqlite::SqliteStore::connect(&db.url, PoolConfig::default())
                .await
                .unwrap(),
        )
    } else {
        Arc::new(
            storekeep_store_postgres::PgStore::connect(&db.url, PoolConfig::default())
                .await
                .unwrap(),
        )
    };
    store.migrate().await.unwrap();
    Db { store, _db: db }
}

fn settings() -> JobSettings {
    JobSettings {
        queues: vec![("default".into(), 2)],
        poll_interval: Duration::from_millis(50),
        backoff_base: Duration::from_secs(3600),
        backoff_max: Duration::from_secs(7200),
        ..JobSettings::default()
    }
}

/// Answers each attempt with the next outcome of its script (the last one
/// repeats), after `sleep`, and counts its calls.
#[derive(Clone)]
struct Scripted {
    outcomes: Arc<Vec<Result<(), JobError>>>,
    sleep: Duration,
    calls: Arc<AtomicU32>,
    seen: Arc<Mutex<Vec<i32>>>,
}

impl Scripted {
    fn new(outcomes: Vec<Result<(), JobError>>) -> Self {
        Self {
            outcomes: Arc::new(outcomes),
            sleep: Duration::ZERO,
            calls: Arc::default(),
            seen: Arc::default(),
        }
    }

    fn sleeping(mut self, d: Duration) -> Self {
        self.sleep = d;
        self
    }

    fn calls(&self) -> u32 {
        self.calls.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl JobHandler for Scripted {
    async fn run(&self, job: &JobRun) -> Result<(), JobError> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) as usize;
        self.seen.lock().unwrap().push(job.attempt);
        tokio::time::sleep(self.sleep).await;
        self.outcomes[n.min(self.outcomes.len() - 1)].clone()
    }
}

struct Panics;

#[async_trait]
impl JobHandler for Panics {
    async fn run(&self, _job: &JobRun) -> Result<(), JobError> {
        panic!("handler bug")
    }
}

struct Running {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    async fn stop(self) {
        let _ = self.stop.send(true);
        self.task.await.unwrap();
    }
}

fn start(
    store: &Arc<dyn Store>,
    settings: JobSettings,
    setup: impl FnOnce(&mut Runner),
) -> (JobQueue, Running) {
    let queue = JobQueue::new(store.clone(), settings.max_attempts, &settings.queues);
    let mut runner = Runner::new(queue.clone(), settings, Duration::from_secs(5));
    setup(&mut runner);
    let (stop, rx) = watch::channel(false);
    let task = tokio::spawn(runner.run(rx));
    (queue, Running { stop, task })
}

async fn wait_for(store: &Arc<dyn Store>, id: JobId, done: impl Fn(&Job) -> bool) -> Job {
    for _ in 0..200 {
        let job = store.job(None, id).await.unwrap();
        if done(&job) {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "job {id} never reached the expected state: {:?}",
        store.job(None, id).await.unwrap()
    );
}

fn job(kind: &str) -> NewJob {
    NewJob::new(kind, serde_json::json!({}))
}

#[tokio::test]
async fn a_retry_waits_out_the_back_off_and_a_permanent_error_dead_letters_at_once() {
    let db = db().await;
    let flaky = Scripted::new(vec![Err(JobError::retry("smtp 421"))]);
    let broken = Scripted::new(vec![Err(JobError::permanent("no such mailbox"))]);
    let (f, b) = (flaky.clone(), broken.clone());
    let (queue, running) = start(&db.store, settings(), |r| {
        r.register("flaky", f).register("broken", b);
    });
    let before = now();
    let retried = queue.enqueue(job("flaky")).await.unwrap();
    let dead = queue.enqueue(job("broken")).await.unwrap();

    let r = wait_for(&db.store, retried, |j| j.state == JobState::Retryable).await;
    let d = wait_for(&db.store, dead, |j| j.state == JobState::Dead).await;
    running.stop().await;

    // Full jitter below the first ceiling (1 h in these settings).
    assert!(r.run_at >= before && r.run_at <= now() + chrono::Duration::hours(1));
    assert_eq!(r.last_error.as_deref(), Some("smtp 421"));
    assert_eq!((r.attempt, flaky.calls()), (1, 1));
    assert_eq!(d.attempt, 1, "a permanent error is not retried");
    assert_eq!(d.errors.len(), 1);
    assert_eq!(broken.calls(), 1);
}

#[tokio::test]
async fn a_handlers_retry_after_overrides_the_back_off() {
    let db = db().await;
    let after = Duration::from_secs(7 * 3600);
    let h = Scripted::new(vec![Err(JobError::retry_after("429", after))]);
    let (queue, running) = start(&db.store, settings(), |r| {
        r.register("limited", h);
    });
    let before = now();
    let id = queue.enqueue(job("limited")).await.unwrap();

    let j = wait_for(&db.store, id, |j| j.state == JobState::Retryable).await;
    running.stop().await;

    let wait = (j.run_at - before).num_seconds();
    assert!((7 * 3600 - 5..=7 * 3600 + 5).contains(&wait), "{wait} s");
}

#[tokio::test]
async fn a_job_out_of_attempts_is_dead_and_a_success_completes() {
    let db = db().await;
    let h = Scripted::new(vec![Err(JobError::retry_after("down", Duration::ZERO))]);
    let ok = Scripted::new(vec![
        Err(JobError::retry_after("once", Duration::ZERO)),
        Ok(()),
    ]);
    let (h2, ok2) = (h.clone(), ok.clone());
    let (queue, running) = start(&db.store, settings(), |r| {
        r.register("down", h2).register("second-time", ok2);
    });
    let id = queue.enqueue(job("down").max_attempts(3)).await.unwrap();
    let good = queue.enqueue(job("second-time")).await.unwrap();

    let j = wait_for(&db.store, id, |j| j.state == JobState::Dead).await;
    let g = wait_for(&db.store, good, |j| j.state == JobState::Completed).await;
    running.stop().await;

    assert_eq!(j.attempt, 3);
    assert_eq!(*h.seen.lock().unwrap(), [1, 2, 3]);
    assert_eq!(
        j.errors.iter().map(|e| e.attempt).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert_eq!(g.attempt, 2);
    assert_eq!(ok.calls(), 2);
}

#[tokio::test]
async fn a_panicking_handler_fails_its_job_only() {
    let db = db().await;
    let ok = Scripted::new(vec![Ok(())]);
    let ok2 = ok.clone();
    let (queue, running) = start(&db.store, settings(), |r| {
        r.register("panics", Panics).register("fine", ok2);
    });
    let bad = queue.enqueue(job("panics")).await.unwrap();
    let fine = queue.enqueue(job("fine")).await.unwrap();

    let b = wait_for(&db.store, bad, |j| j.state == JobState::Retryable).await;
    wait_for(&db.store, fine, |j| j.state == JobState::Completed).await;
    running.stop().await;

    assert!(b.last_error.unwrap().contains("the handler failed"));
}

#[tokio::test]
async fn a_job_of_an_unknown_kind_is_retried_for_a_node_that_knows_it() {
    let db = db().await;
    let (queue, running) = start(&db.store, settings(), |_| {});
    let id = queue.enqueue(job("from.a.newer.build")).await.unwrap();

    let j = wait_for(&db.store, id, |j| j.state == JobState::Retryable).await;
    running.stop().await;

    assert!(
        j.last_error
            .unwrap()
            .contains("no handler for kind from.a.newer.build")
    );
}

#[tokio::test]
async fn the_heartbeat_keeps_a_long_job_leased() {
    let db = db().await;
    let slow = Scripted::new(vec![Ok(())]).sleeping(Duration::from_millis(2500));
    let s2 = slow.clone();
    let short = JobSettings {
        lease: Duration::from_secs(1),
        ..settings()
    };
    let (queue, running) = start(&db.store, short, |r| {
        r.register("slow", s2);
    });
    let id = queue.enqueue(job("slow")).await.unwrap();

    let j = wait_for(&db.store, id, |j| j.state == JobState::Completed).await;
    running.stop().await;

    // Twice its lease, yet never rescued: one attempt, one call.
    assert_eq!((j.attempt, slow.calls()), (1, 1));
    assert!(j.errors.is_empty());
}

#[tokio::test]
async fn a_dead_workers_job_is_rescued_and_run_again() {
    let db = db().await;
    let id = db.store.enqueue(&job("orphan")).await.unwrap();
    // A worker claims it and dies without a word.
    let claimed = db
        .store
        .claim("default", 1, Duration::from_millis(300), "dead-node")
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let h = Scripted::new(vec![Ok(())]);
    let h2 = h.clone();
    let short = JobSettings {
        lease: Duration::from_secs(1),
        ..settings()
    };
    let (_queue, running) = start(&db.store, short, |r| {
        r.register("orphan", h2);
    });

    let j = wait_for(&db.store, id, |j| j.state == JobState::Completed).await;
    running.stop().await;

    assert_eq!(j.attempt, 2);
    assert_eq!(j.errors.len(), 1, "the expired lease is on record");
    assert_eq!(h.calls(), 1);
}

#[tokio::test]
async fn shutdown_lets_a_running_handler_finish() {
    let db = db().await;
    let slow = Scripted::new(vec![Ok(())]).sleeping(Duration::from_millis(600));
    let s2 = slow.clone();
    let (queue, running) = start(&db.store, settings(), |r| {
        r.register("slow", s2);
    });
    let id = queue.enqueue(job("slow")).await.unwrap();
    wait_for(&db.store, id, |j| j.state == JobState::Running).await;

    running.stop().await;

    assert_eq!(
        db.store.job(None, id).await.unwrap().state,
        JobState::Completed
    );
    // Nothing is claimed after the stop.
    let later = db.store.enqueue(&job("slow")).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        db.store.job(None, later).await.unwrap().state,
        JobState::Available
    );
}

/// Counts the handlers running at once and the highest count seen; each
/// runs `pause` (2 ms at least).
#[derive(Clone, Default)]
struct Gauge {
    now: Arc<AtomicU32>,
    most: Arc<AtomicU32>,
    runs: Arc<Mutex<Vec<JobId>>>,
    pause: Duration,
    /// Handlers finished, and how many had when the most ran at once.
    finished: Arc<AtomicU32>,
    finished_at_most: Arc<AtomicU32>,
}

#[async_trait]
impl JobHandler for Gauge {
    async fn run(&self, job: &JobRun) -> Result<(), JobError> {
        let n = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        if self.most.fetch_max(n, Ordering::SeqCst) < n {
            let done = self.finished.load(Ordering::SeqCst);
            self.finished_at_most.store(done, Ordering::SeqCst);
        }
        self.runs.lock().unwrap().push(job.id);
        tokio::time::sleep(self.pause.max(Duration::from_millis(2))).await;
        self.now.fetch_sub(1, Ordering::SeqCst);
        self.finished.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

#[tokio::test]
async fn a_busy_queue_runs_every_job_once_and_never_more_than_its_concurrency() {
    let db = db().await;
    let gauge = Gauge::default();
    let g2 = gauge.clone();
    let jobs: Vec<NewJob> = (0..400).map(|_| job("busy")).collect();
    let mut ids = Vec::new();
    for chunk in jobs.chunks(100) {
        ids.extend(db.store.enqueue_many(chunk).await.unwrap());
    }
    let busy = JobSettings {
        queues: vec![("default".into(), 8)],
        ..settings()
    };
    // On PostgreSQL several claims are in flight at once, and several
    // batches of completions.
    let (_queue, running) = start(&db.store, busy, |r| {
        r.register("busy", g2);
    });
    for _ in 0..600 {
        let stats = db.store.job_stats(now()).await.unwrap();
        let open: i64 = stats.iter().map(|s| s.ready + s.running).sum();
        if open == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    running.stop().await;

    for id in &ids {
        let j = db.store.job(None, *id).await.unwrap();
        assert_eq!(j.state, JobState::Completed, "job {id}");
        assert_eq!(j.attempt, 1, "job {id} ran once");
    }
    let mut runs = gauge.runs.lock().unwrap().clone();
    assert_eq!(runs.len(), ids.len(), "every job ran exactly once");
    runs.sort_unstable();
    runs.dedup();
    assert_eq!(runs.len(), ids.len(), "no job ran twice");
    let most = gauge.most.load(Ordering::SeqCst);
    assert!(most <= 8, "at most 8 handlers at once, saw {most}");
    assert!(most > 1, "the queue ran jobs side by side, saw {most}");
}

#[tokio::test]
async fn a_queue_gives_way_while_requests_are_in_flight_and_takes_its_workers_back_after() {
    let db = db().await;
    let in_flight = prometheus::IntGauge::new("in_flight", "requests").unwrap();
    in_flight.set(5);
    let short = Gauge {
        pause: Duration::from_millis(20),
        ..Gauge::default()
    };
    let long = Gauge {
        pause: Duration::from_millis(1500),
        ..Gauge::default()
    };
    let eight = JobSettings {
        queues: vec![("default".into(), 8)],
        ..settings()
    };
    let (s2, l2, g2) = (short.clone(), long.clone(), in_flight.clone());
    let (_queue, running) = start(&db.store, eight, |r| {
        r.register("short", s2);
        r.register("long", l2);
        r.give_way(g2, 4);
    });

    // Five requests in flight, four to give way at: two of the eight
    // workers, and claims ahead for those two only (at most twice them),
    // where eight would hold up to 24 jobs at this pace.
    let jobs: Vec<NewJob> = (0..100).map(|_| job("short")).collect();
    db.store.enqueue_many(&jobs).await.unwrap();
    // A `running` row is a job in a handler, one held ahead, or a success
    // the completer has not saved yet (how many depends on the machine's
    // load): the jobs held ahead are what is left after the other two.
    let mut ahead = 0;
    for _ in 0..1000 {
        let stats = db.store.job_stats(now()).await.unwrap();
        let ready: i64 = stats.iter().map(|s| s.ready).sum();
        let running: i64 = stats.iter().map(|s| s.running).sum();
        let in_handlers = i64::from(short.now.load(Ordering::SeqCst));
        let finished = i64::from(short.finished.load(Ordering::SeqCst));
        let unsaved = finished - (100 - ready - running);
        ahead = ahead.max(running - in_handlers - unsaved);
        if ready + running == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(short.finished.load(Ordering::SeqCst), 100);
    assert_eq!(short.most.load(Ordering::SeqCst), 2, "two at once, no more");
    // Twice the two workers held ahead, and the two about to start.
    assert!(ahead <= 6, "{ahead} held ahead at once");

    // Long jobs: two start; the rush ends while they run, and the queue
    // starts six more at its next poll, before either has finished.
    let jobs: Vec<NewJob> = (0..8).map(|_| job("long")).collect();
    db.store.enqueue_many(&jobs).await.unwrap();
    for _ in 0..200 {
        if long.now.load(Ordering::SeqCst) == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(long.most.load(Ordering::SeqCst), 2);
    in_flight.set(3);
    for _ in 0..300 {
        if long.most.load(Ordering::SeqCst) == 8 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(long.most.load(Ordering::SeqCst), 8, "all eight workers");
    assert_eq!(
        long.finished_at_most.load(Ordering::SeqCst),
        0,
        "taken back with no job finishing"
    );
    running.stop().await;
}

#[tokio::test]
async fn a_periodic_job_runs_once_per_period_across_nodes() {
    let db = db().await;
    let h = Scripted::new(vec![Ok(())]);
    let periodic = Periodic {
        name: "tick".into(),
        kind: "tick".into(),
        queue: "default".into(),
        period: Duration::from_secs(3600),
    };
    let mut nodes = Vec::new();
    for _ in 0..3 {
        let (h2, p) = (h.clone(), periodic.clone());
        nodes.push(start(&db.store, settings(), |r| {
            r.register("tick", h2).periodic(p);
        }));
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    for (_, running) in nodes {
        running.stop().await;
    }

    let page = storekeep_domain::PageRequest::new(Some(50), None).unwrap();
    let jobs = db
        .store
        .list_jobs(None, &storekeep_domain::JobFilter::default(), &page)
        .await
        .unwrap();
    assert_eq!(jobs.items.len(), 1);
    let key = jobs.items[0].unique_key.clone().unwrap();
    let start = period_start(now(), periodic.period).timestamp_millis();
    assert_eq!(key, format!("periodic:tick:{start}"));
    assert_eq!(jobs.items[0].state, JobState::Completed);
    assert_eq!(h.calls(), 1);
}

#[test]
fn periods_align_on_the_epoch() {
    let at = chrono::DateTime::from_timestamp(1_000_000_123, 456_000_000).unwrap();
    let start = period_start(at, Duration::from_secs(60));
    assert_eq!(start.timestamp(), 1_000_000_080);
    assert_eq!(period_start(start, Duration::from_secs(60)), start);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trickle_of_jobs_runs_on_each_enqueues_wake_up_not_the_poll() {
    // Jobs enqueued on this node run on the wake-up of their enqueue, not
    // the poll (an hour here): four tasks enqueue at once, so that
    // wake-ups also land while claims are out, and then one more job
    // arrives at an idle queue.
    let db = db().await;
    let handler = Scripted::new(vec![Ok(())]);
    let h2 = handler.clone();
    let quiet = JobSettings {
        poll_interval: Duration::from_secs(3600),
        ..settings()
    };
    let (queue, running) = start(&db.store, quiet, |r| {
        r.register("trickle", h2);
    });
    let mut tasks = tokio::task::JoinSet::new();
    for t in 0..4u64 {
        let queue = queue.clone();
        tasks.spawn(async move {
            let mut ids = Vec::new();
            for i in 0..50u64 {
                ids.push(queue.enqueue(job("trickle")).await.unwrap());
                if (i + t) % 8 == 0 {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
            ids
        });
    }
    let ids: Vec<JobId> = tasks.join_all().await.into_iter().flatten().collect();
    for id in &ids {
        let j = wait_for(&db.store, *id, |j| j.state == JobState::Completed).await;
        assert_eq!(j.attempt, 1, "job {id} ran once");
    }
    assert_eq!(handler.calls(), 200, "every job ran, once");
    // An idle queue (its last claim came back short) wakes for one job.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let last = queue.enqueue(job("trickle")).await.unwrap();
    wait_for(&db.store, last, |j| j.state == JobState::Completed).await;
    assert_eq!(handler.calls(), 201);
    running.stop().await;
}

#[test]
fn a_queue_claims_ahead_what_its_workers_get_through_in_the_horizon() {
    let pace = Pace::default();
    assert_eq!(pace.ahead(4), 0, "nothing ahead before a job has run");
    pace.record(Duration::from_millis(2));
    assert_eq!(
        pace.ahead(4),
        8,
        "short jobs: at most twice the concurrency"
    );
    let slower = Pace::default();
    slower.record(Duration::from_millis(40));
    assert_eq!(slower.ahead(4), 5, "4 workers get through 5 in 50 ms");
    for _ in 0..40 {
        pace.record(Duration::from_secs(2));
    }
    assert_eq!(pace.ahead(4), 0, "long jobs: nothing ahead");
    slower.reset();
    assert_eq!(slower.ahead(4), 0, "a forgotten pace: nothing ahead");
}

/// Three quick jobs (they set the queue's pace), a slow one, three quick
/// ones, enqueued in that order on a queue of one worker.
async fn quick_slow_quick(
    db: &Db,
    lease: Duration,
    slow_for: Duration,
) -> (Vec<JobId>, Scripted, Scripted, Running) {
    let kinds = ["quick", "quick", "quick", "slow", "quick", "quick", "quick"];
    let ids = db.store.enqueue_many(&kinds.map(job)).await.unwrap();
    let quick = Scripted::new(vec![Ok(())]);
    let slow = Scripted::new(vec![Ok(())]).sleeping(slow_for);
    let one = JobSettings {
        queues: vec![("default".into(), 1)],
        lease,
        ..settings()
    };
    let (q2, s2) = (quick.clone(), slow.clone());
    let (_queue, running) = start(&db.store, one, |r| {
        r.register("quick", q2);
        r.register("slow", s2);
    });
    (ids, quick, slow, running)
}

#[tokio::test]
async fn a_queue_of_short_jobs_claims_ahead_and_a_stop_hands_those_back() {
    let db = db().await;
    let (ids, quick, slow, running) =
        quick_slow_quick(&db, Duration::from_secs(60), Duration::from_millis(1500)).await;

    // The slow job runs on the one worker; the next quick one is claimed
    // ahead of it, and never more than twice the concurrency.
    started(&slow).await;
    wait_for(&db.store, ids[4], |j| j.state == JobState::Running).await;
    assert_eq!((quick.calls(), slow.calls()), (3, 1), "held, not run");
    assert_eq!(
        db.store.job(None, ids[6]).await.unwrap().state,
        JobState::Available,
        "at most two claimed ahead of one worker"
    );

    running.stop().await;

    // The slow job finished within the grace period; those claimed ahead
    // are back in the queue at once, as if never claimed.
    assert_eq!(
        db.store.job(None, ids[3]).await.unwrap().state,
        JobState::Completed
    );
    for id in &ids[4..] {
        let j = db.store.job(None, *id).await.unwrap();
        assert_eq!((j.state, j.attempt), (JobState::Available, 0), "job {id}");
        assert!(j.errors.is_empty(), "job {id}");
    }
    assert_eq!(quick.calls(), 3);
}

#[tokio::test]
async fn jobs_claimed_ahead_of_a_long_job_go_back_while_their_leases_are_young() {
    let db = db().await;
    // The slow job runs more than twice the lease (its heartbeats keep it);
    // a job held ahead of it that long would be rescued as abandoned.
    let lease = Duration::from_millis(1500);
    let (ids, quick, slow, running) =
        quick_slow_quick(&db, lease, Duration::from_millis(3500)).await;

    // Held ahead of the slow job (as in the test above), they go back a
    // sixth of a lease after their claim, the attempt not counted, while
    // the slow job still runs; and nothing is claimed ahead again until a
    // job has finished.
    started(&slow).await;
    tokio::time::sleep(lease / 2).await;
    assert_eq!(
        db.store.job(None, ids[3]).await.unwrap().state,
        JobState::Running
    );
    for id in &ids[4..] {
        let j = db.store.job(None, *id).await.unwrap();
        assert_eq!((j.state, j.attempt), (JobState::Available, 0), "job {id}");
    }

    for id in &ids {
        let j = wait_for(&db.store, *id, |j| j.state == JobState::Completed).await;
        assert_eq!(j.attempt, 1, "job {id} ran once");
        assert!(j.errors.is_empty(), "job {id} was never rescued");
    }
    assert_eq!((quick.calls(), slow.calls()), (6, 1));
    running.stop().await;
}

/// Waits until `handler` has been called (its job started, not only
/// claimed).
async fn started(handler: &Scripted) {
    for _ in 0..200 {
        if handler.calls() > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the handler never started");
}
