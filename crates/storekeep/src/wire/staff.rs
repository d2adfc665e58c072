//! Staff accounts as shop admins send and see them.

use serde::{Deserialize, Serialize};
use storekeep_domain::Role;

use super::accounts::{Account, NewAccountInput};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStaffBody {
    pub staff: NewStaffInput,
}

/// A new staff account: the account's fields and its role.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStaffInput {
    pub email: String,
    pub password: String,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub role: Role,
}

/// A staff member's new role (`PATCH /api/v1/admin/staff/{id}`).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffRoleBody {
    pub staff: StaffRoleInput,
}

/// The one field a role change sends: an account holds one role.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffRoleInput {
    pub role: Role,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StaffBody {
    pub staff: Account,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StaffPage {
    pub items: Vec<Account>,
    pub next_cursor: Option<String>,
}

impl NewStaffInput {
    /// The account part.
    pub fn account(&self) -> NewAccountInput {
        NewAccountInput {
            email: self.email.clone(),
            password: self.password.clone(),
            name: self.name.clone(),
            phone: self.phone.clone(),
        }
    }
}
