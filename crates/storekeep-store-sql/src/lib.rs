//! What the SQLite and PostgreSQL backends share, so that each backend's
//! files hold only what truly differs between the two databases: the SQL
//! text, bind types, locking and transactions.
//!
//! - [`DbId`]: a uuid column, TEXT on SQLite and `uuid` on PostgreSQL,
//!   decoded and bound alike;
//! - row structs (`#[derive(sqlx::FromRow)]`) that decode the same way on
//!   both databases, and their conversion into domain records;
//! - column lists both dialects read alike.
//!
//! Not here: SQL only one database understands (it stays in its backend),
//! and business rules (one pure function each in `storekeep-store`).

#![forbid(unsafe_code)]

pub mod commerce;
mod id;

pub use id::DbId;
