//! Chooses the database backend from the URL scheme. An unknown scheme is
//! an error, never a silent fallback.

use std::sync::Arc;

use anyhow::{Context, bail};
use storekeep_store::{PoolConfig, Store};
use storekeep_store_postgres::PgStore;
use storekeep_store_sqlite::SqliteStore;

use crate::config::Settings;

/// Connects to the configured database. For the embedded default the data
/// folder is created first.
pub async fn connect(settings: &Settings) -> anyhow::Result<Arc<dyn Store>> {
    let url = settings.database_url();
    let url = url.expose();
    let pool = PoolConfig {
        max_connections: settings.database_max_connections,
        acquire_timeout: settings.database_acquire_timeout,
    };
    if url.starts_with("sqlite:") {
        if settings.database_url.is_none() {
            std::fs::create_dir_all(&settings.data_dir)
                .with_context(|| format!("creating data folder {}", settings.data_dir.display()))?;
        }
        let store = SqliteStore::connect(url, pool)
            .await
            .context("opening the SQLite database")?;
        Ok(Arc::new(store))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let store = PgStore::connect(url, pool)
            .await
            .context("connecting to PostgreSQL")?;
        Ok(Arc::new(store))
    } else {
        bail!("database URL must start with sqlite:, postgres:// or postgresql://")
    }
}

/// Connects and applies pending migrations.
pub async fn connect_and_migrate(settings: &Settings) -> anyhow::Result<Arc<dyn Store>> {
    let store = connect(settings).await?;
    store
        .migrate()
        .await
        .context("applying database migrations")?;
    Ok(store)
}
