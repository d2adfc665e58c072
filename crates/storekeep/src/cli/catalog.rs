//! `storekeep import products` and `storekeep export products`: the bulk
//! catalog formats of docs/API.md, from and to files.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};

use crate::config::Settings;
use crate::progress::Progress;
use crate::services;
use crate::services::bulk::{self, Format, ImportError};

#[derive(Debug, clap::Subcommand)]
pub enum ImportCommand {
    /// Create or update products from a CSV or JSON lines file. Exits 1 if
    /// any row failed (the others are imported), listing each by line.
    Products {
        /// The shop's slug.
        #[arg(long)]
        tenant: String,
        /// `.csv`, `.jsonl` or `.ndjson`.
        file: PathBuf,
        /// Override the format the file name implies: csv or jsonl.
        #[arg(long)]
        format: Option<String>,
        /// Print the report as JSON on standard output (no progress bar):
        /// `{"created", "updated", "failed", "errors": [{"line", "message"}]}`.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum ExportCommand {
    /// Write every product of a shop as CSV or JSON lines.
    Products {
        #[arg(long)]
        tenant: String,
        /// csv (default) or jsonl.
        #[arg(long, default_value = "csv")]
        format: String,
        /// Write here instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

pub async fn import(settings: Settings, cmd: ImportCommand) -> anyhow::Result<ExitCode> {
    let ImportCommand::Products {
        tenant,
        file,
        format,
        json,
    } = cmd;
    let format = match format {
        Some(f) => Format::parse(&f).context("--format must be csv or jsonl")?,
        None => Format::from_path(&file).with_context(|| {
            format!(
                "cannot tell the format of {}: name it .csv or .jsonl, or pass --format",
                file.display()
            )
        })?,
    };
    let store = super::open_store(&settings, false).await?;
    let shop = services::tenants::get(store.as_ref(), &tenant)
        .await
        .with_context(|| format!("tenant '{tenant}'"))?;
    let source =
        std::fs::File::open(&file).with_context(|| format!("opening {}", file.display()))?;
    let rows = match bulk::read_rows(source, format, &shop.settings.currency) {
        Ok(rows) => rows,
        Err(ImportError::Format(m)) => bail!("{}: {m}", file.display()),
        Err(ImportError::Store(e)) => return Err(e.into()),
    };
    let progress = Progress::new(!json);
    progress.rows("import", rows.len() as u64);
    let report = bulk::import(
        store.as_ref(),
        &shop,
        rows,
        &super::cli_actor(),
        |done, _| progress.at(done),
    )
    .await;
    progress.done();
    store.close().await;
    // Running servers sharing Redis drop their cached pages of this shop
    // now; without Redis they show the import within cache.ttl_secs.
    if let Some(redis) = crate::redis_link::client(&settings)? {
        crate::cache::ResponseCache::new(1, settings.cache_ttl, Some(redis))
            .invalidate(shop.id)
            .await;
    }
    let report = match report {
        Ok(r) => r,
        Err(ImportError::Format(m)) => bail!("{m}"),
        Err(ImportError::Store(e)) => return Err(e.into()),
    };
    if json {
        super::print_json(&report)?;
        return Ok(exit_code(&report));
    }
    for e in &report.errors {
        eprintln!("line {}: {}", e.line, e.message);
    }
    if report.failed as usize > report.errors.len() {
        eprintln!(
            "... and {} more failed rows",
            report.failed as usize - report.errors.len()
        );
    }
    println!(
        "{} created, {} updated, {} failed",
        report.created, report.updated, report.failed
    );
    Ok(exit_code(&report))
}

/// 1 if any row failed.
fn exit_code(report: &crate::wire::bulk::ImportReport) -> ExitCode {
    if report.failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

pub async fn export(settings: Settings, cmd: ExportCommand) -> anyhow::Result<ExitCode> {
    let ExportCommand::Products {
        tenant,
        format,
        output,
    } = cmd;
    let format = Format::parse(&format).context("--format must be csv or jsonl")?;
    let store = super::open_store(&settings, false).await?;
    let shop = services::tenants::get(store.as_ref(), &tenant)
        .await
        .with_context(|| format!("tenant '{tenant}'"))?;
    let count = match &output {
        Some(path) => {
            let file = std::fs::File::create(path)
                .with_context(|| format!("creating {}", path.display()))?;
            let mut out = std::io::BufWriter::new(file);
            let n = bulk::export(store.as_ref(), &shop, format, &mut out).await?;
            std::io::Write::flush(&mut out)?;
            n
        }
        None => {
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            let n = bulk::export(store.as_ref(), &shop, format, &mut out).await?;
            std::io::Write::flush(&mut out)?;
            n
        }
    };
    store.close().await;
    eprintln!("exported {count} products");
    Ok(ExitCode::SUCCESS)
}
