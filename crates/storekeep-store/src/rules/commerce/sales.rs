//! What the shop's sales figures count (the console's "today's orders and
//! revenue"): every order but a cancelled one, and as revenue the total of
//! the paid ones (paid, fulfilled, delivered or refunded) less what was
//! refunded, each order in the quarter hour it was placed in.
//!
//! The store keeps these figures in `order_sales_slots`, maintained by
//! database triggers on `orders` (migration `20261128000090_order_sales` in
//! both backends), so that no write path can skip them. The triggers spell
//! this rule in SQL; the store contract test
//! `sales_counters_agree_with_a_recount_of_the_orders_by_the_rule` checks
//! both backends' counters against [`recount`] after a mixed history.

use std::collections::BTreeMap;

use storekeep_domain::{CurrencySales, Order, OrderStatus};

/// The counters' unit of time: a quarter hour (every time zone's day
/// begins on one), in seconds since the epoch.
pub const SLOT_SECONDS: i64 = 900;

/// Whether an order in `status` counts among the orders sold.
pub fn counts(status: OrderStatus) -> bool {
    status != OrderStatus::Cancelled
}

/// What an order in `status` adds to the revenue.
pub fn revenue(status: OrderStatus, total: i64, refunded: i64) -> i64 {
    match status {
        OrderStatus::Paid
        | OrderStatus::Fulfilled
        | OrderStatus::Delivered
        | OrderStatus::Refunded => total - refunded,
        OrderStatus::PendingPayment | OrderStatus::Cancelled => 0,
    }
}

/// The first second of the quarter hour `at` (seconds since the epoch)
/// falls in.
pub fn slot_of(at: i64) -> i64 {
    at.div_euclid(SLOT_SECONDS) * SLOT_SECONDS
}

/// The figures of `orders` per currency, by the rule above, leaving out
/// currencies with no order counted and no revenue (as the store does),
/// sorted by currency.
pub fn recount<'a>(orders: impl IntoIterator<Item = &'a Order>) -> Vec<CurrencySales> {
    let mut by_currency: BTreeMap<&str, (i64, i64)> = BTreeMap::new();
    for o in orders {
        let entry = by_currency.entry(&o.currency).or_default();
        entry.0 += i64::from(counts(o.status));
        entry.1 += revenue(o.status, o.total, o.refunded);
    }
    by_currency
        .into_iter()
        .filter(|(_, (orders, revenue))| *orders != 0 || *revenue != 0)
        .map(|(currency, (orders, revenue))| CurrencySales {
            currency: currency.to_owned(),
            orders,
            revenue,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cancelled_orders_are_not_counted_and_only_paid_ones_earn() {
        assert!(!counts(OrderStatus::Cancelled));
        assert!(counts(OrderStatus::PendingPayment) && counts(OrderStatus::Refunded));
        assert_eq!(revenue(OrderStatus::PendingPayment, 1000, 0), 0);
        assert_eq!(revenue(OrderStatus::Delivered, 1000, 300), 700);
        assert_eq!(revenue(OrderStatus::Refunded, 1000, 1000), 0);
        assert_eq!(revenue(OrderStatus::Cancelled, 1000, 0), 0);
    }

    #[test]
    fn slots_are_quarter_hours_before_and_after_the_epoch() {
        assert_eq!(slot_of(0), 0);
        assert_eq!(slot_of(899), 0);
        assert_eq!(slot_of(900), 900);
        assert_eq!(slot_of(-1), -900);
    }
}
