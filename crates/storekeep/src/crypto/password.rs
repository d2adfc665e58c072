//! Passwords: argon2id hashes and the password policy.
//!
//! Parameters follow OWASP's argon2id recommendation (19 MiB, 2 passes,
//! 1 lane). Hashing is CPU-bound, so callers run it on the blocking pool.

use std::collections::HashSet;
use std::sync::LazyLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// Memory cost in KiB.
pub const MEMORY_KIB: u32 = 19 * 1024;
pub const ITERATIONS: u32 = 2;
pub const PARALLELISM: u32 = 1;
pub const MIN_LENGTH: usize = 12;
pub const MAX_LENGTH: usize = 256;

/// The 19,640 most common passwords (Django's list, from Royce Williams'
/// compilation of breach corpora; BSD licence), lowercase, one per line.
static COMMON: LazyLock<HashSet<String>> = LazyLock::new(|| {
    include_str!("common-passwords.txt")
        .lines()
        .map(str::to_lowercase)
        .collect()
});

fn argon2() -> Argon2<'static> {
    Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None).expect("valid parameters"),
    )
}

/// Every way `password` breaks the policy, in words.
pub fn policy_problems(password: &str, email: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let chars = password.chars().count();
    if chars < MIN_LENGTH {
        problems.push(format!("must be at least {MIN_LENGTH} characters long"));
    }
    if chars > MAX_LENGTH {
        problems.push(format!("must be at most {MAX_LENGTH} characters long"));
    }
    let lower = password.to_lowercase();
    if COMMON.contains(&lower) {
        problems.push("is one of the most common passwords; choose another".into());
    }
    if !email.is_empty() && lower.trim() == email.trim().to_lowercase() {
        problems.push("must not be the email address".into());
    }
    problems
}

pub fn common_list_len() -> usize {
    COMMON.len()
}

/// A PHC-format argon2id hash with a random salt.
pub fn hash(password: &str) -> String {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .expect("hashing with valid parameters cannot fail")
        .to_string()
}

/// Constant-time check of `password` against a stored hash.
pub fn verify(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .map(|h| argon2().verify_password(password.as_bytes(), &h).is_ok())
        .unwrap_or(false)
}

/// A hash of nothing in particular, verified against when an account does
/// not exist so that unknown and known emails take the same time.
pub static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| hash("no account has this password"));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_common_list_is_shipped_and_large() {
        assert!(common_list_len() >= 10_000);
    }

    #[test]
    fn policy_names_every_problem() {
        assert_eq!(policy_problems("short", "").len(), 1);
        assert!(policy_problems("QWERTY123456", "")[0].contains("common"));
        assert!(policy_problems("ada@example.com", "Ada@Example.com")[0].contains("email"));
        assert!(policy_problems("correct horse battery staple", "ada@example.com").is_empty());
    }

    #[test]
    fn hashes_are_argon2id_salted_and_verify() {
        let a = hash("correct horse battery staple");
        let b = hash("correct horse battery staple");
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert_ne!(a, b, "salted");
        assert!(verify("correct horse battery staple", &a));
        assert!(!verify("wrong horse battery staple", &a));
        assert!(!verify("anything", "not a hash"));
    }
}
