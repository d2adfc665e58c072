//! `storekeep media variants`: makes the resized variants of every image
//! uploaded before variants existed (uploads make their own). Safe to run
//! again, or while the server runs: an image already done is not read.

use std::process::ExitCode;

use clap::Subcommand;

use crate::config::Settings;
use crate::media::Media;
use crate::services::images::backfill;

#[derive(Debug, Subcommand)]
pub enum MediaCommand {
    /// Make the missing image variants (thumbnail, card, full; the
    /// original's format and WebP) of every shop's images; prints a JSON
    /// summary.
    Variants,
}

pub async fn run(settings: Settings, cmd: MediaCommand) -> anyhow::Result<ExitCode> {
    let MediaCommand::Variants = cmd;
    let store = super::open_store(&settings, false).await?;
    let media = Media::from_settings(&settings.media, &settings.data_dir)?;
    let out = backfill(store.as_ref(), &media, settings.media.max_image_pixels).await?;
    println!("{}", serde_json::to_string(&out)?);
    Ok(ExitCode::SUCCESS)
}
