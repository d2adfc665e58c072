//! What health checks and metrics read about the database: plain
//! pass-throughs to the store, so the HTTP layer never holds it.

use std::time::Duration;

use storekeep_store::{DatabaseKind, MigrationStatus, PoolStats, StoreResult};

use crate::services::Services;

/// One round trip on the store's own health connection.
pub async fn ping(svc: &Services) -> StoreResult<()> {
    svc.store.ping().await
}

pub async fn migration_status(svc: &Services) -> StoreResult<MigrationStatus> {
    svc.store.migration_status().await
}

pub fn pool_stats(svc: &Services) -> PoolStats {
    svc.store.pool_stats()
}

/// The read replica's state; `None` without one.
pub fn replica_status(svc: &Services) -> Option<storekeep_store::replica::ReplicaStatus> {
    svc.store.replica_status()
}

/// Is a read replica configured?
pub fn has_replica(svc: &Services) -> bool {
    svc.settings.database_replica_url.is_some() && svc.store.replica_status().is_some()
}

pub fn database_kind(svc: &Services) -> DatabaseKind {
    svc.store.kind()
}

/// One `PING` on the read cache's Redis connection; `None` without Redis.
pub async fn cache_ping(svc: &Services, bound: Duration) -> Option<Result<(), String>> {
    svc.cache.ping(bound).await
}

/// One metadata request to the image store, within `bound`.
pub async fn media_check(svc: &Services, bound: Duration) -> Result<(), String> {
    svc.media.check(bound).await
}

/// The job runner's latest per-queue figures on this node, if it runs.
pub fn job_stats(svc: &Services) -> Option<Vec<storekeep_domain::QueueStats>> {
    svc.jobs.stats()
}
