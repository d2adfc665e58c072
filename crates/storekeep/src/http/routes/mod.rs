//! One module per resource, each exporting `router()`.

pub mod docs;
pub mod health;
pub mod metrics;
pub mod platform_plans;
pub mod platform_tenants;
pub mod store;
