//! Where backups are kept: a local folder (`backup.dir`), or an
//! S3-compatible bucket (`backup.s3_bucket`, under `backup.s3_prefix`)
//! through `object_store`, configured as the media store is. Both hold
//! files by plain name (no separator, not `.` or `..`).
//!
//! To a bucket, an archive is uploaded in parts of [`PART`] bytes (a
//! multipart upload: at most a few parts in memory, whatever the
//! archive's size) and downloaded in ranges of [`PART`] bytes into a
//! scratch folder.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, WriteMultipart};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The part size of uploads and range size of downloads (S3 needs parts
/// of 5 MiB at least, the last excepted).
pub const PART: usize = 8 * 1024 * 1024;
/// S3 allows at most 10 000 parts: [`part_size`] keeps under 9 000.
const MAX_PARTS: u64 = 9_000;
/// The per-request limit of the backup bucket's client (the client's
/// default, 30 s, is short for a large part on a slow link).
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);
/// Parts uploaded at once.
const PARTS_IN_FLIGHT: usize = 2;

/// A place that holds backup files by name.
#[derive(Debug, Clone)]
pub enum Destination {
    /// A folder on this machine (`backup.dir`).
    Local(PathBuf),
    /// A bucket (`backup.s3_bucket`).
    S3(Bucket),
}

#[derive(Debug, Clone)]
pub struct Bucket {
    pub store: Arc<dyn ObjectStore>,
    pub bucket: String,
    /// The folder in the bucket, without slashes at either end.
    pub prefix: Option<String>,
    /// A private local folder (`DATA_DIR/tmp`) archives are sealed in
    /// before their upload.
    pub local_tmp: PathBuf,
}

impl Bucket {
    fn path(&self, name: &str) -> anyhow::Result<ObjectPath> {
        let name = plain_name(name)?;
        Ok(match &self.prefix {
            Some(p) => ObjectPath::from(format!("{p}/{name}")),
            None => ObjectPath::from(name),
        })
    }
}

/// A name that stays in the folder it is joined to: no separator, not `.`
/// or `..`, not empty.
fn plain_name(name: &str) -> anyhow::Result<&str> {
    let bad = name.is_empty() || name == "." || name == ".." || name.contains(['/', '\\', '\0']);
    anyhow::ensure!(!bad, "{name:?} is not a backup file name");
    Ok(name)
}

impl Destination {
    /// A private folder for sealed archives and manifests in the making:
    /// for a local folder, on the same file system (so `put` is a rename);
    /// for a bucket, in `DATA_DIR/tmp`. Plain dumps never go here: see
    /// `backup::plain_staging`.
    ///
    /// Only `create` makes one, holding the backup lock (`_held`): any
    /// other staging folder there is a killed run's leftover, removed at
    /// once.
    pub fn staging(&self, _held: &super::RunLock) -> anyhow::Result<tempfile::TempDir> {
        let dir = match self {
            Self::Local(dir) => dir,
            Self::S3(b) => &b.local_tmp,
        };
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the folder {}", dir.display()))?;
        remove_leftovers(dir, ".staging-", std::time::Duration::ZERO);
        super::archive::private_tempdir(dir, ".staging-")
            .with_context(|| format!("writing to {}", dir.display()))
    }

    /// Stores the file at `from` as `name` (moving it into a local
    /// folder; uploading it, in parts when large, to a bucket).
    pub async fn put(&self, name: &str, from: &Path) -> anyhow::Result<()> {
        match self {
            Self::Local(dir) => {
                let to = dir.join(plain_name(name)?);
                std::fs::rename(from, &to)
                    .with_context(|| format!("moving the backup to {}", to.display()))?;
                std::fs::File::open(dir)?.sync_all()?;
                Ok(())
            }
            Self::S3(b) => {
                let path = b.path(name)?;
                let started = std::time::Instant::now();
                upload(b.store.as_ref(), &path, from)
                    .await
                    .with_context(|| format!("uploading {name} to {}", self.describe()))?;
                // The upload's own rate (scripts/bench backup reads it).
                let bytes = std::fs::metadata(from).map_or(0, |m| m.len());
                let seconds = started.elapsed().as_secs_f64();
                tracing::info!(
                    file = name,
                    bytes,
                    seconds,
                    "uploaded {name} to {}: {bytes} bytes in {seconds:.3} s",
                    self.describe()
                );
                Ok(())
            }
        }
    }

    /// A local path holding `name`'s bytes: the file itself in a local
    /// folder; from a bucket, a download into `scratch`.
    pub async fn get(&self, name: &str, scratch: &Path) -> anyhow::Result<PathBuf> {
        match self {
            Self::Local(dir) => {
                let path = dir.join(plain_name(name)?);
                anyhow::ensure!(path.is_file(), "there is no {} in {}", name, dir.display());
                Ok(path)
            }
            Self::S3(b) => {
                let path = b.path(name)?;
                let to = scratch.join(plain_name(name)?);
                download(b.store.as_ref(), &path, &to)
                    .await
                    .with_context(|| format!("downloading {name} from {}", self.describe()))?;
                Ok(to)
            }
        }
    }

    /// The bytes of a small file (a manifest).
    pub async fn read(&self, name: &str) -> anyhow::Result<Vec<u8>> {
        match self {
            Self::Local(dir) => {
                // Off the runtime: a hung disk or network mount must not
                // stall a worker thread (the health and metrics routes read
                // manifests).
                let path = dir.join(plain_name(name)?);
                tokio::task::spawn_blocking(move || {
                    std::fs::read(&path).with_context(|| format!("reading {}", path.display()))
                })
                .await?
            }
            Self::S3(b) => {
                let got = async {
                    b.store
                        .get(&b.path(name)?)
                        .await?
                        .bytes()
                        .await
                        .map_err(anyhow::Error::from)
                };
                Ok(got
                    .await
                    .with_context(|| format!("reading {name} from {}", self.describe()))?
                    .to_vec())
            }
        }
    }

    /// Every file name at the destination.
    pub async fn list(&self) -> anyhow::Result<Vec<String>> {
        match self {
            Self::Local(dir) => {
                // Off the runtime, as `read`.
                let dir = dir.clone();
                tokio::task::spawn_blocking(move || {
                    if !dir.exists() {
                        return Ok(Vec::new());
                    }
                    let mut names = Vec::new();
                    for entry in std::fs::read_dir(&dir)
                        .with_context(|| format!("listing the backup folder {}", dir.display()))?
                    {
                        let entry = entry?;
                        if entry.file_type()?.is_file() {
                            names.push(entry.file_name().to_string_lossy().into_owned());
                        }
                    }
                    Ok(names)
                })
                .await?
            }
            Self::S3(b) => {
                let prefix = b.prefix.as_deref().map(ObjectPath::from);
                let listed = b
                    .store
                    .list_with_delimiter(prefix.as_ref())
                    .await
                    .with_context(|| format!("listing {}", self.describe()))?;
                Ok(listed
                    .objects
                    .into_iter()
                    .filter_map(|o| o.location.filename().map(str::to_owned))
                    .collect())
            }
        }
    }

    /// Removes `name`; a missing file is not an error.
    pub async fn delete(&self, name: &str) -> anyhow::Result<()> {
        match self {
            Self::Local(dir) => match std::fs::remove_file(dir.join(plain_name(name)?)) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(e).with_context(|| format!("deleting {name}")),
            },
            Self::S3(b) => match b.store.delete(&b.path(name)?).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(e) => {
                    Err(e).with_context(|| format!("deleting {name} from {}", self.describe()))
                }
            },
        }
    }

    /// Where it is, for messages and health: a folder, or
    /// `s3://BUCKET/PREFIX`.
    pub fn describe(&self) -> String {
        match self {
            Self::Local(dir) => dir.display().to_string(),
            Self::S3(b) => match &b.prefix {
                Some(p) => format!("s3://{}/{p}", b.bucket),
                None => format!("s3://{}", b.bucket),
            },
        }
    }
}

/// Uploads the file `from` as `path`: in one request when it fits in a
/// part, else as a multipart upload reading one part at a time (aborted
/// on failure, so no part is left billed).
async fn upload(store: &dyn ObjectStore, path: &ObjectPath, from: &Path) -> anyhow::Result<()> {
    let mut file = tokio::fs::File::open(from)
        .await
        .with_context(|| format!("opening {}", from.display()))?;
    let size = file.metadata().await?.len();
    if size <= PART as u64 {
        let mut body = Vec::with_capacity(size as usize);
        file.read_to_end(&mut body).await?;
        store.put(path, body.into()).await?;
        return Ok(());
    }
    let part = part_size(size);
    let mut upload = WriteMultipart::new_with_chunk_size(store.put_multipart(path).await?, part);
    let sent: anyhow::Result<()> = async {
        let mut buf = vec![0u8; part];
        loop {
            let n = read_full(&mut file, &mut buf).await?;
            if n == 0 {
                break;
            }
            upload.wait_for_capacity(PARTS_IN_FLIGHT).await?;
            upload.write(&buf[..n]);
        }
        // Every part in flight settled here, where a failure still aborts:
        // `finish` would return its error without aborting.
        upload.wait_for_capacity(0).await?;
        Ok(())
    }
    .await;
    match sent {
        Ok(()) => {
            // Only the completing request is left; should it fail, the
            // parts stay until the bucket's lifecycle rule
            // (AbortIncompleteMultipartUpload, docs/backups.md) drops them.
            upload.finish().await?;
            Ok(())
        }
        Err(e) => {
            let _ = upload.abort().await;
            Err(e)
        }
    }
}

/// The part size of a multipart upload of `size` bytes: [`PART`], or
/// larger so that the upload needs at most [`MAX_PARTS`] parts (archives
/// above ~70 GiB).
pub fn part_size(size: u64) -> usize {
    let needed = size.div_ceil(MAX_PARTS);
    usize::try_from(needed).unwrap_or(usize::MAX).max(PART)
}

/// Fills `buf` unless the file ends first; the bytes read.
async fn read_full(file: &mut tokio::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        let n = file.read(&mut buf[filled..]).await?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    Ok(filled)
}

/// Downloads `path` into the new file `to`, a range of [`PART`] bytes at
/// a time.
async fn download(store: &dyn ObjectStore, path: &ObjectPath, to: &Path) -> anyhow::Result<()> {
    let size = store.head(path).await?.size;
    let mut file = tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(to)
        .await
        .with_context(|| format!("creating {}", to.display()))?;
    let mut at = 0u64;
    while at < size {
        let end = (at + PART as u64).min(size);
        let bytes = store.get_range(path, at..end).await?;
        file.write_all(&bytes).await?;
        at = end;
    }
    file.flush().await?;
    file.sync_all().await?;
    Ok(())
}

/// How old a scratch folder of `verify` or `restore` must be to be taken
/// for a killed command's: a day, when no command can still be using it.
pub(super) const STALE: std::time::Duration = std::time::Duration::from_secs(86_400);

/// Folders named `prefix…` in `dir` that a killed command left behind,
/// removed once older than `age` (zero: now, for folders only a holder of
/// the backup lock makes).
pub(super) fn remove_leftovers(dir: &Path, prefix: &str, age: std::time::Duration) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let stale = entry.file_name().to_string_lossy().starts_with(prefix)
            && (age.is_zero()
                || entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .is_ok_and(|t| t.elapsed().is_ok_and(|old| old >= age)));
        if stale {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// S3 takes at most 10 000 parts: parts grow past 8 MiB for archives
    /// that would need more than 9 000.
    #[test]
    fn parts_grow_so_a_huge_archive_needs_at_most_9000() {
        assert_eq!(part_size(1), PART);
        assert_eq!(part_size(PART as u64 * 9_000), PART);
        let big = 200u64 << 30; // 200 GiB
        let p = part_size(big) as u64;
        assert!(p > PART as u64);
        assert!(big.div_ceil(p) <= 9_000);
    }

    /// An archive larger than a part goes up as a multipart upload and
    /// comes back, by ranges, byte for byte (against the S3 test server
    /// when `STOREKEEP_TEST_S3_ENDPOINT` is set).
    #[tokio::test]
    async fn a_large_archive_goes_up_in_parts_and_comes_back_whole() {
        let (Ok(endpoint), Ok(bucket)) = (
            std::env::var("STOREKEEP_TEST_S3_ENDPOINT"),
            std::env::var("STOREKEEP_TEST_S3_BUCKET"),
        ) else {
            assert!(
                std::env::var("STOREKEEP_TEST_REQUIRE_TOOLS").is_err(),
                "STOREKEEP_TEST_S3_ENDPOINT is required when STOREKEEP_TEST_REQUIRE_TOOLS is set"
            );
            eprintln!("skipping: no STOREKEEP_TEST_S3_ENDPOINT");
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let store = crate::media::s3_builder(&crate::media::S3Access {
            bucket: &bucket,
            region: "us-east-1",
            endpoint: Some(&endpoint),
            access_key_id: Some("test"),
            secret_access_key: Some("test"),
        })
        .build()
        .unwrap();
        let dest = Destination::S3(Bucket {
            store: Arc::new(store),
            bucket,
            prefix: Some(format!("unit-{}", uuid::Uuid::now_v7())),
            local_tmp: dir.path().to_path_buf(),
        });
        // Two and a half parts of bytes that do not repeat.
        let body: Vec<u8> = (0..PART * 5 / 2)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let from = dir.path().join("big");
        std::fs::write(&from, &body).unwrap();
        dest.put("20261127T120000000Z.sqlite.zst.age", &from)
            .await
            .unwrap();
        assert_eq!(
            dest.list().await.unwrap(),
            ["20261127T120000000Z.sqlite.zst.age"]
        );
        let scratch = dir.path().join("scratch");
        std::fs::create_dir(&scratch).unwrap();
        let got = dest
            .get("20261127T120000000Z.sqlite.zst.age", &scratch)
            .await
            .unwrap();
        assert!(got.starts_with(&scratch));
        assert!(std::fs::read(&got).unwrap() == body, "the same bytes");
        assert!(dest.get("../big", &scratch).await.is_err());
        dest.delete("20261127T120000000Z.sqlite.zst.age")
            .await
            .unwrap();
        assert!(dest.list().await.unwrap().is_empty());
    }
}
