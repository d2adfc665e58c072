//! Which shop a request is for: the look-up order the spec sets (a custom
//! domain, then `{slug}.{base_domain}`, then an explicit slug) over a
//! short-lived cache. The HTTP extractor only reads `Host` and `X-Tenant`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use storekeep_domain::{DomainName, Slug, Tenant};
use storekeep_store::StoreError;

use crate::services::{ServiceResult, Services};

/// How long a looked-up tenant (or its absence) is reused. Changes made
/// through this node take effect at once (the cache is cleared); changes
/// made elsewhere (another node, the CLI) within this time.
pub const TENANT_CACHE_TTL: Duration = Duration::from_secs(1);

/// Recently resolved tenants by look-up key (`d:` domain, `s:` slug), so a
/// busy shop costs one database query per second, not one per request.
#[derive(Default)]
pub struct TenantCache {
    entries: Mutex<HashMap<String, (Option<Tenant>, Instant)>>,
    /// Bumped by `clear`: a look-up that started before a clear must not
    /// store what it read.
    generation: AtomicU64,
}

impl TenantCache {
    async fn get_or_load(
        &self,
        key: String,
        load: impl Future<Output = Result<Tenant, StoreError>>,
    ) -> ServiceResult<Option<Tenant>> {
        if let Some((t, at)) = self.entries.lock().expect("tenant cache").get(&key)
            && at.elapsed() < TENANT_CACHE_TTL
        {
            return Ok(t.clone());
        }
        let generation = self.generation.load(Ordering::SeqCst);
        let t = match load.await {
            Ok(t) => Some(t),
            Err(StoreError::NotFound(_)) => None,
            Err(e) => return Err(e.into()),
        };
        let mut entries = self.entries.lock().expect("tenant cache");
        if self.generation.load(Ordering::SeqCst) != generation {
            return Ok(t);
        }
        if entries.len() >= 10_000 {
            entries.clear();
        }
        entries.insert(key, (t.clone(), Instant::now()));
        Ok(t)
    }

    /// Forgets everything; called after a tenant changes on this node.
    pub fn clear(&self) {
        let mut entries = self.entries.lock().expect("tenant cache");
        self.generation.fetch_add(1, Ordering::SeqCst);
        entries.clear();
    }
}

/// The tenant (of any status) addressed by `host` (a custom domain or
/// `{slug}.{base_domain}`), else by the explicitly named `slug`; `None`
/// when neither names a shop.
pub async fn resolve(
    svc: &Services,
    host: Option<&DomainName>,
    slug: Option<&str>,
) -> ServiceResult<Option<Tenant>> {
    let cache = &svc.tenants;
    if let Some(host) = host {
        let by_domain = cache
            .get_or_load(
                format!("d:{}", host.as_str()),
                svc.store.tenant_by_domain(host),
            )
            .await?;
        if let Some(t) = by_domain {
            return Ok(Some(t));
        }
        if let Some(base) = &svc.settings.base_domain
            && let Some(label) = host
                .as_str()
                .strip_suffix(base.as_str())
                .and_then(|rest| rest.strip_suffix('.'))
            && let Ok(slug) = Slug::parse(label)
            && let Some(t) = cache
                .get_or_load(format!("s:{slug}"), svc.store.tenant_by_slug(&slug))
                .await?
        {
            return Ok(Some(t));
        }
    }
    match slug.map(Slug::parse) {
        Some(Ok(slug)) => {
            cache
                .get_or_load(format!("s:{slug}"), svc.store.tenant_by_slug(&slug))
                .await
        }
        _ => Ok(None),
    }
}
