//! Refund and restock limits: how much may be refunded, how many units
//! each line may put back, when a refund completes the order.

use std::collections::{BTreeMap, HashMap};

use serde_json::json;
use storekeep_domain::{NewRefund, OrderId, OrderLineId, OrderStatus, VariantId};

use crate::commerce::TransitionActor;
use crate::rules::commerce::{Audited, order_subject};
use crate::{StoreError, StoreResult};

pub const NOT_REFUNDABLE: &str = "only paid, fulfilled or delivered orders can be refunded";
pub const AMOUNT_OUT_OF_RANGE: &str =
    "the refund must be at least 1 and at most what is left unrefunded";
pub const RESTOCK_NEEDS_A_UNIT: &str = "a restock needs at least one unit";
pub const RESTOCK_TOO_MANY: &str = "a line cannot restock more units than it has left to restock";
/// The audit action of a refund.
pub const AUDIT_ACTION: &str = "order.refund";

/// Checks a refund of `amount` on an order in `status` with `total` and
/// `refunded` so far. Returns whether it refunds what was left, which
/// moves the order to `refunded`.
pub fn check_refund(
    status: OrderStatus,
    total: i64,
    refunded: i64,
    amount: i64,
) -> StoreResult<bool> {
    if !status.can_move_to(OrderStatus::Refunded) {
        return Err(StoreError::Invalid(NOT_REFUNDABLE));
    }
    let left = total - refunded;
    if amount < 1 || amount > left {
        return Err(StoreError::Invalid(AMOUNT_OUT_OF_RANGE));
    }
    Ok(amount == left)
}

/// An order line as a restock sees it.
#[derive(Debug, Clone, Copy)]
pub struct SoldLine {
    pub variant_id: VariantId,
    pub quantity: i64,
    pub restocked: i64,
}

/// The units a refund puts back, per line and per variant (each in id
/// order, the order stock is locked in).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Restock {
    pub lines: BTreeMap<OrderLineId, i64>,
    pub variants: BTreeMap<VariantId, i64>,
}

/// Checks the refund's restock against the order's `lines`: every line is
/// the order's (`UnknownReference { field: "restock" }`) and restocks at
/// least one unit, and no line puts back more than it has left to.
pub fn plan_restock(
    lines: &HashMap<OrderLineId, SoldLine>,
    refund: &NewRefund,
) -> StoreResult<Restock> {
    let mut plan = Restock::default();
    for r in &refund.restock {
        if !lines.contains_key(&r.line_id) {
            return Err(StoreError::UnknownReference { field: "restock" });
        }
        if r.quantity < 1 {
            return Err(StoreError::Invalid(RESTOCK_NEEDS_A_UNIT));
        }
        *plan.lines.entry(r.line_id).or_default() += r.quantity;
    }
    for (line, &units) in &plan.lines {
        let sold = lines[line];
        if units > sold.quantity - sold.restocked {
            return Err(StoreError::Invalid(RESTOCK_TOO_MANY));
        }
        *plan.variants.entry(sold.variant_id).or_default() += units;
    }
    Ok(plan)
}

/// The inventory ledger's reason for units a refund puts back.
pub fn restock_reason(order: OrderId) -> String {
    format!("order {order} refund")
}

/// Who moves a fully refunded order to `refunded`, and why: the refund's
/// own reason first. Not audited: the refund's audit entry covers it.
pub fn completing_move<'a>(refund: &'a NewRefund, by: &TransitionActor<'a>) -> TransitionActor<'a> {
    TransitionActor {
        actor: by.actor,
        reason: refund.reason.as_deref().or(by.reason),
        audit: None,
    }
}

/// The audit entry of a refund of an order that was in `status` with
/// `refunded` so far.
pub fn refund_audit(
    order: OrderId,
    status: OrderStatus,
    refunded: i64,
    refund: &NewRefund,
) -> Audited {
    Audited {
        action: AUDIT_ACTION.to_owned(),
        target: order_subject(order),
        before: Some(json!({ "status": status.as_str(), "refunded": refunded })),
        after: Some(json!({
            "refunded": refunded + refund.amount, "refund_id": refund.id,
            "amount": refund.amount, "reason": refund.reason, "restock": refund.restock,
        })),
    }
}

#[cfg(test)]
mod tests {
    use storekeep_domain::{RefundId, RestockLine};

    use super::*;

    fn refund(restock: Vec<RestockLine>) -> NewRefund {
        NewRefund {
            id: RefundId::new(),
            amount: 1,
            reason: None,
            restock,
        }
    }

    #[test]
    fn a_refund_is_between_one_and_what_is_left_on_a_paid_order() {
        assert!(!check_refund(OrderStatus::Paid, 100, 0, 40).unwrap());
        assert!(check_refund(OrderStatus::Delivered, 100, 60, 40).unwrap());
        for (status, amount) in [
            (OrderStatus::Paid, 0),
            (OrderStatus::Paid, 41),
            (OrderStatus::PendingPayment, 10),
            (OrderStatus::Refunded, 10),
        ] {
            assert!(
                check_refund(status, 100, 60, amount).is_err(),
                "{status:?} {amount}"
            );
        }
    }

    #[test]
    fn restocks_add_up_per_line_and_stay_within_what_is_left() {
        let (line, other) = (OrderLineId::new(), OrderLineId::new());
        let variant = VariantId::new();
        let lines = HashMap::from([(
            line,
            SoldLine {
                variant_id: variant,
                quantity: 5,
                restocked: 2,
            },
        )]);
        let back = |quantity| RestockLine {
            line_id: line,
            quantity,
        };
        let plan = plan_restock(&lines, &refund(vec![back(1), back(2)])).unwrap();
        assert_eq!(plan.lines[&line], 3);
        assert_eq!(plan.variants[&variant], 3);
        assert!(matches!(
            plan_restock(&lines, &refund(vec![back(2), back(2)])),
            Err(StoreError::Invalid(RESTOCK_TOO_MANY))
        ));
        assert!(matches!(
            plan_restock(&lines, &refund(vec![back(0)])),
            Err(StoreError::Invalid(RESTOCK_NEEDS_A_UNIT))
        ));
        let unknown = RestockLine {
            line_id: other,
            quantity: 1,
        };
        assert!(matches!(
            plan_restock(&lines, &refund(vec![unknown])),
            Err(StoreError::UnknownReference { field: "restock" })
        ));
    }
}
