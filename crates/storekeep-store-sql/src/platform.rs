//! Plans, tenants and the audit log: their rows as both databases return
//! them, and the SQL both accept verbatim.

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use storekeep_domain::{
    AuditEntry, DomainName, NewTenant, Plan, PlanId, PlanLimits, PlanName, Slug, Tenant, TenantId,
    TenantSettings, TenantStatus,
};
use storekeep_store::rules::platform::{NEW_TENANT_STATUS, TenantFields};
use storekeep_store::{StoreError, StoreResult};

use crate::DbId;
use crate::stmt::Stmt;

/// A stored value that no longer parses (a row written by hand, or by a
/// version with other rules).
fn corrupt(what: &str, why: String) -> StoreError {
    StoreError::Other(format!("stored {what} is invalid: {why}").into())
}

/// The migrations applied so far (from sqlx's own table).
pub const APPLIED_MIGRATIONS: &str = "SELECT version FROM _sqlx_migrations WHERE success";

/// The up-migrations in `migrator`: those a database should have.
pub fn known_migrations(migrator: &sqlx::migrate::Migrator) -> Vec<i64> {
    migrator
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
        .map(|m| m.version)
        .collect()
}

/// The plan named `$1`.
macro_rules! plan_by_name {
    () => {
        "SELECT id, name, max_products, max_staff, storage_bytes, \
         api_requests_per_minute, auth_requests_per_minute, search_requests_per_minute, \
         admin_requests_per_minute, created_at FROM plans WHERE name = $1"
    };
}

pub const PLAN_BY_NAME: &str = plan_by_name!();

/// [`PLAN_BY_NAME`], locking the row (PostgreSQL).
pub const PLAN_BY_NAME_LOCKED: &str = concat!(plan_by_name!(), " FOR UPDATE");

/// The plans of a page: ids after `$1`, at most `$2`.
pub const PLAN_PAGE: &str = "SELECT id, name, max_products, max_staff, storage_bytes, \
     api_requests_per_minute, auth_requests_per_minute, search_requests_per_minute, \
     admin_requests_per_minute, created_at FROM plans WHERE id > $1 ORDER BY id LIMIT $2";

type PlanLimitValues = (i64, i64, i64, i64, i64, i64, i64);
type PlanValues<'a> = (
    DbId,
    &'a str,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    DateTime<Utc>,
);
type PlanLimitsUpdate = (i64, i64, i64, i64, i64, i64, i64, DbId);

fn limit_values(l: &PlanLimits) -> PlanLimitValues {
    (
        l.max_products,
        l.max_staff,
        l.storage_bytes,
        l.api_requests_per_minute,
        l.auth_requests_per_minute,
        l.search_requests_per_minute,
        l.admin_requests_per_minute,
    )
}

/// Stores a new plan.
pub fn insert_plan(p: &Plan) -> Stmt<PlanValues<'_>> {
    let l = limit_values(&p.limits);
    Stmt::new(
        "INSERT INTO plans (id, name, max_products, max_staff, storage_bytes, \
         api_requests_per_minute, auth_requests_per_minute, search_requests_per_minute, \
         admin_requests_per_minute, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        (
            DbId(p.id.0),
            p.name.as_str(),
            l.0,
            l.1,
            l.2,
            l.3,
            l.4,
            l.5,
            l.6,
            p.created_at,
        ),
    )
}

/// Stores a plan's limits.
pub fn update_plan_limits(p: &Plan) -> Stmt<PlanLimitsUpdate> {
    let l = limit_values(&p.limits);
    Stmt::new(
        "UPDATE plans SET max_products = $1, max_staff = $2, storage_bytes = $3, \
         api_requests_per_minute = $4, auth_requests_per_minute = $5, \
         search_requests_per_minute = $6, admin_requests_per_minute = $7 WHERE id = $8",
        (l.0, l.1, l.2, l.3, l.4, l.5, l.6, DbId(p.id.0)),
    )
}

#[derive(sqlx::FromRow)]
pub struct PlanRow {
    id: DbId,
    name: String,
    max_products: i64,
    max_staff: i64,
    storage_bytes: i64,
    api_requests_per_minute: i64,
    auth_requests_per_minute: i64,
    search_requests_per_minute: i64,
    admin_requests_per_minute: i64,
    created_at: DateTime<Utc>,
}

impl TryFrom<PlanRow> for Plan {
    type Error = StoreError;
    fn try_from(r: PlanRow) -> StoreResult<Self> {
        Ok(Plan {
            id: PlanId(r.id.0),
            name: PlanName::parse(&r.name).map_err(|m| corrupt("plan", m))?,
            limits: PlanLimits {
                max_products: r.max_products,
                max_staff: r.max_staff,
                storage_bytes: r.storage_bytes,
                api_requests_per_minute: r.api_requests_per_minute,
                auth_requests_per_minute: r.auth_requests_per_minute,
                search_requests_per_minute: r.search_requests_per_minute,
                admin_requests_per_minute: r.admin_requests_per_minute,
            },
            created_at: r.created_at,
        })
    }
}

/// A tenant with its plan's name and limits, and its domains folded into
/// one space-separated column (`group_concat` on SQLite, `string_agg` on
/// PostgreSQL: the only difference between the two selects).
#[derive(sqlx::FromRow)]
pub struct TenantRow {
    pub id: DbId,
    slug: String,
    name: String,
    status: String,
    plan: String,
    settings: Json<TenantSettings>,
    domains: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    max_products: i64,
    max_staff: i64,
    storage_bytes: i64,
    api_requests_per_minute: i64,
    auth_requests_per_minute: i64,
    search_requests_per_minute: i64,
    admin_requests_per_minute: i64,
}

impl TryFrom<TenantRow> for Tenant {
    type Error = StoreError;
    fn try_from(r: TenantRow) -> StoreResult<Self> {
        let bad = |m| corrupt("tenant", m);
        let mut domains = r
            .domains
            .as_deref()
            .unwrap_or("")
            .split_whitespace()
            .map(DomainName::parse)
            .collect::<Result<Vec<_>, _>>()
            .map_err(bad)?;
        domains.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        Ok(Tenant {
            id: TenantId(r.id.0),
            slug: Slug::parse(&r.slug).map_err(bad)?,
            name: r.name,
            status: TenantStatus::parse(&r.status).map_err(bad)?,
            plan: PlanName::parse(&r.plan).map_err(bad)?,
            domains,
            settings: r.settings.0,
            created_at: r.created_at,
            updated_at: r.updated_at,
            limits: PlanLimits {
                max_products: r.max_products,
                max_staff: r.max_staff,
                storage_bytes: r.storage_bytes,
                api_requests_per_minute: r.api_requests_per_minute,
                auth_requests_per_minute: r.auth_requests_per_minute,
                search_requests_per_minute: r.search_requests_per_minute,
                admin_requests_per_minute: r.admin_requests_per_minute,
            },
        })
    }
}

/// The tenant statement `WHERE` the literal clause holds: every tenant
/// statement selects the same shape, the tenant, its plan's name and
/// limits, and its domains folded by the literal `domains` (an aggregate
/// over `tenant_domains d`, which each database spells its own way) into
/// one space-separated column.
#[macro_export]
macro_rules! select_tenants {
    ($domains:literal, $clause:literal) => {
        concat!(
            "SELECT t.id, t.slug, t.name, t.status, p.name AS plan, t.settings, (SELECT ",
            $domains,
            " FROM tenant_domains d WHERE d.tenant_id = t.id) AS domains, \
             t.created_at, t.updated_at, p.max_products, p.max_staff, p.storage_bytes, \
             p.api_requests_per_minute, p.auth_requests_per_minute, \
             p.search_requests_per_minute, p.admin_requests_per_minute \
             FROM tenants t JOIN plans p ON p.id = t.plan_id WHERE ",
            $clause
        )
    };
}

/// The tenant statements of one dialect, as [`tenant_statements!`] makes
/// them from its domain aggregate.
#[derive(Debug, Clone, Copy)]
pub struct TenantStatements {
    /// The tenants of a page: ids after `$1`, at most `$2`.
    pub page: &'static str,
    /// The tenant `$1`.
    pub by_id: &'static str,
    /// The tenant with slug `$1`.
    pub by_slug: &'static str,
    /// The tenant serving domain `$1`.
    pub by_domain: &'static str,
}

/// [`TenantStatements`] folding domains with the literal aggregate.
#[macro_export]
macro_rules! tenant_statements {
    ($domains:literal) => {
        $crate::platform::TenantStatements {
            page: $crate::select_tenants!($domains, "t.id > $1 ORDER BY t.id LIMIT $2"),
            by_id: $crate::select_tenants!($domains, "t.id = $1"),
            by_slug: $crate::select_tenants!($domains, "t.slug = $1"),
            by_domain: $crate::select_tenants!(
                $domains,
                "t.id = (SELECT tenant_id FROM tenant_domains WHERE domain = $1)"
            ),
        }
    };
}

/// A tenant's id and plan's id, by slug.
pub const TENANT_KEYS: &str = "SELECT id, plan_id FROM tenants WHERE slug = $1";

/// [`TENANT_KEYS`], locking the row (PostgreSQL).
pub const TENANT_KEYS_LOCKED: &str = "SELECT id, plan_id FROM tenants WHERE slug = $1 FOR UPDATE";

pub const PLAN_ID_BY_NAME: &str = "SELECT id FROM plans WHERE name = $1";

type TenantValues<'a> = (
    DbId,
    &'a str,
    &'a str,
    &'a str,
    DbId,
    Json<&'a TenantSettings>,
    DateTime<Utc>,
);

type TenantUpdate<'a> = (
    DbId,
    &'a str,
    &'a str,
    DbId,
    Json<&'a TenantSettings>,
    DateTime<Utc>,
);

/// Stores a new tenant `id` on the plan `plan`, made at `at`.
pub fn insert_tenant(
    id: TenantId,
    new: &NewTenant,
    plan: DbId,
    at: DateTime<Utc>,
) -> Stmt<TenantValues<'_>> {
    Stmt::new(
        "INSERT INTO tenants (id, slug, name, status, plan_id, settings, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        (
            DbId(id.0),
            new.slug.as_str(),
            &new.name,
            NEW_TENANT_STATUS.as_str(),
            plan,
            Json(&new.settings),
            at,
        ),
    )
}

/// Stores a tenant's own fields and plan, changed at `at`.
pub fn update_tenant(
    id: TenantId,
    fields: TenantFields<'_>,
    plan: DbId,
    at: DateTime<Utc>,
) -> Stmt<TenantUpdate<'_>> {
    Stmt::new(
        "UPDATE tenants SET name = $2, status = $3, plan_id = $4, settings = $5, \
         updated_at = $6 WHERE id = $1",
        (
            DbId(id.0),
            fields.name,
            fields.status.as_str(),
            plan,
            Json(fields.settings),
            at,
        ),
    )
}

pub const DELETE_TENANT_DOMAINS: &str = "DELETE FROM tenant_domains WHERE tenant_id = $1";

pub const INSERT_AUDIT: &str = "INSERT INTO audit_log \
     (scope, seq, actor, action, target, before, after, ip, request_id, at, prev_hash, hash) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";

/// A chain's entries from the newest down, before seq `$2`, at most `$3`.
pub const AUDIT_PAGE: &str = "SELECT scope, seq, actor, action, target, before, after, ip, \
     request_id, at, prev_hash, hash FROM audit_log WHERE scope = $1 AND seq < $2 \
     ORDER BY seq DESC LIMIT $3";

/// A chain's entries in order, after seq `$2`, at most `$3`.
pub const AUDIT_CHAIN: &str = "SELECT scope, seq, actor, action, target, before, after, ip, \
     request_id, at, prev_hash, hash FROM audit_log WHERE scope = $1 AND seq > $2 \
     ORDER BY seq LIMIT $3";

#[derive(sqlx::FromRow)]
pub struct AuditRow {
    scope: String,
    seq: i64,
    actor: String,
    action: String,
    target: String,
    before: Option<Json<serde_json::Value>>,
    after: Option<Json<serde_json::Value>>,
    ip: Option<String>,
    request_id: Option<String>,
    at: DateTime<Utc>,
    prev_hash: String,
    hash: String,
}

impl From<AuditRow> for AuditEntry {
    fn from(r: AuditRow) -> Self {
        AuditEntry {
            seq: r.seq,
            scope: r.scope,
            actor: r.actor,
            action: r.action,
            target: r.target,
            before: r.before.map(|j| j.0),
            after: r.after.map(|j| j.0),
            ip: r.ip,
            request_id: r.request_id,
            at: r.at,
            prev_hash: r.prev_hash,
            hash: r.hash,
        }
    }
}

/// The values [`INSERT_AUDIT`] binds for `e`, in placeholder order.
#[expect(
    clippy::type_complexity,
    reason = "one tuple of bind values, in column order"
)]
pub fn audit_values(
    e: &AuditEntry,
) -> (
    &str,
    i64,
    &str,
    &str,
    &str,
    Option<Json<&serde_json::Value>>,
    Option<Json<&serde_json::Value>>,
    Option<&str>,
    Option<&str>,
    DateTime<Utc>,
    &str,
    &str,
) {
    (
        &e.scope,
        e.seq,
        &e.actor,
        &e.action,
        &e.target,
        e.before.as_ref().map(Json),
        e.after.as_ref().map(Json),
        e.ip.as_deref(),
        e.request_id.as_deref(),
        e.at,
        &e.prev_hash,
        &e.hash,
    )
}

#[cfg(test)]
mod tests {
    /// The migration versions in `crates/storekeep-store-{backend}/migrations`.
    fn versions(backend: &str) -> Vec<String> {
        let dir = format!(
            "{}/../storekeep-store-{backend}/migrations",
            env!("CARGO_MANIFEST_DIR")
        );
        let mut v: Vec<String> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{dir}: {e}"))
            .map(|e| {
                let name = e.unwrap().file_name().to_string_lossy().into_owned();
                name.split('_').next().unwrap_or_default().to_owned()
            })
            .collect();
        v.sort();
        v
    }

    /// A portable archive carries its schema's version (the last migration)
    /// and an import into the other database compares it with its own, so
    /// every version exists on both backends (`SELECT 1` where one has
    /// nothing to change).
    #[test]
    fn both_databases_have_the_same_migration_versions() {
        assert_eq!(versions("postgres"), versions("sqlite"));
    }
}
