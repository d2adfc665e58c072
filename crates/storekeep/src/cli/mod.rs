//! The command line: one file per command.

mod audit;
mod backup;
mod catalog;
mod check_config;
// `healthcheck`: the container image's liveness probe (issue 19).
mod healthcheck;
mod keys;
mod migrate;
mod plan;
// `export shop` / `import shop` (issue 16), beside the catalog formats.
mod portable;
mod seed;
mod serve;
mod tenant;
mod user;
// Background jobs.
mod jobs;
// i15 daily job
mod media;
mod rentals;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use clap::{Parser, Subcommand};

use crate::config::{self, Settings};
use crate::db;

#[derive(Debug, Parser)]
#[command(
    name = "storekeep",
    version,
    about = "Multi-tenant headless commerce server"
)]
pub struct Cli {
    /// TOML configuration file; environment variables override it.
    #[arg(long, global = true, env = "STOREKEEP_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (applies pending migrations first).
    Serve(serve::ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Explain every problem with the configuration; exit 1 if there is any.
    CheckConfig(check_config::CheckConfigArgs),
    /// Manage tenants (shops).
    #[command(subcommand)]
    Tenant(tenant::TenantCommand),
    /// Manage plans (named limits).
    #[command(subcommand)]
    Plan(plan::PlanCommand),
    /// Fill the database with sample data.
    Seed(seed::SeedArgs),
    /// Manage accounts (bootstrap staff and platform operators).
    #[command(subcommand)]
    User(user::UserCommand),
    /// Check the audit log's hash chains.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Manage the PII encryption keys.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Bulk-load data into a shop, or import a whole shop or platform.
    #[command(subcommand)]
    Import(portable::ImportCommand),
    /// Write data out: a shop's products, the whole shop, or the whole platform.
    #[command(subcommand)]
    Export(portable::ExportCommand),
    /// Inspect, retry and discard background jobs.
    #[command(subcommand)]
    Jobs(jobs::JobsCommand),
    /// Rentals upkeep: the daily pass.
    #[command(subcommand)]
    Rentals(rentals::RentalsCommand),
    /// Encrypted backups: create, list, verify, restore, prune.
    #[command(subcommand)]
    Backup(backup::BackupCommand),
    /// Image upkeep: make missing image variants.
    #[command(subcommand)]
    Media(media::MediaCommand),
    /// Probe this node's liveness over HTTP; exit 0 if it answers 200
    /// (for a container's HEALTHCHECK, which has no curl).
    Healthcheck(healthcheck::HealthcheckArgs),
}

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve(args) => serve::run(cli.config, args).await,
        Command::Migrate => migrate::run(load_settings(cli.config)?).await,
        Command::CheckConfig(args) => Ok(check_config::run(cli.config, args).await),
        Command::Tenant(cmd) => tenant::run(load_settings(cli.config)?, cmd).await,
        Command::Plan(cmd) => plan::run(load_settings(cli.config)?, cmd).await,
        Command::Seed(args) => seed::run(load_settings(cli.config)?, args).await,
        Command::User(cmd) => user::run(load_settings(cli.config)?, cmd).await,
        Command::Audit(cmd) => audit::run(load_settings(cli.config)?, cmd).await,
        Command::Keys(cmd) => keys::run(cli.config, cmd).await,
        Command::Import(cmd) => portable::import(load_settings(cli.config)?, cmd).await,
        Command::Export(cmd) => portable::export(load_settings(cli.config)?, cmd).await,
        Command::Jobs(cmd) => jobs::run(load_settings(cli.config)?, cmd).await,
        Command::Rentals(cmd) => rentals::run(load_settings(cli.config)?, cmd).await,
        Command::Backup(cmd) => backup::run(load_settings(cli.config)?, cmd).await,
        Command::Media(cmd) => media::run(load_settings(cli.config)?, cmd).await,
        Command::Healthcheck(args) => healthcheck::run(cli.config, args).await,
    }
}

/// Loads settings from the file and the environment; warnings go to
/// stderr, and any problem stops the command with all of them listed.
pub fn load_settings(file: Option<PathBuf>) -> anyhow::Result<Settings> {
    let loaded = config::load(file.as_deref(), std::env::vars());
    for w in &loaded.warnings {
        eprintln!("warning: {w}");
    }
    match loaded.settings {
        Ok(s) => Ok(s),
        Err(problems) => bail!(
            "the configuration has {} problem(s):\n  - {}\nrun `storekeep check-config` for details",
            problems.len(),
            problems.join("\n  - ")
        ),
    }
}

/// Opens the configured database for a command (applying pending
/// migrations) and says on stderr, in one line, which database it is.
/// `creates`: the command may create the embedded database and its folder
/// when there is none (it says so); a command that only reads refuses
/// instead of showing an empty new database.
pub async fn open_store(
    settings: &Settings,
    creates: bool,
) -> anyhow::Result<std::sync::Arc<dyn storekeep_store::Store>> {
    announce(settings, creates)?;
    db::connect_and_migrate(settings).await
}

/// The check and the stderr line of [`open_store`], for commands that
/// connect without migrating.
pub fn announce(settings: &Settings, creates: bool) -> anyhow::Result<()> {
    let missing = db::embedded_file(settings).is_some_and(|f| !f.exists());
    if missing && !creates {
        db::require_existing(settings)?;
    }
    eprintln!(
        "storekeep: using {}{}",
        db::describe(settings),
        if missing { " (new: created now)" } else { "" }
    );
    Ok(())
}

/// Prints a value as indented JSON on stdout.
fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// How the audit log names actions taken from the command line.
pub fn cli_actor() -> storekeep_domain::AuditContext {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_default();
    storekeep_domain::AuditContext {
        actor: if user.is_empty() {
            "cli".into()
        } else {
            format!("cli:{user}")
        },
        ip: None,
        request_id: None,
    }
}

/// `verify_cli`: clap's own consistency checks on the whole command tree.
#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        super::Cli::command().debug_assert();
    }
}
