//! storekeep: a multi-tenant, headless commerce server.
//!
//! The binary (`main.rs`) is thin; everything is built here so tests can
//! start the real server in-process. See `ARCHITECTURE.md` for the layers.

#![forbid(unsafe_code)]

pub mod app;
pub mod backup;
pub mod batch;
pub mod cache;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod db;
pub mod http;
pub mod jobs;
pub mod mail;
pub mod media;
pub mod metrics;
pub mod metrics_history;
pub mod payments;
pub mod portable;
pub mod progress;
pub mod ratelimit;
pub mod redis_link;
pub mod services;
pub mod startup;
pub mod telemetry;
pub mod traced_store;
pub mod traces;
pub mod web;
pub mod wire;

/// The crate version, reported by health checks and metrics.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The git revision the binary was built from, or `unknown`.
pub const GIT_REVISION: &str = env!("BUILD_GIT_REVISION");
