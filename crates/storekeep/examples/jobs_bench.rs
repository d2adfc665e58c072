//! `scripts/bench jobs`: no-op jobs through the runner per second, beside
//! the same database's single-row insert rate (the baseline), on the
//! database at `--db` (`sqlite://path` or `postgres://…`).
//!
//! The no-op kind exists only in this example binary, never in the server,
//! so no production build can be made to run it.
//!
//! 1. baseline: `--count` single-row inserts into a plain table, one
//!    autocommitted statement each, from `--concurrency` writers;
//! 2. enqueues `--count` jobs (untimed), then starts a runner with one
//!    queue of `--concurrency` workers and a no-op handler, and times until
//!    every job is completed (watching the handler's count until every job
//!    has run, then the queue figures until the last completions are
//!    written, so the watching does not load the database under test).
//!
//! Both run `--rounds` times, alternating, so a machine whose load drifts
//! weighs on both alike; prints one JSON line per round, then the medians
//! and the median of the rounds' ratios.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use clap::Parser;
use serde_json::json;
use storekeep::config::JobSettings;
use storekeep::jobs::{JobError, JobHandler, JobQueue, JobRun, Runner};
use storekeep_domain::NewJob;
use storekeep_store::{PoolConfig, Store};

#[derive(Parser)]
struct Args {
    #[arg(long)]
    db: String,
    #[arg(long, default_value_t = 5000)]
    count: usize,
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    #[arg(long, default_value_t = 3)]
    rounds: usize,
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Does nothing but count its runs.
struct Noop(Arc<AtomicUsize>);

#[async_trait]
impl JobHandler for Noop {
    async fn run(&self, _job: &JobRun) -> Result<(), JobError> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

async fn connect(db: &str, pool: u32) -> Arc<dyn Store> {
    let config = PoolConfig {
        max_connections: pool,
        ..PoolConfig::default()
    };
    let store: Arc<dyn Store> = if db.starts_with("sqlite:") {
        Arc::new(
            storekeep_store_sqlite::SqliteStore::connect(db, config)
                .await
                .expect("sqlite"),
        )
    } else {
        Arc::new(
            storekeep_store_postgres::PgStore::connect(db, config)
                .await
                .expect("postgres"),
        )
    };
    store.migrate().await.expect("migrations");
    store
}

/// Single-row inserts, `n` of them from `c` writers; rows per second.
async fn baseline(db: &str, n: usize, c: usize) -> f64 {
    use sqlx::Executor;
    let body = "{\"order\": \"a typical small JSON document of about this size\"}";
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started;
    let mut tasks = Vec::new();
    if db.starts_with("sqlite:") {
        use std::str::FromStr;
        let o = sqlx::sqlite::SqliteConnectOptions::from_str(db)
            .expect("sqlite url")
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
            .synchronous(sqlx::sqlite::SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(30));
        let p = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(u32::try_from(c).unwrap_or(16).min(16))
            .connect_with(o)
            .await
            .expect("sqlite");
        p.execute(
            "CREATE TABLE IF NOT EXISTS bench_rows (id TEXT PRIMARY KEY, body TEXT NOT NULL)",
        )
        .await
        .expect("table");
        started = Instant::now();
        for _ in 0..c {
            let (p, next) = (p.clone(), next.clone());
            tasks.push(tokio::spawn(async move {
                while next.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < n {
                    sqlx::query("INSERT INTO bench_rows (id, body) VALUES (?, ?)")
                        .bind(uuid::Uuid::now_v7().to_string())
                        .bind(body)
                        .execute(&p)
                        .await
                        .expect("insert");
                }
            }));
        }
    } else {
        let p = sqlx::postgres::PgPoolOptions::new()
            .max_connections(u32::try_from(c).unwrap_or(16))
            .connect(db)
            .await
            .expect("postgres");
        p.execute(
            "CREATE TABLE IF NOT EXISTS bench_rows (id text PRIMARY KEY, body text NOT NULL)",
        )
        .await
        .expect("table");
        started = Instant::now();
        for _ in 0..c {
            let (p, next) = (p.clone(), next.clone());
            tasks.push(tokio::spawn(async move {
                while next.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < n {
                    sqlx::query("INSERT INTO bench_rows (id, body) VALUES ($1, $2)")
                        .bind(uuid::Uuid::now_v7().to_string())
                        .bind(body)
                        .execute(&p)
                        .await
                        .expect("insert");
                }
            }));
        }
    }
    for t in tasks {
        t.await.expect("writer");
    }
    n as f64 / started.elapsed().as_secs_f64()
}

/// Runs `n` enqueued no-op jobs with `c` workers; jobs per second.
async fn through_runner(store: Arc<dyn Store>, n: usize, c: usize) -> f64 {
    let settings = JobSettings {
        queues: vec![("bench".into(), c)],
        poll_interval: Duration::from_millis(20),
        ..JobSettings::default()
    };
    let queue = JobQueue::new(store.clone(), settings.max_attempts, &settings.queues);
    let jobs: Vec<NewJob> = (0..n)
        .map(|i| NewJob::new("bench.noop", json!({ "i": i })).queue("bench"))
        .collect();
    for chunk in jobs.chunks(500) {
        store.enqueue_many(chunk).await.expect("enqueue");
    }
    let runs = Arc::new(AtomicUsize::new(0));
    let mut runner = Runner::new(queue, settings, Duration::from_secs(5));
    runner.register("bench.noop", Noop(runs.clone()));
    let (stop, rx) = tokio::sync::watch::channel(false);
    let started = Instant::now();
    let task = tokio::spawn(runner.run(rx));
    // Until every job has run, watch the handler's count, not the
    // database: polling the queue figures meanwhile would load the
    // database under test. Then read them until the last batch of
    // completions is written.
    while runs.load(Ordering::Relaxed) < n {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    loop {
        let stats = store
            .job_stats(storekeep_store::now())
            .await
            .expect("stats");
        let open = stats
            .iter()
            .find(|s| s.queue == "bench")
            .map_or(0, |s| s.ready + s.running + s.scheduled);
        if open == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let secs = started.elapsed().as_secs_f64();
    let _ = stop.send(true);
    task.await.expect("runner");
    n as f64 / secs
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let database = if args.db.starts_with("sqlite:") {
        "sqlite"
    } else {
        "postgres"
    };
    let pool = u32::try_from(args.concurrency).unwrap_or(16) + 4;
    let store = connect(&args.db, pool).await;
    let (mut inserts, mut jobs, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 1..=args.rounds.max(1) {
        let i = baseline(&args.db, args.count, args.concurrency).await;
        let j = through_runner(store.clone(), args.count, args.concurrency).await;
        println!(
            "{}",
            json!({
                "database": database,
                "round": round,
                "inserts_per_sec": i.round(),
                "jobs_per_sec": j.round(),
                "ratio": round2(j / i),
            })
        );
        inserts.push(i);
        jobs.push(j);
        ratios.push(j / i);
    }
    println!(
        "{}",
        json!({
            "database": database,
            "count": args.count,
            "concurrency": args.concurrency,
            "rounds": ratios.len(),
            "inserts_per_sec": median(inserts).round(),
            "jobs_per_sec": median(jobs).round(),
            "ratio": round2(median(ratios)),
        })
    );
}
