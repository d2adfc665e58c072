//! `storekeep check-config`: explains every problem with the configuration
//! in plain words, tries the database, and exits 1 if anything is wrong.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use crate::config::{self, KEYS};
use crate::db;

pub async fn run(file: Option<PathBuf>) -> ExitCode {
    let loaded = config::load(file.as_deref(), std::env::vars());
    for w in &loaded.warnings {
        println!("warning: {w}");
    }
    let settings = match loaded.settings {
        Ok(s) => s,
        Err(problems) => {
            for p in &problems {
                println!("problem: {p}");
            }
            println!(
                "\n{} problem(s) found. Settings and their meaning:",
                problems.len()
            );
            for (key, secret, doc) in KEYS {
                let env = format!("STOREKEEP_{}", key.replace('.', "_").to_ascii_uppercase());
                let file_note = if *secret {
                    format!(" (or {env}_FILE)")
                } else {
                    String::new()
                };
                println!("  {key:<28} {env}{file_note}\n      {doc}");
            }
            return ExitCode::FAILURE;
        }
    };

    let mut problems = config::check_environment(&settings);
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

    println!("listen            {}", settings.listen);
    println!("data_dir          {}", settings.data_dir.display());
    println!(
        "database          {}",
        if settings.database_url().expose().starts_with("sqlite:") {
            settings.database_url().expose().to_owned()
        } else {
            "postgres (URL hidden)".to_owned()
        }
    );
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
        println!("configuration OK");
        ExitCode::SUCCESS
    } else {
        for p in &problems {
            println!("problem: {p}");
        }
        println!("{} problem(s) found", problems.len());
        ExitCode::FAILURE
    }
}
