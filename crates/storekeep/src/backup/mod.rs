//! Backups (`storekeep backup`): a consistent snapshot of the live
//! database, compressed and encrypted into one archive, with a manifest
//! beside it that says what it must restore to; verifying one by
//! restoring it into a scratch database; restoring one safely; pruning by
//! a retention policy. See docs/backups.md.
//!
//! - SQLite: `VACUUM INTO` a file (one read transaction: writers carry on).
//! - PostgreSQL: `pg_dump --format=custom` of a snapshot exported by a
//!   repeatable-read transaction, which also counts the rows, so the
//!   manifest describes exactly what was dumped.
//!
//! The SQL lives in each backend's `maintenance` module; this module runs
//! the steps, the files and the programs.

pub mod archive;
pub mod destination;
pub mod lock;
pub mod pg_tools;
mod restore;
pub mod retention;
mod verify;
pub mod watch;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use storekeep_store::DatabaseKind;
use storekeep_store::maintenance::{AuditHead, DatabaseFacts};
use storekeep_store_postgres::maintenance as pg;
use storekeep_store_sqlite::maintenance as lite;

pub use archive::Digested;
pub use destination::Destination;
pub use lock::RunLock;
pub use restore::{RestoreOutcome, restore};
use verify::{Scratch, drop_scratch, load_dump, problems};
pub use verify::{Verified, verify};

use crate::config::{Secret, Settings};

/// The archive format this binary writes and the newest it reads.
pub const FORMAT: u32 = 1;
const MANIFEST_SUFFIX: &str = ".manifest.json";

/// What a backup holds and must restore to. Written as JSON beside the
/// archive (no personal data: names of tables, counts, hashes); the
/// archive's SHA-256 in it binds the two.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub id: String,
    pub created_at: DateTime<Utc>,
    pub storekeep_version: String,
    /// `sqlite` or `postgres`.
    pub database: String,
    /// The newest migration applied to the database backed up.
    pub schema_version: Option<i64>,
    /// The encrypted file: its name at the destination, size and SHA-256.
    pub archive: ArchiveFile,
    /// The dump inside (SQLite file or `pg_dump` custom format), before
    /// compression.
    pub dump: Digested,
    /// Rows per table at the snapshot.
    pub tables: BTreeMap<String, i64>,
    /// Each audit chain's head at the snapshot.
    pub audit_heads: BTreeMap<String, AuditHead>,
    /// The media objects (product images) the snapshot can refer to, by
    /// checksum; they stay in the media store (see docs/backups.md).
    pub media: MediaRefs,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ArchiveFile {
    pub file: String,
    pub bytes: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MediaRefs {
    /// `local` or `s3`.
    pub store: String,
    pub objects: Vec<MediaObject>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MediaObject {
    pub key: String,
    pub bytes: u64,
    pub sha256: String,
}

impl Manifest {
    fn facts(&self) -> DatabaseFacts {
        DatabaseFacts {
            schema_version: self.schema_version,
            tables: self.tables.clone(),
            audit_heads: self.audit_heads.clone(),
        }
    }

    /// Refuses a backup this binary cannot restore: a newer format or
    /// schema, or another kind of database than the configured one.
    pub fn check_readable(&self, kind: DatabaseKind) -> anyhow::Result<()> {
        if self.format > FORMAT {
            bail!(
                "backup {} has format {} but this storekeep reads format {FORMAT} at most: use a newer storekeep",
                self.id,
                self.format
            );
        }
        let known = known_schema(kind);
        if let Some(v) = self.schema_version
            && v > known
        {
            bail!(
                "backup {} has schema version {v}, newer than this storekeep's {known}: restore it with storekeep {} or newer",
                self.id,
                self.storekeep_version
            );
        }
        if self.database != kind.as_str() {
            bail!(
                "backup {} is of a {} database but database.url is {}: an archive restores to its own kind of database",
                self.id,
                self.database,
                kind.as_str()
            );
        }
        Ok(())
    }
}

impl Manifest {
    /// Why the file names this manifest gives are not those `create`
    /// writes for it (`None`: they are): an id `YYYYMMDDTHHMMSSmmmZ`, the
    /// manifest file `ID.manifest.json` (`listed_as`) and the archive
    /// `ID.DATABASE.zst.age`. An edited manifest naming `../storekeep.db`
    /// or an absolute path must not make prune delete it.
    fn names_problem(&self, listed_as: &str) -> Option<String> {
        if !is_backup_id(&self.id) {
            return Some(format!("its id {:?} is not a backup id", self.id));
        }
        if listed_as != format!("{}{MANIFEST_SUFFIX}", self.id) {
            return Some(format!("its id {} does not match its file name", self.id));
        }
        if !matches!(self.database.as_str(), "sqlite" | "postgres") {
            return Some(format!("{:?} is not a database kind", self.database));
        }
        let archive = format!("{}.{}.zst.age", self.id, self.database);
        if self.archive.file != archive {
            return Some(format!(
                "its archive {:?} is not {archive}",
                self.archive.file
            ));
        }
        None
    }
}

/// `YYYYMMDDTHHMMSSmmmZ`: 8 digits, `T`, 9 digits, `Z`.
fn is_backup_id(id: &str) -> bool {
    let b = id.as_bytes();
    b.len() == 19
        && b[..8].iter().all(u8::is_ascii_digit)
        && b[8] == b'T'
        && b[9..18].iter().all(u8::is_ascii_digit)
        && b[18] == b'Z'
}

fn known_schema(kind: DatabaseKind) -> i64 {
    match kind {
        DatabaseKind::Sqlite => lite::latest_known_migration(),
        DatabaseKind::Postgres => pg::latest_known_migration(),
    }
}

/// Shared with the other long commands; kept here under its old name.
pub use crate::progress::Progress;

/// The configured database's kind, refusing an in-memory one.
pub fn database_kind(settings: &Settings) -> anyhow::Result<DatabaseKind> {
    let url = settings.database_session_url();
    if url.expose().starts_with("sqlite:") {
        if crate::db::embedded_file(settings).is_none() {
            bail!("an in-memory SQLite database cannot be backed up or restored");
        }
        Ok(DatabaseKind::Sqlite)
    } else {
        Ok(DatabaseKind::Postgres)
    }
}

/// The period of scheduled backups (`backup.schedule`; `auto`: every 15
/// minutes on an SQLite file database, off on PostgreSQL); `None`: off.
pub fn schedule(settings: &Settings) -> Option<std::time::Duration> {
    let sqlite_file = matches!(database_kind(settings), Ok(DatabaseKind::Sqlite));
    settings.backup.period(sqlite_file)
}

/// Where backups go: `backup.s3_bucket` when set, else `backup.dir`.
pub fn destination(settings: &Settings) -> anyhow::Result<Destination> {
    let b = &settings.backup;
    let Some(bucket) = &b.s3_bucket else {
        return Ok(Destination::Local(b.dir(&settings.data_dir)));
    };
    // The client's default retries (ten, over up to three minutes): a
    // backup is worth waiting for, unlike a shopper's image upload. And a
    // longer per-request limit than the client's 30 s default: a part of
    // a large archive ([`destination::part_size`]) on a slow link.
    let store = crate::media::s3_builder(&crate::media::S3Access {
        bucket,
        region: &b.s3_region,
        endpoint: b.s3_endpoint.as_deref(),
        access_key_id: b.s3_access_key_id.as_deref(),
        secret_access_key: b.s3_secret_access_key.as_ref().map(|s| s.expose()),
    })
    // One option on top of `s3_builder`'s (its connect timeout, plain
    // HTTP for an `http://` endpoint), not a set replacing them.
    .with_config(
        object_store::aws::AmazonS3ConfigKey::Client(object_store::ClientConfigKey::Timeout),
        format!("{}s", destination::REQUEST_TIMEOUT.as_secs()),
    )
    .build()
    .context("configuring the backup bucket (backup.s3_*)")?;
    Ok(Destination::S3(destination::Bucket {
        store: std::sync::Arc::new(store),
        bucket: bucket.clone(),
        prefix: b.s3_prefix.clone(),
        local_tmp: private_tmp(settings)?,
    }))
}

/// `DATA_DIR/tmp`, created private (0700).
fn private_tmp(settings: &Settings) -> anyhow::Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let tmp = settings.data_dir.join("tmp");
    std::fs::create_dir_all(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o700))
        .with_context(|| format!("making {} private", tmp.display()))?;
    Ok(tmp)
}

/// The identity generated for a fresh installation, used when
/// `backup.recipients` is unset.
fn generated_identity_file(settings: &Settings) -> PathBuf {
    settings.data_dir.join("secrets").join("backup-identity")
}

/// A fresh age identity file's text: a comment with its recipient, then
/// the secret key.
pub fn new_identity() -> (String, String) {
    use age::secrecy::ExposeSecret;
    let id = age::x25519::Identity::generate();
    let recipient = id.to_public().to_string();
    let text = format!(
        "# storekeep backup identity\n# recipient: {recipient}\n{}\n",
        id.to_string().expose_secret()
    );
    (text, recipient)
}

/// Generates the identity file `path` unless it exists. The identity is
/// written whole to a private temporary file, then linked into place only
/// if nothing is there yet: of two commands generating one at once, one
/// wins and both use its identity (a truncate-and-write would let the
/// second replace the key the first had already encrypted to).
fn ensure_identity_file(path: &Path) -> anyhow::Result<()> {
    use std::io::Write;
    if path.exists() {
        return Ok(());
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let (text, _) = new_identity();
    // NamedTempFile is 0600.
    let mut file = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("writing to {}", dir.display()))?;
    file.write_all(text.as_bytes())?;
    file.as_file().sync_all()?;
    match file.persist_noclobber(path) {
        Ok(_) => Ok(()),
        Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(anyhow::Error::new(e.error)
            .context(format!("writing the backup identity {}", path.display()))),
    }
}

/// The recipients a new backup is encrypted to: `backup.recipients`, or
/// the generated identity's (created on first use, with a warning).
fn recipients(settings: &Settings) -> anyhow::Result<Vec<age::x25519::Recipient>> {
    if !settings.backup.recipients.is_empty() {
        return archive::recipients(&settings.backup.recipients);
    }
    let path = generated_identity_file(settings);
    ensure_identity_file(&path)?;
    tracing::warn!(
        "backup.recipients is unset: encrypting to the generated identity {}; keep a copy of it away \
         from this machine (without it no backup can be read) or set backup.recipients",
        path.display()
    );
    Ok(archive::identities(&path)?
        .iter()
        .map(age::x25519::Identity::to_public)
        .collect())
}

/// The identities that open backups: `--identity`, `backup.identity_file`,
/// or the generated one.
pub fn identities(
    settings: &Settings,
    flag: Option<&Path>,
) -> anyhow::Result<Vec<age::x25519::Identity>> {
    let path = match (flag, &settings.backup.identity_file) {
        (Some(p), _) => p.to_path_buf(),
        (None, Some(p)) => p.clone(),
        (None, None) => {
            let p = generated_identity_file(settings);
            if !p.exists() {
                bail!(
                    "no identity to decrypt backups with: pass --identity FILE or set backup.identity_file"
                );
            }
            p
        }
    };
    archive::identities(&path)
}

/// A connection URL of the same server for database `name`.
fn pg_url_for(url: &str, name: &str) -> anyhow::Result<String> {
    let mut parsed = url::Url::parse(url).context("database.url is not a URL")?;
    parsed.set_path(&format!("/{name}"));
    Ok(parsed.into())
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

/// Settings that point at another database (a scratch one).
fn settings_for(settings: &Settings, url: String) -> Settings {
    let mut s = settings.clone();
    s.database_url = Some(Secret::new(url));
    s
}

/// A private local folder for a plain dump: a new 0700 folder in
/// `DATA_DIR/tmp` (itself 0700), never in `backup.dir`, which may be a
/// network mount or a synced folder (the very storage the encryption
/// protects against). Folders a killed command left are removed once a
/// day old.
pub(crate) fn plain_staging(settings: &Settings) -> anyhow::Result<tempfile::TempDir> {
    let tmp = private_tmp(settings)?;
    destination::remove_leftovers(&tmp, ".backup-", destination::STALE);
    archive::private_tempdir(&tmp, ".backup-")
        .with_context(|| format!("writing to {}", tmp.display()))
}

/// The private folder of `create`'s plain dump, in `DATA_DIR/tmp`. Only
/// a holder of the backup lock makes one, so any other such folder there
/// is a killed run's leftover (with a partial or whole plain dump) and is
/// removed at once, whatever its age: killed runs leave at most one.
fn create_staging(settings: &Settings, _held: &RunLock) -> anyhow::Result<tempfile::TempDir> {
    let tmp = private_tmp(settings)?;
    destination::remove_leftovers(&tmp, CREATE_PREFIX, std::time::Duration::ZERO);
    archive::private_tempdir(&tmp, CREATE_PREFIX)
        .with_context(|| format!("writing to {}", tmp.display()))
}

/// `create`'s plain dump folders (under `.backup-`, which `verify` and
/// `restore` sweep too once a day old).
const CREATE_PREFIX: &str = ".backup-create-";

/// Takes a backup of the configured database. `held`: the backup lock
/// ([`lock::try_lock`]), so that one backup runs at a time.
pub async fn create(
    settings: &Settings,
    held: &RunLock,
    progress: &Progress,
) -> anyhow::Result<Manifest> {
    // Refused here rather than at load: `serve` starts (its scheduled runs
    // fail with this message, and the alert fires) and the other backup
    // commands still read the backups already there.
    if let Some(why) = settings
        .backup
        .media_overlap(&settings.media, &settings.data_dir)
    {
        bail!("backup: {why}");
    }
    let kind = database_kind(settings)?;
    let recipients = recipients(settings)?;
    let dest = destination(settings)?;
    // Before removing leftovers: only a holder of the lock may.
    held.check().await?;
    let plain = create_staging(settings, held)?;
    let staging = dest.staging(held)?;
    let created_at = Utc::now();
    let id = created_at.format("%Y%m%dT%H%M%S%3fZ").to_string();
    let dump = plain.path().join("dump");
    let url = settings.database_session_url().expose().to_owned();
    // Created empty and 0600 first: `VACUUM INTO` and `pg_dump` fill it
    // without widening its mode.
    archive::create_private(&dump).context("creating the dump file")?;
    progress.step("snapshot", 0);
    let facts = match kind {
        DatabaseKind::Sqlite => {
            lite::vacuum_into(&url, &dump)
                .await
                .context("taking the SQLite snapshot (VACUUM INTO)")?;
            lite::facts(&sqlite_url(&dump)).await?
        }
        DatabaseKind::Postgres => {
            let tool = pg_tools::find("pg_dump", settings.backup.pg_bin_dir.as_deref())?;
            let mut snapshot = pg::export_snapshot(&url).await?;
            let facts = snapshot.facts().await?;
            let mut cmd = pg_tools::command(&tool, &url)?;
            cmd.arg("--format=custom")
                .arg(format!("--snapshot={}", snapshot.id));
            // Through a pipe, not `--file`: a `pg_dump` whose storekeep is
            // killed dies at its next write instead of dumping on alone.
            let dumped = pg_tools::run_killable_into(cmd, "pg_dump", &dump).await;
            snapshot.end().await?;
            dumped?;
            facts
        }
    };
    let previous = newest(&dest).await.unwrap_or_else(|e| {
        tracing::warn!(error = %format!("{e:#}"), "backup: reading the previous manifest failed; every media object is hashed");
        None
    });
    let media = media_refs(settings, previous.as_ref()).await?;
    let archive_name = format!("{id}.{}.zst.age", kind.as_str());
    let sealed = staging.path().join(&archive_name);
    let total = std::fs::metadata(&dump)?.len();
    progress.step("encrypt", total);
    let (dump_digest, archive_digest) = {
        let (dump, sealed, p) = (dump.clone(), sealed.clone(), progress.clone());
        tokio::task::spawn_blocking(move || {
            archive::seal(&dump, &sealed, &recipients, &|n| p.at(n))
        })
        .await??
    };
    progress.done();
    plain
        .close()
        .context("removing the plain dump from the private staging folder")?;
    let manifest = Manifest {
        format: FORMAT,
        id: id.clone(),
        created_at,
        storekeep_version: env!("CARGO_PKG_VERSION").to_owned(),
        database: kind.as_str().to_owned(),
        schema_version: facts.schema_version,
        archive: ArchiveFile {
            file: archive_name.clone(),
            bytes: archive_digest.bytes,
            sha256: archive_digest.sha256,
        },
        dump: dump_digest,
        tables: facts.tables,
        audit_heads: facts.audit_heads,
        media,
    };
    let manifest_path = staging.path().join("manifest");
    std::fs::write(&manifest_path, serde_json::to_vec_pretty(&manifest)?)?;
    std::fs::File::open(&manifest_path)?.sync_all()?;
    // The manifest goes last: a listed backup is a whole one. Not
    // published if the lock went meanwhile (another run may be writing).
    held.check().await?;
    dest.put(&archive_name, &sealed).await?;
    dest.put(&format!("{id}{MANIFEST_SUFFIX}"), &manifest_path)
        .await?;
    Ok(manifest)
}

/// Every media object with its checksum. Media keys are never rewritten
/// (each upload gets a new random key), so an object the previous backup
/// listed with the same size keeps that backup's checksum instead of being
/// downloaded and hashed again; only new objects are read. (The database
/// keeps no checksum of images.) `backup verify` still compares every
/// object with the manifest.
async fn media_refs(settings: &Settings, previous: Option<&Manifest>) -> anyhow::Result<MediaRefs> {
    use sha2::Digest;
    let media = crate::media::Media::from_settings(&settings.media, &settings.data_dir)?;
    let known: std::collections::HashMap<&str, &MediaObject> = previous
        .filter(|m| m.media.store == media.kind())
        .map(|m| {
            m.media
                .objects
                .iter()
                .map(|o| (o.key.as_str(), o))
                .collect()
        })
        .unwrap_or_default();
    let mut objects = Vec::new();
    for (key, bytes) in media.inventory().await.context("listing the media store")? {
        if let Some(o) = known.get(key.as_str()).filter(|o| o.bytes == bytes) {
            objects.push((*o).clone());
            continue;
        }
        let Some(body) = media.get(&key).await? else {
            continue; // deleted meanwhile
        };
        objects.push(MediaObject {
            key,
            bytes,
            sha256: format!("{:x}", sha2::Sha256::digest(&body)),
        });
    }
    Ok(MediaRefs {
        store: media.kind().to_owned(),
        objects,
    })
}

/// The backups at the destination, newest first. A manifest that does
/// not parse, or whose names are not the ones `create` writes, is
/// reported as a warning and left out: every command that deletes or
/// reads a file names it from a listed manifest.
pub async fn list(settings: &Settings) -> anyhow::Result<Vec<Manifest>> {
    let dest = destination(settings)?;
    let mut found = Vec::new();
    for name in dest.list().await? {
        if !name.ends_with(MANIFEST_SUFFIX) {
            continue;
        }
        match serde_json::from_slice::<Manifest>(&dest.read(&name).await?) {
            Ok(m) => match m.names_problem(&name) {
                None => found.push(m),
                Some(why) => tracing::warn!(file = name, "{name} is skipped: {why}"),
            },
            Err(e) => tracing::warn!(file = name, "{name} is not a backup manifest: {e}"),
        }
    }
    found.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
    Ok(found)
}

/// The newest whole backup at `dest`, reading one manifest (ids sort by
/// time): the newest valid manifest file, skipping any that does not
/// parse or names other files.
pub async fn newest(dest: &Destination) -> anyhow::Result<Option<Manifest>> {
    let mut names: Vec<String> = dest
        .list()
        .await?
        .into_iter()
        .filter(|n| n.strip_suffix(MANIFEST_SUFFIX).is_some_and(is_backup_id))
        .collect();
    names.sort_unstable_by(|a, b| b.cmp(a));
    for name in names {
        let parsed = serde_json::from_slice::<Manifest>(&dest.read(&name).await?);
        if let Ok(m) = parsed
            && m.names_problem(&name).is_none()
        {
            return Ok(Some(m));
        }
    }
    Ok(None)
}

/// The backup `which` names: an id or `latest`.
pub async fn find(settings: &Settings, which: &str) -> anyhow::Result<Manifest> {
    let all = list(settings).await?;
    let dest = destination(settings)?.describe();
    let found = if which == "latest" {
        all.into_iter().next()
    } else {
        all.into_iter().find(|m| m.id == which)
    };
    found.with_context(|| format!("there is no backup '{which}' in {dest}"))
}

/// Checks the archive against its manifest, then decrypts and
/// decompresses it into `into`.
async fn unpack(
    settings: &Settings,
    manifest: &Manifest,
    identities: Vec<age::x25519::Identity>,
    into: &Path,
    progress: &Progress,
) -> anyhow::Result<()> {
    let dest = destination(settings)?;
    progress.step("download", 0);
    let path = dest
        .get(&manifest.archive.file, into.parent().unwrap_or(into))
        .await?;
    progress.step("checksum", 0);
    let found = {
        let path = path.clone();
        tokio::task::spawn_blocking(move || archive::digest_file(&path)).await??
    };
    if found.bytes != manifest.archive.bytes || found.sha256 != manifest.archive.sha256 {
        bail!(
            "the archive {} does not match its manifest (SHA-256 {}, {} bytes; the manifest says {}, {} bytes): \
             it was altered or truncated",
            manifest.archive.file,
            found.sha256,
            found.bytes,
            manifest.archive.sha256,
            manifest.archive.bytes
        );
    }
    progress.step("decrypt", manifest.dump.bytes);
    let plain = {
        let (into, p) = (into.to_path_buf(), progress.clone());
        tokio::task::spawn_blocking(move || archive::open(&path, &into, &identities, &|n| p.at(n)))
            .await?
    }
    .with_context(|| format!("opening the archive {}", manifest.archive.file))?;
    if plain != manifest.dump {
        bail!(
            "the dump inside {} does not match its manifest (SHA-256 {})",
            manifest.archive.file,
            plain.sha256
        );
    }
    Ok(())
}

/// The backups `policy` prunes at `now`, oldest first (none is deleted
/// here).
pub async fn to_prune(settings: &Settings, now: DateTime<Utc>) -> anyhow::Result<Vec<Manifest>> {
    let all = list(settings).await?;
    let times: Vec<i64> = all.iter().map(|m| m.created_at.timestamp()).collect();
    let kept = retention::keep(&settings.backup.keep, &times, now.timestamp());
    let mut gone: Vec<Manifest> = all
        .into_iter()
        .zip(kept)
        .filter_map(|(m, k)| (!k).then_some(m))
        .collect();
    gone.reverse();
    Ok(gone)
}

/// Deletes a backup: its archive first, then its manifest. An archive
/// whose deletion fails stays listed (and the next prune deletes it
/// again) instead of being left behind unlisted; a manifest whose
/// deletion fails lists a backup whose verify reports the missing
/// archive.
pub async fn delete(dest: &Destination, manifest: &Manifest) -> anyhow::Result<()> {
    dest.delete(&manifest.archive.file).await?;
    dest.delete(&format!("{}{MANIFEST_SUFFIX}", manifest.id))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Eight first backups at once generate one identity between them:
    /// every one of them reads the same key, the one in the file.
    #[test]
    fn concurrent_first_backups_share_one_generated_identity() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets").join("backup-identity");
        let start = std::sync::Barrier::new(8);
        let seen: Vec<String> = std::thread::scope(|s| {
            let runs: Vec<_> = (0..8)
                .map(|_| {
                    s.spawn(|| {
                        start.wait();
                        ensure_identity_file(&path).unwrap();
                        archive::identities(&path).unwrap()[0]
                            .to_public()
                            .to_string()
                    })
                })
                .collect();
            runs.into_iter().map(|r| r.join().unwrap()).collect()
        });
        assert!(seen.iter().all(|r| *r == seen[0]), "{seen:?}");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let files = std::fs::read_dir(path.parent().unwrap()).unwrap().count();
        assert_eq!(files, 1, "no temporary file left");
    }

    #[test]
    fn only_the_ids_create_writes_are_backup_ids() {
        assert!(is_backup_id("20261127T120102123Z"));
        for bad in [
            "",
            "../storekeep",
            "/var/lib/storekeep/storekeep.db",
            "20261127T120102123",
            "20261127T12010212Z",
            "2026112XT120102123Z",
            "20261127T120102123Z/..",
            "20261127/120102123Z",
        ] {
            assert!(!is_backup_id(bad), "{bad}");
        }
    }
}
