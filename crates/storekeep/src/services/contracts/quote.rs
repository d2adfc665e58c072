//! What renting a variant on a plan costs: the schedule, the deposit, what
//! is due at checkout, and the disclosures rent-to-own laws ask for, all
//! computed from `storekeep_store::rules::rentals`.

use chrono::{DateTime, NaiveDate, Utc};
use storekeep_domain::{
    CartItemId, NewContract, RentalContractId, RentalKind, RentalPlan, RentalTerms, VariantId,
};
use storekeep_store::rules::rentals::{self, ScheduledInstallment};

use crate::services::carts::money;
use crate::wire::contracts::{
    EarlyPurchase, RentalDisclosures, RentalFees, RentalLineView, ScheduledPayment,
};

/// The shop's time zone of contracts (UTC until shops have one).
pub const CONTRACT_TIME_ZONE: &str = "UTC";

/// The calendar date a contract made at `now` starts on: its first
/// installment's due date. The one place to switch to the shop's time zone.
pub fn rental_start_date(now: DateTime<Utc>) -> NaiveDate {
    now.date_naive()
}

/// A rental line priced: the plan, the term, and what follows from them.
#[derive(Debug, Clone)]
pub struct RentalQuote {
    pub item_id: CartItemId,
    pub variant_id: VariantId,
    pub plan: RentalPlan,
    pub term: i32,
    /// The variant's price now.
    pub cash_price: i64,
    pub deposit: i64,
    pub start_date: NaiveDate,
    pub schedule: Vec<ScheduledInstallment>,
}

impl RentalQuote {
    pub fn new(
        item_id: CartItemId,
        plan: RentalPlan,
        term: i32,
        cash_price: i64,
        start_date: NaiveDate,
    ) -> Self {
        Self {
            item_id,
            variant_id: plan.variant_id,
            deposit: rentals::deposit(plan.terms.deposit, cash_price),
            schedule: rentals::schedule(start_date, &plan.terms, term),
            plan,
            term,
            cash_price,
            start_date,
        }
    }

    /// The deposit and the first installment: what checkout takes.
    pub fn due_today(&self) -> i64 {
        self.deposit
            .saturating_add(self.schedule.first().map_or(0, |i| i.amount))
    }

    pub fn view(&self, currency: &str) -> RentalLineView {
        let t = &self.plan.terms;
        let amounts: Vec<i64> = self.schedule.iter().map(|i| i.amount).collect();
        RentalLineView {
            plan_id: self.plan.id,
            plan_name: self.plan.name.clone(),
            kind: t.kind,
            term_unit: t.term_unit,
            term: self.term,
            price_per_period: money(t.price_per_period, currency),
            deposit: money(self.deposit, currency),
            due_today: money(self.due_today(), currency),
            schedule: self
                .schedule
                .iter()
                .map(|i| ScheduledPayment {
                    seq: i.seq,
                    due_date: i.due_date,
                    amount: money(i.amount, currency),
                })
                .collect(),
            disclosures: disclosures(t, self.cash_price, self.deposit, &amounts, currency),
        }
    }

    /// The contract checkout writes for this line.
    pub fn new_contract(&self) -> NewContract {
        NewContract {
            id: RentalContractId::new(),
            plan_id: self.plan.id,
            variant_id: self.variant_id,
            terms: self.plan.terms.clone(),
            cash_price: self.cash_price,
            deposit: self.deposit,
            term: self.term,
            time_zone: CONTRACT_TIME_ZONE.to_owned(),
            start_date: self.start_date,
            installments: self
                .schedule
                .iter()
                .map(|i| (i.seq, i.due_date, i.amount))
                .collect(),
        }
    }
}

/// The disclosures of a contract on `terms` whose installments are
/// `amounts` (in order). Early-purchase terms list the buy-out price after
/// each installment but the last (after the last, rent-to-own goods are
/// the customer's).
pub fn disclosures(
    terms: &RentalTerms,
    cash_price: i64,
    deposit: i64,
    amounts: &[i64],
    currency: &str,
) -> RentalDisclosures {
    let total: i64 = amounts.iter().sum();
    let mut early_purchase = Vec::new();
    let mut paid = 0i64;
    for (k, amount) in amounts
        .iter()
        .enumerate()
        .take(amounts.len().saturating_sub(1))
    {
        paid += amount;
        if let Some(price) = rentals::buyout_price(terms, cash_price, paid, total - paid) {
            early_purchase.push(EarlyPurchase {
                after_installment: i32::try_from(k + 1).unwrap_or(i32::MAX),
                price: money(price, currency),
            });
        }
    }
    RentalDisclosures {
        cash_price: money(cash_price, currency),
        payment_amount: money(terms.price_per_period, currency),
        payment_every: terms.term_unit,
        number_of_payments: i32::try_from(amounts.len()).unwrap_or(i32::MAX),
        total_of_payments: money(total, currency),
        cost_over_cash_price: money(total - cash_price, currency),
        ownership_at_end: terms.kind == RentalKind::RentToOwn,
        early_purchase,
        fees: RentalFees {
            deposit: money(deposit, currency),
            late_fee: terms.late_fee,
            maintainer: terms.maintainer,
        },
    }
}
