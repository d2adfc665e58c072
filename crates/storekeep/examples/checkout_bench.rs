//! Load generator for `scripts/bench checkout` (run it through the script,
//! which starts the server and the databases).
//!
//! `checkout`: prepares one cart per checkout (untimed), then times
//! `POST /carts/{id}/checkout` with N concurrent clients, each request with
//! its own `Idempotency-Key`, and prints one JSON line per level. With
//! `--rental-plans` (one per variant) each cart line rents its variant on
//! that plan instead: checkout then also writes the contract, its
//! schedule and, for a serial-tracked variant, the unit's claim.
//!
//! `baseline`: single-row durable inserts — one `INSERT` per transaction,
//! committed (fsynced) before the next — straight to the database with N
//! concurrent writers, the ceiling a naive one-transaction-per-order
//! design meets.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use serde_json::{Value, json};

#[derive(Parser)]
struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(Subcommand)]
enum What {
    Checkout {
        #[arg(long)]
        url: String,
        #[arg(long)]
        tenant: String,
        /// Comma-separated variant ids; each cart holds one unit of one.
        #[arg(long)]
        variants: String,
        /// Concurrent clients per level, e.g. 1,8,64.
        #[arg(long, default_value = "1,8,64")]
        clients: String,
        /// Checkouts per level, in the same order.
        #[arg(long, default_value = "500,3000,12000")]
        counts: String,
        /// Comma-separated rental plan ids, one per variant, in the same
        /// order: every cart line rents on its variant's plan.
        #[arg(long)]
        rental_plans: Option<String>,
    },
    Baseline {
        /// `sqlite://path` (WAL, synchronous=FULL) or `postgres://...`.
        #[arg(long)]
        db: String,
        #[arg(long, default_value = "1,8,64")]
        clients: String,
        #[arg(long, default_value = "500,3000,12000")]
        counts: String,
    },
}

/// A prepared cart: (id, token).
type Slot = std::sync::Mutex<Option<(String, String)>>;

fn list(s: &str) -> Vec<usize> {
    s.split(',')
        .map(|x| x.trim().parse().expect("a number"))
        .collect()
}

fn report(kind: &str, clients: usize, mut lat: Vec<f64>, secs: f64, ok: usize, other: Value) {
    lat.sort_by(|a, b| a.total_cmp(b));
    let q = |p: f64| lat[((lat.len() - 1) as f64 * p).round() as usize];
    println!(
        "{}",
        json!({
            "kind": kind, "clients": clients, "ok": ok, "secs": secs,
            "per_sec": ok as f64 / secs, "p50_ms": q(0.50), "p99_ms": q(0.99), "max_ms": q(1.0),
            "other": other,
        })
    );
}

/// Runs `n` jobs with `clients` concurrent workers; returns latencies (ms)
/// and the wall time.
async fn drive<F, Fut>(n: usize, clients: usize, job: F) -> (Vec<(f64, bool)>, f64)
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let job = Arc::new(job);
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (job, next) = (job.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return out;
                }
                let t = Instant::now();
                let ok = job(i).await;
                out.push((t.elapsed().as_secs_f64() * 1000.0, ok));
            }
        }));
    }
    let mut all = Vec::with_capacity(n);
    for t in tasks {
        all.extend(t.await.expect("worker"));
    }
    (all, start.elapsed().as_secs_f64())
}

async fn checkout(
    url: String,
    tenant: String,
    lines: Vec<Value>,
    clients: Vec<usize>,
    counts: Vec<usize>,
) {
    let kind = if lines[0].get("rental_plan_id").is_some() {
        "rental_checkout"
    } else {
        "checkout"
    };
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(128)
        .build()
        .expect("client");
    for (&c, &n) in clients.iter().zip(&counts) {
        // Untimed: one cart per checkout, made 32 at a time.
        let carts: Arc<Vec<Slot>> = Arc::new((0..n).map(|_| std::sync::Mutex::new(None)).collect());
        let (h, u, t, v, cs) = (
            http.clone(),
            url.clone(),
            tenant.clone(),
            Arc::new(lines.clone()),
            carts.clone(),
        );
        let (prep, _) = drive(n, 32, move |i| {
            let (h, u, t, v, cs) = (h.clone(), u.clone(), t.clone(), v.clone(), cs.clone());
            async move {
                let body = json!({"items": [v[i % v.len()]]});
                let Ok(r) = h
                    .post(format!("{u}/api/v1/store/carts"))
                    .header("x-tenant", &t)
                    .json(&body)
                    .send()
                    .await
                else {
                    return false;
                };
                if r.status() != 201 {
                    eprintln!(
                        "cart: {} {}",
                        r.status(),
                        r.text().await.unwrap_or_default()
                    );
                    return false;
                }
                let b: Value = r.json().await.expect("cart JSON");
                *cs[i].lock().unwrap() = Some((
                    b["cart"]["id"].as_str().unwrap().to_owned(),
                    b["cart"]["token"].as_str().unwrap().to_owned(),
                ));
                true
            }
        })
        .await;
        assert!(prep.iter().all(|(_, ok)| *ok), "every cart was created");

        let body = Arc::new(json!({
            "email": "bench@example.com",
            "shipping_address": {"name": "Bench", "line1": "1 Loop Road", "city": "Localhost",
                                 "postal_code": "12345", "country": "US"},
            "shipping_method": "standard",
            "payment_provider": "manual"
        }));
        let statuses = Arc::new(std::sync::Mutex::new(std::collections::BTreeMap::<
            u16,
            usize,
        >::new()));
        let (h, u, t, cs, st) = (
            http.clone(),
            url.clone(),
            tenant.clone(),
            carts.clone(),
            statuses.clone(),
        );
        let (lat, secs) = drive(n, c, move |i| {
            let (h, u, t, body, st) = (h.clone(), u.clone(), t.clone(), body.clone(), st.clone());
            let (cart, token) = cs[i].lock().unwrap().clone().expect("prepared");
            async move {
                let r = h
                    .post(format!("{u}/api/v1/store/carts/{cart}/checkout"))
                    .header("x-tenant", &t)
                    .header("x-cart-token", token)
                    .header("idempotency-key", &cart)
                    .json(&*body)
                    .send()
                    .await;
                let code = match r {
                    Ok(r) => {
                        let s = r.status().as_u16();
                        let _ = r.bytes().await;
                        s
                    }
                    Err(_) => 0,
                };
                *st.lock().unwrap().entry(code).or_default() += 1;
                code == 201
            }
        })
        .await;
        let ok = lat.iter().filter(|(_, ok)| *ok).count();
        let statuses = statuses.lock().unwrap().clone();
        report(
            kind,
            c,
            lat.into_iter().map(|(l, _)| l).collect(),
            secs,
            ok,
            json!(statuses),
        );
    }
}

async fn baseline(db: String, clients: Vec<usize>, counts: Vec<usize>) {
    use sqlx::Executor;
    let max = *clients.iter().max().unwrap_or(&1) as u32;
    enum Pool {
        Lite(sqlx::SqlitePool),
        Pg(sqlx::PgPool),
    }
    let pool = if db.starts_with("sqlite:") {
        use sqlx::sqlite::{
            SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
        };
        use std::str::FromStr;
        let o = SqliteConnectOptions::from_str(&db)
            .expect("sqlite url")
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(30));
        let p = SqlitePoolOptions::new()
            .max_connections(max.min(16))
            .connect_with(o)
            .await
            .expect("sqlite");
        p.execute(
            "CREATE TABLE IF NOT EXISTS bench_rows (id TEXT PRIMARY KEY, body TEXT NOT NULL)",
        )
        .await
        .expect("table");
        Pool::Lite(p)
    } else {
        let p = sqlx::postgres::PgPoolOptions::new()
            .max_connections(max)
            .connect(&db)
            .await
            .expect("postgres");
        p.execute(
            "CREATE TABLE IF NOT EXISTS bench_rows (id text PRIMARY KEY, body text NOT NULL)",
        )
        .await
        .expect("table");
        Pool::Pg(p)
    };
    let pool = Arc::new(pool);
    for (&c, &n) in clients.iter().zip(&counts) {
        let p = pool.clone();
        let (lat, secs) = drive(n, c, move |_| {
            let p = p.clone();
            async move {
                let id = uuid::Uuid::now_v7().to_string();
                let body = "{\"order\": \"a typical small JSON document of about this size\"}";
                match &*p {
                    Pool::Lite(p) => sqlx::query("INSERT INTO bench_rows (id, body) VALUES (?, ?)")
                        .bind(id)
                        .bind(body)
                        .execute(p)
                        .await
                        .is_ok(),
                    Pool::Pg(p) => sqlx::query("INSERT INTO bench_rows (id, body) VALUES ($1, $2)")
                        .bind(id)
                        .bind(body)
                        .execute(p)
                        .await
                        .is_ok(),
                }
            }
        })
        .await;
        let ok = lat.iter().filter(|(_, ok)| *ok).count();
        report(
            "baseline",
            c,
            lat.into_iter().map(|(l, _)| l).collect(),
            secs,
            ok,
            json!({}),
        );
    }
}

#[tokio::main]
async fn main() {
    match Args::parse().what {
        What::Checkout {
            url,
            tenant,
            variants,
            clients,
            counts,
            rental_plans,
        } => {
            let plans: Vec<Option<&str>> = match &rental_plans {
                Some(p) => p.split(',').map(Some).collect(),
                None => vec![None; variants.split(',').count()],
            };
            let lines = variants
                .split(',')
                .zip(plans)
                .map(|(v, plan)| match plan {
                    Some(p) => json!({"variant_id": v, "quantity": 1, "rental_plan_id": p}),
                    None => json!({"variant_id": v, "quantity": 1}),
                })
                .collect();
            checkout(url, tenant, lines, list(&clients), list(&counts)).await;
        }
        What::Baseline {
            db,
            clients,
            counts,
        } => baseline(db, list(&clients), list(&counts)).await,
    }
}
