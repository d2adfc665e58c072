//! Checkout: what refuses it and what it creates.
//!
//! Both backends claim an order's stock line by line in variant-id order
//! and its deals in deal-id order (PostgreSQL's lock order), try every
//! line so a refusal names them all, and refuse a changed price before a
//! shortage: a changed price makes the whole quote stale.

use std::collections::BTreeMap;

use chrono::{DateTime, SubsecRound, Utc};
use storekeep_domain::{
    CheckoutOutcome, DealId, NewOrder, Order, OrderDetail, OrderLine, OrderLineId, OrderStatus,
    OrderTransition, ProductId, Quote, QuotedLine, Shortage, TenantId, VariantId,
};

use crate::rules::commerce::payments::pending_payment;
use crate::{StoreError, StoreResult};

/// The idempotency-key scope of checkouts.
pub const SCOPE: &str = "checkout";
pub const CART_EMPTY: &str = "the cart is empty";
pub const LINE_WITHOUT_UNITS: &str = "every line needs at least one unit";

/// Whether an idempotency key stored with `stored_hash` is this request
/// again (`Replayed`); otherwise the key was reused (`KeyReused`).
pub fn replays(stored_hash: &str, order: &NewOrder) -> bool {
    stored_hash == order.request_hash
}

/// The lines a checkout with a new key must have. Checked only once the
/// key is known to be new: a replay answers even if its cart has since
/// emptied.
pub fn check_lines(lines: &[QuotedLine]) -> StoreResult<()> {
    if lines.is_empty() {
        return Err(StoreError::Invalid(CART_EMPTY));
    }
    if lines.iter().any(|l| l.quantity < 1) {
        return Err(StoreError::Invalid(LINE_WITHOUT_UNITS));
    }
    Ok(())
}

/// The quote's lines (their indexes) in the order their stock is
/// reserved: by variant id.
pub fn reservation_order(lines: &[QuotedLine]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..lines.len()).collect();
    order.sort_by_key(|&i| lines[i].variant_id);
    order
}

/// The deals an order claims, each once with all its units, by deal id.
pub fn deal_claims(quote: &Quote) -> Vec<(DealId, i64)> {
    let mut claims: Vec<(DealId, i64)> = Vec::with_capacity(quote.deals.len());
    for deal in &quote.deals {
        match claims.iter_mut().find(|(d, _)| *d == deal.deal_id) {
            Some((_, units)) => *units += deal.units,
            None => claims.push((deal.deal_id, deal.units)),
        }
    }
    claims.sort_by_key(|&(deal, _)| deal);
    claims
}

/// The lines whose stock could not be reserved, and what refuses the
/// checkout because of them.
#[derive(Debug, Default)]
pub struct Misses {
    repriced: Vec<VariantId>,
    short: Vec<Shortage>,
}

impl Misses {
    /// Records a line whose reservation failed; `current` is its variant's
    /// `(price, on_hand - reserved)` now, `None` if it is gone.
    pub fn add(&mut self, line: &QuotedLine, current: Option<(i64, i64)>) {
        match current {
            Some((price, _)) if price != line.unit_price => self.repriced.push(line.variant_id),
            current => self.short.push(Shortage {
                variant_id: line.variant_id,
                sku: line.sku.clone(),
                requested: line.quantity,
                available: current.map_or(0, |(_, available)| available.max(0)),
            }),
        }
    }

    /// The refusal, if any line missed: `PriceChanged` before
    /// `ShortOfStock` (the shopper re-prices first, then sees any
    /// shortage).
    pub fn refusal(self) -> Option<CheckoutOutcome> {
        if !self.repriced.is_empty() {
            Some(CheckoutOutcome::PriceChanged(self.repriced))
        } else if !self.short.is_empty() {
            Some(CheckoutOutcome::ShortOfStock(self.short))
        } else {
            None
        }
    }
}

/// An order line as created from its quoted line; `product` owns the
/// variant.
pub fn order_line(line: &QuotedLine, product: ProductId) -> OrderLine {
    OrderLine {
        id: OrderLineId::new(),
        variant_id: line.variant_id,
        product_id: product,
        sku: line.sku.clone(),
        title: line.title.clone(),
        quantity: line.quantity,
        unit_price: line.unit_price,
        discount: line.discount,
        total: line.total,
        deal_id: line.deal_id,
        restocked: 0,
    }
}

/// A variant as a batch of checkouts read it, under its product's lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StockSeen {
    pub tenant: TenantId,
    pub price: i64,
    /// `on_hand - reserved`.
    pub available: i64,
}

/// A checkout of a batch that does not fit: its position, and the
/// refusal its own lines give it against the stock read
/// ([`refused_alone`]), which the batch answers at once. `None`: it is
/// short only behind the checkouts before it, which may yet fail, so it
/// must run alone to learn its outcome.
pub type Miss = (usize, Option<CheckoutOutcome>);

/// Which checkouts of a batch fit, deciding in arrival order what
/// `RESERVE_STOCK` decides for one: a checkout fits if
/// [`refused_alone`] does not refuse it against what the checkouts
/// before it that fit left (each line's variant the checkout's shop's,
/// at the quoted price, with its units and those of its other lines of
/// it available). A checkout that does not fit takes nothing. Returns
/// the units to reserve per variant, by id, and the checkouts that do
/// not fit ([`Miss`]). `stock` answers what was read of a variant
/// (`None`: not read, gone).
pub fn fit_in_order<'a>(
    checkouts: impl IntoIterator<Item = (TenantId, &'a [QuotedLine])>,
    stock: impl Fn(VariantId) -> Option<StockSeen>,
) -> (BTreeMap<VariantId, i64>, Vec<Miss>) {
    let mut take: BTreeMap<VariantId, i64> = BTreeMap::new();
    let mut misses = Vec::new();
    for (i, (tenant, lines)) in checkouts.into_iter().enumerate() {
        // What is left of each variant after the checkouts before it.
        let left = |v| {
            stock(v).map(|s| StockSeen {
                available: s.available - take.get(&v).copied().unwrap_or(0),
                ..s
            })
        };
        if refused_alone(tenant, lines, left).is_some() {
            misses.push((i, refused_alone(tenant, lines, &stock)));
            continue;
        }
        for line in lines {
            *take.entry(line.variant_id).or_default() += line.quantity;
        }
    }
    (take, misses)
}

/// The refusal one checkout gets from its own lines against the stock
/// read, whatever other checkouts take: what [`Misses`] would say of it
/// reserved alone at that moment (its lines in variant order, each against
/// what its earlier lines of the variant left; a variant gone or another
/// shop's is short of all its units). `None`: it fits by itself. A batch
/// answers such a checkout at once, under the same locks its read was made
/// under, instead of setting it aside to run alone: alone it would only be
/// refused the same, holding its products' locks to learn it (a sold-out
/// product's queue of refusals).
pub fn refused_alone(
    tenant: TenantId,
    lines: &[QuotedLine],
    stock: impl Fn(VariantId) -> Option<StockSeen>,
) -> Option<CheckoutOutcome> {
    let mut left: BTreeMap<VariantId, i64> = BTreeMap::new();
    let mut misses = Misses::default();
    for i in reservation_order(lines) {
        let line = &lines[i];
        let Some(seen) = stock(line.variant_id).filter(|s| s.tenant == tenant) else {
            misses.add(line, None);
            continue;
        };
        let available = *left.entry(line.variant_id).or_insert(seen.available);
        if seen.price == line.unit_price && line.quantity <= available {
            left.insert(line.variant_id, available - line.quantity);
        } else {
            misses.add(line, Some((seen.price, available)));
        }
    }
    misses.refusal()
}

/// The order a checkout creates at `at`: awaiting payment, with its first
/// transition and its pending payment attempt. Times are kept at the
/// precision both databases store, so this equals a later read.
pub fn created_order(order: &NewOrder, lines: Vec<OrderLine>, at: DateTime<Utc>) -> OrderDetail {
    let q = &order.quote;
    OrderDetail {
        order: Order {
            id: order.id,
            cart_id: order.cart_id,
            customer_id: order.customer_id,
            status: OrderStatus::PendingPayment,
            currency: order.currency.clone(),
            subtotal: q.subtotal,
            discount: q.discount,
            shipping: q.shipping,
            tax: q.tax,
            total: q.total,
            refunded: 0,
            email_sealed: order.email_sealed.clone(),
            email_index: order.email_index.clone(),
            address_sealed: order.address_sealed.clone(),
            country: order.country.clone(),
            region: order.region.clone(),
            shipping_method: order.shipping_method.clone(),
            payment_provider: order.payment.provider.clone(),
            expires_at: Some(order.expires_at.trunc_subsecs(6)),
            created_at: at,
            updated_at: at,
            lines,
        },
        transitions: vec![OrderTransition {
            from: None,
            to: OrderStatus::PendingPayment,
            actor: order.actor.clone(),
            reason: None,
            at,
        }],
        payments: vec![pending_payment(order.id, &order.payment, at)],
        refunds: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use storekeep_domain::{AppliedDeal, ProductId};

    use super::*;

    #[test]
    fn a_batch_fits_in_arrival_order_and_a_checkout_that_does_not_takes_nothing() {
        let (shop, other) = (TenantId::new(), TenantId::new());
        let (a, b, gone) = (VariantId::new(), VariantId::new(), VariantId::new());
        let seen = |tenant, price, available| StockSeen {
            tenant,
            price,
            available,
        };
        let stock =
            std::collections::HashMap::from([(a, seen(shop, 100, 5)), (b, seen(shop, 200, 2))]);
        let checkouts = [
            (shop, vec![line(a, 100, 3)]),
            // 3 + 2 + 1 of `a` would be 6 of 5: its `b` line takes nothing.
            (
                shop,
                vec![line(b, 200, 1), line(a, 100, 2), line(a, 100, 1)],
            ),
            (shop, vec![line(a, 100, 2), line(b, 200, 2)]),
            (shop, vec![line(b, 150, 1)]),
            (other, vec![line(a, 100, 1)]),
            (shop, vec![line(gone, 100, 1)]),
            (shop, vec![line(b, 200, 1)]),
        ];

        let look = |v| stock.get(&v).copied();
        let (take, misses) = fit_in_order(
            checkouts.iter().map(|(t, lines)| (*t, lines.as_slice())),
            look,
        );

        let at: Vec<usize> = misses.iter().map(|(i, _)| *i).collect();
        assert_eq!(
            at,
            [1, 3, 4, 5, 6],
            "short, repriced, another shop's, gone, short"
        );
        // Refused by their own lines, answered by the batch: repriced,
        // another shop's, gone. Short only behind the others: run alone.
        let answered: Vec<usize> = misses
            .iter()
            .filter(|(_, refusal)| refusal.is_some())
            .map(|(i, _)| *i)
            .collect();
        assert_eq!(answered, [3, 4, 5]);
        assert_eq!(take, BTreeMap::from([(a, 5), (b, 2)]));
        let none: [(TenantId, &[QuotedLine]); 0] = [];
        let (take, misses) = fit_in_order(none, look);
        assert_eq!((take, misses.len()), (BTreeMap::new(), 0));
    }

    #[test]
    fn a_checkout_refused_by_its_own_lines_gets_the_refusal_it_would_get_alone() {
        let (shop, other) = (TenantId::new(), TenantId::new());
        let (a, b, c, gone) = (
            VariantId::new(),
            VariantId::new(),
            VariantId::new(),
            VariantId::new(),
        );
        let seen = |tenant, price, available| StockSeen {
            tenant,
            price,
            available,
        };
        let stock = std::collections::HashMap::from([
            (a, seen(shop, 100, 3)),
            (b, seen(shop, 200, 0)),
            (c, seen(other, 100, 9)),
        ]);
        let look = |v| stock.get(&v).copied();
        let short = |outcome: Option<CheckoutOutcome>| match outcome {
            Some(CheckoutOutcome::ShortOfStock(s)) => {
                let mut s: Vec<_> = s
                    .into_iter()
                    .map(|m| (m.variant_id, m.requested, m.available))
                    .collect();
                s.sort_unstable();
                s
            }
            other => panic!("expected a shortage, got {other:?}"),
        };

        assert!(refused_alone(shop, &[line(a, 100, 3)], look).is_none());
        // Its own two lines of `a`: 2, then 2 of the 1 left.
        assert_eq!(
            short(refused_alone(
                shop,
                &[line(a, 100, 2), line(a, 100, 2)],
                look
            )),
            vec![(a, 2, 1)]
        );
        // Sold out, gone, another shop's: every line named, short of all.
        let mut want = vec![(b, 1, 0), (gone, 1, 0), (c, 1, 0)];
        want.sort_unstable();
        assert_eq!(
            short(refused_alone(
                shop,
                &[line(b, 200, 1), line(gone, 100, 1), line(c, 100, 1)],
                look
            )),
            want
        );
        // A changed price refuses before a shortage.
        match refused_alone(shop, &[line(a, 90, 1), line(b, 200, 1)], look) {
            Some(CheckoutOutcome::PriceChanged(v)) => assert_eq!(v, vec![a]),
            other => panic!("expected a changed price, got {other:?}"),
        }
    }

    fn line(variant: VariantId, price: i64, quantity: i64) -> QuotedLine {
        QuotedLine {
            item_id: None,
            variant_id: variant,
            product_id: ProductId::new(),
            sku: "SKU".into(),
            title: "t".into(),
            quantity,
            unit_price: price,
            discount: 0,
            total: price * quantity,
            deal_id: None,
        }
    }

    #[test]
    fn a_changed_price_refuses_before_a_shortage() {
        let (a, b) = (VariantId::new(), VariantId::new());
        let mut misses = Misses::default();
        misses.add(&line(a, 100, 5), Some((100, 2)));
        assert!(Misses::default().refusal().is_none());
        misses.add(&line(b, 100, 1), Some((120, 9)));
        match misses.refusal() {
            Some(CheckoutOutcome::PriceChanged(v)) => assert_eq!(v, vec![b]),
            other => panic!("{other:?}"),
        }
        let mut misses = Misses::default();
        misses.add(&line(a, 100, 5), Some((100, -3)));
        misses.add(&line(b, 100, 1), None);
        match misses.refusal() {
            Some(CheckoutOutcome::ShortOfStock(s)) => {
                assert_eq!(
                    s.iter()
                        .map(|s| (s.variant_id, s.requested, s.available))
                        .collect::<Vec<_>>(),
                    vec![(a, 5, 0), (b, 1, 0)]
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn deals_are_claimed_once_each_in_id_order_and_lines_by_variant() {
        let (first, second) = (DealId::new(), DealId::new());
        let applied = |deal_id, units| AppliedDeal {
            deal_id,
            name: "d".into(),
            code: None,
            amount: 1,
            units,
        };
        let quote = Quote {
            lines: vec![],
            subtotal: 0,
            discount: 0,
            shipping: 0,
            tax: 0,
            total: 0,
            deals: vec![applied(second, 2), applied(first, 1), applied(second, 3)],
            notes: vec![],
        };
        assert_eq!(deal_claims(&quote), vec![(first, 1), (second, 5)]);
        let (a, b) = (VariantId::new(), VariantId::new());
        assert_eq!(
            reservation_order(&[line(b, 1, 1), line(a, 1, 1)]),
            vec![1, 0]
        );
        assert!(matches!(
            check_lines(&[]),
            Err(StoreError::Invalid(CART_EMPTY))
        ));
        assert!(matches!(
            check_lines(&[line(a, 1, 0)]),
            Err(StoreError::Invalid(LINE_WITHOUT_UNITS))
        ));
    }
}
