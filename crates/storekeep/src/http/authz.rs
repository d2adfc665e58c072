//! Authorisation for `/api/v1/admin/*`, in one place: every admin route is
//! listed in [`ADMIN_ROUTES`] with the permission it needs; a route missing
//! from the table is refused to everyone. Permissions themselves (and what
//! each role holds) are domain vocabulary: `storekeep_domain::Permission`.

use std::sync::Arc;

use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use storekeep_domain::{AuditContext, Permission, Role, Tenant};

use crate::app::AppState;
use crate::http::authn::{Authentication, Principal};
use crate::http::error::ApiError;
use crate::http::extract::CurrentTenant;
use crate::http::middleware::RequestContext;

/// Every admin route and the permission it needs.
pub const ADMIN_ROUTES: &[(&str, &str, Permission)] = &[
    ("GET", "/api/v1/admin/settings", Permission::SettingsRead),
    ("PATCH", "/api/v1/admin/settings", Permission::SettingsWrite),
    ("GET", "/api/v1/admin/staff", Permission::StaffRead),
    ("POST", "/api/v1/admin/staff", Permission::StaffWrite),
    ("PATCH", "/api/v1/admin/staff/{id}", Permission::StaffWrite),
    ("GET", "/api/v1/admin/api-keys", Permission::CredentialsRead),
    (
        "POST",
        "/api/v1/admin/api-keys",
        Permission::CredentialsWrite,
    ),
    (
        "DELETE",
        "/api/v1/admin/api-keys/{id}",
        Permission::CredentialsWrite,
    ),
    (
        "GET",
        "/api/v1/admin/oauth-clients",
        Permission::CredentialsRead,
    ),
    (
        "POST",
        "/api/v1/admin/oauth-clients",
        Permission::CredentialsWrite,
    ),
    (
        "DELETE",
        "/api/v1/admin/oauth-clients/{id}",
        Permission::CredentialsWrite,
    ),
    ("GET", "/api/v1/admin/audit-log", Permission::AuditRead),
    ("GET", "/api/v1/admin/products", Permission::CatalogRead),
    ("POST", "/api/v1/admin/products", Permission::CatalogWrite),
    (
        "GET",
        "/api/v1/admin/products/{id}",
        Permission::CatalogRead,
    ),
    (
        "PATCH",
        "/api/v1/admin/products/{id}",
        Permission::CatalogWrite,
    ),
    (
        "DELETE",
        "/api/v1/admin/products/{id}",
        Permission::CatalogWrite,
    ),
    (
        "POST",
        "/api/v1/admin/products/{id}/variants",
        Permission::CatalogWrite,
    ),
    (
        "PATCH",
        "/api/v1/admin/variants/{id}",
        Permission::CatalogWrite,
    ),
    (
        "DELETE",
        "/api/v1/admin/variants/{id}",
        Permission::CatalogWrite,
    ),
    (
        "GET",
        "/api/v1/admin/variants/{id}/inventory",
        Permission::CatalogRead,
    ),
    (
        "POST",
        "/api/v1/admin/variants/{id}/inventory",
        Permission::CatalogWrite,
    ),
    (
        "POST",
        "/api/v1/admin/products/{id}/images",
        Permission::CatalogWrite,
    ),
    (
        "DELETE",
        "/api/v1/admin/images/{id}",
        Permission::CatalogWrite,
    ),
    ("GET", "/api/v1/admin/categories", Permission::CatalogRead),
    ("POST", "/api/v1/admin/categories", Permission::CatalogWrite),
    (
        "PATCH",
        "/api/v1/admin/categories/{id}",
        Permission::CatalogWrite,
    ),
    (
        "DELETE",
        "/api/v1/admin/categories/{id}",
        Permission::CatalogWrite,
    ),
    (
        "POST",
        "/api/v1/admin/imports/products",
        Permission::CatalogWrite,
    ),
    (
        "GET",
        "/api/v1/admin/exports/products",
        Permission::CatalogRead,
    ),
    ("GET", "/api/v1/admin/orders", Permission::OrdersRead),
    ("GET", "/api/v1/admin/orders/{id}", Permission::OrdersRead),
    (
        "POST",
        "/api/v1/admin/orders/{id}/mark-paid",
        Permission::OrdersWrite,
    ),
    (
        "POST",
        "/api/v1/admin/orders/{id}/fulfil",
        Permission::OrdersWrite,
    ),
    (
        "POST",
        "/api/v1/admin/orders/{id}/deliver",
        Permission::OrdersWrite,
    ),
    (
        "POST",
        "/api/v1/admin/orders/{id}/cancel",
        Permission::OrdersWrite,
    ),
    (
        "POST",
        "/api/v1/admin/orders/{id}/refunds",
        Permission::OrdersWrite,
    ),
    ("GET", "/api/v1/admin/events", Permission::OrdersRead),
    (
        "GET",
        "/api/v1/admin/payments/unmatched",
        Permission::OrdersRead,
    ),
    (
        "POST",
        "/api/v1/admin/payments/{id}/resolve",
        Permission::OrdersWrite,
    ),
    // Deals are merchandising: the catalog's permissions.
    ("GET", "/api/v1/admin/deals", Permission::CatalogRead),
    ("POST", "/api/v1/admin/deals", Permission::CatalogWrite),
    ("GET", "/api/v1/admin/deals/{id}", Permission::CatalogRead),
    ("PUT", "/api/v1/admin/deals/{id}", Permission::CatalogWrite),
    (
        "DELETE",
        "/api/v1/admin/deals/{id}",
        Permission::CatalogWrite,
    ),
    ("GET", "/api/v1/admin/webhooks", Permission::SettingsRead),
    ("POST", "/api/v1/admin/webhooks", Permission::SettingsWrite),
    (
        "GET",
        "/api/v1/admin/webhooks/{id}",
        Permission::SettingsRead,
    ),
    (
        "PATCH",
        "/api/v1/admin/webhooks/{id}",
        Permission::SettingsWrite,
    ),
    (
        "DELETE",
        "/api/v1/admin/webhooks/{id}",
        Permission::SettingsWrite,
    ),
    (
        "POST",
        "/api/v1/admin/webhooks/{id}/rotate-secret",
        Permission::SettingsWrite,
    ),
    (
        "GET",
        "/api/v1/admin/webhooks/{id}/deliveries",
        Permission::SettingsRead,
    ),
    (
        "POST",
        "/api/v1/admin/webhooks/{id}/test",
        Permission::SettingsWrite,
    ),
    (
        "POST",
        "/api/v1/admin/webhooks/{id}/replay",
        Permission::SettingsWrite,
    ),
    (
        "GET",
        "/api/v1/admin/email-templates",
        Permission::SettingsRead,
    ),
    (
        "GET",
        "/api/v1/admin/email-templates/{template}/preview",
        Permission::SettingsRead,
    ),
    // Background jobs carry the shop's order events (emails, webhooks):
    // the orders' permissions.
    ("GET", "/api/v1/admin/jobs", Permission::OrdersRead),
    ("GET", "/api/v1/admin/jobs/{id}", Permission::OrdersRead),
    (
        "POST",
        "/api/v1/admin/jobs/{id}/retry",
        Permission::OrdersWrite,
    ),
    (
        "POST",
        "/api/v1/admin/jobs/{id}/discard",
        Permission::OrdersWrite,
    ),
    // Rental plans and units are the catalog's (as products are).
    ("GET", "/api/v1/admin/rental-plans", Permission::CatalogRead),
    (
        "POST",
        "/api/v1/admin/rental-plans",
        Permission::CatalogWrite,
    ),
    (
        "GET",
        "/api/v1/admin/rental-plans/{id}",
        Permission::CatalogRead,
    ),
    (
        "PATCH",
        "/api/v1/admin/rental-plans/{id}",
        Permission::CatalogWrite,
    ),
    (
        "DELETE",
        "/api/v1/admin/rental-plans/{id}",
        Permission::CatalogWrite,
    ),
    ("GET", "/api/v1/admin/rental-units", Permission::CatalogRead),
    (
        "POST",
        "/api/v1/admin/rental-units",
        Permission::CatalogWrite,
    ),
    (
        "GET",
        "/api/v1/admin/rental-units/{id}",
        Permission::CatalogRead,
    ),
    (
        "PATCH",
        "/api/v1/admin/rental-units/{id}",
        Permission::CatalogWrite,
    ),
    (
        "POST",
        "/api/v1/admin/rental-units/{id}/status",
        Permission::CatalogWrite,
    ),
    // Rental contracts (contracts part): the orders' permissions.
    (
        "GET",
        "/api/v1/admin/rental-contracts",
        Permission::OrdersRead,
    ),
    (
        "GET",
        "/api/v1/admin/rental-contracts/{id}",
        Permission::OrdersRead,
    ),
    (
        "POST",
        "/api/v1/admin/rental-contracts/{id}/payments",
        Permission::OrdersWrite,
    ),
    // i15 phase 2, glue: the agreement document.
    (
        "GET",
        "/api/v1/admin/rental-contracts/{id}/document",
        Permission::OrdersRead,
    ), // i15 phase 3, buy-out and returns.
    (
        "GET",
        "/api/v1/admin/rental-contracts/{id}/buyout",
        Permission::OrdersRead,
    ),
    (
        "POST",
        "/api/v1/admin/rental-contracts/{id}/buyout",
        Permission::OrdersWrite,
    ),
    (
        "POST",
        "/api/v1/admin/rental-contracts/{id}/return",
        Permission::OrdersWrite,
    ),
    // i15 phase 3, payments and extension.
    (
        "POST",
        "/api/v1/admin/rental-contracts/{id}/extend",
        Permission::OrdersWrite,
    ),
    // i16: customers' rights (export, erasure).
    (
        "GET",
        "/api/v1/admin/customers/{id}/export",
        Permission::CustomersRead,
    ),
    (
        "POST",
        "/api/v1/admin/customers/{id}/erase",
        Permission::CustomersErase,
    ),
    // i16: customers' rights by email (guest purchases).
    (
        "POST",
        "/api/v1/admin/privacy/export",
        Permission::CustomersRead,
    ),
    (
        "POST",
        "/api/v1/admin/privacy/erase",
        Permission::CustomersErase,
    ),
];

pub fn required(method: &Method, route: &str) -> Option<Permission> {
    // HEAD is answered by the GET handler, so it needs what GET needs.
    let method = if method == Method::HEAD {
        "GET"
    } else {
        method.as_str()
    };
    ADMIN_ROUTES
        .iter()
        .find(|(m, r, _)| *m == method && *r == route)
        .map(|(_, _, p)| *p)
}

/// The methods an admin route answers, as an `Allow` header value (`GET`
/// brings `HEAD`, as axum's own 405 says); empty for an unknown route.
pub fn allowed_methods(route: &str) -> String {
    let mut methods = Vec::new();
    for (m, _, _) in ADMIN_ROUTES.iter().filter(|(_, r, _)| *r == route) {
        methods.push(*m);
        if *m == "GET" {
            methods.push("HEAD");
        }
    }
    methods.join(",")
}

/// The caller of an admin route, already checked: belongs to the shop,
/// holds the route's permission.
#[derive(Debug, Clone)]
pub struct AdminActor {
    pub tenant: Arc<Tenant>,
    pub permissions: Vec<Permission>,
    pub role: Option<Role>,
    /// The staff member acting, if a person (not an integration) is.
    pub user: Option<storekeep_domain::UserId>,
    pub audit: AuditContext,
}

fn permissions_of(p: &Principal) -> (Vec<Permission>, Option<Role>) {
    match p {
        Principal::User { user, .. } => match user.role {
            Some(role) => (role.permissions().to_vec(), Some(role)),
            None => (Vec::new(), None),
        },
        Principal::ApiKey(k) => (
            k.scopes
                .iter()
                .filter_map(|s| Permission::parse(s))
                .collect(),
            None,
        ),
        Principal::OAuth(t) => (
            t.scopes
                .iter()
                .filter_map(|s| Permission::parse(s))
                .collect(),
            None,
        ),
        Principal::PlatformToken => (Vec::new(), None),
    }
}

/// The guard on every admin route. A method the route does not answer is a
/// 405 with `Allow`, like everywhere else: the guard also wraps the route's
/// method-not-allowed fallback, so it answers that itself rather than let
/// anything past it that has no permission.
pub async fn admin_guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if let Some(route) = req.extensions().get::<MatchedPath>()
        && required(req.method(), route.as_str()).is_none()
    {
        let allow = allowed_methods(route.as_str());
        if !allow.is_empty()
            && let Ok(allow) = HeaderValue::from_str(&allow)
        {
            return (StatusCode::METHOD_NOT_ALLOWED, [(header::ALLOW, allow)]).into_response();
        }
    }
    match admit(&state, req).await {
        Ok(req) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}

async fn admit(state: &AppState, req: Request) -> Result<Request, ApiError> {
    let (mut parts, body) = req.into_parts();
    let route = parts
        .extensions
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_default();
    let needed = required(&parts.method, &route).ok_or_else(|| {
        ApiError::Forbidden("this route has no permission assigned, so nobody may use it".into())
    })?;
    let CurrentTenant(tenant) = CurrentTenant::from_request_parts(&mut parts, state).await?;
    let principal = match parts.extensions.get::<Authentication>() {
        Some(Authentication::Valid(p)) => p.clone(),
        _ => {
            return Err(ApiError::Unauthorized(
                "sign in as staff of this shop, or present an API key".into(),
            ));
        }
    };
    // A credential of another shop (or a customer's) is not one here.
    let staff_or_integration = match &principal {
        Principal::User { user, .. } => user.kind == storekeep_domain::UserKind::Staff,
        Principal::ApiKey(_) | Principal::OAuth(_) => true,
        Principal::PlatformToken => false,
    };
    if !staff_or_integration || principal.tenant() != Some(tenant.id) {
        return Err(ApiError::Unauthorized(
            "these credentials are not valid for this shop".into(),
        ));
    }
    if let Principal::User { user, .. } = &principal
        && tenant.settings.require_staff_mfa
        && !user.mfa_enabled()
    {
        return Err(ApiError::Forbidden(
            "this shop requires staff to use MFA: enrol at /api/v1/auth/mfa/totp first".into(),
        ));
    }
    let (permissions, role) = permissions_of(&principal);
    if !permissions.contains(&needed) {
        return Err(ApiError::Forbidden(format!(
            "this needs the '{}' permission",
            needed.as_str()
        )));
    }
    let ctx = parts.extensions.get::<RequestContext>().cloned();
    let audit = AuditContext {
        actor: principal.actor(),
        ip: ctx
            .as_ref()
            .and_then(|c| c.client_ip)
            .map(|ip| ip.to_string()),
        request_id: ctx.map(|c| c.request_id.to_string()),
    };
    let user = match &principal {
        Principal::User { user, .. } => Some(user.id),
        _ => None,
    };
    parts.extensions.insert(AdminActor {
        tenant,
        permissions,
        role,
        user,
        audit,
    });
    Ok(Request::from_parts(parts, body))
}

impl<S: Send + Sync> FromRequestParts<S> for AdminActor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<AdminActor>()
            .cloned()
            .ok_or_else(|| ApiError::internal("admin route without admin_guard"))
    }
}
