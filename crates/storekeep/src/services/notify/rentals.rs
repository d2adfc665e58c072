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

#[cfg(test)]
mod tests {
    use storekeep_domain::{
        BuyoutRule, DepositRule, LateFeeRule, Maintainer, RentalKind, RentalTerms, TermUnit,
    };
    use storekeep_store::rules::rental_disclosure::disclosure;

    use super::*;
    use crate::mail::templates::render;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn brand() -> Branding {
        Branding::new("Acme Refurb", None, None, None)
    }

    fn facts(late_fee: Option<i64>) -> ReminderFacts {
        ReminderFacts {
            contract_ref: "RC-7".into(),
            product: "Pixel 8 <refurbished>".into(),
            seq: 4,
            due_date: d(2028, 2, 29),
            amount: 2_500,
            late_fee,
            currency: "EUR".into(),
            pay_url: None,
        }
    }

    #[test]
    fn reminders_are_named_as_installments_record_them() {
        let names: Vec<_> = Reminder::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(names, ["due_soon", "due_today", "overdue"]);
        for r in Reminder::ALL {
            assert_eq!(Reminder::parse(r.as_str()), Some(r));
            assert_eq!(r.kind().name(), format!("rental_{}", r.as_str()));
        }
        assert_eq!(Reminder::parse("due_later"), None);
    }

    #[test]
    fn an_overdue_reminder_shows_the_late_fee_and_the_total_now_due() {
        let c = reminder_context(brand(), &facts(Some(1_000)));
        let r = render(Kind::RentalOverdue, &c).unwrap();
        assert_eq!(
            r.subject,
            "Acme Refurb: your rental payment of €35.00 is overdue"
        );
        for part in [&r.text, &r.html] {
            assert!(part.contains("due on 29 February 2028"), "{part}");
            assert!(
                part.contains("a late fee of €10.00 has been added"),
                "{part}"
            );
            assert!(part.contains("€35.00 is now due"), "{part}");
            assert!(part.contains("€25.00"), "the installment alone");
        }
        assert!(r.text.contains("Pixel 8 <refurbished>"));
        assert!(!r.html.contains("<refurbished>"), "escaped in HTML");
        assert!(!r.text.contains("Pay online"), "no pay link without a page");

        let no_fee = reminder_context(brand(), &facts(Some(0)));
        let r = render(Kind::RentalOverdue, &no_fee).unwrap();
        assert!(!r.text.contains("late fee"), "{}", r.text);
        assert!(r.subject.contains("€25.00 is overdue"));
    }

    #[test]
    fn a_due_soon_reminder_links_to_the_payment_page() {
        let mut f = facts(None);
        f.pay_url = Some("https://acme.example/rentals/RC-7".into());
        let r = render(Kind::RentalDueSoon, &reminder_context(brand(), &f)).unwrap();
        assert_eq!(
            r.subject,
            "Acme Refurb: your rental payment of €25.00 is due on 29 February 2028"
        );
        assert!(
            r.text
                .contains("Pay online: https://acme.example/rentals/RC-7")
        );
        assert!(
            r.html
                .contains("href=\"https://acme.example/rentals/RC-7\"")
        );
        assert!(r.text.contains("Payment: no. 4, due 29 February 2028"));
    }

    #[test]
    fn the_contract_email_lists_six_installments_then_how_many_more() {
        let terms = RentalTerms {
            kind: RentalKind::FixedTerm,
            term_unit: TermUnit::Week,
            term: 36,
            min_term: 1,
            max_term: 52,
            price_per_period: 1_200,
            deposit: DepositRule::None,
            late_fee: LateFeeRule::None,
            buyout: BuyoutRule::None,
            extension_allowed: false,
            maintainer: Maintainer::Customer,
            default_after_days: 14,
        };
        let f = ContractFacts {
            contract_ref: "RC-8".into(),
            product: "Camera".into(),
            currency: "USD".into(),
            disclosure: disclosure(&terms, 90_000, 36, d(2027, 12, 29)),
            document_url: None,
        };
        let r = render(Kind::RentalContract, &contract_context(brand(), &f)).unwrap();
        assert_eq!(r.subject, "Your Acme Refurb rental agreement RC-8");
        assert!(
            r.text
                .contains("fixed-term rental agreement RC-8 for Camera")
        );
        assert!(r.text.contains("36 weekly payments of $12.00"));
        assert!(r.text.contains("6. 2 February 2028: $12.00"), "{}", r.text);
        let listed = r
            .text
            .lines()
            .filter(|l| {
                l.split_once(". ")
                    .is_some_and(|(n, _)| n.parse::<i32>().is_ok())
            })
            .count();
        assert_eq!(listed, SCHEDULE_LINES_SHOWN, "{}", r.text);
        assert!(r.text.contains("and 30 more, ending 30 August 2028"));
        assert!(r.text.contains("you return them at the end"));
        assert!(r.text.contains("You maintain the goods"));
        assert!(!r.text.contains("Deposit"), "no deposit, no line");
        assert!(!r.text.contains("Buying early"));
        assert!(
            r.text
                .contains("Cost of renting over the cash price: -$468.00")
        );
    }
}
