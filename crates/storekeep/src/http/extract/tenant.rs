//! Resolves the tenant a request is for, in the order the spec sets: a
//! custom domain in `Host`, then `{slug}.{base_domain}` in `Host`, then the
//! `X-Tenant: {slug}` header. Unknown and suspended tenants get the same
//! 404, so a probe learns nothing about which shops exist.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::header::HOST;
use axum::http::request::Parts;
use storekeep_domain::{DomainName, Slug, Tenant, TenantStatus};
use storekeep_store::StoreError;

use crate::app::AppState;
use crate::http::error::ApiError;
use crate::http::middleware::RequestContext;

/// The active tenant the request is addressed to.
#[derive(Debug, Clone)]
pub struct CurrentTenant(pub Tenant);

pub const TENANT_HEADER: &str = "x-tenant";

impl FromRequestParts<AppState> for CurrentTenant {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // Resolved once per request: the context middleware (or an earlier
        // extractor) has left it here.
        if let Some(done) = parts.extensions.get::<Self>() {
            return Ok(done.clone());
        }
        let tenant = resolve(parts, state).await?;
        match tenant {
            Some(t) if t.status == TenantStatus::Active => {
                if let Some(ctx) = parts.extensions.get::<RequestContext>() {
                    ctx.set_tenant(t.slug.as_str());
                }
                parts.extensions.insert(Self(t.clone()));
                Ok(Self(t))
            }
            _ => Err(ApiError::NotFound(
                "no shop is served at this address; use a shop's domain or the X-Tenant header"
                    .into(),
            )),
        }
    }
}

/// The host name of the request, lowercased and without the port, unless
/// it is an IP address or a bare name (which no tenant can own).
fn host_name(parts: &Parts) -> Option<DomainName> {
    let host = parts.headers.get(HOST)?.to_str().ok()?;
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    if name.starts_with('[') || name.parse::<IpAddr>().is_ok() {
        return None;
    }
    DomainName::parse(name).ok()
}

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
    ) -> Result<Option<Tenant>, ApiError> {
        if let Some((t, at)) = self.entries.lock().expect("tenant cache").get(&key)
            && at.elapsed() < TENANT_CACHE_TTL
        {
            return Ok(t.clone());
        }
        let generation = self.generation.load(Ordering::SeqCst);
        let t = match load.await {
            Ok(t) => Some(t),
            Err(StoreError::NotFound(_)) => None,
            Err(e) => return Err(ApiError::from(e)),
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

async fn resolve(parts: &Parts, state: &AppState) -> Result<Option<Tenant>, ApiError> {
    let cache = &state.tenants;
    if let Some(host) = host_name(parts) {
        let by_domain = cache
            .get_or_load(
                format!("d:{}", host.as_str()),
                state.store.tenant_by_domain(&host),
            )
            .await?;
        if let Some(t) = by_domain {
            return Ok(Some(t));
        }
        if let Some(base) = &state.settings.base_domain
            && let Some(label) = host
                .as_str()
                .strip_suffix(base.as_str())
                .and_then(|rest| rest.strip_suffix('.'))
            && let Ok(slug) = Slug::parse(label)
            && let Some(t) = cache
                .get_or_load(format!("s:{slug}"), state.store.tenant_by_slug(&slug))
                .await?
        {
            return Ok(Some(t));
        }
    }
    let header = parts
        .headers
        .get(TENANT_HEADER)
        .and_then(|v| v.to_str().ok());
    match header.map(Slug::parse) {
        Some(Ok(slug)) => {
            cache
                .get_or_load(format!("s:{slug}"), state.store.tenant_by_slug(&slug))
                .await
        }
        _ => Ok(None),
    }
}
