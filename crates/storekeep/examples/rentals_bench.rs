//! `scripts/bench rentals`: the daily rentals pass over `--contracts`
//! running contracts (12 monthly installments each, the first paid) on the
//! database at `--db` (`sqlite://path` or `postgres://…`).
//!
//! Contracts are seeded with set-based SQL (one shop; the orders they name
//! are not written, so the seeding session turns foreign-key checks off).
//! Contract `k` starts on 1 January 2027 + `k mod 28` days; the pass runs
//! for 20 February 2027, when the second installments fall due between 1
//! and 28 February: about 3/28 get a `due_soon`, 1/28 a `due_today`, 19/28
//! are overdue (reminder, event, status) and 14/28 past the 5 grace days
//! also get a late fee (audited, event). Then the same pass again, which
//! must change nothing. Prints one JSON line per pass.

use std::sync::Arc;
use std::time::Instant;

use chrono::NaiveDate;
use clap::Parser;
use serde_json::json;
use storekeep::services::contracts::daily::run_daily;
use storekeep_store::rules::rental_daily::DailyPass;
use storekeep_store::{PoolConfig, Store};

#[derive(Parser)]
struct Args {
    #[arg(long)]
    db: String,
    #[arg(long, default_value_t = 100_000)]
    contracts: i64,
}

const TENANT: &str = "00000000-0000-7000-8000-0000000000aa";
const TERMS: &str = r#"{"kind":"rent_to_own","term_unit":"month","term":12,"min_term":12,"max_term":12,"price_per_period":6000,"deposit":{"type":"none"},"late_fee":{"type":"fixed","amount":1500,"grace_days":5},"buyout":{"type":"none"},"extension_allowed":false,"maintainer":"shop","default_after_days":30}"#;

fn sqlite_seed(n: i64) -> Vec<String> {
    let at = "2026-12-01T00:00:00+00:00";
    vec![
        "PRAGMA foreign_keys = OFF".into(),
        "BEGIN".into(),
        format!(
            "INSERT INTO tenants (id, slug, name, status, plan_id, settings, created_at, \
             updated_at) VALUES ('{TENANT}', 'bench', 'Bench', 'active', \
             '00000000-0000-7000-8000-000000000001', '{{}}', '{at}', '{at}')"
        ),
        format!(
            "WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n WHERE k < {n}) \
             INSERT INTO rental_contracts (id, tenant_id, order_id, order_line_id, plan_id, \
             variant_id, unit_id, customer_id, status, terms, cash_price, currency, deposit, \
             deposit_held, term, time_zone, start_date, created_at, updated_at) \
             SELECT printf('00000000-0000-7000-8000-%012d', k), '{TENANT}', \
             printf('00000001-0000-7000-8000-%012d', k), printf('00000002-0000-7000-8000-%012d', k), \
             '00000003-0000-7000-8000-000000000001', '00000004-0000-7000-8000-000000000001', \
             NULL, NULL, 'active', '{TERMS}', 60000, 'USD', 0, 0, 12, 'UTC', \
             date('2027-01-01', '+' || (k % 28) || ' days'), '{at}', '{at}' FROM n"
        ),
        format!(
            "WITH RECURSIVE s(q) AS (SELECT 1 UNION ALL SELECT q + 1 FROM s WHERE q < 12) \
             INSERT INTO rental_installments (id, tenant_id, contract_id, seq, due_date, amount, \
             paid_at) SELECT printf('00000005-%04d-7000-8000-%s', q, substr(c.id, 25)), \
             '{TENANT}', c.id, q, date(c.start_date, '+' || (q - 1) || ' months'), 6000, \
             CASE WHEN q = 1 THEN '{at}' END FROM rental_contracts c, s"
        ),
        "COMMIT".into(),
    ]
}

fn pg_seed(n: i64) -> Vec<String> {
    let at = "2026-12-01T00:00:00Z";
    vec![
        "SET session_replication_role = replica".into(),
        format!(
            "INSERT INTO tenants (id, slug, name, status, plan_id, settings, created_at, \
             updated_at) VALUES ('{TENANT}', 'bench', 'Bench', 'active', \
             '00000000-0000-7000-8000-000000000001', '{{}}', '{at}', '{at}')"
        ),
        format!(
            "INSERT INTO rental_contracts (id, tenant_id, order_id, order_line_id, plan_id, \
             variant_id, unit_id, customer_id, status, terms, cash_price, currency, deposit, \
             deposit_held, term, time_zone, start_date, created_at, updated_at) \
             SELECT ('00000000-0000-7000-8000-' || lpad(k::text, 12, '0'))::uuid, '{TENANT}', \
             ('00000001-0000-7000-8000-' || lpad(k::text, 12, '0'))::uuid, \
             ('00000002-0000-7000-8000-' || lpad(k::text, 12, '0'))::uuid, \
             '00000003-0000-7000-8000-000000000001', '00000004-0000-7000-8000-000000000001', \
             NULL, NULL, 'active', '{TERMS}', 60000, 'USD', 0, 0, 12, 'UTC', \
             DATE '2027-01-01' + (k % 28), '{at}', '{at}' FROM generate_series(1, {n}) k"
        ),
        format!(
            "INSERT INTO rental_installments (id, tenant_id, contract_id, seq, due_date, amount, \
             paid_at) SELECT ('00000005-' || lpad(q::text, 4, '0') || '-7000-8000-' || \
             right(c.id::text, 12))::uuid, '{TENANT}', c.id, q, \
             (c.start_date + (q - 1) * interval '1 month')::date, 6000, \
             CASE WHEN q = 1 THEN TIMESTAMPTZ '{at}' END \
             FROM rental_contracts c, generate_series(1, 12) q"
        ),
        "ANALYZE".into(),
    ]
}

async fn seed(db: &str, n: i64) {
    use sqlx::Connection;
    if db.starts_with("sqlite:") {
        let mut c = sqlx::SqliteConnection::connect(db).await.expect("sqlite");
        for s in sqlite_seed(n) {
            sqlx::query(&s).execute(&mut c).await.expect("seed");
        }
        sqlx::query("ANALYZE")
            .execute(&mut c)
            .await
            .expect("analyze");
    } else {
        let mut c = sqlx::PgConnection::connect(db).await.expect("postgres");
        for s in pg_seed(n) {
            sqlx::query(&s).execute(&mut c).await.expect("seed");
        }
    }
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let config = PoolConfig {
        max_connections: 4,
        ..PoolConfig::default()
    };
    let store: Arc<dyn Store> = if args.db.starts_with("sqlite:") {
        Arc::new(
            storekeep_store_sqlite::SqliteStore::connect(&args.db, config)
                .await
                .expect("sqlite"),
        )
    } else {
        Arc::new(
            storekeep_store_postgres::PgStore::connect(&args.db, config)
                .await
                .expect("postgres"),
        )
    };
    store.migrate().await.expect("migrations");
    let t = Instant::now();
    seed(&args.db, args.contracts).await;
    let seeded = t.elapsed().as_secs_f64();
    let backend = if args.db.starts_with("sqlite:") {
        "sqlite"
    } else {
        "postgres"
    };
    let pass = DailyPass {
        at: storekeep_store::now(),
        date: NaiveDate::from_ymd_opt(2027, 2, 20),
    };
    for run in ["first", "again"] {
        let t = Instant::now();
        let out = run_daily(store.as_ref(), &pass).await.expect("the pass");
        let secs = t.elapsed().as_secs_f64();
        println!(
            "{}",
            json!({
                "db": backend, "pass": run, "seed_secs": (seeded * 10.0).round() / 10.0,
                "secs": (secs * 100.0).round() / 100.0, "did": out,
            })
        );
    }
}
