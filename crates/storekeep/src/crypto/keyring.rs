//! Encryption of PII at rest.
//!
//! Values are sealed with AES-256-GCM under the newest key and carry that
//! key's id: `v1.<kid>.<base64url(nonce ‖ ciphertext)>`. Older keys still
//! open what they sealed, so keys rotate without downtime (`storekeep keys
//! rotate` re-seals everything under the newest key). The associated data
//! binds a value to its column and row, so a ciphertext copied to another
//! row does not open.
//!
//! Look-ups by email use a blind index: HMAC-SHA256 under a separate key of
//! the normalised value, so equality can be tested without decrypting and
//! the index survives encryption-key rotation.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

/// A sealed value could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("sealed value is malformed")]
    Malformed,
    #[error("no key with id '{0}' is configured")]
    UnknownKey(String),
    #[error("sealed value failed authentication (wrong key, row or tampering)")]
    Tampered,
}

pub struct Keyring {
    /// Oldest first; the last one seals.
    keys: Vec<(String, Aes256Gcm)>,
    index_key: Vec<u8>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("key_ids", &self.key_ids())
            .finish_non_exhaustive()
    }
}

fn decode_key(b64: &str) -> Result<Vec<u8>, String> {
    let bytes = STANDARD
        .decode(b64.trim())
        .or_else(|_| URL_SAFE_NO_PAD.decode(b64.trim()))
        .map_err(|_| "is not base64".to_owned())?;
    if bytes.len() != 32 {
        return Err(format!("must be 32 bytes, not {}", bytes.len()));
    }
    Ok(bytes)
}

impl Keyring {
    /// Parses `kid:base64key[,kid:base64key…]` (oldest first) and the
    /// base64 blind-index key.
    pub fn parse(keys: &str, index_key: &str) -> Result<Self, String> {
        let mut parsed = Vec::new();
        for entry in keys.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (kid, b64) = entry
                .split_once(':')
                .ok_or("each key must be written id:base64key")?;
            let kid = kid.trim();
            if kid.is_empty()
                || kid.len() > 32
                || !kid
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                // Not echoed: a key pasted before the colon would be.
                return Err("each key id must be 1-32 of a-z, 0-9, - and _".into());
            }
            if parsed.iter().any(|(k, _)| k == kid) {
                return Err(format!("key id '{kid}' is listed twice"));
            }
            let bytes = decode_key(b64).map_err(|m| format!("key '{kid}' {m}"))?;
            let cipher = Aes256Gcm::new_from_slice(&bytes).map_err(|_| "bad key length")?;
            parsed.push((kid.to_owned(), cipher));
        }
        if parsed.is_empty() {
            return Err("at least one key is needed".into());
        }
        let index_key = decode_key(index_key).map_err(|m| format!("blind index key {m}"))?;
        Ok(Self {
            keys: parsed,
            index_key,
        })
    }

    /// Fresh random keys in the configuration format: (`keys`, `index_key`).
    pub fn generate() -> (String, String) {
        let mut k = [0u8; 32];
        let mut i = [0u8; 32];
        rand::rng().fill_bytes(&mut k);
        rand::rng().fill_bytes(&mut i);
        let kid = chrono::Utc::now().format("k%Y%m%d").to_string();
        (format!("{kid}:{}", STANDARD.encode(k)), STANDARD.encode(i))
    }

    pub fn key_ids(&self) -> Vec<&str> {
        self.keys.iter().map(|(k, _)| k.as_str()).collect()
    }

    pub fn current_key_id(&self) -> &str {
        &self.keys.last().expect("at least one key").0
    }

    /// Seals `plaintext` under the newest key, bound to `context`
    /// (for example `users.email:<id>`).
    pub fn seal(&self, plaintext: &str, context: &str) -> String {
        let (kid, cipher) = self.keys.last().expect("at least one key");
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let ct = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: context.as_bytes(),
                },
            )
            .expect("AES-GCM encryption of a short value cannot fail");
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&ct);
        format!("v1.{kid}.{}", URL_SAFE_NO_PAD.encode(blob))
    }

    /// The id of the key that sealed `sealed`.
    pub fn key_id_of(sealed: &str) -> Option<&str> {
        let mut parts = sealed.splitn(3, '.');
        (parts.next() == Some("v1")).then_some(())?;
        parts.next()
    }

    pub fn open(&self, sealed: &str, context: &str) -> Result<String, OpenError> {
        let mut parts = sealed.splitn(3, '.');
        if parts.next() != Some("v1") {
            return Err(OpenError::Malformed);
        }
        let kid = parts.next().ok_or(OpenError::Malformed)?;
        let blob = URL_SAFE_NO_PAD
            .decode(parts.next().ok_or(OpenError::Malformed)?)
            .map_err(|_| OpenError::Malformed)?;
        if blob.len() < 12 + 16 {
            return Err(OpenError::Malformed);
        }
        let (_, cipher) = self
            .keys
            .iter()
            .find(|(k, _)| k == kid)
            .ok_or_else(|| OpenError::UnknownKey(kid.to_owned()))?;
        let (nonce, ct) = blob.split_at(12);
        let pt = cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ct,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| OpenError::Tampered)?;
        String::from_utf8(pt).map_err(|_| OpenError::Malformed)
    }

    /// `sealed`, sealed again under the newest key; `None` when it already is.
    pub fn reseal(&self, sealed: &str, context: &str) -> Result<Option<String>, OpenError> {
        if Self::key_id_of(sealed) == Some(self.current_key_id()) {
            return Ok(None);
        }
        let plain = self.open(sealed, context)?;
        Ok(Some(self.seal(&plain, context)))
    }

    /// The blind index of `value` for `purpose` (`email`): equal inputs give
    /// equal outputs; nothing else can be learnt from it without the key.
    pub fn blind_index(&self, purpose: &str, value: &str) -> String {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.index_key).expect("any key length");
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// A MAC of `message` under a key derived for `purpose` alone (for
    /// example `web.csrf`), so each use has a key of its own and none can
    /// stand in for a blind index. Derived from the blind-index key, which
    /// `keys rotate` leaves in place: MACs given out (form tokens, links)
    /// stay valid across a rotation of the encryption keys.
    pub fn mac(&self, purpose: &str, message: &[u8]) -> [u8; 32] {
        let mut derive =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.index_key).expect("any key length");
        derive.update(b"storekeep derived key\0");
        derive.update(purpose.as_bytes());
        let key = derive.finalize().into_bytes();
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).expect("any key length");
        mac.update(message);
        mac.finalize().into_bytes().into()
    }
}

/// The keyring in force: the `configured` keys (`encryption.keys`,
/// `encryption.blind_index_key`), or — for the `embedded` database only —
/// keys generated once into `DATA_DIR/secrets/` (mode 0600). Several nodes
/// on PostgreSQL must share keys, so there they must be set.
pub fn load(
    configured: Option<(&str, &str)>,
    embedded: bool,
    data_dir: &std::path::Path,
) -> anyhow::Result<Keyring> {
    use anyhow::{Context, bail};
    if let Some((keys, index)) = configured {
        return Keyring::parse(keys, index).map_err(anyhow::Error::msg);
    }
    if !embedded {
        bail!("encryption.keys and encryption.blind_index_key must be configured with PostgreSQL");
    }
    let dir = data_dir.join("secrets");
    let keys_path = dir.join("encryption-keys");
    let index_path = dir.join("blind-index-key");
    if !keys_path.exists() {
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let (keys, index) = Keyring::generate();
        super::files::write_private(&index_path, &index)?;
        super::files::write_private(&keys_path, &keys)?;
        tracing::warn!(
            folder = %dir.display(),
            "generated PII encryption keys; back this folder up apart from the database"
        );
    }
    let keys = std::fs::read_to_string(&keys_path)
        .with_context(|| format!("reading {}", keys_path.display()))?;
    let index = std::fs::read_to_string(&index_path)
        .with_context(|| format!("reading {}", index_path.display()))?;
    Keyring::parse(keys.trim(), index.trim()).map_err(anyhow::Error::msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(keys: &str) -> Keyring {
        let (_, index) = Keyring::generate();
        Keyring::parse(keys, &index).unwrap()
    }

    #[test]
    fn a_malformed_key_id_is_not_echoed() {
        let (keys, index) = Keyring::generate();
        let key = keys.split_once(':').unwrap().1;
        let err = Keyring::parse(&format!("{key}:{key}"), &index).unwrap_err();
        assert!(err.contains("key id must be"), "{err}");
        assert!(!err.contains(&key[..8]), "{err}");
    }

    #[test]
    fn sealed_values_open_only_in_their_context_and_under_known_keys() {
        let (k1, index) = Keyring::generate();
        let old = Keyring::parse(&k1, &index).unwrap();
        let sealed = old.seal("ada@example.com", "users.email:1");
        assert!(!sealed.contains("ada"));
        assert_eq!(
            old.open(&sealed, "users.email:1").unwrap(),
            "ada@example.com"
        );
        assert!(matches!(
            old.open(&sealed, "users.email:2"),
            Err(OpenError::Tampered)
        ));

        // After rotation the old key still opens, the new one seals.
        let (k2, _) = Keyring::generate();
        let k2 = k2.replacen(':', "-2:", 1);
        let rotated = Keyring::parse(&format!("{k1},{k2}"), &index).unwrap();
        assert_eq!(
            rotated.open(&sealed, "users.email:1").unwrap(),
            "ada@example.com"
        );
        let resealed = rotated.seal("ada@example.com", "users.email:1");
        assert_eq!(
            Keyring::key_id_of(&resealed),
            Some(rotated.current_key_id())
        );
        assert!(matches!(
            old.open(&resealed, "users.email:1"),
            Err(OpenError::UnknownKey(_))
        ));
        assert_eq!(
            old.blind_index("email", "ada@example.com"),
            rotated.blind_index("email", "ada@example.com"),
            "the blind index does not depend on the encryption keys"
        );
    }

    #[test]
    fn a_mac_depends_on_its_purpose_and_the_index_key_only() {
        let (k1, index) = Keyring::generate();
        let (k2, _) = Keyring::generate();
        let a = Keyring::parse(&k1, &index).unwrap();
        let rotated = Keyring::parse(&k2.replacen(':', "-2:", 1), &index).unwrap();
        assert_eq!(a.mac("web.csrf", b"x"), rotated.mac("web.csrf", b"x"));
        assert_ne!(a.mac("web.csrf", b"x"), a.mac("web.order", b"x"));
        assert_ne!(a.mac("web.csrf", b"x"), a.mac("web.csrf", b"y"));
        let (_, other_index) = Keyring::generate();
        let b = Keyring::parse(&k1, &other_index).unwrap();
        assert_ne!(a.mac("web.csrf", b"x"), b.mac("web.csrf", b"x"));
    }

    #[test]
    fn bad_key_configurations_are_explained() {
        let (_, index) = Keyring::generate();
        assert!(Keyring::parse("", &index).is_err());
        assert!(
            Keyring::parse("k1:short", &index)
                .unwrap_err()
                .contains("32 bytes")
                || Keyring::parse("k1:short", &index)
                    .unwrap_err()
                    .contains("base64")
        );
        let (k, _) = Keyring::generate();
        assert!(
            Keyring::parse(&format!("{k},{k}"), &index)
                .unwrap_err()
                .contains("twice")
        );
        let _ = ring(&k);
    }
}
