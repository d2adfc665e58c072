//! Rental emails: the reminders the daily job sends for an installment
//! (`rental_due_soon` three days before, `rental_due_today`,
//! `rental_overdue` with the late fee once applied) and `rental_contract`,
//! sent when a contract is made with its terms and a summary of its
//! schedule. Each is built from plain facts, so the job and the checkout
//! need nothing but the contract and the shop.

use chrono::NaiveDate;
use storekeep_domain::Tenant;
use storekeep_store::rules::rental_disclosure::Disclosure;

use super::{branding, compose};
use crate::mail::Email;
use crate::mail::templates::{
    Branding, Context, Kind, RentalContractSummary, RentalReminder, ScheduleLine, format_money,
};
use crate::services::rental_document::{
    end_words, fee_words, format_date, kind_words, maintainer_words, payments_words,
};
use crate::services::{ServiceResult, Services};

/// Which reminder of an installment; `as_str` is what
/// `Installment::reminders_sent` records, so none is sent twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reminder {
    /// Three days before the due date.
    DueSoon,
    /// On the due date.
    DueToday,
    /// Once the grace days have passed (the late fee, if any, applied).
    Overdue,
}

impl Reminder {
    pub const ALL: [Self; 3] = [Self::DueSoon, Self::DueToday, Self::Overdue];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::DueSoon => "due_soon",
            Self::DueToday => "due_today",
            Self::Overdue => "overdue",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == raw)
    }

    /// The email template it sends.
    pub fn kind(self) -> Kind {
        match self {
            Self::DueSoon => Kind::RentalDueSoon,
            Self::DueToday => Kind::RentalDueToday,
            Self::Overdue => Kind::RentalOverdue,
        }
    }
}

/// What a reminder is about: one installment of one contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReminderFacts {
    /// The contract's reference as the customer knows it.
    pub contract_ref: String,
    /// What is rented (the product's title).
    pub product: String,
    pub seq: i32,
    pub due_date: NaiveDate,
    /// The installment, in minor units.
    pub amount: i64,
    /// The late fee applied to it, if any (0 counts as none).
    pub late_fee: Option<i64>,
    pub currency: String,
    /// Where to pay, when there is a page for it.
    pub pay_url: Option<String>,
}

/// The template data of a reminder.
pub fn reminder_context(brand: Branding, facts: &ReminderFacts) -> Context {
    let m = |a: i64| format_money(a, &facts.currency);
    let fee = facts.late_fee.filter(|f| *f > 0);
    let mut context = Context::new(brand);
    context.reminder = Some(RentalReminder {
        contract: facts.contract_ref.clone(),
        product: facts.product.clone(),
        seq: facts.seq,
        due_date: format_date(facts.due_date),
        amount: m(facts.amount),
        late_fee: fee.map(m),
        total_due: m(facts.amount.saturating_add(fee.unwrap_or(0))),
        pay_url: facts.pay_url.clone(),
    });
    context
}

/// The reminder `which` for one installment, from the shop, to `to`.
pub fn rental_reminder_email(
    svc: &Services,
    tenant: &Tenant,
    to: &str,
    which: Reminder,
    facts: &ReminderFacts,
) -> ServiceResult<Email> {
    let context = reminder_context(branding(Some(tenant)), facts);
    compose(svc, Some(tenant), which.kind(), &context, to)
}

/// What the email sent when a contract is made is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractFacts {
    pub contract_ref: String,
    pub product: String,
    pub currency: String,
    /// From `rules::rental_disclosure::disclosure` on the contract's terms.
    pub disclosure: Disclosure,
    /// Where the customer reads or prints the whole agreement.
    pub document_url: Option<String>,
}

/// Installments the contract email lists before "and N more".
pub const SCHEDULE_LINES_SHOWN: usize = 6;

/// The template data of the contract email.
pub fn contract_context(brand: Branding, facts: &ContractFacts) -> Context {
    let d = &facts.disclosure;
    let m = |a: i64| format_money(a, &facts.currency);
    let date_of = |i: Option<&storekeep_store::rules::rentals::ScheduledInstallment>| {
        i.map(|i| format_date(i.due_date)).unwrap_or_default()
    };
    let mut context = Context::new(brand);
    context.rental_contract = Some(RentalContractSummary {
        contract: facts.contract_ref.clone(),
        product: facts.product.clone(),
        kind: kind_words(d.kind).to_owned(),
        end: end_words(d.kind).to_owned(),
        payments: payments_words(d, &facts.currency),
        first_due: date_of(d.schedule.first()),
        last_due: date_of(d.schedule.last()),
        cash_price: m(d.cash_price),
        deposit: (d.deposit > 0).then(|| m(d.deposit)),
        due_at_start: m(d.due_at_start),
        total_of_payments: m(d.total_of_payments),
        cost_of_renting: m(d.cost_of_renting),
        schedule: d
            .schedule
            .iter()
            .take(SCHEDULE_LINES_SHOWN)
            .map(|i| ScheduleLine {
                seq: i.seq,
                due_date: format_date(i.due_date),
                amount: m(i.amount),
            })
            .collect(),
        more: d.schedule.len().saturating_sub(SCHEDULE_LINES_SHOWN),
        early_purchase: d.early_purchase.as_ref().map(|e| e.terms.clone()),
        fees: d
            .fees
            .iter()
            .map(|f| fee_words(f, &facts.currency))
            .collect(),
        maintainer: maintainer_words(d.maintainer).to_owned(),
        document_url: facts.document_url.clone(),
    });
    context
}

/// The email sent to the customer when a contract is made.
pub fn rental_contract_email(
    svc: &Services,
    tenant: &Tenant,
    to: &str,
    facts: &ContractFacts,
) -> ServiceResult<Email> {
    let context = contract_context(branding(Some(tenant)), facts);
    compose(svc, Some(tenant), Kind::RentalContract, &context, to)
}
