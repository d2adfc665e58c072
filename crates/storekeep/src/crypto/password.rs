//! Passwords: argon2id hashes and the password policy.
//!
//! Parameters follow OWASP's argon2id recommendation (19 MiB, 2 passes,
//! 1 lane). Each run needs its 19 MiB of working memory, so the server runs
//! them on [`POOL`]: one thread per core, each reusing one memory area while
//! it is busy and giving it back after [`RELEASE_AFTER`] idle. A login flood
//! queues for a worker instead of allocating 19 MiB per request on whichever
//! blocking-pool thread is free (whose freed blocks the system allocator
//! kept, per thread, for good).

use std::collections::HashSet;
use std::sync::mpsc::{self, RecvTimeoutError, SyncSender};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use argon2::password_hash::{PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use subtle::ConstantTimeEq;

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
    hash_in(&mut Vec::new(), password)
}

/// Constant-time check of `password` against a stored hash.
pub fn verify(password: &str, stored: &str) -> bool {
    verify_in(&mut Vec::new(), password, stored)
}

/// `memory` grown to `blocks` if it is smaller, and cut to that length.
fn blocks(memory: &mut Vec<Block>, blocks: usize) -> &mut [Block] {
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    &mut memory[..blocks]
}

/// [`hash`], with `memory` as argon2's working memory.
fn hash_in(memory: &mut Vec<Block>, password: &str) -> String {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    let argon2 = argon2();
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt
        .as_salt()
        .decode_b64(&mut salt_bytes)
        .expect("a generated salt decodes");
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    argon2
        .hash_password_into_with_memory(
            password.as_bytes(),
            salt_bytes,
            &mut out,
            blocks(memory, argon2.params().block_count()),
        )
        .expect("hashing with valid parameters cannot fail");
    PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: argon2.params().try_into().expect("valid parameters"),
        salt: Some(salt.as_salt()),
        hash: Some(argon2::password_hash::Output::new(&out).expect("a 32-byte output")),
    }
    .to_string()
}

/// [`verify`], with `memory` as argon2's working memory; the stored hash's
/// own parameters are used, as `PasswordVerifier` does.
fn verify_in(memory: &mut Vec<Block>, password: &str, stored: &str) -> bool {
    let Ok(stored) = PasswordHash::new(stored) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (stored.salt, stored.hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(version), Ok(params)) = (
        Algorithm::try_from(stored.algorithm),
        stored
            .version
            .map_or(Ok(Version::default()), Version::try_from),
        Params::try_from(&stored),
    ) else {
        return false;
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt_bytes) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let argon2 = Argon2::new(algorithm, version, params);
    let mut out = vec![0u8; expected.len()];
    let memory = blocks(memory, argon2.params().block_count());
    argon2
        .hash_password_into_with_memory(password.as_bytes(), salt_bytes, &mut out, memory)
        .is_ok()
        && bool::from(out.ct_eq(expected.as_bytes()))
}

/// A hash of nothing in particular, verified against when an account does
/// not exist so that unknown and known emails take the same time. Made once
/// with [`hash`] (a constant, so no request pays for making it); a test
/// checks it still has the parameters above.
pub static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    "$argon2id$v=19$m=19456,t=2,p=1$Hd3I7zWJ2ALSZw5+58OQ/A$lNpgq4MOFzU280q2ymduH3ARpSTYdesJ4wISL/F+SiM".to_owned()
});

/// How long an idle worker keeps its 19 MiB before giving it back.
pub const RELEASE_AFTER: Duration = Duration::from_secs(2);

/// The server's argon2 workers: one per core.
pub static POOL: LazyLock<Pool> = LazyLock::new(|| {
    Pool::new(std::thread::available_parallelism().map_or(2, std::num::NonZero::get))
});

type Job = Box<dyn FnOnce(&mut Vec<Block>) + Send>;

/// A fixed set of argon2 threads. At most one job per worker exists at a
/// time; callers beyond that wait, in order, for a worker to be free.
pub struct Pool {
    workers: Vec<SyncSender<Job>>,
    free: Arc<Mutex<Vec<usize>>>,
    slots: Arc<tokio::sync::Semaphore>,
}

/// The pool's workers are gone (a worker thread could not be started).
#[derive(Debug, thiserror::Error)]
#[error("the password hashing workers are not running")]
pub struct PoolGone;

impl Pool {
    fn new(size: usize) -> Self {
        let mut workers = Vec::with_capacity(size);
        for i in 0..size {
            let (tx, rx) = mpsc::sync_channel::<Job>(1);
            let spawned = std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || worker(&rx));
            if let Err(e) = spawned {
                tracing::error!(error = %e, "starting an argon2 worker thread");
                continue;
            }
            workers.push(tx);
        }
        Self {
            free: Arc::new(Mutex::new((0..workers.len()).rev().collect())),
            slots: Arc::new(tokio::sync::Semaphore::new(workers.len())),
            workers,
        }
    }

    /// A new PHC hash of `password`.
    pub async fn hash(&self, password: String) -> Result<String, PoolGone> {
        self.run(move |memory| hash_in(memory, &password)).await
    }

    /// Whether `password` matches `stored`.
    pub async fn verify(&self, password: String, stored: String) -> Result<bool, PoolGone> {
        self.run(move |memory| verify_in(memory, &password, &stored))
            .await
    }

    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
    ) -> Result<T, PoolGone> {
        let slot = Arc::clone(&self.slots)
            .acquire_owned()
            .await
            .map_err(|_| PoolGone)?;
        let index = self
            .free
            .lock()
            .expect("never poisoned")
            .pop()
            .ok_or(PoolGone)?;
        let free = Arc::clone(&self.free);
        let (tx, rx) = tokio::sync::oneshot::channel();
        // The worker is handed back before the slot, so a caller holding a
        // slot always finds a free worker, and both before the answer; both
        // are handed back even if the caller stopped waiting.
        let job: Job = Box::new(move |memory| {
            let answer = job(memory);
            free.lock().expect("never poisoned").push(index);
            drop(slot);
            let _ = tx.send(answer);
        });
        self.workers[index].try_send(job).map_err(|_| PoolGone)?;
        rx.await.map_err(|_| PoolGone)
    }
}

fn worker(jobs: &mpsc::Receiver<Job>) {
    let mut memory = Vec::new();
    loop {
        let job = if memory.is_empty() {
            jobs.recv().map_err(|_| RecvTimeoutError::Disconnected)
        } else {
            jobs.recv_timeout(RELEASE_AFTER)
        };
        match job {
            Ok(job) => job(&mut memory),
            Err(RecvTimeoutError::Timeout) => memory = Vec::new(),
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

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
    fn the_dummy_hash_has_the_current_parameters() {
        let prefix = format!("$argon2id$v=19$m={MEMORY_KIB},t={ITERATIONS},p={PARALLELISM}$");
        assert!(DUMMY_HASH.starts_with(&prefix), "{}", *DUMMY_HASH);
        assert!(PasswordHash::new(&DUMMY_HASH).is_ok());
        assert!(!verify("", &DUMMY_HASH));
    }

    #[test]
    fn memory_is_reused_and_hashes_still_check_out() {
        let mut memory = Vec::new();
        let a = hash_in(&mut memory, "correct horse battery staple");
        let area = memory.as_ptr();
        assert_eq!(memory.len(), MEMORY_KIB as usize);
        assert!(verify_in(&mut memory, "correct horse battery staple", &a));
        assert!(!verify_in(&mut memory, "correct horse battery stapler", &a));
        assert_eq!(memory.as_ptr(), area, "no new allocation");
        // Hashes made with argon2's own allocation verify here, and back.
        let b = argon2::PasswordHasher::hash_password(
            &argon2(),
            b"tr0ub4dor&3 tr0ub4dor&3",
            &SaltString::from_b64("c29tZS1zYWx0LWhlcmU").unwrap(),
        )
        .unwrap()
        .to_string();
        assert!(verify_in(&mut memory, "tr0ub4dor&3 tr0ub4dor&3", &b));
        let parsed = PasswordHash::new(&a).unwrap();
        assert!(
            argon2::PasswordVerifier::verify_password(
                &argon2(),
                b"correct horse battery staple",
                &parsed
            )
            .is_ok()
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_pool_serves_more_callers_than_workers_and_survives_cancelled_ones() {
        let pool = Arc::new(Pool::new(2));
        let right = "correct horse battery staple";
        let stored = pool.hash(right.into()).await.unwrap();
        // A caller that gives up while its job runs or waits.
        let gave_up = tokio::time::timeout(
            Duration::from_millis(1),
            pool.verify(right.into(), stored.clone()),
        )
        .await;
        assert!(gave_up.is_err(), "argon2 takes longer than 1 ms");

        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..6 {
            let (pool, stored) = (Arc::clone(&pool), stored.clone());
            let password = if i % 2 == 0 { right } else { "wrong" };
            tasks.spawn(async move { (i, pool.verify(password.into(), stored).await.unwrap()) });
        }
        let mut results = tasks.join_all().await;
        results.sort_unstable();
        let expected: Vec<_> = (0..6).map(|i| (i, i % 2 == 0)).collect();
        assert_eq!(results, expected);
        assert_eq!(
            pool.free.lock().unwrap().len(),
            2,
            "every worker is handed back"
        );
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
