//! `storekeep keys generate|rotate`: PII encryption keys.
//!
//! Rotation without downtime: add a new key at the end of
//! `encryption.keys` on every node (they now encrypt with it and still read
//! the old one), run `storekeep keys rotate` to re-encrypt stored values
//! under it, then drop the old key from the configuration. With the
//! embedded database and generated keys, `keys rotate --new-key` appends the
//! new key itself.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Subcommand;

use crate::crypto::{self, Keyring};
use crate::db;
use crate::services::keys;

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Print a fresh key set for `encryption.keys` and `encryption.blind_index_key`.
    Generate,
    /// Re-encrypt every sealed value (PII, webhook secrets, DKIM keys)
    /// under the newest key.
    Rotate {
        /// Append a newly generated key first (generated key files only).
        #[arg(long)]
        new_key: bool,
    },
}

pub async fn run(config: Option<PathBuf>, cmd: KeysCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        KeysCommand::Generate => {
            let (keys, index) = Keyring::generate();
            println!("STOREKEEP_ENCRYPTION_KEYS={keys}");
            println!("STOREKEEP_ENCRYPTION_BLIND_INDEX_KEY={index}");
            Ok(ExitCode::SUCCESS)
        }
        KeysCommand::Rotate { new_key } => {
            let settings = super::load_settings(config)?;
            // Re-encrypts what exists: never a new database (or new keys).
            super::announce(&settings, false)?;
            if new_key {
                if settings.encryption_keys.is_some() {
                    bail!(
                        "--new-key only manages generated key files; add a key to encryption.keys instead"
                    );
                }
                // Loading creates the files if they do not exist yet.
                settings.load_keyring()?;
                let path = settings.data_dir.join("secrets").join("encryption-keys");
                let current = std::fs::read_to_string(&path)
                    .with_context(|| format!("reading {}", path.display()))?;
                let (fresh, _) = Keyring::generate();
                let (kid, key) = fresh.split_once(':').expect("generated keys are id:key");
                let kid = format!("{kid}-{}", crate::crypto::tokens::code(1).to_lowercase());
                crypto::files::write_private(&path, &format!("{},{kid}:{key}", current.trim()))?;
                println!("added key {kid}");
            }
            let keyring = settings.load_keyring()?;
            let store = db::connect_and_migrate(&settings).await?;
            let done = keys::rotate(store.as_ref(), &keyring).await;
            store.close().await;
            let kid = keyring.current_key_id();
            for place in done? {
                if place.place == "accounts" {
                    println!(
                        "{} of {} accounts re-encrypted under key {kid}",
                        place.resealed, place.seen
                    );
                    if place.skipped > 0 {
                        println!(
                            "{} accounts changed while being re-encrypted: run `storekeep keys rotate` again",
                            place.skipped
                        );
                    }
                } else {
                    println!(
                        "{}: {} of {} values re-encrypted under key {kid}",
                        place.place, place.resealed, place.seen
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
