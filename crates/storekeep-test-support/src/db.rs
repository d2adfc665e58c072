//! A fresh, empty database per test.

use sqlx::Connection;
use sqlx::postgres::PgConnection;

/// A database only this test uses. SQLite files live in a temporary folder
/// removed on drop; PostgreSQL databases live on the throwaway server that
/// `scripts/test` starts and removes.
pub struct TestDb {
    pub url: String,
    pub dir: tempfile::TempDir,
    /// When the suite runs behind a connection pooler
    /// (`STOREKEEP_TEST_DIRECT_DATABASE_URL` names PostgreSQL itself while
    /// `STOREKEEP_TEST_DATABASE_URL` names PgBouncer in front of it): this
    /// database on PostgreSQL itself, for `database.direct_url`.
    pub direct_url: Option<String>,
}

impl TestDb {
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().expect("creating a temporary folder");
        let url = match std::env::var("STOREKEEP_TEST_DATABASE_URL") {
            Ok(admin) if !admin.is_empty() => create_pg_database(&admin).await,
            _ => format!("sqlite://{}", dir.path().join("storekeep.db").display()),
        };
        let direct_url = match std::env::var("STOREKEEP_TEST_DIRECT_DATABASE_URL") {
            Ok(direct) if !direct.is_empty() && !url.starts_with("sqlite:") => {
                let name = url
                    .rsplit_once('/')
                    .map(|(_, n)| n)
                    .expect("a database name");
                let base = direct
                    .rsplit_once('/')
                    .map(|(b, _)| b)
                    .expect("a database name");
                Some(format!("{base}/{name}"))
            }
            _ => None,
        };
        Self {
            url,
            dir,
            direct_url,
        }
    }

    /// The database at `url` (a server of the test's own, such as a
    /// [`crate::PgServer`]), with a fresh data folder.
    pub fn at(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            dir: tempfile::tempdir().expect("creating a temporary folder"),
            direct_url: None,
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
