//! The health check on PostgreSQL: one query, on a connection of its own
//! (see `storekeep_store_sql::HealthCheck`).

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use sqlx::PgConnection;
use sqlx::postgres::PgConnectOptions;

use crate::error;

pub(crate) type HealthCheck = storekeep_store_sql::HealthCheck<PgConnection>;

/// `options` are the pool's, so the check reaches the same server as the
/// same user (one connection more than the pool's maximum).
pub(crate) fn check(options: &PgConnectOptions, bound: Duration) -> HealthCheck {
    HealthCheck::new(options.clone(), bound, probe, error::classify)
}

/// One round trip.
fn probe(
    conn: &mut PgConnection,
) -> Pin<Box<dyn Future<Output = Result<(), sqlx::Error>> + Send + '_>> {
    Box::pin(async move { sqlx::query("SELECT 1").fetch_one(conn).await.map(drop) })
}
