//! Permissions: what a staff role, an API key or an OAuth token may do in
//! its shop. Roles grant a fixed set; API keys and OAuth tokens carry them
//! as scopes, by name (`catalog:read`). Which route needs which permission
//! is the HTTP layer's table (`http::authz::ADMIN_ROUTES`).

use crate::Role;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    SettingsRead,
    SettingsWrite,
    StaffRead,
    StaffWrite,
    CredentialsRead,
    CredentialsWrite,
    AuditRead,
    CatalogRead,
    CatalogWrite,
    OrdersRead,
    OrdersWrite,
    /// Export everything the shop holds about a customer.
    CustomersRead,
    /// Erase a customer's personal data.
    CustomersErase,
}

/// Every permission, in the order they are listed to clients.
const ALL: &[Permission] = &[
    Permission::SettingsRead,
    Permission::SettingsWrite,
    Permission::StaffRead,
    Permission::StaffWrite,
    Permission::CredentialsRead,
    Permission::CredentialsWrite,
    Permission::AuditRead,
    Permission::CatalogRead,
    Permission::CatalogWrite,
    Permission::OrdersRead,
    Permission::OrdersWrite,
    Permission::CustomersRead,
    Permission::CustomersErase,
];

/// What staff may do: run the shop's catalog and orders, see its settings
/// and staff.
const STAFF: &[Permission] = &[
    Permission::SettingsRead,
    Permission::StaffRead,
    Permission::CatalogRead,
    Permission::CatalogWrite,
    Permission::OrdersRead,
    Permission::OrdersWrite,
];

/// What viewers may do: read what staff read.
const VIEWER: &[Permission] = &[
    Permission::SettingsRead,
    Permission::StaffRead,
    Permission::CatalogRead,
    Permission::OrdersRead,
];

impl Permission {
    /// The permission's name, as scopes carry it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SettingsRead => "settings:read",
            Self::SettingsWrite => "settings:write",
            Self::StaffRead => "staff:read",
            Self::StaffWrite => "staff:write",
            Self::CredentialsRead => "credentials:read",
            Self::CredentialsWrite => "credentials:write",
            Self::AuditRead => "audit:read",
            Self::CatalogRead => "catalog:read",
            Self::CatalogWrite => "catalog:write",
            Self::OrdersRead => "orders:read",
            Self::OrdersWrite => "orders:write",
            Self::CustomersRead => "customers:read",
            Self::CustomersErase => "customers:erase",
        }
    }

    /// The permission a scope names, if any.
    pub fn parse(s: &str) -> Option<Self> {
        ALL.iter().copied().find(|p| p.as_str() == s)
    }

    /// Every permission's name.
    pub fn all_names() -> Vec<&'static str> {
        ALL.iter().map(|p| p.as_str()).collect()
    }
}

impl Role {
    /// What the role may do: owners and admins everything.
    pub fn permissions(self) -> &'static [Permission] {
        match self {
            Self::Owner | Self::Admin => ALL,
            Self::Staff => STAFF,
            Self::Viewer => VIEWER,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back_and_roles_nest() {
        for name in Permission::all_names() {
            assert_eq!(Permission::parse(name).map(Permission::as_str), Some(name));
        }
        assert_eq!(Permission::parse("catalog:delete"), None);
        let holds = |outer: Role, inner: Role| {
            inner
                .permissions()
                .iter()
                .all(|p| outer.permissions().contains(p))
        };
        assert!(holds(Role::Owner, Role::Admin) && holds(Role::Admin, Role::Owner));
        assert!(holds(Role::Admin, Role::Staff) && holds(Role::Staff, Role::Viewer));
        assert!(!holds(Role::Staff, Role::Admin) && !holds(Role::Viewer, Role::Staff));
    }
}
