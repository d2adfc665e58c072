//! A fresh, empty database per test.

use sqlx::Connection;
use sqlx::postgres::PgConnection;

/// A database only this test uses. SQLite files live in a temporary folder
/// removed on drop; PostgreSQL databases live on the throwaway server that
/// `scripts/test` starts and removes.
pub struct TestDb {
    pub url: String,
    pub dir: tempfile::TempDir,
}

impl TestDb {
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().expect("creating a temporary folder");
        let url = match std::env::var("STOREKEEP_TEST_DATABASE_URL") {
            Ok(admin) if !admin.is_empty() => create_pg_database(&admin).await,
            _ => format!("sqlite://{}", dir.path().join("storekeep.db").display()),
        };
        Self { url, dir }
    }

    /// The database at `url` (a server of the test's own, such as a
    /// [`crate::PgServer`]), with a fresh data folder.
    pub fn at(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            dir: tempfile::tempdir().expect("creating a temporary folder"),
        }
    }

    pub fn is_sqlite(&self) -> bool {
        self.url.starts_with("sqlite:")
    }
}

/// Creates `sk_test_<random>` on the server `admin` points at and returns
/// its URL. `admin` is `postgres://user@host:port/dbname` with no query.
async fn create_pg_database(admin: &str) -> String {
    let name = format!("sk_test_{}", uuid::Uuid::new_v4().simple());
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
