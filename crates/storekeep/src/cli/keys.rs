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
use crate::services::accounts;

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Print a fresh key set for `encryption.keys` and `encryption.blind_index_key`.
    Generate,
    /// Re-encrypt every stored PII value under the newest key.
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
            let (mut seen, mut resealed) = (0u64, 0u64);
            let mut after = None;
            loop {
                let batch = store.users_after(after, 500).await?;
                let Some(last) = batch.last() else { break };
                after = Some(last.id);
                for mut user in batch {
                    seen += 1;
                    if accounts::reseal(&keyring, &mut user)? {
                        store.update_user_sealed(&user).await?;
                        resealed += 1;
                    }
                }
            }
            println!(
                "{resealed} of {seen} accounts re-encrypted under key {}",
                keyring.current_key_id()
            );
            store.close().await;
            Ok(ExitCode::SUCCESS)
        }
    }
}
