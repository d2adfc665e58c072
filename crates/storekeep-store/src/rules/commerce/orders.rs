//! Order status moves: which are allowed, what each does to stock, how it
//! is audited, and the refusals users see.

use serde_json::json;
use storekeep_domain::{OrderId, OrderStatus};

use crate::commerce::TransitionActor;
use crate::rules::commerce::{Audited, order_subject};
use crate::{StoreError, StoreResult};

/// Who cancels unpaid orders whose payment window closed.
pub const EXPIRY: TransitionActor<'static> = TransitionActor {
    actor: "system",
    reason: Some("payment timeout"),
    audit: None,
};

/// The refusal of a move to `to` from a status not among
/// `OrderStatus::sources(to)`.
pub fn illegal_move(to: OrderStatus) -> StoreError {
    StoreError::Invalid(match to {
        OrderStatus::Paid => "only an order awaiting payment can be paid",
        OrderStatus::Fulfilled => "only a paid order can be fulfilled",
        OrderStatus::Delivered => "only a fulfilled order can be delivered",
        OrderStatus::Cancelled => "only an order awaiting payment can be cancelled",
        OrderStatus::Refunded => "an order is refunded by refunding its total",
        OrderStatus::PendingPayment => "an order cannot go back to awaiting payment",
    })
}

/// Whether staff, a provider or the expiry sweep may move an order from
/// `from` to `to`. Nothing moves an order to `refunded` but a refund of
/// its whole total (`refunds`), nor back to awaiting payment.
pub fn check_move(from: OrderStatus, to: OrderStatus) -> StoreResult<()> {
    if to == OrderStatus::Refunded || !from.can_move_to(to) {
        return Err(illegal_move(to));
    }
    Ok(())
}

/// A move is a conditional update on the status read; `false` means the
/// order was no longer in it (someone else moved it first).
pub fn require_moved(moved: bool, to: OrderStatus) -> StoreResult<()> {
    if moved { Ok(()) } else { Err(illegal_move(to)) }
}

/// What a move does to the stock held for the order's lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StockEffect {
    /// Nothing changes.
    None,
    /// Payment: the reservation becomes a sale (`on_hand -= q,
    /// reserved -= q`, with a ledger entry); available stock is unchanged.
    Sell,
    /// Cancelling (or expiring) an unpaid order: the reservation is
    /// released (`reserved -= q`) and the deals' usage given back.
    Release,
}

pub fn stock_effect(to: OrderStatus) -> StockEffect {
    match to {
        OrderStatus::Paid => StockEffect::Sell,
        OrderStatus::Cancelled => StockEffect::Release,
        OrderStatus::PendingPayment
        | OrderStatus::Fulfilled
        | OrderStatus::Delivered
        | OrderStatus::Refunded => StockEffect::None,
    }
}

/// The inventory ledger's reason for a paid order's units.
pub fn sale_reason(order: OrderId) -> String {
    format!("order {order} paid")
}

/// The audit entry of a staff move (`order.paid`, `order.fulfilled`, …).
pub fn move_audit(
    order: OrderId,
    from: OrderStatus,
    to: OrderStatus,
    reason: Option<&str>,
) -> Audited {
    Audited {
        action: format!("order.{}", to.as_str()),
        target: order_subject(order),
        before: Some(json!({ "status": from.as_str() })),
        after: Some(json!({ "status": to.as_str(), "reason": reason })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_allowed_move_passes_and_no_other_does() {
        for from in OrderStatus::ALL {
            for to in OrderStatus::ALL {
                let allowed = from.can_move_to(to) && to != OrderStatus::Refunded;
                assert_eq!(check_move(from, to).is_ok(), allowed, "{from:?} → {to:?}");
            }
        }
        assert!(matches!(
            require_moved(false, OrderStatus::Paid),
            Err(StoreError::Invalid(
                "only an order awaiting payment can be paid"
            ))
        ));
    }

    #[test]
    fn only_payment_and_cancellation_touch_stock() {
        assert_eq!(stock_effect(OrderStatus::Paid), StockEffect::Sell);
        assert_eq!(stock_effect(OrderStatus::Cancelled), StockEffect::Release);
        assert_eq!(stock_effect(OrderStatus::Refunded), StockEffect::None);
    }
}
