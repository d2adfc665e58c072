//! PostgreSQL implementation of the storekeep `Store`.
//!
//! Migrations take PostgreSQL's advisory lock (sqlx does this), so several
//! nodes starting at once apply each migration exactly once.

mod error;
mod plans;
mod tenants;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use storekeep_domain::{
    DomainName, NewPlan, NewTenant, Page, PageRequest, Plan, PlanName, Slug, Tenant, TenantPatch,
};
use storekeep_store::{DatabaseKind, MigrationStatus, PoolStats, Store, StoreError, StoreResult};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// A `Store` on a PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    max_connections: u32,
}

impl PgStore {
    /// Connects a pool to `url` (`postgres://…`). Fails fast if the server
    /// cannot be reached.
    pub async fn connect(url: &str, max_connections: u32) -> StoreResult<Self> {
        let options = PgConnectOptions::from_str(url)
            .map_err(StoreError::other)?
            .application_name("storekeep");
        let pool = PgPoolOptions::new()
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
impl Store for PgStore {
    fn kind(&self) -> DatabaseKind {
        DatabaseKind::Postgres
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
        let exists: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
            .fetch_one(&self.pool)
            .await
            .map_err(StoreError::other)?;
        let applied: Vec<i64> = if exists {
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
                .fetch_all(&self.pool)
                .await
                .map_err(StoreError::other)?
        } else {
            Vec::new()
        };
        let known: Vec<i64> = MIGRATOR
            .iter()
            .filter(|m| !m.migration_type.is_down_migration())
            .map(|m| m.version)
            .collect();
        Ok(MigrationStatus::from_versions(&known, &applied))
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

/// The lower bound for `WHERE id > $n`: the validated cursor, or the nil
/// UUID, which sorts before every id.
fn cursor(page: &PageRequest) -> StoreResult<uuid::Uuid> {
    Ok(storekeep_store::parse_cursor(page)?.unwrap_or(uuid::Uuid::nil()))
}
