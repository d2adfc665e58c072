//! Rental arithmetic: schedules, deposits, late fees, buy-outs and the
//! disclosures rent-to-own laws ask for. Pure functions of a contract's
//! terms and dates, applied by both backends and by the services that
//! quote a cart; amounts are integer minor units, shares basis points,
//! rounded half up.

use chrono::{DateTime, Days, Months, NaiveDate, Utc};
use storekeep_domain::{
    BuyoutRule, DepositRule, FULL_SHARE_BPS, LateFeeRule, RentalKind, RentalTerms, TermUnit,
};

/// The calendar date `now` falls on in the shop's IANA time zone `tz`
/// (`Europe/Berlin`): due dates, reminders and late fees count the shop's
/// days. A zone this build does not know counts UTC days (settings are
/// checked on save, so only a zone dropped from the database gets here).
pub fn shop_today(now: DateTime<Utc>, tz: &str) -> NaiveDate {
    match tz.parse::<chrono_tz::Tz>() {
        Ok(zone) => now.with_timezone(&zone).date_naive(),
        Err(_) => now.date_naive(),
    }
}

/// `amount × bps / 10 000`, rounded half up, without overflow.
pub fn share(amount: i64, bps: i64) -> i64 {
    let scaled = i128::from(amount) * i128::from(bps);
    let full = i128::from(FULL_SHARE_BPS);
    let rounded = (scaled + full / 2).div_euclid(full);
    i64::try_from(rounded).unwrap_or(if rounded > 0 { i64::MAX } else { i64::MIN })
}

/// The due date of installment `index` (0 = the first, due on `start`).
/// Months count from the start date, not from the previous due date, so a
/// schedule starting on 31 January falls due on 28/29 February, then on
/// 31 March again. `None` past the calendar's end.
pub fn due_date(start: NaiveDate, unit: TermUnit, index: u32) -> Option<NaiveDate> {
    match unit {
        TermUnit::Month => start.checked_add_months(Months::new(index)),
        TermUnit::Week => start.checked_add_days(Days::new(u64::from(index) * 7)),
    }
}

/// One line of a generated schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduledInstallment {
    /// 1-based.
    pub seq: i32,
    pub due_date: NaiveDate,
    pub amount: i64,
}

/// The schedule of a contract of `term` periods starting on `start`: one
/// installment of the period's price per period, the first due at checkout.
pub fn schedule(start: NaiveDate, terms: &RentalTerms, term: i32) -> Vec<ScheduledInstallment> {
    (0..u32::try_from(term).unwrap_or(0))
        .map_while(|i| {
            Some(ScheduledInstallment {
                seq: i32::try_from(i).ok()? + 1,
                due_date: due_date(start, terms.term_unit, i)?,
                amount: terms.price_per_period,
            })
        })
        .collect()
}

/// The installments an extension of `extra` periods appends to a contract
/// of `current_term` periods that started on `start`: seq `current_term +
/// 1`…, due on the same anchor as the rest (`due_date(start, unit, seq -
/// 1)`, so a schedule anchored on the 31st stays on the 31st or the month's
/// last day). Empty for a negative count.
pub fn extension(
    start: NaiveDate,
    terms: &RentalTerms,
    current_term: i32,
    extra: i32,
) -> Vec<ScheduledInstallment> {
    let (Ok(first), Ok(extra)) = (u32::try_from(current_term), u32::try_from(extra)) else {
        return Vec::new();
    };
    (first..first.saturating_add(extra))
        .map_while(|i| {
            Some(ScheduledInstallment {
                seq: i32::try_from(i).ok()?.checked_add(1)?,
                due_date: due_date(start, terms.term_unit, i)?,
                amount: terms.price_per_period,
            })
        })
        .collect()
}

/// The deposit taken at checkout for goods whose cash price is `cash_price`.
pub fn deposit(rule: DepositRule, cash_price: i64) -> i64 {
    match rule {
        DepositRule::None => 0,
        DepositRule::Fixed { amount } => amount.max(0),
        DepositRule::Percent { bps } => share(cash_price, bps).max(0),
    }
}

/// The grace days of a late-fee rule (0 when there is no fee).
pub fn grace_days(rule: LateFeeRule) -> i32 {
    match rule {
        LateFeeRule::None => 0,
        LateFeeRule::Fixed { grace_days, .. } | LateFeeRule::Percent { grace_days, .. } => {
            grace_days
        }
    }
}

/// The fee due on an installment of `amount` due on `due` and still unpaid
/// on `today`: `None` before the grace days have passed or without a rule.
/// A contract charges it at most once per installment (the store's job).
pub fn late_fee(rule: LateFeeRule, amount: i64, due: NaiveDate, today: NaiveDate) -> Option<i64> {
    let fee = match rule {
        LateFeeRule::None => return None,
        LateFeeRule::Fixed { amount, .. } => amount,
        LateFeeRule::Percent { bps, .. } => share(amount, bps),
    };
    let days_late = today.signed_duration_since(due).num_days();
    (days_late > i64::from(grace_days(rule)) && fee > 0).then_some(fee)
}

/// Whether an installment due on `due`, unpaid on `today`, puts its
/// contract in default (`default_after_days` passed).
pub fn in_default(terms: &RentalTerms, due: NaiveDate, today: NaiveDate) -> bool {
    today.signed_duration_since(due).num_days() > i64::from(terms.default_after_days)
}

/// What buying the goods out costs now: `None` when the contract cannot be
/// bought out (fixed-term, or no buy-out rule). `rent_paid` is the sum of
/// installments paid, `remaining` the sum not yet paid. Never negative.
pub fn buyout_price(
    terms: &RentalTerms,
    cash_price: i64,
    rent_paid: i64,
    remaining: i64,
) -> Option<i64> {
    if terms.kind != RentalKind::RentToOwn {
        return None;
    }
    let price = match terms.buyout {
        BuyoutRule::None => return None,
        BuyoutRule::CashPriceMinusRent { bps } => cash_price.saturating_sub(share(rent_paid, bps)),
        BuyoutRule::RemainingShare { bps } => share(remaining, bps),
    };
    Some(price.max(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use storekeep_domain::Maintainer;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn terms() -> RentalTerms {
        RentalTerms {
            kind: RentalKind::RentToOwn,
            term_unit: TermUnit::Month,
            term: 12,
            min_term: 6,
            max_term: 24,
            price_per_period: 5_000,
            deposit: DepositRule::Percent { bps: 1_000 },
            late_fee: LateFeeRule::Fixed {
                amount: 1_500,
                grace_days: 5,
            },
            buyout: BuyoutRule::CashPriceMinusRent { bps: 5_000 },
            extension_allowed: true,
            maintainer: Maintainer::Shop,
            default_after_days: 30,
        }
    }

    fn utc(raw: &str) -> DateTime<Utc> {
        raw.parse().unwrap()
    }

    #[test]
    fn today_is_the_shops_calendar_day() {
        // Berlin leaves summer time at 01:00 UTC on 31 October 2027.
        assert_eq!(
            shop_today(utc("2027-10-30T21:59:59Z"), "Europe/Berlin"),
            d(2027, 10, 30),
            "23:59:59 CEST"
        );
        assert_eq!(
            shop_today(utc("2027-10-30T22:00:00Z"), "Europe/Berlin"),
            d(2027, 10, 31),
            "midnight CEST, one hour before the change"
        );
        assert_eq!(
            shop_today(utc("2027-10-31T22:59:59Z"), "Europe/Berlin"),
            d(2027, 10, 31),
            "23:59:59 CET, after the change"
        );
        assert_eq!(
            shop_today(utc("2027-10-31T23:00:00Z"), "Europe/Berlin"),
            d(2027, 11, 1)
        );
        // New York enters summer time at 07:00 UTC on 14 March 2027.
        assert_eq!(
            shop_today(utc("2027-03-14T03:59:59Z"), "America/New_York"),
            d(2027, 3, 13)
        );
        assert_eq!(
            shop_today(utc("2027-03-15T03:59:59Z"), "America/New_York"),
            d(2027, 3, 14)
        );
        assert_eq!(
            shop_today(utc("2027-03-15T04:00:00Z"), "America/New_York"),
            d(2027, 3, 15)
        );
    }

    #[test]
    fn today_differs_by_a_day_across_the_date_line() {
        let now = utc("2027-06-15T11:30:00Z");
        assert_eq!(
            shop_today(now, "Pacific/Kiritimati"),
            d(2027, 6, 16),
            "UTC+14"
        );
        assert_eq!(
            shop_today(now, "Pacific/Pago_Pago"),
            d(2027, 6, 15),
            "UTC-11"
        );
        assert_eq!(
            shop_today(now, "Pacific/Auckland"),
            d(2027, 6, 15),
            "UTC+12"
        );
        let later = utc("2027-06-15T12:30:00Z");
        assert_eq!(shop_today(later, "Pacific/Auckland"), d(2027, 6, 16));
        assert_eq!(shop_today(later, "Pacific/Pago_Pago"), d(2027, 6, 15));
    }

    #[test]
    fn an_unknown_zone_counts_utc_days() {
        let now = utc("2027-06-15T23:30:00Z");
        assert_eq!(shop_today(now, "Mars/Olympus"), d(2027, 6, 15));
        assert_eq!(shop_today(now, ""), d(2027, 6, 15));
        assert_eq!(shop_today(now, "UTC"), d(2027, 6, 15));
        assert_eq!(shop_today(now, "Asia/Tokyo"), d(2027, 6, 16));
    }

    #[test]
    fn months_are_counted_from_the_start_and_clamped_at_month_end() {
        let dates: Vec<_> = schedule(d(2027, 1, 31), &terms(), 4)
            .iter()
            .map(|i| i.due_date)
            .collect();
        assert_eq!(
            dates,
            [
                d(2027, 1, 31),
                d(2027, 2, 28),
                d(2027, 3, 31),
                d(2027, 4, 30)
            ]
        );
        let leap: Vec<_> = schedule(d(2028, 1, 31), &terms(), 2)
            .iter()
            .map(|i| i.due_date)
            .collect();
        assert_eq!(leap, [d(2028, 1, 31), d(2028, 2, 29)]);
    }

    #[test]
    fn an_extension_continues_the_anchor_through_february() {
        // Anchored on 31 January 2027 (not a leap year), 2 periods made.
        let s = extension(d(2027, 1, 31), &terms(), 2, 3);
        let got: Vec<_> = s.iter().map(|i| (i.seq, i.due_date, i.amount)).collect();
        assert_eq!(
            got,
            [
                (3, d(2027, 3, 31), 5_000),
                (4, d(2027, 4, 30), 5_000),
                (5, d(2027, 5, 31), 5_000)
            ]
        );
        // Anchored on 30 November 2027, extended into February 2028 (leap).
        let leap: Vec<_> = extension(d(2027, 11, 30), &terms(), 3, 2)
            .iter()
            .map(|i| (i.seq, i.due_date))
            .collect();
        assert_eq!(leap, [(4, d(2028, 2, 29)), (5, d(2028, 3, 30))]);
        // …and into February 2029 (not leap).
        let plain: Vec<_> = extension(d(2028, 11, 29), &terms(), 3, 1)
            .iter()
            .map(|i| (i.seq, i.due_date))
            .collect();
        assert_eq!(plain, [(4, d(2029, 2, 28))]);
        // The schedule and its extension together are the longer schedule.
        let mut joined = schedule(d(2028, 1, 31), &terms(), 4);
        joined.extend(extension(d(2028, 1, 31), &terms(), 4, 8));
        assert_eq!(joined, schedule(d(2028, 1, 31), &terms(), 12));
        assert!(extension(d(2028, 1, 31), &terms(), 4, 0).is_empty());
        assert!(extension(d(2028, 1, 31), &terms(), 4, -1).is_empty());
        assert!(extension(d(2028, 1, 31), &terms(), -1, 2).is_empty());
    }

    #[test]
    fn weeks_are_seven_days() {
        let weekly = RentalTerms {
            term_unit: TermUnit::Week,
            ..terms()
        };
        let s = schedule(d(2027, 12, 29), &weekly, 2);
        assert_eq!((s[1].seq, s[1].due_date), (2, d(2028, 1, 5)));
    }

    #[test]
    fn shares_round_half_up() {
        assert_eq!(share(1_005, 5_000), 503);
        assert_eq!(share(1, 4_999), 0);
        assert_eq!(deposit(DepositRule::Percent { bps: 1_000 }, 99_999), 10_000);
    }

    #[test]
    fn late_fees_wait_for_the_grace_days() {
        let rule = LateFeeRule::Percent {
            bps: 1_000,
            grace_days: 3,
        };
        assert_eq!(late_fee(rule, 5_000, d(2027, 3, 1), d(2027, 3, 4)), None);
        assert_eq!(
            late_fee(rule, 5_000, d(2027, 3, 1), d(2027, 3, 5)),
            Some(500)
        );
        assert_eq!(
            late_fee(LateFeeRule::None, 5_000, d(2027, 3, 1), d(2028, 1, 1)),
            None
        );
    }

    #[test]
    fn buyouts_are_never_negative_and_only_for_rent_to_own() {
        let t = terms();
        assert_eq!(buyout_price(&t, 60_000, 20_000, 40_000), Some(50_000));
        assert_eq!(buyout_price(&t, 5_000, 20_000, 40_000), Some(0));
        let remaining = RentalTerms {
            buyout: BuyoutRule::RemainingShare { bps: 6_000 },
            ..t.clone()
        };
        assert_eq!(
            buyout_price(&remaining, 60_000, 20_000, 40_000),
            Some(24_000)
        );
        let fixed = RentalTerms {
            kind: RentalKind::FixedTerm,
            ..t
        };
        assert_eq!(buyout_price(&fixed, 60_000, 0, 0), None);
    }
}
