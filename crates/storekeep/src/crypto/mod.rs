//! Cryptography, each piece from a crate made for it: AES-256-GCM for PII
//! at rest with key ids and blind indexes (`keyring`), argon2id passwords
//! and the password policy (`password`), random opaque tokens stored as
//! SHA-256 hashes (`tokens`), and RFC 6238 TOTP (`totp`); secret files
//! readable by their owner only (`files`). Nothing here depends on another
//! part of storekeep.

pub mod files;
pub mod keyring;
pub mod password;
pub mod tokens;
pub mod totp;

pub use keyring::Keyring;
