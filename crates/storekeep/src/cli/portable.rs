//! `storekeep export shop` and `storekeep import shop`: a shop moved
//! between installations or databases as one archive (`crate::portable`,
//! docs/export.md); `export all` / `import all`: the whole platform, into
//! an empty installation. Beside them, under the same two commands, the
//! catalog formats of `catalog.rs`.

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
    /// Import a platform archive written by `storekeep export all` into
    /// this EMPTY installation (no shop, account, audit entry or plan but
    /// the built-in `default`): refused, with nothing written, otherwise,
    /// or if the archive is damaged, of another schema version, or sealed
    /// with other encryption keys than this installation's.
    All(ImportShopArgs),
}

#[derive(Debug, clap::Subcommand)]
pub enum ExportCommand {
    #[command(flatten)]
    Catalog(super::catalog::ExportCommand),
    /// Write one shop (every row, its images, its audit chain) to a
    /// portable archive that `storekeep import shop` reads on SQLite or
    /// PostgreSQL.
    Shop(ExportShopArgs),
    /// Write the whole platform (every shop, the plans, the operators,
    /// every audit chain, all images) to a portable archive that
    /// `storekeep import all` reads into an empty installation.
    All(ExportAllArgs),
}

#[derive(Debug, clap::Args)]
pub struct ExportAllArgs {
    /// The archive to write (`.tar.zst`); it must not exist.
    #[arg(long, short)]
    output: PathBuf,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    json: bool,
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
    /// The archive `storekeep export shop` (or `export all`) wrote.
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
    let (tenant, output, as_json) = match cmd {
        ExportCommand::Catalog(cmd) => return super::catalog::export(settings, cmd).await,
        ExportCommand::Shop(args) => (Some(args.tenant), args.output, args.json),
        ExportCommand::All(args) => (None, args.output, args.json),
    };
    // Brings the source to this version's schema, which the archive names.
    super::open_store(&settings, false).await?.close().await;
    let bar = Bar::new(as_json);
    let exported = match &tenant {
        Some(slug) => portable::export_shop(&settings, slug, &output, |s| bar.step(s)).await?,
        None => portable::export_all(&settings, &output, |s| bar.step(s)).await?,
    };
    bar.finish();
    let (manifest, bytes, pending) = (exported.manifest, exported.bytes, exported.pending_jobs);
    if pending > 0 {
        // The queue does not travel: what those jobs would change (an
        // outbox event delivered, a payment retried) is not in the archive.
        eprintln!(
            "warning: {pending} job(s) of {} are still queued and do not travel; stop the servers, let the workers drain them (`storekeep jobs`) and export again",
            what(&manifest)
        );
    }
    report(
        &manifest,
        as_json,
        |rows, images| json!({"file": output, "bytes": bytes, "rows": rows, "images": images, "pending_jobs": pending}),
        |rows, images| {
            format!(
                "exported {} ({rows} rows, {images} images) to {} ({bytes} bytes)",
                what(&manifest),
                output.display()
            )
        },
    )
}

/// What an archive holds, for the summary line.
fn what(manifest: &Manifest) -> String {
    match &manifest.shop {
        Some(shop) => format!("shop '{}'", shop.slug),
        None => format!("the platform ({} shops)", manifest.shops.len()),
    }
}

pub async fn import(settings: Settings, cmd: ImportCommand) -> anyhow::Result<ExitCode> {
    let (args, all) = match cmd {
        ImportCommand::Catalog(cmd) => return super::catalog::import(settings, cmd).await,
        ImportCommand::Shop(args) => (args, false),
        ImportCommand::All(args) => (args, true),
    };
    let source_keys = args
        .source_keys
        .as_deref()
        .map(portable::reseal::source_keys)
        .transpose()?;
    if all && source_keys.is_some() {
        anyhow::bail!(
            "refused: --source-keys is for `import shop`; `import all` fills an EMPTY installation, which can simply run with the source's encryption keys (see docs/export.md)"
        );
    }
    super::open_store(&settings, true).await?.close().await;
    let bar = Bar::new(args.json);
    let mut resealed = None;
    let step = |s: Step<'_>| match s {
        Step::Resealed(done) => resealed = Some(done),
        s => bar.step(s),
    };
    let manifest = if all {
        portable::import_all(&settings, &args.file, step).await?
    } else {
        portable::import_shop(&settings, &args.file, source_keys.as_ref(), step).await?
    };
    bar.finish();
    report(
        &manifest,
        args.json,
        |rows, images| {
            let mut out = json!({"file": args.file, "rows": rows, "images": images});
            if let Some(done) = resealed {
                out["resealed"] = json!(done);
            }
            out
        },
        |rows, images| {
            let resealed = resealed.map_or(String::new(), |done| {
                format!(
                    "; re-sealed {} values and {} indexes with this installation's keys",
                    done.values, done.indexes
                )
            });
            format!(
                "imported {} ({rows} rows, {images} images) from {}{resealed}",
                what(&manifest),
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
        match &manifest.shop {
            Some(shop) => out["shop"] = json!(shop),
            None => out["shops"] = json!(manifest.shops),
        }
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
            Step::Resealed(_) => return,
        }
        bar.inc(1);
    }

    fn finish(self) {
        if let Some(bar) = self.0 {
            bar.finish_and_clear();
        }
    }
}
