//! Property tests of the rental arithmetic (`rules::rentals`): for any
//! terms and dates inside their documented limits the rules keep their
//! promises and never panic. Failures are not persisted to files
//! (`failure_persistence: None`): a shrunk failing case is kept as an
//! ordinary regression test instead.

use chrono::{Datelike, NaiveDate};
use proptest::prelude::*;
use proptest::test_runner::Config;
use storekeep_domain::{
    BuyoutRule, DepositRule, LateFeeRule, MAX_TERM_PERIODS, Maintainer, RentalKind, RentalTerms,
    TermUnit,
};

use super::rentals::{buyout_price, due_date, extension, late_fee, schedule, share};

fn config() -> Config {
    Config {
        cases: 256,
        failure_persistence: None,
        ..Config::default()
    }
}

/// Any date from 1970 to 2200.
fn date() -> impl Strategy<Value = NaiveDate> {
    (0_i64..84_000).prop_map(|days| {
        NaiveDate::from_ymd_opt(1970, 1, 1).unwrap() + chrono::Duration::days(days)
    })
}

fn unit() -> impl Strategy<Value = TermUnit> {
    prop_oneof![Just(TermUnit::Month), Just(TermUnit::Week)]
}

fn buyout() -> impl Strategy<Value = BuyoutRule> {
    prop_oneof![
        Just(BuyoutRule::None),
        (0_i64..=10_000).prop_map(|bps| BuyoutRule::CashPriceMinusRent { bps }),
        (0_i64..=10_000).prop_map(|bps| BuyoutRule::RemainingShare { bps }),
    ]
}

fn terms(unit: TermUnit, price: i64, buyout: BuyoutRule) -> RentalTerms {
    RentalTerms {
        kind: RentalKind::RentToOwn,
        term_unit: unit,
        term: 12,
        min_term: 1,
        max_term: MAX_TERM_PERIODS,
        price_per_period: price,
        deposit: DepositRule::None,
        late_fee: LateFeeRule::None,
        buyout,
        extension_allowed: true,
        maintainer: Maintainer::Shop,
        default_after_days: 30,
    }
}

fn last_day_of_month(d: NaiveDate) -> bool {
    d.succ_opt().is_none_or(|next| next.month() != d.month())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn a_schedule_has_term_lines_in_date_order_totalling_term_times_price(
        start in date(),
        unit in unit(),
        term in 1_i32..=MAX_TERM_PERIODS,
        price in 0_i64..=10_000_000,
    ) {
        let t = terms(unit, price, BuyoutRule::None);
        let s = schedule(start, &t, term);
        prop_assert_eq!(s.len(), usize::try_from(term).unwrap());
        prop_assert_eq!(s[0].due_date, start);
        for (i, line) in s.iter().enumerate() {
            prop_assert_eq!(line.seq, i32::try_from(i).unwrap() + 1);
            prop_assert_eq!(line.amount, price);
        }
        for w in s.windows(2) {
            prop_assert!(w[0].due_date < w[1].due_date, "{:?}", w);
            if unit == TermUnit::Week {
                prop_assert_eq!((w[1].due_date - w[0].due_date).num_days(), 7);
            }
        }
        if unit == TermUnit::Month {
            for line in &s {
                let day = line.due_date.day();
                prop_assert!(
                    day == start.day() || (day < start.day() && last_day_of_month(line.due_date)),
                    "{} from {}", line.due_date, start
                );
            }
        }
        let total: i64 = s.iter().map(|l| l.amount).sum();
        prop_assert_eq!(total, i64::from(term) * price);
    }

    #[test]
    fn an_extension_is_the_tail_of_the_longer_schedule(
        start in date(),
        unit in unit(),
        term in 1_i32..=260,
        extra in 0_i32..=260,
    ) {
        let t = terms(unit, 4_999, BuyoutRule::None);
        let mut joined = schedule(start, &t, term);
        joined.extend(extension(start, &t, term, extra));
        prop_assert_eq!(joined, schedule(start, &t, term + extra));
    }

    #[test]
    fn due_dates_never_panic(start in date(), unit in unit(), index in any::<u32>()) {
        let _ = due_date(start, unit, index);
        let _ = due_date(NaiveDate::MAX, unit, index);
    }

    #[test]
    fn a_share_never_overflows_and_stays_between_zero_and_the_amount(
        amount in any::<i64>(),
        bps in 0_i64..=10_000,
    ) {
        let part = share(amount, bps);
        if amount >= 0 {
            prop_assert!((0..=amount).contains(&part), "{part}");
        } else {
            prop_assert!((amount..=0).contains(&part), "{part}");
        }
        prop_assert_eq!(share(amount, 10_000), amount);
        prop_assert_eq!(share(amount, 0), 0);
    }

    #[test]
    fn a_buyout_is_never_negative_nor_above_the_cash_price(
        buyout in buyout(),
        cash in 0_i64..=i64::MAX / 2,
        paid in 0_i64..=i64::MAX / 2,
        remaining in 0_i64..=i64::MAX / 2,
    ) {
        let t = terms(TermUnit::Month, 5_000, buyout);
        let price = buyout_price(&t, cash, paid, remaining);
        match buyout {
            BuyoutRule::None => prop_assert_eq!(price, None),
            BuyoutRule::CashPriceMinusRent { .. } => {
                let p = price.unwrap();
                prop_assert!((0..=cash).contains(&p), "{p}");
            }
            BuyoutRule::RemainingShare { .. } => {
                let p = price.unwrap();
                prop_assert!((0..=remaining).contains(&p), "{p}");
            }
        }
        let fixed = RentalTerms { kind: RentalKind::FixedTerm, ..t };
        prop_assert_eq!(buyout_price(&fixed, cash, paid, remaining), None);
    }

    #[test]
    fn a_buyout_is_never_negative_for_any_input(
        buyout in buyout(),
        cash in any::<i64>(),
        paid in any::<i64>(),
        remaining in any::<i64>(),
    ) {
        let t = terms(TermUnit::Month, 5_000, buyout);
        prop_assert!(buyout_price(&t, cash, paid, remaining).is_none_or(|p| p >= 0));
    }

    #[test]
    fn no_late_fee_on_or_before_the_grace_days_then_exactly_one_amount(
        due in date(),
        grace in 0_i32..=60,
        early in -400_i64..=0,
        late in 1_i64..=400,
        amount in 1_i64..=10_000_000,
        fee in 1_i64..=1_000_000,
        bps in 1_i64..=10_000,
    ) {
        let last_free = due + chrono::Duration::days(i64::from(grace));
        let fixed = LateFeeRule::Fixed { amount: fee, grace_days: grace };
        let percent = LateFeeRule::Percent { bps, grace_days: grace };
        for rule in [fixed, percent, LateFeeRule::None] {
            prop_assert_eq!(
                late_fee(rule, amount, due, last_free + chrono::Duration::days(early)),
                None
            );
        }
        let after = last_free + chrono::Duration::days(late);
        prop_assert_eq!(late_fee(fixed, amount, due, after), Some(fee));
        let expected = share(amount, bps);
        prop_assert_eq!(
            late_fee(percent, amount, due, after),
            (expected > 0).then_some(expected)
        );
        prop_assert_eq!(late_fee(LateFeeRule::None, amount, due, after), None);
    }
}
