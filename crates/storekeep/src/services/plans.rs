//! Plans: named limits, managed by platform operators.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use storekeep_domain::{
    AuditContext, NewPlan, Plan, PlanLimits, PlanLimitsPatch, PlanName, ValidationErrors,
};
use storekeep_store::{Store, StoreError};

use super::ServiceResult;
use crate::wire::plans::{NewPlanInput, PlanLimitsInput, PlanPatchInput};

impl PlanLimitsInput {
    /// Whether no limit is given.
    pub fn is_empty(&self) -> bool {
        self.patch().is_empty()
    }

    fn patch(&self) -> PlanLimitsPatch {
        PlanLimitsPatch {
            max_products: self.max_products,
            max_staff: self.max_staff,
            storage_bytes: self.storage_bytes,
            api_requests_per_minute: self.api_requests_per_minute,
            auth_requests_per_minute: self.auth_requests_per_minute,
            search_requests_per_minute: self.search_requests_per_minute,
            admin_requests_per_minute: self.admin_requests_per_minute,
        }
    }
}

impl NewPlanInput {
    /// Checks the input; limits left out take `defaults` (the `default`
    /// plan's limits as they are now).
    pub fn parse(&self, defaults: &PlanLimits) -> Result<NewPlan, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let name = errors.check("name", PlanName::parse(&self.name));
        let limits = self.limits.patch().apply(defaults);
        for (field, message) in limits.problems() {
            errors.add(&format!("limits.{field}"), message);
        }
        errors.into_result()?;
        Ok(NewPlan {
            name: name.expect("checked above"),
            limits,
        })
    }
}

impl PlanPatchInput {
    pub fn parse(&self) -> Result<PlanLimitsPatch, ValidationErrors> {
        let patch = self.limits.patch();
        let mut errors = ValidationErrors::new();
        // The built-in limits are all valid: any problem is a value sent.
        for (field, message) in patch.apply(&PlanLimits::default()).problems() {
            errors.add(&format!("limits.{field}"), message);
        }
        errors.into_result()?;
        Ok(patch)
    }
}

pub async fn create(
    store: &dyn Store,
    input: &NewPlanInput,
    audit: &AuditContext,
) -> ServiceResult<Plan> {
    let defaults = store.plan_by_name(&PlanName::default_plan()).await?.limits;
    let plan = input.parse(&defaults)?;
    Ok(store.create_plan(&plan, audit).await?)
}

/// Changes a plan's limits. Every shop on the plan is held to the new
/// limits at once (tenants read their plan's limits with every look-up);
/// changing `default` also changes what new plans start from and the
/// limits of routes that address no shop. A patch that names no limit
/// changes nothing and answers the plan as it is (nothing is audited).
pub async fn update(
    store: &dyn Store,
    name: &str,
    input: &PlanPatchInput,
    audit: &AuditContext,
) -> ServiceResult<Plan> {
    let name = PlanName::parse(name).map_err(|_| StoreError::NotFound("plan"))?;
    let patch = input.parse()?;
    if patch.is_empty() {
        return Ok(store.plan_by_name(&name).await?);
    }
    Ok(store.update_plan(&name, &patch, audit).await?)
}

pub async fn create_plan(
    svc: &crate::services::Services,
    input: &NewPlanInput,
    audit: &AuditContext,
) -> ServiceResult<Plan> {
    create(svc.store.as_ref(), input, audit).await
}

pub async fn list(
    svc: &crate::services::Services,
    page: &storekeep_domain::PageRequest,
) -> ServiceResult<storekeep_domain::Page<Plan>> {
    Ok(svc.store.list_plans(page).await?)
}

/// The plan named `name` (a name that is no plan's is not found).
pub async fn get(svc: &crate::services::Services, name: &str) -> ServiceResult<Plan> {
    let name = PlanName::parse(name).map_err(|_| StoreError::NotFound("plan"))?;
    Ok(svc.store.plan_by_name(&name).await?)
}

/// [`update`], then this node forgets what it cached of plan limits:
/// tenants carry their plan's limits, so they are looked up afresh.
pub async fn change_plan(
    svc: &crate::services::Services,
    name: &str,
    input: &PlanPatchInput,
    audit: &AuditContext,
) -> ServiceResult<Plan> {
    let plan = update(svc.store.as_ref(), name, input, audit).await?;
    svc.tenants.clear();
    svc.default_limits.clear();
    Ok(plan)
}

/// The `default` plan's limits (cached; see [`DefaultLimits`]).
pub async fn default_limits(svc: &crate::services::Services) -> PlanLimits {
    svc.default_limits.get(svc.store.as_ref()).await
}

/// How long [`DefaultLimits`] reuses what it read: as long as tenants (and
/// with them their plans' limits) are cached.
pub const DEFAULT_LIMITS_TTL: Duration = Duration::from_secs(1);

/// The `default` plan's limits, which apply where a request addresses no
/// shop (the platform API, operator logins). Read from the store at most
/// once per [`DEFAULT_LIMITS_TTL`].
#[derive(Default)]
pub struct DefaultLimits {
    cached: Mutex<Option<(PlanLimits, Instant)>>,
}

impl DefaultLimits {
    pub async fn get(&self, store: &dyn Store) -> PlanLimits {
        let last = *self.cached.lock().expect("default limits");
        if let Some((limits, at)) = last
            && at.elapsed() < DEFAULT_LIMITS_TTL
        {
            return limits;
        }
        match store.plan_by_name(&PlanName::default_plan()).await {
            Ok(plan) => {
                *self.cached.lock().expect("default limits") = Some((plan.limits, Instant::now()));
                plan.limits
            }
            // The request itself will meet the store's trouble; its rate
            // limit stays what it was (asked again after the TTL).
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the default plan; using its last known limits");
                let limits = last.map_or_else(PlanLimits::default, |(limits, _)| limits);
                *self.cached.lock().expect("default limits") = Some((limits, Instant::now()));
                limits
            }
        }
    }

    /// Forgets the cached limits; called after a plan changes on this node.
    pub fn clear(&self) {
        *self.cached.lock().expect("default limits") = None;
    }
}
