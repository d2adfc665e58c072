//! The health-check connection: one connection of the store's own, outside
//! the pool, so a readiness probe never waits behind requests that hold
//! every pooled connection, and a database that stopped answering is
//! reported within the bound.

use std::time::Duration;

use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};
use storekeep_store::StoreResult;
use storekeep_store::rules::platform::unanswered;
use tokio::sync::Mutex;

use crate::error;

pub(crate) struct HealthCheck {
    options: PgConnectOptions,
    bound: Duration,
    conn: Mutex<Option<PgConnection>>,
}

impl std::fmt::Debug for HealthCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HealthCheck")
            .field("bound", &self.bound)
            .finish_non_exhaustive()
    }
}

impl HealthCheck {
    /// `options` are the pool's, so the check reaches the same server as
    /// the same user (one connection more than the pool's maximum).
    pub(crate) fn new(options: &PgConnectOptions, bound: Duration) -> Self {
        Self {
            options: options.clone(),
            bound,
            conn: Mutex::new(None),
        }
    }

    /// One query, (re)connecting first if needed;
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
            None => PgConnection::connect_with(&self.options)
                .await
                .map_err(error::other)?,
        };
        sqlx::query("SELECT 1")
            .fetch_one(&mut conn)
            .await
            .map_err(error::other)?;
        *slot = Some(conn);
        Ok(())
    }
}
