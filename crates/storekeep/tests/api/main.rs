//! The HTTP API, driven over real HTTP against a server started in this
//! process on a random port, on SQLite or (with STOREKEEP_TEST_DATABASE_URL)
//! PostgreSQL.

mod docs;
mod errors;
mod health;
mod metrics;
mod plans;
mod tenancy;
mod tenants;
