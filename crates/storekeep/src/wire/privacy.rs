//! Customers' rights (issue 16): the data export document, the erasure's
//! answer and the customer's own erasure request. See docs/privacy.md.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use storekeep_domain::{AuditEntry, SessionRecord, UserId};

use crate::wire::accounts::Account;
use crate::wire::contracts::ContractView;
use crate::wire::orders::{Address, OrderView};

/// Everything the shop holds about one customer, in one document. No
/// secrets: no password hash, TOTP seed, session token or reset token.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CustomerExport {
    pub generated_at: DateTime<Utc>,
    /// The shop's slug.
    pub shop: String,
    /// The account (email, name and phone opened from their sealed form).
    pub profile: Account,
    /// Whether the account's personal data was erased (the email is then a
    /// placeholder).
    pub erased: bool,
    /// Every distinct shipping address of the customer's orders (the shop
    /// keeps no address book).
    pub addresses: Vec<Address>,
    /// Every order, with its lines, amounts, payments, refunds and history.
    pub orders: Vec<OrderView>,
    /// Every rental contract, with its installments and payments.
    pub rental_contracts: Vec<ContractView>,
    /// The account's live sessions (when, from which address and agent;
    /// never the token).
    pub sessions: Vec<SessionRecord>,
    /// Consents the shop recorded: none (storekeep keeps no marketing
    /// consents); always empty, listed so the document says so.
    pub consents: Vec<serde_json::Value>,
    /// The shop's audit entries about the customer, their orders and their
    /// contracts, oldest first.
    pub audit: Vec<AuditEntry>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CustomerExportBody {
    pub export: CustomerExport,
}

/// What an erasure did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErasureView {
    pub customer_id: UserId,
    /// False when the account had been erased before (nothing changed).
    pub erased_now: bool,
    /// Orders whose email and address were replaced.
    pub orders: u64,
    /// Sessions ended and deleted.
    pub sessions: u64,
    /// Email jobs about the customer dropped or cleared.
    pub jobs: u64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErasureBody {
    pub erasure: ErasureView,
}

/// A customer's own erasure request: the password again and, when MFA is
/// on, a second factor.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EraseOwnRequest {
    pub password: String,
    /// A current TOTP code or an unused recovery code; required when MFA
    /// is on.
    #[serde(default)]
    pub code: Option<String>,
}

/// Staff's request about a data subject by email (a POST, so the address
/// stays out of URLs and access logs).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubjectRequest {
    pub email: String,
}

/// Everything the shop holds about whoever uses one email address: the
/// customer account of that email (if any) and every order placed with it,
/// guest or not. Staff only (see docs/privacy.md, "Guest purchases").
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SubjectExport {
    pub generated_at: DateTime<Utc>,
    /// The shop's slug.
    pub shop: String,
    /// The address asked about, as storekeep compares addresses (trimmed,
    /// lower case).
    pub email: String,
    /// The export of the customer account of that email (as
    /// `GET /api/v1/admin/customers/{id}/export` answers it), or null when
    /// the address has no account.
    pub account: Option<CustomerExport>,
    /// Every order of the shop placed with this email, by a guest or by any
    /// account (an account's order placed with it is in `account` too),
    /// newest first, with lines, amounts, payments, refunds and history.
    pub orders: Vec<OrderView>,
    /// The distinct shipping addresses of `orders`.
    pub addresses: Vec<Address>,
    /// The rental contracts those orders made.
    pub rental_contracts: Vec<ContractView>,
    /// The shop's audit entries about those orders and contracts, oldest
    /// first.
    pub audit: Vec<AuditEntry>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SubjectExportBody {
    pub export: SubjectExport,
}

/// What an erasure by email did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SubjectErasureView {
    /// The customer account of that email, if one was found (and erased).
    pub customer_id: Option<UserId>,
    /// False when nothing was left to erase (asked again, or nothing is
    /// held about the address).
    pub erased_now: bool,
    /// Orders whose email and address were replaced (the account's and
    /// those placed with the email).
    pub orders: u64,
    /// The account's sessions ended and deleted.
    pub sessions: u64,
    /// Email jobs about the account and the orders deleted.
    pub jobs: u64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SubjectErasureBody {
    pub erasure: SubjectErasureView,
}
