//! Rentals and rent-to-own: the terms a variant is rented on (a plan), the
//! serial-tracked units rented out, and contracts with their installment
//! schedules.
//!
//! This file holds the vocabulary only. The arithmetic (schedules, deposits,
//! late fees, buy-outs, disclosures) lives as pure functions in
//! `storekeep_store::rules::rentals`, applied by both backends.
//!
//! Amounts are integer minor units of the shop's currency; shares are basis
//! points (1/100 of a percent: 2_500 = 25 %).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    InstallmentId, OrderId, RentalContractId, RentalPlanId, RentalUnitId, TenantId, UserId,
    VariantId,
};

/// Basis points in 100 %.
pub const FULL_SHARE_BPS: i64 = 10_000;
/// Longest term a plan may offer, in periods (ten years of months).
pub const MAX_TERM_PERIODS: i32 = 520;

macro_rules! str_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }

            pub fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some(Self::$variant),)+ _ => None }
            }
        }
    };
}

str_enum!(
    /// Whether the goods come back at the end or become the customer's.
    RentalKind { FixedTerm = "fixed_term", RentToOwn = "rent_to_own" }
);
str_enum!(
    /// The length of one rental period.
    TermUnit { Month = "month", Week = "week" }
);
str_enum!(
    /// Who maintains and repairs the goods during the contract (a
    /// disclosure rent-to-own laws ask for).
    Maintainer { Shop = "shop", Customer = "customer" }
);
str_enum!(
    /// A contract's state.
    ContractStatus {
        Active = "active",
        Overdue = "overdue",
        Returned = "returned",
        BoughtOut = "bought_out",
        Completed = "completed",
        Defaulted = "defaulted",
        Cancelled = "cancelled",
    }
);
str_enum!(
    /// A serial-tracked unit's grade.
    UnitCondition { A = "a", B = "b", C = "c" }
);
str_enum!(
    /// Where a unit is: only `available` units can be assigned to a new
    /// contract; a returned unit waits in `inspection` until staff inspect it.
    UnitStatus {
        Available = "available",
        Rented = "rented",
        Inspection = "inspection",
        Repair = "repair",
        Sold = "sold",
        Retired = "retired",
    }
);
str_enum!(
    /// What happened to a unit, one row of its history.
    UnitEventKind {
        Added = "added",
        Rented = "rented",
        Returned = "returned",
        Inspected = "inspected",
        Repaired = "repaired",
        Sold = "sold",
        Retired = "retired",
        Updated = "updated",
    }
);
str_enum!(
    /// How a returned unit was found.
    InspectionOutcome { Ok = "ok", Damaged = "damaged", Missing = "missing" }
);
str_enum!(
    /// What a money movement on a contract was for.
    RentalPaymentKind {
        Deposit = "deposit",
        Installment = "installment",
        LateFee = "late_fee",
        Buyout = "buyout",
        DamageCharge = "damage_charge",
        DepositRefund = "deposit_refund",
    }
);

/// The deposit taken at checkout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DepositRule {
    None,
    /// A fixed amount.
    Fixed {
        amount: i64,
    },
    /// A share of the cash price, in basis points.
    Percent {
        bps: i64,
    },
}

/// The fee for an installment still unpaid `grace_days` after it was due;
/// at most one per installment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LateFeeRule {
    None,
    Fixed {
        amount: i64,
        grace_days: i32,
    },
    /// A share of the late installment, in basis points.
    Percent {
        bps: i64,
        grace_days: i32,
    },
}

/// What an early buy-out costs (rent-to-own only); never negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BuyoutRule {
    /// No early buy-out.
    None,
    /// The cash price minus `bps` of the rent paid so far.
    CashPriceMinusRent { bps: i64 },
    /// `bps` of the installments not yet paid.
    RemainingShare { bps: i64 },
}

/// The terms of a rental plan, everything the rules need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RentalTerms {
    pub kind: RentalKind,
    pub term_unit: TermUnit,
    /// The term offered by default, in periods (min_term ≤ term ≤ max_term).
    pub term: i32,
    pub min_term: i32,
    pub max_term: i32,
    /// Rent per period.
    pub price_per_period: i64,
    pub deposit: DepositRule,
    pub late_fee: LateFeeRule,
    pub buyout: BuyoutRule,
    pub extension_allowed: bool,
    pub maintainer: Maintainer,
    /// Days after an installment's due date before the contract defaults
    /// (the shop's grace period before default).
    pub default_after_days: i32,
}

/// A rental plan as stored: the terms one variant is rented on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RentalPlan {
    pub id: RentalPlanId,
    pub tenant_id: TenantId,
    pub variant_id: VariantId,
    pub name: String,
    pub terms: RentalTerms,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One serial-tracked unit of a rentable variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RentalUnit {
    pub id: RentalUnitId,
    pub tenant_id: TenantId,
    pub variant_id: VariantId,
    pub serial: String,
    pub condition: UnitCondition,
    pub notes: String,
    pub status: UnitStatus,
    /// The contract holding it, while `rented`.
    pub contract_id: Option<RentalContractId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One entry of a unit's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitEvent {
    pub unit_id: RentalUnitId,
    pub kind: UnitEventKind,
    pub contract_id: Option<RentalContractId>,
    pub condition: Option<UnitCondition>,
    pub note: String,
    /// The staff account that wrote it, if a staff account did.
    pub actor: Option<UserId>,
    /// Who wrote it, as the audit log names actors (`staff:<id>`,
    /// `api_key:<id>`, `customer:<id>`, `guest`, `provider:<name>`,
    /// `system`…); `None` on rows written before storekeep kept it.
    pub by: Option<String>,
    pub at: DateTime<Utc>,
}

/// One due amount of a contract's schedule. Due dates are calendar dates
/// in the shop's time zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installment {
    pub id: InstallmentId,
    pub contract_id: RentalContractId,
    /// 1-based position in the schedule.
    pub seq: i32,
    pub due_date: NaiveDate,
    pub amount: i64,
    /// The late fee applied to this installment, once (0 if none).
    pub late_fee: i64,
    pub paid_at: Option<DateTime<Utc>>,
    /// Reminders already sent for it (`due_soon`, `due_today`, `overdue`),
    /// so a second run of the daily job sends none twice.
    pub reminders_sent: Vec<String>,
}

/// A rental contract as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RentalContract {
    pub id: RentalContractId,
    pub tenant_id: TenantId,
    pub order_id: OrderId,
    pub plan_id: RentalPlanId,
    pub variant_id: VariantId,
    pub unit_id: Option<RentalUnitId>,
    pub customer_id: Option<UserId>,
    pub status: ContractStatus,
    /// The terms as agreed at checkout (a later plan edit does not change them).
    pub terms: RentalTerms,
    /// The variant's price at checkout.
    pub cash_price: i64,
    pub currency: String,
    pub deposit: i64,
    /// Deposit still held (after damage charges and refunds).
    pub deposit_held: i64,
    pub term: i32,
    /// The shop's IANA time zone when the contract was made.
    pub time_zone: String,
    pub start_date: NaiveDate,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A contract as checkout writes it, with its schedule (one per rental
/// line; the line is the order's line of `variant_id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewContract {
    pub id: RentalContractId,
    pub plan_id: RentalPlanId,
    pub variant_id: VariantId,
    pub terms: RentalTerms,
    pub cash_price: i64,
    pub deposit: i64,
    pub term: i32,
    pub time_zone: String,
    pub start_date: NaiveDate,
    /// `(seq, due date, amount)`, the first due at checkout.
    pub installments: Vec<(i32, NaiveDate, i64)>,
}

/// One money movement on a contract, recorded once per `key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RentalPayment {
    pub id: uuid::Uuid,
    pub contract_id: RentalContractId,
    pub installment_id: Option<InstallmentId>,
    pub kind: RentalPaymentKind,
    pub amount: i64,
    pub provider: String,
    pub reference: String,
    pub reason: Option<String>,
    pub key: String,
    pub created_at: DateTime<Utc>,
    /// Who recorded it, as the audit log names actors (`staff:<id>`,
    /// `api_key:<id>`, `provider:<name>`…); `None` for payments recorded
    /// before this was kept.
    pub actor: Option<String>,
}

/// A contract with its schedule, money movements and unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractDetail {
    pub contract: RentalContract,
    pub installments: Vec<Installment>,
    pub payments: Vec<RentalPayment>,
    pub unit: Option<RentalUnit>,
}

/// Which contracts a listing shows.
#[derive(Debug, Clone, Default)]
pub struct ContractFilter {
    pub status: Option<ContractStatus>,
    pub customer_id: Option<UserId>,
}
