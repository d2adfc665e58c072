//! Rental plans: the terms a variant is rented on. Staff input is checked
//! as a whole (a PATCH re-checks the plan it would make); the storefront
//! sees a published product's active plans with the units available.

use storekeep_domain::{
    AuditContext, BuyoutRule, DepositRule, FULL_SHARE_BPS, LateFeeRule, MAX_AMOUNT,
    MAX_TERM_PERIODS, Maintainer, Money, Page, PageRequest, Product, RentalKind, RentalPlan,
    RentalPlanId, RentalTerms, Tenant, TermUnit, ValidationErrors,
};
use storekeep_store::rentals::RentalPlanFilter;
use storekeep_store::rules::rental_disclosure::Disclosure;

use super::shop_variant;
use crate::services::carts::money;
use crate::services::contracts::quote;
use crate::services::{ServiceError, ServiceResult, Services};
use crate::wire::rentals::{
    PublicRentalPlan, PublicRentalPlanList, RentalPlanInput, RentalPlanPatch, RentalPlanQuery,
    RentalPlanView,
};

/// Most days of grace before a late fee or a default.
pub const MAX_DAYS: i64 = 365;
/// Plans of one variant the storefront lists.
const STORE_PLANS: u32 = 200;

impl RentalPlanView {
    pub fn new(p: RentalPlan, currency: &str) -> Self {
        let t = p.terms;
        Self {
            id: p.id,
            variant_id: p.variant_id,
            name: p.name,
            kind: t.kind,
            term_unit: t.term_unit,
            term: t.term,
            min_term: t.min_term,
            max_term: t.max_term,
            price_per_period: money(t.price_per_period, currency),
            deposit: t.deposit,
            late_fee: t.late_fee,
            buyout: t.buyout,
            extension_allowed: t.extension_allowed,
            maintainer: t.maintainer,
            default_after_days: t.default_after_days,
            active: p.active,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

/// A plan as sent, before it is checked: what a create carries, or a
/// stored plan with a patch laid over it.
struct Draft {
    variant_id: String,
    name: String,
    kind: String,
    term_unit: String,
    term: i64,
    min_term: i64,
    max_term: i64,
    price: Money,
    deposit: DepositRule,
    late_fee: LateFeeRule,
    buyout: BuyoutRule,
    extension_allowed: bool,
    maintainer: String,
    default_after_days: i64,
    active: bool,
}

impl Draft {
    fn from_input(i: RentalPlanInput) -> Self {
        Self {
            variant_id: i.variant_id,
            name: i.name,
            kind: i.kind,
            term_unit: i
                .term_unit
                .unwrap_or_else(|| TermUnit::Month.as_str().into()),
            term: i.term,
            min_term: i.min_term.unwrap_or(i.term),
            max_term: i.max_term.unwrap_or(i.term),
            price: i.price_per_period,
            deposit: i.deposit,
            late_fee: i.late_fee,
            buyout: i.buyout,
            extension_allowed: i.extension_allowed,
            maintainer: i
                .maintainer
                .unwrap_or_else(|| Maintainer::Shop.as_str().into()),
            default_after_days: i.default_after_days.unwrap_or(30),
            active: i.active,
        }
    }

    fn from_plan(p: &RentalPlan, currency: &str) -> Self {
        let t = &p.terms;
        Self {
            variant_id: p.variant_id.to_string(),
            name: p.name.clone(),
            kind: t.kind.as_str().into(),
            term_unit: t.term_unit.as_str().into(),
            term: t.term.into(),
            min_term: t.min_term.into(),
            max_term: t.max_term.into(),
            price: money(t.price_per_period, currency),
            deposit: t.deposit,
            late_fee: t.late_fee,
            buyout: t.buyout,
            extension_allowed: t.extension_allowed,
            maintainer: t.maintainer.as_str().into(),
            default_after_days: t.default_after_days.into(),
            active: p.active,
        }
    }

    fn patch(&mut self, p: RentalPlanPatch) {
        let RentalPlanPatch {
            variant_id,
            name,
            kind,
            term_unit,
            term,
            min_term,
            max_term,
            price_per_period,
            deposit,
            late_fee,
            buyout,
            extension_allowed,
            maintainer,
            default_after_days,
            active,
        } = p;
        set(&mut self.variant_id, variant_id);
        set(&mut self.name, name);
        set(&mut self.kind, kind);
        set(&mut self.term_unit, term_unit);
        set(&mut self.term, term);
        set(&mut self.min_term, min_term);
        set(&mut self.max_term, max_term);
        set(&mut self.price, price_per_period);
        set(&mut self.deposit, deposit);
        set(&mut self.late_fee, late_fee);
        set(&mut self.buyout, buyout);
        set(&mut self.extension_allowed, extension_allowed);
        set(&mut self.maintainer, maintainer);
        set(&mut self.default_after_days, default_after_days);
        set(&mut self.active, active);
    }
}

fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *slot = v;
    }
}

fn amount(errors: &mut ValidationErrors, field: &str, v: i64) {
    if !(0..=MAX_AMOUNT).contains(&v) {
        errors.add(
            field,
            format!("must be between 0 and {MAX_AMOUNT} minor units"),
        );
    }
}

fn bps(errors: &mut ValidationErrors, field: &str, v: i64) {
    if !(0..=FULL_SHARE_BPS).contains(&v) {
        errors.add(field, "must be between 0 and 10000 basis points");
    }
}

fn days(errors: &mut ValidationErrors, field: &str, v: i64) -> i32 {
    if !(0..=MAX_DAYS).contains(&v) {
        errors.add(field, format!("must be between 0 and {MAX_DAYS} days"));
    }
    i32::try_from(v).unwrap_or_default()
}

fn check_rules(errors: &mut ValidationErrors, d: &Draft) -> (DepositRule, LateFeeRule) {
    match d.deposit {
        DepositRule::None => {}
        DepositRule::Fixed { amount: a } => amount(errors, "deposit.amount", a),
        DepositRule::Percent { bps: b } => bps(errors, "deposit.bps", b),
    }
    match d.late_fee {
        LateFeeRule::None => {}
        LateFeeRule::Fixed {
            amount: a,
            grace_days,
        } => {
            amount(errors, "late_fee.amount", a);
            days(errors, "late_fee.grace_days", grace_days.into());
        }
        LateFeeRule::Percent { bps: b, grace_days } => {
            bps(errors, "late_fee.bps", b);
            days(errors, "late_fee.grace_days", grace_days.into());
        }
    }
    match d.buyout {
        BuyoutRule::None => {}
        BuyoutRule::CashPriceMinusRent { bps: b } | BuyoutRule::RemainingShare { bps: b } => {
            bps(errors, "buyout.bps", b);
        }
    }
    (d.deposit, d.late_fee)
}

/// The terms: each in 1..=MAX_TERM_PERIODS, min_term ≤ term ≤ max_term.
fn check_terms(errors: &mut ValidationErrors, d: &Draft) -> (i32, i32, i32) {
    let max = i64::from(MAX_TERM_PERIODS);
    let mut in_range = true;
    for (field, v) in [
        ("term", d.term),
        ("min_term", d.min_term),
        ("max_term", d.max_term),
    ] {
        if !(1..=max).contains(&v) {
            errors.add(field, format!("must be between 1 and {max} periods"));
            in_range = false;
        }
    }
    if in_range {
        if d.min_term > d.term {
            errors.add("min_term", "must be at most term");
        }
        if d.max_term < d.term {
            errors.add("max_term", "must be at least term");
        }
    }
    let n = |v: i64| i32::try_from(v).unwrap_or_default();
    (n(d.term), n(d.min_term), n(d.max_term))
}

/// Checks a draft as a whole; the plan it makes, or every problem.
async fn parse(
    svc: &Services,
    tenant: &Tenant,
    id: RentalPlanId,
    d: Draft,
    created_at: Option<chrono::DateTime<chrono::Utc>>,
) -> ServiceResult<RentalPlan> {
    let mut errors = ValidationErrors::new();
    let variant = shop_variant(svc, tenant, &d.variant_id, &mut errors).await?;
    let name = d.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 200 {
        errors.add("name", "must be 1 to 200 characters long");
    } else if name.chars().any(char::is_control) {
        errors.add("name", "must not contain control characters");
    }
    let kind = RentalKind::parse(&d.kind);
    if kind.is_none() {
        errors.add("kind", "must be fixed_term or rent_to_own");
    }
    let term_unit = TermUnit::parse(&d.term_unit);
    if term_unit.is_none() {
        errors.add("term_unit", "must be month or week");
    }
    let (term, min_term, max_term) = check_terms(&mut errors, &d);
    if let Err(m) = d.price.validate(&tenant.settings.currency) {
        errors.add("price_per_period", m);
    } else if kind == Some(RentalKind::RentToOwn) && d.price.amount == 0 {
        errors.add(
            "price_per_period",
            "must be more than 0 for a rent-to-own plan",
        );
    }
    let (deposit, late_fee) = check_rules(&mut errors, &d);
    if kind == Some(RentalKind::FixedTerm) && d.buyout != BuyoutRule::None {
        errors.add(
            "buyout",
            "a fixed-term plan has no buy-out: use {\"type\": \"none\"}",
        );
    }
    let maintainer = Maintainer::parse(&d.maintainer);
    if maintainer.is_none() {
        errors.add("maintainer", "must be shop or customer");
    }
    let default_after_days = days(&mut errors, "default_after_days", d.default_after_days);
    errors.into_result()?;
    let (Some(variant_id), Some(kind), Some(term_unit), Some(maintainer)) =
        (variant, kind, term_unit, maintainer)
    else {
        unreachable!("every missing part was a problem above");
    };
    let now = storekeep_store::now();
    Ok(RentalPlan {
        id,
        tenant_id: tenant.id,
        variant_id,
        name,
        terms: RentalTerms {
            kind,
            term_unit,
            term,
            min_term,
            max_term,
            price_per_period: d.price.amount,
            deposit,
            late_fee,
            buyout: d.buyout,
            extension_allowed: d.extension_allowed,
            maintainer,
            default_after_days,
        },
        active: d.active,
        created_at: created_at.unwrap_or(now),
        updated_at: now,
    })
}

pub fn parse_query(q: &RentalPlanQuery) -> ServiceResult<(RentalPlanFilter, PageRequest)> {
    let page = PageRequest::new(q.limit, q.after.clone()).map_err(ServiceError::BadRequest)?;
    let variant_id = q
        .variant_id
        .as_deref()
        .map(|v| {
            v.parse()
                .map_err(|_| ServiceError::BadRequest("variant_id must be a variant id".into()))
        })
        .transpose()?;
    Ok((
        RentalPlanFilter {
            variant_id,
            active: q.active,
        },
        page,
    ))
}

pub async fn list(
    svc: &Services,
    tenant: &Tenant,
    filter: &RentalPlanFilter,
    page: &PageRequest,
) -> ServiceResult<Page<RentalPlan>> {
    Ok(svc.store.list_rental_plans(tenant.id, filter, page).await?)
}

pub async fn get(svc: &Services, tenant: &Tenant, id: RentalPlanId) -> ServiceResult<RentalPlan> {
    Ok(svc.store.rental_plan(tenant.id, id).await?)
}

/// Checks the staff's input and creates the plan.
pub async fn create(
    svc: &Services,
    tenant: &Tenant,
    input: RentalPlanInput,
    audit: &AuditContext,
) -> ServiceResult<RentalPlan> {
    let plan = parse(
        svc,
        tenant,
        RentalPlanId::new(),
        Draft::from_input(input),
        None,
    )
    .await?;
    Ok(svc.store.create_rental_plan(&plan, audit).await?)
}

/// Lays the given fields over plan `id` and checks the result as a whole.
pub async fn update(
    svc: &Services,
    tenant: &Tenant,
    id: RentalPlanId,
    patch: RentalPlanPatch,
    audit: &AuditContext,
) -> ServiceResult<RentalPlan> {
    let stored = svc.store.rental_plan(tenant.id, id).await?;
    let mut draft = Draft::from_plan(&stored, &tenant.settings.currency);
    draft.patch(patch);
    let plan = parse(svc, tenant, id, draft, Some(stored.created_at)).await?;
    Ok(svc.store.update_rental_plan(&plan, audit).await?)
}

/// Deletes a plan no contract was made on (a used one is a conflict).
pub async fn delete(
    svc: &Services,
    tenant: &Tenant,
    id: RentalPlanId,
    audit: &AuditContext,
) -> ServiceResult<()> {
    Ok(svc.store.delete_rental_plan(tenant.id, id, audit).await?)
}

/// One plan a published product can be rented on, as the shop offers it
/// now: the plan, the variant's serial-tracked units available (`None`
/// when it has none: its ordinary stock applies), and the disclosure of a
/// contract on the plan's own term made today at the variant's price
/// (`quote::quote_disclosure`, as the cart's quote computes it).
#[derive(Debug, Clone)]
pub struct PlanOffer {
    pub plan: RentalPlan,
    pub available_units: Option<i64>,
    pub disclosure: Disclosure,
}

/// The active plans of `product`'s variants with their disclosures: what
/// the product page shows and `GET /api/v1/store/products/{id}/rental-plans`
/// answers (one read of the plans per variant, no per-plan read).
pub async fn offers(
    svc: &Services,
    tenant: &Tenant,
    product: &Product,
) -> ServiceResult<Vec<PlanOffer>> {
    let page = PageRequest::new(Some(STORE_PLANS), None).map_err(ServiceError::BadRequest)?;
    let now = storekeep_store::now();
    let mut out = Vec::new();
    for v in &product.variants {
        let filter = RentalPlanFilter {
            variant_id: Some(v.id),
            active: Some(true),
        };
        let plans = svc
            .store
            .list_rental_plans(tenant.id, &filter, &page)
            .await?;
        if plans.items.is_empty() {
            continue;
        }
        let counts = svc.store.rental_unit_counts(tenant.id, v.id).await?;
        let available_units = (counts.total > 0).then_some(counts.available);
        for plan in plans.items {
            let (_, disclosure) = quote::quote_disclosure(
                &plan.terms,
                v.price.amount,
                plan.terms.term,
                now,
                &tenant.settings.time_zone,
            );
            out.push(PlanOffer {
                plan,
                available_units,
                disclosure,
            });
        }
    }
    Ok(out)
}

/// A published product's active plans (by id or handle), each with the
/// variant's units available now and the disclosure ([`offers`]).
pub async fn for_product(
    svc: &Services,
    tenant: &Tenant,
    id_or_handle: &str,
) -> ServiceResult<PublicRentalPlanList> {
    let product = crate::services::storefront::active_product(svc, tenant, id_or_handle).await?;
    let currency = &tenant.settings.currency;
    let items = offers(svc, tenant, &product)
        .await?
        .into_iter()
        .map(|o| {
            let disclosures = quote::disclosures_view(&o.disclosure, &o.plan.terms, currency);
            let p = o.plan;
            let t = p.terms;
            PublicRentalPlan {
                id: p.id,
                variant_id: p.variant_id,
                name: p.name,
                kind: t.kind,
                term_unit: t.term_unit,
                term: t.term,
                min_term: t.min_term,
                max_term: t.max_term,
                price_per_period: money(t.price_per_period, currency),
                deposit: t.deposit,
                late_fee: t.late_fee,
                buyout: t.buyout,
                extension_allowed: t.extension_allowed,
                maintainer: t.maintainer,
                available_units: o.available_units,
                disclosures,
            }
        })
        .collect();
    Ok(PublicRentalPlanList { items })
}
