//! Tenants and their custom domains on PostgreSQL.

use crate::{Conn, Pool};
use storekeep_domain::{
    AuditContext, DomainName, NewTenant, Page, PageRequest, PlanName, Slug, Tenant, TenantId,
    TenantPatch,
};
use storekeep_store::rules::platform::{
    FIELD_DOMAINS, FIELD_PLAN, FIELD_SLUG, TENANT, patched_tenant, plan_of, tenant_created,
    tenant_updated,
};
use storekeep_store::{StoreError, StoreResult, now};
use storekeep_store_sql::DbId;
use storekeep_store_sql::platform::{
    DELETE_TENANT_DOMAINS, PLAN_ID_BY_NAME, TENANT_BY_DOMAIN, TENANT_BY_ID, TENANT_BY_SLUG,
    TENANT_KEYS, TENANT_PAGE, TenantRow, insert_tenant, tenant_query, update_tenant,
};
use storekeep_store_sql::stmt::{Stmt, cursor, found, page_of};
use tracing::instrument;

use crate::error::{self, other};
use crate::run::RUN;
use crate::{audit, write_tx};

/// The unique constraint a taken slug or domain violates.
const UNIQUES: &[(&str, &str)] = &[
    ("tenants_slug_key", FIELD_SLUG),
    ("tenant_domains_pkey", FIELD_DOMAINS),
];

/// A tenant's domains, folded into one column.
const DOMAINS: &str = "string_agg(d.domain, ' ' ORDER BY d.domain)";

async fn plan_id(conn: &mut Conn, plan: &PlanName) -> StoreResult<DbId> {
    Stmt::new(PLAN_ID_BY_NAME, (plan.as_str(),))
        .query_scalar()
        .fetch_optional(conn)
        .await
        .map_err(other)?
        .ok_or(StoreError::UnknownReference { field: FIELD_PLAN })
}

/// One insert for all the domains.
async fn insert_domains(conn: &mut Conn, tenant: DbId, domains: &[DomainName]) -> StoreResult<()> {
    let names: Vec<&str> = domains.iter().map(DomainName::as_str).collect();
    Stmt::new(
        "INSERT INTO tenant_domains (domain, tenant_id) SELECT unnest($1::text[]), $2",
        (&names, tenant),
    )
    .query()
    .execute(conn)
    .await
    .map_err(|e| error::map(e, UNIQUES))?;
    Ok(())
}

async fn fetch(conn: &mut Conn, clause: &str, value: &str) -> StoreResult<Tenant> {
    let row: Option<TenantRow> = sqlx::query_as(&tenant_query(DOMAINS, clause))
        .bind(value)
        .fetch_optional(conn)
        .await
        .map_err(other)?;
    found(row, TENANT)
}

async fn fetch_by_id(conn: &mut Conn, id: DbId) -> StoreResult<Tenant> {
    let row: Option<TenantRow> = sqlx::query_as(&tenant_query(DOMAINS, TENANT_BY_ID))
        .bind(id)
        .fetch_optional(conn)
        .await
        .map_err(other)?;
    found(row, TENANT)
}

#[instrument(skip_all)]
pub async fn create(pool: &Pool, new: &NewTenant, ctx: &AuditContext) -> StoreResult<Tenant> {
    let mut tx = write_tx(pool).await?;
    let plan = plan_id(&mut tx, &plan_of(new)).await?;
    let id = TenantId::new();
    insert_tenant(id, new, plan, now())
        .query()
        .execute(&mut *tx)
        .await
        .map_err(|e| error::map(e, UNIQUES))?;
    insert_domains(&mut tx, DbId(id.0), &new.domains).await?;
    let tenant = fetch_by_id(&mut tx, DbId(id.0)).await?;
    audit::record(&mut tx, ctx, tenant_created(&tenant)?).await?;
    tx.commit().await.map_err(other)?;
    Ok(tenant)
}

#[instrument(skip_all)]
pub async fn list(pool: &Pool, page: &PageRequest) -> StoreResult<Page<Tenant>> {
    let rows: Vec<TenantRow> = sqlx::query_as(&tenant_query(DOMAINS, TENANT_PAGE))
        .bind(cursor(page)?)
        .bind(page.fetch_limit())
        .fetch_all(pool)
        .await
        .map_err(other)?;
    page_of(rows, page, |t: &Tenant| t.id.0)
}

#[instrument(skip_all)]
pub async fn by_slug(pool: &Pool, slug: &Slug) -> StoreResult<Tenant> {
    let mut conn = pool.acquire().await.map_err(other)?;
    fetch(&mut conn, TENANT_BY_SLUG, slug.as_str()).await
}

#[instrument(skip_all)]
pub async fn by_domain(pool: &Pool, domain: &DomainName) -> StoreResult<Tenant> {
    let mut conn = pool.acquire().await.map_err(other)?;
    fetch(&mut conn, TENANT_BY_DOMAIN, domain.as_str()).await
}

/// Patches a tenant; its row is locked (`FOR UPDATE`) so concurrent
/// patches apply one after the other.
#[instrument(skip_all)]
pub async fn update(
    pool: &Pool,
    slug: &Slug,
    patch: &TenantPatch,
    ctx: &AuditContext,
) -> StoreResult<Tenant> {
    let mut tx = write_tx(pool).await?;
    let locked = format!("{TENANT_KEYS} FOR UPDATE");
    let keys: Option<(DbId, DbId)> = sqlx::query_as(&locked)
        .bind(slug.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(other)?;
    let (id, current_plan) = keys.ok_or(StoreError::NotFound(TENANT))?;
    let current = fetch_by_id(&mut tx, id).await?;
    let plan = match &patch.plan {
        Some(plan) => plan_id(&mut tx, plan).await?,
        None => current_plan,
    };
    RUN.exec(
        &mut *tx,
        update_tenant(current.id, patched_tenant(&current, patch), plan, now()),
    )
    .await?;
    if let Some(domains) = &patch.domains {
        RUN.exec(&mut *tx, Stmt::new(DELETE_TENANT_DOMAINS, (id,)))
            .await?;
        insert_domains(&mut tx, id, domains).await?;
    }
    let tenant = fetch_by_id(&mut tx, id).await?;
    audit::record(&mut tx, ctx, tenant_updated(&current, &tenant)?).await?;
    tx.commit().await.map_err(other)?;
    Ok(tenant)
}
