//! Wire types: every request and response body (the `utoipa::ToSchema`
//! structs the OpenAPI document names) and every query-parameter struct
//! (`utoipa::IntoParams`), one file per resource.
//!
//! They are plain data: serde shapes and schema annotations, nothing else.
//! Services take the inputs and parse them into domain types (collecting
//! every field problem); services build the views; handlers wrap them into
//! bodies. Renaming a type here renames its OpenAPI schema.

pub mod accounts;
pub mod audit;
pub mod bulk;
pub mod carts;
pub mod catalog;
pub mod credentials;
pub mod deals;
pub mod email;
pub mod health;
pub mod jobs;
pub mod orders;
pub mod page;
pub mod payments;
pub mod plans;
// i16: customers' rights (export, erasure).
pub mod privacy;
pub mod problem;
pub mod settings;
pub mod staff;
pub mod storefront;
pub mod tenants;
pub mod webhooks;
// Rentals.
pub mod rentals;
// Rental contracts (contracts part).
pub mod contracts;

/// For `PATCH` fields: a field left out is `None`, a field sent as `null`
/// is `Some(None)`. Use with `#[serde(default, deserialize_with = ...)]`.
pub fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(d).map(Some)
}
