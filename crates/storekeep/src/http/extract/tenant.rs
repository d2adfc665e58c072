//! Resolves the tenant a request is for, in the order the spec sets: a
//! custom domain in `Host`, then `{slug}.{base_domain}` in `Host`, then the
//! `X-Tenant: {slug}` header. Unknown and suspended tenants get the same
//! 404, so a probe learns nothing about which shops exist.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header::HOST;
use axum::http::request::Parts;
use storekeep_domain::{DomainName, Tenant, TenantStatus};

use crate::app::AppState;
use crate::http::error::ApiError;
use crate::http::middleware::RequestContext;
use crate::services::tenancy;

/// The active tenant the request is addressed to (shared with the tenant
/// cache: cloning it is a reference count).
#[derive(Debug, Clone)]
pub struct CurrentTenant(pub Arc<Tenant>);

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
                    ctx.set_tenant(&t);
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
pub fn host_name(parts: &Parts) -> Option<DomainName> {
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

async fn resolve(parts: &Parts, state: &AppState) -> Result<Option<Arc<Tenant>>, ApiError> {
    let header = parts
        .headers
        .get(TENANT_HEADER)
        .and_then(|v| v.to_str().ok());
    Ok(tenancy::resolve(&state.services, host_name(parts).as_ref(), header).await?)
}
