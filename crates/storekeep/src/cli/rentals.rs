//! `storekeep rentals run-daily [--date YYYY-MM-DD]`: the daily rentals
//! pass now, for every shop — for the given date instead of each shop's
//! today, to catch up a missed day. A running server's workers send the
//! reminder emails it enqueues.

use std::process::ExitCode;

use anyhow::Context;
use chrono::NaiveDate;
use clap::Subcommand;
use storekeep_store::now;
use storekeep_store::rules::rental_daily::DailyPass;

use crate::config::Settings;
use crate::services::contracts::daily::run_daily;

#[derive(Debug, Subcommand)]
pub enum RentalsCommand {
    /// Run the daily pass: overdue and defaulted contracts, late fees,
    /// reminders. Safe to run again: what was done is not done twice.
    RunDaily {
        /// The date to run for (YYYY-MM-DD); default: each shop's today.
        #[arg(long)]
        date: Option<String>,
    },
}

pub async fn run(settings: Settings, cmd: RentalsCommand) -> anyhow::Result<ExitCode> {
    let RentalsCommand::RunDaily { date } = cmd;
    let date = date
        .map(|d| {
            NaiveDate::parse_from_str(&d, "%Y-%m-%d")
                .with_context(|| format!("'{d}' is not a date (YYYY-MM-DD)"))
        })
        .transpose()?;
    let store = super::open_store(&settings, false).await?;
    let pass = DailyPass { at: now(), date };
    let out = run_daily(store.as_ref(), &pass).await?;
    println!("{}", serde_json::to_string(&out)?);
    Ok(ExitCode::SUCCESS)
}
