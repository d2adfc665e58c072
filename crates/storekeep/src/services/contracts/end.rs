//! How a contract ends early (issue 15, phase 3): the buy-out quote and
//! staff recording a buy-out, and the return of the goods with their
//! inspection. See docs/rentals.md, "Early buy-out" and "Returns and
//! inspection".

use storekeep_domain::{AuditContext, ContractDetail, RentalContractId, Tenant, ValidationErrors};
use storekeep_store::StoreError;
use storekeep_store::contracts::ReturnOfGoods;
use storekeep_store::rules::rental_disclosure::disclosure;
use storekeep_store::rules::rental_end::{Due, buyout_quote, check_returnable, settle};

use crate::services::carts::money;
use crate::services::{ServiceResult, Services};
use crate::wire::contracts::{BuyoutBody, BuyoutQuoteView, ReturnBody};

/// The contract's buy-out quote now; a `409` problem when it has none
/// (fixed-term, no buy-out rule, not running).
pub fn quote(d: &ContractDetail) -> ServiceResult<BuyoutQuoteView> {
    let c = &d.contract;
    let dues: Vec<Due> = d
        .installments
        .iter()
        .map(|i| Due {
            amount: i.amount,
            late_fee: i.late_fee,
            paid: i.paid_at.is_some(),
        })
        .collect();
    let q = buyout_quote(&c.terms, c.status, started(d), c.cash_price, &dues)
        .map_err(StoreError::Invalid)?;
    let terms = disclosure(&c.terms, c.cash_price, c.term, c.start_date)
        .early_purchase
        .map(|e| e.terms)
        .unwrap_or_default();
    let m = |a| money(a, &c.currency);
    Ok(BuyoutQuoteView {
        contract_id: c.id,
        buyout_price: m(q.buyout_price),
        late_fees: m(q.late_fees),
        total: m(q.total),
        rent_paid: m(q.rent_paid),
        remaining: m(q.remaining),
        rule: c.terms.buyout,
        terms,
    })
}

/// Whether the contract's order was paid: its deposit is recorded.
pub(crate) fn started(d: &ContractDetail) -> bool {
    d.payments
        .iter()
        .any(|p| p.kind == storekeep_domain::RentalPaymentKind::Deposit)
}

/// A staff-given reference: trimmed, `staff` if empty, at most 200
/// characters without control characters.
fn reference(raw: Option<&str>) -> ServiceResult<String> {
    let r = raw
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .unwrap_or("staff");
    if r.chars().count() > 200 || r.chars().any(char::is_control) {
        return Err(ValidationErrors::single(
            "reference",
            "must be at most 200 characters, no control characters",
        )
        .into());
    }
    Ok(r.to_owned())
}

/// Staff record the buy-out (see `ContractStore::buy_out`); the contract
/// as it is after.
pub async fn buy_out(
    svc: &Services,
    tenant: &Tenant,
    id: RentalContractId,
    body: BuyoutBody,
    audit: &AuditContext,
) -> ServiceResult<ContractDetail> {
    let reference = reference(body.reference.as_deref())?;
    svc.store
        .buy_out(tenant.id, id, body.amount, &reference, audit)
        .await?;
    Ok(svc.store.contract(tenant.id, id).await?)
}

/// Optional text: trimmed, empty as absent, at most `max` characters
/// (line breaks and tabs allowed in notes only).
fn text(
    raw: Option<&str>,
    field: &str,
    max: usize,
    errors: &mut ValidationErrors,
) -> Option<String> {
    let t = raw.map(str::trim).filter(|t| !t.is_empty())?;
    let bad = |c: char| c.is_control() && !(field == "notes" && matches!(c, '\n' | '\t'));
    if t.chars().count() > max || t.chars().any(bad) {
        errors.add(
            field,
            format!("must be at most {max} characters, no control characters"),
        );
    }
    Some(t.to_owned())
}

/// Staff take the goods back (see `ContractStore::return_contract`): a
/// contract that is not out is a `409`, a charge or text that does not fit
/// a `422` naming each field; the contract as it is after.
pub async fn return_goods(
    svc: &Services,
    tenant: &Tenant,
    id: RentalContractId,
    body: ReturnBody,
    audit: &AuditContext,
) -> ServiceResult<ContractDetail> {
    let before = svc.store.contract(tenant.id, id).await?;
    let c = &before.contract;
    check_returnable(c.status, started(&before)).map_err(StoreError::Invalid)?;
    let mut errors = ValidationErrors::new();
    let reason = text(body.reason.as_deref(), "reason", 500, &mut errors);
    let notes = text(body.notes.as_deref(), "notes", 2000, &mut errors);
    let s = match settle(body.outcome, body.charge, reason.is_some(), c.deposit_held) {
        Ok(s) if errors.is_empty() => s,
        Ok(_) => return Err(errors.into()),
        Err(problems) => {
            for (field, message) in problems {
                errors.add(field, message);
            }
            return Err(errors.into());
        }
    };
    let ret = ReturnOfGoods {
        outcome: body.outcome,
        charge: s.charge,
        refund: s.refund,
        reason: match body.outcome {
            storekeep_domain::InspectionOutcome::Missing => {
                Some(reason.unwrap_or_else(|| "the goods were not returned".to_owned()))
            }
            _ => reason,
        },
        notes,
        held: c.deposit_held,
    };
    svc.store
        .return_contract(tenant.id, id, &ret, audit)
        .await?;
    Ok(svc.store.contract(tenant.id, id).await?)
}
