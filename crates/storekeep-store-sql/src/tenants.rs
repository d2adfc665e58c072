//! Tenants and their custom domains, written once over the [`Backend`]:
//! the backend adds how it folds a tenant's domains into one column
//! ([`Backend::TENANTS`]), how it inserts them, and its unique names. A
//! patch reads the tenant `FOR UPDATE` where the database locks rows; on
//! SQLite the write transaction serialises concurrent patches.

use sqlx::Pool;
use storekeep_domain::{
    AuditContext, DomainName, NewTenant, Page, PageRequest, PlanName, Slug, Tenant, TenantId,
    TenantPatch,
};
use storekeep_store::rules::platform::{
    FIELD_PLAN, TENANT, patched_settings, patched_tenant, plan_of, settings_changed,
    tenant_created, tenant_updated,
};
use storekeep_store::{StoreError, StoreResult, now};
use tracing::instrument;

use crate::DbId;
use crate::backend::{Backend, Conn};
use crate::platform::{
    DELETE_TENANT_DOMAINS, PLAN_ID_BY_NAME, TENANT_KEYS, TENANT_KEYS_LOCKED, TenantRow,
    insert_tenant, update_tenant,
};
use crate::stmt::{Stmt, cursor, found, page_of};

async fn plan_id<B: Backend>(conn: &mut Conn<B::Db>, plan: &PlanName) -> StoreResult<DbId> {
    let stmt = Stmt::new(PLAN_ID_BY_NAME, (plan.as_str(),));
    let id: Option<DbId> = B::scalar_optional(conn, stmt).await?;
    id.ok_or(StoreError::UnknownReference { field: FIELD_PLAN })
}

async fn fetch<B: Backend>(
    conn: &mut Conn<B::Db>,
    sql: &'static str,
    value: &str,
) -> StoreResult<Tenant> {
    let row: Option<TenantRow> = B::optional(conn, Stmt::new(sql, (value,))).await?;
    found(row, TENANT)
}

async fn fetch_by_id<B: Backend>(conn: &mut Conn<B::Db>, id: DbId) -> StoreResult<Tenant> {
    let row: Option<TenantRow> = B::optional(conn, Stmt::new(B::TENANTS.by_id, (id,))).await?;
    found(row, TENANT)
}

#[instrument(skip_all)]
pub async fn create<B: Backend>(
    pool: &Pool<B::Db>,
    new: &NewTenant,
    ctx: &AuditContext,
) -> StoreResult<Tenant> {
    let mut tx = B::write_tx(pool).await?;
    let plan = plan_id::<B>(&mut tx, &plan_of(new)).await?;
    let id = TenantId::new();
    let insert = insert_tenant(id, new, plan, now());
    B::exec_unique(&mut tx, insert, B::TENANT_UNIQUES).await?;
    B::insert_domains(&mut tx, DbId(id.0), &new.domains).await?;
    let tenant = fetch_by_id::<B>(&mut tx, DbId(id.0)).await?;
    B::record_change(&mut tx, ctx, tenant_created(&tenant)?).await?;
    B::commit(tx).await?;
    Ok(tenant)
}

#[instrument(skip_all)]
pub async fn list<B: Backend>(pool: &Pool<B::Db>, page: &PageRequest) -> StoreResult<Page<Tenant>> {
    let stmt = Stmt::new(B::TENANTS.page, (cursor(page)?, page.fetch_limit()));
    let rows: Vec<TenantRow> = B::all(&mut *B::conn(pool).await?, stmt).await?;
    page_of(rows, page, |t: &Tenant| t.id.0)
}

#[instrument(skip_all)]
pub async fn by_slug<B: Backend>(pool: &Pool<B::Db>, slug: &Slug) -> StoreResult<Tenant> {
    fetch::<B>(
        &mut *B::conn(pool).await?,
        B::TENANTS.by_slug,
        slug.as_str(),
    )
    .await
}

#[instrument(skip_all)]
pub async fn by_id<B: Backend>(pool: &Pool<B::Db>, id: TenantId) -> StoreResult<Tenant> {
    fetch_by_id::<B>(&mut *B::conn(pool).await?, DbId(id.0)).await
}

#[instrument(skip_all)]
pub async fn by_domain<B: Backend>(pool: &Pool<B::Db>, domain: &DomainName) -> StoreResult<Tenant> {
    fetch::<B>(
        &mut *B::conn(pool).await?,
        B::TENANTS.by_domain,
        domain.as_str(),
    )
    .await
}

/// Patches a tenant, concurrent patches applying one after the other.
#[instrument(skip_all)]
pub async fn update<B: Backend>(
    pool: &Pool<B::Db>,
    slug: &Slug,
    patch: &TenantPatch,
    ctx: &AuditContext,
) -> StoreResult<Tenant> {
    let mut tx = B::write_tx(pool).await?;
    let by_slug = B::read_for_update(TENANT_KEYS, TENANT_KEYS_LOCKED);
    let keys: Option<(DbId, DbId)> =
        B::optional(&mut tx, Stmt::new(by_slug, (slug.as_str(),))).await?;
    let (id, current_plan) = keys.ok_or(StoreError::NotFound(TENANT))?;
    let current = fetch_by_id::<B>(&mut tx, id).await?;
    let plan = match &patch.plan {
        Some(plan) => plan_id::<B>(&mut tx, plan).await?,
        None => current_plan,
    };
    let patch = &TenantPatch {
        settings: patched_settings(&current, patch),
        ..patch.clone()
    };
    let stmt = update_tenant(current.id, patched_tenant(&current, patch), plan, now());
    B::exec(&mut tx, stmt).await?;
    if let Some(domains) = &patch.domains {
        B::exec(&mut tx, Stmt::new(DELETE_TENANT_DOMAINS, (id,))).await?;
        B::insert_domains(&mut tx, id, domains).await?;
    }
    let tenant = fetch_by_id::<B>(&mut tx, id).await?;
    // The shop's chain first, then the platform's: every writer of both
    // takes their heads in this order.
    if let Some(change) = settings_changed(&current, &tenant) {
        B::record_change(&mut tx, ctx, change?).await?;
    }
    B::record_change(&mut tx, ctx, tenant_updated(&current, &tenant)?).await?;
    B::commit(tx).await?;
    Ok(tenant)
}
