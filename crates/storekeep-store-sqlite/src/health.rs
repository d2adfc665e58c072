//! The health-check connection: one connection of the store's own, outside
//! the pool, so a readiness probe never waits behind requests that hold
//! every pooled connection, and a database that stopped answering is
//! reported within the bound.

use std::time::Duration;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, SqliteConnection};
use storekeep_store::StoreResult;
use storekeep_store::rules::platform::unanswered;
use tokio::sync::Mutex;

use crate::error;

pub(crate) struct HealthCheck {
    options: SqliteConnectOptions,
    bound: Duration,
    conn: Mutex<Option<SqliteConnection>>,
}

impl std::fmt::Debug for HealthCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HealthCheck")
            .field("bound", &self.bound)
            .finish_non_exhaustive()
    }
}

impl HealthCheck {
    /// `options` are the pool's; the health connection never creates the
    /// file and does no work on close.
    pub(crate) fn new(options: &SqliteConnectOptions, bound: Duration) -> Self {
        Self {
            options: options
                .clone()
                .create_if_missing(false)
                .optimize_on_close(false, None),
            bound,
            conn: Mutex::new(None),
        }
    }

    /// Reads the schema from the file, (re)connecting first if needed;
    /// `Unavailable` if that fails or takes longer than the bound.
    pub(crate) async fn ping(&self) -> StoreResult<()> {
        match tokio::time::timeout(self.bound, self.round_trip()).await {
            Ok(result) => result,
            Err(_) => Err(unanswered(self.bound)),
        }
    }

    /// Closes the connection, if open (at shutdown, with the pool).
    pub(crate) async fn close(&self) {
        if let Some(conn) = self.conn.lock().await.take() {
            let _ = conn.close().await;
        }
    }

    async fn round_trip(&self) -> StoreResult<()> {
        let mut slot = self.conn.lock().await;
        // Out of the slot while in use: a connection whose check failed or
        // was abandoned half-way is dropped, never used again.
        let mut conn = match slot.take() {
            Some(conn) => conn,
            None => SqliteConnection::connect_with(&self.options)
                .await
                .map_err(error::other)?,
        };
        sqlx::query("SELECT count(*) FROM sqlite_master")
            .fetch_one(&mut conn)
            .await
            .map_err(error::other)?;
        *slot = Some(conn);
        Ok(())
    }
}
