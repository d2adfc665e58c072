//! Customers' rights (issue 16): what an erasure leaves in place of a
//! customer's personal data, what stops one, and what the audit log
//! records (never PII). Which email jobs are about the customer is SQL
//! (`storekeep-store-sql/src/privacy.rs`).
//! See docs/privacy.md.

use serde_json::Value;
use storekeep_domain::{OrderStatus, UserId};

/// Audit actions.
pub const CUSTOMER_ERASED: &str = "customer.erased";
pub const CUSTOMER_DATA_EXPORTED: &str = "customer.data_exported";
/// An erasure of a data subject by email (their account, if any, and every
/// order placed with the email).
pub const CUSTOMER_ERASED_BY_EMAIL: &str = "customer.erased_by_email";

/// The audit target of an export or erasure by email when the email has
/// no account (the address itself never goes into the log).
pub const GUEST_TARGET: &str = "guest";

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

/// What an erasure leaves in `idempotency_keys.request_hash` of its
/// orders: the hash was a SHA-256 of the checkout body (email and address
/// included), so whoever reads it could confirm a guessed address. No
/// digest is spelled so, so a replay of the key is refused as a reuse.
pub const ERASED_REQUEST_HASH: &str = "erased";

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

/// The placeholder address an erasure by email leaves on an order that
/// belongs to no account (`order` is the order's id).
pub fn erased_order_email(order: uuid::Uuid) -> String {
    format!("erased+{order}@{ERASED_EMAIL_DOMAIN}")
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

/// An audit entry as the customer's own export shows it: the entries of
/// others about their orders and contracts (staff, API keys, OAuth
/// clients, providers, the system) name no one (`actor` becomes `staff`
/// or `system`) and lose the `ip` and `request_id` of whoever wrote them;
/// the customer's own entries are kept whole. Staff exports keep all.
pub fn redact_for_customer(entry: &mut storekeep_domain::AuditEntry, customer: UserId) {
    if entry.actor == format!("customer:{customer}") {
        return;
    }
    entry.actor = actor_for_customer(&entry.actor, Some(customer));
    entry.ip = None;
    entry.request_id = None;
}

/// An actor (`staff:<id>`, `api_key:<id>`…) as the customer's own views
/// show it: their own kept (`customer:<id>` of `customer`, or `guest` on an
/// order placed without an account), any staff account, API key, OAuth
/// client or operator `staff`, anything else (`system`, a payment provider)
/// `system`.
pub fn actor_for_customer(actor: &str, customer: Option<UserId>) -> String {
    let own = match customer {
        Some(me) => actor == format!("customer:{me}"),
        None => actor == "guest",
    };
    if own {
        return actor.to_owned();
    }
    // Staff and operator accounts (`<kind>:<id>`), API keys, OAuth
    // clients, the platform token.
    let staff = [
        "staff:",
        "operator:",
        "user:",
        "api_key:",
        "oauth_client:",
        "platform_token",
    ]
    .iter()
    .any(|p| actor.starts_with(p));
    if staff { "staff" } else { "system" }.into()
}

/// What the audit entry of an erasure records: counts, never PII.
pub fn erasure_summary(report: &ErasureReport) -> Value {
    serde_json::json!({
        "orders": report.orders,
        "sessions": report.sessions,
        "jobs": report.jobs,
    })
}

/// What the audit entry of an erasure by email records: counts, whether
/// an account was found, and the orders' ids; never the address nor its
/// blind index.
pub fn erasure_by_email_summary(
    report: &ErasureReport,
    account: bool,
    orders: &[storekeep_domain::OrderId],
) -> Value {
    serde_json::json!({
        "orders": report.orders,
        "sessions": report.sessions,
        "jobs": report.jobs,
        "account": account,
        "order_ids": orders,
    })
}

/// What an erasure changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ErasureReport {
    /// Orders whose email and address were replaced.
    pub orders: u64,
    /// Sessions deleted (their IP addresses and user agents with them).
    pub sessions: u64,
    /// Email jobs about the customer deleted (pending and finished).
    pub jobs: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn customers_see_their_own_actions_and_only_staff_or_system_besides() {
        let me = UserId(uuid::Uuid::now_v7());
        let other = UserId(uuid::Uuid::now_v7());
        let mine = format!("customer:{me}");
        assert_eq!(actor_for_customer(&mine, Some(me)), mine);
        assert_eq!(
            actor_for_customer(&format!("customer:{other}"), Some(me)),
            "system"
        );
        assert_eq!(actor_for_customer("guest", None), "guest");
        assert_eq!(actor_for_customer("guest", Some(me)), "system");
        assert_eq!(actor_for_customer(&mine, None), "system");
        for staff in [
            "staff:1",
            "api_key:2",
            "oauth_client:3",
            "operator:4",
            "platform_token",
        ] {
            assert_eq!(actor_for_customer(staff, Some(me)), "staff", "{staff}");
            assert_eq!(actor_for_customer(staff, None), "staff", "{staff}");
        }
        assert_eq!(actor_for_customer("provider:test", None), "system");
    }

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
}
