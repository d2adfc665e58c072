//! `storekeep user create`: bootstrap a shop's first staff member or a
//! platform operator.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Subcommand;
use storekeep_domain::{Role, UserKind};

use crate::config::Settings;
use crate::services::accounts;
use crate::services::tenants;
use crate::wire::accounts::NewAccountInput;

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a staff account in a shop (--tenant) or a platform operator
    /// (--platform), and print it as JSON.
    Create {
        /// The shop's slug.
        #[arg(
            long,
            conflicts_with = "platform",
            required_unless_present = "platform"
        )]
        tenant: Option<String>,
        /// Create a platform operator instead of shop staff.
        #[arg(long)]
        platform: bool,
        #[arg(long)]
        email: String,
        /// owner, admin, staff or viewer (shop staff only).
        #[arg(long, default_value = "owner")]
        role: String,
        /// File holding the password (its first line), so it never appears
        /// in the shell history or the process list.
        #[arg(long)]
        password_file: PathBuf,
        #[arg(long)]
        name: Option<String>,
    },
}

pub async fn run(settings: Settings, cmd: UserCommand) -> anyhow::Result<ExitCode> {
    let UserCommand::Create {
        tenant,
        platform,
        email,
        role,
        password_file,
        name,
    } = cmd;
    let password = std::fs::read_to_string(&password_file)
        .with_context(|| format!("reading {}", password_file.display()))?;
    let password = password.lines().next().unwrap_or("").to_owned();
    // The first operator may come before the first `serve`; a shop's staff
    // member needs the shop's database.
    let store = super::open_store(&settings, platform).await?;
    let keyring = settings.load_keyring()?;
    let services = crate::services::Services::new(store.clone(), settings, keyring)?;
    let (tenant_id, kind, role) = if platform {
        (None, UserKind::Operator, None)
    } else {
        let slug = tenant.unwrap_or_default();
        let t = tenants::get(store.as_ref(), &slug)
            .await
            .with_context(|| format!("tenant '{slug}'"))?;
        let role = Role::parse(&role).map_err(|m| anyhow::anyhow!("--role {m}"))?;
        (Some(t.id), UserKind::Staff, Some(role))
    };
    if password.is_empty() {
        bail!("{} is empty", password_file.display());
    }
    let input = NewAccountInput {
        email,
        password,
        name,
        phone: None,
    };
    let account = accounts::create_account(
        &services,
        tenant_id,
        kind,
        role,
        &input,
        Some(&super::cli_actor()),
    )
    .await?;
    super::print_json(&account)?;
    store.close().await;
    Ok(ExitCode::SUCCESS)
}
