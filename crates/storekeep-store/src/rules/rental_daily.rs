//! The daily rentals pass's decisions (`rentals.daily`, `storekeep rentals
//! run-daily`): for one unpaid installment on the shop's date, which
//! reminder is due, whether a late fee is charged, and what the contract
//! becomes. The store applies them with conditional writes, so each
//! happens once whatever node or run applies it.

use chrono::{DateTime, NaiveDate, Utc};
use storekeep_domain::RentalTerms;

use super::rentals::{in_default, late_fee};

/// The job kind and periodic job name of the daily pass.
pub const DAILY_JOB: &str = "rentals.daily";
/// The job kind sending one installment's reminder email.
pub const REMINDER_JOB: &str = "rental.remind";
/// Contracts per transaction.
pub const BATCH: usize = 500;
/// Days before the due date the `due_soon` reminder goes out.
pub const DUE_SOON_DAYS: i64 = 3;

/// Outbox events of the daily pass (webhooks may subscribe to them).
pub const INSTALLMENT_OVERDUE: &str = "rental.installment_overdue";
pub const LATE_FEE_APPLIED: &str = "rental.late_fee_applied";
pub const CONTRACT_DEFAULTED: &str = "rental.contract_defaulted";

/// One pass: the instant it runs at, and the date it stands for when an
/// operator names one (otherwise each contract's date at `at` in its zone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailyPass {
    pub at: DateTime<Utc>,
    pub date: Option<NaiveDate>,
}

impl DailyPass {
    /// The date the pass stands for in time zone `tz`.
    pub fn today(&self, tz: &str) -> NaiveDate {
        self.date
            .unwrap_or_else(|| super::rentals::shop_today(self.at, tz))
    }

    /// No installment due after this date can need anything of the pass in
    /// any zone (shop dates lie within a day of UTC's).
    pub fn horizon(&self) -> NaiveDate {
        let base = self.date.unwrap_or_else(|| self.at.date_naive());
        base + chrono::Duration::days(DUE_SOON_DAYS + 1)
    }
}

/// What one batch (or a whole pass) did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct DailyOutcome {
    pub contracts: u64,
    pub overdue: u64,
    pub late_fees: u64,
    pub defaulted: u64,
    pub reminders: u64,
}

impl DailyOutcome {
    pub fn add(&mut self, o: &Self) {
        self.contracts += o.contracts;
        self.overdue += o.overdue;
        self.late_fees += o.late_fees;
        self.defaulted += o.defaulted;
        self.reminders += o.reminders;
    }
}

/// What is due for one unpaid installment on `today`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstallmentDecision {
    /// The reminder to send (`due_soon`, `due_today`, `overdue`), unless
    /// already sent.
    pub reminder: Option<&'static str>,
    /// The late fee to charge, unless already charged.
    pub late_fee: Option<i64>,
    /// Past its due date: the contract is overdue.
    pub overdue: bool,
    /// Unpaid longer than `default_after_days`: the contract defaults.
    pub default: bool,
}

/// The decision for an unpaid installment of `amount` due on `due`, given
/// the reminders already sent and whether a fee was charged. A pass run
/// late (a missed day) sends only the reminder that fits the date: never a
/// `due_soon` on or after the due date.
pub fn decide(
    terms: &RentalTerms,
    amount: i64,
    due: NaiveDate,
    today: NaiveDate,
    reminders_sent: &[String],
    fee_charged: bool,
) -> InstallmentDecision {
    let days_to_due = due.signed_duration_since(today).num_days();
    let wanted = match days_to_due {
        0 => Some("due_today"),
        1..=DUE_SOON_DAYS => Some("due_soon"),
        d if d < 0 => Some("overdue"),
        _ => None,
    };
    let overdue = days_to_due < 0;
    InstallmentDecision {
        reminder: wanted.filter(|w| !reminders_sent.iter().any(|s| s == w)),
        late_fee: if fee_charged {
            None
        } else {
            late_fee(terms.late_fee, amount, due, today)
        },
        overdue,
        default: overdue && in_default(terms, due, today),
    }
}

#[cfg(test)]
mod tests {
    use storekeep_domain::{
        BuyoutRule, DepositRule, LateFeeRule, Maintainer, RentalKind, TermUnit,
    };

    use super::*;

    fn terms() -> RentalTerms {
        RentalTerms {
            kind: RentalKind::RentToOwn,
            term_unit: TermUnit::Month,
            term: 12,
            min_term: 12,
            max_term: 12,
            price_per_period: 5_000,
            deposit: DepositRule::None,
            late_fee: LateFeeRule::Fixed {
                amount: 500,
                grace_days: 5,
            },
            buyout: BuyoutRule::None,
            extension_allowed: false,
            maintainer: Maintainer::Shop,
            default_after_days: 30,
        }
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn reminders_follow_the_date_and_are_sent_once() {
        let t = terms();
        let due = d(2027, 3, 1);
        let at = |today| decide(&t, 5_000, due, today, &[], false);
        assert_eq!(at(d(2027, 2, 25)).reminder, None);
        assert_eq!(at(d(2027, 2, 26)).reminder, Some("due_soon"));
        assert_eq!(at(d(2027, 2, 28)).reminder, Some("due_soon"));
        assert_eq!(at(d(2027, 3, 1)).reminder, Some("due_today"));
        assert_eq!(at(d(2027, 3, 2)).reminder, Some("overdue"));
        assert!(at(d(2027, 3, 2)).overdue);
        assert!(!at(d(2027, 3, 1)).overdue);
        let sent = vec!["due_soon".to_owned()];
        assert_eq!(
            decide(&t, 5_000, due, d(2027, 2, 27), &sent, false).reminder,
            None
        );
    }

    #[test]
    fn fees_once_after_grace_and_default_after_its_days() {
        let t = terms();
        let due = d(2027, 3, 1);
        assert_eq!(
            decide(&t, 5_000, due, d(2027, 3, 6), &[], false).late_fee,
            None
        );
        assert_eq!(
            decide(&t, 5_000, due, d(2027, 3, 7), &[], false).late_fee,
            Some(500)
        );
        assert_eq!(
            decide(&t, 5_000, due, d(2027, 3, 7), &[], true).late_fee,
            None
        );
        assert!(!decide(&t, 5_000, due, d(2027, 3, 31), &[], true).default);
        assert!(decide(&t, 5_000, due, d(2027, 4, 1), &[], true).default);
    }

    #[test]
    fn an_operator_date_overrides_the_zone() {
        let at = "2027-06-15T23:30:00Z".parse().unwrap();
        let pass = DailyPass { at, date: None };
        assert_eq!(pass.today("Asia/Tokyo"), d(2027, 6, 16));
        let pass = DailyPass {
            at,
            date: Some(d(2027, 1, 2)),
        };
        assert_eq!(pass.today("Asia/Tokyo"), d(2027, 1, 2));
        assert_eq!(pass.horizon(), d(2027, 1, 6));
    }
}

// i15 phase 3, payments: a paid-up overdue contract runs again.
/// Whether a contract whose unpaid installments fall due on `unpaid_due`
/// is paid up on `today` (its shop's date): no unpaid installment is past
/// its due date, so an `overdue` contract is `active` again. One due today
/// is not late yet (as in [`decide`]).
pub fn paid_up(unpaid_due: &[NaiveDate], today: NaiveDate) -> bool {
    unpaid_due.iter().all(|&due| due >= today)
}

#[cfg(test)]
mod paid_up_tests {
    use chrono::NaiveDate;

    use super::paid_up;

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2027, m, day).unwrap()
    }

    #[test]
    fn paid_up_means_nothing_unpaid_is_past_its_due_date() {
        let today = d(3, 10);
        assert!(paid_up(&[], today));
        assert!(
            paid_up(&[d(3, 10), d(4, 10)], today),
            "due today is not late"
        );
        assert!(!paid_up(&[d(3, 9), d(4, 10)], today));
        assert!(!paid_up(&[d(4, 10), d(2, 28)], today), "in any order");
    }
}
