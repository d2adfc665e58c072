//! `storekeep migrate`: apply pending migrations, for deploy pipelines that
//! run it as its own step before `serve --no-migrate`.

use std::process::ExitCode;

use crate::config::Settings;
use crate::db;

pub async fn run(settings: Settings) -> anyhow::Result<ExitCode> {
    super::announce(&settings, true)?;
    let store = db::connect(&settings).await?;
    let before = store.migration_status().await?;
    db::migrate(&settings, &store).await?;
    let after = store.migration_status().await?;
    println!(
        "applied {} migration(s); {} database has {} of {} known migrations",
        after.applied - before.applied,
        store.kind().as_str(),
        after.applied,
        after.known
    );
    store.close().await;
    Ok(ExitCode::SUCCESS)
}
