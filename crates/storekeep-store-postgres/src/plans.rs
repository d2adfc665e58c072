//! Plans on PostgreSQL.

use crate::Pool;
use storekeep_domain::{AuditContext, NewPlan, Page, PageRequest, Plan, PlanLimitsPatch, PlanName};
use storekeep_store::rules::platform::{
    FIELD_NAME, PLAN, new_plan, patched_plan, plan_created, plan_updated,
};
use storekeep_store::{StoreResult, now};
use storekeep_store_sql::platform::{
    PLAN_BY_NAME, PLAN_PAGE, PlanRow, insert_plan, update_plan_limits,
};
use storekeep_store_sql::stmt::{Stmt, cursor, found, page_of};
use tracing::instrument;

use crate::error::{self, other};
use crate::run::RUN;
use crate::{audit, write_tx};

/// The unique constraint of a taken plan name.
const UNIQUES: &[(&str, &str)] = &[("plans_name_key", FIELD_NAME)];

#[instrument(skip_all)]
pub async fn create(pool: &Pool, new: &NewPlan, ctx: &AuditContext) -> StoreResult<Plan> {
    let mut tx = write_tx(pool).await?;
    let plan = new_plan(new, now());
    insert_plan(&plan)
        .query()
        .execute(&mut *tx)
        .await
        .map_err(|e| error::map(e, UNIQUES))?;
    audit::record(&mut tx, ctx, plan_created(&plan)?).await?;
    tx.commit().await.map_err(other)?;
    Ok(plan)
}

#[instrument(skip_all)]
pub async fn list(pool: &Pool, page: &PageRequest) -> StoreResult<Page<Plan>> {
    let rows: Vec<PlanRow> = RUN
        .all(
            pool,
            Stmt::new(PLAN_PAGE, (cursor(page)?, page.fetch_limit())),
        )
        .await?;
    page_of(rows, page, |p: &Plan| p.id.0)
}

#[instrument(skip_all)]
pub async fn by_name(pool: &Pool, name: &PlanName) -> StoreResult<Plan> {
    let row: Option<PlanRow> = RUN
        .optional(pool, Stmt::new(PLAN_BY_NAME, (name.as_str(),)))
        .await?;
    found(row, PLAN)
}

/// Changes some of a plan's limits; the row is locked (`FOR UPDATE`) so
/// concurrent changes apply one after the other. Tenants read their plan's
/// limits with every look-up, so the change applies to every shop on the
/// plan.
#[instrument(skip_all)]
pub async fn update(
    pool: &Pool,
    name: &PlanName,
    patch: &PlanLimitsPatch,
    ctx: &AuditContext,
) -> StoreResult<Plan> {
    let mut tx = write_tx(pool).await?;
    let locked = format!("{PLAN_BY_NAME} FOR UPDATE");
    let row: Option<PlanRow> = sqlx::query_as(&locked)
        .bind(name.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(other)?;
    let before: Plan = found(row, PLAN)?;
    let after = patched_plan(&before, patch);
    RUN.exec(&mut *tx, update_plan_limits(&after)).await?;
    audit::record(&mut tx, ctx, plan_updated(&before, &after)?).await?;
    tx.commit().await.map_err(other)?;
    Ok(after)
}
