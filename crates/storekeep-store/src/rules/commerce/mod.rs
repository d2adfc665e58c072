//! The rules of selling, one module per aggregate as in the backends'
//! `commerce/` folders: cart limits, what a checkout creates and what
//! refuses it, order status moves and their stock effects, refund and
//! restock limits, payment attempts and settlement, deal caps, and every
//! message a user can see. Both backends call these; none of them decides
//! a rule of its own.

pub mod carts;
pub mod checkout;
pub mod deals;
pub mod orders;
pub mod payments;
pub mod refunds;
pub mod sales;

use serde_json::Value;
use storekeep_domain::OrderId;

/// What an audited action writes to the shop's audit log (each backend's
/// `audit::append` adds the actor, the time and the hash chain).
#[derive(Debug, Clone, PartialEq)]
pub struct Audited {
    pub action: String,
    pub target: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// What an order's outbox events (its payments' and refunds' too) and its
/// audit entries are about.
pub fn order_subject(order: OrderId) -> String {
    format!("order:{order}")
}
