//! Tenants and their custom domains on SQLite.

use sqlx::{SqliteConnection, SqlitePool};
use storekeep_domain::{
    AuditContext, DomainName, NewTenant, PLATFORM_SCOPE, Page, PageRequest, PlanName, Slug, Tenant,
    TenantId, TenantPatch, TenantSettings, TenantStatus,
};
use storekeep_store::{StoreError, StoreResult, now};
use tracing::instrument;

use crate::{audit, cursor, error, write_tx};

const UNIQUES: &[(&str, &str)] = &[
    ("tenants.slug", "slug"),
    ("tenant_domains.domain", "domains"),
];

#[derive(sqlx::FromRow)]
struct TenantRow {
    id: String,
    slug: String,
    name: String,
    status: String,
    plan: String,
    settings: String,
    domains: Option<String>,
    created_at: chrono::DateTime<chrono::Utc>,
    updated_at: chrono::DateTime<chrono::Utc>,
    max_products: i64,
    max_staff: i64,
    storage_bytes: i64,
    api_requests_per_minute: i64,
    auth_requests_per_minute: i64,
    search_requests_per_minute: i64,
    admin_requests_per_minute: i64,
}

fn corrupt(what: String) -> StoreError {
    StoreError::Other(format!("stored tenant is invalid: {what}").into())
}

impl TryFrom<TenantRow> for Tenant {
    type Error = StoreError;
    fn try_from(r: TenantRow) -> StoreResult<Self> {
        let mut domains = r
            .domains
            .as_deref()
            .unwrap_or("")
            .split_whitespace()
            .map(DomainName::parse)
            .collect::<Result<Vec<_>, _>>()
            .map_err(corrupt)?;
        domains.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        Ok(Tenant {
            id: r.id.parse().map_err(crate::error::other)?,
            slug: Slug::parse(&r.slug).map_err(corrupt)?,
            name: r.name,
            status: TenantStatus::parse(&r.status).map_err(corrupt)?,
            plan: PlanName::parse(&r.plan).map_err(corrupt)?,
            domains,
            settings: serde_json::from_str(&r.settings).map_err(crate::error::other)?,
            created_at: r.created_at,
            updated_at: r.updated_at,
            limits: storekeep_domain::PlanLimits {
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

/// Every tenant query selects the same shape: the tenant, its plan's name
/// and its domains folded into one space-separated column.
const SELECT: &str = "SELECT t.id, t.slug, t.name, t.status, p.name AS plan, t.settings, \
     (SELECT group_concat(d.domain, ' ') FROM tenant_domains d WHERE d.tenant_id = t.id) AS domains, \
     t.created_at, t.updated_at, p.max_products, p.max_staff, p.storage_bytes, \
     p.api_requests_per_minute, p.auth_requests_per_minute, p.search_requests_per_minute, \
     p.admin_requests_per_minute \
     FROM tenants t JOIN plans p ON p.id = t.plan_id";

async fn plan_id(conn: &mut SqliteConnection, plan: &PlanName) -> StoreResult<String> {
    sqlx::query_scalar("SELECT id FROM plans WHERE name = ?")
        .bind(plan.as_str())
        .fetch_optional(conn)
        .await
        .map_err(crate::error::other)?
        .ok_or(StoreError::UnknownReference { field: "plan" })
}

async fn insert_domains(
    conn: &mut SqliteConnection,
    tenant: &str,
    domains: &[DomainName],
) -> StoreResult<()> {
    for d in domains {
        sqlx::query("INSERT INTO tenant_domains (domain, tenant_id) VALUES (?, ?)")
            .bind(d.as_str())
            .bind(tenant)
            .execute(&mut *conn)
            .await
            .map_err(|e| error::map(e, UNIQUES))?;
    }
    Ok(())
}

fn settings_json(settings: &TenantSettings) -> StoreResult<String> {
    serde_json::to_string(settings).map_err(crate::error::other)
}

async fn fetch_one(conn: &mut SqliteConnection, clause: &str, value: &str) -> StoreResult<Tenant> {
    let row: Option<TenantRow> = sqlx::query_as(&format!("{SELECT} WHERE {clause}"))
        .bind(value)
        .fetch_optional(conn)
        .await
        .map_err(crate::error::other)?;
    row.ok_or(StoreError::NotFound("tenant"))?.try_into()
}

#[instrument(skip_all)]
pub async fn create(pool: &SqlitePool, new: &NewTenant, ctx: &AuditContext) -> StoreResult<Tenant> {
    let mut tx = write_tx(pool).await?;
    let plan = new.plan.clone().unwrap_or_else(PlanName::default_plan);
    let plan_id = plan_id(&mut tx, &plan).await?;
    let id = TenantId::new().to_string();
    let at = now();
    sqlx::query(
        "INSERT INTO tenants (id, slug, name, status, plan_id, settings, created_at, updated_at) \
         VALUES (?, ?, ?, 'active', ?, ?, ?, ?)",
    )
    .bind(&id)
    .bind(new.slug.as_str())
    .bind(&new.name)
    .bind(&plan_id)
    .bind(settings_json(&new.settings)?)
    .bind(at)
    .bind(at)
    .execute(&mut *tx)
    .await
    .map_err(|e| error::map(e, UNIQUES))?;
    insert_domains(&mut tx, &id, &new.domains).await?;
    let tenant = fetch_one(&mut tx, "t.id = ?", &id).await?;
    let after = serde_json::to_value(&tenant).map_err(crate::error::other)?;
    audit::append(
        &mut tx,
        PLATFORM_SCOPE,
        ctx,
        "tenant.create",
        &format!("tenant:{}", tenant.slug),
        None,
        Some(after),
    )
    .await?;
    tx.commit().await.map_err(crate::error::other)?;
    Ok(tenant)
}

#[instrument(skip_all)]
pub async fn list(pool: &SqlitePool, page: &PageRequest) -> StoreResult<Page<Tenant>> {
    let rows: Vec<TenantRow> =
        sqlx::query_as(&format!("{SELECT} WHERE t.id > ? ORDER BY t.id LIMIT ?"))
            .bind(cursor(page)?)
            .bind(page.fetch_limit())
            .fetch_all(pool)
            .await
            .map_err(crate::error::other)?;
    let tenants = rows
        .into_iter()
        .map(Tenant::try_from)
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(Page::from_rows(tenants, page, |t| t.id.to_string()))
}

#[instrument(skip_all)]
pub async fn by_slug(pool: &SqlitePool, slug: &Slug) -> StoreResult<Tenant> {
    let mut conn = pool.acquire().await.map_err(crate::error::other)?;
    fetch_one(&mut conn, "t.slug = ?", slug.as_str()).await
}

#[instrument(skip_all)]
pub async fn by_domain(pool: &SqlitePool, domain: &DomainName) -> StoreResult<Tenant> {
    let mut conn = pool.acquire().await.map_err(crate::error::other)?;
    fetch_one(
        &mut conn,
        "t.id = (SELECT tenant_id FROM tenant_domains WHERE domain = ?)",
        domain.as_str(),
    )
    .await
}

#[instrument(skip_all)]
pub async fn update(
    pool: &SqlitePool,
    slug: &Slug,
    patch: &TenantPatch,
    ctx: &AuditContext,
) -> StoreResult<Tenant> {
    let mut tx = write_tx(pool).await?;
    let current = fetch_one(&mut tx, "t.slug = ?", slug.as_str()).await?;
    let id = current.id.to_string();
    let plan_id = match &patch.plan {
        Some(plan) => plan_id(&mut tx, plan).await?,
        None => sqlx::query_scalar("SELECT plan_id FROM tenants WHERE id = ?")
            .bind(&id)
            .fetch_one(&mut *tx)
            .await
            .map_err(crate::error::other)?,
    };
    sqlx::query(
        "UPDATE tenants SET name = ?, status = ?, plan_id = ?, settings = ?, updated_at = ? \
         WHERE id = ?",
    )
    .bind(patch.name.as_ref().unwrap_or(&current.name))
    .bind(patch.status.unwrap_or(current.status).as_str())
    .bind(&plan_id)
    .bind(settings_json(
        patch.settings.as_ref().unwrap_or(&current.settings),
    )?)
    .bind(now())
    .bind(&id)
    .execute(&mut *tx)
    .await
    .map_err(crate::error::other)?;
    if let Some(domains) = &patch.domains {
        sqlx::query("DELETE FROM tenant_domains WHERE tenant_id = ?")
            .bind(&id)
            .execute(&mut *tx)
            .await
            .map_err(crate::error::other)?;
        insert_domains(&mut tx, &id, domains).await?;
    }
    let tenant = fetch_one(&mut tx, "t.id = ?", &id).await?;
    let before = serde_json::to_value(&current).map_err(crate::error::other)?;
    let after = serde_json::to_value(&tenant).map_err(crate::error::other)?;
    audit::append(
        &mut tx,
        PLATFORM_SCOPE,
        ctx,
        "tenant.update",
        &format!("tenant:{}", tenant.slug),
        Some(before),
        Some(after),
    )
    .await?;
    tx.commit().await.map_err(crate::error::other)?;
    Ok(tenant)
}
