//! `scripts/bench secure-delete`: what `PRAGMA secure_delete = ON` (every
//! storekeep SQLite connection runs with it, docs/privacy.md) costs on
//! writes, measured against the same work with it `OFF` in the same run.
//!
//! The database is opened as `SqliteStore::connect` opens it (WAL,
//! `synchronous=FULL`, foreign keys, 10 s busy timeout), `secure_delete`
//! set to the mode under test. The table is shaped like the rows storekeep
//! frees most (`jobs` and `orders`: an id, a few short columns and a
//! ~`--payload`-byte text of random letters). Three workloads, each on a
//! fresh database file:
//!
//! 1. **insert**: `--count` single-row inserts, one durable autocommitted
//!    statement each (a checkout's write pattern; secure_delete frees
//!    nothing here: the control);
//! 2. **update**: `--count` single-row autocommitted updates, each
//!    rewriting a random row's payload with one of another length (a status
//!    change, an erasure's placeholders: the old cell's bytes are freed
//!    inside the page and, with `ON`, zeroed);
//! 3. **delete**: `--delete-rows` rows (loaded untimed in one transaction)
//!    deleted in durable transactions of 500 (the `jobs.prune` and erasure
//!    pattern: whole pages go to the freelist and, with `ON`, are
//!    overwritten with zeros).
//!
//! `ON` and `OFF` alternate for `--rounds` rounds, so a machine whose load
//! drifts weighs on both alike; one JSON line per round, then the medians
//! and the median of the rounds' ON/OFF ratios per workload.

use std::str::FromStr;
use std::time::{Duration, Instant};

use clap::Parser;
use rand::Rng;
use serde_json::json;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection, SqliteConnection};

#[derive(Parser)]
struct Args {
    /// A folder for the throwaway database files.
    #[arg(long)]
    dir: std::path::PathBuf,
    #[arg(long, default_value_t = 1000)]
    count: usize,
    /// Rows the delete workload removes.
    #[arg(long, default_value_t = 50_000)]
    delete_rows: usize,
    /// Bytes of payload per row.
    #[arg(long, default_value_t = 400)]
    payload: usize,
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

fn text(len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| char::from(rng.random_range(b'a'..=b'z')))
        .collect()
}

async fn open(path: &std::path::Path, secure: bool) -> SqliteConnection {
    let _ = std::fs::remove_file(path);
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
        .expect("url")
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .pragma("secure_delete", if secure { "ON" } else { "OFF" })
        .busy_timeout(Duration::from_secs(10))
        .connect()
        .await
        .expect("open")
}

/// Rows/s of each workload with `secure_delete` ON or OFF.
async fn one(args: &Args, secure: bool) -> [f64; 3] {
    let path = args.dir.join("secure_delete.db");
    let mut conn = open(&path, secure).await;
    let mode: String = sqlx::query_scalar("PRAGMA secure_delete")
        .fetch_one(&mut conn)
        .await
        .map(|v: i64| v.to_string())
        .expect("pragma");
    assert_eq!(mode, if secure { "1" } else { "0" }, "secure_delete took");
    sqlx::query(
        "CREATE TABLE rows (id INTEGER PRIMARY KEY, tenant_id TEXT NOT NULL, \
         state TEXT NOT NULL, payload TEXT NOT NULL, created_at TEXT NOT NULL)",
    )
    .execute(&mut conn)
    .await
    .expect("create");
    let payloads: Vec<String> = (0..64).map(|_| text(args.payload)).collect();
    let tenant = uuid::Uuid::now_v7().to_string();

    let start = Instant::now();
    for i in 0..args.count {
        sqlx::query("INSERT INTO rows (tenant_id, state, payload, created_at) VALUES ($1, 'pending', $2, $3)")
            .bind(&tenant)
            .bind(&payloads[i % payloads.len()])
            .bind(chrono::Utc::now())
            .execute(&mut conn)
            .await
            .expect("insert");
    }
    let insert = args.count as f64 / start.elapsed().as_secs_f64();

    let ids: Vec<i64> = {
        let mut rng = rand::rng();
        (0..args.count)
            .map(|_| rng.random_range(1..=args.count as i64))
            .collect()
    };
    let shorter: Vec<String> = (0..64).map(|_| text(args.payload * 2 / 3)).collect();
    let start = Instant::now();
    for (i, id) in ids.iter().enumerate() {
        let p = if i % 2 == 0 {
            &shorter[i % 64]
        } else {
            &payloads[i % 64]
        };
        sqlx::query("UPDATE rows SET state = 'completed', payload = $2 WHERE id = $1")
            .bind(id)
            .bind(p)
            .execute(&mut conn)
            .await
            .expect("update");
    }
    let update = args.count as f64 / start.elapsed().as_secs_f64();

    // The delete workload's rows, loaded untimed in one transaction.
    let mut tx = conn.begin().await.expect("begin");
    for i in 0..args.delete_rows.saturating_sub(args.count) {
        sqlx::query("INSERT INTO rows (tenant_id, state, payload, created_at) VALUES ($1, 'completed', $2, $3)")
            .bind(&tenant)
            .bind(&payloads[i % payloads.len()])
            .bind(chrono::Utc::now())
            .execute(&mut *tx)
            .await
            .expect("load");
    }
    tx.commit().await.expect("commit");
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM rows")
        .fetch_one(&mut conn)
        .await
        .expect("count");
    let start = Instant::now();
    loop {
        let mut tx = conn.begin().await.expect("begin");
        let gone =
            sqlx::query("DELETE FROM rows WHERE id IN (SELECT id FROM rows ORDER BY id LIMIT 500)")
                .execute(&mut *tx)
                .await
                .expect("delete")
                .rows_affected();
        tx.commit().await.expect("commit");
        if gone == 0 {
            break;
        }
    }
    let delete = rows as f64 / start.elapsed().as_secs_f64();
    conn.close().await.expect("close");
    [insert, update, delete]
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args = Args::parse();
    std::fs::create_dir_all(&args.dir).expect("dir");
    let names = ["insert", "update", "delete"];
    let (mut on, mut off, mut ratios) = (vec![vec![]; 3], vec![vec![]; 3], vec![vec![]; 3]);
    for round in 1..=args.rounds {
        // Alternate which mode goes first.
        let (a, b) = if round % 2 == 1 {
            (one(&args, false).await, one(&args, true).await)
        } else {
            let b = one(&args, true).await;
            (one(&args, false).await, b)
        };
        for w in 0..3 {
            off[w].push(a[w]);
            on[w].push(b[w]);
            ratios[w].push(b[w] / a[w]);
        }
        let line: serde_json::Map<String, serde_json::Value> = names
            .iter()
            .enumerate()
            .map(|(w, n)| {
                (
                    n.to_string(),
                    json!({"off_rows_per_s": a[w].round(), "on_rows_per_s": b[w].round(),
                           "on_over_off": round2(b[w] / a[w])}),
                )
            })
            .collect();
        println!("{}", json!({"round": round, "workloads": line}));
    }
    let summary: serde_json::Map<String, serde_json::Value> = names
        .iter()
        .enumerate()
        .map(|(w, n)| {
            (
                n.to_string(),
                json!({
                    "off_rows_per_s": median(off[w].clone()).round(),
                    "on_rows_per_s": median(on[w].clone()).round(),
                    "on_over_off": round2(median(ratios[w].clone())),
                }),
            )
        })
        .collect();
    println!(
        "{}",
        json!({"median": summary, "count": args.count, "delete_rows": args.delete_rows,
               "payload_bytes": args.payload, "rounds": args.rounds})
    );
}
