//! `storekeep tenant create|list|show|suspend|resume`.

use std::process::ExitCode;

use clap::Subcommand;
use storekeep_domain::{PageRequest, TenantStatus};

use crate::config::Settings;
use crate::services;
use crate::services::tenants;
use crate::wire::tenants::{NewTenantInput, TenantPatchInput};

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant and print it as JSON.
    Create {
        /// Short name used in URLs and host names (a-z, 0-9, -).
        slug: String,
        /// Display name of the shop.
        #[arg(long)]
        name: String,
        /// Plan name (default: the `default` plan).
        #[arg(long)]
        plan: Option<String>,
        /// Custom domain; repeat for several.
        #[arg(long = "domain")]
        domains: Vec<String>,
        /// ISO 4217 currency code.
        #[arg(long, default_value = "USD")]
        currency: String,
    },
    /// List every tenant, one per line.
    List {
        /// Print JSON lines instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Print one tenant as JSON.
    Show { slug: String },
    /// Take a tenant's shop offline (it answers 404 like an unknown one).
    Suspend { slug: String },
    /// Put a suspended tenant's shop back online.
    Resume { slug: String },
}

pub async fn run(settings: Settings, cmd: TenantCommand) -> anyhow::Result<ExitCode> {
    // Only `create` may start a new database; the others need the shop.
    let creates = matches!(cmd, TenantCommand::Create { .. });
    let store = super::open_store(&settings, creates).await?;
    let store = store.as_ref();
    let base = settings.base_domain.as_ref();
    match cmd {
        TenantCommand::Create {
            slug,
            name,
            plan,
            domains,
            currency,
        } => {
            let input = NewTenantInput {
                slug,
                name,
                plan,
                domains,
                settings: Some(storekeep_domain::TenantSettings {
                    currency,
                    ..Default::default()
                }),
            };
            super::print_json(&tenants::create(store, base, &input, &super::cli_actor()).await?)?;
        }
        TenantCommand::List { json } => {
            let mut page = PageRequest::new(Some(200), None).map_err(anyhow::Error::msg)?;
            if !json {
                println!(
                    "{:<24} {:<10} {:<16} {:<32} NAME",
                    "SLUG", "STATUS", "PLAN", "DOMAINS"
                );
            }
            loop {
                let batch = store.list_tenants(&page).await?;
                for t in &batch.items {
                    if json {
                        println!("{}", serde_json::to_string(t)?);
                    } else {
                        let domains: Vec<&str> = t.domains.iter().map(|d| d.as_str()).collect();
                        println!(
                            "{:<24} {:<10} {:<16} {:<32} {}",
                            t.slug,
                            t.status.as_str(),
                            t.plan,
                            if domains.is_empty() {
                                "-".into()
                            } else {
                                domains.join(",")
                            },
                            t.name
                        );
                    }
                }
                match batch.next_cursor {
                    Some(c) => page.after = Some(c),
                    None => break,
                }
            }
        }
        TenantCommand::Show { slug } => {
            super::print_json(&tenants::get(store, &slug).await?)?;
        }
        TenantCommand::Suspend { slug } => {
            set_status(store, base, &slug, TenantStatus::Suspended).await?;
        }
        TenantCommand::Resume { slug } => {
            set_status(store, base, &slug, TenantStatus::Active).await?;
        }
    }
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

async fn set_status(
    store: &dyn storekeep_store::Store,
    base: Option<&storekeep_domain::DomainName>,
    slug: &str,
    status: TenantStatus,
) -> Result<(), services::ServiceError> {
    let patch = TenantPatchInput {
        status: Some(status),
        ..Default::default()
    };
    let t = tenants::update(store, base, slug, &patch, &super::cli_actor()).await?;
    println!("tenant '{}' is {}", t.slug, t.status.as_str());
    Ok(())
}
