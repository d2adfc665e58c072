//! The `storekeep` binary, run as a user or an orchestrator runs it:
//! commands, exit codes, signals, restarts and log lines.

mod backup;
mod backup_runs;
mod backup_s3;
mod backup_safety;
mod browser;
mod catalog;
mod config;
mod crash;
mod crash_import;
mod crash_support;
mod datastore_tls;
mod delivery;
#[path = "../api/email_support.rs"]
#[expect(dead_code, reason = "shared with the API tests, which use all of it")]
mod email_support;
mod jobs;
mod otel;
mod outage;
mod pitr;
mod rotation;
mod security;
mod serve;
mod shutdown;
mod tenant;
#[path = "../api/webhook_support.rs"]
mod webhook_support;

const BIN: &str = env!("CARGO_BIN_EXE_storekeep");
