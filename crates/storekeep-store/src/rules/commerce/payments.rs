//! Payment attempts and what settling one does to its order.

use chrono::{DateTime, Utc};
use storekeep_domain::{NewPayment, OrderId, OrderStatus, Payment, PaymentOutcome, PaymentStatus};

use crate::{StoreError, StoreResult};

pub const NOT_AWAITING_PAYMENT: &str = "only an order awaiting payment can take a payment";
/// Two attempts in flight could both be collected.
pub const ATTEMPT_PENDING: &str =
    "a payment attempt for this order is still pending; wait for its outcome";

/// Only an order awaiting payment takes a new payment attempt.
pub fn check_payable(status: OrderStatus) -> StoreResult<()> {
    if status != OrderStatus::PendingPayment {
        return Err(StoreError::Invalid(NOT_AWAITING_PAYMENT));
    }
    Ok(())
}

/// An order takes a new attempt only once no earlier one is pending.
pub fn check_no_attempt_pending(pending: bool) -> StoreResult<()> {
    if pending {
        return Err(StoreError::Invalid(ATTEMPT_PENDING));
    }
    Ok(())
}

/// A new attempt as stored at `at`.
pub fn pending_payment(order: OrderId, p: &NewPayment, at: DateTime<Utc>) -> Payment {
    Payment {
        id: p.id,
        order_id: order,
        provider: p.provider.clone(),
        reference: p.reference.clone(),
        status: PaymentStatus::Pending,
        amount: p.amount,
        created_at: at,
        updated_at: at,
    }
}

/// The status a pending payment settles to.
pub fn settled(outcome: PaymentOutcome) -> PaymentStatus {
    match outcome {
        PaymentOutcome::Confirmed => PaymentStatus::Confirmed,
        PaymentOutcome::Declined => PaymentStatus::Declined,
    }
}

/// What a settled payment does to its order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settles {
    /// Declined: the order keeps waiting (another attempt may follow).
    Nothing,
    /// Confirmed for an order awaiting payment: the order is paid.
    PayOrder,
    /// Confirmed for an order no longer awaiting payment (cancelled or
    /// paid meanwhile): recorded, and `payment.unmatched` tells staff.
    Unmatched,
}

pub fn settles(payment: PaymentStatus, order: OrderStatus) -> Settles {
    match (payment, order) {
        (PaymentStatus::Confirmed, OrderStatus::PendingPayment) => Settles::PayOrder,
        (PaymentStatus::Confirmed, _) => Settles::Unmatched,
        _ => Settles::Nothing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_confirmation_pays_only_an_order_awaiting_payment() {
        let confirmed = settled(PaymentOutcome::Confirmed);
        assert_eq!(
            settles(confirmed, OrderStatus::PendingPayment),
            Settles::PayOrder
        );
        assert_eq!(
            settles(confirmed, OrderStatus::Cancelled),
            Settles::Unmatched
        );
        let declined = settled(PaymentOutcome::Declined);
        assert_eq!(
            settles(declined, OrderStatus::PendingPayment),
            Settles::Nothing
        );
        assert!(check_payable(OrderStatus::Paid).is_err());
        assert!(check_no_attempt_pending(true).is_err());
        assert!(check_no_attempt_pending(false).is_ok());
    }
}
