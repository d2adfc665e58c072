//! What the SQLite and PostgreSQL backends share, so that each backend's
//! files hold only what truly differs between the two databases: the SQL
//! text, bind types, locking and transactions.
//!
//! - [`DbId`]: a uuid column, TEXT on SQLite and `uuid` on PostgreSQL,
//!   decoded and bound alike;
//! - row structs (`#[derive(sqlx::FromRow)]`) that decode the same way on
//!   both databases, and their conversion into domain records;
//! - column lists both dialects read alike, and statements both accept
//!   verbatim, written once with the values they bind ([`stmt::Stmt`]),
//!   and [`run::Runner`], which runs them with a backend's error classifier;
//! - [`HealthCheck`], the readiness probe's own connection;
//! - [`backend::Backend`], what a database adds to the store code both
//!   backends run alike, and that code, written once and generic over it
//!   (`plans`, `tenants`, `identity::{accounts, sessions, access}`,
//!   `catalog::{categories, images, variants, inventory, products}`,
//!   `commerce::outbox`);
//! - [`impl_store!`] and the catalog and commerce impl macros, the trait
//!   methods written once as calls into that code or the backend's own
//!   files.
//!
//! Not here: SQL only one database understands (it stays in its backend),
//! and business rules (one pure function each in `storekeep-store`).

#![forbid(unsafe_code)]

pub mod audit;
pub mod backend;
pub mod catalog;
pub mod commerce;
mod id;
pub mod identity;
pub mod jobs;
pub mod maintenance;
pub mod plans;
pub mod platform;
// i16: customers' rights (export, erasure).
mod platform_health;
mod platform_store;
pub mod portable;
pub mod privacy;
pub mod read_route;
pub mod rentals;
pub mod run;
pub mod sealed;
pub mod stmt;
pub mod tenants;
pub mod webhooks;
// Rental contracts (contracts part).
pub mod contracts;
// i15 phase 2, glue: catalog deletes that contracts refuse.
pub mod rental_guard;

pub use id::DbId;
pub use platform_health::{HealthCheck, Probe};
