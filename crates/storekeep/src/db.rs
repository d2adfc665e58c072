//! Chooses the database backend from the URL scheme. An unknown scheme is
//! an error, never a silent fallback.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use storekeep_store::{PoolConfig, Store};
use storekeep_store_postgres::PgStore;
use storekeep_store_sqlite::SqliteStore;

use crate::config::Settings;

/// Connects to the configured database. For the embedded default the data
/// folder is created first.
pub async fn connect(settings: &Settings) -> anyhow::Result<Arc<dyn Store>> {
    let store = connect_backend(settings).await?;
    // With tracing on, a span per store call; off, the store as it is.
    Ok(if crate::traces::tracer().is_some() {
        Arc::new(crate::traced_store::TracedStore::new(store))
    } else {
        store
    })
}

async fn connect_backend(settings: &Settings) -> anyhow::Result<Arc<dyn Store>> {
    let url = settings.database_url();
    let url = url.expose();
    let pool = PoolConfig {
        max_connections: settings.database_max_connections,
        acquire_timeout: settings.database_acquire_timeout,
        statement_timeout: settings.database_statement_timeout,
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
        let replica_url = settings.database_replica_url.as_ref();
        let replica = replica_url.map(|r| storekeep_store_postgres::ReplicaConfig {
            url: r.expose(),
            max_lag: settings.database_replica_max_lag,
        });
        let store = PgStore::connect_with_replica(url, pool, replica)
            .await
            .context("connecting to PostgreSQL")?;
        Ok(Arc::new(store))
    } else {
        bail!("database URL must start with sqlite:, postgres:// or postgresql://")
    }
}

/// The file of an embedded (SQLite) database, `None` for PostgreSQL or an
/// in-memory database.
pub fn embedded_file(settings: &Settings) -> Option<PathBuf> {
    let url = settings.database_url();
    let rest = url.expose().strip_prefix("sqlite:")?;
    let path = rest.strip_prefix("//").unwrap_or(rest);
    let path = path.split('?').next().unwrap_or("");
    (!path.is_empty() && !path.starts_with(":memory:")).then(|| PathBuf::from(path))
}

/// One line for a person at a terminal: which database this command uses.
/// Never prints a PostgreSQL URL (it holds a password).
pub fn describe(settings: &Settings) -> String {
    match embedded_file(settings) {
        Some(file) => format!(
            "the embedded database {} (data folder {})",
            file.display(),
            settings.data_dir.display()
        ),
        None if settings.database_url().expose().starts_with("sqlite:") => {
            "an in-memory SQLite database".to_owned()
        }
        None => "the PostgreSQL database of database.url".to_owned(),
    }
}

/// Refuses, for a command that only reads, when the embedded database does
/// not exist: opening it would create an empty one (and new keys) and the
/// command would answer as if the data were gone.
pub fn require_existing(settings: &Settings) -> anyhow::Result<()> {
    if let Some(file) = embedded_file(settings)
        && !file.exists()
    {
        bail!(
            "there is no database at {} (data folder {}), and this command only reads, so it creates none. \
             Run it from the folder that holds the data folder, or point STOREKEEP_DATA_DIR \
             (or data_dir / database.url in the --config file) at it; `storekeep serve` or \
             `storekeep migrate` creates a new database",
            file.display(),
            settings.data_dir.display()
        );
    }
    Ok(())
}

/// Connects and applies pending migrations.
pub async fn connect_and_migrate(settings: &Settings) -> anyhow::Result<Arc<dyn Store>> {
    let store = connect(settings).await?;
    migrate(settings, &store).await?;
    Ok(store)
}

/// Applies pending migrations. On PostgreSQL they run on a connection of
/// their own to `database.direct_url` (else `database.url`), without a
/// statement timeout (a migration may rewrite a large table).
pub async fn migrate(settings: &Settings, store: &Arc<dyn Store>) -> anyhow::Result<()> {
    if store.kind() == storekeep_store::DatabaseKind::Sqlite {
        return store
            .migrate()
            .await
            .context("applying database migrations");
    }
    let url = settings.database_session_url();
    let direct = PgStore::connect(
        url.expose(),
        PoolConfig {
            max_connections: 1,
            acquire_timeout: settings.database_acquire_timeout,
            statement_timeout: None,
        },
    )
    .await
    .context("connecting to PostgreSQL for the migrations")?;
    let applied = direct
        .migrate()
        .await
        .context("applying database migrations");
    direct.close().await;
    applied
}
