//! `storekeep plan create|list`.

use std::process::ExitCode;

use clap::Subcommand;
use storekeep_domain::PageRequest;

use crate::config::Settings;
use crate::db;
use crate::services::plans::{self, NewPlanInput, PlanLimitsInput};

#[derive(Debug, Subcommand)]
pub enum PlanCommand {
    /// Create a plan and print it as JSON; limits left out take the default plan's.
    Create {
        name: String,
        #[arg(long)]
        max_products: Option<i64>,
        #[arg(long)]
        max_staff: Option<i64>,
        #[arg(long)]
        storage_bytes: Option<i64>,
        #[arg(long)]
        api_requests_per_minute: Option<i64>,
        #[arg(long)]
        auth_requests_per_minute: Option<i64>,
        #[arg(long)]
        search_requests_per_minute: Option<i64>,
        #[arg(long)]
        admin_requests_per_minute: Option<i64>,
    },
    /// List every plan as JSON lines.
    List,
}

pub async fn run(settings: Settings, cmd: PlanCommand) -> anyhow::Result<ExitCode> {
    let store = db::connect_and_migrate(&settings).await?;
    match cmd {
        PlanCommand::Create {
            name,
            max_products,
            max_staff,
            storage_bytes,
            api_requests_per_minute,
            auth_requests_per_minute,
            search_requests_per_minute,
            admin_requests_per_minute,
        } => {
            let input = NewPlanInput {
                name,
                limits: PlanLimitsInput {
                    max_products,
                    max_staff,
                    storage_bytes,
                    api_requests_per_minute,
                    auth_requests_per_minute,
                    search_requests_per_minute,
                    admin_requests_per_minute,
                },
            };
            super::print_json(&plans::create(store.as_ref(), &input, &super::cli_actor()).await?)?;
        }
        PlanCommand::List => {
            let mut page = PageRequest::new(Some(200), None).map_err(anyhow::Error::msg)?;
            loop {
                let batch = store.list_plans(&page).await?;
                for p in &batch.items {
                    println!("{}", serde_json::to_string(p)?);
                }
                match batch.next_cursor {
                    Some(c) => page.after = Some(c),
                    None => break,
                }
            }
        }
    }
    store.close().await;
    Ok(ExitCode::SUCCESS)
}
