//! The `Store` trait: every read and write of persistent state is one
//! business operation here, implemented once per database
//! (`storekeep-store-sqlite`, `storekeep-store-postgres`).
//!
//! Business code holds an `Arc<dyn Store>` and never learns which database
//! it runs on. Tenant-owned operations take a `TenantId` and filter by it:
//! another tenant's row is `NotFound`, never visible.

use async_trait::async_trait;
use storekeep_domain::{
    DomainName, NewPlan, NewTenant, Page, PageRequest, Plan, PlanName, Slug, Tenant, TenantPatch,
};

/// Which database a store runs on; reported by health and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseKind {
    Sqlite,
    Postgres,
}

impl DatabaseKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// What went wrong in a store operation, in terms the layers above act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row does not exist (or belongs to another tenant).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A uniqueness rule was broken; `field` names the input that collided.
    #[error("{field} is already taken")]
    Conflict { field: &'static str },
    /// A referenced row does not exist (for example an unknown plan name).
    #[error("{field} refers to something that does not exist")]
    UnknownReference { field: &'static str },
    /// The pagination cursor was not one this server issued.
    #[error("the pagination cursor is not valid")]
    InvalidCursor,
    /// The database could not be reached or failed; never shown to clients.
    #[error("database error: {0}")]
    Other(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    pub fn other(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Other(Box::new(e))
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Cursors are the id of the last item seen; anything else is refused the
/// same way on every backend.
pub fn parse_cursor(page: &storekeep_domain::PageRequest) -> StoreResult<Option<uuid::Uuid>> {
    page.after
        .as_deref()
        .map(|a| uuid::Uuid::parse_str(a).map_err(|_| StoreError::InvalidCursor))
        .transpose()
}

/// Connection pool occupancy, exported as metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    pub size: u32,
    pub idle: u32,
    pub max: u32,
}

/// State of the embedded migrations in the connected database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationStatus {
    /// Versions embedded in this binary.
    pub known: usize,
    /// Embedded versions successfully applied to the database.
    pub applied: usize,
    /// Versions in the database this binary does not know (a newer binary ran).
    pub unknown_applied: usize,
}

impl MigrationStatus {
    /// Compares the versions embedded in the binary with those the database
    /// records as applied.
    pub fn from_versions(known: &[i64], applied: &[i64]) -> Self {
        Self {
            known: known.len(),
            applied: applied.iter().filter(|v| known.contains(v)).count(),
            unknown_applied: applied.iter().filter(|v| !known.contains(v)).count(),
        }
    }

    pub fn is_current(&self) -> bool {
        self.applied == self.known
    }
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    fn kind(&self) -> DatabaseKind;

    /// One round trip to the database.
    async fn ping(&self) -> StoreResult<()>;

    /// Applies pending migrations. Safe when several nodes start at once:
    /// each backend serialises migrators with a database lock.
    async fn migrate(&self) -> StoreResult<()>;

    async fn migration_status(&self) -> StoreResult<MigrationStatus>;

    fn pool_stats(&self) -> PoolStats;

    /// Closes the pool, waiting for connections in use to be returned.
    async fn close(&self);

    // --- plans (platform-level, not tenant-owned)

    async fn create_plan(&self, plan: &NewPlan) -> StoreResult<Plan>;
    async fn list_plans(&self, page: &PageRequest) -> StoreResult<Page<Plan>>;
    async fn plan_by_name(&self, name: &PlanName) -> StoreResult<Plan>;

    // --- tenants (platform-level)

    /// Creates the tenant with its domains in one transaction.
    async fn create_tenant(&self, tenant: &NewTenant) -> StoreResult<Tenant>;
    async fn list_tenants(&self, page: &PageRequest) -> StoreResult<Page<Tenant>>;
    async fn tenant_by_slug(&self, slug: &Slug) -> StoreResult<Tenant>;
    async fn tenant_by_domain(&self, domain: &DomainName) -> StoreResult<Tenant>;
    /// Applies the patch in one transaction and returns the new state.
    async fn update_tenant(&self, slug: &Slug, patch: &TenantPatch) -> StoreResult<Tenant>;
}

/// The current time at the precision both databases keep (microseconds),
/// so a value written and read back compares equal.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::SubsecRound;
    chrono::Utc::now().trunc_subsecs(6)
}
