//! Rental plans and serial-tracked units, the same on both databases,
//! written once over the [`Backend`]; and
//! [`impl_rental_store!`](crate::impl_rental_store), the `RentalStore` impl
//! both backends share. Every statement names the tenant; every change of
//! a unit writes one row of its history and an audit entry in the same
//! transaction.

pub(crate) mod rows;
mod store;

use serde_json::{Value, json};
use sqlx::Pool;
use storekeep_domain::{
    AuditContext, Page, PageRequest, RentalPlan, RentalPlanId, RentalUnit, RentalUnitId, TenantId,
    UnitCondition, UnitEvent, UnitEventKind, VariantId,
};
use storekeep_store::audit::Change;
use storekeep_store::rentals::{
    RentalPlanFilter, RentalUnitFilter, RentalUnitPatch, UnitCounts, UnitMove,
};
use storekeep_store::rules::rental_units;
use storekeep_store::{StoreError, StoreResult, now};

use crate::DbId;
use crate::backend::{Backend, Conn};
use crate::stmt::{Stmt, cursor, found, page_of};
use rows::{EventRow, PlanArgs, PlanRow, UnitRow};

pub use store::reexports;

const PLAN: &str = "rental plan";
const UNIT: &str = "rental unit";

/// A used plan cannot be deleted, only deactivated.
pub const PLAN_IN_USE: &str =
    "the plan has contracts and cannot be deleted; deactivate it with active: false instead";

/// A taken serial: the constraint as PostgreSQL names it, and the columns
/// as SQLite's message names them.
const UNIT_UNIQUES: &[(&str, &str)] = &[
    ("rental_units_serial_key", "serial"),
    ("rental_units.serial", "serial"),
];

macro_rules! plan_columns {
    () => {
        "id, tenant_id, variant_id, name, kind, term_unit, term, min_term, max_term, \
         price_per_period, deposit, late_fee, buyout, extension_allowed, maintainer, \
         default_after_days, active, created_at, updated_at"
    };
}

macro_rules! unit_columns {
    () => {
        "id, tenant_id, variant_id, serial, condition, notes, status, contract_id, created_at, \
         updated_at"
    };
}

const INSERT_PLAN: &str = concat!(
    "INSERT INTO rental_plans (",
    plan_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
     $18, $19)"
);

/// Binds as [`INSERT_PLAN`] does; `tenant_id` and `created_at` never change.
const UPDATE_PLAN: &str = "UPDATE rental_plans SET variant_id = $3, name = $4, kind = $5, \
     term_unit = $6, term = $7, min_term = $8, max_term = $9, price_per_period = $10, \
     deposit = $11, late_fee = $12, buyout = $13, extension_allowed = $14, maintainer = $15, \
     default_after_days = $16, active = $17, created_at = $18, updated_at = $19 \
     WHERE id = $1 AND tenant_id = $2";

const PLAN_BY_ID: &str = concat!(
    "SELECT ",
    plan_columns!(),
    " FROM rental_plans WHERE id = $1 AND tenant_id = $2"
);

const PLAN_BY_ID_LOCKED: &str = concat!(
    "SELECT ",
    plan_columns!(),
    " FROM rental_plans WHERE id = $1 AND tenant_id = $2 FOR UPDATE"
);

/// A shop's plans after id `$2`, optionally of variant `$3` and activity
/// `$4`, at most `$5`.
const PLAN_PAGE: &str = concat!(
    "SELECT ",
    plan_columns!(),
    " FROM rental_plans WHERE tenant_id = $1 AND id > $2 \
     AND (CAST($3 AS TEXT) IS NULL OR variant_id = $3) \
     AND (CAST($4 AS TEXT) IS NULL OR active = $4) \
     ORDER BY id LIMIT $5"
);

const PLAN_CONTRACTS: &str =
    "SELECT COUNT(*) FROM rental_contracts WHERE tenant_id = $1 AND plan_id = $2";

const DELETE_PLAN: &str = "DELETE FROM rental_plans WHERE id = $1 AND tenant_id = $2";

const VARIANT_EXISTS: &str = "SELECT COUNT(*) FROM variants WHERE id = $1 AND tenant_id = $2";

const INSERT_UNIT: &str = concat!(
    "INSERT INTO rental_units (",
    unit_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
);

const UPDATE_UNIT: &str = "UPDATE rental_units SET condition = $3, notes = $4, status = $5, \
     updated_at = $6 WHERE id = $1 AND tenant_id = $2";

const UNIT_BY_ID: &str = concat!(
    "SELECT ",
    unit_columns!(),
    " FROM rental_units WHERE id = $1 AND tenant_id = $2"
);

const UNIT_BY_ID_LOCKED: &str = concat!(
    "SELECT ",
    unit_columns!(),
    " FROM rental_units WHERE id = $1 AND tenant_id = $2 FOR UPDATE"
);

/// A shop's units after id `$2`, optionally of variant `$3`, status `$4`
/// and grade `$5`, at most `$6`.
const UNIT_PAGE: &str = concat!(
    "SELECT ",
    unit_columns!(),
    " FROM rental_units WHERE tenant_id = $1 AND id > $2 \
     AND (CAST($3 AS TEXT) IS NULL OR variant_id = $3) \
     AND (CAST($4 AS TEXT) IS NULL OR status = $4) \
     AND (CAST($5 AS TEXT) IS NULL OR condition = $5) \
     ORDER BY id LIMIT $6"
);

const UNIT_COUNTS: &str = "SELECT COUNT(*) AS total, \
     COALESCE(SUM(CASE WHEN status = 'available' THEN 1 ELSE 0 END), 0) AS available \
     FROM rental_units WHERE tenant_id = $1 AND variant_id = $2";

const INSERT_EVENT: &str = "INSERT INTO rental_unit_events (id, tenant_id, unit_id, kind, \
     contract_id, condition, note, actor_id, at, actor) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

/// A unit's history, newest first.
const UNIT_EVENTS: &str = "SELECT unit_id, kind, contract_id, condition, note, actor_id, actor, at \
     FROM rental_unit_events WHERE tenant_id = $1 AND unit_id = $2 ORDER BY id DESC";

fn plan_json(p: &RentalPlan) -> Value {
    let t = &p.terms;
    json!({
        "id": p.id, "variant_id": p.variant_id, "name": p.name, "kind": t.kind,
        "term_unit": t.term_unit, "term": t.term, "min_term": t.min_term,
        "max_term": t.max_term, "price_per_period": t.price_per_period,
        "deposit": t.deposit, "late_fee": t.late_fee, "buyout": t.buyout,
        "extension_allowed": t.extension_allowed, "maintainer": t.maintainer,
        "default_after_days": t.default_after_days, "active": p.active,
    })
}

fn unit_json(u: &RentalUnit) -> Value {
    json!({
        "id": u.id, "variant_id": u.variant_id, "serial": u.serial,
        "condition": u.condition, "notes": u.notes, "status": u.status,
        "contract_id": u.contract_id,
    })
}

fn plan_change(p: &RentalPlan, action: &str) -> Change {
    Change::new(
        p.tenant_id.to_string(),
        action,
        format!("rental_plan:{}", p.id),
    )
}

fn unit_change(u: &RentalUnit, action: &str) -> Change {
    Change::new(
        u.tenant_id.to_string(),
        action,
        format!("rental_unit:{}", u.id),
    )
}

/// The staff member behind `ctx` (`staff:<id>`), recorded on unit events.
fn actor_id(ctx: &AuditContext) -> Option<DbId> {
    staff_id(&ctx.actor)
}

/// The staff account an actor (`staff:<id>`) names, if it names one.
pub(crate) fn staff_id(actor: &str) -> Option<DbId> {
    actor
        .strip_prefix("staff:")
        .and_then(|id| uuid::Uuid::parse_str(id).ok())
        .map(DbId)
}

async fn variant_exists<B: Backend>(
    conn: &mut Conn<B::Db>,
    tenant: TenantId,
    variant: VariantId,
) -> StoreResult<()> {
    let stmt = Stmt::new(VARIANT_EXISTS, (DbId(variant.0), DbId(tenant.0)));
    let n: i64 = B::scalar(conn, stmt).await?;
    if n == 0 {
        return Err(StoreError::UnknownReference {
            field: "variant_id",
        });
    }
    Ok(())
}

async fn locked_plan<B: Backend>(
    conn: &mut Conn<B::Db>,
    tenant: TenantId,
    id: RentalPlanId,
) -> StoreResult<RentalPlan> {
    let sql = B::read_for_update(PLAN_BY_ID, PLAN_BY_ID_LOCKED);
    let row: Option<PlanRow> =
        B::optional(conn, Stmt::new(sql, (DbId(id.0), DbId(tenant.0)))).await?;
    found(row, PLAN)
}

async fn locked_unit<B: Backend>(
    conn: &mut Conn<B::Db>,
    tenant: TenantId,
    id: RentalUnitId,
) -> StoreResult<RentalUnit> {
    let sql = B::read_for_update(UNIT_BY_ID, UNIT_BY_ID_LOCKED);
    let row: Option<UnitRow> =
        B::optional(conn, Stmt::new(sql, (DbId(id.0), DbId(tenant.0)))).await?;
    found(row, UNIT)
}

async fn write_event<B: Backend>(
    conn: &mut Conn<B::Db>,
    unit: &RentalUnit,
    kind: UnitEventKind,
    condition: Option<UnitCondition>,
    note: &str,
    ctx: &AuditContext,
) -> StoreResult<()> {
    let args = (
        DbId(uuid::Uuid::now_v7()),
        DbId(unit.tenant_id.0),
        DbId(unit.id.0),
        kind.as_str(),
        unit.contract_id.map(|c| DbId(c.0)),
        condition.map(UnitCondition::as_str),
        note.to_owned(),
        actor_id(ctx),
        now(),
        ctx.actor.as_str(),
    );
    B::exec(conn, Stmt::new(INSERT_EVENT, args)).await?;
    Ok(())
}

async fn write_unit<B: Backend>(conn: &mut Conn<B::Db>, u: &RentalUnit) -> StoreResult<()> {
    let args = (
        DbId(u.id.0),
        DbId(u.tenant_id.0),
        u.condition.as_str(),
        u.notes.clone(),
        u.status.as_str(),
        u.updated_at,
    );
    B::exec(conn, Stmt::new(UPDATE_UNIT, args)).await?;
    Ok(())
}

pub async fn create_plan<B: Backend>(
    pool: &Pool<B::Db>,
    p: &RentalPlan,
    ctx: &AuditContext,
) -> StoreResult<RentalPlan> {
    let mut tx = B::write_tx(pool).await?;
    variant_exists::<B>(&mut tx, p.tenant_id, p.variant_id).await?;
    B::exec(&mut tx, Stmt::new(INSERT_PLAN, PlanArgs::of(p))).await?;
    let audit = plan_change(p, "rental_plan.create").after(&plan_json(p))?;
    B::record_change(&mut tx, ctx, audit).await?;
    B::commit(tx).await?;
    Ok(p.clone())
}

pub async fn plan<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    id: RentalPlanId,
) -> StoreResult<RentalPlan> {
    let stmt = Stmt::new(PLAN_BY_ID, (DbId(id.0), DbId(tenant.0)));
    let row: Option<PlanRow> = B::optional(&mut *B::conn(pool).await?, stmt).await?;
    found(row, PLAN)
}

pub async fn list_plans<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    filter: &RentalPlanFilter,
    page: &PageRequest,
) -> StoreResult<Page<RentalPlan>> {
    let args = (
        DbId(tenant.0),
        cursor(page)?,
        filter.variant_id.map(|v| DbId(v.0)),
        filter.active,
        page.fetch_limit(),
    );
    let rows: Vec<PlanRow> = B::all(&mut *B::conn(pool).await?, Stmt::new(PLAN_PAGE, args)).await?;
    page_of(rows, page, |p: &RentalPlan| p.id.0)
}

pub async fn update_plan<B: Backend>(
    pool: &Pool<B::Db>,
    p: &RentalPlan,
    ctx: &AuditContext,
) -> StoreResult<RentalPlan> {
    let mut tx = B::write_tx(pool).await?;
    let before = locked_plan::<B>(&mut tx, p.tenant_id, p.id).await?;
    if before.variant_id != p.variant_id {
        variant_exists::<B>(&mut tx, p.tenant_id, p.variant_id).await?;
    }
    let after = RentalPlan {
        created_at: before.created_at,
        updated_at: now(),
        ..p.clone()
    };
    B::exec(&mut tx, Stmt::new(UPDATE_PLAN, PlanArgs::of(&after))).await?;
    let audit = plan_change(&after, "rental_plan.update")
        .before(&plan_json(&before))?
        .after(&plan_json(&after))?;
    B::record_change(&mut tx, ctx, audit).await?;
    B::commit(tx).await?;
    Ok(after)
}

pub async fn delete_plan<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    id: RentalPlanId,
    ctx: &AuditContext,
) -> StoreResult<()> {
    let mut tx = B::write_tx(pool).await?;
    let before = locked_plan::<B>(&mut tx, tenant, id).await?;
    let key = (DbId(tenant.0), DbId(id.0));
    let used: i64 = B::scalar(&mut tx, Stmt::new(PLAN_CONTRACTS, key)).await?;
    if used > 0 {
        return Err(StoreError::Invalid(PLAN_IN_USE));
    }
    B::exec(
        &mut tx,
        Stmt::new(DELETE_PLAN, (DbId(id.0), DbId(tenant.0))),
    )
    .await?;
    let audit = plan_change(&before, "rental_plan.delete").before(&plan_json(&before))?;
    B::record_change(&mut tx, ctx, audit).await?;
    B::commit(tx).await
}

pub async fn add_unit<B: Backend>(
    pool: &Pool<B::Db>,
    u: &RentalUnit,
    note: &str,
    ctx: &AuditContext,
) -> StoreResult<RentalUnit> {
    let mut tx = B::write_tx(pool).await?;
    variant_exists::<B>(&mut tx, u.tenant_id, u.variant_id).await?;
    let args = (
        DbId(u.id.0),
        DbId(u.tenant_id.0),
        DbId(u.variant_id.0),
        u.serial.clone(),
        u.condition.as_str(),
        u.notes.clone(),
        u.status.as_str(),
        u.contract_id.map(|c| DbId(c.0)),
        u.created_at,
        u.updated_at,
    );
    B::exec_unique(&mut tx, Stmt::new(INSERT_UNIT, args), UNIT_UNIQUES).await?;
    write_event::<B>(
        &mut tx,
        u,
        UnitEventKind::Added,
        Some(u.condition),
        note,
        ctx,
    )
    .await?;
    let audit = unit_change(u, "rental_unit.create").after(&unit_json(u))?;
    B::record_change(&mut tx, ctx, audit).await?;
    B::commit(tx).await?;
    Ok(u.clone())
}

pub async fn unit<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    id: RentalUnitId,
) -> StoreResult<(RentalUnit, Vec<UnitEvent>)> {
    // One snapshot: the unit's status and its history agree.
    let mut conn = B::snapshot_tx(pool).await?;
    let stmt = Stmt::new(UNIT_BY_ID, (DbId(id.0), DbId(tenant.0)));
    let row: Option<UnitRow> = B::optional(&mut conn, stmt).await?;
    let unit: RentalUnit = found(row, UNIT)?;
    let stmt = Stmt::new(UNIT_EVENTS, (DbId(tenant.0), DbId(id.0)));
    let rows: Vec<EventRow> = B::all(&mut conn, stmt).await?;
    B::commit(conn).await?;
    let events = rows
        .into_iter()
        .map(UnitEvent::try_from)
        .collect::<StoreResult<_>>()?;
    Ok((unit, events))
}

pub async fn list_units<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    filter: &RentalUnitFilter,
    page: &PageRequest,
) -> StoreResult<Page<RentalUnit>> {
    let args = (
        DbId(tenant.0),
        cursor(page)?,
        filter.variant_id.map(|v| DbId(v.0)),
        filter.status.map(|s| s.as_str()),
        filter.condition.map(UnitCondition::as_str),
        page.fetch_limit(),
    );
    let rows: Vec<UnitRow> = B::all(&mut *B::conn(pool).await?, Stmt::new(UNIT_PAGE, args)).await?;
    page_of(rows, page, |u: &RentalUnit| u.id.0)
}

pub async fn update_unit<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    id: RentalUnitId,
    patch: &RentalUnitPatch,
    ctx: &AuditContext,
) -> StoreResult<RentalUnit> {
    let mut tx = B::write_tx(pool).await?;
    let before = locked_unit::<B>(&mut tx, tenant, id).await?;
    let mut after = before.clone();
    if let Some(c) = patch.condition {
        after.condition = c;
    }
    if let Some(n) = &patch.notes {
        after.notes.clone_from(n);
    }
    after.updated_at = now();
    write_unit::<B>(&mut tx, &after).await?;
    let note = patch.notes.as_deref().unwrap_or_default();
    write_event::<B>(
        &mut tx,
        &after,
        UnitEventKind::Updated,
        patch.condition,
        note,
        ctx,
    )
    .await?;
    let audit = unit_change(&after, "rental_unit.update")
        .before(&unit_json(&before))?
        .after(&unit_json(&after))?;
    B::record_change(&mut tx, ctx, audit).await?;
    B::commit(tx).await?;
    Ok(after)
}

pub async fn move_unit<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    id: RentalUnitId,
    to: &UnitMove,
    ctx: &AuditContext,
) -> StoreResult<RentalUnit> {
    let mut tx = B::write_tx(pool).await?;
    let before = locked_unit::<B>(&mut tx, tenant, id).await?;
    if !rental_units::can_move(before.status, to.to) {
        return Err(StoreError::Invalid(rental_units::refusal(
            before.status,
            to.to,
        )));
    }
    let mut after = before.clone();
    after.status = to.to;
    if let Some(c) = to.condition {
        after.condition = c;
    }
    after.updated_at = now();
    write_unit::<B>(&mut tx, &after).await?;
    let kind = rental_units::event_of(before.status, to.to);
    write_event::<B>(&mut tx, &after, kind, Some(after.condition), &to.note, ctx).await?;
    let audit = unit_change(&after, "rental_unit.status")
        .before(&unit_json(&before))?
        .after(&unit_json(&after))?;
    B::record_change(&mut tx, ctx, audit).await?;
    B::commit(tx).await?;
    Ok(after)
}

pub async fn unit_counts<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    variant: VariantId,
) -> StoreResult<UnitCounts> {
    let stmt = Stmt::new(UNIT_COUNTS, (DbId(tenant.0), DbId(variant.0)));
    let (total, available): (i64, i64) = B::one(&mut *B::conn(pool).await?, stmt).await?;
    Ok(UnitCounts { total, available })
}

pub async fn has_variant<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    variant: VariantId,
) -> StoreResult<bool> {
    let stmt = Stmt::new(VARIANT_EXISTS, (DbId(variant.0), DbId(tenant.0)));
    let n: i64 = B::scalar(&mut *B::conn(pool).await?, stmt).await?;
    Ok(n > 0)
}
