//! Serial-tracked rental units: adding them (one serial per shop), staff
//! edits and status moves (the move rule is the store's), and their
//! history.

use storekeep_domain::{
    AuditContext, Page, PageRequest, RentalUnit, RentalUnitId, Tenant, UnitCondition, UnitEvent,
    UnitStatus, ValidationErrors,
};
use storekeep_store::rentals::{self, RentalUnitFilter, UnitMove};

use super::{condition, note, shop_variant};
use crate::services::{ServiceError, ServiceResult, Services};
use crate::wire::rentals::{
    RentalUnitInput, RentalUnitPatch, RentalUnitQuery, RentalUnitView, UnitEventView,
    UnitStatusInput,
};

/// The longest serial number, in characters.
pub const MAX_SERIAL: usize = 100;

impl From<RentalUnit> for RentalUnitView {
    fn from(u: RentalUnit) -> Self {
        Self {
            id: u.id,
            variant_id: u.variant_id,
            serial: u.serial,
            condition: u.condition,
            notes: u.notes,
            status: u.status,
            contract_id: u.contract_id,
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }
}

impl From<UnitEvent> for UnitEventView {
    fn from(e: UnitEvent) -> Self {
        Self {
            kind: e.kind,
            contract_id: e.contract_id,
            condition: e.condition,
            note: e.note,
            actor_id: e.actor,
            actor: e.by.clone(),
            at: e.at,
        }
    }
}

/// A serial number: trimmed, 1 to 100 printable characters.
pub fn parse_serial(raw: &str) -> Result<String, String> {
    let s = raw.trim();
    if s.is_empty() || s.chars().count() > MAX_SERIAL {
        return Err(format!("must be 1 to {MAX_SERIAL} characters long"));
    }
    if s.chars().any(char::is_control) {
        return Err("must be printable characters only".into());
    }
    Ok(s.to_owned())
}

fn status_of(raw: &str, errors: &mut ValidationErrors) -> Option<UnitStatus> {
    let s = UnitStatus::parse(raw);
    if s.is_none() {
        errors.add(
            "status",
            "must be available, rented, inspection, repair, sold or retired",
        );
    }
    s
}

pub fn parse_query(q: &RentalUnitQuery) -> ServiceResult<(RentalUnitFilter, PageRequest)> {
    let bad = |m: &str| ServiceError::BadRequest(m.to_owned());
    let page = PageRequest::new(q.limit, q.after.clone()).map_err(ServiceError::BadRequest)?;
    let variant_id = q
        .variant_id
        .as_deref()
        .map(|v| {
            v.parse()
                .map_err(|_| bad("variant_id must be a variant id"))
        })
        .transpose()?;
    let status = q
        .status
        .as_deref()
        .map(|s| {
            UnitStatus::parse(s).ok_or_else(|| {
                bad("status must be available, rented, inspection, repair, sold or retired")
            })
        })
        .transpose()?;
    let condition = q
        .condition
        .as_deref()
        .map(|c| UnitCondition::parse(c).ok_or_else(|| bad("condition must be a, b or c")))
        .transpose()?;
    Ok((
        RentalUnitFilter {
            variant_id,
            status,
            condition,
        },
        page,
    ))
}

pub async fn list(
    svc: &Services,
    tenant: &Tenant,
    filter: &RentalUnitFilter,
    page: &PageRequest,
) -> ServiceResult<Page<RentalUnit>> {
    Ok(svc.store.list_rental_units(tenant.id, filter, page).await?)
}

/// A unit and its history, newest first.
pub async fn get(
    svc: &Services,
    tenant: &Tenant,
    id: RentalUnitId,
) -> ServiceResult<(RentalUnit, Vec<UnitEvent>)> {
    Ok(svc.store.rental_unit(tenant.id, id).await?)
}

/// Checks the staff's input and adds the unit, available.
pub async fn add(
    svc: &Services,
    tenant: &Tenant,
    input: RentalUnitInput,
    audit: &AuditContext,
) -> ServiceResult<RentalUnit> {
    let mut errors = ValidationErrors::new();
    let variant = shop_variant(svc, tenant, &input.variant_id, &mut errors).await?;
    let serial = errors.check("serial", parse_serial(&input.serial));
    let grade = match input.condition.as_deref() {
        Some(c) => condition(c, "condition", &mut errors),
        None => Some(UnitCondition::A),
    };
    let notes = note(&input.notes, "notes", &mut errors);
    errors.into_result()?;
    let (Some(variant_id), Some(serial), Some(condition)) = (variant, serial, grade) else {
        unreachable!("every missing part was a problem above");
    };
    let now = storekeep_store::now();
    let unit = RentalUnit {
        id: RentalUnitId::new(),
        tenant_id: tenant.id,
        variant_id,
        serial,
        condition,
        notes,
        status: UnitStatus::Available,
        contract_id: None,
        created_at: now,
        updated_at: now,
    };
    Ok(svc.store.add_rental_unit(&unit, "", audit).await?)
}

/// Changes a unit's grade or notes.
pub async fn update(
    svc: &Services,
    tenant: &Tenant,
    id: RentalUnitId,
    patch: RentalUnitPatch,
    audit: &AuditContext,
) -> ServiceResult<RentalUnit> {
    let mut errors = ValidationErrors::new();
    let grade = patch
        .condition
        .as_deref()
        .and_then(|c| condition(c, "condition", &mut errors));
    let notes = patch
        .notes
        .as_deref()
        .map(|n| note(n, "notes", &mut errors));
    errors.into_result()?;
    let patch = rentals::RentalUnitPatch {
        condition: grade,
        notes,
    };
    Ok(svc
        .store
        .update_rental_unit(tenant.id, id, &patch, audit)
        .await?)
}

/// A staff status move; one the rule refuses is a conflict.
pub async fn move_to(
    svc: &Services,
    tenant: &Tenant,
    id: RentalUnitId,
    input: UnitStatusInput,
    audit: &AuditContext,
) -> ServiceResult<RentalUnit> {
    let mut errors = ValidationErrors::new();
    let to = status_of(&input.status, &mut errors);
    let grade = input
        .condition
        .as_deref()
        .and_then(|c| condition(c, "condition", &mut errors));
    let note = note(&input.note, "note", &mut errors);
    errors.into_result()?;
    let Some(to) = to else {
        unreachable!("a missing status was a problem above");
    };
    let mv = UnitMove {
        to,
        condition: grade,
        note,
    };
    Ok(svc
        .store
        .move_rental_unit(tenant.id, id, &mv, audit)
        .await?)
}
