//! One module per resource, each exporting `router()`.

pub mod admin_bulk;
pub mod admin_catalog;
pub mod admin_credentials;
pub mod admin_settings;
pub mod admin_staff;
pub mod audit_log;
pub mod auth;
pub mod docs;
pub mod health;
pub mod metrics;
pub mod platform_plans;
pub mod platform_tenants;
pub mod store;
pub mod store_catalog;
