//! Cryptography, each piece from a crate made for it: AES-256-GCM for PII
//! at rest with key ids and blind indexes (`keyring`), argon2id passwords
//! and the password policy (`password`), random opaque tokens stored as
//! SHA-256 hashes (`tokens`), and RFC 6238 TOTP (`totp`).

pub mod keyring;
pub mod password;
pub mod tokens;
pub mod totp;

pub use keyring::{Keyring, load as load_keyring};
