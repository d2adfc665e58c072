//! Plans, written once over the [`Backend`]. A limit change reads the plan
//! `FOR UPDATE` where the database locks rows ([`Backend::ROW_LOCKS`]); on
//! SQLite the write transaction serialises concurrent changes.

use sqlx::Pool;
use storekeep_domain::{AuditContext, NewPlan, Page, PageRequest, Plan, PlanLimitsPatch, PlanName};
use storekeep_store::rules::platform::{PLAN, new_plan, patched_plan, plan_created, plan_updated};
use storekeep_store::{StoreResult, now};
use tracing::instrument;

use crate::backend::Backend;
use crate::platform::{
    PLAN_BY_NAME, PLAN_BY_NAME_LOCKED, PLAN_PAGE, PlanRow, insert_plan, update_plan_limits,
};
use crate::stmt::{Stmt, cursor, found, page_of};

#[instrument(skip_all)]
pub async fn create<B: Backend>(
    pool: &Pool<B::Db>,
    new: &NewPlan,
    ctx: &AuditContext,
) -> StoreResult<Plan> {
    let mut tx = B::write_tx(pool).await?;
    let plan = new_plan(new, now());
    B::exec_unique(&mut tx, insert_plan(&plan), B::PLAN_UNIQUES).await?;
    B::record_change(&mut tx, ctx, plan_created(&plan)?).await?;
    B::commit(tx).await?;
    Ok(plan)
}

#[instrument(skip_all)]
pub async fn list<B: Backend>(pool: &Pool<B::Db>, page: &PageRequest) -> StoreResult<Page<Plan>> {
    let stmt = Stmt::new(PLAN_PAGE, (cursor(page)?, page.fetch_limit()));
    let rows: Vec<PlanRow> = B::all(&mut *B::conn(pool).await?, stmt).await?;
    page_of(rows, page, |p: &Plan| p.id.0)
}

#[instrument(skip_all)]
pub async fn by_name<B: Backend>(pool: &Pool<B::Db>, name: &PlanName) -> StoreResult<Plan> {
    let stmt = Stmt::new(PLAN_BY_NAME, (name.as_str(),));
    let row: Option<PlanRow> = B::optional(&mut *B::conn(pool).await?, stmt).await?;
    found(row, PLAN)
}

/// Changes some of a plan's limits, concurrent changes applying one after
/// the other. Tenants read their plan's limits with every look-up, so the
/// change applies to every shop on the plan.
#[instrument(skip_all)]
pub async fn update<B: Backend>(
    pool: &Pool<B::Db>,
    name: &PlanName,
    patch: &PlanLimitsPatch,
    ctx: &AuditContext,
) -> StoreResult<Plan> {
    let mut tx = B::write_tx(pool).await?;
    let by_name = B::read_for_update(PLAN_BY_NAME, PLAN_BY_NAME_LOCKED);
    let row: Option<PlanRow> = B::optional(&mut tx, Stmt::new(by_name, (name.as_str(),))).await?;
    let before: Plan = found(row, PLAN)?;
    let after = patched_plan(&before, patch);
    B::exec(&mut tx, update_plan_limits(&after)).await?;
    B::record_change(&mut tx, ctx, plan_updated(&before, &after)?).await?;
    B::commit(tx).await?;
    Ok(after)
}
