//! Checking a backup: restoring it into a scratch database (a file, or a
//! new PostgreSQL database loaded by `pg_restore`) and comparing that with
//! the manifest: integrity, row counts, schema version, audit chains.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use storekeep_store::DatabaseKind;
use storekeep_store_postgres::maintenance as pg;
use storekeep_store_sqlite::maintenance as lite;

use super::{
    Manifest, Progress, database_kind, pg_tools, pg_url_for, settings_for, sqlite_url, unpack,
};
use crate::config::Settings;

/// A database the archive was restored into, and how to check it.
pub(super) enum Scratch {
    Sqlite(PathBuf),
    Postgres { url: String, name: String },
}

impl Scratch {
    fn url(&self) -> String {
        match self {
            Self::Sqlite(p) => sqlite_url(p),
            Self::Postgres { url, .. } => url.clone(),
        }
    }
}

/// Restores the unpacked dump `dump` into a new database: the file itself
/// for SQLite (moved to `sqlite_at`), a new database `pg_name` for
/// PostgreSQL.
pub(super) async fn load_dump(
    settings: &Settings,
    dump: &Path,
    sqlite_at: &Path,
    pg_name: &str,
    progress: &Progress,
) -> anyhow::Result<Scratch> {
    match database_kind(settings)? {
        DatabaseKind::Sqlite => {
            std::fs::rename(dump, sqlite_at)
                .with_context(|| format!("moving the restored file to {}", sqlite_at.display()))?;
            Ok(Scratch::Sqlite(sqlite_at.to_path_buf()))
        }
        DatabaseKind::Postgres => {
            let tool = pg_tools::find("pg_restore", settings.backup.pg_bin_dir.as_deref())?;
            let url = settings.database_session_url().expose().to_owned();
            pg::create_database(&url, pg_name).await?;
            let scratch = Scratch::Postgres {
                url: pg_url_for(&url, pg_name)?,
                name: pg_name.to_owned(),
            };
            progress.step("pg_restore", 0);
            let mut cmd = pg_tools::command(&tool, &scratch.url())?;
            cmd.args([
                "--no-owner",
                "--no-privileges",
                "--exit-on-error",
                "--dbname",
            ])
            .arg(pg_name)
            .arg(dump);
            let loaded =
                tokio::task::spawn_blocking(move || pg_tools::run(cmd, "pg_restore")).await?;
            if let Err(e) = loaded {
                drop_scratch(settings, &scratch).await;
                return Err(e);
            }
            Ok(scratch)
        }
    }
}

pub(super) async fn drop_scratch(settings: &Settings, scratch: &Scratch) {
    match scratch {
        Scratch::Sqlite(path) => {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
        }
        Scratch::Postgres { name, .. } => {
            if let Err(e) = pg::drop_database(settings.database_session_url().expose(), name).await
            {
                tracing::warn!(database = %name, error = %e, "could not drop the scratch database {name}: {e}");
            }
        }
    }
}

/// What [`verify`] found wrong with a restored database (empty: nothing).
pub(super) async fn problems(
    settings: &Settings,
    scratch: &Scratch,
    manifest: &Manifest,
) -> anyhow::Result<Vec<String>> {
    let url = scratch.url();
    let mut problems = Vec::new();
    let facts = match scratch {
        Scratch::Sqlite(_) => {
            problems.extend(lite::integrity_problems(&url).await?);
            lite::facts(&url).await?
        }
        Scratch::Postgres { .. } => pg::facts(&url).await?,
    };
    let want = manifest.facts();
    if facts.schema_version != want.schema_version {
        problems.push(format!(
            "schema version {:?}, the manifest says {:?}",
            facts.schema_version, want.schema_version
        ));
    }
    for table in want.tables.keys().chain(facts.tables.keys()) {
        let (has, wants) = (facts.tables.get(table), want.tables.get(table));
        if has != wants
            && !problems
                .iter()
                .any(|p| p.starts_with(&format!("table {table}:")))
        {
            problems.push(format!(
                "table {table}: {} rows, the manifest says {}",
                has.map_or("no such table".to_owned(), i64::to_string),
                wants.map_or("no such table".to_owned(), i64::to_string)
            ));
        }
    }
    if facts.audit_heads != want.audit_heads {
        problems.push("the audit chain heads differ from the manifest's".to_owned());
    }
    let store = crate::db::connect(&settings_for(settings, url)).await?;
    let verdicts = crate::services::audit::verify_chains(store.as_ref()).await;
    store.close().await;
    for (scope, verdict) in verdicts? {
        if let crate::services::audit::ChainVerdict::Broken(why) = verdict {
            problems.push(format!("audit chain {scope} is broken: {why}"));
        }
    }
    Ok(problems)
}

/// What a successful verification checked.
#[derive(Debug, serde::Serialize)]
pub struct Verified {
    pub id: String,
    pub tables: usize,
    pub rows: i64,
    pub audit_chains: usize,
    /// Media objects the manifest names that the media store lacks or
    /// holds with other bytes.
    pub media_missing: Vec<String>,
}

/// Restores backup `manifest` into a scratch database, checks it and
/// drops it. An error names what failed.
pub async fn verify(
    settings: &Settings,
    manifest: &Manifest,
    identities: Vec<age::x25519::Identity>,
    progress: &Progress,
) -> anyhow::Result<Verified> {
    let kind = database_kind(settings)?;
    manifest.check_readable(kind)?;
    let work = super::plain_staging(settings)?;
    let dump = work.path().join("dump");
    unpack(settings, manifest, identities, &dump, progress).await?;
    // Within PostgreSQL's 63-byte names.
    let short: String = pg_db_name(settings)
        .unwrap_or_default()
        .chars()
        .take(30)
        .collect();
    let scratch_name = format!(
        "{short}_verify_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..16]
    );
    let scratch = load_dump(
        settings,
        &dump,
        &work.path().join("scratch.db"),
        &scratch_name,
        progress,
    )
    .await?;
    progress.step("checks", 0);
    let found = problems(settings, &scratch, manifest).await;
    drop_scratch(settings, &scratch).await;
    progress.done();
    let found = found?;
    if !found.is_empty() {
        bail!(
            "backup {} failed verification:\n  - {}",
            manifest.id,
            found.join("\n  - ")
        );
    }
    Ok(Verified {
        id: manifest.id.clone(),
        tables: manifest.tables.len(),
        rows: manifest.tables.values().sum(),
        audit_chains: manifest.audit_heads.len(),
        media_missing: missing_media(settings, manifest).await?,
    })
}

/// The configured PostgreSQL database's name (`None` for SQLite).
fn pg_db_name(settings: &Settings) -> Option<String> {
    let url = settings.database_session_url();
    (!url.expose().starts_with("sqlite:"))
        .then(|| pg::database_name(url.expose()).ok())
        .flatten()
}

async fn missing_media(settings: &Settings, manifest: &Manifest) -> anyhow::Result<Vec<String>> {
    use sha2::Digest;
    let media = crate::media::Media::from_settings(&settings.media, &settings.data_dir)?;
    let mut missing = Vec::new();
    for object in &manifest.media.objects {
        let ok = match media.get(&object.key).await? {
            Some(body) => format!("{:x}", sha2::Sha256::digest(&body)) == object.sha256,
            None => false,
        };
        if !ok {
            missing.push(object.key.clone());
        }
    }
    Ok(missing)
}
