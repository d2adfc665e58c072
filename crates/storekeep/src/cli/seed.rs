//! `storekeep seed --demo`: the demo shop, created idempotently.

use std::process::ExitCode;

use anyhow::bail;

use crate::config::Settings;
use crate::services;

#[derive(Debug, clap::Args)]
pub struct SeedArgs {
    /// Create the demo tenant `demo` and its demo catalog of about 1,000
    /// products (nothing changes if they exist).
    #[arg(long)]
    pub demo: bool,
}

pub async fn run(settings: Settings, args: SeedArgs) -> anyhow::Result<ExitCode> {
    if !args.demo {
        bail!("say what to seed: --demo");
    }
    let store = super::open_store(&settings, true).await?;
    let tenant = services::tenants::ensure_demo(store.as_ref(), &super::cli_actor()).await?;
    let created =
        services::catalog::ensure_demo_catalog(store.as_ref(), &tenant, &super::cli_actor())
            .await?;
    let total = store.count_products(tenant.id).await?;
    println!(
        "demo tenant '{}' is ready: {total} products ({created} created now)",
        tenant.slug
    );
    store.close().await;
    Ok(ExitCode::SUCCESS)
}
