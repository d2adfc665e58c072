//! `storekeep jobs list|show|retry|discard`: background jobs of every shop
//! (a running server's workers pick a retried job up at their next poll).

use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use storekeep_domain::{JobId, PageRequest};

use crate::config::Settings;
use crate::services::jobs;

#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// List jobs, newest first, one per line.
    List {
        #[arg(long)]
        queue: Option<String>,
        /// available, running, retryable, completed, dead or discarded.
        #[arg(long)]
        state: Option<String>,
        #[arg(long)]
        kind: Option<String>,
        /// A shop's id.
        #[arg(long)]
        tenant: Option<String>,
        /// At most this many (newest first).
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Print JSON lines instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Print one job as JSON, with its error history.
    Show { id: String },
    /// Run a dead, discarded or retryable job again now.
    Retry { id: String },
    /// Give up a waiting or dead job.
    Discard { id: String },
}

fn job_id(raw: &str) -> anyhow::Result<JobId> {
    raw.parse().with_context(|| {
        format!("'{raw}' is not a job id (a UUID such as 01890a5d-ac96-774b-bcce-b302099a8057)")
    })
}

pub async fn run(settings: Settings, cmd: JobsCommand) -> anyhow::Result<ExitCode> {
    let store = super::open_store(&settings, false).await?;
    let store = store.as_ref();
    match cmd {
        JobsCommand::List {
            queue,
            state,
            kind,
            tenant,
            limit,
            json,
        } => {
            let filter = jobs::filter(queue, state.as_deref(), kind, tenant.as_deref())?;
            let mut page = PageRequest::new(Some(200), None).map_err(anyhow::Error::msg)?;
            if !json {
                println!(
                    "{:<36} {:<10} {:<12} {:<20} {:>7} LAST ERROR",
                    "ID", "STATE", "QUEUE", "KIND", "ATTEMPT"
                );
            }
            let mut shown = 0;
            'pages: loop {
                let batch = jobs::list_in(store, None, &filter, &page).await?;
                for j in &batch.items {
                    if shown == limit {
                        break 'pages;
                    }
                    shown += 1;
                    if json {
                        println!("{}", serde_json::to_string(j)?);
                    } else {
                        println!(
                            "{:<36} {:<10} {:<12} {:<20} {:>3}/{:<3} {}",
                            j.id,
                            j.state.as_str(),
                            j.queue,
                            j.kind,
                            j.attempt,
                            j.max_attempts,
                            j.last_error.as_deref().unwrap_or("-")
                        );
                    }
                }
                match batch.next_cursor {
                    Some(c) => page.after = Some(c),
                    None => break,
                }
            }
        }
        JobsCommand::Show { id } => {
            super::print_json(&jobs::get_in(store, None, job_id(&id)?).await?)?;
        }
        JobsCommand::Retry { id } => {
            let j = jobs::retry_in(store, None, job_id(&id)?).await?;
            println!("job {} ({}) is {} again", j.id, j.kind, j.state);
        }
        JobsCommand::Discard { id } => {
            let j = jobs::discard_in(store, None, job_id(&id)?).await?;
            println!("job {} ({}) is {}", j.id, j.kind, j.state);
        }
    }
    store.close().await;
    Ok(ExitCode::SUCCESS)
}
