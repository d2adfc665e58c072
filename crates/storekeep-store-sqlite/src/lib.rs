//! Embedded SQLite implementation of the storekeep `Store`.
//!
//! Durability first: WAL journal, `synchronous=FULL` (every commit is
//! fsynced), foreign keys enforced, freed space zeroed (`secure_delete`),
//! and a busy timeout so concurrent writers wait for the lock instead of
//! failing.

mod audit;
mod backend;
mod catalog;
mod commerce;
mod error;
mod group_commit;
mod health;
// i16: customers' rights (erasure).
pub mod maintenance;
pub mod portable;
mod privacy;
mod run;
mod tenants;
mod users;

use std::str::FromStr;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use storekeep_store::{DatabaseKind, MigrationStatus, PoolConfig, PoolStats, StoreResult};

/// The names the twin modules share, so their code reads alike on both
/// databases.
pub(crate) type Pool = SqlitePool;
pub(crate) type Conn = sqlx::SqliteConnection;
pub(crate) type Store = SqliteStore;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!();

/// A `Store` on one SQLite database file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    max_connections: u32,
    /// Queue of the group-commit worker that runs every checkout.
    checkouts: group_commit::Checkouts,
    health: std::sync::Arc<health::HealthCheck>,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` (`sqlite://path`).
    pub async fn connect(url: &str, config: PoolConfig) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(error::other)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            // What a write frees (an erased customer's old ciphertexts, a
            // deleted row) is zeroed, not left readable: free space inside
            // pages and whole pages put on the freelist, which b-tree
            // rebalancing fills with stale copies of other rows. `FAST`
            // would skip the freelist pages; `ON` pays a write for each.
            .pragma("secure_delete", "ON")
            // Lock contention, not an outage: writers queue for the lock
            // longer than requests wait for a connection.
            .busy_timeout(Duration::from_secs(10))
            // Keeps the planner's statistics fresh (bounded work per close).
            .optimize_on_close(true, 400);
        let pool = SqlitePoolOptions::new()
            .max_connections(config.max_connections)
            .acquire_timeout(config.acquire_timeout)
            .connect_with(options.clone())
            .await
            .map_err(error::other)?;
        let checkouts = group_commit::start(pool.clone());
        Ok(Self {
            pool,
            max_connections: config.max_connections,
            checkouts,
            health: std::sync::Arc::new(health::check(&options, config.acquire_timeout)),
        })
    }
}

/// SQLite has no replica: every catalog read runs on the database file.
impl storekeep_store_sql::read_route::ReadRouting for SqliteStore {
    type Pool = SqlitePool;

    fn primary(&self) -> &SqlitePool {
        &self.pool
    }

    fn replica_for_read(&self) -> Option<&SqlitePool> {
        None
    }

    fn read_served(&self, _target: storekeep_store_sql::read_route::ReadTarget) {}

    fn replica_failed(&self, _e: &storekeep_store::StoreError) {}
}

// The job queue, written once over this backend's `Backend` impl.
storekeep_store_sql::impl_job_store!(SqliteStore, crate::backend::SqliteBackend);

// The methods of plans, tenants, accounts, sessions and credentials call
// the shared generic functions with this backend's `Backend` impl; the
// audit log calls this crate's twin module.
storekeep_store_sql::impl_store!(SqliteStore, crate, crate::backend::SqliteBackend {
    fn kind(&self) -> DatabaseKind {
        DatabaseKind::Sqlite
    }

    async fn ping(&self) -> StoreResult<()> {
        if self.pool.is_closed() {
            return Err(storekeep_store::StoreError::unavailable(
                storekeep_store::rules::platform::STORE_CLOSED,
            ));
        }
        self.health.ping().await
    }

    async fn migrate(&self) -> StoreResult<()> {
        MIGRATOR.run(&self.pool).await.map_err(crate::error::other)
    }

    async fn migration_status(&self) -> StoreResult<MigrationStatus> {
        let table: Option<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(crate::error::other)?;
        let applied: Vec<i64> = if table.is_some() {
            sqlx::query_scalar(storekeep_store_sql::platform::APPLIED_MIGRATIONS)
                .fetch_all(&self.pool)
                .await
                .map_err(crate::error::other)?
        } else {
            Vec::new()
        };
        let known = storekeep_store_sql::platform::known_migrations(&MIGRATOR);
        Ok(MigrationStatus::from_versions(&known, &applied))
    }

    fn pool_stats(&self) -> PoolStats {
        PoolStats {
            size: self.pool.size(),
            idle: u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX),
            max: self.max_connections,
        }
    }

    fn checkout_batches(&self) -> Option<&storekeep_store::BatchCounters> {
        Some(&self.checkouts.counters)
    }

    async fn close(&self) {
        self.health.close().await;
        self.pool.close().await;
    }
});

/// A write transaction. `BEGIN IMMEDIATE` takes SQLite's write lock up
/// front, so what the transaction reads stays true until it commits, and
/// concurrent writers queue on the busy timeout instead of failing.
pub(crate) async fn write_tx(
    pool: &SqlitePool,
) -> StoreResult<sqlx::Transaction<'static, sqlx::Sqlite>> {
    pool.begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(crate::error::other)
}

/// A read transaction: a deferred `BEGIN` takes no lock, and its first read
/// fixes the snapshot every later statement reads (WAL).
pub(crate) async fn snapshot_tx(
    pool: &SqlitePool,
) -> StoreResult<sqlx::Transaction<'static, sqlx::Sqlite>> {
    pool.begin_with("BEGIN").await.map_err(crate::error::other)
}

storekeep_store_sql::impl_webhook_store!(SqliteStore, crate::backend::SqliteBackend);
storekeep_store_sql::impl_sealed_store!(SqliteStore, crate::backend::SqliteBackend);
storekeep_store_sql::impl_rental_store!(SqliteStore, crate::backend::SqliteBackend);
// Rental contracts (contracts part).
storekeep_store_sql::impl_contract_store!(SqliteStore, crate::backend::SqliteBackend);
