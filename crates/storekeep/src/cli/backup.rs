//! `storekeep backup create|list|verify|restore|prune|keygen`: encrypted
//! backups of the database (see docs/backups.md).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

use crate::backup::{self, Progress};
use crate::config::Settings;

#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Take a backup of the database now (the server may keep running).
    Create {
        /// Print the manifest as JSON instead of a sentence.
        #[arg(long)]
        json: bool,
    },
    /// The backups at the destination, newest first.
    List {
        /// One JSON manifest per line.
        #[arg(long)]
        json: bool,
    },
    /// Restore a backup into a scratch database and check it; exit 1 if
    /// anything is wrong.
    Verify {
        /// A backup id, or `latest`.
        id: String,
        /// The age identity file (default: backup.identity_file).
        #[arg(long, value_name = "FILE")]
        identity: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Replace the database with a backup (stop the servers first); the
    /// old database is kept aside.
    Restore {
        /// A backup id, or `latest`.
        id: String,
        /// Replace a database that holds data.
        #[arg(long)]
        force: bool,
        /// The age identity file (default: backup.identity_file).
        #[arg(long, value_name = "FILE")]
        identity: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Delete the backups the retention policy (backup.keep) lets go.
    Prune {
        /// Only list what would be deleted.
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        json: bool,
    },
    /// Print a new age identity (keep it secret) and its recipient (for
    /// backup.recipients).
    Keygen,
}

pub async fn run(settings: Settings, cmd: BackupCommand) -> anyhow::Result<ExitCode> {
    log_warnings_to_stderr();
    if let Some(why) = settings
        .backup
        .media_overlap(&settings.media, &settings.data_dir)
    {
        // `create` refuses it (in `backup::create`); reading and pruning
        // the backups already there still works, so they can be moved.
        if !matches!(cmd, BackupCommand::Create { .. }) {
            eprintln!("warning: backup: {why}; `backup create` refuses this configuration");
        }
    }
    match cmd {
        BackupCommand::Create { json } => {
            super::announce(&settings, false)?;
            // The scheduled run's lock: one backup at a time.
            let held = backup::lock::lock(&settings).await?;
            let created = backup::create(&settings, &held, &Progress::new(!json)).await;
            if let Err(e) = held.release().await {
                // The backup stands; the lock goes with the connection or
                // the process anyway.
                tracing::warn!(error = %format!("{e:#}"), "releasing the backup lock");
            }
            let m = created?;
            if json {
                super::print_json(&m)?;
            } else {
                println!(
                    "backup {} created: {} ({}), {} tables, {} rows, {} audit chains, {} media objects",
                    m.id,
                    m.archive.file,
                    human_bytes(m.archive.bytes),
                    m.tables.len(),
                    m.tables.values().sum::<i64>(),
                    m.audit_heads.len(),
                    m.media.objects.len()
                );
            }
        }
        BackupCommand::List { json } => {
            let all = backup::list(&settings).await?;
            if !json {
                println!(
                    "{:<20} {:>10} {:>8} {:<9} {:>16}",
                    "ID", "SIZE", "AGE", "DATABASE", "SCHEMA"
                );
            }
            let now = chrono::Utc::now();
            for m in all {
                if json {
                    println!("{}", serde_json::to_string(&m)?);
                } else {
                    println!(
                        "{:<20} {:>10} {:>8} {:<9} {:>16}",
                        m.id,
                        human_bytes(m.archive.bytes),
                        human_age((now - m.created_at).num_seconds()),
                        m.database,
                        m.schema_version
                            .map_or_else(|| "-".to_owned(), |v| v.to_string())
                    );
                }
            }
        }
        BackupCommand::Verify { id, identity, json } => {
            let m = backup::find(&settings, &id).await?;
            let ids = backup::identities(&settings, identity.as_deref())?;
            let v = backup::verify(&settings, &m, ids, &Progress::new(!json)).await?;
            if json {
                super::print_json(&v)?;
            } else {
                println!(
                    "backup {} verified: restored into a scratch database, integrity checked, {} tables and {} rows \
                     as the manifest says, {} audit chains intact",
                    v.id, v.tables, v.rows, v.audit_chains
                );
            }
            for key in &v.media_missing {
                eprintln!("warning: media object {key} is missing from the media store or changed");
            }
        }
        BackupCommand::Restore {
            id,
            force,
            identity,
            json,
        } => {
            let m = backup::find(&settings, &id).await?;
            let ids = backup::identities(&settings, identity.as_deref())?;
            super::announce(&settings, true)?;
            let r = backup::restore(&settings, &m, ids, force, &Progress::new(!json)).await?;
            if json {
                super::print_json(&r)?;
            } else {
                println!("backup {} restored", r.id);
                if let Some(p) = &r.previous {
                    println!("the database it replaced is kept as {p}");
                }
            }
        }
        BackupCommand::Prune { dry_run, json } => {
            let gone = backup::to_prune(&settings, chrono::Utc::now()).await?;
            let dest = backup::destination(&settings)?;
            for m in &gone {
                if !dry_run {
                    backup::delete(&dest, m).await?;
                }
                if json {
                    println!(
                        "{}",
                        serde_json::json!({"id": m.id, "created_at": m.created_at, "deleted": !dry_run})
                    );
                } else {
                    println!(
                        "{} {}",
                        if dry_run { "would delete" } else { "deleted" },
                        m.id
                    );
                }
            }
            if !json {
                println!(
                    "{} backup(s) {}",
                    gone.len(),
                    if dry_run {
                        "would be deleted"
                    } else {
                        "deleted"
                    }
                );
            }
        }
        BackupCommand::Keygen => {
            let (text, recipient) = backup::new_identity();
            print!("{text}");
            eprintln!("recipient (for backup.recipients): {recipient}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

fn human_age(secs: i64) -> String {
    match secs.max(0) {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

/// The backup code warns through `tracing` (so that a scheduled run's
/// warnings land in the server's JSON log); a command shows them on
/// stderr, one plain line each (`RUST_LOG` may ask for more).
fn log_warnings_to_stderr() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .without_time()
        .with_target(false)
        .try_init();
}
