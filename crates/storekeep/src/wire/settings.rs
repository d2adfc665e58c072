//! A shop's settings as its admins send and see them.

use serde::{Deserialize, Serialize};
use storekeep_domain::TenantSettings;

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsBody {
    pub settings: TenantSettings,
}
