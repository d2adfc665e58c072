//! What the console's first screen ("needs attention") reads: the shop's
//! work waiting now.
//!
//! Every figure is *bounded*: it is one page of at most [`CAP`] + 1 rows
//! read through the same keyset listing (an index range) the console's
//! lists use, never a `COUNT(*)` over a table, so the screen costs the
//! same on a shop of ten orders and of a million. Past [`CAP`] the screen
//! says "50+", and the link opens the list itself.

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};
use storekeep_domain::{
    ContractFilter, ContractStatus, CurrencySales, JobFilter, JobState, OrderStatus, PageRequest,
    Tenant, UnitStatus,
};
use storekeep_store::rentals::RentalUnitFilter;

use crate::services::{ServiceResult, Services};

/// The most a figure counts exactly.
pub const CAP: u32 = 50;

/// A count read as one bounded page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounded {
    /// Rows seen, at most [`CAP`].
    pub n: u32,
    /// More than [`CAP`] exist.
    pub more: bool,
}

impl Bounded {
    fn of(len: usize, has_next: bool) -> Self {
        let len = u32::try_from(len).unwrap_or(u32::MAX);
        Self {
            n: len.min(CAP),
            more: len > CAP || has_next,
        }
    }

    pub fn is_zero(self) -> bool {
        self.n == 0 && !self.more
    }
}

impl std::fmt::Display for Bounded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.more {
            write!(f, "{}+", self.n)
        } else {
            write!(f, "{}", self.n)
        }
    }
}

/// The shop's waiting work.
#[derive(Debug, Clone)]
pub struct Attention {
    /// Paid orders not yet fulfilled.
    pub to_fulfil: Bounded,
    /// Orders waiting for their payment.
    pub awaiting_payment: Bounded,
    /// Money a processor confirmed for an order no longer awaiting it, not
    /// yet marked resolved.
    pub unmatched_payments: Bounded,
    /// Variants with at most
    /// [`LOW_STOCK_UNITS`](storekeep_store::rules::catalog::LOW_STOCK_UNITS)
    /// units available.
    pub low_stock: Bounded,
    /// Rental contracts behind on an installment.
    pub overdue_rentals: Bounded,
    /// Returned rental units waiting for their inspection.
    pub to_inspect: Bounded,
    /// The shop's emails and webhooks that gave up (dead-lettered jobs).
    pub dead_jobs: Bounded,
    /// Today so far (the shop's calendar day, in its time zone), and the
    /// same span of the same weekday a week before.
    pub today: Vec<CurrencySales>,
    pub week_ago: Vec<CurrencySales>,
}

/// The start of the shop's calendar day holding `now`, in UTC.
pub fn start_of_day(now: DateTime<Utc>, time_zone: &str) -> DateTime<Utc> {
    let zone: chrono_tz::Tz = time_zone.parse().unwrap_or(chrono_tz::UTC);
    let local = now.with_timezone(&zone).date_naive();
    // A zone whose midnight is skipped (a DST jump at 00:00) starts the day
    // at its first existing instant.
    (0..=120)
        .find_map(|m| {
            zone.from_local_datetime(&(local.and_time(NaiveTime::MIN) + Duration::minutes(m)))
                .earliest()
        })
        .map_or(now, |t| t.with_timezone(&Utc))
}

fn first_page() -> PageRequest {
    PageRequest {
        limit: CAP + 1,
        after: None,
    }
}

/// Reads the shop's [`Attention`] figures.
pub async fn attention(svc: &Services, tenant: &Tenant) -> ServiceResult<Attention> {
    let store = svc.store.as_ref();
    let cap = i64::from(CAP) + 1;
    let to_fulfil = store
        .count_orders_upto(tenant.id, OrderStatus::Paid, cap)
        .await?;
    let awaiting = store
        .count_orders_upto(tenant.id, OrderStatus::PendingPayment, cap)
        .await?;
    let unmatched = store.count_unmatched_payments_upto(tenant.id, cap).await?;
    let low = store.count_low_stock_upto(tenant.id, cap).await?;
    let overdue = store
        .list_contracts(
            tenant.id,
            &ContractFilter {
                status: Some(ContractStatus::Overdue),
                customer_id: None,
            },
            &first_page(),
        )
        .await?;
    let inspect = store
        .list_rental_units(
            tenant.id,
            &RentalUnitFilter {
                status: Some(UnitStatus::Inspection),
                ..RentalUnitFilter::default()
            },
            &first_page(),
        )
        .await?;
    let dead = store
        .list_jobs(
            Some(tenant.id),
            &JobFilter {
                state: Some(JobState::Dead),
                tenant: Some(tenant.id),
                ..JobFilter::default()
            },
            &first_page(),
        )
        .await?;
    let now = storekeep_store::now();
    let from = start_of_day(now, &tenant.settings.time_zone);
    let week = Duration::days(7);
    let today = store.order_sales(tenant.id, from, now).await?;
    let week_ago = store
        .order_sales(tenant.id, from - week, now - week)
        .await?;
    Ok(Attention {
        to_fulfil: Bounded::of(usize::try_from(to_fulfil).unwrap_or(0), false),
        awaiting_payment: Bounded::of(usize::try_from(awaiting).unwrap_or(0), false),
        unmatched_payments: Bounded::of(usize::try_from(unmatched).unwrap_or(0), false),
        low_stock: Bounded::of(usize::try_from(low).unwrap_or(0), false),
        overdue_rentals: Bounded::of(overdue.items.len(), overdue.next_cursor.is_some()),
        to_inspect: Bounded::of(inspect.items.len(), inspect.next_cursor.is_some()),
        dead_jobs: Bounded::of(dead.items.len(), dead.next_cursor.is_some()),
        today,
        week_ago,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shops_day_starts_at_its_own_midnight() {
        let now = "2026-11-28T02:30:00Z".parse::<DateTime<Utc>>().unwrap();
        assert_eq!(
            start_of_day(now, "UTC").to_rfc3339(),
            "2026-11-28T00:00:00+00:00"
        );
        // Berlin (UTC+1 in November): the 28th began at 23:00 UTC on the 27th.
        assert_eq!(
            start_of_day(now, "Europe/Berlin").to_rfc3339(),
            "2026-11-27T23:00:00+00:00"
        );
        // Los Angeles (UTC-8): still the 27th there, begun at 08:00 UTC.
        assert_eq!(
            start_of_day(now, "America/Los_Angeles").to_rfc3339(),
            "2026-11-27T08:00:00+00:00"
        );
        assert_eq!(start_of_day(now, "Not/AZone"), start_of_day(now, "UTC"));
    }

    #[test]
    fn a_bounded_count_says_plus_past_its_cap() {
        assert_eq!(Bounded::of(0, false).to_string(), "0");
        assert!(Bounded::of(0, false).is_zero());
        assert_eq!(Bounded::of(7, false).to_string(), "7");
        assert_eq!(Bounded::of(50, false).to_string(), "50");
        assert_eq!(Bounded::of(51, false).to_string(), "50+");
        assert_eq!(Bounded::of(50, true).to_string(), "50+");
        assert!(!Bounded::of(0, true).is_zero());
    }
}
