//! Rental contracts: the store's share of renting through the cart and
//! checkout, and the reads of contracts. Contracts themselves are written
//! by checkout (`CommerceStore::checkout`, `NewOrder::rentals`) in the
//! order's transaction, and follow their order: paying it records the
//! deposit and first installment as paid, cancelling or expiring it
//! cancels its contracts and frees their units. Every operation is scoped
//! to one tenant; another tenant's row is `NotFound`.

use async_trait::async_trait;
use storekeep_domain::{
    AuditContext, CartId, ContractDetail, ContractFilter, InstallmentId, Page, PageRequest,
    RentalContract, RentalContractId, RentalPlanId, TenantId, VariantId,
};

use crate::StoreResult;

#[async_trait]
pub trait ContractStore: Send + Sync {
    /// Makes the cart's line of `variant` a rental line (quantity 1) on
    /// `plan` for `term` periods, creating it if absent. The caller checked
    /// the plan. `Invalid` if the cart is checked out or full,
    /// `NotFound("cart")` if the shop has no such cart.
    async fn set_rental_item(
        &self,
        tenant: TenantId,
        cart: CartId,
        variant: VariantId,
        plan: RentalPlanId,
        term: i32,
    ) -> StoreResult<()>;

    /// Newest first; the cursor is the last contract id seen.
    async fn list_contracts(
        &self,
        tenant: TenantId,
        filter: &ContractFilter,
        page: &PageRequest,
    ) -> StoreResult<Page<RentalContract>>;

    /// A contract with its installments, payments and unit.
    async fn contract(&self, tenant: TenantId, id: RentalContractId)
    -> StoreResult<ContractDetail>;

    /// Staff record installment `installment` (the first unpaid one if
    /// `None`) of an active or overdue contract as paid (`manual`, with
    /// `reference`): its amount and any late fee charged on it, each once
    /// (keys `installment:<id>`, `late_fee:<id>`), audited. `Invalid` for a
    /// contract that is not running or owes nothing; `Conflict {
    /// field: "installment_id" }` for an installment already paid;
    /// `UnknownReference` for one the contract does not have.
    async fn pay_installment(
        &self,
        tenant: TenantId,
        id: RentalContractId,
        installment: Option<InstallmentId>,
        reference: &str,
        audit: &AuditContext,
    ) -> StoreResult<()>;

    // i15 daily job: the daily pass.
    /// The daily pass (`rules::rental_daily`) over the next `limit` running
    /// contracts of every shop after `after`, in one transaction: late
    /// fees (audited), reminders claimed and their email jobs enqueued,
    /// overdue and defaulted contracts, outbox events; each once. Returns
    /// what it did and the last contract seen (`None` when none was left).
    async fn rentals_daily_batch(
        &self,
        pass: &crate::rules::rental_daily::DailyPass,
        after: Option<RentalContractId>,
        limit: usize,
    ) -> StoreResult<(
        crate::rules::rental_daily::DailyOutcome,
        Option<RentalContractId>,
    )>;

    // i15 phase 3, buy-out and returns.
    /// Staff buy a running rent-to-own contract out (see
    /// `rules::rental_end::buyout_quote`), in one transaction: a `buyout`
    /// payment (key `buyout`, `manual`, `reference`) and one `late_fee:<id>`
    /// payment per late fee still owed, the contract `bought_out`, its unit
    /// `sold`, an outbox event, an audit entry. `Invalid` when it has no
    /// quote, or when `expected` is given and is not the quote's total
    /// (`rules::rental_end::QUOTE_CHANGED`).
    async fn buy_out(
        &self,
        tenant: TenantId,
        id: RentalContractId,
        expected: Option<i64>,
        reference: &str,
        audit: &AuditContext,
    ) -> StoreResult<()>;

    /// Staff take a contract's goods back (see `ReturnOfGoods`), in one
    /// transaction: the deposit settled by `damage_charge` and
    /// `deposit_refund` payments, `deposit_held` 0, the contract
    /// `returned`, its unit to `inspection` or `retired` (or, without a
    /// unit, one back in the variant's stock), an outbox event, an audit
    /// entry. `Invalid` for a contract that is not out
    /// (`rules::rental_end::NOT_OUT`).
    async fn return_contract(
        &self,
        tenant: TenantId,
        id: RentalContractId,
        ret: &ReturnOfGoods,
        audit: &AuditContext,
    ) -> StoreResult<()>;

    // i15 phase 3, payments and extension.
    /// Extends a running contract whose term the caller read as
    /// `from_term` (and checked against its terms) by `periods`: the
    /// installments appended on the same anchor
    /// (`rules::rentals::extension`), the term set, audited
    /// (`rental_contract.extended`), an outbox event
    /// (`rental.contract_extended`). `Invalid` for a contract that is not
    /// active or overdue, or whose term changed meanwhile.
    async fn extend_contract(
        &self,
        tenant: TenantId,
        id: RentalContractId,
        from_term: i32,
        periods: i32,
        audit: &AuditContext,
    ) -> StoreResult<()>;

    // i15 phase 3: customers paying installments.
    /// Starts the customer's payment of an installment of their running
    /// contract through a provider: a pending attempt (its amount and any
    /// late fee charged), audited as the customer; a key seen before on the
    /// contract answers its attempt again (`replayed`). `NotFound` for
    /// anyone else's contract; `Invalid` for a contract not running, with
    /// nothing due, or whose installment awaits its provider; `Conflict {
    /// field: "installment_id" }` for one paid; `UnknownReference` for one
    /// the contract does not have.
    async fn start_installment_payment(
        &self,
        tenant: TenantId,
        id: RentalContractId,
        req: &NewInstallmentPayment,
        audit: &AuditContext,
    ) -> StoreResult<InstallmentPayment>;

    // i17: the storefront's rental page.
    /// The newest installment payment attempt `customer` started on their
    /// contract `id` (any status), if any — what the rental page says of a
    /// payment awaiting its provider or declined. `None` for a contract of
    /// anyone else or of another shop. (`replayed` is always `false`.)
    async fn latest_installment_attempt(
        &self,
        tenant: TenantId,
        id: RentalContractId,
        customer: storekeep_domain::UserId,
    ) -> StoreResult<Option<InstallmentPayment>>;

    /// A provider's verified event for an installment attempt: confirmed
    /// records the installment and its late fee once and completes or
    /// reinstates the contract as any payment does; declined closes the
    /// attempt. `NotFound("payment")` for a reference no attempt has.
    async fn settle_installment_payment(
        &self,
        provider: &str,
        reference: &str,
        event_id: &str,
        outcome: storekeep_domain::PaymentOutcome,
    ) -> StoreResult<storekeep_domain::Settlement>;
}

// i15 phase 3, buy-out and returns.
/// A return as staff recorded it, already checked against the deposit
/// held (`rules::rental_end::settle`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnOfGoods {
    pub outcome: storekeep_domain::InspectionOutcome,
    /// Kept from the deposit (the whole of it when missing).
    pub charge: i64,
    /// Owed back to the customer.
    pub refund: i64,
    /// Why the charge was kept.
    pub reason: Option<String>,
    /// Staff's inspection notes, for the unit's history.
    pub notes: Option<String>,
    /// The deposit held when the settlement was computed: the return is
    /// refused if it changed since.
    pub held: i64,
}

// i15 phase 3: customers paying installments.
/// A customer's payment of an installment, to start.
#[derive(Debug, Clone)]
pub struct NewInstallmentPayment {
    pub customer: storekeep_domain::UserId,
    /// The first unpaid installment if `None`.
    pub installment: Option<InstallmentId>,
    pub provider: String,
    pub reference: String,
    pub idempotency_key: Option<String>,
    /// A pending attempt of the installment started at or before this
    /// (now less the shop's `payment_timeout_secs`) is expired first.
    pub expire_started_before: chrono::DateTime<chrono::Utc>,
}

/// An installment payment attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallmentPayment {
    pub installment_id: InstallmentId,
    pub seq: i32,
    pub amount: i64,
    pub late_fee: i64,
    pub provider: String,
    pub reference: String,
    pub status: storekeep_domain::PaymentStatus,
    /// Answered again for a key seen before: nothing new was started.
    pub replayed: bool,
}

/// The outbox events of contracts, so both backends write one payload.
pub mod events {
    use serde_json::{Value, json};
    use storekeep_domain::{NewContract, OrderId, RentalUnitId};

    pub const CONTRACT_CREATED: &str = "rental.contract_created";

    pub fn contract_created(
        order: OrderId,
        c: &NewContract,
        unit: Option<RentalUnitId>,
    ) -> (&'static str, Value) {
        (
            CONTRACT_CREATED,
            json!({
                "order_id": order, "contract_id": c.id, "plan_id": c.plan_id,
                "variant_id": c.variant_id, "unit_id": unit, "term": c.term,
                "deposit": c.deposit, "cash_price": c.cash_price,
                "start_date": c.start_date,
            }),
        )
    }

    // i15 phase 2, glue: the contract email.
    /// A contract's deposit and first installment are paid (its order is
    /// paid): the contract is under way and the customer gets its email.
    pub const CONTRACT_STARTED: &str = "rental.contract_started";

    pub fn contract_started(
        order: OrderId,
        contract: storekeep_domain::RentalContractId,
    ) -> (&'static str, Value) {
        (
            CONTRACT_STARTED,
            json!({"order_id": order, "contract_id": contract}),
        )
    }

    // contract life cycle (i15 phase 2)
    pub const CONTRACT_COMPLETED: &str = "rental.contract_completed";

    /// Every installment of a rent-to-own contract is paid: the goods are
    /// the customer's.
    pub fn contract_completed(
        contract: storekeep_domain::RentalContractId,
        unit: Option<RentalUnitId>,
    ) -> (&'static str, Value) {
        (
            CONTRACT_COMPLETED,
            json!({ "contract_id": contract, "unit_id": unit }),
        )
    }

    // i15 phase 3, buy-out and returns.
    pub const CONTRACT_BOUGHT_OUT: &str = "rental.contract_bought_out";
    pub const CONTRACT_RETURNED: &str = "rental.contract_returned";

    /// A rent-to-own contract was bought out early: `amount` is the
    /// buy-out price, `late_fees` the late fees collected with it.
    pub fn contract_bought_out(
        contract: storekeep_domain::RentalContractId,
        unit: Option<RentalUnitId>,
        amount: i64,
        late_fees: i64,
    ) -> (&'static str, Value) {
        (
            CONTRACT_BOUGHT_OUT,
            json!({
                "contract_id": contract, "unit_id": unit, "amount": amount,
                "late_fees": late_fees,
            }),
        )
    }

    /// A contract's goods came back (or are missing): what the inspection
    /// found, what was kept from the deposit and what is owed back.
    pub fn contract_returned(
        contract: storekeep_domain::RentalContractId,
        unit: Option<RentalUnitId>,
        outcome: storekeep_domain::InspectionOutcome,
        charge: i64,
        refund: i64,
    ) -> (&'static str, Value) {
        (
            CONTRACT_RETURNED,
            json!({
                "contract_id": contract, "unit_id": unit, "outcome": outcome.as_str(),
                "charge": charge, "refund": refund,
            }),
        )
    }

    // i15 phase 3, payments and extension.
    pub const CONTRACT_EXTENDED: &str = "rental.contract_extended";

    /// A running contract was extended from `from_term` to `to_term`
    /// periods; its last installment now falls due on `last_due_date`.
    pub fn contract_extended(
        contract: storekeep_domain::RentalContractId,
        from_term: i32,
        to_term: i32,
        last_due_date: Option<chrono::NaiveDate>,
    ) -> (&'static str, Value) {
        (
            CONTRACT_EXTENDED,
            json!({
                "contract_id": contract, "from_term": from_term, "to_term": to_term,
                "last_due_date": last_due_date,
            }),
        )
    }
}
