//! Plans: named sets of limits a tenant is held to.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::PlanId;

/// The plan a tenant gets when none is named. Created by the first migration.
pub const DEFAULT_PLAN: &str = "default";

/// A plan's name: 1–40 characters of `a-z`, `0-9`, `-` and `_`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(transparent)]
#[schema(value_type = String, example = "growth")]
pub struct PlanName(String);

impl PlanName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let s = raw.trim();
        if s.is_empty() || s.len() > 40 {
            return Err("must be 1 to 40 characters long".into());
        }
        if !s
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        {
            return Err("may contain only lowercase letters a-z, digits, '-' and '_'".into());
        }
        Ok(Self(s.to_owned()))
    }

    pub fn default_plan() -> Self {
        Self(DEFAULT_PLAN.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for PlanName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a plan allows. Rates are requests per minute per client for each
/// rate-limit tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanLimits {
    #[schema(minimum = 0)]
    pub max_products: i64,
    #[schema(minimum = 0)]
    pub max_staff: i64,
    #[schema(minimum = 0)]
    pub storage_bytes: i64,
    #[schema(minimum = 0, maximum = 60_000_000)]
    pub api_requests_per_minute: i64,
    #[schema(minimum = 0, maximum = 60_000_000)]
    pub auth_requests_per_minute: i64,
    #[schema(minimum = 0, maximum = 60_000_000)]
    pub search_requests_per_minute: i64,
    #[schema(minimum = 0, maximum = 60_000_000)]
    pub admin_requests_per_minute: i64,
}

impl Default for PlanLimits {
    /// The limits of the built-in `default` plan (kept equal to the first migration's row).
    fn default() -> Self {
        Self {
            max_products: 10_000,
            max_staff: 25,
            storage_bytes: 10 * 1024 * 1024 * 1024,
            api_requests_per_minute: 6_000,
            auth_requests_per_minute: 30,
            search_requests_per_minute: 1_200,
            admin_requests_per_minute: 1_200,
        }
    }
}

impl PlanLimits {
    /// Every limit must be zero or more; returns the offending field names.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        [
            ("max_products", self.max_products),
            ("max_staff", self.max_staff),
            ("storage_bytes", self.storage_bytes),
            ("api_requests_per_minute", self.api_requests_per_minute),
            ("auth_requests_per_minute", self.auth_requests_per_minute),
            (
                "search_requests_per_minute",
                self.search_requests_per_minute,
            ),
            ("admin_requests_per_minute", self.admin_requests_per_minute),
        ]
        .into_iter()
        .filter_map(|(f, v)| {
            if v < 0 {
                Some((f, "must be zero or more".to_owned()))
            } else if f.ends_with("_per_minute") && v > 60_000_000 {
                Some((f, "must be at most 60000000 (one a microsecond)".to_owned()))
            } else {
                None
            }
        })
        .collect()
    }
}

/// A named set of limits.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Plan {
    pub id: PlanId,
    pub name: PlanName,
    pub limits: PlanLimits,
    pub created_at: DateTime<Utc>,
}

/// A change to a plan's limits; `None` leaves a limit as it is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlanLimitsPatch {
    pub max_products: Option<i64>,
    pub max_staff: Option<i64>,
    pub storage_bytes: Option<i64>,
    pub api_requests_per_minute: Option<i64>,
    pub auth_requests_per_minute: Option<i64>,
    pub search_requests_per_minute: Option<i64>,
    pub admin_requests_per_minute: Option<i64>,
}

impl PlanLimitsPatch {
    /// `base` with this patch's limits put in.
    pub fn apply(&self, base: &PlanLimits) -> PlanLimits {
        PlanLimits {
            max_products: self.max_products.unwrap_or(base.max_products),
            max_staff: self.max_staff.unwrap_or(base.max_staff),
            storage_bytes: self.storage_bytes.unwrap_or(base.storage_bytes),
            api_requests_per_minute: self
                .api_requests_per_minute
                .unwrap_or(base.api_requests_per_minute),
            auth_requests_per_minute: self
                .auth_requests_per_minute
                .unwrap_or(base.auth_requests_per_minute),
            search_requests_per_minute: self
                .search_requests_per_minute
                .unwrap_or(base.search_requests_per_minute),
            admin_requests_per_minute: self
                .admin_requests_per_minute
                .unwrap_or(base.admin_requests_per_minute),
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// A validated request to create a plan.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPlan {
    pub name: PlanName,
    pub limits: PlanLimits,
}
