//! One Redis connection of the rate limiter or the read cache, and what
//! they know of Redis's health.
//!
//! Both work without Redis (per-node limits; reads that bypass the cache),
//! so an outage must cost a request as little as possible:
//!
//! - a lost connection is re-opened once per command that needs it, never
//!   retried with back-off while the command waits (the client's default
//!   would make every command of an outage wait for six attempts);
//! - once Redis has failed, requests skip it and use the fallback, and one
//!   request a second ([`RETRY_EVERY`]) tries it again (as does every
//!   readiness check), so a Redis that hangs instead of refusing
//!   connections costs one request a second a timeout, not every request.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::OnceCell;

/// While Redis is down, how often a request tries it again.
pub const RETRY_EVERY: Duration = Duration::from_secs(1);
/// How long opening a connection to Redis may take.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(250);

/// The client for `redis.url` (`None` without Redis), trusting
/// `redis.ca_file` instead of the system's roots when it is set. Fails on
/// a URL the client cannot parse or a CA file that is unreadable or not
/// PEM, so a node refuses to start rather than run without its Redis.
pub fn client(settings: &crate::config::Settings) -> anyhow::Result<Option<redis::Client>> {
    use anyhow::Context;
    let Some(url) = &settings.redis_url else {
        return Ok(None);
    };
    let client = match &settings.redis_ca_file {
        None => redis::Client::open(url.expose()).context("redis.url is not a Redis URL")?,
        Some(ca) => {
            let pem = std::fs::read(ca)
                .with_context(|| format!("reading redis.ca_file {}", ca.display()))?;
            anyhow::ensure!(
                String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----"),
                "redis.ca_file {} holds no PEM certificate",
                ca.display()
            );
            let certificates = redis::TlsCertificates {
                client_tls: None,
                root_cert: Some(pem),
            };
            redis::Client::build_with_tls(url.expose(), certificates)
                .with_context(|| format!("redis.url with redis.ca_file {}", ca.display()))?
        }
    };
    Ok(Some(client))
}

pub struct RedisLink {
    client: Option<redis::Client>,
    conn: OnceCell<ConnectionManager>,
    degraded: AtomicBool,
    /// While degraded: when a request last tried Redis.
    last_try: Mutex<Option<Instant>>,
}

impl RedisLink {
    pub fn new(client: Option<redis::Client>) -> Self {
        Self {
            client,
            conn: OnceCell::new(),
            degraded: AtomicBool::new(false),
            last_try: Mutex::new(None),
        }
    }

    /// Is Redis configured?
    pub fn configured(&self) -> bool {
        self.client.is_some()
    }

    /// Did the last attempt fail?
    pub fn degraded(&self) -> bool {
        self.degraded.load(Ordering::Relaxed)
    }

    /// Should a request use Redis now? Always while it answers; while it
    /// does not, one request per [`RETRY_EVERY`].
    pub fn worth_trying(&self) -> bool {
        if !self.configured() {
            return false;
        }
        if !self.degraded() {
            return true;
        }
        let mut last = self.last_try.lock().expect("redis link lock");
        let now = Instant::now();
        if last.is_some_and(|t| now.duration_since(t) < RETRY_EVERY) {
            return false;
        }
        *last = Some(now);
        true
    }

    /// The shared connection (opened on first use; it re-opens itself
    /// after a failure).
    pub async fn conn(&self) -> redis::RedisResult<ConnectionManager> {
        let conn = self
            .conn
            .get_or_try_init(|| async {
                let client = self.client.clone().ok_or_else(|| {
                    redis::RedisError::from((
                        redis::ErrorKind::InvalidClientConfig,
                        "Redis is not configured",
                    ))
                })?;
                let config = ConnectionManagerConfig::new()
                    .set_number_of_retries(0)
                    .set_connection_timeout(Some(CONNECT_TIMEOUT));
                client.get_connection_manager_with_config(config).await
            })
            .await?;
        Ok(conn.clone())
    }

    /// Records an answer; true if it ends an outage.
    pub fn succeeded(&self) -> bool {
        self.degraded.swap(false, Ordering::Relaxed)
    }

    /// Records a failure; true if it starts an outage.
    pub fn failed(&self) -> bool {
        *self.last_try.lock().expect("redis link lock") = Some(Instant::now());
        !self.degraded.swap(true, Ordering::Relaxed)
    }

    /// One `PING` within `bound`, whatever the recent failures (readiness
    /// asks); records the result. `None` without Redis.
    pub async fn ping(&self, bound: Duration) -> Option<Result<(), String>> {
        self.client.as_ref()?;
        let pinged = tokio::time::timeout(bound, async {
            let mut conn = self.conn().await?;
            redis::cmd("PING").query_async::<()>(&mut conn).await
        })
        .await;
        Some(match pinged {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("no answer within {} ms", bound.as_millis())),
        })
    }
}
