//! Rental plans and serial-tracked units as staff send and see them, and
//! the storefront's view of a product's rental plans.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use storekeep_domain::{
    BuyoutRule, DepositRule, LateFeeRule, Maintainer, Money, RentalContractId, RentalKind,
    RentalPlanId, RentalUnitId, TermUnit, UnitCondition, UnitEventKind, UnitStatus, UserId,
    VariantId,
};

/// A new rental plan. Amounts inside the deposit and late-fee rules are
/// minor units of the shop's currency; shares are basis points (2500 = 25 %).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RentalPlanInput {
    /// The variant rented on this plan (one of the shop's).
    #[schema(value_type = VariantId)]
    pub variant_id: String,
    /// 1–200 characters.
    pub name: String,
    /// `fixed_term` (the goods come back) or `rent_to_own`.
    #[schema(value_type = RentalKind)]
    pub kind: String,
    /// `month` (default) or `week`.
    #[serde(default)]
    #[schema(value_type = Option<TermUnit>)]
    pub term_unit: Option<String>,
    /// The term offered by default, in periods.
    pub term: i64,
    /// Shortest term a customer may choose [term].
    #[serde(default)]
    pub min_term: Option<i64>,
    /// Longest term a customer may choose [term]; at most 520.
    #[serde(default)]
    pub max_term: Option<i64>,
    /// Rent per period (more than 0 for rent-to-own).
    pub price_per_period: Money,
    #[serde(default = "no_deposit")]
    pub deposit: DepositRule,
    #[serde(default = "no_late_fee")]
    pub late_fee: LateFeeRule,
    /// Early buy-out (rent-to-own only; `none` for fixed-term plans).
    #[serde(default = "no_buyout")]
    pub buyout: BuyoutRule,
    #[serde(default)]
    pub extension_allowed: bool,
    /// `shop` (default) or `customer`.
    #[serde(default)]
    #[schema(value_type = Option<Maintainer>)]
    pub maintainer: Option<String>,
    /// Days after a missed due date before the contract defaults, 0–365 [30].
    #[serde(default)]
    pub default_after_days: Option<i64>,
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}
fn no_deposit() -> DepositRule {
    DepositRule::None
}
fn no_late_fee() -> LateFeeRule {
    LateFeeRule::None
}
fn no_buyout() -> BuyoutRule {
    BuyoutRule::None
}

/// A change to a plan: only the given fields change, and the result is
/// checked as a whole. `active: false` withdraws a plan from sale.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RentalPlanPatch {
    #[schema(value_type = Option<VariantId>)]
    pub variant_id: Option<String>,
    pub name: Option<String>,
    #[schema(value_type = Option<RentalKind>)]
    pub kind: Option<String>,
    #[schema(value_type = Option<TermUnit>)]
    pub term_unit: Option<String>,
    pub term: Option<i64>,
    pub min_term: Option<i64>,
    pub max_term: Option<i64>,
    pub price_per_period: Option<Money>,
    pub deposit: Option<DepositRule>,
    pub late_fee: Option<LateFeeRule>,
    pub buyout: Option<BuyoutRule>,
    pub extension_allowed: Option<bool>,
    #[schema(value_type = Option<Maintainer>)]
    pub maintainer: Option<String>,
    pub default_after_days: Option<i64>,
    pub active: Option<bool>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RentalPlanInputBody {
    pub rental_plan: RentalPlanInput,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RentalPlanPatchBody {
    pub rental_plan: RentalPlanPatch,
}

/// A rental plan as staff see it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RentalPlanView {
    pub id: RentalPlanId,
    pub variant_id: VariantId,
    pub name: String,
    pub kind: RentalKind,
    pub term_unit: TermUnit,
    pub term: i32,
    pub min_term: i32,
    pub max_term: i32,
    pub price_per_period: Money,
    pub deposit: DepositRule,
    pub late_fee: LateFeeRule,
    pub buyout: BuyoutRule,
    pub extension_allowed: bool,
    pub maintainer: Maintainer,
    pub default_after_days: i32,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RentalPlanBody {
    pub rental_plan: RentalPlanView,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RentalPlanPage {
    pub items: Vec<RentalPlanView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RentalPlanQuery {
    /// Only the plans of this variant.
    #[param(value_type = Option<VariantId>)]
    pub variant_id: Option<String>,
    /// Only active (`true`) or inactive (`false`) plans.
    pub active: Option<bool>,
    /// Items per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    pub after: Option<String>,
}

/// A new serial-tracked unit, `available` once added.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RentalUnitInput {
    #[schema(value_type = VariantId)]
    pub variant_id: String,
    /// 1–100 printable characters, trimmed; unique in the shop.
    pub serial: String,
    /// `a` (default), `b` or `c`.
    #[serde(default)]
    #[schema(value_type = Option<UnitCondition>)]
    pub condition: Option<String>,
    /// At most 2000 characters.
    #[serde(default)]
    pub notes: String,
}

/// A change to a unit's grade or notes.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RentalUnitPatch {
    #[schema(value_type = Option<UnitCondition>)]
    pub condition: Option<String>,
    pub notes: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RentalUnitInputBody {
    pub rental_unit: RentalUnitInput,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RentalUnitPatchBody {
    pub rental_unit: RentalUnitPatch,
}

/// A staff status move: available ↔ repair, inspection → available,
/// repair or retired, repair or available → retired. Renting, selling and
/// taking back happen through contracts.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnitStatusInput {
    #[schema(value_type = UnitStatus)]
    pub status: String,
    /// Why, kept in the unit's history (at most 2000 characters).
    #[serde(default)]
    pub note: String,
    /// The unit's grade after the move, if it changes.
    #[serde(default)]
    #[schema(value_type = Option<UnitCondition>)]
    pub condition: Option<String>,
}

/// A unit as staff see it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RentalUnitView {
    pub id: RentalUnitId,
    pub variant_id: VariantId,
    pub serial: String,
    pub condition: UnitCondition,
    pub notes: String,
    pub status: UnitStatus,
    /// The contract holding it, while rented.
    pub contract_id: Option<RentalContractId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One entry of a unit's history.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UnitEventView {
    pub kind: UnitEventKind,
    pub contract_id: Option<RentalContractId>,
    pub condition: Option<UnitCondition>,
    pub note: String,
    /// The staff member who made the change (none for the system, a
    /// customer, an API key).
    pub actor_id: Option<UserId>,
    /// Who made the change, as the audit log names actors (`staff:<id>`,
    /// `api_key:<id>`, `customer:<id>`, `guest`, `provider:<name>`,
    /// `system`…); null on entries written before storekeep kept it.
    pub actor: Option<String>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RentalUnitBody {
    pub rental_unit: RentalUnitView,
}

/// A unit with its history, newest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RentalUnitDetail {
    pub rental_unit: RentalUnitView,
    pub history: Vec<UnitEventView>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RentalUnitPage {
    pub items: Vec<RentalUnitView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RentalUnitQuery {
    #[param(value_type = Option<VariantId>)]
    pub variant_id: Option<String>,
    #[param(value_type = Option<UnitStatus>)]
    pub status: Option<String>,
    #[param(value_type = Option<UnitCondition>)]
    pub condition: Option<String>,
    /// Items per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    pub after: Option<String>,
}

/// An active plan as shoppers see it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PublicRentalPlan {
    pub id: RentalPlanId,
    pub variant_id: VariantId,
    pub name: String,
    pub kind: RentalKind,
    pub term_unit: TermUnit,
    pub term: i32,
    pub min_term: i32,
    pub max_term: i32,
    pub price_per_period: Money,
    pub deposit: DepositRule,
    pub late_fee: LateFeeRule,
    pub buyout: BuyoutRule,
    pub extension_allowed: bool,
    pub maintainer: Maintainer,
    /// Serial-tracked units of the variant available now; null when the
    /// variant has no units (its ordinary stock applies).
    pub available_units: Option<i64>,
    /// What renting on the plan's own term from today at the variant's
    /// price discloses (as a cart line's `rental.disclosures`).
    pub disclosures: crate::wire::contracts::RentalDisclosures,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PublicRentalPlanList {
    pub items: Vec<PublicRentalPlan>,
}
