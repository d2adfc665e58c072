//! Plans on PostgreSQL.

use sqlx::PgPool;
use storekeep_domain::{
    AuditContext, NewPlan, PLATFORM_SCOPE, Page, PageRequest, Plan, PlanId, PlanLimits,
    PlanLimitsPatch, PlanName,
};
use storekeep_store::{StoreError, StoreResult, now};
use tracing::instrument;

use crate::{audit, cursor, error, write_tx};

#[derive(sqlx::FromRow)]
struct PlanRow {
    id: uuid::Uuid,
    name: String,
    max_products: i64,
    max_staff: i64,
    storage_bytes: i64,
    api_requests_per_minute: i64,
    auth_requests_per_minute: i64,
    search_requests_per_minute: i64,
    admin_requests_per_minute: i64,
    created_at: chrono::DateTime<chrono::Utc>,
}

impl TryFrom<PlanRow> for Plan {
    type Error = StoreError;
    fn try_from(r: PlanRow) -> StoreResult<Self> {
        Ok(Plan {
            id: PlanId(r.id),
            name: PlanName::parse(&r.name).map_err(|m| StoreError::Other(m.into()))?,
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

const COLUMNS: &str = "id, name, max_products, max_staff, storage_bytes, api_requests_per_minute, \
     auth_requests_per_minute, search_requests_per_minute, admin_requests_per_minute, created_at";

#[instrument(skip_all)]
pub async fn create(pool: &PgPool, new: &NewPlan, ctx: &AuditContext) -> StoreResult<Plan> {
    let mut tx = write_tx(pool).await?;
    let plan = Plan {
        id: PlanId::new(),
        name: new.name.clone(),
        limits: new.limits,
        created_at: now(),
    };
    let l = &plan.limits;
    sqlx::query(&format!(
        "INSERT INTO plans ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    ))
    .bind(plan.id.0)
    .bind(plan.name.as_str())
    .bind(l.max_products)
    .bind(l.max_staff)
    .bind(l.storage_bytes)
    .bind(l.api_requests_per_minute)
    .bind(l.auth_requests_per_minute)
    .bind(l.search_requests_per_minute)
    .bind(l.admin_requests_per_minute)
    .bind(plan.created_at)
    .execute(&mut *tx)
    .await
    .map_err(|e| error::map(e, &[("plans_name_key", "name")]))?;
    let after = serde_json::to_value(&plan).map_err(crate::error::other)?;
    audit::append(
        &mut tx,
        PLATFORM_SCOPE,
        ctx,
        "plan.create",
        &format!("plan:{}", plan.name),
        None,
        Some(after),
    )
    .await?;
    tx.commit().await.map_err(crate::error::other)?;
    Ok(plan)
}

#[instrument(skip_all)]
pub async fn list(pool: &PgPool, page: &PageRequest) -> StoreResult<Page<Plan>> {
    let rows: Vec<PlanRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM plans WHERE id > $1 ORDER BY id LIMIT $2"
    ))
    .bind(cursor(page)?)
    .bind(page.fetch_limit())
    .fetch_all(pool)
    .await
    .map_err(crate::error::other)?;
    let plans = rows
        .into_iter()
        .map(Plan::try_from)
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(Page::from_rows(plans, page, |p| p.id.to_string()))
}

#[instrument(skip_all)]
pub async fn by_name(pool: &PgPool, name: &PlanName) -> StoreResult<Plan> {
    let row: Option<PlanRow> =
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM plans WHERE name = $1"))
            .bind(name.as_str())
            .fetch_optional(pool)
            .await
            .map_err(crate::error::other)?;
    row.ok_or(StoreError::NotFound("plan"))?.try_into()
}

/// Changes some of a plan's limits; the row is locked (`FOR UPDATE`) so concurrent changes apply one after the other.
/// Tenants read their plan's limits with every look-up, so the change
/// applies to every shop on the plan.
#[instrument(skip_all)]
pub async fn update(
    pool: &PgPool,
    name: &PlanName,
    patch: &PlanLimitsPatch,
    ctx: &AuditContext,
) -> StoreResult<Plan> {
    let mut tx = write_tx(pool).await?;
    let row: Option<PlanRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM plans WHERE name = $1 FOR UPDATE"
    ))
    .bind(name.as_str())
    .fetch_optional(&mut *tx)
    .await
    .map_err(crate::error::other)?;
    let before = Plan::try_from(row.ok_or(StoreError::NotFound("plan"))?)?;
    let after = Plan {
        limits: patch.apply(&before.limits),
        ..before.clone()
    };
    let l = &after.limits;
    sqlx::query(
        "UPDATE plans SET max_products = $1, max_staff = $2, storage_bytes = $3, \
         api_requests_per_minute = $4, auth_requests_per_minute = $5, \
         search_requests_per_minute = $6, admin_requests_per_minute = $7 WHERE id = $8",
    )
    .bind(l.max_products)
    .bind(l.max_staff)
    .bind(l.storage_bytes)
    .bind(l.api_requests_per_minute)
    .bind(l.auth_requests_per_minute)
    .bind(l.search_requests_per_minute)
    .bind(l.admin_requests_per_minute)
    .bind(before.id.0)
    .execute(&mut *tx)
    .await
    .map_err(crate::error::other)?;
    audit::append(
        &mut tx,
        PLATFORM_SCOPE,
        ctx,
        "plan.update",
        &format!("plan:{}", after.name),
        Some(serde_json::to_value(&before).map_err(crate::error::other)?),
        Some(serde_json::to_value(&after).map_err(crate::error::other)?),
    )
    .await?;
    tx.commit().await.map_err(crate::error::other)?;
    Ok(after)
}
