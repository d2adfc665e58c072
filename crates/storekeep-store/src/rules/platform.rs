//! Plans and tenants: what a create or an update writes, and what it
//! records in the platform's audit chain.

use chrono::{DateTime, Utc};
use storekeep_domain::{
    NewPlan, NewTenant, PLATFORM_SCOPE, Plan, PlanId, PlanLimitsPatch, PlanName, Tenant,
    TenantPatch, TenantSettings, TenantStatus,
};

use crate::StoreResult;
use crate::audit::Change;

/// Audit actions.
pub const PLAN_CREATE: &str = "plan.create";
pub const PLAN_UPDATE: &str = "plan.update";
pub const TENANT_CREATE: &str = "tenant.create";
pub const TENANT_UPDATE: &str = "tenant.update";
/// A shop's settings changed, recorded in the shop's own chain too (its
/// staff read their chain, not the platform's).
pub const SETTINGS_UPDATE: &str = "settings.update";

/// What `NotFound` names.
pub const PLAN: &str = "plan";
pub const TENANT: &str = "tenant";

/// The input a unique-key conflict blames, and the unknown reference of a
/// tenant whose plan does not exist.
pub const FIELD_NAME: &str = "name";
pub const FIELD_SLUG: &str = "slug";
pub const FIELD_DOMAINS: &str = "domains";
pub const FIELD_PLAN: &str = "plan";

/// Why a store that was closed (at shutdown) refuses work.
pub const STORE_CLOSED: &str = "the store is closed";

/// Why a readiness check failed: the database did not answer in time.
pub fn unanswered(bound: std::time::Duration) -> crate::StoreError {
    crate::StoreError::unavailable(format!(
        "the database did not answer within {} ms",
        bound.as_millis()
    ))
}

/// The plan as created at `at`.
pub fn new_plan(new: &NewPlan, at: DateTime<Utc>) -> Plan {
    Plan {
        id: PlanId::new(),
        name: new.name.clone(),
        limits: new.limits,
        created_at: at,
    }
}

/// The plan once `patch` is applied: only the limits it names change.
pub fn patched_plan(before: &Plan, patch: &PlanLimitsPatch) -> Plan {
    Plan {
        limits: patch.apply(&before.limits),
        ..before.clone()
    }
}

pub fn plan_created(plan: &Plan) -> StoreResult<Change> {
    Change::new(PLATFORM_SCOPE, PLAN_CREATE, plan_target(plan)).after(plan)
}

pub fn plan_updated(before: &Plan, after: &Plan) -> StoreResult<Change> {
    Change::new(PLATFORM_SCOPE, PLAN_UPDATE, plan_target(after))
        .before(before)?
        .after(after)
}

fn plan_target(plan: &Plan) -> String {
    format!("plan:{}", plan.name)
}

/// The plan a new tenant is put on: the one it names, else the default.
pub fn plan_of(new: &NewTenant) -> PlanName {
    new.plan.clone().unwrap_or_else(PlanName::default_plan)
}

/// A new tenant's status.
pub const NEW_TENANT_STATUS: TenantStatus = TenantStatus::Active;

/// A tenant's own fields once a patch is applied; `None` in the patch
/// keeps the current value. (A new plan and new domains, when the patch
/// names them, replace the current ones.)
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TenantFields<'a> {
    pub name: &'a str,
    pub status: TenantStatus,
    pub settings: &'a TenantSettings,
}

/// The settings a patch stores, if it changes them: its own, but with the
/// shop's current DKIM signing when the patch keeps it
/// (`TenantPatch::keep_email_dkim`). Applied to the row read under the
/// update's lock, so a key the shop's staff set meanwhile is kept too.
pub fn patched_settings(current: &Tenant, patch: &TenantPatch) -> Option<TenantSettings> {
    let mut settings = patch.settings.clone()?;
    if patch.keep_email_dkim {
        settings.email_dkim.clone_from(&current.settings.email_dkim);
    }
    Some(settings)
}

pub fn patched_tenant<'a>(current: &'a Tenant, patch: &'a TenantPatch) -> TenantFields<'a> {
    TenantFields {
        name: patch.name.as_deref().unwrap_or(&current.name),
        status: patch.status.unwrap_or(current.status),
        settings: patch.settings.as_ref().unwrap_or(&current.settings),
    }
}

pub fn tenant_created(tenant: &Tenant) -> StoreResult<Change> {
    Change::new(PLATFORM_SCOPE, TENANT_CREATE, tenant_target(tenant)).after(&audited(tenant))
}

pub fn tenant_updated(before: &Tenant, after: &Tenant) -> StoreResult<Change> {
    Change::new(PLATFORM_SCOPE, TENANT_UPDATE, tenant_target(after))
        .before(&audited(before))?
        .after(&audited(after))
}

/// The change of a shop's settings for the shop's own chain, when an
/// update changed them (whoever made it: the shop's staff through the
/// admin API or the console, or an operator); `None` when they are equal.
pub fn settings_changed(before: &Tenant, after: &Tenant) -> Option<StoreResult<Change>> {
    (before.settings != after.settings).then(|| {
        Change::new(after.id.to_string(), SETTINGS_UPDATE, "settings")
            .before(&audited(before).settings)?
            .after(&audited(after).settings)
    })
}

/// A tenant as the audit log keeps it: the sealed DKIM key left out (only
/// `key_configured` says there is one). The log is append-only, so what it
/// holds cannot be re-encrypted by a key rotation: it holds no key material.
fn audited(tenant: &Tenant) -> Tenant {
    let mut t = tenant.clone();
    t.settings = t.settings.redacted();
    t
}

fn tenant_target(tenant: &Tenant) -> String {
    format!("tenant:{}", tenant.slug)
}

#[cfg(test)]
mod tests {
    use storekeep_domain::PlanLimits;

    use super::*;

    fn plan() -> Plan {
        new_plan(
            &NewPlan {
                name: PlanName::parse("pro").unwrap(),
                limits: PlanLimits::default(),
            },
            crate::now(),
        )
    }

    #[test]
    fn a_plan_patch_changes_only_the_limits_it_names() {
        let before = plan();
        let after = patched_plan(
            &before,
            &PlanLimitsPatch {
                max_staff: Some(3),
                ..PlanLimitsPatch::default()
            },
        );
        assert_eq!(after.limits.max_staff, 3);
        assert_eq!(
            PlanLimits {
                max_staff: before.limits.max_staff,
                ..after.limits
            },
            before.limits
        );
        assert_eq!((after.id, &after.name), (before.id, &before.name));
    }

    #[test]
    fn a_plan_update_is_audited_on_the_platform_chain_with_both_states() {
        let before = plan();
        let mut after = before.clone();
        after.limits.max_products = 1;
        let change = plan_updated(&before, &after).unwrap();
        assert_eq!(change.scope, PLATFORM_SCOPE);
        assert_eq!(change.action, "plan.update");
        assert_eq!(change.target, "plan:pro");
        assert_eq!(change.before.unwrap()["limits"]["max_products"], 10_000);
        assert_eq!(change.after.unwrap()["limits"]["max_products"], 1);
    }
}
