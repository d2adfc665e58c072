//! `storekeep serve`: migrate (unless told not to), optionally seed the
//! demo shop, and serve until SIGTERM or SIGINT.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use rand::RngCore;

use crate::config::Secret;
use crate::startup::{Application, shutdown_signal};
use crate::{db, services, telemetry};

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Seed the demo tenant `demo` (idempotent) and offer the simulated
    /// `test` payment provider (it pays orders by itself). Without a
    /// configured platform token, one is generated and kept in
    /// DATA_DIR/platform-token.
    #[arg(long)]
    pub demo: bool,
    /// Do not apply migrations; the node stays unready until someone runs
    /// `storekeep migrate`.
    #[arg(long)]
    pub no_migrate: bool,
    /// Address to listen on (overrides `listen`).
    #[arg(long)]
    pub listen: Option<SocketAddr>,
}

pub async fn run(config: Option<PathBuf>, args: ServeArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let mut settings = super::load_settings(config)?;
    if let Some(listen) = args.listen {
        settings.listen = listen;
    }
    let _log = telemetry::init(&settings);
    let traces = crate::traces::init(&settings.otel)?;
    if let Some(endpoint) = &settings.otel.endpoint {
        tracing::info!(endpoint = %endpoint, sample_ratio = settings.otel.sample_ratio, "traces: exporting spans over OTLP/HTTP");
    }
    if args.demo {
        settings.payments.test_enabled = true;
        // The demo shop's storefront at http://demo.localhost:PORT/.
        if settings.base_domain.is_none() {
            settings.base_domain = Some(storekeep_domain::DomainName::localhost());
        }
    }

    if args.demo && settings.platform_token.is_none() {
        let path = settings.data_dir.join("platform-token");
        settings.platform_token = Some(demo_token(&path)?);
        tracing::info!(path = %path.display(), "demo: platform token is in this file");
    }
    if settings.payments.test_enabled {
        tracing::warn!(
            "the simulated `test` payment provider is offered: it pays orders by itself, so never enable it for a real shop"
        );
    }
    if settings.platform_token.is_none() {
        tracing::warn!("no platform token configured: the platform API refuses every request");
    }

    if let Some(why) = settings
        .backup
        .media_overlap(&settings.media, &settings.data_dir)
    {
        tracing::warn!("backup: {why}; every backup is refused until backup.* changes");
    }

    super::announce(&settings, true)?;
    let store = db::connect(&settings).await?;
    if args.no_migrate {
        let status = store.migration_status().await?;
        if !status.is_current() {
            tracing::warn!(
                applied = status.applied,
                known = status.known,
                "migrations pending and --no-migrate given: not ready until `storekeep migrate` runs"
            );
        }
    } else {
        db::migrate(&settings, &store)
            .await
            .context("applying migrations")?;
    }
    if args.demo {
        let tenant = services::tenants::ensure_demo(store.as_ref(), &super::cli_actor()).await?;
        let created =
            services::catalog::ensure_demo_catalog(store.as_ref(), &tenant, &super::cli_actor())
                .await?;
        tracing::info!(
            tenant = %tenant.slug,
            products_created = created,
            "demo tenant ready (send X-Tenant: demo; storefront at http://demo.localhost:PORT/)"
        );
    }

    let kind = store.kind();
    let app = Application::build(settings, store).await?;
    tracing::info!(
        address = %app.local_addr(),
        database = kind.as_str(),
        version = crate::VERSION,
        startup_ms = started.elapsed().as_secs_f64() * 1000.0,
        "storekeep is ready"
    );
    let served = app.run_until(shutdown_signal()).await;
    if let Some(traces) = traces {
        // Exports what is queued (bounded by the export timeout).
        tokio::task::spawn_blocking(move || traces.shutdown()).await?;
        let dropped = crate::traces::dropped_spans();
        if dropped > 0 {
            tracing::warn!(
                dropped,
                "traces: spans were dropped (queue full or collector unreachable)"
            );
        }
    }
    served?;
    Ok(ExitCode::SUCCESS)
}

/// Reads the demo platform token, or writes a new random one readable only
/// by its owner.
fn demo_token(path: &Path) -> anyhow::Result<Secret> {
    if let Ok(existing) = std::fs::read_to_string(path) {
        let token = existing.trim();
        if token.len() >= crate::config::MIN_TOKEN_LEN {
            return Ok(Secret::new(token));
        }
    }
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    crate::crypto::files::write_private(path, &token)?;
    Ok(Secret::new(token))
}
