//! `storekeep export shop` and `storekeep import shop`: a shop moved
//! between installations or databases as one archive (`crate::portable`,
//! docs/export.md). Beside them, under the same two commands, the catalog
//! formats of `catalog.rs`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::json;

use crate::config::Settings;
use crate::portable::{self, Manifest, Step};

#[derive(Debug, clap::Subcommand)]
pub enum ImportCommand {
    #[command(flatten)]
    Catalog(super::catalog::ImportCommand),
    /// Import a shop archive written by `storekeep export shop`: refused,
    /// with nothing written, if its slug, id or a domain is taken here,
    /// if it is damaged, of another schema version, or sealed with other
    /// encryption keys than this installation's (unless `--source-keys`
    /// names them).
    Shop(ImportShopArgs),
}

#[derive(Debug, clap::Subcommand)]
pub enum ExportCommand {
    #[command(flatten)]
    Catalog(super::catalog::ExportCommand),
    /// Write one shop (every row, its images, its audit chain) to a
    /// portable archive that `storekeep import shop` reads on SQLite or
    /// PostgreSQL.
    Shop(ExportShopArgs),
}

#[derive(Debug, clap::Args)]
pub struct ExportShopArgs {
    /// The shop's slug.
    #[arg(long)]
    tenant: String,
    /// The archive to write (`.tar.zst`); it must not exist.
    #[arg(long, short)]
    output: PathBuf,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub struct ImportShopArgs {
    /// The archive `storekeep export shop` wrote.
    file: PathBuf,
    /// The exporting installation's encryption keys, when they are not
    /// this installation's: a TOML file with an `[encryption]` section
    /// (`keys` and `blind_index_key`, or their `_file` forms), such as the
    /// source's configuration file. The shop's sealed data is re-sealed
    /// with this installation's keys and its email indexes recomputed; the
    /// archive is not changed. See docs/export.md.
    #[arg(long, value_name = "KEYFILE")]
    source_keys: Option<PathBuf>,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    json: bool,
}

pub async fn export(settings: Settings, cmd: ExportCommand) -> anyhow::Result<ExitCode> {
    let args = match cmd {
        ExportCommand::Catalog(cmd) => return super::catalog::export(settings, cmd).await,
        ExportCommand::Shop(args) => args,
    };
    // Brings the source to this version's schema, which the archive names.
    super::open_store(&settings, false).await?.close().await;
    let bar = Bar::new(args.json);
    let (manifest, bytes) =
        portable::export_shop(&settings, &args.tenant, &args.output, |s| bar.step(s)).await?;
    bar.finish();
    report(
        &manifest,
        args.json,
        |rows, images| json!({"file": args.output, "bytes": bytes, "rows": rows, "images": images}),
        |rows, images| {
            format!(
                "exported shop '{}' ({rows} rows, {images} images) to {} ({bytes} bytes)",
                manifest.shop.slug,
                args.output.display()
            )
        },
    )
}

pub async fn import(settings: Settings, cmd: ImportCommand) -> anyhow::Result<ExitCode> {
    let args = match cmd {
        ImportCommand::Catalog(cmd) => return super::catalog::import(settings, cmd).await,
        ImportCommand::Shop(args) => args,
    };
    let source_keys = args
        .source_keys
        .as_deref()
        .map(portable::reseal::source_keys)
        .transpose()?;
    super::open_store(&settings, true).await?.close().await;
    let bar = Bar::new(args.json);
    let manifest =
        portable::import_shop(&settings, &args.file, source_keys.as_ref(), |s| bar.step(s)).await?;
    bar.finish();
    report(
        &manifest,
        args.json,
        |rows, images| json!({"file": args.file, "rows": rows, "images": images}),
        |rows, images| {
            format!(
                "imported shop '{}' ({rows} rows, {images} images) from {}",
                manifest.shop.slug,
                args.file.display()
            )
        },
    )
}

fn report(
    manifest: &Manifest,
    as_json: bool,
    extra: impl FnOnce(u64, usize) -> serde_json::Value,
    line: impl FnOnce(u64, usize) -> String,
) -> anyhow::Result<ExitCode> {
    let rows: u64 = manifest.tables.values().map(|t| t.rows).sum();
    let images = manifest.media.len();
    if as_json {
        let mut out = extra(rows, images);
        out["shop"] = json!(manifest.shop);
        out["schema_version"] = json!(manifest.schema_version);
        out["source_database"] = json!(manifest.source_database);
        out["tables"] = manifest
            .tables
            .iter()
            .map(|(name, t)| (name.clone(), json!(t.rows)))
            .collect::<serde_json::Map<_, _>>()
            .into();
        super::print_json(&out)?;
    } else {
        println!("{}", line(rows, images));
    }
    Ok(ExitCode::SUCCESS)
}

/// A progress bar on a terminal's stderr (none for `--json` or a pipe):
/// one tick per table, one per image.
struct Bar(Option<indicatif::ProgressBar>);

impl Bar {
    fn new(as_json: bool) -> Self {
        Self((!as_json && std::io::stderr().is_terminal()).then(|| {
            let bar =
                indicatif::ProgressBar::new(storekeep_store_sql::portable::TABLES.len() as u64);
            bar.set_style(
                indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} {msg}")
                    .expect("a valid template"),
            );
            bar
        }))
    }

    fn step(&self, step: Step<'_>) {
        let Some(bar) = &self.0 else { return };
        match step {
            Step::Table(name, rows) => bar.set_message(format!("{name}: {rows} rows")),
            Step::Media(key) => {
                bar.inc_length(1);
                bar.set_message(format!("image {key}"));
            }
        }
        bar.inc(1);
    }

    fn finish(self) {
        if let Some(bar) = self.0 {
            bar.finish_and_clear();
        }
    }
}
