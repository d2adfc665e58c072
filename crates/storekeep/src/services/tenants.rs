//! Tenants: created, listed, changed and suspended by platform operators.

use storekeep_domain::{
    AuditContext, DomainName, NewTenant, PlanName, Slug, Tenant, TenantPatch, TenantSettings,
    ValidationErrors, parse_display_name,
};
use storekeep_store::{Store, StoreError};

use storekeep_domain::{Page, PageRequest};

use super::{ServiceError, ServiceResult, Services};
use crate::wire::tenants::{NewTenantInput, TenantPatchInput};

fn parse_domains(
    errors: &mut ValidationErrors,
    raw: &[String],
    base_domain: Option<&DomainName>,
) -> Vec<DomainName> {
    let mut out: Vec<DomainName> = Vec::new();
    for (i, d) in raw.iter().enumerate() {
        let field = format!("domains[{i}]");
        match DomainName::parse(d) {
            Err(m) => errors.add(&field, m),
            Ok(domain) => {
                let under_base = base_domain.is_some_and(|b| {
                    domain.as_str() == b.as_str()
                        || domain.as_str().ends_with(&format!(".{}", b.as_str()))
                });
                if under_base {
                    errors.add(
                        &field,
                        "is under the platform's base domain, which serves shops by slug",
                    );
                } else if out.contains(&domain) {
                    errors.add(&field, "is listed twice");
                } else {
                    out.push(domain);
                }
            }
        }
    }
    out
}

fn check_settings(errors: &mut ValidationErrors, settings: &TenantSettings) {
    for (field, message) in settings.problems() {
        errors.add(&format!("settings.{field}"), message);
    }
    if settings.email_dkim.is_some() {
        errors.add(
            "settings.email_dkim",
            "is set by the shop's staff (PATCH /api/v1/admin/settings), where the key is sealed",
        );
    }
}

impl NewTenantInput {
    pub fn parse(&self, base_domain: Option<&DomainName>) -> Result<NewTenant, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let slug = errors.check("slug", Slug::parse(&self.slug));
        let name = errors.check("name", parse_display_name(&self.name));
        let plan = match &self.plan {
            Some(p) => errors.check("plan", PlanName::parse(p)),
            None => None,
        };
        let domains = parse_domains(&mut errors, &self.domains, base_domain);
        let settings = self.settings.clone().unwrap_or_default();
        check_settings(&mut errors, &settings);
        errors.into_result()?;
        Ok(NewTenant {
            slug: slug.expect("checked above"),
            name: name.expect("checked above"),
            plan,
            domains,
            settings,
        })
    }
}

impl TenantPatchInput {
    pub fn parse(&self, base_domain: Option<&DomainName>) -> Result<TenantPatch, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let name = self
            .name
            .as_deref()
            .and_then(|n| errors.check("name", parse_display_name(n)));
        let plan = self
            .plan
            .as_deref()
            .and_then(|p| errors.check("plan", PlanName::parse(p)));
        let domains = self
            .domains
            .as_ref()
            .map(|d| parse_domains(&mut errors, d, base_domain));
        if let Some(s) = &self.settings {
            check_settings(&mut errors, s);
        }
        errors.into_result()?;
        Ok(TenantPatch {
            name,
            status: self.status,
            plan,
            domains,
            settings: self.settings.clone(),
            // The shop's DKIM key is its staff's: the operator never sees it.
            keep_email_dkim: true,
        })
    }
}

pub async fn create(
    store: &dyn Store,
    base_domain: Option<&DomainName>,
    input: &NewTenantInput,
    audit: &AuditContext,
) -> ServiceResult<Tenant> {
    let tenant = input.parse(base_domain)?;
    Ok(store.create_tenant(&tenant, audit).await?)
}

/// Looks a tenant up by slug; a malformed slug is simply not found.
pub async fn get(store: &dyn Store, slug: &str) -> ServiceResult<Tenant> {
    let slug = Slug::parse(slug).map_err(|_| StoreError::NotFound("tenant"))?;
    Ok(store.tenant_by_slug(&slug).await?)
}

pub async fn update(
    store: &dyn Store,
    base_domain: Option<&DomainName>,
    slug: &str,
    input: &TenantPatchInput,
    audit: &AuditContext,
) -> ServiceResult<Tenant> {
    let slug = Slug::parse(slug).map_err(|_| StoreError::NotFound("tenant"))?;
    let patch = input.parse(base_domain)?;
    Ok(store.update_tenant(&slug, &patch, audit).await?)
}

/// `POST /platform/tenants`: creates the shop; this node forgets the
/// tenants it had looked up.
pub async fn open_shop(
    svc: &Services,
    input: &NewTenantInput,
    audit: &AuditContext,
) -> ServiceResult<Tenant> {
    let base = svc.settings.base_domain.as_ref();
    let tenant = create(svc.store.as_ref(), base, input, audit).await?;
    svc.tenants.clear();
    Ok(shown(tenant))
}

/// A tenant as the platform API shows it: the sealed DKIM key left out.
fn shown(mut tenant: Tenant) -> Tenant {
    tenant.settings = tenant.settings.redacted();
    tenant
}

pub async fn list(svc: &Services, page: &PageRequest) -> ServiceResult<Page<Tenant>> {
    let mut page = svc.store.list_tenants(page).await?;
    page.items = page.items.into_iter().map(shown).collect();
    Ok(page)
}

pub async fn find(svc: &Services, slug: &str) -> ServiceResult<Tenant> {
    get(svc.store.as_ref(), slug).await.map(shown)
}

/// The shop with id `id` (the operators' job list names each job's shop).
pub async fn find_by_id(svc: &Services, id: storekeep_domain::TenantId) -> ServiceResult<Tenant> {
    Ok(svc.store.tenant_by_id(id).await.map(shown)?)
}

/// `PATCH /platform/tenants/{slug}`: changes the shop; this node forgets
/// the tenants it had looked up and the shop's cached reads (currency and
/// plan limits shape what the storefront shows).
pub async fn change_shop(
    svc: &Services,
    slug: &str,
    input: &TenantPatchInput,
    audit: &AuditContext,
) -> ServiceResult<Tenant> {
    let base = svc.settings.base_domain.as_ref();
    let tenant = update(svc.store.as_ref(), base, slug, input, audit).await?;
    svc.tenants.clear();
    svc.cache.invalidate(tenant.id).await;
    Ok(shown(tenant))
}

/// `PATCH /admin/settings`: checks and replaces the shop's settings; keys
/// only a newer version knows stay as they are. This node forgets the
/// tenants it had looked up and the shop's cached reads.
/// The pixel size of the shop's image whose media key is `key`, or `None`
/// when the shop has no such image.
async fn logo_size(svc: &Services, tenant: &Tenant, key: &str) -> ServiceResult<Option<[u32; 2]>> {
    let Some(image) = key
        .strip_prefix(&format!("{}/", tenant.id))
        .and_then(|rest| rest.split_once('.'))
        .and_then(|(id, _)| id.parse::<storekeep_domain::ImageId>().ok())
    else {
        return Ok(None);
    };
    match svc.store.image(tenant.id, image).await {
        Ok(image) if image.key == key => Ok(Some([image.width, image.height])),
        Ok(_) | Err(StoreError::NotFound(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

pub async fn change_settings(
    svc: &Services,
    tenant: &Tenant,
    mut settings: TenantSettings,
    audit: &AuditContext,
) -> ServiceResult<Tenant> {
    let mut errors = ValidationErrors::new();
    for (field, message) in settings.problems() {
        errors.add(&format!("settings.{field}"), message);
    }
    // A logo must be one of this shop's own images; its size comes from it.
    settings.storefront.logo_size = None;
    if let Some(logo) = &settings.storefront.logo
        && storekeep_domain::is_media_key(logo)
    {
        match logo_size(svc, tenant, logo).await? {
            Some(size) => settings.storefront.logo_size = Some(size),
            None => errors.add(
                "settings.storefront.logo",
                "must be the key of one of this shop's images".to_owned(),
            ),
        }
    }
    if errors.is_empty() {
        super::notify::seal_dkim_key(&svc.keyring, tenant, &mut settings, &mut errors);
    }
    errors.into_result()?;
    settings.unknown = tenant.settings.unknown.clone();
    settings
        .storefront
        .unknown
        .clone_from(&tenant.settings.storefront.unknown);
    let patch = TenantPatch {
        settings: Some(settings),
        ..Default::default()
    };
    let tenant = svc.store.update_tenant(&tenant.slug, &patch, audit).await?;
    svc.tenants.clear();
    svc.cache.invalidate(tenant.id).await;
    Ok(tenant)
}

/// The demo shop `serve --demo` and `seed --demo` create; creating it again
/// changes nothing.
/// The demo shop sells: two shipping methods and US sales tax, so a
/// checkout works out of the box; it accepts the simulated `test` processor
/// as well as `manual` (usable where the server offers `test`, as
/// `serve --demo` does).
fn demo_settings() -> TenantSettings {
    use storekeep_domain::{ShippingMethod, TaxRate};
    TenantSettings {
        shipping_methods: vec![
            ShippingMethod {
                code: "standard".into(),
                name: "Standard (3-5 days)".into(),
                price: 599,
                countries: Vec::new(),
            },
            ShippingMethod {
                code: "express".into(),
                name: "Express (next day)".into(),
                price: 1_999,
                countries: vec!["US".into()],
            },
        ],
        tax_rates: vec![
            TaxRate {
                country: "US".into(),
                region: None,
                rate_bp: 600,
                name: "US sales tax".into(),
            },
            TaxRate {
                country: "US".into(),
                region: Some("CA".into()),
                rate_bp: 725,
                name: "California sales tax".into(),
            },
        ],
        payment_providers: vec!["manual".into(), "test".into()],
        ..TenantSettings::default()
    }
}

pub async fn ensure_demo(store: &dyn Store, audit: &AuditContext) -> ServiceResult<Tenant> {
    let input = NewTenantInput {
        slug: "demo".into(),
        name: "Demo Refurb Shop".into(),
        plan: None,
        domains: Vec::new(),
        settings: Some(demo_settings()),
    };
    match create(store, None, &input, audit).await {
        Err(ServiceError::Store(StoreError::Conflict { field: "slug" })) => {
            get(store, "demo").await
        }
        other => other,
    }
}
