//! Which shop a request is for: the look-up order the spec sets (a custom
//! domain, then `{slug}.{base_domain}`, then an explicit slug) over a
//! short-lived cache. The HTTP extractor only reads `Host` and `X-Tenant`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use storekeep_domain::{DomainName, Slug, Tenant, TenantId};
use storekeep_store::StoreError;

use crate::services::{ServiceResult, Services};

/// How long a looked-up tenant (or its absence) is reused. Changes made
/// through this node take effect at once (the cache is cleared); changes
/// made elsewhere (another node, the CLI) within this time.
pub const TENANT_CACHE_TTL: Duration = Duration::from_secs(1);

/// Most names remembered; past it the cache starts over (a flood of
/// made-up names cannot grow it without bound).
const MAX_ENTRIES: usize = 10_000;

type Entries = HashMap<String, (Option<Arc<Tenant>>, Instant)>;

/// Recently resolved tenants by custom domain and by slug, so a busy shop
/// costs one database query per second, not one per request. A hit takes
/// a shared read lock, no allocation, and hands out the tenant behind an
/// `Arc` (a reference count, not a copy of its settings).
#[derive(Default)]
pub struct TenantCache {
    by_domain: RwLock<Entries>,
    by_slug: RwLock<Entries>,
    /// By id, for the jobs that name their shop (an order email's).
    by_id: RwLock<Entries>,
    /// Bumped by `clear`: a look-up that started before a clear must not
    /// store what it read.
    generation: AtomicU64,
}

impl TenantCache {
    async fn get_or_load(
        &self,
        map: &RwLock<Entries>,
        name: &str,
        load: impl Future<Output = Result<Tenant, StoreError>>,
    ) -> ServiceResult<Option<Arc<Tenant>>> {
        if let Some((t, at)) = map.read().expect("tenant cache").get(name)
            && at.elapsed() < TENANT_CACHE_TTL
        {
            return Ok(t.clone());
        }
        let generation = self.generation.load(Ordering::SeqCst);
        let t = match load.await {
            Ok(t) => Some(Arc::new(t)),
            Err(StoreError::NotFound(_)) => None,
            Err(e) => return Err(e.into()),
        };
        let mut entries = map.write().expect("tenant cache");
        if self.generation.load(Ordering::SeqCst) != generation {
            return Ok(t);
        }
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(name.to_owned(), (t.clone(), Instant::now()));
        Ok(t)
    }

    /// Forgets everything; called after a tenant changes on this node.
    pub fn clear(&self) {
        let mut by_domain = self.by_domain.write().expect("tenant cache");
        let mut by_slug = self.by_slug.write().expect("tenant cache");
        let mut by_id = self.by_id.write().expect("tenant cache");
        self.generation.fetch_add(1, Ordering::SeqCst);
        by_domain.clear();
        by_slug.clear();
        by_id.clear();
    }

    /// The shop with this id, of any status, as [`resolve`] caches it:
    /// a job sending a busy shop's emails reads it once a second, not once
    /// an email. `None` when there is no such shop.
    pub async fn by_id(&self, svc: &Services, id: TenantId) -> ServiceResult<Option<Arc<Tenant>>> {
        self.get_or_load(&self.by_id, &id.to_string(), svc.store.tenant_by_id(id))
            .await
    }

    async fn by_slug(&self, svc: &Services, slug: &Slug) -> ServiceResult<Option<Arc<Tenant>>> {
        self.get_or_load(&self.by_slug, slug.as_str(), svc.store.tenant_by_slug(slug))
            .await
    }
}

/// The tenant (of any status) addressed by `host` (a custom domain or
/// `{slug}.{base_domain}`), else by the explicitly named `slug`; `None`
/// when neither names a shop.
pub async fn resolve(
    svc: &Services,
    host: Option<&DomainName>,
    slug: Option<&str>,
) -> ServiceResult<Option<Arc<Tenant>>> {
    let cache = &svc.tenants;
    if let Some(host) = host {
        let by_domain = cache
            .get_or_load(
                &cache.by_domain,
                host.as_str(),
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
            && let Some(t) = cache.by_slug(svc, &slug).await?
        {
            return Ok(Some(t));
        }
    }
    match slug.map(Slug::parse) {
        Some(Ok(slug)) => cache.by_slug(svc, &slug).await,
        _ => Ok(None),
    }
}

/// The shop's public origin (`scheme://host[:port]`), from configuration
/// ONLY — never a request's `Host` port or scheme, which a client chooses:
/// its first custom domain, else `{slug}.{base_domain}`, else `fallback`
/// (the host a request resolved it by; `None` outside a request: no
/// origin), with `web.public_url_scheme` and `web.public_port` (unset:
/// none, except the listen port for a `localhost` host, for development).
/// The storefront's links (`web::shop::origin`) and the emails' links
/// (a password reset's) are built by it, so both point at the same place.
pub fn public_origin(
    settings: &crate::config::Settings,
    tenant: &Tenant,
    fallback: Option<&str>,
) -> Option<String> {
    let host = match (tenant.domains.first(), &settings.base_domain) {
        (Some(domain), _) => domain.as_str().to_owned(),
        (None, Some(base)) => format!("{}.{}", tenant.slug, base.as_str()),
        (None, None) => fallback?.to_owned(),
    };
    let scheme = settings.web_public_scheme.as_str();
    let local = host == "localhost" || host.ends_with(".localhost");
    let port = settings
        .web_public_port
        .or_else(|| local.then(|| settings.listen.port()));
    let default_port = if scheme == "https" { 443 } else { 80 };
    Some(match port {
        Some(p) if p != default_port => format!("{scheme}://{host}:{p}"),
        _ => format!("{scheme}://{host}"),
    })
}
