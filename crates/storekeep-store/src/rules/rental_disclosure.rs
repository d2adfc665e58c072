//! What rent-to-own and rental-purchase laws ask a shop to disclose before
//! a contract is signed, computed from a plan's terms: the cash price, the
//! deposit, each payment, how many and when, their total, what renting
//! costs over the cash price, the early-purchase terms with the buy-out
//! price after every installment, every fee, who maintains the goods and
//! whether ownership passes.
//!
//! Decided here (docs/rentals.md, "Rules, disclosures and documents"):
//! - the deposit is refundable (less damage charges) and so is shown
//!   apart, **not** in the total cost: `total_cost` is the total of the
//!   installments, what the customer pays to rent (or, rent-to-own, to own
//!   by paying every installment);
//! - late fees and damage charges are contingent: itemised in `fees`,
//!   never added to a total;
//! - `cost_of_renting` is `total_of_payments − cash_price` (negative when
//!   a short fixed-term rental costs less than buying);
//! - the early-purchase table lists the buy-out price after installments
//!   1 … term − 1: after the last one a rent-to-own contract passes
//!   ownership for nothing more.
//!
//! Plain data and words without money (the caller formats amounts in the
//! shop's currency).

use chrono::NaiveDate;
use storekeep_domain::{
    BuyoutRule, DepositRule, LateFeeRule, Maintainer, RentalKind, RentalPaymentKind, RentalTerms,
    TermUnit,
};

use super::rentals::{ScheduledInstallment, buyout_price, deposit, grace_days, schedule, share};

/// Everything a customer is told before signing, amounts in minor units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disclosure {
    pub kind: RentalKind,
    /// Rent-to-own: the goods become the customer's after the last
    /// installment (or a buy-out); fixed-term: they come back.
    pub ownership_passes: bool,
    pub maintainer: Maintainer,
    /// The price of buying the goods outright today.
    pub cash_price: i64,
    /// Taken at checkout, refundable less damage charges; not part of the
    /// cost of renting.
    pub deposit: i64,
    /// How the deposit is set and returned, in words.
    pub deposit_terms: String,
    /// Due at signing: the deposit and the first installment.
    pub due_at_start: i64,
    /// The amount of each payment.
    pub payment_amount: i64,
    pub number_of_payments: i32,
    pub term_unit: TermUnit,
    /// The timing of every payment.
    pub schedule: Vec<ScheduledInstallment>,
    /// The sum of the installments.
    pub total_of_payments: i64,
    /// What renting costs the customer if every payment is made on time:
    /// the total of payments (the refundable deposit is apart).
    pub total_cost: i64,
    /// `total_of_payments − cash_price`: what renting costs over buying.
    pub cost_of_renting: i64,
    /// Rent-to-own with a buy-out rule only.
    pub early_purchase: Option<EarlyPurchase>,
    /// Every fee the contract may charge, itemised.
    pub fees: Vec<Fee>,
    /// Days an installment may stay unpaid before the contract defaults.
    pub default_after_days: i32,
}

/// The early-purchase option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EarlyPurchase {
    pub rule: BuyoutRule,
    /// The rule in words.
    pub terms: String,
    /// `(after_seq, price)`: the buy-out price once installments 1 …
    /// `after_seq` are paid.
    pub prices: Vec<(i32, i64)>,
}

/// One fee the contract may charge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fee {
    /// `LateFee` or `DamageCharge`.
    pub kind: RentalPaymentKind,
    /// The amount per occurrence when it is known in advance.
    pub amount: Option<i64>,
    /// When and how it is charged, in words.
    pub terms: String,
}

/// A share in basis points as a percentage: `5000` → `50%`, `1250` →
/// `12.5%`, `125` → `1.25%`.
pub fn percent(bps: i64) -> String {
    let (whole, frac) = (bps / 100, (bps % 100).abs());
    match frac {
        0 => format!("{whole}%"),
        f if f % 10 == 0 => format!("{whole}.{}%", f / 10),
        f => format!("{whole}.{f:02}%"),
    }
}

fn days(n: i32) -> String {
    if n == 1 {
        "1 day".to_owned()
    } else {
        format!("{n} days")
    }
}

/// The disclosure of a contract of `term` periods on `terms`, for goods of
/// `cash_price`, starting on `start`.
pub fn disclosure(terms: &RentalTerms, cash_price: i64, term: i32, start: NaiveDate) -> Disclosure {
    let schedule = schedule(start, terms, term);
    let total_of_payments = schedule
        .iter()
        .fold(0_i64, |sum, i| sum.saturating_add(i.amount));
    let deposit = deposit(terms.deposit, cash_price);
    let first = schedule.first().map_or(0, |i| i.amount);
    Disclosure {
        kind: terms.kind,
        ownership_passes: terms.kind == RentalKind::RentToOwn,
        maintainer: terms.maintainer,
        cash_price,
        deposit,
        deposit_terms: deposit_terms(terms.deposit),
        due_at_start: deposit.saturating_add(first),
        payment_amount: terms.price_per_period,
        number_of_payments: i32::try_from(schedule.len()).unwrap_or(i32::MAX),
        term_unit: terms.term_unit,
        total_of_payments,
        total_cost: total_of_payments,
        cost_of_renting: total_of_payments.saturating_sub(cash_price),
        early_purchase: early_purchase(terms, cash_price, &schedule),
        fees: fees(terms),
        default_after_days: terms.default_after_days,
        schedule,
    }
}

fn deposit_terms(rule: DepositRule) -> String {
    let set = match rule {
        DepositRule::None => return "No deposit.".to_owned(),
        DepositRule::Fixed { .. } => "A fixed deposit".to_owned(),
        DepositRule::Percent { bps } => format!("A deposit of {} of the cash price", percent(bps)),
    };
    format!("{set}, taken at signing and refunded when the contract ends, less any damage charges.")
}

fn early_purchase(
    terms: &RentalTerms,
    cash_price: i64,
    schedule: &[ScheduledInstallment],
) -> Option<EarlyPurchase> {
    let words = match terms.buyout {
        _ if terms.kind != RentalKind::RentToOwn => return None,
        BuyoutRule::None => return None,
        BuyoutRule::CashPriceMinusRent { bps } => format!(
            "You may buy the goods at any time for the cash price less {} of the rent paid so far.",
            percent(bps)
        ),
        BuyoutRule::RemainingShare { bps } => format!(
            "You may buy the goods at any time for {} of the installments not yet paid.",
            percent(bps)
        ),
    };
    let total: i64 = schedule
        .iter()
        .fold(0_i64, |sum, i| sum.saturating_add(i.amount));
    let mut paid = 0_i64;
    let mut prices = Vec::new();
    for line in schedule.iter().take(schedule.len().saturating_sub(1)) {
        paid = paid.saturating_add(line.amount);
        if let Some(price) = buyout_price(terms, cash_price, paid, total.saturating_sub(paid)) {
            prices.push((line.seq, price));
        }
    }
    Some(EarlyPurchase {
        rule: terms.buyout,
        terms: words,
        prices,
    })
}

fn fees(terms: &RentalTerms) -> Vec<Fee> {
    let mut out = Vec::new();
    let grace = days(grace_days(terms.late_fee));
    match terms.late_fee {
        LateFeeRule::None => {}
        LateFeeRule::Fixed { amount, .. } => out.push(Fee {
            kind: RentalPaymentKind::LateFee,
            amount: Some(amount),
            terms: format!(
                "Charged once per installment still unpaid {grace} after its due date."
            ),
        }),
        LateFeeRule::Percent { bps, .. } => out.push(Fee {
            kind: RentalPaymentKind::LateFee,
            amount: Some(share(terms.price_per_period, bps)),
            terms: format!(
                "{} of the late installment, charged once per installment still unpaid {grace} after its due date.",
                percent(bps)
            ),
        }),
    }
    out.push(Fee {
        kind: RentalPaymentKind::DamageCharge,
        amount: None,
        terms: match terms.deposit {
            DepositRule::None => {
                "The cost of repairing damage beyond normal wear, assessed when the goods are inspected on return.".to_owned()
            }
            _ => "The cost of repairing damage beyond normal wear, assessed when the goods are inspected on return and taken from the deposit.".to_owned(),
        },
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn laptop() -> RentalTerms {
        RentalTerms {
            kind: RentalKind::RentToOwn,
            term_unit: TermUnit::Month,
            term: 12,
            min_term: 6,
            max_term: 24,
            price_per_period: 4_999,
            deposit: DepositRule::Percent { bps: 1_250 },
            late_fee: LateFeeRule::Percent {
                bps: 1_000,
                grace_days: 5,
            },
            buyout: BuyoutRule::CashPriceMinusRent { bps: 5_000 },
            extension_allowed: true,
            maintainer: Maintainer::Shop,
            default_after_days: 30,
        }
    }

    #[test]
    fn a_rent_to_own_laptop_discloses_every_amount() {
        let d0 = disclosure(&laptop(), 49_900, 12, d(2027, 1, 31));
        assert!(d0.ownership_passes);
        assert_eq!(d0.maintainer, Maintainer::Shop);
        assert_eq!(d0.cash_price, 49_900);
        assert_eq!(d0.deposit, 6_238, "12.5 % of 499.00 = 62.375, half up");
        assert_eq!(d0.due_at_start, 6_238 + 4_999);
        assert_eq!(d0.payment_amount, 4_999);
        assert_eq!(d0.number_of_payments, 12);
        assert_eq!(d0.schedule.len(), 12);
        assert_eq!(d0.schedule[1].due_date, d(2027, 2, 28));
        assert_eq!(d0.schedule[11].due_date, d(2027, 12, 31));
        assert_eq!(d0.total_of_payments, 59_988);
        assert_eq!(d0.total_cost, 59_988, "the refundable deposit is apart");
        assert_eq!(d0.cost_of_renting, 10_088);
        assert_eq!(d0.default_after_days, 30);
        assert!(d0.deposit_terms.contains("12.5% of the cash price"));

        let early = d0.early_purchase.unwrap();
        assert!(early.terms.contains("cash price less 50% of the rent paid"));
        assert_eq!(early.prices.len(), 11, "after installments 1 to 11");
        // 499.00 − half of 49.99 (25.00 rounded half up) = 474.00.
        assert_eq!(early.prices[0], (1, 47_400));
        // After 2: 499.00 − 49.99 = 449.01.
        assert_eq!(early.prices[1], (2, 44_901));
        // After 11: 499.00 − half of 549.89 (274.95 rounded up) = 224.05.
        assert_eq!(early.prices[10], (11, 22_405));

        assert_eq!(d0.fees.len(), 2);
        assert_eq!(d0.fees[0].kind, RentalPaymentKind::LateFee);
        assert_eq!(d0.fees[0].amount, Some(500), "10 % of 49.99, half up");
        assert!(
            d0.fees[0]
                .terms
                .contains("once per installment still unpaid 5 days")
        );
        assert_eq!(d0.fees[1].kind, RentalPaymentKind::DamageCharge);
        assert_eq!(d0.fees[1].amount, None);
        assert!(d0.fees[1].terms.contains("taken from the deposit"));
    }

    #[test]
    fn a_remaining_share_buyout_falls_with_each_payment() {
        let terms = RentalTerms {
            buyout: BuyoutRule::RemainingShare { bps: 6_000 },
            late_fee: LateFeeRule::Fixed {
                amount: 1_500,
                grace_days: 1,
            },
            deposit: DepositRule::Fixed { amount: 10_000 },
            ..laptop()
        };
        let d0 = disclosure(&terms, 49_900, 3, d(2028, 2, 29));
        let dates: Vec<_> = d0.schedule.iter().map(|i| i.due_date).collect();
        assert_eq!(dates, [d(2028, 2, 29), d(2028, 3, 29), d(2028, 4, 29)]);
        assert_eq!(d0.deposit, 10_000);
        assert_eq!(d0.total_of_payments, 14_997);
        assert_eq!(d0.cost_of_renting, 14_997 - 49_900, "cheaper than buying");
        let early = d0.early_purchase.unwrap();
        // 60 % of 99.98 = 59.988 → 59.99; 60 % of 49.99 = 29.994 → 29.99.
        assert_eq!(early.prices, [(1, 5_999), (2, 2_999)]);
        assert!(early.terms.contains("60% of the installments not yet paid"));
        assert_eq!(d0.fees[0].amount, Some(1_500));
        assert!(d0.fees[0].terms.contains("unpaid 1 day after"));
        assert!(d0.deposit_terms.starts_with("A fixed deposit"));
    }

    #[test]
    fn a_fixed_term_rental_returns_the_goods_and_offers_no_buyout() {
        let terms = RentalTerms {
            kind: RentalKind::FixedTerm,
            term_unit: TermUnit::Week,
            price_per_period: 1_200,
            deposit: DepositRule::None,
            late_fee: LateFeeRule::None,
            maintainer: Maintainer::Customer,
            ..laptop()
        };
        let d0 = disclosure(&terms, 30_000, 4, d(2027, 12, 29));
        assert!(!d0.ownership_passes);
        assert_eq!(d0.maintainer, Maintainer::Customer);
        assert_eq!(d0.early_purchase, None);
        assert_eq!(d0.deposit, 0);
        assert_eq!(d0.deposit_terms, "No deposit.");
        assert_eq!(d0.due_at_start, 1_200);
        assert_eq!(d0.total_of_payments, 4_800);
        assert_eq!(d0.schedule[3].due_date, d(2028, 1, 19));
        assert_eq!(d0.fees.len(), 1, "no late fee, the damage charge only");
        assert!(!d0.fees[0].terms.contains("deposit"));
    }

    #[test]
    fn percentages_read_as_people_write_them() {
        assert_eq!(percent(5_000), "50%");
        assert_eq!(percent(1_250), "12.5%");
        assert_eq!(percent(125), "1.25%");
        assert_eq!(percent(5), "0.05%");
        assert_eq!(percent(10_000), "100%");
    }
}
