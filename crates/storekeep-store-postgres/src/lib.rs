//! PostgreSQL implementation of the storekeep `Store`.
//!
//! Migrations take PostgreSQL's advisory lock (sqlx does this), so several
//! nodes starting at once apply each migration exactly once.

mod audit;
mod backend;
mod catalog;
mod commerce;
mod error;
mod health;
mod jobs;
// i16: customers' rights (erasure).
pub mod maintenance;
mod pooler;
pub mod portable;
mod privacy;
mod replica;
mod run;
mod tenants;
mod users;

use std::str::FromStr;

use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use storekeep_store::{DatabaseKind, MigrationStatus, PoolConfig, PoolStats, StoreResult};

/// The names the twin modules share, so their code reads alike on both
/// databases.
pub(crate) type Pool = PgPool;
pub(crate) type Conn = sqlx::PgConnection;
pub(crate) type Store = PgStore;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!();

/// A `Store` on a PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    max_connections: u32,
    health: std::sync::Arc<health::HealthCheck>,
    /// The read replica (`database.replica_url`), if any.
    replica: Option<std::sync::Arc<replica::Replica>>,
    /// The node's checkout batches (`commerce/batch.rs`).
    checkouts: commerce::batch::Checkouts,
    /// The node's reads before a checkout (`commerce/to_price_reads.rs`).
    cart_reads: commerce::to_price_reads::ToPriceReads,
}

/// A streaming replica for the catalog reads that may be stale.
#[derive(Debug, Clone, Copy)]
pub struct ReplicaConfig<'a> {
    /// `postgres://…` of the replica.
    pub url: &'a str,
    /// Past this lag, reads go to the primary.
    pub max_lag: std::time::Duration,
}

impl PgStore {
    /// Connects a pool to `url` (`postgres://…`). Fails fast if the server
    /// cannot be reached.
    pub async fn connect(url: &str, config: PoolConfig) -> StoreResult<Self> {
        Self::connect_with_replica(url, config, None).await
    }

    /// As [`connect`](Self::connect), with a read replica: its pool (the
    /// same size and timeouts as the primary's) connects lazily, so the
    /// node starts whether or not the replica answers, and a monitor task
    /// measures its lag (see `replica.rs`).
    pub async fn connect_with_replica(
        url: &str,
        config: PoolConfig,
        replica: Option<ReplicaConfig<'_>>,
    ) -> StoreResult<Self> {
        let options = PgConnectOptions::from_str(url)
            .map_err(error::other)?
            .application_name("storekeep");
        let pool = pool_options(config)
            .connect_with(options.clone())
            .await
            .map_err(error::other)?;
        // Before anything runs on the pool: a pooler that loses prepared
        // statements is refused here, not found out by a failed request.
        pooler::check(&options).await?;
        let replica = replica
            .map(|r| replica::Replica::start(r.url, r.max_lag, config, options.clone()))
            .transpose()?;
        let checkouts = commerce::batch::Checkouts::start(pool.clone());
        let cart_reads = commerce::to_price_reads::ToPriceReads::start(
            pool.clone(),
            config,
            checkouts.counters.clone(),
        );
        Ok(Self {
            checkouts,
            cart_reads,
            pool,
            max_connections: config.max_connections,
            health: std::sync::Arc::new(health::check(&options, config.acquire_timeout)),
            replica,
        })
    }
}

/// A pooled connection idle this long is pinged before it is handed out.
const PING_IF_IDLE_FOR: std::time::Duration = std::time::Duration::from_secs(1);

/// A pool of `config`'s size and acquire timeout whose connections each
/// set `config`'s statement timeout as they open: after connecting rather
/// than as a startup parameter, which PgBouncer refuses ("unsupported
/// startup parameter"). The primary's pool and the replica's.
pub(crate) fn pool_options(config: PoolConfig) -> PgPoolOptions {
    let set_timeout = config
        .statement_timeout
        .map(|t| format!("SET statement_timeout = {}", t.as_millis()));
    PgPoolOptions::new()
        .max_connections(config.max_connections)
        .acquire_timeout(config.acquire_timeout)
        // sqlx pings every connection on its way back to the pool (a round
        // trip, dropping it if broken) and, by default, again on its way
        // out: two round trips per acquisition on top of the statements, a
        // checkout's pre-transaction reads alone make ten. The ping on the
        // way out is kept only for a connection that sat idle long enough
        // to have been cut meanwhile (a database restart, a NAT timeout);
        // one handed back a moment ago was just pinged on release.
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for < PING_IF_IDLE_FOR {
                    return Ok(true);
                }
                sqlx::Connection::ping(conn).await?;
                Ok(true)
            })
        })
        .after_connect(move |conn, _| {
            let set_timeout = set_timeout.clone();
            Box::pin(async move {
                if let Some(sql) = set_timeout {
                    sqlx::Executor::execute(conn, sql.as_str()).await?;
                }
                Ok(())
            })
        })
}

impl storekeep_store_sql::read_route::ReadRouting for PgStore {
    type Pool = PgPool;

    fn primary(&self) -> &PgPool {
        &self.pool
    }

    fn replica_for_read(&self) -> Option<&PgPool> {
        let replica = self.replica.as_ref()?;
        if !storekeep_store::replica::stale_reads_allowed() {
            return None;
        }
        let staleness = replica.staleness_now()?;
        storekeep_store::replica::note_replica_read(staleness);
        Some(&replica.pool)
    }

    fn read_served(&self, target: storekeep_store::replica::ReadTarget) {
        if let Some(replica) = &self.replica {
            replica.count(target);
        }
    }

    fn replica_failed(&self, e: &storekeep_store::StoreError) {
        if let Some(replica) = &self.replica {
            replica.failed(e);
        }
    }
}

// The job queue, written once over this backend's `Backend` impl.
storekeep_store_sql::impl_job_store!(PgStore, crate::backend::PgBackend);

// The methods of plans, tenants, accounts, sessions and credentials call
// the shared generic functions with this backend's `Backend` impl; the
// audit log calls this crate's twin module.
storekeep_store_sql::impl_store!(PgStore, crate, crate::backend::PgBackend {
    fn kind(&self) -> DatabaseKind {
        DatabaseKind::Postgres
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
        let exists: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
            .fetch_one(&self.pool)
            .await
            .map_err(crate::error::other)?;
        let applied: Vec<i64> = if exists {
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

    fn replica_status(&self) -> Option<storekeep_store::replica::ReplicaStatus> {
        self.replica.as_ref().map(|r| r.status())
    }

    fn checkout_batches(&self) -> Option<&storekeep_store::BatchCounters> {
        Some(&self.checkouts.counters)
    }

    async fn close(&self) {
        if let Some(replica) = &self.replica {
            replica.close().await;
        }
        self.health.close().await;
        self.pool.close().await;
    }
});

/// A write transaction (READ COMMITTED; rows are locked where read-then-write needs it).
pub(crate) async fn write_tx(
    pool: &PgPool,
) -> StoreResult<sqlx::Transaction<'static, sqlx::Postgres>> {
    pool.begin().await.map_err(crate::error::other)
}

/// A read-only transaction at REPEATABLE READ: every statement reads the
/// snapshot of its first.
pub(crate) async fn snapshot_tx(
    pool: &PgPool,
) -> StoreResult<sqlx::Transaction<'static, sqlx::Postgres>> {
    pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await
        .map_err(crate::error::other)
}

storekeep_store_sql::impl_webhook_store!(PgStore, crate::backend::PgBackend);
storekeep_store_sql::impl_sealed_store!(PgStore, crate::backend::PgBackend);
storekeep_store_sql::impl_rental_store!(PgStore, crate::backend::PgBackend);
// Rental contracts (contracts part).
storekeep_store_sql::impl_contract_store!(PgStore, crate::backend::PgBackend);
