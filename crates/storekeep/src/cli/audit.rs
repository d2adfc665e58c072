//! `storekeep audit verify`: recomputes every audit chain and names the
//! first entry that was changed, removed or reordered.

use std::process::ExitCode;

use clap::Subcommand;
use storekeep_store::audit::verify_chain;

use crate::config::Settings;
use crate::db;

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Verify every chain; exit 1 at the first break.
    Verify,
}

pub async fn run(settings: Settings, cmd: AuditCommand) -> anyhow::Result<ExitCode> {
    let AuditCommand::Verify = cmd;
    super::announce(&settings, false)?;
    let store = db::connect(&settings).await?;
    let mut broken = false;
    for scope in store.audit_scopes().await? {
        let mut entries = Vec::new();
        loop {
            let after = entries
                .last()
                .map_or(0, |e: &storekeep_domain::AuditEntry| e.seq);
            let batch = store.audit_chain(&scope, after, 5_000).await?;
            if batch.is_empty() {
                break;
            }
            entries.extend(batch);
        }
        let head = store.audit_head(&scope).await?;
        match verify_chain(&entries) {
            Err(b) => {
                println!("BROKEN {scope}: entry {} {}", b.seq, b.reason);
                broken = true;
            }
            Ok(n) => {
                let last = entries.last().map(|e| (e.seq, e.hash.clone()));
                if last != head {
                    let recorded = head.map_or(0, |h| h.0);
                    println!(
                        "BROKEN {scope}: the chain ends at entry {} but {recorded} entries were recorded; entries after {} were removed",
                        n, n
                    );
                    broken = true;
                } else {
                    println!("ok {scope}: {n} entries");
                }
            }
        }
    }
    store.close().await;
    Ok(if broken {
        ExitCode::FAILURE
    } else {
        println!("audit log intact");
        ExitCode::SUCCESS
    })
}
