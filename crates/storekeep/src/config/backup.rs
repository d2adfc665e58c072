//! The `backup.*` settings: where backups go, whom they are encrypted to,
//! which key opens them, and how long they are kept.

use std::path::{Path, PathBuf};
use std::str::FromStr;

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
    /// The retention policy `backup prune` applies.
    pub keep: Vec<Rule>,
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
            _ => return Err("is not a known setting".into()),
        }
        Ok(())
    }

    /// The destination folder.
    pub fn dir(&self, data_dir: &Path) -> PathBuf {
        self.dir.clone().unwrap_or_else(|| data_dir.join("backups"))
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
}
