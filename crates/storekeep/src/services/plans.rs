//! Plans: named limits, managed by platform operators.

use serde::Deserialize;
use storekeep_domain::{AuditContext, NewPlan, Plan, PlanLimits, PlanName, ValidationErrors};
use storekeep_store::Store;

use super::ServiceResult;

/// A plan as a client sends it. Limits left out take the default plan's.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPlanInput {
    /// 1 to 40 of a-z, 0-9, '-', '_'.
    #[schema(example = "growth", pattern = r"^\s*[a-z0-9_-]{1,40}\s*$")]
    pub name: String,
    #[serde(default)]
    pub limits: PlanLimitsInput,
}

/// Every field is optional; a missing one takes the default plan's value.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanLimitsInput {
    #[schema(minimum = 0)]
    pub max_products: Option<i64>,
    #[schema(minimum = 0)]
    pub max_staff: Option<i64>,
    #[schema(minimum = 0)]
    pub storage_bytes: Option<i64>,
    #[schema(minimum = 0, maximum = 60_000_000)]
    pub api_requests_per_minute: Option<i64>,
    #[schema(minimum = 0, maximum = 60_000_000)]
    pub auth_requests_per_minute: Option<i64>,
    #[schema(minimum = 0, maximum = 60_000_000)]
    pub search_requests_per_minute: Option<i64>,
    #[schema(minimum = 0, maximum = 60_000_000)]
    pub admin_requests_per_minute: Option<i64>,
}

impl PlanLimitsInput {
    fn resolve(&self) -> PlanLimits {
        let d = PlanLimits::default();
        PlanLimits {
            max_products: self.max_products.unwrap_or(d.max_products),
            max_staff: self.max_staff.unwrap_or(d.max_staff),
            storage_bytes: self.storage_bytes.unwrap_or(d.storage_bytes),
            api_requests_per_minute: self
                .api_requests_per_minute
                .unwrap_or(d.api_requests_per_minute),
            auth_requests_per_minute: self
                .auth_requests_per_minute
                .unwrap_or(d.auth_requests_per_minute),
            search_requests_per_minute: self
                .search_requests_per_minute
                .unwrap_or(d.search_requests_per_minute),
            admin_requests_per_minute: self
                .admin_requests_per_minute
                .unwrap_or(d.admin_requests_per_minute),
        }
    }
}

impl NewPlanInput {
    pub fn parse(&self) -> Result<NewPlan, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let name = errors.check("name", PlanName::parse(&self.name));
        let limits = self.limits.resolve();
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

pub async fn create(
    store: &dyn Store,
    input: &NewPlanInput,
    audit: &AuditContext,
) -> ServiceResult<Plan> {
    let plan = input.parse()?;
    Ok(store.create_plan(&plan, audit).await?)
}
