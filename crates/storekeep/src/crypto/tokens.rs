//! Opaque bearer credentials: 256 random bits, a prefix that says what
//! kind of credential it is, and only a SHA-256 hash kept in the database.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Session token of a logged-in user.
pub const SESSION: &str = "sks_";
/// API key of an integration.
pub const API_KEY: &str = "skk_";
/// OAuth 2.0 access token (client credentials).
pub const ACCESS_TOKEN: &str = "sko_";
/// OAuth 2.0 client secret.
pub const CLIENT_SECRET: &str = "skc_";
/// Password reset token (sent by email).
pub const RESET: &str = "skr_";
/// The pending second step of a sign-in with MFA (a browser's cookie).
pub const CHALLENGE: &str = "skm_";

/// A new random token with `prefix` and the hash to store.
pub fn generate(prefix: &str) -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes));
    let hash = hash(&token);
    (token, hash)
}

/// What the database keeps of a token.
pub fn hash(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

/// A short random code from an unambiguous alphabet, grouped for reading
/// (`7KQ4-MZ2P-XW9R`), used for recovery codes and client ids.
pub fn code(groups: usize) -> String {
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    let mut bytes = vec![0u8; groups * 4];
    rand::rng().fill_bytes(&mut bytes);
    bytes
        .chunks(4)
        .map(|c| {
            c.iter()
                .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("-")
}
