//! What renting a variant on a plan costs: the schedule, the deposit, what
//! is due at checkout, and the disclosures rent-to-own laws ask for, all
//! computed from `storekeep_store::rules::rentals`.

use chrono::{DateTime, NaiveDate, Utc};
use storekeep_domain::{
    CartItemId, NewContract, RentalContractId, RentalPlan, RentalTerms, VariantId,
};
use storekeep_store::rules::rental_disclosure::{Disclosure, disclosure};
use storekeep_store::rules::rentals::{self, ScheduledInstallment};

use crate::services::carts::money;
use crate::wire::contracts::{
    EarlyPurchase, RentalDisclosures, RentalFees, RentalLineView, ScheduledPayment,
};

/// The calendar date a contract made at `now` in a shop of `time_zone`
/// starts on: its first installment's due date, the shop's date.
pub fn rental_start_date(now: DateTime<Utc>, time_zone: &str) -> NaiveDate {
    rentals::shop_today(now, time_zone)
}

/// What renting on `terms` for `term` periods at `cash_price` discloses
/// for a contract made at `now` in a shop of `time_zone`, and the date it
/// would start: the one computation behind a cart line's quote, the
/// product page's plans and the API's plan list
/// (`services::rentals::plans::offers`).
pub fn quote_disclosure(
    terms: &RentalTerms,
    cash_price: i64,
    term: i32,
    now: DateTime<Utc>,
    time_zone: &str,
) -> (NaiveDate, Disclosure) {
    let start = rental_start_date(now, time_zone);
    (start, disclosure(terms, cash_price, term, start))
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
    /// The shop's time zone the start date was taken in.
    pub time_zone: String,
    pub schedule: Vec<ScheduledInstallment>,
    /// What the customer is told, from `rules::rental_disclosure`.
    pub disclosure: Disclosure,
}

impl RentalQuote {
    pub fn new(
        item_id: CartItemId,
        plan: RentalPlan,
        term: i32,
        cash_price: i64,
        now: DateTime<Utc>,
        time_zone: &str,
    ) -> Self {
        let (start_date, disclosure) =
            quote_disclosure(&plan.terms, cash_price, term, now, time_zone);
        Self {
            item_id,
            variant_id: plan.variant_id,
            deposit: disclosure.deposit,
            schedule: disclosure.schedule.clone(),
            disclosure,
            plan,
            term,
            cash_price,
            start_date,
            time_zone: time_zone.to_owned(),
        }
    }

    /// The deposit and the first installment: what checkout takes.
    pub fn due_today(&self) -> i64 {
        self.disclosure.due_at_start
    }

    pub fn view(&self, currency: &str) -> RentalLineView {
        let t = &self.plan.terms;
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
            disclosures: disclosures_view(&self.disclosure, t, currency),
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
            time_zone: self.time_zone.clone(),
            start_date: self.start_date,
            installments: self
                .schedule
                .iter()
                .map(|i| (i.seq, i.due_date, i.amount))
                .collect(),
        }
    }
}

/// The disclosures of a contract of `term` periods on `terms` started on
/// `start`, as the API shows them: `rules::rental_disclosure::disclosure`
/// mapped into the wire view, amounts in `currency`.
pub fn disclosures(
    terms: &RentalTerms,
    cash_price: i64,
    term: i32,
    start: NaiveDate,
    currency: &str,
) -> RentalDisclosures {
    disclosures_view(&disclosure(terms, cash_price, term, start), terms, currency)
}

/// The wire view of a computed disclosure.
pub fn disclosures_view(d: &Disclosure, terms: &RentalTerms, currency: &str) -> RentalDisclosures {
    let early_purchase = d
        .early_purchase
        .as_ref()
        .map(|e| {
            e.prices
                .iter()
                .map(|&(after, price)| EarlyPurchase {
                    after_installment: after,
                    price: money(price, currency),
                })
                .collect()
        })
        .unwrap_or_default();
    RentalDisclosures {
        cash_price: money(d.cash_price, currency),
        payment_amount: money(d.payment_amount, currency),
        payment_every: d.term_unit,
        number_of_payments: d.number_of_payments,
        total_of_payments: money(d.total_of_payments, currency),
        cost_over_cash_price: money(d.cost_of_renting, currency),
        ownership_at_end: d.ownership_passes,
        early_purchase,
        fees: RentalFees {
            deposit: money(d.deposit, currency),
            late_fee: terms.late_fee,
            maintainer: d.maintainer,
        },
    }
}
