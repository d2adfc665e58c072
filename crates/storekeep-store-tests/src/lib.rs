//! The harness of the store contract suite (`tests/contract`): a fresh,
//! migrated store per test, on the database the suite runs against.
//!
//! The backend is chosen as in the rest of the suite: a SQLite file in a
//! temporary folder by default, a fresh database on the PostgreSQL server
//! that `STOREKEEP_TEST_DATABASE_URL` names otherwise (`scripts/test` runs
//! the workspace once each way). Tests see only `Arc<dyn Store>`, so every
//! test is written once and holds for both backends.

use std::sync::Arc;

use sqlx::Connection;
use sqlx::postgres::PgConnection;
use storekeep_store::{PoolConfig, Store};
use storekeep_store_postgres::PgStore;
use storekeep_store_sqlite::SqliteStore;

/// Connections per pool: the app's default `database.max_connections`, so
/// races run against the pool a default deployment has.
pub const POOL_SIZE: u32 = 10;

/// The pool a default deployment has, with a patient acquire timeout: the
/// races queue dozens of callers on a shared, noisy machine, and a wait
/// there is not the outage `Unavailable` reports.
fn pool() -> PoolConfig {
    PoolConfig {
        max_connections: POOL_SIZE,
        acquire_timeout: std::time::Duration::from_secs(30),
        ..PoolConfig::default()
    }
}

/// A migrated store only this test uses. A SQLite file lives as long as
/// this value; a PostgreSQL database lives on the throwaway server.
pub struct TestStore {
    pub store: Arc<dyn Store>,
    /// The database's URL, for the few tests that set up a state no store
    /// operation makes (rows as an older version left them).
    pub url: String,
    _dir: tempfile::TempDir,
}

impl TestStore {
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().expect("creating a temporary folder");
        let (store, url): (Arc<dyn Store>, String) = match admin_url() {
            Some(admin) => {
                let url = create_pg_database(&admin).await;
                let store = PgStore::connect(&url, pool())
                    .await
                    .expect("connecting to the test database");
                (Arc::new(store), url)
            }
            None => {
                let url = format!("sqlite://{}", dir.path().join("storekeep.db").display());
                let store = SqliteStore::connect(&url, pool())
                    .await
                    .expect("opening the test database");
                (Arc::new(store), url)
            }
        };
        store.migrate().await.expect("migrating the test database");
        Self {
            store,
            url,
            _dir: dir,
        }
    }

    /// The same database, with fresh statistics (`ANALYZE`, as autovacuum
    /// keeps them), through a store whose sessions plan every prepared
    /// statement generically (`plan_cache_mode = force_generic_plan`), as
    /// PostgreSQL may from a statement's sixth run on a connection: what a
    /// long-lived node's connections run, and a fresh test's do not. On
    /// SQLite, which has no such plans, the store itself.
    pub async fn generic_plans(&self) -> Arc<dyn Store> {
        if !on_postgres() {
            return self.store.clone();
        }
        let mut conn = PgConnection::connect(&self.url).await.unwrap();
        sqlx::query("ANALYZE").execute(&mut conn).await.unwrap();
        let sep = if self.url.contains('?') { '&' } else { '?' };
        let url = format!(
            "{}{sep}options[plan_cache_mode]=force_generic_plan",
            self.url
        );
        Arc::new(
            PgStore::connect(&url, pool())
                .await
                .expect("connecting to the test database"),
        )
    }

    /// Makes the image's row look as one written before image variants
    /// existed (the migration's default: no list at all).
    pub async fn forget_variants(&self, image: impl std::fmt::Display) {
        let sql = format!(
            "UPDATE product_images SET variants = '', variants_bytes = 0 WHERE id = '{image}'"
        );
        if on_postgres() {
            let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&self.url)
                .await
                .unwrap();
            sqlx::query(&sql).execute(&mut conn).await.unwrap();
        } else {
            let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&self.url)
                .await
                .unwrap();
            sqlx::query(&sql).execute(&mut conn).await.unwrap();
        }
    }
}

/// Is the suite running against PostgreSQL?
pub fn on_postgres() -> bool {
    admin_url().is_some()
}

fn admin_url() -> Option<String> {
    std::env::var("STOREKEEP_TEST_DATABASE_URL")
        .ok()
        .filter(|v| !v.is_empty())
}

/// Creates `sk_contract_<random>` on the server `admin` points at and
/// returns its URL. `admin` is `postgres://user@host:port/dbname`.
async fn create_pg_database(admin: &str) -> String {
    let name = format!("sk_contract_{}", uuid::Uuid::now_v7().simple());
    let mut conn = PgConnection::connect(admin)
        .await
        .expect("connecting to STOREKEEP_TEST_DATABASE_URL");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("creating a test database");
    let _ = conn.close().await;
    let base = admin
        .rsplit_once('/')
        .map(|(base, _)| base)
        .expect("the admin URL names a database");
    format!("{base}/{name}")
}
