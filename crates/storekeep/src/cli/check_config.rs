//! `storekeep check-config`: explains every problem with the configuration
//! in plain words, tries the database, and exits 1 if anything is wrong.
//! The problems come first and again last, so none scrolls out of sight;
//! `--explain` adds every setting with its environment variable between.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use crate::config::{self, KEYS};
use crate::db;

#[derive(Debug, clap::Args)]
pub struct CheckConfigArgs {
    /// Also list every setting, its environment variable and its default.
    #[arg(long)]
    pub explain: bool,
}

pub async fn run(file: Option<PathBuf>, args: CheckConfigArgs) -> ExitCode {
    let loaded = config::load(file.as_deref(), std::env::vars());
    for w in &loaded.warnings {
        println!("warning: {w}");
    }
    let settings = match loaded.settings {
        Ok(s) => s,
        Err(problems) => return report(&problems, args.explain),
    };

    let mut problems = config::check_environment(&settings);
    if let Some(why) = settings
        .backup
        .media_overlap(&settings.media, &settings.data_dir)
    {
        problems.push(format!("backup: {why}"));
    }
    let missing = db::embedded_file(&settings).filter(|f| !f.exists());
    if let Some(file) = &missing {
        // Connecting would create it: say so instead.
        println!(
            "note: {} does not exist yet; `storekeep serve` or `storekeep migrate` creates it",
            file.display()
        );
    } else {
        match tokio::time::timeout(Duration::from_secs(5), db::connect(&settings)).await {
            Err(_) => problems.push("database: no answer within 5 s".into()),
            Ok(Err(e)) => problems.push(format!("database: {e:#}")),
            Ok(Ok(store)) => {
                match store.migration_status().await {
                    Ok(s) if s.unknown_applied > 0 => problems.push(format!(
                        "database: {} migration(s) applied by a newer storekeep; upgrade this binary",
                        s.unknown_applied
                    )),
                    Ok(s) if !s.is_current() => println!(
                        "note: {} of {} migrations applied; `storekeep migrate` or `serve` applies the rest",
                        s.applied, s.known
                    ),
                    Ok(_) => {}
                    Err(e) => problems.push(format!("database: cannot read migration state: {e}")),
                }
                store.close().await;
            }
        }
    }

    match crate::redis_link::client(&settings) {
        Err(e) => problems.push(format!("redis: {e:#}")),
        Ok(None) => {}
        Ok(Some(client)) => {
            let link = crate::redis_link::RedisLink::new(Some(client));
            if let Some(Err(e)) = link.ping(Duration::from_secs(2)).await {
                problems.push(format!(
                    "redis: {e} (serve would run without it: rate limits per node, no shared cache invalidation)"
                ));
            }
        }
    }

    println!("listen            {}", settings.listen);
    println!("data_dir          {}", settings.data_dir.display());
    println!("database          {}", db::describe(&settings));
    println!(
        "base_domain       {}",
        settings.base_domain.as_ref().map_or("-", |d| d.as_str())
    );
    println!(
        "platform_token    {}",
        if settings.platform_token.is_some() {
            "set"
        } else {
            "not set"
        }
    );
    if problems.is_empty() {
        if args.explain {
            explain();
        }
        println!("configuration OK");
        ExitCode::SUCCESS
    } else {
        report(&problems, args.explain)
    }
}

/// Every problem, then (with `--explain`) the settings, then the problems
/// again with their count, so the last lines on the screen say what is wrong.
fn report(problems: &[String], explain_too: bool) -> ExitCode {
    let list = || {
        for p in problems {
            println!("problem: {p}");
        }
    };
    list();
    if explain_too {
        explain();
        list();
    }
    println!(
        "{} problem(s) found{}",
        problems.len(),
        if explain_too {
            ""
        } else {
            "; `storekeep check-config --explain` lists every setting, its environment variable and default"
        }
    );
    ExitCode::FAILURE
}

fn explain() {
    println!("\nSettings and their meaning:");
    for (key, secret, doc) in KEYS {
        let env = format!("STOREKEEP_{}", key.replace('.', "_").to_ascii_uppercase());
        let file_note = if *secret {
            format!(" (or {env}_FILE)")
        } else {
            String::new()
        };
        println!("  {key:<28} {env}{file_note}\n      {doc}");
    }
    println!();
}
