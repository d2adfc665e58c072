//! [`HealthCheck`]: the health-check connection, one connection of the
//! store's own, outside the pool, so a readiness probe never waits behind
//! requests that hold every pooled connection, and a database that
//! stopped answering is reported within the bound.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use sqlx::Connection;
use storekeep_store::rules::platform::unanswered;
use storekeep_store::{StoreError, StoreResult};
use tokio::sync::Mutex;

/// One round trip to the database on `conn` (each backend's own query).
pub type Probe<C> =
    for<'c> fn(&'c mut C) -> Pin<Box<dyn Future<Output = Result<(), sqlx::Error>> + Send + 'c>>;

pub struct HealthCheck<C: Connection> {
    options: C::Options,
    bound: Duration,
    probe: Probe<C>,
    classify: fn(sqlx::Error) -> StoreError,
    conn: Mutex<Option<C>>,
}

impl<C: Connection> std::fmt::Debug for HealthCheck<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HealthCheck")
            .field("bound", &self.bound)
            .finish_non_exhaustive()
    }
}

impl<C: Connection> HealthCheck<C> {
    /// Checks with `probe` on a connection made with `options`, within
    /// `bound`; a failure is classified by `classify` (the backend's).
    pub fn new(
        options: C::Options,
        bound: Duration,
        probe: Probe<C>,
        classify: fn(sqlx::Error) -> StoreError,
    ) -> Self {
        Self {
            options,
            bound,
            probe,
            classify,
            conn: Mutex::new(None),
        }
    }

    /// Runs the probe, (re)connecting first if needed; `Unavailable` if
    /// that fails or takes longer than the bound.
    pub async fn ping(&self) -> StoreResult<()> {
        match tokio::time::timeout(self.bound, self.round_trip()).await {
            Ok(result) => result,
            Err(_) => Err(unanswered(self.bound)),
        }
    }

    /// Closes the connection, if open (at shutdown, with the pool).
    pub async fn close(&self) {
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
            None => C::connect_with(&self.options)
                .await
                .map_err(self.classify)?,
        };
        (self.probe)(&mut conn).await.map_err(self.classify)?;
        *slot = Some(conn);
        Ok(())
    }
}
