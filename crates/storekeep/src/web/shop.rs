//! The shop a page is for: chosen by the request's host ONLY (a custom
//! domain, or `{slug}.{base_domain}`, the port ignored) — never by
//! `X-Tenant`, which is for API clients. An unknown host and a suspended
//! shop both get the same small HTML 404.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header::ACCEPT_LANGUAGE;
use axum::http::request::Parts;
use storekeep_domain::{DomainName, Tenant, TenantStatus};

use crate::app::AppState;
use crate::config::Settings;
use crate::http::extract::tenant::host_name;
use crate::http::middleware::RequestContext;
use crate::services::tenancy;
use crate::web::WebError;
use crate::web::i18n::Lang;

/// The active shop addressed by the host, and what the request says about
/// how to show it.
#[derive(Debug, Clone)]
pub struct Shop {
    pub tenant: Arc<Tenant>,
    /// The language pages are shown in (see [`Lang::choose`]).
    pub lang: Lang,
    /// `scheme://host[:port]` of the shop's canonical address, from
    /// configuration only (see [`origin`]).
    pub origin: String,
}

impl Shop {
    /// The absolute URL of `path` (which starts with `/`) at the shop.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin)
    }

    /// The shop's name as the storefront shows it.
    pub fn name(&self) -> &str {
        self.tenant
            .settings
            .storefront
            .name
            .as_deref()
            .unwrap_or(&self.tenant.name)
    }
}

impl FromRequestParts<AppState> for Shop {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        if let Some(done) = parts.extensions.get::<Self>() {
            return Ok(done.clone());
        }
        let host = host_name(parts);
        let Some(host) = host else {
            return Err(WebError::NoShop);
        };
        let tenant = tenancy::resolve(&state.services, Some(&host), None)
            .await
            .map_err(WebError::from)?;
        let tenant = match tenant {
            Some(t) if t.status == TenantStatus::Active => t,
            _ => return Err(WebError::NoShop),
        };
        if let Some(ctx) = parts.extensions.get::<RequestContext>() {
            ctx.set_tenant(&tenant);
        }
        let origin = origin(&state.services.settings, &tenant, &host);
        let settings = &tenant.settings.storefront;
        let shop_lang = settings
            .language
            .as_deref()
            .and_then(Lang::parse)
            .unwrap_or(Lang::En);
        let accept = parts
            .headers
            .get(ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok());
        let lang = Lang::choose(
            shop_lang,
            settings.follow_browser_language.unwrap_or(true),
            accept,
        );
        let shop = Self {
            tenant,
            lang,
            origin,
        };
        parts.extensions.insert(shop.clone());
        Ok(shop)
    }
}

/// The shop's public origin, from configuration ONLY (see
/// `services::tenancy::public_origin`, which the emails' links share), the
/// host that resolved it standing in when the shop has neither a custom
/// domain nor a `base_domain` subdomain.
pub fn origin(settings: &Settings, tenant: &Tenant, resolved: &DomainName) -> String {
    tenancy::public_origin(settings, tenant, Some(resolved.as_str())).unwrap_or_else(|| {
        format!(
            "{}://{}",
            settings.web_public_scheme.as_str(),
            resolved.as_str()
        )
    })
}
