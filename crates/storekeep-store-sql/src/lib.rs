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
//! - [`impl_store!`], the `Store` methods both backends delegate alike to
//!   their twin platform and identity modules.
//!
//! Not here: SQL only one database understands (it stays in its backend),
//! and business rules (one pure function each in `storekeep-store`).

#![forbid(unsafe_code)]

pub mod backend;
pub mod catalog;
pub mod commerce;
mod id;
pub mod identity;
pub mod plans;
pub mod platform;
mod platform_health;
mod platform_store;
pub mod run;
pub mod stmt;

pub use id::DbId;
pub use platform_health::{HealthCheck, Probe};
