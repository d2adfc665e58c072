//! Deals and coupons: staff input rules and the public listing.

use std::collections::HashSet;

use chrono::{DateTime, Duration, SubsecRound, Utc};
use storekeep_domain::{
    AuditContext, CategoryId, Deal, DealId, DealKind, DealTarget, Money, NewDeal, Tenant,
    ValidationErrors, parse_coupon_code, parse_display_name,
};

use crate::services::ServiceResult;
use crate::services::Services;
use crate::services::carts::money;
use crate::wire::deals::{DealInput, DealListing, DealView, PublicDeal};

/// Most products or categories one deal names.
pub const MAX_TARGETS: usize = 1_000;

fn off(d: &Deal, currency: &str) -> (Option<i64>, Option<Money>) {
    match d.kind {
        DealKind::Percentage => (Some(d.value), None),
        DealKind::Fixed => (None, Some(money(d.value, currency))),
    }
}

pub fn state_of(d: &Deal, now: DateTime<Utc>) -> &'static str {
    if !d.active {
        "inactive"
    } else if d.ends_at.is_some_and(|e| e <= now) {
        "ended"
    } else if d.starts_at.is_some_and(|s| s > now) {
        "scheduled"
    } else if !d.has_room(1) {
        "sold_out"
    } else {
        "live"
    }
}

impl DealView {
    pub fn new(d: Deal, currency: &str) -> Self {
        let (percent_off, amount_off) = off(&d, currency);
        let state = state_of(&d, storekeep_store::now());
        Self {
            id: d.id,
            name: d.name,
            description: d.description,
            percent_off,
            amount_off,
            applies_to: d.target,
            product_ids: d.product_ids,
            category_ids: d.category_ids,
            code: d.code,
            starts_at: d.starts_at,
            ends_at: d.ends_at,
            max_uses: d.max_uses,
            max_uses_per_customer: d.max_uses_per_customer,
            max_units: d.max_units,
            uses: d.uses,
            units_sold: d.units_sold,
            active: d.active,
            state,
            created_at: d.created_at,
            updated_at: d.updated_at,
        }
    }
}

impl PublicDeal {
    fn new(d: &Deal, currency: &str) -> Self {
        let (percent_off, amount_off) = off(d, currency);
        Self {
            id: d.id,
            name: d.name.clone(),
            description: d.description.clone(),
            percent_off,
            amount_off,
            applies_to: d.target,
            product_ids: d.product_ids.clone(),
            category_ids: d.category_ids.clone(),
            starts_at: d.starts_at,
            ends_at: d.ends_at,
            units_left: d.max_units.map(|m| (m - d.units_sold).max(0)),
        }
    }
}

fn cap(errors: &mut ValidationErrors, field: &str, v: Option<i64>) -> Option<i64> {
    if let Some(n) = v
        && !(1..=storekeep_domain::MAX_QUANTITY).contains(&n)
    {
        errors.add(field, "must be at least 1");
    }
    v
}

/// Checks a deal, including that its products and categories are the shop's.
/// The deal's kind and value: exactly one of `percent_off` and `amount_off`.
fn parse_amount(
    errors: &mut ValidationErrors,
    input: &DealInput,
    currency: &str,
) -> (DealKind, i64) {
    match (input.percent_off, &input.amount_off) {
        (Some(p), None) => {
            if !(1..=100).contains(&p) {
                errors.add("percent_off", "must be between 1 and 100");
            }
            (DealKind::Percentage, p)
        }
        (None, Some(m)) => {
            if let Err(msg) = m.validate(currency) {
                errors.add("amount_off", msg);
            } else if m.amount < 1 {
                errors.add("amount_off", "must be at least 1 minor unit");
            }
            (DealKind::Fixed, m.amount)
        }
        _ => {
            errors.add(
                "percent_off",
                "give exactly one of percent_off and amount_off",
            );
            (DealKind::Percentage, 0)
        }
    }
}

/// What the deal applies to names the shop's own products or categories.
async fn check_targets(
    state: &Services,
    tenant: &Tenant,
    errors: &mut ValidationErrors,
    target: Option<DealTarget>,
    input: &DealInput,
) -> ServiceResult<()> {
    match target {
        None => errors.add("applies_to", "must be order, products or categories"),
        Some(DealTarget::Order) => {
            if !input.product_ids.is_empty() || !input.category_ids.is_empty() {
                errors.add(
                    "applies_to",
                    "an order deal takes no product_ids or category_ids",
                );
            }
        }
        Some(DealTarget::Products) => {
            if input.product_ids.is_empty() || input.product_ids.len() > MAX_TARGETS {
                errors.add("product_ids", "name 1 to 1000 products");
            } else if !input.category_ids.is_empty() {
                errors.add("category_ids", "a products deal takes no category_ids");
            } else {
                let unique: HashSet<_> = input.product_ids.iter().collect();
                let found = state
                    .store
                    .products_by_ids(tenant.id, &input.product_ids)
                    .await?;
                if found.len() != unique.len() {
                    errors.add("product_ids", "every product must be one of the shop's");
                }
            }
        }
        Some(DealTarget::Categories) => {
            if input.category_ids.is_empty() || input.category_ids.len() > MAX_TARGETS {
                errors.add("category_ids", "name 1 to 1000 categories");
            } else if !input.product_ids.is_empty() {
                errors.add("product_ids", "a categories deal takes no product_ids");
            } else {
                let known: HashSet<CategoryId> = state
                    .store
                    .list_categories(tenant.id)
                    .await?
                    .into_iter()
                    .map(|c| c.id)
                    .collect();
                if !input.category_ids.iter().all(|c| known.contains(c)) {
                    errors.add("category_ids", "every category must be one of the shop's");
                }
            }
        }
    }
    Ok(())
}

pub async fn parse(
    state: &Services,
    tenant: &Tenant,
    id: DealId,
    input: DealInput,
) -> ServiceResult<NewDeal> {
    let mut errors = ValidationErrors::new();
    let name = parse_display_name(&input.name)
        .map_err(|m| errors.add("name", m))
        .unwrap_or_default();
    let description = input.description.trim().to_owned();
    if description.chars().count() > 2_000 {
        errors.add("description", "must be at most 2000 characters");
    }
    let (kind, value) = parse_amount(&mut errors, &input, &tenant.settings.currency);
    let target = DealTarget::parse(&input.applies_to);
    check_targets(state, tenant, &mut errors, target, &input).await?;
    let code = input
        .code
        .as_deref()
        .map(|c| parse_coupon_code(c).map_err(|m| errors.add("code", m)).ok())
        .unwrap_or_default();
    if let (Some(s), Some(e)) = (input.starts_at, input.ends_at)
        && e <= s
    {
        errors.add("ends_at", "must be after starts_at");
    }
    let max_uses = cap(&mut errors, "max_uses", input.max_uses);
    let per_customer = cap(
        &mut errors,
        "max_uses_per_customer",
        input.max_uses_per_customer,
    );
    if per_customer.is_some() && input.code.is_none() {
        errors.add(
            "max_uses_per_customer",
            "only coupons (deals with a code) have per-customer caps",
        );
    }
    let max_units = cap(&mut errors, "max_units", input.max_units);
    errors.into_result()?;
    let mut product_ids = input.product_ids;
    product_ids.sort_unstable();
    product_ids.dedup();
    let mut category_ids = input.category_ids;
    category_ids.sort_unstable();
    category_ids.dedup();
    Ok(NewDeal {
        id,
        name,
        description,
        kind,
        value,
        target: target.expect("checked above"),
        product_ids,
        category_ids,
        code,
        // Microseconds, what PostgreSQL keeps: the same on every database.
        starts_at: input.starts_at.map(|t| t.trunc_subsecs(6)),
        ends_at: input.ends_at.map(|t| t.trunc_subsecs(6)),
        max_uses,
        max_uses_per_customer: per_customer,
        max_units,
        active: input.active,
    })
}

/// Automatic deals live now, or starting within `window`; coupons are not
/// listed (their codes are the shop's to hand out).
pub async fn listing(
    state: &Services,
    tenant: &Tenant,
    window: Duration,
) -> ServiceResult<DealListing> {
    let now = storekeep_store::now();
    let deals = state
        .store
        .deals_between(tenant.id, now, now + window)
        .await?;
    let currency = &tenant.settings.currency;
    let mut out = DealListing {
        active: Vec::new(),
        ending_soon: Vec::new(),
        starting_soon: Vec::new(),
    };
    for d in deals.iter().filter(|d| d.code.is_none()) {
        match state_of(d, now) {
            "live" => {
                if d.ends_at.is_some_and(|e| e <= now + window) {
                    out.ending_soon.push(PublicDeal::new(d, currency));
                }
                out.active.push(PublicDeal::new(d, currency));
            }
            "scheduled" => out.starting_soon.push(PublicDeal::new(d, currency)),
            _ => {}
        }
    }
    out.ending_soon.sort_by_key(|d| d.ends_at);
    out.starting_soon.sort_by_key(|d| d.starts_at);
    Ok(out)
}

pub async fn list(
    svc: &Services,
    tenant: &Tenant,
    page: &storekeep_domain::PageRequest,
) -> ServiceResult<storekeep_domain::Page<Deal>> {
    Ok(svc.store.list_deals(tenant.id, page).await?)
}

pub async fn get(svc: &Services, tenant: &Tenant, id: DealId) -> ServiceResult<Deal> {
    Ok(svc.store.deal(tenant.id, id).await?)
}

/// Checks the staff's input and creates the deal.
pub async fn create(
    svc: &Services,
    tenant: &Tenant,
    input: DealInput,
    audit: &AuditContext,
) -> ServiceResult<Deal> {
    let new = parse(svc, tenant, DealId::new(), input).await?;
    Ok(svc.store.create_deal(tenant.id, &new, audit).await?)
}

/// Checks the staff's input and replaces deal `id`'s definition (its
/// usage counts stay).
pub async fn replace(
    svc: &Services,
    tenant: &Tenant,
    id: DealId,
    input: DealInput,
    audit: &AuditContext,
) -> ServiceResult<Deal> {
    let new = parse(svc, tenant, id, input).await?;
    Ok(svc.store.update_deal(tenant.id, &new, audit).await?)
}

pub async fn delete(
    svc: &Services,
    tenant: &Tenant,
    id: DealId,
    audit: &AuditContext,
) -> ServiceResult<()> {
    Ok(svc.store.delete_deal(tenant.id, id, audit).await?)
}
