//! Where backups are kept. A local folder today; an object store
//! (S3-compatible, through `object_store`) is another variant with the
//! same four operations.

use std::path::{Path, PathBuf};

use anyhow::Context;

/// A place that holds backup files by name.
#[derive(Debug, Clone)]
pub enum Destination {
    /// A folder on this machine (`backup.dir`).
    Local(PathBuf),
}

/// A name that stays in the folder it is joined to: no separator, not `.`
/// or `..`, not empty.
fn plain_name(name: &str) -> anyhow::Result<&str> {
    let bad = name.is_empty() || name == "." || name == ".." || name.contains(['/', '\\', '\0']);
    anyhow::ensure!(!bad, "{name:?} is not a backup file name");
    Ok(name)
}

impl Destination {
    /// A folder on the same file system as the destination for sealed
    /// archives and manifests in the making (so `put` is a rename for a
    /// local folder). Plain dumps never go here: see `backup::plain_staging`.
    pub fn staging(&self) -> anyhow::Result<tempfile::TempDir> {
        match self {
            Self::Local(dir) => {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating the backup folder {}", dir.display()))?;
                remove_stale(dir, ".staging-");
                super::archive::private_tempdir(dir, ".staging-")
                    .with_context(|| format!("writing to the backup folder {}", dir.display()))
            }
        }
    }

    /// Stores the file at `from` as `name` (moving it).
    pub fn put(&self, name: &str, from: &Path) -> anyhow::Result<()> {
        match self {
            Self::Local(dir) => {
                let to = dir.join(plain_name(name)?);
                std::fs::rename(from, &to)
                    .with_context(|| format!("moving the backup to {}", to.display()))?;
                std::fs::File::open(dir)?.sync_all()?;
                Ok(())
            }
        }
    }

    /// A local path holding `name`'s bytes (for a remote destination, a
    /// download into `scratch`).
    pub fn get(&self, name: &str, _scratch: &Path) -> anyhow::Result<PathBuf> {
        match self {
            Self::Local(dir) => {
                let path = dir.join(plain_name(name)?);
                anyhow::ensure!(path.is_file(), "there is no {} in {}", name, dir.display());
                Ok(path)
            }
        }
    }

    /// The bytes of a small file (a manifest).
    pub fn read(&self, name: &str) -> anyhow::Result<Vec<u8>> {
        match self {
            Self::Local(dir) => {
                let path = dir.join(plain_name(name)?);
                std::fs::read(&path).with_context(|| format!("reading {}", path.display()))
            }
        }
    }

    /// Every file name at the destination.
    pub fn list(&self) -> anyhow::Result<Vec<String>> {
        match self {
            Self::Local(dir) => {
                if !dir.exists() {
                    return Ok(Vec::new());
                }
                let mut names = Vec::new();
                for entry in std::fs::read_dir(dir)
                    .with_context(|| format!("listing the backup folder {}", dir.display()))?
                {
                    let entry = entry?;
                    if entry.file_type()?.is_file() {
                        names.push(entry.file_name().to_string_lossy().into_owned());
                    }
                }
                Ok(names)
            }
        }
    }

    /// Removes `name`; a missing file is not an error.
    pub fn delete(&self, name: &str) -> anyhow::Result<()> {
        match self {
            Self::Local(dir) => match std::fs::remove_file(dir.join(plain_name(name)?)) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(e).with_context(|| format!("deleting {name}")),
            },
        }
    }

    /// Where it is, for messages.
    pub fn describe(&self) -> String {
        match self {
            Self::Local(dir) => dir.display().to_string(),
        }
    }
}

/// Folders named `prefix…` in `dir` that a killed command left behind:
/// removed once a day old, when no command can still be using them.
pub(super) fn remove_stale(dir: &Path, prefix: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let day = std::time::Duration::from_secs(86_400);
    for entry in entries.filter_map(Result::ok) {
        let stale = entry.file_name().to_string_lossy().starts_with(prefix)
            && entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t.elapsed().is_ok_and(|age| age > day));
        if stale {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}
