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
    let url = settings.database_session_url().expose().to_owned();
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
            let previous = dropped_on_error(settings, &scratch, async {
                checked(settings, &scratch, manifest, progress).await?;
                swap_sqlite(&url, &db, &fresh, &stamp).await
            })
            .await?;
            Ok(RestoreOutcome {
                id: manifest.id.clone(),
                previous,
            })
        }
        DatabaseKind::Postgres => {
            let target = pg::database_name(&url)?;
            // A database that does not exist yet (disaster recovery) is
            // restored to as an empty one: nothing to refuse, lock or keep
            // aside.
            let exists = pg::database_exists(&url).await?;
            if exists {
                refuse_live(
                    pg::facts(&url).await?.tables.len(),
                    force,
                    &format!("database {target}"),
                )?;
            }
            let lock = if exists {
                Some(
                    pg::lock_migrations(&url)
                        .await
                        .context("taking the migration lock")?,
                )
            } else {
                None
            };
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
                    if let Some(lock) = lock
                        && let Err(r) = lock.release().await
                    {
                        tracing::warn!(error = %r, "releasing the migration lock: {r}");
                    }
                    return Err(e);
                }
            };
            dropped_on_error(settings, &scratch, async {
                let verdict = checked(settings, &scratch, manifest, progress).await;
                let released = match lock {
                    Some(lock) => lock.release().await,
                    None => Ok(()),
                };
                verdict?;
                released.context("releasing the migration lock; nothing was changed")?;
                // A server stopped just now may still be listed for a
                // moment: PostgreSQL ends a closed client's backend
                // asynchronously. Give those up to 5 s to go.
                let mut others = pg::other_sessions(&url, &target).await?;
                for _ in 0..20 {
                    if others == 0 {
                        break;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(250)).await;
                    others = pg::other_sessions(&url, &target).await?;
                }
                if others > 0 {
                    bail!(
                        "{others} other session(s) are connected to database {target}: stop every server \
                         using it and run again; nothing was changed"
                    );
                }
                pg::swap_in(&url, &fresh, exists.then_some(aside.as_str()))
                    .await
                    .with_context(|| format!("renaming {fresh} to {target}; nothing was changed"))
            })
            .await?;
            Ok(RestoreOutcome {
                id: manifest.id.clone(),
                previous: exists.then(|| format!("database {aside}")),
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

/// Runs `steps` on the restored copy `scratch`; whichever of them fails,
/// the copy is dropped before the error is returned (one exit, so no
/// early return can leave a `_restoring_` database or file behind).
async fn dropped_on_error<T>(
    settings: &Settings,
    scratch: &Scratch,
    steps: impl Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    let result = steps.await;
    if result.is_err() {
        drop_scratch(settings, scratch).await;
    }
    result
}

/// Verifies the restored database.
async fn checked(
    settings: &Settings,
    scratch: &Scratch,
    manifest: &Manifest,
    progress: &Progress,
) -> anyhow::Result<()> {
    progress.step("checks", 0);
    let found = problems(settings, scratch, manifest).await;
    progress.done();
    let found = found?;
    if !found.is_empty() {
        bail!(
            "the restored copy of backup {} failed verification, so nothing was changed:\n  - {}",
            manifest.id,
            found.join("\n  - ")
        );
    }
    Ok(())
}

/// Puts the verified file `fresh` in the place of the database `db`
/// with one atomic rename, so a crash at any moment leaves a whole
/// database at `db`, the old or the new. While it holds the old
/// database's exclusive lock (refusing, with nothing changed, if another
/// process has it open) its log is checkpointed into the main file, which
/// is then kept aside by a hard link. Answers where the old one is.
async fn swap_sqlite(
    url: &str,
    db: &Path,
    fresh: &Path,
    stamp: &str,
) -> anyhow::Result<Option<String>> {
    settle(fresh).await?;
    if !db.exists() {
        std::fs::rename(fresh, db)
            .with_context(|| format!("moving {} to {}", fresh.display(), db.display()))?;
        remove_log_files(db)?;
        sync_dir(db)?;
        return Ok(None);
    }
    let mut held = match lite::Exclusive::take(url).await? {
        Ok(held) => held,
        Err(why) => bail!(
            "another process (a running server?) has {} open ({why}): stop every server using it \
             and run again; nothing was changed",
            db.display()
        ),
    };
    let swapped = async {
        held.checkpoint()
            .await
            .with_context(|| format!("checkpointing {}; nothing was changed", db.display()))?;
        copy_owner_and_mode(db, fresh)?;
        let aside = PathBuf::from(format!("{}.before-restore-{stamp}", db.display()));
        std::fs::hard_link(db, &aside).with_context(|| {
            format!(
                "keeping {} aside as {}; nothing was changed",
                db.display(),
                aside.display()
            )
        })?;
        if let Err(e) = std::fs::rename(fresh, db) {
            let _ = std::fs::remove_file(&aside);
            return Err(anyhow::Error::new(e).context(format!(
                "moving {} to {}; nothing was changed",
                fresh.display(),
                db.display()
            )));
        }
        // The old database's log, emptied by the checkpoint, must not be
        // read as the new one's.
        remove_log_files(db)?;
        sync_dir(db)?;
        anyhow::Ok(aside.display().to_string())
    }
    .await;
    if let Err(e) = held.release().await {
        tracing::warn!(error = %e, "releasing the lock on the old database: {e}");
    }
    swapped.map(Some)
}

/// Gives `fresh` the owner, group and mode of the database `old`, so the
/// server that ran on it can still open it when the restore ran as another
/// user (root, typically). Changing the owner is only tried when it
/// differs; when not permitted, a warning says so.
fn copy_owner_and_mode(old: &Path, fresh: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let was = std::fs::metadata(old)?;
    let is = std::fs::metadata(fresh)?;
    if (was.uid(), was.gid()) != (is.uid(), is.gid())
        && let Err(e) = std::os::unix::fs::chown(fresh, Some(was.uid()), Some(was.gid()))
    {
        tracing::warn!(
            "the restored database could not be given the old one's owner {}:{} ({e}): \
             make sure the server's user can write {}",
            was.uid(),
            was.gid(),
            old.display()
        );
    }
    std::fs::set_permissions(fresh, was.permissions())
        .with_context(|| format!("giving {} the mode of {}", fresh.display(), old.display()))
}

/// Empties the log of the (unused) file `path` into it and removes its
/// `-wal` and `-shm`, so the file alone is the database.
async fn settle(path: &Path) -> anyhow::Result<()> {
    let url = super::sqlite_url(path);
    match lite::Exclusive::take(&url).await? {
        Ok(mut held) => {
            held.checkpoint().await?;
            held.release().await?;
        }
        Err(why) => bail!("{} is in use: {why}", path.display()),
    }
    remove_log_files(path)
}

/// Removes `path`'s `-wal` and `-shm` files; missing ones are fine.
fn remove_log_files(path: &Path) -> anyhow::Result<()> {
    for suffix in ["-wal", "-shm"] {
        let file = format!("{}{suffix}", path.display());
        match std::fs::remove_file(&file) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(anyhow::Error::new(e).context(format!("removing {file}")));
            }
            _ => {}
        }
    }
    Ok(())
}

fn sync_dir(path: &Path) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}
