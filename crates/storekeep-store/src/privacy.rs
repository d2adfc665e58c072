//! Customers' rights (issue 16): the audit entries about a customer (for
//! the export) and the erasure of a customer's personal data, in one
//! transaction. The rules (what stops an erasure, what replaces the data)
//! are in [`crate::rules::privacy`]; sealing the placeholders is the
//! caller's (the store never sees a key). See docs/privacy.md.

use async_trait::async_trait;
use storekeep_domain::{AuditContext, AuditEntry, OrderId, RentalContractId, TenantId, UserId};

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

/// An erasure of a data subject by email (docs/privacy.md, "Guest
/// purchases"), prepared by the caller: every order of the shop placed
/// with the email (guest or not) and, if the email has a customer account,
/// that account's erasure, done in the same transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailErasure {
    pub tenant: TenantId,
    /// The email's blind index (the store never sees the address).
    pub email_index: String,
    /// Every order with that `email_index`, as the caller read them.
    pub orders: Vec<ErasedOrder>,
    /// The customer account of that email, if one exists.
    pub account: Option<Erasure>,
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
    /// The database rolled the transaction back to resolve a lock conflict
    /// with a concurrent writer (PostgreSQL's deadlock victim, 40P01, or a
    /// serialization failure, 40001): nothing changed; prepare again.
    Contended,
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
    /// whose actor or target is the account (if `customer` names one), or
    /// whose target is one of `targets` (its orders and contracts, as audit
    /// targets name them).
    async fn audit_about(
        &self,
        tenant: TenantId,
        customer: Option<UserId>,
        targets: &[String],
    ) -> StoreResult<Vec<AuditEntry>>;

    /// The ids of every order of the shop placed with the email whose
    /// blind index is `email_index`, whatever account (or none) placed it,
    /// oldest first.
    async fn orders_by_email(
        &self,
        tenant: TenantId,
        email_index: &str,
    ) -> StoreResult<Vec<OrderId>>;

    /// The rental contracts made by order `order`, oldest first.
    async fn order_contract_ids(
        &self,
        tenant: TenantId,
        order: OrderId,
    ) -> StoreResult<Vec<RentalContractId>>;

    /// Erases a data subject by email in one transaction: their account,
    /// if `erasure.account` names one (as [`erase_customer`] does), and
    /// every order placed with the email, with the email jobs about them;
    /// one `customer.erased_by_email` audit entry (counts and ids, no PII).
    /// `OrdersChanged` if the orders with that email are not those
    /// `erasure.orders` names; `AlreadyErased` when nothing was left.
    ///
    /// [`erase_customer`]: PrivacyStore::erase_customer
    async fn erase_by_email(
        &self,
        erasure: &EmailErasure,
        audit: &AuditContext,
    ) -> StoreResult<ErasureOutcome>;

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
