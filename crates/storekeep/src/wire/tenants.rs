//! Tenants as platform operators send and see them.

use serde::{Deserialize, Serialize};
use storekeep_domain::{Tenant, TenantSettings, TenantStatus};

/// A tenant as a client sends it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTenantInput {
    #[schema(example = "acme")]
    pub slug: String,
    #[schema(example = "ACME Refurbished")]
    pub name: String,
    /// Plan name; the `default` plan when left out.
    pub plan: Option<String>,
    /// Custom domains the shop is served on.
    #[serde(default)]
    pub domains: Vec<String>,
    pub settings: Option<TenantSettings>,
}

/// Fields to change; those left out stay as they are. `domains` and
/// `settings`, when present, replace the whole list or object.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantPatchInput {
    pub name: Option<String>,
    pub status: Option<TenantStatus>,
    pub plan: Option<String>,
    pub domains: Option<Vec<String>>,
    pub settings: Option<TenantSettings>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTenantBody {
    pub tenant: NewTenantInput,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantPatchBody {
    pub tenant: TenantPatchInput,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TenantBody {
    pub tenant: Tenant,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TenantPage {
    pub items: Vec<Tenant>,
    pub next_cursor: Option<String>,
}
