//! The `backup.*` settings: where backups go (a folder or an
//! S3-compatible bucket), whom they are encrypted to, which key opens
//! them, how often the server takes them and how long they are kept.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use super::Secret;
use crate::backup::retention::{self, Rule};

/// `storekeep backup`'s settings (`backup.*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSettings {
    /// The destination folder; `None`: `DATA_DIR/backups`.
    pub dir: Option<PathBuf>,
    /// age X25519 recipients (`age1…`) every backup is encrypted to;
    /// empty: the generated identity in `DATA_DIR/secrets/backup-identity`.
    pub recipients: Vec<String>,
    /// The age identity file that opens backups (verify, restore).
    pub identity_file: Option<PathBuf>,
    /// Where `pg_dump` and `pg_restore` are; `None`: PATH, then the newest
    /// `/usr/lib/postgresql/*/bin`.
    pub pg_bin_dir: Option<PathBuf>,
    /// The retention policy `backup prune` (and each scheduled run)
    /// applies.
    pub keep: Vec<Rule>,
    /// How often the job runner takes a backup and prunes.
    pub schedule: Schedule,
    /// The longest a scheduled run (create, then prune) may take before it
    /// is stopped and counted as failed; `None`: twice the period, at
    /// least an hour.
    pub timeout: Option<Duration>,
    /// The bucket backups go to instead of `dir`, when set.
    pub s3_bucket: Option<String>,
    /// The folder in the bucket (`storekeep/prod`: no leading or trailing
    /// slash); `None`: the bucket's top.
    pub s3_prefix: Option<String>,
    pub s3_endpoint: Option<String>,
    pub s3_region: String,
    pub s3_access_key_id: Option<String>,
    pub s3_secret_access_key: Option<Secret>,
}

/// `backup.schedule`: `auto` (every 15 minutes on an SQLite file
/// database, off on PostgreSQL), `off`, or a period such as `15m`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    Auto,
    Off,
    Every(Duration),
}

/// The period `auto` means on an SQLite database.
pub const AUTO_PERIOD: Duration = Duration::from_secs(15 * 60);

impl Schedule {
    fn parse(value: &str) -> Result<Self, String> {
        match value.trim() {
            "auto" => Ok(Self::Auto),
            "off" => Ok(Self::Off),
            other => {
                let secs = retention::parse_duration(other)
                    .map_err(|e| format!("{e}; or 'auto' or 'off'"))?;
                if secs < 60 {
                    return Err("must be at least 1m".into());
                }
                Ok(Self::Every(Duration::from_secs(secs.unsigned_abs())))
            }
        }
    }
}

pub const DEFAULT_KEEP: &str = "15m:1d,1h:7d,1d:30d";

impl Default for BackupSettings {
    fn default() -> Self {
        Self {
            dir: None,
            recipients: Vec::new(),
            identity_file: None,
            pg_bin_dir: None,
            keep: retention::parse_policy(DEFAULT_KEEP).expect("the default policy parses"),
            schedule: Schedule::Auto,
            timeout: None,
            s3_bucket: None,
            s3_prefix: None,
            s3_endpoint: None,
            s3_region: "us-east-1".into(),
            s3_access_key_id: None,
            s3_secret_access_key: None,
        }
    }
}

impl BackupSettings {
    /// Sets `key` (a `backup.*` key) from `value`.
    pub(super) fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        let path = |v: &str| -> Result<PathBuf, String> { Ok(PathBuf::from(super::non_empty(v)?)) };
        match key {
            "backup.dir" => self.dir = Some(path(value)?),
            "backup.recipients" => self.recipients = parse_recipients(value)?,
            "backup.identity_file" => self.identity_file = Some(path(value)?),
            "backup.pg_bin_dir" => self.pg_bin_dir = Some(path(value)?),
            "backup.keep" => self.keep = retention::parse_policy(value)?,
            "backup.schedule" => self.schedule = Schedule::parse(value)?,
            "backup.timeout" => {
                let secs = retention::parse_duration(value.trim())?;
                if secs < 10 {
                    return Err("must be at least 10s".into());
                }
                self.timeout = Some(Duration::from_secs(secs.unsigned_abs()));
            }
            "backup.s3_bucket" => self.s3_bucket = Some(super::non_empty(value)?),
            "backup.s3_prefix" => {
                let prefix = value.trim().trim_matches('/');
                let bad = prefix
                    .split('/')
                    .any(|p| p.is_empty() || p == "." || p == ".." || p.contains(['\\', '\0']));
                if bad {
                    return Err(
                        "must be folder names separated by '/', such as storekeep/prod".into(),
                    );
                }
                self.s3_prefix = Some(prefix.to_owned());
            }
            "backup.s3_endpoint" => {
                let url = super::non_empty(value)?;
                if !(url.starts_with("https://") || url.starts_with("http://")) {
                    return Err("must start with https:// or http://".into());
                }
                self.s3_endpoint = Some(url);
            }
            "backup.s3_region" => self.s3_region = super::non_empty(value)?,
            "backup.s3_access_key_id" => self.s3_access_key_id = Some(super::non_empty(value)?),
            "backup.s3_secret_access_key" => {
                self.s3_secret_access_key = Some(Secret::new(super::non_empty(value)?));
            }
            _ => return Err("is not a known setting".into()),
        }
        Ok(())
    }

    /// The destination folder.
    pub fn dir(&self, data_dir: &Path) -> PathBuf {
        self.dir.clone().unwrap_or_else(|| data_dir.join("backups"))
    }

    /// The period of scheduled backups, `None`: off. `sqlite` says the
    /// database is an SQLite file (where `auto` means every 15 minutes).
    pub fn period(&self, sqlite: bool) -> Option<Duration> {
        match self.schedule {
            Schedule::Auto => sqlite.then_some(AUTO_PERIOD),
            Schedule::Off => None,
            Schedule::Every(d) => Some(d),
        }
    }
}

impl BackupSettings {
    /// The time limit of a scheduled run of period `period`:
    /// `backup.timeout`, else twice the period and at least an hour.
    pub fn run_timeout(&self, period: Duration) -> Duration {
        self.timeout
            .unwrap_or_else(|| (period * 2).max(Duration::from_secs(3600)))
    }
}

impl BackupSettings {
    /// Why the backup destination overlaps the media store (`None`: it
    /// does not), naming both settings: the same bucket (on the same
    /// endpoint) with prefixes one inside the other — the media store
    /// uses its whole bucket, so any prefix is inside it — or a
    /// `backup.dir` inside (or equal to) the media folder
    /// `DATA_DIR/media`. Backups kept with the images would be listed by
    /// the media inventory (every manifest would list the archives), and
    /// whoever may write images could overwrite or delete backups. Only
    /// `backup create` (and so the scheduled run) refuses it; `serve` and
    /// the other backup commands warn, and `check-config` reports it.
    pub fn media_overlap(&self, media: &super::MediaSettings, data_dir: &Path) -> Option<String> {
        match (&self.s3_bucket, &media.s3_bucket) {
            (Some(backup), Some(images)) => {
                let endpoint = |e: &Option<String>| e.as_deref().map(same_endpoint_key);
                if backup != images || endpoint(&self.s3_endpoint) != endpoint(&media.s3_endpoint) {
                    return None;
                }
                let prefix = self.s3_prefix.as_deref().unwrap_or("");
                // The media store has no prefix of its own: the whole bucket.
                prefixes_overlap(prefix, "").then(|| {
                    let under = if prefix.is_empty() {
                        "the bucket's top (backup.s3_prefix is unset)".to_owned()
                    } else {
                        format!("backup.s3_prefix '{prefix}'")
                    };
                    format!(
                        "backup.s3_bucket '{backup}' is also media.s3_bucket, whose images fill the whole bucket, \
                         {under} included: keep backups in a bucket of their own"
                    )
                })
            }
            (Some(_), None) | (None, Some(_)) => None,
            (None, None) => {
                let backups = resolved(&self.dir(data_dir));
                let images = resolved(&data_dir.join("media"));
                let shown = |p: &Path| p.display().to_string();
                // Only a folder inside the media folder: one holding it is
                // fine, since backup listing and cleanup read only the
                // folder's own entries (not recursive) and never touch
                // `media/`.
                backups.starts_with(&images).then(|| {
                    format!(
                        "backup.dir '{}' is inside the media folder '{}' (data_dir/media, where images are kept \
                         while media.s3_bucket is unset): keep backups in a folder of their own",
                        shown(&backups),
                        shown(&images)
                    )
                })
            }
        }
    }
}

/// An S3 endpoint in a form two spellings of one server share: scheme
/// and host lowercased, a default port (80, 443) dropped, no trailing
/// slash. An endpoint that does not parse is compared as written.
fn same_endpoint_key(endpoint: &str) -> String {
    match url::Url::parse(endpoint.trim()) {
        // `Url` lowercases scheme and host and drops a default port.
        Ok(u) => format!(
            "{}://{}{}{}",
            u.scheme(),
            u.host_str().unwrap_or(""),
            u.port().map(|p| format!(":{p}")).unwrap_or_default(),
            u.path().trim_end_matches('/')
        ),
        Err(_) => endpoint.trim().trim_end_matches('/').to_owned(),
    }
}

/// Whether two bucket prefixes (folder names separated by `/`, no slash
/// at either end; empty: the whole bucket) share objects: one is the
/// other or a folder inside it.
fn prefixes_overlap(a: &str, b: &str) -> bool {
    let inside = |inner: &str, outer: &str| {
        outer.is_empty() || inner == outer || inner.starts_with(&format!("{outer}/"))
    };
    inside(a, b) || inside(b, a)
}

/// `path` made absolute (against the working directory, as the commands
/// use it), `.` and `..` applied, and the part that exists with its
/// symbolic links resolved: two spellings of one folder compare equal.
fn resolved(path: &Path) -> PathBuf {
    use std::path::Component;
    let absolute = std::env::current_dir()
        .map(|cwd| cwd.join(path))
        .unwrap_or_else(|_| path.to_path_buf());
    let mut plain = PathBuf::new();
    for part in absolute.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                plain.pop();
            }
            other => plain.push(other),
        }
    }
    let mut rest = Vec::new();
    let mut existing = plain.as_path();
    loop {
        if let Ok(real) = existing.canonicalize() {
            let mut out = real;
            out.extend(rest.iter().rev());
            return out;
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_owned());
                existing = parent;
            }
            _ => return plain,
        }
    }
}

/// Comma-separated age X25519 recipients (`age1…`), at least one.
pub fn parse_recipients(value: &str) -> Result<Vec<String>, String> {
    let list: Vec<String> = value
        .split(',')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_owned)
        .collect();
    if list.is_empty() {
        return Err("names no recipient".into());
    }
    for r in &list {
        age::x25519::Recipient::from_str(r)
            .map_err(|_| format!("'{r}' is not an age X25519 recipient (age1…)"))?;
    }
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipients_must_be_age_x25519_keys() {
        let id = age::x25519::Identity::generate();
        let r = id.to_public().to_string();
        assert_eq!(parse_recipients(&format!(" {r} ,")).unwrap(), vec![r]);
        assert!(parse_recipients("").is_err());
        assert!(parse_recipients("age1notakey").is_err());
        assert!(parse_recipients("ssh-ed25519 AAAA").is_err());
    }

    #[test]
    fn schedules_are_auto_off_or_a_period_of_a_minute_or_more() {
        let mut s = BackupSettings::default();
        assert_eq!(s.period(true), Some(AUTO_PERIOD));
        assert_eq!(s.period(false), None, "auto is off on PostgreSQL");
        s.set("backup.schedule", "1h").unwrap();
        assert_eq!(s.period(false), Some(Duration::from_secs(3600)));
        s.set("backup.schedule", "off").unwrap();
        assert_eq!(s.period(true), None);
        for bad in ["", "30s", "15", "often", "-5m"] {
            assert!(s.set("backup.schedule", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn prefixes_overlap_when_one_is_inside_the_other_or_either_is_the_whole_bucket() {
        for (a, b) in [
            ("", ""),
            ("a", ""),
            ("", "a/b"),
            ("a", "a"),
            ("a", "a/b"),
            ("a/b/c", "a/b"),
        ] {
            assert!(prefixes_overlap(a, b), "{a:?} {b:?}");
        }
        for (a, b) in [
            ("a", "b"),
            ("a", "ab"),
            ("a/b", "a/bc"),
            ("prod", "prod-media"),
        ] {
            assert!(!prefixes_overlap(a, b), "{a:?} {b:?}");
        }
    }

    #[test]
    fn a_backup_folder_overlapping_the_media_folder_is_named_with_both() {
        let data = tempfile::tempdir().unwrap();
        let media = super::super::MediaSettings::default();
        let mut s = BackupSettings::default();
        assert_eq!(s.media_overlap(&media, data.path()), None, "the default");
        for (dir, word) in [
            ("media", "inside"),
            ("media/backups", "inside"),
            ("media/../media/x", "inside"),
        ] {
            s.dir = Some(data.path().join(dir));
            let why = s.media_overlap(&media, data.path()).expect(dir);
            assert!(
                why.contains("backup.dir") && why.contains("data_dir/media") && why.contains(word),
                "{why}"
            );
        }
        for fine in ["media-backups", "."] {
            s.dir = Some(data.path().join(fine));
            assert_eq!(s.media_overlap(&media, data.path()), None, "{fine}");
        }
        let bucket = super::super::MediaSettings {
            s3_bucket: Some("images".into()),
            ..media.clone()
        };
        s.dir = Some(data.path().join("media"));
        assert_eq!(
            s.media_overlap(&bucket, data.path()),
            None,
            "the images are in a bucket"
        );
    }

    #[test]
    fn a_backup_bucket_that_is_the_media_bucket_is_named_with_both() {
        let data = Path::new("/nonexistent");
        let media = super::super::MediaSettings {
            s3_bucket: Some("shop".into()),
            ..Default::default()
        };
        let mut s = BackupSettings {
            s3_bucket: Some("shop".into()),
            ..Default::default()
        };
        let why = s.media_overlap(&media, data).unwrap();
        assert!(
            why.contains("backup.s3_bucket 'shop' is also media.s3_bucket"),
            "{why}"
        );
        s.s3_prefix = Some("backups".into());
        assert!(
            s.media_overlap(&media, data)
                .unwrap()
                .contains("backup.s3_prefix 'backups'")
        );
        let on = |backup: &str, images: &str| {
            let media = super::super::MediaSettings {
                s3_endpoint: Some(images.into()),
                ..media.clone()
            };
            let s = BackupSettings {
                s3_endpoint: Some(backup.into()),
                ..s.clone()
            };
            s.media_overlap(&media, data).is_some()
        };
        assert!(on("HTTPS://S3.Example.com:443/", "https://s3.example.com"));
        assert!(on("http://minio:80", "http://MINIO/"));
        assert!(!on("http://minio:9000", "http://minio"));
        assert!(!on("https://minio", "http://minio"));
        s.s3_endpoint = Some("http://127.0.0.1:9000".into());
        assert_eq!(
            s.media_overlap(&media, data),
            None,
            "another server's bucket"
        );
        s.s3_bucket = Some("shop-backups".into());
        s.s3_endpoint = None;
        assert_eq!(s.media_overlap(&media, data), None);
    }

    #[test]
    fn s3_prefixes_are_plain_folder_names() {
        let mut s = BackupSettings::default();
        s.set("backup.s3_prefix", "/storekeep/prod/").unwrap();
        assert_eq!(s.s3_prefix.as_deref(), Some("storekeep/prod"));
        for bad in ["", "/", "a//b", "a/../b", "..", "a/./b"] {
            assert!(s.set("backup.s3_prefix", bad).is_err(), "{bad}");
        }
    }
}
