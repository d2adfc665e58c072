//! Embedded SQLite implementation of the storekeep `Store`.
//!
//! Durability first: WAL journal, `synchronous=FULL` (every commit is
//! fsynced), foreign keys enforced, and a busy timeout so concurrent writers
//! wait for the lock instead of failing.

mod error;
mod plans;
mod tenants;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use storekeep_domain::{
    DomainName, NewPlan, NewTenant, Page, PageRequest, Plan, PlanName, Slug, Tenant, TenantPatch,
};
use storekeep_store::{DatabaseKind, MigrationStatus, PoolStats, Store, StoreError, StoreResult};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// A `Store` on one SQLite database file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    max_connections: u32,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` (`sqlite://path`).
    pub async fn connect(url: &str, max_connections: u32) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(StoreError::other)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(StoreError::other)?;
        Ok(Self {
            pool,
            max_connections,
        })
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn kind(&self) -> DatabaseKind {
        DatabaseKind::Sqlite
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(StoreError::other)?;
        Ok(())
    }

    async fn migrate(&self) -> StoreResult<()> {
        MIGRATOR.run(&self.pool).await.map_err(StoreError::other)
    }

    async fn migration_status(&self) -> StoreResult<MigrationStatus> {
        let table: Option<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::other)?;
        let applied: Vec<i64> = if table.is_some() {
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
                .fetch_all(&self.pool)
                .await
                .map_err(StoreError::other)?
        } else {
            Vec::new()
        };
        Ok(MigrationStatus::from_versions(&known_versions(), &applied))
    }

    fn pool_stats(&self) -> PoolStats {
        PoolStats {
            size: self.pool.size(),
            idle: u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX),
            max: self.max_connections,
        }
    }

    async fn close(&self) {
        self.pool.close().await;
    }

    async fn create_plan(&self, plan: &NewPlan) -> StoreResult<Plan> {
        plans::create(&self.pool, plan).await
    }

    async fn list_plans(&self, page: &PageRequest) -> StoreResult<Page<Plan>> {
        plans::list(&self.pool, page).await
    }

    async fn plan_by_name(&self, name: &PlanName) -> StoreResult<Plan> {
        plans::by_name(&self.pool, name).await
    }

    async fn create_tenant(&self, tenant: &NewTenant) -> StoreResult<Tenant> {
        tenants::create(&self.pool, tenant).await
    }

    async fn list_tenants(&self, page: &PageRequest) -> StoreResult<Page<Tenant>> {
        tenants::list(&self.pool, page).await
    }

    async fn tenant_by_slug(&self, slug: &Slug) -> StoreResult<Tenant> {
        tenants::by_slug(&self.pool, slug).await
    }

    async fn tenant_by_domain(&self, domain: &DomainName) -> StoreResult<Tenant> {
        tenants::by_domain(&self.pool, domain).await
    }

    async fn update_tenant(&self, slug: &Slug, patch: &TenantPatch) -> StoreResult<Tenant> {
        tenants::update(&self.pool, slug, patch).await
    }
}

/// The lower bound for `WHERE id > ?`: the validated cursor, or the empty
/// string, which sorts before every id.
fn cursor(page: &PageRequest) -> StoreResult<String> {
    Ok(storekeep_store::parse_cursor(page)?
        .map(|u| u.to_string())
        .unwrap_or_default())
}

/// The up-migrations embedded in this binary.
fn known_versions() -> Vec<i64> {
    MIGRATOR
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
        .map(|m| m.version)
        .collect()
}
