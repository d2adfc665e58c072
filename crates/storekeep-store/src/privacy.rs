//! Customers' rights (issue 16): the audit entries about a customer (for
//! the export) and the erasure of a customer's personal data, in one
//! transaction. The rules (what stops an erasure, what replaces the data)
//! are in [`crate::rules::privacy`]; sealing the placeholders is the
//! caller's (the store never sees a key). See docs/privacy.md.

use async_trait::async_trait;
use storekeep_domain::{AuditContext, AuditEntry, OrderId, TenantId, UserId};

use crate::StoreResult;
use crate::rules::privacy::{ErasureReport, Obligations};

/// The sealed placeholders one order's PII is replaced with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErasedOrder {
    pub id: OrderId,
    /// The placeholder address, sealed for the order's email context.
    pub email_sealed: String,
    /// The placeholder shipping address, sealed for the order's address
    /// context.
    pub address_sealed: String,
}

/// An erasure, prepared by the caller: the account's sealed placeholder
/// email and, for every order of the customer the caller read, its
/// placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Erasure {
    pub tenant: TenantId,
    pub customer: UserId,
    /// The placeholder address, sealed for the account's email context.
    pub email_sealed: String,
    pub orders: Vec<ErasedOrder>,
}

/// What became of an erasure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErasureOutcome {
    /// Done, in one transaction with its audit entry.
    Erased(ErasureReport),
    /// The account was erased before and nothing was left to scrub (no
    /// order with its old email, no session): nothing changed.
    AlreadyErased,
    /// Refused: these orders and contracts are open.
    Blocked(Obligations),
    /// The customer's orders are not the ones `Erasure::orders` names (one
    /// was placed meanwhile): nothing changed; prepare again.
    OrdersChanged,
}

#[async_trait]
pub trait PrivacyStore {
    /// The customer account `customer` of shop `tenant` (staff, operators
    /// and other shops' accounts are `NotFound`).
    async fn customer(
        &self,
        tenant: TenantId,
        customer: UserId,
    ) -> StoreResult<storekeep_domain::UserRecord>;

    /// The ids of every order of the customer, oldest first.
    async fn customer_order_ids(
        &self,
        tenant: TenantId,
        customer: UserId,
    ) -> StoreResult<Vec<OrderId>>;

    /// The shop's audit entries about the customer, oldest first: those
    /// whose actor or target is the account, or whose target is one of
    /// `targets` (its orders and contracts, as audit targets name them).
    async fn audit_about(
        &self,
        tenant: TenantId,
        customer: UserId,
        targets: &[String],
    ) -> StoreResult<Vec<AuditEntry>>;

    /// Erases the customer's personal data in one transaction (see
    /// docs/privacy.md for what each table keeps), writing the
    /// `customer.erased` audit entry; on SQLite the write-ahead log is then
    /// checkpointed and truncated, so overwritten values leave the files.
    async fn erase_customer(
        &self,
        erasure: &Erasure,
        audit: &AuditContext,
    ) -> StoreResult<ErasureOutcome>;
}
