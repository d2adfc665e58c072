//! `storekeep audit verify`: recomputes every audit chain and names the
//! first entry that was changed, removed or reordered.

use std::process::ExitCode;

use clap::Subcommand;

use crate::config::Settings;
use crate::db;
use crate::services::audit::{ChainVerdict, verify_chains};

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Verify every chain; exit 1 at the first break.
    Verify,
}

pub async fn run(settings: Settings, cmd: AuditCommand) -> anyhow::Result<ExitCode> {
    let AuditCommand::Verify = cmd;
    super::announce(&settings, false)?;
    let store = db::connect(&settings).await?;
    let verdicts = verify_chains(store.as_ref()).await;
    store.close().await;
    let mut broken = false;
    for (scope, verdict) in verdicts? {
        match verdict {
            ChainVerdict::Intact(n) => println!("ok {scope}: {n} entries"),
            ChainVerdict::Broken(why) => {
                println!("BROKEN {scope}: {why}");
                broken = true;
            }
        }
    }
    Ok(if broken {
        ExitCode::FAILURE
    } else {
        println!("audit log intact");
        ExitCode::SUCCESS
    })
}
