//! Rows of the rental tables, decoded alike on both databases, and the
//! values a plan binds (more than a tuple of [`Args`] holds).

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{Database, Encode, Type};
use storekeep_domain::{
    BuyoutRule, DepositRule, LateFeeRule, Maintainer, RentalContractId, RentalKind, RentalPlan,
    RentalPlanId, RentalTerms, RentalUnit, RentalUnitId, TenantId, TermUnit, UnitCondition,
    UnitEvent, UnitEventKind, UnitStatus, UserId, VariantId,
};
use storekeep_store::{StoreError, StoreResult};

use crate::DbId;
use crate::stmt::{Args, Bind};

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Other(format!("unknown {what} {value:?} in the database").into())
}

#[derive(sqlx::FromRow)]
pub struct PlanRow {
    id: DbId,
    tenant_id: DbId,
    variant_id: DbId,
    name: String,
    kind: String,
    term_unit: String,
    term: i32,
    min_term: i32,
    max_term: i32,
    price_per_period: i64,
    deposit: Json<DepositRule>,
    late_fee: Json<LateFeeRule>,
    buyout: Json<BuyoutRule>,
    extension_allowed: bool,
    maintainer: String,
    default_after_days: i32,
    active: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<PlanRow> for RentalPlan {
    type Error = StoreError;
    fn try_from(r: PlanRow) -> StoreResult<Self> {
        Ok(Self {
            id: RentalPlanId(r.id.0),
            tenant_id: TenantId(r.tenant_id.0),
            variant_id: VariantId(r.variant_id.0),
            name: r.name,
            terms: RentalTerms {
                kind: RentalKind::parse(&r.kind).ok_or_else(|| corrupt("rental kind", &r.kind))?,
                term_unit: TermUnit::parse(&r.term_unit)
                    .ok_or_else(|| corrupt("term unit", &r.term_unit))?,
                term: r.term,
                min_term: r.min_term,
                max_term: r.max_term,
                price_per_period: r.price_per_period,
                deposit: r.deposit.0,
                late_fee: r.late_fee.0,
                buyout: r.buyout.0,
                extension_allowed: r.extension_allowed,
                maintainer: Maintainer::parse(&r.maintainer)
                    .ok_or_else(|| corrupt("maintainer", &r.maintainer))?,
                default_after_days: r.default_after_days,
            },
            active: r.active,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// A plan's values in column order (`$1`…`$19` of the insert and update).
pub struct PlanArgs {
    id: DbId,
    tenant_id: DbId,
    variant_id: DbId,
    name: String,
    kind: String,
    term_unit: String,
    term: i32,
    min_term: i32,
    max_term: i32,
    price_per_period: i64,
    deposit: Json<DepositRule>,
    late_fee: Json<LateFeeRule>,
    buyout: Json<BuyoutRule>,
    extension_allowed: bool,
    maintainer: String,
    default_after_days: i32,
    active: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl PlanArgs {
    pub fn of(p: &RentalPlan) -> Self {
        let t = &p.terms;
        Self {
            id: DbId(p.id.0),
            tenant_id: DbId(p.tenant_id.0),
            variant_id: DbId(p.variant_id.0),
            name: p.name.clone(),
            kind: t.kind.as_str().to_owned(),
            term_unit: t.term_unit.as_str().to_owned(),
            term: t.term,
            min_term: t.min_term,
            max_term: t.max_term,
            price_per_period: t.price_per_period,
            deposit: Json(t.deposit),
            late_fee: Json(t.late_fee),
            buyout: Json(t.buyout),
            extension_allowed: t.extension_allowed,
            maintainer: t.maintainer.as_str().to_owned(),
            default_after_days: t.default_after_days,
            active: p.active,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

impl<'q, DB: Database> Args<'q, DB> for PlanArgs
where
    DbId: Encode<'q, DB> + Type<DB>,
    String: Encode<'q, DB> + Type<DB>,
    i32: Encode<'q, DB> + Type<DB>,
    i64: Encode<'q, DB> + Type<DB>,
    bool: Encode<'q, DB> + Type<DB>,
    Json<DepositRule>: Encode<'q, DB> + Type<DB>,
    Json<LateFeeRule>: Encode<'q, DB> + Type<DB>,
    Json<BuyoutRule>: Encode<'q, DB> + Type<DB>,
    DateTime<Utc>: Encode<'q, DB> + Type<DB>,
{
    fn bind_to<Q: Bind<'q, DB>>(self, q: Q) -> Q {
        q.bind_value(self.id)
            .bind_value(self.tenant_id)
            .bind_value(self.variant_id)
            .bind_value(self.name)
            .bind_value(self.kind)
            .bind_value(self.term_unit)
            .bind_value(self.term)
            .bind_value(self.min_term)
            .bind_value(self.max_term)
            .bind_value(self.price_per_period)
            .bind_value(self.deposit)
            .bind_value(self.late_fee)
            .bind_value(self.buyout)
            .bind_value(self.extension_allowed)
            .bind_value(self.maintainer)
            .bind_value(self.default_after_days)
            .bind_value(self.active)
            .bind_value(self.created_at)
            .bind_value(self.updated_at)
    }
}

#[derive(sqlx::FromRow)]
pub struct UnitRow {
    id: DbId,
    tenant_id: DbId,
    variant_id: DbId,
    serial: String,
    condition: String,
    notes: String,
    status: String,
    contract_id: Option<DbId>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<UnitRow> for RentalUnit {
    type Error = StoreError;
    fn try_from(r: UnitRow) -> StoreResult<Self> {
        Ok(Self {
            id: RentalUnitId(r.id.0),
            tenant_id: TenantId(r.tenant_id.0),
            variant_id: VariantId(r.variant_id.0),
            serial: r.serial,
            condition: UnitCondition::parse(&r.condition)
                .ok_or_else(|| corrupt("unit condition", &r.condition))?,
            notes: r.notes,
            status: UnitStatus::parse(&r.status)
                .ok_or_else(|| corrupt("unit status", &r.status))?,
            contract_id: r.contract_id.map(|c| RentalContractId(c.0)),
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct EventRow {
    unit_id: DbId,
    kind: String,
    contract_id: Option<DbId>,
    condition: Option<String>,
    note: String,
    actor_id: Option<DbId>,
    actor: Option<String>,
    at: DateTime<Utc>,
}

impl TryFrom<EventRow> for UnitEvent {
    type Error = StoreError;
    fn try_from(r: EventRow) -> StoreResult<Self> {
        let condition = match r.condition {
            Some(c) => Some(UnitCondition::parse(&c).ok_or_else(|| corrupt("unit condition", &c))?),
            None => None,
        };
        Ok(Self {
            unit_id: RentalUnitId(r.unit_id.0),
            kind: UnitEventKind::parse(&r.kind).ok_or_else(|| corrupt("unit event", &r.kind))?,
            contract_id: r.contract_id.map(|c| RentalContractId(c.0)),
            condition,
            note: r.note,
            actor: r.actor_id.map(|a| UserId(a.0)),
            by: r.actor,
            at: r.at,
        })
    }
}
