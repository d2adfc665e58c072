//! The storefront's read cache: serialized response bodies, per shop.
//!
//! Every entry is keyed by the shop, the shop's catalog *generation* and the
//! request (path and query). A catalog write bumps the generation after it
//! commits and before it answers, so the next read — on any node — looks up
//! keys no entry has yet and goes to the database: a write is visible to the
//! next read. Entries of old generations are never read again and age out
//! of the bounded cache.
//!
//! Generations live in memory by default (one node). With `redis.url` they
//! live in Redis (a random value `SET` on write, `GET` on read), so a write on one node
//! invalidates every node's cache at once. If Redis does not answer, reads
//! bypass the cache (correct, slower) until it does, and writes log the
//! failure; entries also expire after `cache.ttl_secs`, which bounds how
//! stale a node can be if it missed an invalidation while Redis was away.
//! While Redis is down, reads do not wait for it (see `redis_link`); when
//! it answers again the node empties its cache, since writes during the
//! outage could not bump their generations.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use quick_cache::Weighter;
use storekeep_domain::TenantId;
use tokio::sync::Notify;

use crate::redis_link::RedisLink;

#[derive(Clone)]
struct Entry {
    body: Body,
    stored: Instant,
    /// Built from read-replica reads: served only to requests allowed
    /// stale reads, and for this long at most (what is left of
    /// `database.replica_max_lag_ms` after the reads' own staleness), so a
    /// write's generation can never keep a response older than the bound,
    /// nor show a session that wrote what it wrote before.
    replica_fresh_for: Option<Duration>,
}

/// A cached response body, with its gzip form when that is worth having:
/// compressed once when stored, served to every client that accepts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Body {
    pub identity: Bytes,
    pub gzip: Option<Bytes>,
}

/// Bodies under this size are sent as they are (compression would save
/// less than the framing costs).
const GZIP_MIN_BYTES: usize = 1024;

impl Body {
    /// `identity`, and its gzip form if it is large enough and shrinks.
    ///
    /// The cache weighs a body by its length, so each form is kept in an
    /// allocation of exactly that length: a serializer's or encoder's
    /// vector has up to twice the room, which the budget would not see
    /// (a soak's heap profile showed the cache holding about 1.5 times
    /// its budget that way).
    pub fn new(identity: Vec<u8>) -> Self {
        let identity = exact(identity);
        let gzip = (identity.len() >= GZIP_MIN_BYTES)
            .then(|| gzip(&identity))
            .filter(|z| z.len() < identity.len());
        Self { identity, gzip }
    }

    /// `identity` alone, for what is never sent as it is (a page's
    /// fragment, which the layout goes around).
    pub fn uncompressed(identity: Vec<u8>) -> Self {
        Self {
            identity: exact(identity),
            gzip: None,
        }
    }

    fn len(&self) -> usize {
        self.identity.len() + self.gzip.as_ref().map_or(0, Bytes::len)
    }
}

fn gzip(data: &[u8]) -> Bytes {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(data.len() / 4),
        flate2::Compression::default(),
    );
    // Writing to memory cannot fail.
    let _ = encoder.write_all(data);
    exact(encoder.finish().unwrap_or_default())
}

/// `data` in an allocation of its length (one copy at most, on a miss).
fn exact(data: Vec<u8>) -> Bytes {
    Bytes::from(data.into_boxed_slice())
}

/// A key to look up without copying the request's path: it hashes and
/// compares as the stored `(shop, generation, path)` tuple does.
#[derive(Hash)]
struct KeyRef<'a>(TenantId, u64, &'a str);

impl quick_cache::Equivalent<(TenantId, u64, String)> for KeyRef<'_> {
    fn equivalent(&self, key: &(TenantId, u64, String)) -> bool {
        self.0 == key.0 && self.1 == key.1 && self.2 == key.2
    }
}

#[derive(Clone)]
struct ByBytes;

impl Weighter<(TenantId, u64, String), Entry> for ByBytes {
    fn weight(&self, key: &(TenantId, u64, String), val: &Entry) -> u64 {
        (key.2.len() + val.body.len() + 64) as u64
    }
}

pub struct ResponseCache {
    entries: Option<quick_cache::sync::Cache<(TenantId, u64, String), Entry, ByBytes>>,
    /// Responses being built now, so concurrent misses of one key wait for
    /// the first instead of each reading the database (a popular search
    /// expiring under load would otherwise run once per waiting client).
    building: Mutex<HashMap<(TenantId, u64, String), Arc<Notify>>>,
    ttl: Duration,
    local: Mutex<HashMap<TenantId, u64>>,
    redis: RedisLink,
    /// `database.replica_max_lag_ms` (see `Entry::replica_fresh_for`).
    replica_max_lag: Duration,
}

/// Where a read stands: the generation its response may be stored under,
/// or `None` when it must not be cached.
#[derive(Debug, Clone, Copy)]
pub struct Ticket(Option<u64>);

impl ResponseCache {
    /// `max_bytes == 0` turns caching off.
    pub fn new(max_bytes: u64, ttl: Duration, redis: Option<redis::Client>) -> Self {
        let entries = (max_bytes > 0).then(|| {
            // Estimated item count only sizes the internal tables.
            let items = (max_bytes / 4096).max(64) as usize;
            quick_cache::sync::Cache::with_weighter(items, max_bytes, ByBytes)
        });
        Self {
            entries,
            building: Mutex::new(HashMap::new()),
            ttl,
            local: Mutex::new(HashMap::new()),
            redis: RedisLink::new(redis),
            replica_max_lag: Duration::ZERO,
        }
    }

    /// With a read replica: its lag bound, which caps how long a response
    /// built from its reads is kept.
    pub fn with_replica_max_lag(mut self, max_lag: Duration) -> Self {
        self.replica_max_lag = max_lag;
        self
    }

    /// `memory`, `redis`, `redis (unavailable: bypassed)` or `off`.
    pub fn backend(&self) -> &'static str {
        match (
            &self.entries,
            self.redis.configured(),
            self.redis.degraded(),
        ) {
            (None, _, _) => "off",
            (Some(_), false, _) => "memory",
            (Some(_), true, false) => "redis",
            (Some(_), true, true) => "redis (unavailable: bypassed)",
        }
    }

    fn key_name(tenant: TenantId) -> String {
        format!("storekeep:catalog-gen:{tenant}")
    }

    fn note(&self, result: Result<(), String>) {
        match result {
            Ok(()) => {
                if self.redis.succeeded() {
                    // A catalog write during the outage could not bump its
                    // shop's generation in Redis (and one on another node
                    // could not reach this one): what was cached before it
                    // may be stale under the generation Redis still holds.
                    if let Some(entries) = &self.entries {
                        entries.clear();
                    }
                    tracing::warn!(
                        "read cache: Redis answers again; caching resumes with an empty cache"
                    );
                }
            }
            Err(e) => {
                if self.redis.failed() {
                    tracing::warn!(
                        error = e,
                        "read cache: Redis unavailable, reads bypass the cache"
                    );
                }
            }
        }
    }

    /// For readiness: `None` without Redis (or with the cache off), else
    /// whether one `PING` on the cache's connection was answered within
    /// `bound` (`Err` says why not). Its answer switches the cache between
    /// Redis and bypassing as a read's would.
    pub async fn ping(&self, bound: Duration) -> Option<Result<(), String>> {
        self.entries.as_ref()?;
        let result = self.redis.ping(bound).await?;
        self.note(result.clone());
        Some(result)
    }

    /// Takes the shop's current generation; call before reading the database.
    pub async fn ticket(&self, tenant: TenantId) -> Ticket {
        if self.entries.is_none() {
            return Ticket(None);
        }
        if !self.redis.configured() {
            let local = self.local.lock().expect("cache lock");
            return Ticket(Some(local.get(&tenant).copied().unwrap_or(0)));
        }
        if !self.redis.worth_trying() {
            return Ticket(None);
        }
        let fetched = tokio::time::timeout(Duration::from_millis(250), async {
            let mut conn = self.redis.conn().await?;
            let key = Self::key_name(tenant);
            let generation: Option<u64> =
                redis::cmd("GET").arg(&key).query_async(&mut conn).await?;
            if let Some(g) = generation {
                return Ok::<_, redis::RedisError>(g);
            }
            // No generation (a new shop, or Redis lost its data): start a
            // random one, so nothing cached under an earlier one is reused.
            let _: Option<String> = redis::cmd("SET")
                .arg(&key)
                .arg(rand::random::<u64>())
                .arg("NX")
                .query_async(&mut conn)
                .await?;
            redis::cmd("GET").arg(&key).query_async(&mut conn).await
        })
        .await;
        match fetched {
            Ok(Ok(generation)) => {
                self.note(Ok(()));
                Ticket(Some(generation))
            }
            Ok(Err(e)) => {
                self.note(Err(e.to_string()));
                Ticket(None)
            }
            Err(_) => {
                self.note(Err("no answer within 250 ms".into()));
                Ticket(None)
            }
        }
    }

    pub fn get(&self, tenant: TenantId, ticket: Ticket, key: &str) -> Option<Body> {
        let generation = ticket.0?;
        let entries = self.entries.as_ref()?;
        let entry = entries.get(&KeyRef(tenant, generation, key))?;
        let fresh_for = match entry.replica_fresh_for {
            None => self.ttl,
            Some(_) if !storekeep_store::replica::stale_reads_allowed() => return None,
            Some(left) => left.min(self.ttl),
        };
        (entry.stored.elapsed() < fresh_for).then_some(entry.body)
    }

    /// After a miss: `Build` if this caller is the first to miss `key`
    /// (it builds and stores the response; dropping the returned guard
    /// lets the others look again), else waits — at most `limit` — until
    /// the first is done and returns `Waited`, for the caller to look in
    /// the cache again (and build itself if the first failed).
    pub async fn claim(
        &self,
        tenant: TenantId,
        ticket: Ticket,
        key: &str,
        limit: Duration,
    ) -> Claim<'_> {
        let Some(generation) = ticket.0.filter(|_| self.entries.is_some()) else {
            return Claim::Build(None);
        };
        let full = (tenant, generation, key.to_owned());
        let notify = {
            let mut building = self.building.lock().expect("cache lock");
            match building.get(&full) {
                Some(n) => Arc::clone(n),
                None => {
                    building.insert(full.clone(), Arc::new(Notify::new()));
                    return Claim::Build(Some(Building {
                        cache: self,
                        key: full,
                    }));
                }
            }
        };
        let done = notify.notified();
        tokio::pin!(done);
        // Registered before the lock is looked at again, so the first
        // builder's wake-up cannot be missed.
        done.as_mut().enable();
        if self
            .building
            .lock()
            .expect("cache lock")
            .contains_key(&full)
        {
            let _ = tokio::time::timeout(limit, done).await;
        }
        Claim::Waited
    }

    pub fn put(&self, tenant: TenantId, ticket: Ticket, key: &str, body: Body) {
        if let (Some(generation), Some(entries)) = (ticket.0, &self.entries) {
            entries.insert(
                (tenant, generation, key.to_owned()),
                Entry {
                    body,
                    stored: Instant::now(),
                    replica_fresh_for: storekeep_store::replica::replica_staleness()
                        .map(|s| self.replica_max_lag.saturating_sub(s)),
                },
            );
        }
    }

    /// Called after every committed catalog write of the shop.
    pub async fn invalidate(&self, tenant: TenantId) {
        {
            let mut local = self.local.lock().expect("cache lock");
            *local.entry(tenant).or_insert(0) += 1;
        }
        if !self.redis.configured() || self.entries.is_none() {
            return;
        }
        let bumped = tokio::time::timeout(Duration::from_millis(500), async {
            let mut conn = self.redis.conn().await?;
            // A random new generation, never a counter that could restart
            // at a value some node still has entries under.
            redis::cmd("SET")
                .arg(Self::key_name(tenant))
                .arg(rand::random::<u64>())
                .query_async::<()>(&mut conn)
                .await
        })
        .await;
        let result = match bumped {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err("no answer within 500 ms".into()),
        };
        if let Err(e) = &result {
            tracing::error!(
                error = e.as_str(),
                tenant = %tenant,
                "read cache: could not invalidate other nodes; they may serve the old catalog until their entries expire"
            );
        }
        self.note(result);
    }
}

/// What a caller that missed the cache does: build (holding the claim, if
/// the cache is on) or look again after the first builder finished.
pub enum Claim<'a> {
    Build(Option<Building<'a>>),
    Waited,
}

/// Held while a response is built; dropping it (stored, failed or
/// cancelled) wakes the callers waiting for the same key.
pub struct Building<'a> {
    cache: &'a ResponseCache,
    key: (TenantId, u64, String),
}

impl Drop for Building<'_> {
    fn drop(&mut self) {
        let notify = self
            .cache
            .building
            .lock()
            .expect("cache lock")
            .remove(&self.key);
        if let Some(n) = notify {
            n.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_bodies_carry_a_gzip_form_that_inflates_back() {
        use std::io::Read;
        let json = Bytes::from(format!(
            "[{}]",
            vec!["{\"title\":\"ThinkPad\"}"; 200].join(",")
        ));
        let body = Body::new(json.to_vec());
        let gz = body.gzip.expect("worth compressing");
        assert!(gz.len() * 4 < json.len(), "{} of {}", gz.len(), json.len());
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, json);
        assert_eq!(
            Body::new(b"{}".to_vec()).gzip,
            None,
            "small ones stay as they are"
        );
    }

    #[tokio::test]
    async fn a_write_hides_what_was_cached_before_it() {
        let cache = ResponseCache::new(1 << 20, Duration::from_secs(60), None);
        let shop = TenantId::new();
        let t = cache.ticket(shop).await;
        let old = Body::new(b"old".to_vec());
        cache.put(shop, t, "/p", old.clone());
        assert_eq!(cache.get(shop, t, "/p"), Some(old));
        assert_eq!(cache.get(shop, t, "/q"), None, "by path");
        cache.invalidate(shop).await;
        let t2 = cache.ticket(shop).await;
        assert_eq!(cache.get(shop, t2, "/p"), None);
        // A read that started before the write may store, but under the old
        // generation, where nobody looks any more.
        cache.put(shop, t, "/p", Body::new(b"stale".to_vec()));
        assert_eq!(cache.get(shop, t2, "/p"), None);
        assert_eq!(cache.get(TenantId::new(), t, "/p"), None, "per shop");
    }

    #[tokio::test]
    async fn concurrent_misses_of_one_key_wait_for_the_first_builder() {
        let cache = ResponseCache::new(1 << 20, Duration::from_secs(60), None);
        let shop = TenantId::new();
        let t = cache.ticket(shop).await;
        let limit = Duration::from_secs(5);
        let Claim::Build(Some(first)) = cache.claim(shop, t, "/p", limit).await else {
            panic!("the first miss builds");
        };
        let other_key = cache.claim(shop, t, "/q", limit).await;
        assert!(
            matches!(other_key, Claim::Build(Some(_))),
            "keys are separate"
        );
        let waiter = cache.claim(shop, t, "/p", limit);
        tokio::pin!(waiter);
        assert!(
            tokio::time::timeout(Duration::from_millis(50), waiter.as_mut())
                .await
                .is_err(),
            "a second miss waits while the first builds"
        );
        cache.put(shop, t, "/p", Body::new(b"built".to_vec()));
        drop(first);
        let woke = tokio::time::timeout(Duration::from_secs(1), waiter).await;
        assert!(
            matches!(woke, Ok(Claim::Waited)),
            "woken when the first is done"
        );
        assert!(
            cache.get(shop, t, "/p").is_some(),
            "and finds what it stored"
        );
        assert!(
            matches!(
                cache.claim(shop, t, "/p", limit).await,
                Claim::Build(Some(_))
            ),
            "the claim is released"
        );
    }

    #[tokio::test]
    async fn entries_expire() {
        let cache = ResponseCache::new(1 << 20, Duration::from_millis(0), None);
        let shop = TenantId::new();
        let t = cache.ticket(shop).await;
        cache.put(shop, t, "/p", Body::new(b"x".to_vec()));
        assert_eq!(cache.get(shop, t, "/p"), None);
    }
}
