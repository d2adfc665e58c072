//! `storekeep plan create|update|list`.

use std::process::ExitCode;

use clap::Subcommand;
use storekeep_domain::PageRequest;

use crate::config::Settings;
use crate::services::plans;
use crate::wire::plans::{NewPlanInput, PlanLimitsInput, PlanPatchInput};

/// A plan's limits as flags; each one left out is not set.
#[derive(Debug, Clone, clap::Args)]
pub struct LimitArgs {
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
}

impl From<LimitArgs> for PlanLimitsInput {
    fn from(a: LimitArgs) -> Self {
        Self {
            max_products: a.max_products,
            max_staff: a.max_staff,
            storage_bytes: a.storage_bytes,
            api_requests_per_minute: a.api_requests_per_minute,
            auth_requests_per_minute: a.auth_requests_per_minute,
            search_requests_per_minute: a.search_requests_per_minute,
            admin_requests_per_minute: a.admin_requests_per_minute,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum PlanCommand {
    /// Create a plan and print it as JSON; limits left out take the default plan's.
    Create {
        name: String,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// Change some of a plan's limits (`default` included) and print it as
    /// JSON; limits left out stay. Every shop on the plan is held to the new
    /// limits at once.
    Update {
        name: String,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// List every plan as JSON lines.
    List,
}

pub async fn run(settings: Settings, cmd: PlanCommand) -> anyhow::Result<ExitCode> {
    let writes = !matches!(cmd, PlanCommand::List);
    let store = super::open_store(&settings, writes).await?;
    match cmd {
        PlanCommand::Create { name, limits } => {
            let input = NewPlanInput {
                name,
                limits: limits.into(),
            };
            super::print_json(&plans::create(store.as_ref(), &input, &super::cli_actor()).await?)?;
        }
        PlanCommand::Update { name, limits } => {
            let input = PlanPatchInput {
                limits: limits.into(),
            };
            if input.limits.is_empty() {
                anyhow::bail!(
                    "plan '{name}': name at least one limit to change (e.g. --max-products 5000)"
                );
            }
            let plan = plans::update(store.as_ref(), &name, &input, &super::cli_actor())
                .await
                .map_err(|e| anyhow::anyhow!("plan '{name}': {e}"))?;
            super::print_json(&plan)?;
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
