//! Rental contracts and the rental block of a cart line, as the API shows
//! them, with the disclosures rent-to-own laws ask for.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use storekeep_domain::{
    ContractStatus, InstallmentId, LateFeeRule, Maintainer, Money, OrderId, RentalContractId,
    RentalKind, RentalPaymentKind, RentalPlanId, RentalUnitId, TermUnit, UnitCondition, UnitStatus,
    UserId, VariantId,
};

/// One due amount of a schedule.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ScheduledPayment {
    /// 1-based.
    pub seq: i32,
    pub due_date: NaiveDate,
    pub amount: Money,
}

/// The buy-out price once `after_installment` installments are paid.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EarlyPurchase {
    pub after_installment: i32,
    pub price: Money,
}

/// Every fee of a contract, itemised.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RentalFees {
    /// Taken at checkout, held for the contract's length.
    pub deposit: Money,
    /// The fee for a late installment and its grace days.
    pub late_fee: LateFeeRule,
    /// Who maintains and repairs the goods during the contract.
    pub maintainer: Maintainer,
}

/// What rent-to-own laws ask a shop to disclose before the contract.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RentalDisclosures {
    /// The variant's price if bought outright.
    pub cash_price: Money,
    /// The amount of each periodic payment.
    pub payment_amount: Money,
    /// How often a payment falls due: `month` or `week`.
    pub payment_every: TermUnit,
    pub number_of_payments: i32,
    /// The sum of every periodic payment.
    pub total_of_payments: Money,
    /// `total_of_payments − cash_price` (negative when renting costs less).
    pub cost_over_cash_price: Money,
    /// Whether the goods become the customer's once every payment is made.
    pub ownership_at_end: bool,
    /// Early-purchase terms: the buy-out price after each installment
    /// (empty when the plan has none).
    pub early_purchase: Vec<EarlyPurchase>,
    pub fees: RentalFees,
}

/// A cart line's rental: the plan, what is due today and the schedule.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RentalLineView {
    pub plan_id: RentalPlanId,
    pub plan_name: String,
    pub kind: RentalKind,
    pub term_unit: TermUnit,
    pub term: i32,
    pub price_per_period: Money,
    pub deposit: Money,
    /// Deposit plus the first installment: what checkout takes.
    pub due_today: Money,
    pub schedule: Vec<ScheduledPayment>,
    pub disclosures: RentalDisclosures,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InstallmentView {
    pub id: InstallmentId,
    pub seq: i32,
    pub due_date: NaiveDate,
    pub amount: Money,
    pub late_fee: Money,
    pub paid_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RentalPaymentView {
    pub kind: RentalPaymentKind,
    pub amount: Money,
    pub installment_id: Option<InstallmentId>,
    pub provider: String,
    pub reference: String,
    pub reason: Option<String>,
    /// Who recorded it, as the audit log names actors (`staff:<id>`,
    /// `api_key:<id>`, `provider:<name>`…); null for payments recorded
    /// before storekeep kept it.
    pub actor: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RentalUnitRef {
    pub id: RentalUnitId,
    pub serial: String,
    pub condition: UnitCondition,
    pub status: UnitStatus,
}

/// A contract as listed.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ContractSummary {
    pub id: RentalContractId,
    pub order_id: OrderId,
    pub plan_id: RentalPlanId,
    pub variant_id: VariantId,
    pub unit_id: Option<RentalUnitId>,
    pub customer_id: Option<UserId>,
    pub status: ContractStatus,
    pub kind: RentalKind,
    pub term_unit: TermUnit,
    pub term: i32,
    pub price_per_period: Money,
    pub cash_price: Money,
    pub deposit: Money,
    pub deposit_held: Money,
    pub start_date: NaiveDate,
    pub time_zone: String,
    pub created_at: DateTime<Utc>,
}

/// A contract with its schedule, payments, unit and disclosures.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ContractView {
    #[serde(flatten)]
    pub summary: ContractSummary,
    pub installments: Vec<InstallmentView>,
    pub payments: Vec<RentalPaymentView>,
    pub unit: Option<RentalUnitRef>,
    pub disclosures: RentalDisclosures,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ContractBody {
    pub contract: ContractView,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ContractPage {
    pub items: Vec<ContractSummary>,
    pub next_cursor: Option<String>,
}

/// `GET /admin/rental-contracts` filters.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ContractQuery {
    #[param(value_type = Option<ContractStatus>)]
    pub status: Option<String>,
    /// A customer's account id.
    #[param(value_type = Option<UserId>)]
    pub customer_id: Option<String>,
    /// Items per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub after: Option<String>,
}

/// `POST /admin/rental-contracts/{id}/payments`: staff record an
/// installment paid outside the shop's processors (cash, bank transfer).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InstallmentPaymentBody {
    /// The installment paid; the first unpaid one if absent.
    #[serde(default)]
    pub installment_id: Option<InstallmentId>,
    /// What identifies the payment (a receipt or transfer number), at most
    /// 200 characters.
    #[serde(default)]
    pub reference: Option<String>,
}

// i15 phase 3, buy-out and returns.
/// What buying a rent-to-own contract out costs now.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BuyoutQuoteView {
    pub contract_id: RentalContractId,
    /// The plan's buy-out rule applied to `rent_paid` and `remaining`.
    pub buyout_price: Money,
    /// Late fees charged on installments not yet paid, owed on top.
    pub late_fees: Money,
    /// `buyout_price + late_fees`: what the buy-out takes.
    pub total: Money,
    /// The installments paid so far.
    pub rent_paid: Money,
    /// The installments not yet paid, which the buy-out closes.
    pub remaining: Money,
    pub rule: storekeep_domain::BuyoutRule,
    /// The rule in words, as the agreement states it.
    pub terms: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BuyoutQuoteBody {
    pub buyout: BuyoutQuoteView,
}

/// `POST /admin/rental-contracts/{id}/buyout`: staff record an early
/// buy-out paid outside the shop's processors.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BuyoutBody {
    /// What identifies the payment, at most 200 characters (`staff` if
    /// absent).
    #[serde(default)]
    pub reference: Option<String>,
    /// The quote's `total.amount` (minor units) staff agreed with the
    /// customer; a different total now is a `409`.
    #[serde(default)]
    pub amount: Option<i64>,
}

/// `POST /admin/rental-contracts/{id}/return`: the goods came back (or did
/// not), as inspected.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnBody {
    pub outcome: storekeep_domain::InspectionOutcome,
    /// Kept from the deposit held for damage, in minor units: 1 to the
    /// deposit held, only with `damaged`, and with a `reason`.
    #[serde(default)]
    pub charge: Option<i64>,
    /// Why the charge is kept, at most 500 characters.
    #[serde(default)]
    pub reason: Option<String>,
    /// Inspection notes for the unit's history, at most 2000 characters.
    #[serde(default)]
    pub notes: Option<String>,
}

// i15 phase 3, payments and extension.
/// `POST /admin/rental-contracts/{id}/extend`: more periods for a running
/// contract whose terms allow extension, up to the plan's `max_term`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtendBody {
    /// Periods to add, at least 1.
    pub periods: i32,
}

// i15 phase 3: customers paying installments.
/// `POST /store/rentals/{id}/payments`: the customer pays an installment
/// through one of the shop's payment providers.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RentalPayBody {
    /// The installment to pay; the next unpaid one if absent.
    #[serde(default)]
    pub installment_id: Option<InstallmentId>,
    /// One of the shop's payment providers; its first one if absent.
    #[serde(default)]
    pub payment_provider: Option<String>,
    /// `test` provider only: `confirm` (default) or `decline`.
    #[serde(default)]
    pub test_outcome: Option<String>,
}

/// An installment payment a customer started.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InstallmentAttemptView {
    pub installment_id: InstallmentId,
    pub seq: i32,
    pub amount: Money,
    /// The late fee charged on the installment, paid with it.
    pub late_fee: Money,
    pub provider: String,
    /// The provider's reference of this payment.
    pub reference: String,
    /// `pending` until the provider confirms or declines it; `expired` (an
    /// `Idempotency-Key` replay only) once the shop's `payment_timeout_secs`
    /// passed and a newer attempt of the installment started.
    pub status: storekeep_domain::PaymentStatus,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RentalPaymentBody {
    pub payment: InstallmentAttemptView,
    pub contract: ContractView,
}
