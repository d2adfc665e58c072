//! Tenants and their custom domains on PostgreSQL.

use sqlx::types::Json;
use sqlx::{PgConnection, PgPool};
use storekeep_domain::{
    AuditContext, DomainName, NewTenant, PLATFORM_SCOPE, Page, PageRequest, PlanName, Slug, Tenant,
    TenantId, TenantPatch, TenantSettings, TenantStatus,
};
use storekeep_store::{StoreError, StoreResult, now};
use tracing::instrument;
use uuid::Uuid;

use crate::{audit, cursor, error, write_tx};

const UNIQUES: &[(&str, &str)] = &[
    ("tenants_slug_key", "slug"),
    ("tenant_domains_pkey", "domains"),
];

#[derive(sqlx::FromRow)]
struct TenantRow {
    id: Uuid,
    slug: String,
    name: String,
    status: String,
    plan: String,
    settings: Json<TenantSettings>,
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
        let domains = r
            .domains
            .as_deref()
            .unwrap_or("")
            .split_whitespace()
            .map(DomainName::parse)
            .collect::<Result<Vec<_>, _>>()
            .map_err(corrupt)?;
        Ok(Tenant {
            id: TenantId(r.id),
            slug: Slug::parse(&r.slug).map_err(corrupt)?,
            name: r.name,
            status: TenantStatus::parse(&r.status).map_err(corrupt)?,
            plan: PlanName::parse(&r.plan).map_err(corrupt)?,
            domains,
            settings: r.settings.0,
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
     (SELECT string_agg(d.domain, ' ' ORDER BY d.domain) FROM tenant_domains d \
      WHERE d.tenant_id = t.id) AS domains, \
     t.created_at, t.updated_at, p.max_products, p.max_staff, p.storage_bytes, \
     p.api_requests_per_minute, p.auth_requests_per_minute, p.search_requests_per_minute, \
     p.admin_requests_per_minute \
     FROM tenants t JOIN plans p ON p.id = t.plan_id";

async fn plan_id(conn: &mut PgConnection, plan: &PlanName) -> StoreResult<Uuid> {
    sqlx::query_scalar("SELECT id FROM plans WHERE name = $1")
        .bind(plan.as_str())
        .fetch_optional(conn)
        .await
        .map_err(crate::error::other)?
        .ok_or(StoreError::UnknownReference { field: "plan" })
}

async fn insert_domains(
    conn: &mut PgConnection,
    tenant: Uuid,
    domains: &[DomainName],
) -> StoreResult<()> {
    let names: Vec<&str> = domains.iter().map(DomainName::as_str).collect();
    sqlx::query("INSERT INTO tenant_domains (domain, tenant_id) SELECT unnest($1::text[]), $2")
        .bind(&names)
        .bind(tenant)
        .execute(conn)
        .await
        .map_err(|e| error::map(e, UNIQUES))?;
    Ok(())
}

async fn fetch_by_id(conn: &mut PgConnection, id: Uuid) -> StoreResult<Tenant> {
    let row: Option<TenantRow> = sqlx::query_as(&format!("{SELECT} WHERE t.id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
        .map_err(crate::error::other)?;
    row.ok_or(StoreError::NotFound("tenant"))?.try_into()
}

async fn fetch_by_text(pool: &PgPool, clause: &str, value: &str) -> StoreResult<Tenant> {
    let row: Option<TenantRow> = sqlx::query_as(&format!("{SELECT} WHERE {clause}"))
        .bind(value)
        .fetch_optional(pool)
        .await
        .map_err(crate::error::other)?;
    row.ok_or(StoreError::NotFound("tenant"))?.try_into()
}

#[instrument(skip_all)]
pub async fn create(pool: &PgPool, new: &NewTenant, ctx: &AuditContext) -> StoreResult<Tenant> {
    let mut tx = write_tx(pool).await?;
    let plan = new.plan.clone().unwrap_or_else(PlanName::default_plan);
    let plan_id = plan_id(&mut tx, &plan).await?;
    let id = TenantId::new().0;
    let at = now();
    sqlx::query(
        "INSERT INTO tenants (id, slug, name, status, plan_id, settings, created_at, updated_at) \
         VALUES ($1, $2, $3, 'active', $4, $5, $6, $6)",
    )
    .bind(id)
    .bind(new.slug.as_str())
    .bind(&new.name)
    .bind(plan_id)
    .bind(Json(&new.settings))
    .bind(at)
    .execute(&mut *tx)
    .await
    .map_err(|e| error::map(e, UNIQUES))?;
    insert_domains(&mut tx, id, &new.domains).await?;
    let tenant = fetch_by_id(&mut tx, id).await?;
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
pub async fn list(pool: &PgPool, page: &PageRequest) -> StoreResult<Page<Tenant>> {
    let rows: Vec<TenantRow> =
        sqlx::query_as(&format!("{SELECT} WHERE t.id > $1 ORDER BY t.id LIMIT $2"))
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
pub async fn by_slug(pool: &PgPool, slug: &Slug) -> StoreResult<Tenant> {
    fetch_by_text(pool, "t.slug = $1", slug.as_str()).await
}

#[instrument(skip_all)]
pub async fn by_domain(pool: &PgPool, domain: &DomainName) -> StoreResult<Tenant> {
    fetch_by_text(
        pool,
        "t.id = (SELECT tenant_id FROM tenant_domains WHERE domain = $1)",
        domain.as_str(),
    )
    .await
}

#[instrument(skip_all)]
pub async fn update(
    pool: &PgPool,
    slug: &Slug,
    patch: &TenantPatch,
    ctx: &AuditContext,
) -> StoreResult<Tenant> {
    let mut tx = write_tx(pool).await?;
    // Lock the row so concurrent patches apply one after the other.
    let locked: Option<(Uuid, Uuid)> =
        sqlx::query_as("SELECT id, plan_id FROM tenants WHERE slug = $1 FOR UPDATE")
            .bind(slug.as_str())
            .fetch_optional(&mut *tx)
            .await
            .map_err(crate::error::other)?;
    let (id, current_plan) = locked.ok_or(StoreError::NotFound("tenant"))?;
    let current = fetch_by_id(&mut tx, id).await?;
    let plan_id = match &patch.plan {
        Some(plan) => plan_id(&mut tx, plan).await?,
        None => current_plan,
    };
    sqlx::query(
        "UPDATE tenants SET name = $1, status = $2, plan_id = $3, settings = $4, updated_at = $5 \
         WHERE id = $6",
    )
    .bind(patch.name.as_ref().unwrap_or(&current.name))
    .bind(patch.status.unwrap_or(current.status).as_str())
    .bind(plan_id)
    .bind(Json(patch.settings.as_ref().unwrap_or(&current.settings)))
    .bind(now())
    .bind(id)
    .execute(&mut *tx)
    .await
    .map_err(crate::error::other)?;
    if let Some(domains) = &patch.domains {
        sqlx::query("DELETE FROM tenant_domains WHERE tenant_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(crate::error::other)?;
        insert_domains(&mut tx, id, domains).await?;
    }
    let tenant = fetch_by_id(&mut tx, id).await?;
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
