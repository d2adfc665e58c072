//! The command line: one file per command.

mod check_config;
mod migrate;
mod plan;
mod seed;
mod serve;
mod tenant;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use clap::{Parser, Subcommand};

use crate::config::{self, Settings};

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
    CheckConfig,
    /// Manage tenants (shops).
    #[command(subcommand)]
    Tenant(tenant::TenantCommand),
    /// Manage plans (named limits).
    #[command(subcommand)]
    Plan(plan::PlanCommand),
    /// Fill the database with sample data.
    Seed(seed::SeedArgs),
}

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve(args) => serve::run(cli.config, args).await,
        Command::Migrate => migrate::run(load_settings(cli.config)?).await,
        Command::CheckConfig => Ok(check_config::run(cli.config).await),
        Command::Tenant(cmd) => tenant::run(load_settings(cli.config)?, cmd).await,
        Command::Plan(cmd) => plan::run(load_settings(cli.config)?, cmd).await,
        Command::Seed(args) => seed::run(load_settings(cli.config)?, args).await,
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

/// Prints a value as indented JSON on stdout.
fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
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
