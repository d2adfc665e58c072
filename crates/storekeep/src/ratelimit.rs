//! Rate limiting with GCRA (the generic cell rate algorithm): each key has
//! a "theoretical arrival time"; a request is allowed while that time is no
//! more than one full quota ahead of now. A quota of N per minute allows a
//! burst of N, refilled evenly (one every 60/N seconds).
//!
//! State lives in memory by default. With `redis.url` it lives in Redis —
//! one Lua script per decision, timed by Redis's clock — so the limit holds
//! across every node. If Redis fails, decisions fall back to memory (the
//! limit then holds per node), a warning is logged once, and
//! `/api/health/detailed` says so until Redis answers again. While it is
//! down, requests do not wait for it (see `redis_link`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::redis_link::RedisLink;

/// What a limiter decided, with what the `RateLimit-*` headers say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the quota is whole again.
    pub reset_secs: u64,
    /// Seconds to wait before retrying (rejections only).
    pub retry_after_secs: u64,
}

/// The largest quota honoured exactly: one request per microsecond.
pub const MAX_PER_MINUTE: u32 = 60_000_000;

/// Microseconds between requests at `per_minute` (at least 1).
fn step_us(per_minute: u32) -> i64 {
    60_000_000 / i64::from(per_minute.clamp(1, MAX_PER_MINUTE))
}

/// Turns the microseconds of quota in use after (or, when rejected,
/// before) this request into a decision.
fn decide(allowed: bool, outstanding_us: i64, per_minute: u32) -> Decision {
    let per_minute = per_minute.clamp(1, MAX_PER_MINUTE);
    let t = step_us(per_minute);
    let cap = t * i64::from(per_minute);
    let outstanding = outstanding_us.max(0);
    let remaining = ((cap - outstanding) / t).clamp(0, i64::from(per_minute));
    let retry_after_us = if allowed { 0 } else { outstanding + t - cap };
    Decision {
        allowed,
        limit: per_minute,
        remaining: remaining as u32,
        reset_secs: (outstanding as u64).div_ceil(1_000_000),
        retry_after_secs: (retry_after_us.max(1) as u64).div_ceil(1_000_000),
    }
}

const SCRIPT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local step = tonumber(ARGV[1])
local cap = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local new_tat = tat + step
if new_tat - now > cap then
  return {0, tat - now}
end
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.floor((new_tat - now) / 1000) + 1000)
return {1, new_tat - now}
";

pub struct RateLimiter {
    memory: Mutex<HashMap<String, i64>>,
    redis: RedisLink,
}

impl RateLimiter {
    pub fn new(redis: Option<redis::Client>) -> Self {
        Self {
            memory: Mutex::new(HashMap::new()),
            redis: RedisLink::new(redis),
        }
    }

    /// `memory`, `redis`, or `memory (redis unavailable)`.
    pub fn backend(&self) -> &'static str {
        match (self.redis.configured(), self.redis.degraded()) {
            (false, _) => "memory",
            (true, false) => "redis",
            (true, true) => "memory (redis unavailable)",
        }
    }

    /// Counts one request against `key`'s quota of `per_minute`.
    pub async fn check(&self, key: &str, per_minute: u32) -> Decision {
        if per_minute == 0 {
            return decide(false, 60_000_000, 1);
        }
        if self.redis.worth_trying() {
            match tokio::time::timeout(
                Duration::from_millis(500),
                self.check_redis(key, per_minute),
            )
            .await
            {
                Ok(Ok(d)) => {
                    self.recover();
                    return d;
                }
                Ok(Err(e)) => self.degrade(&e.to_string()),
                Err(_) => self.degrade("no answer within 500 ms"),
            }
        }
        self.check_memory(key, per_minute)
    }

    /// For readiness: `None` without Redis, else whether one `PING` on the
    /// limiter's connection was answered within `bound` (`Err` says why
    /// not). Its answer switches the limiter between Redis and memory as a
    /// request's would.
    pub async fn ping(&self, bound: Duration) -> Option<Result<(), String>> {
        let result = self.redis.ping(bound).await?;
        match &result {
            Ok(()) => self.recover(),
            Err(e) => self.degrade(e),
        }
        Some(result)
    }

    fn recover(&self) {
        if self.redis.succeeded() {
            tracing::warn!("rate limiter: Redis answers again; limits are shared across nodes");
        }
    }

    fn degrade(&self, why: &str) {
        if self.redis.failed() {
            tracing::warn!(
                error = why,
                "rate limiter: Redis unavailable, limiting per node in memory"
            );
        }
    }

    async fn check_redis(&self, key: &str, per_minute: u32) -> redis::RedisResult<Decision> {
        let mut conn = self.redis.conn().await?;
        let per_minute = per_minute.min(MAX_PER_MINUTE);
        let step = step_us(per_minute);
        let (allowed, outstanding): (i64, i64) = redis::Script::new(SCRIPT)
            .key(format!("storekeep:rl:{key}"))
            .arg(step)
            .arg(step * i64::from(per_minute))
            .invoke_async(&mut conn)
            .await?;
        Ok(decide(allowed == 1, outstanding, per_minute))
    }

    fn check_memory(&self, key: &str, per_minute: u32) -> Decision {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as i64);
        let per_minute = per_minute.min(MAX_PER_MINUTE);
        let step = step_us(per_minute);
        let cap = step * i64::from(per_minute);
        let mut map = self.memory.lock().expect("rate limiter lock");
        if map.len() > 100_000 {
            // Forget keys whose quota is whole again.
            map.retain(|_, tat| *tat > now);
        }
        let tat = map.get(key).copied().unwrap_or(now).max(now);
        let new_tat = tat + step;
        if new_tat - now > cap {
            return decide(false, tat - now, per_minute);
        }
        // A known key is updated in place; only a new one is copied.
        match map.get_mut(key) {
            Some(slot) => *slot = new_tat,
            None => {
                map.insert(key.to_owned(), new_tat);
            }
        }
        decide(true, new_tat - now, per_minute)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_quota_allows_its_burst_then_refuses_with_a_retry_time() {
        let limiter = RateLimiter::new(None);
        for i in 0..5 {
            let d = limiter.check("k", 5).await;
            assert!(d.allowed, "request {i}");
            assert_eq!(d.remaining, 4 - i);
        }
        let refused = limiter.check("k", 5).await;
        assert!(!refused.allowed);
        assert_eq!(refused.remaining, 0);
        assert!((1..=12).contains(&refused.retry_after_secs), "{refused:?}");
        assert!(limiter.check("other", 5).await.allowed, "keys are separate");
    }

    #[tokio::test]
    async fn very_large_quotas_work() {
        let limiter = RateLimiter::new(None);
        for per_minute in [60_001, 1_000_000, u32::MAX] {
            assert!(
                limiter
                    .check(&format!("k{per_minute}"), per_minute)
                    .await
                    .allowed
            );
        }
    }
}
