//! One module per resource, each exporting `router()`.

pub mod admin_bulk;
pub mod admin_catalog;
pub mod admin_credentials;
pub mod admin_deals;
pub mod admin_email;
pub mod admin_orders;
pub mod admin_settings;
pub mod admin_staff;
pub mod admin_webhooks;
pub mod audit_log;
pub mod auth;
pub mod docs;
pub mod health;
pub mod metrics;
pub mod platform_plans;
pub mod platform_tenants;
pub mod store;
pub mod store_carts;
pub mod store_catalog;
pub mod store_deals;
pub mod store_orders;
pub mod webhooks;
// Background jobs.
pub mod admin_jobs;
pub mod platform_jobs;
// Rentals: plans and units.
pub mod admin_rentals;
pub mod store_rental_plans;
// Rental contracts (contracts part).
pub mod admin_contracts;
pub mod store_rentals;
// i16: customers' rights (export, erasure).
pub mod admin_customers;
pub mod admin_privacy;
pub mod store_account;

use crate::http::error::{ApiError, ApiResult};

/// An id from the path; one that does not parse is simply not found.
pub fn path_id<T: std::str::FromStr>(raw: &str, what: &str) -> ApiResult<T> {
    raw.parse().map_err(|_| ApiError::not_found(what))
}
