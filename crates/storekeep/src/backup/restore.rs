//! `storekeep backup restore`: the archive is restored into a new
//! database beside the configured one and verified there; only then does
//! the new one take the configured one's place, and the old one is kept
//! aside under another name. Any failure before that leaves everything as
//! it was.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use storekeep_store::DatabaseKind;
use storekeep_store_postgres::maintenance as pg;
use storekeep_store_sqlite::maintenance as lite;

use super::{
    Manifest, Progress, Scratch, database_kind, drop_scratch, load_dump, problems, unpack,
};
use crate::config::Settings;

/// What a restore did.
#[derive(Debug, serde::Serialize)]
pub struct RestoreOutcome {
    pub id: String,
    /// Where the database that was replaced now is (a file or a database
    /// name), `None` when there was none.
    pub previous: Option<String>,
}

/// Restores backup `manifest` over the configured database; refuses one
/// that holds tables unless `force`.
pub async fn restore(
    settings: &Settings,
    manifest: &Manifest,
    identities: Vec<age::x25519::Identity>,
    force: bool,
    progress: &Progress,
) -> anyhow::Result<RestoreOutcome> {
    let kind = database_kind(settings)?;
    manifest.check_readable(kind)?;
    let url = settings.database_url().expose().to_owned();
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    match kind {
        DatabaseKind::Sqlite => {
            let db = crate::db::embedded_file(settings).expect("checked by database_kind");
            if db.exists() {
                refuse_live(
                    lite::facts(&url).await?.tables.len(),
                    force,
                    &db.display().to_string(),
                )?;
                refuse_in_use(&url, &db).await?;
            }
            let dir = db.parent().unwrap_or(Path::new("."));
            std::fs::create_dir_all(dir)?;
            let work = super::archive::private_tempdir(dir, ".restore-")
                .with_context(|| format!("writing to {}", dir.display()))?;
            let dump = work.path().join("dump");
            unpack(settings, manifest, identities, &dump, progress).await?;
            let fresh = PathBuf::from(format!("{}.restoring-{stamp}", db.display()));
            let scratch = load_dump(settings, &dump, &fresh, "", progress).await?;
            checked(settings, &scratch, manifest, progress).await?;
            if db.exists()
                && let Err(e) = refuse_in_use(&url, &db).await
            {
                drop_scratch(settings, &scratch).await;
                return Err(e);
            }
            let previous = if db.exists() {
                let aside = format!("{}.before-restore-{stamp}", db.display());
                move_db(&db, Path::new(&aside))?;
                Some(aside)
            } else {
                None
            };
            move_db(&fresh, &db)?;
            Ok(RestoreOutcome {
                id: manifest.id.clone(),
                previous,
            })
        }
        DatabaseKind::Postgres => {
            let target = pg::database_name(&url)?;
            refuse_live(
                pg::facts(&url).await?.tables.len(),
                force,
                &format!("database {target}"),
            )?;
            let lock = pg::lock_migrations(&url)
                .await
                .context("taking the migration lock")?;
            let short: String = target.chars().take(30).collect();
            let unix = chrono::Utc::now().timestamp();
            let fresh = format!("{short}_restoring_{unix}");
            let aside = format!("{short}_pre_restore_{unix}");
            let work = super::plain_staging(settings)?;
            let dump = work.path().join("dump");
            let loaded = async {
                unpack(settings, manifest, identities, &dump, progress).await?;
                load_dump(settings, &dump, Path::new(""), &fresh, progress).await
            }
            .await;
            let scratch = match loaded {
                Ok(s) => s,
                Err(e) => {
                    lock.release().await?;
                    return Err(e);
                }
            };
            let verdict = checked(settings, &scratch, manifest, progress).await;
            lock.release().await?;
            verdict?;
            let others = pg::other_sessions(&url, &target).await?;
            if others > 0 {
                drop_scratch(settings, &scratch).await;
                bail!(
                    "{others} other session(s) are connected to database {target}: stop every server using it \
                     and run again; nothing was changed"
                );
            }
            if let Err(e) = pg::swap_in(&url, &fresh, &aside).await {
                drop_scratch(settings, &scratch).await;
                return Err(anyhow::Error::new(e)
                    .context(format!("renaming {fresh} to {target}; nothing was changed")));
            }
            Ok(RestoreOutcome {
                id: manifest.id.clone(),
                previous: Some(format!("database {aside}")),
            })
        }
    }
}

/// Refuses while another process has the SQLite database open: moving the
/// file under a running server would lose what it writes next.
async fn refuse_in_use(url: &str, db: &Path) -> anyhow::Result<()> {
    if let Some(why) = lite::in_use(url).await? {
        bail!(
            "another process (a running server?) has {} open ({why}): stop every server using it \
             and run again; nothing was changed",
            db.display()
        );
    }
    Ok(())
}

fn refuse_live(tables: usize, force: bool, what: &str) -> anyhow::Result<()> {
    if tables > 0 && !force {
        bail!(
            "{what} is live (it has {tables} tables): restoring replaces it (the old one is kept aside). \
             Stop every server using it and run again with --force; nothing was changed"
        );
    }
    Ok(())
}

/// Verifies the restored database; drops it when anything is wrong.
async fn checked(
    settings: &Settings,
    scratch: &Scratch,
    manifest: &Manifest,
    progress: &Progress,
) -> anyhow::Result<()> {
    progress.step("checks", 0);
    let found = problems(settings, scratch, manifest).await;
    progress.done();
    let found = match found {
        Ok(f) => f,
        Err(e) => {
            drop_scratch(settings, scratch).await;
            return Err(e);
        }
    };
    if !found.is_empty() {
        drop_scratch(settings, scratch).await;
        bail!(
            "the restored copy of backup {} failed verification, so nothing was changed:\n  - {}",
            manifest.id,
            found.join("\n  - ")
        );
    }
    Ok(())
}

/// Renames an SQLite database file with its `-wal` and `-shm` files.
fn move_db(from: &Path, to: &Path) -> anyhow::Result<()> {
    for suffix in ["-wal", "-shm", ""] {
        let (f, t) = (
            format!("{}{suffix}", from.display()),
            format!("{}{suffix}", to.display()),
        );
        if Path::new(&f).exists() {
            std::fs::rename(&f, &t).with_context(|| format!("renaming {f} to {t}"))?;
        }
    }
    if let Some(dir) = to.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}
