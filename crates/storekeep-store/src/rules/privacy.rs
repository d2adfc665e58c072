//! Customers' rights (issue 16): what an erasure leaves in place of a
//! customer's personal data, what stops one, which background jobs are
//! about the customer, and what the audit log records (never PII).
//! See docs/privacy.md.

use serde_json::Value;
use storekeep_domain::{OrderStatus, UserId};

/// Audit actions.
pub const CUSTOMER_ERASED: &str = "customer.erased";
pub const CUSTOMER_DATA_EXPORTED: &str = "customer.data_exported";

/// What `NotFound` names: a customer account of the shop (staff and
/// other shops' customers are not found).
pub const CUSTOMER: &str = "customer";

/// The start of an erased account's (or order's) `email_index`: not a
/// blind index of any address, so the address is free to sign up again
/// and look-ups by email find nothing.
pub const ERASED_INDEX_PREFIX: &str = "erased:";

/// The domain of the placeholder address an erasure leaves (`.invalid`
/// is reserved and never routable, RFC 2606).
pub const ERASED_EMAIL_DOMAIN: &str = "erased.invalid";

/// What an erased account's password hash becomes: no PHC string, so no
/// password ever verifies against it.
pub const ERASED_PASSWORD_HASH: &str = "!erased";

/// The `email_index` of erased account or order `id`.
pub fn erased_index(id: uuid::Uuid) -> String {
    format!("{ERASED_INDEX_PREFIX}{id}")
}

/// Whether an `email_index` is an erasure's.
pub fn is_erased_index(index: &str) -> bool {
    index.starts_with(ERASED_INDEX_PREFIX)
}

/// The placeholder address an erasure leaves for `customer` (sealed like
/// any address, so every reader opens it as before).
pub fn erased_email(customer: UserId) -> String {
    format!("erased+{customer}@{ERASED_EMAIL_DOMAIN}")
}

/// Whether `email` is an erasure's placeholder (mail to it is never
/// sent).
pub fn is_erased_email(email: &str) -> bool {
    email
        .rsplit_once('@')
        .is_some_and(|(_, domain)| domain.eq_ignore_ascii_case(ERASED_EMAIL_DOMAIN))
}

/// Whether an order still needs its customer's address: unpaid (the
/// customer may still pay) or paid and not yet shipped.
pub fn order_is_open(status: OrderStatus) -> bool {
    matches!(status, OrderStatus::PendingPayment | OrderStatus::Paid)
}

/// Whether a rental contract (by stored status) still binds the customer:
/// goods out, installments due, or a default being pursued.
pub fn contract_is_open(status: &str) -> bool {
    matches!(status, "active" | "overdue" | "defaulted")
}

/// The message of an erasure refused for open obligations.
pub const OPEN_OBLIGATIONS: &str = "the customer has open orders or rental contracts; \
     settle them (cancel, fulfil, return, buy out) before erasing";

/// What keeps an erasure from running: the open orders and contracts, by
/// id, as the 409 names them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Obligations {
    pub orders: Vec<uuid::Uuid>,
    pub contracts: Vec<uuid::Uuid>,
}

impl Obligations {
    pub fn is_empty(&self) -> bool {
        self.orders.is_empty() && self.contracts.is_empty()
    }
}

/// Whether a job (on the email queue) is about the customer: an account
/// email to them, a reminder of one of their contracts, or the email of an
/// event about one of their orders or contracts (`events`).
pub fn job_is_about(
    payload: &Value,
    customer: UserId,
    contracts: &[uuid::Uuid],
    events: &[uuid::Uuid],
) -> bool {
    let id_at = |key: &str| {
        payload
            .get(key)
            .and_then(Value::as_str)
            .and_then(|s| uuid::Uuid::parse_str(s).ok())
    };
    id_at("user_id") == Some(customer.0)
        || id_at("contract_id").is_some_and(|c| contracts.contains(&c))
        || id_at("event_id").is_some_and(|e| events.contains(&e))
}

/// What the audit entry of an erasure records: counts, never PII.
pub fn erasure_summary(report: &ErasureReport) -> Value {
    serde_json::json!({
        "orders": report.orders,
        "sessions": report.sessions,
        "jobs": report.jobs,
    })
}

/// What an erasure changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ErasureReport {
    /// Orders whose email and address were replaced.
    pub orders: u64,
    /// Sessions deleted (their IP addresses and user agents with them).
    pub sessions: u64,
    /// Email jobs about the customer dropped or cleared of their errors.
    pub jobs: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_placeholder_is_recognised_and_unroutable() {
        let id = UserId::new();
        assert!(is_erased_email(&erased_email(id)));
        assert!(erased_email(id).ends_with(".invalid"));
        assert!(!is_erased_email("ann@example.com"));
        assert!(is_erased_index(&erased_index(id.0)));
        assert!(!is_erased_index("3f2a"));
    }

    #[test]
    fn open_obligations_are_unpaid_or_unshipped_orders_and_running_contracts() {
        assert!(order_is_open(OrderStatus::PendingPayment) && order_is_open(OrderStatus::Paid));
        for done in [
            OrderStatus::Fulfilled,
            OrderStatus::Delivered,
            OrderStatus::Cancelled,
            OrderStatus::Refunded,
        ] {
            assert!(!order_is_open(done));
        }
        for open in ["active", "overdue", "defaulted"] {
            assert!(contract_is_open(open));
        }
        for done in ["returned", "bought_out", "completed", "cancelled"] {
            assert!(!contract_is_open(done));
        }
    }

    #[test]
    fn jobs_about_the_customer_are_told_by_their_payload_ids() {
        let (me, other) = (UserId::new(), UserId::new());
        let (c, e) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
        let about = |p: Value| job_is_about(&p, me, &[c], &[e]);
        assert!(about(
            serde_json::json!({"user_id": me, "template": "mfa_enabled"})
        ));
        assert!(about(
            serde_json::json!({"contract_id": c, "reminder": "due"})
        ));
        assert!(about(
            serde_json::json!({"event_id": e, "topic": "order.created"})
        ));
        assert!(!about(serde_json::json!({"user_id": other})));
        assert!(!about(
            serde_json::json!({"event_id": uuid::Uuid::now_v7()})
        ));
        assert!(!about(serde_json::json!({"user_id": "not a uuid"})));
    }
}
