//! Rentals, the plans and units part: staff input rules for rental plans
//! and serial-tracked units (every field problem at once), and the
//! storefront's view of a product's plans.

pub mod plans;
pub mod units;

use storekeep_domain::{Tenant, UnitCondition, ValidationErrors, VariantId};

use crate::services::{ServiceResult, Services};

/// What an unknown or foreign variant is told.
const NOT_A_VARIANT: &str = "must be one of the shop's variants";

/// A variant id from the input that names one of the shop's variants, or
/// a problem on `variant_id`.
pub(crate) async fn shop_variant(
    svc: &Services,
    tenant: &Tenant,
    raw: &str,
    errors: &mut ValidationErrors,
) -> ServiceResult<Option<VariantId>> {
    let Ok(id) = raw.trim().parse::<VariantId>() else {
        errors.add("variant_id", NOT_A_VARIANT);
        return Ok(None);
    };
    if !svc.store.has_variant(tenant.id, id).await? {
        errors.add("variant_id", NOT_A_VARIANT);
        return Ok(None);
    }
    Ok(Some(id))
}

/// A unit grade from the input, or a problem on `field`.
pub(crate) fn condition(
    raw: &str,
    field: &str,
    errors: &mut ValidationErrors,
) -> Option<UnitCondition> {
    let c = UnitCondition::parse(raw);
    if c.is_none() {
        errors.add(field, "must be a, b or c");
    }
    c
}

/// Free text kept with a unit (notes, history notes): at most 2000
/// characters, trimmed.
pub(crate) fn note(raw: &str, field: &str, errors: &mut ValidationErrors) -> String {
    let s = raw.trim();
    if s.chars().count() > 2_000 {
        errors.add(field, "must be at most 2000 characters");
    }
    s.to_owned()
}
