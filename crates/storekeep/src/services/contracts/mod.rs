//! Rental contracts: checking a cart's rental line against its plan, and
//! the reads of contracts for staff and for the customer who signed them.
//! Contracts are written by checkout (`services::checkout`), with the
//! order; see docs/rentals.md, "Contracts".

pub mod quote;
// i15 daily job
pub mod daily;
// i15 phase 2, glue: the agreement document.
pub mod document;
// i15 phase 3, buy-out and returns.
pub mod end;
// i15 phase 3: customers paying installments.
pub mod customer_pay;
// i17: the storefront's account rental pages.
pub mod statement;

use storekeep_domain::{
    AuditContext, ContractDetail, ContractFilter, ContractStatus, Page, PageRequest,
    RentalContract, RentalContractId, RentalPlan, Tenant, UserId, ValidationErrors, VariantId,
};
use storekeep_store::StoreError;

use crate::services::carts::money;
use crate::services::{ServiceError, ServiceResult, Services};
use crate::wire::contracts::{
    ContractQuery, ContractSummary, ContractView, InstallmentPaymentBody, InstallmentView,
    RentalPaymentView, RentalUnitRef,
};

/// Checks a rental line's plan and term: the plan exists in the shop, is
/// active and rents `variant`; the term is within the plan's bounds (the
/// plan's own if none). Problems are added under `prefix` (`""` or
/// `items[i].`). Returns the term.
pub fn check_plan(
    plan: Option<&RentalPlan>,
    variant: VariantId,
    term: Option<i32>,
    prefix: &str,
    errors: &mut ValidationErrors,
) -> i32 {
    let field = |name: &str| format!("{prefix}{name}");
    let Some(plan) = plan else {
        errors.add(
            &field("rental_plan_id"),
            "refers to something that does not exist",
        );
        return 0;
    };
    if plan.variant_id != variant {
        errors.add(
            &field("rental_plan_id"),
            "is a plan of another variant: use one of this variant's plans",
        );
    } else if !plan.active {
        errors.add(&field("rental_plan_id"), "is no longer offered");
    }
    let t = &plan.terms;
    let term = term.unwrap_or(t.term);
    if !(t.min_term..=t.max_term).contains(&term) {
        errors.add(
            &field("rental_term"),
            format!("must be between {} and {} periods", t.min_term, t.max_term),
        );
    }
    term
}

impl ContractSummary {
    pub fn new(c: &RentalContract) -> Self {
        let m = |a| money(a, &c.currency);
        Self {
            id: c.id,
            order_id: c.order_id,
            plan_id: c.plan_id,
            variant_id: c.variant_id,
            unit_id: c.unit_id,
            customer_id: c.customer_id,
            status: c.status,
            kind: c.terms.kind,
            term_unit: c.terms.term_unit,
            term: c.term,
            price_per_period: m(c.terms.price_per_period),
            cash_price: m(c.cash_price),
            deposit: m(c.deposit),
            deposit_held: m(c.deposit_held),
            start_date: c.start_date,
            time_zone: c.time_zone.clone(),
            created_at: c.created_at,
        }
    }
}

impl ContractView {
    /// The contract as customer `me` sees it: who recorded each payment
    /// names no staff member or key (`staff` / `system`, as their own
    /// export shows audit entries; `rules::privacy::actor_for_customer`).
    pub fn for_customer(d: &ContractDetail, me: storekeep_domain::UserId) -> Self {
        let mut view = Self::new(d);
        for p in &mut view.payments {
            p.actor = p
                .actor
                .as_deref()
                .map(|a| storekeep_store::rules::privacy::actor_for_customer(a, Some(me)));
        }
        view
    }

    pub fn new(d: &ContractDetail) -> Self {
        let c = &d.contract;
        let m = |a| money(a, &c.currency);
        Self {
            summary: ContractSummary::new(c),
            installments: d
                .installments
                .iter()
                .map(|i| InstallmentView {
                    id: i.id,
                    seq: i.seq,
                    due_date: i.due_date,
                    amount: m(i.amount),
                    late_fee: m(i.late_fee),
                    paid_at: i.paid_at,
                })
                .collect(),
            payments: d
                .payments
                .iter()
                .map(|p| RentalPaymentView {
                    kind: p.kind,
                    amount: m(p.amount),
                    installment_id: p.installment_id,
                    provider: p.provider.clone(),
                    reference: p.reference.clone(),
                    reason: p.reason.clone(),
                    actor: p.actor.clone(),
                    created_at: p.created_at,
                })
                .collect(),
            unit: d.unit.as_ref().map(|u| RentalUnitRef {
                id: u.id,
                serial: u.serial.clone(),
                condition: u.condition,
                status: u.status,
            }),
            disclosures: quote::disclosures(
                &c.terms,
                c.cash_price,
                c.term,
                c.start_date,
                &c.currency,
            ),
        }
    }
}

/// The admin listing's filters and page.
pub fn parse_query(q: &ContractQuery) -> ServiceResult<(ContractFilter, PageRequest)> {
    let page = PageRequest::new(q.limit, q.after.clone()).map_err(ServiceError::BadRequest)?;
    let status = q
        .status
        .as_deref()
        .map(|s| {
            ContractStatus::parse(s).ok_or_else(|| {
                let all: Vec<&str> = ContractStatus::ALL.iter().map(|s| s.as_str()).collect();
                ServiceError::BadRequest(format!("status must be one of {}", all.join(", ")))
            })
        })
        .transpose()?;
    let customer_id = q
        .customer_id
        .as_deref()
        .map(|c| {
            c.parse::<UserId>()
                .map_err(|_| ServiceError::BadRequest("customer_id must be a customer id".into()))
        })
        .transpose()?;
    Ok((
        ContractFilter {
            status,
            customer_id,
        },
        page,
    ))
}

pub async fn list(
    svc: &Services,
    tenant: &Tenant,
    filter: &ContractFilter,
    page: &PageRequest,
) -> ServiceResult<Page<RentalContract>> {
    Ok(svc.store.list_contracts(tenant.id, filter, page).await?)
}

pub async fn get(
    svc: &Services,
    tenant: &Tenant,
    id: RentalContractId,
) -> ServiceResult<ContractDetail> {
    Ok(svc.store.contract(tenant.id, id).await?)
}

/// The customer's own contract; anyone else's is not found.
pub async fn own(
    svc: &Services,
    tenant: &Tenant,
    customer: UserId,
    id: RentalContractId,
) -> ServiceResult<ContractDetail> {
    let detail = svc.store.contract(tenant.id, id).await?;
    if detail.contract.customer_id == Some(customer) {
        Ok(detail)
    } else {
        Err(StoreError::NotFound("rental contract").into())
    }
}

/// Staff record an installment as paid (see
/// `ContractStore::pay_installment`); the contract as it is after.
pub async fn pay_installment(
    svc: &Services,
    tenant: &Tenant,
    id: RentalContractId,
    body: InstallmentPaymentBody,
    audit: &AuditContext,
) -> ServiceResult<ContractDetail> {
    let reference = body
        .reference
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .unwrap_or("staff");
    if reference.chars().count() > 200 || reference.chars().any(char::is_control) {
        return Err(ValidationErrors::single(
            "reference",
            "must be at most 200 characters, no control characters",
        )
        .into());
    }
    svc.store
        .pay_installment(tenant.id, id, body.installment_id, reference, audit)
        .await?;
    Ok(svc.store.contract(tenant.id, id).await?)
}

// i15 phase 2, glue: one read of plans.
/// The shop's plans among `ids` (unknown ones left out), for pricing carts:
/// read through `RentalStore::rental_plan`, the one read of a plan.
pub async fn plans_by_id(
    svc: &Services,
    tenant: &Tenant,
    ids: &[storekeep_domain::RentalPlanId],
) -> ServiceResult<Vec<RentalPlan>> {
    let mut out = Vec::with_capacity(ids.len());
    for &id in ids {
        match svc.store.rental_plan(tenant.id, id).await {
            Ok(plan) => out.push(plan),
            Err(StoreError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(out)
}

// i15 phase 3, payments and extension.
/// Extends a running contract by `body.periods` (see
/// `ContractStore::extend_contract`): `422` on `periods` if it is under 1,
/// the contract's terms allow no extension, or the new term would pass the
/// plan's `max_term`; `409` for a contract that is not active or overdue.
/// The contract as it is after.
pub async fn extend(
    svc: &Services,
    tenant: &Tenant,
    id: RentalContractId,
    body: &crate::wire::contracts::ExtendBody,
    audit: &AuditContext,
) -> ServiceResult<ContractDetail> {
    if body.periods < 1 {
        return Err(ValidationErrors::single("periods", "must be at least 1").into());
    }
    let c = svc.store.contract(tenant.id, id).await?.contract;
    if !matches!(c.status, ContractStatus::Active | ContractStatus::Overdue) {
        return Err(StoreError::Invalid(
            "the contract is not active or overdue: it cannot be extended",
        )
        .into());
    }
    if !c.terms.extension_allowed {
        return Err(ValidationErrors::single(
            "periods",
            "the contract's terms do not allow extension",
        )
        .into());
    }
    let max = c.terms.max_term;
    if i64::from(c.term) + i64::from(body.periods) > i64::from(max) {
        return Err(ValidationErrors::single(
            "periods",
            format!(
                "extends the contract past the plan's maximum of {max} periods \
                 (it has {}; at most {} more)",
                c.term,
                max - c.term
            ),
        )
        .into());
    }
    svc.store
        .extend_contract(tenant.id, id, c.term, body.periods, audit)
        .await?;
    Ok(svc.store.contract(tenant.id, id).await?)
}
