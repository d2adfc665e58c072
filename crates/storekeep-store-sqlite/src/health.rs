//! The health check on SQLite: the schema read from the file, on a
//! connection of its own (see `storekeep_store_sql::HealthCheck`).

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use sqlx::SqliteConnection;
use sqlx::sqlite::SqliteConnectOptions;

use crate::error;

pub(crate) type HealthCheck = storekeep_store_sql::HealthCheck<SqliteConnection>;

/// `options` are the pool's; the health connection never creates the
/// file and does no work on close.
pub(crate) fn check(options: &SqliteConnectOptions, bound: Duration) -> HealthCheck {
    let options = options
        .clone()
        .create_if_missing(false)
        .optimize_on_close(false, None);
    HealthCheck::new(options, bound, probe, error::classify)
}

/// Reads the schema from the file.
fn probe(
    conn: &mut SqliteConnection,
) -> Pin<Box<dyn Future<Output = Result<(), sqlx::Error>> + Send + '_>> {
    Box::pin(async move {
        sqlx::query("SELECT count(*) FROM sqlite_master")
            .fetch_one(conn)
            .await
            .map(drop)
    })
}
