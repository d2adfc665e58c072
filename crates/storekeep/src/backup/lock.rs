//! One backup at a time, whoever takes it: the scheduled run of any node
//! and `storekeep backup create` by hand or from cron take the same lock
//! and refuse (or, scheduled, skip) while another holds it. Two runs at
//! once would each hold a full plain dump in `DATA_DIR/tmp`, and a run
//! that finds the lock free knows that the scratch folders of earlier
//! runs are leftovers of killed ones, which it removes at once.
//!
//! - PostgreSQL: a session advisory lock (`BACKUP_LOCK_KEY`) on a
//!   connection of its own, across every node of the cluster.
//! - SQLite (single-node): an exclusive `flock` on `DATA_DIR/tmp/backup.lock`,
//!   shared by the server and every command on the machine. A process that
//!   dies releases either with its connection or its file.

use std::fs::File;
use std::path::PathBuf;

use anyhow::Context;
use storekeep_store::DatabaseKind;
use storekeep_store_postgres::maintenance as pg;

use crate::config::Settings;

/// What a refused run is told (and what the skip says).
pub const BUSY: &str = "another backup is running";

/// The backup lock, held until [`RunLock::release`] (or the process ends).
pub enum RunLock {
    Postgres(pg::BackupLock),
    Sqlite(LockFile),
}

/// Takes the backup lock of the configured database without waiting;
/// `None`: another run holds it.
pub async fn try_lock(settings: &Settings) -> anyhow::Result<Option<RunLock>> {
    match super::database_kind(settings)? {
        DatabaseKind::Postgres => Ok(pg::try_lock_backups(
            settings.database_session_url().expose(),
        )
        .await
        .context("taking the backup lock")?
        .map(RunLock::Postgres)),
        DatabaseKind::Sqlite => {
            let path = super::private_tmp(settings)?.join("backup.lock");
            let taken = tokio::task::spawn_blocking(move || LockFile::try_take(path)).await??;
            Ok(taken.map(RunLock::Sqlite))
        }
    }
}

/// [`try_lock`], or an error saying another backup is running.
pub async fn lock(settings: &Settings) -> anyhow::Result<RunLock> {
    try_lock(settings).await?.with_context(|| match super::database_kind(settings) {
        Ok(DatabaseKind::Postgres) => format!(
            "{BUSY} (a scheduled run or another `backup create` holds the backup lock of this database): \
             try again when it is done"
        ),
        _ => format!(
            "{BUSY} (a scheduled run or another `backup create` holds {}): try again when it is done",
            settings.data_dir.join("tmp").join("backup.lock").display()
        ),
    })
}

/// What a run whose lock went away is told.
pub const LOST: &str = "the backup lock was lost";

impl RunLock {
    /// Fails once the lock is no longer held: the PostgreSQL session
    /// holding it ended (`idle_session_timeout`, a restart, the network),
    /// so another node may be running (and removing this run's folders as
    /// leftovers). Checked before the leftover cleanup and before the
    /// manifest is written. A lock file's `flock` cannot be lost.
    pub async fn check(&self) -> anyhow::Result<()> {
        match self {
            Self::Postgres(lock) if !lock.held().await => anyhow::bail!(
                "{LOST} (its PostgreSQL session ended: idle_session_timeout, a restart or the network): \
                 this run stops, as another may have started; the next run takes a new one"
            ),
            _ => Ok(()),
        }
    }

    pub async fn release(self) -> anyhow::Result<()> {
        match self {
            Self::Postgres(lock) => lock.release().await.context("releasing the backup lock"),
            Self::Sqlite(file) => {
                file.release();
                Ok(())
            }
        }
    }
}

/// An exclusive lock on a file that is removed on release. Taking it
/// checks, once locked, that the path still names the file locked: a run
/// that opened the file just before the holder removed it must not hold
/// a lock on a file nobody else will open.
pub struct LockFile {
    file: File,
    path: PathBuf,
}

impl LockFile {
    fn try_take(path: PathBuf) -> anyhow::Result<Option<Self>> {
        use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
        loop {
            // Read-only when it exists (`flock` needs no write access), so
            // a file left by `sudo storekeep backup create` does not block
            // the server's user; created 0644 for the same reason (it
            // holds nothing).
            let file = match std::fs::File::open(&path) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => std::fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create(true)
                    .truncate(false)
                    .mode(0o644)
                    .open(&path),
                other => other,
            }
            .with_context(|| format!("opening the backup lock {}", path.display()))?;
            match file.try_lock() {
                Ok(()) => {}
                Err(std::fs::TryLockError::WouldBlock) => return Ok(None),
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(e).with_context(|| format!("locking {}", path.display()));
                }
            }
            let held = file.metadata()?;
            let same = std::fs::metadata(&path)
                .is_ok_and(|now| (now.dev(), now.ino()) == (held.dev(), held.ino()));
            if same {
                return Ok(Some(Self { file, path }));
            }
            // Removed (released) meanwhile: take the new one.
        }
    }

    /// Removes the file, then unlocks it (by closing it).
    fn release(self) {
        let _ = std::fs::remove_file(&self.path);
        drop(self.file);
    }
}
