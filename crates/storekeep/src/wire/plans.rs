//! Plans (named limits) as platform operators send and see them.

use serde::{Deserialize, Serialize};
use storekeep_domain::Plan;

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

/// Limits to change; those left out stay as they are.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanPatchInput {
    #[serde(default)]
    pub limits: PlanLimitsInput,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPlanBody {
    pub plan: NewPlanInput,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanPatchBody {
    pub plan: PlanPatchInput,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PlanBody {
    pub plan: Plan,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PlanPage {
    pub items: Vec<Plan>,
    pub next_cursor: Option<String>,
}
