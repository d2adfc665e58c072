//! Rental plans (the terms a variant is rented on) and serial-tracked
//! rental units with their history. Every statement names the tenant;
//! another shop's plan or unit is `NotFound`. Contracts (which rent, sell
//! and take back units) are `ContractStore`'s.

use async_trait::async_trait;
use storekeep_domain::{
    AuditContext, Page, PageRequest, RentalPlan, RentalPlanId, RentalUnit, RentalUnitId, TenantId,
    UnitCondition, UnitEvent, UnitStatus, VariantId,
};

use crate::StoreResult;

/// What a plan list is narrowed to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RentalPlanFilter {
    pub variant_id: Option<VariantId>,
    /// Only active (or only inactive) plans.
    pub active: Option<bool>,
}

/// What a unit list is narrowed to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RentalUnitFilter {
    pub variant_id: Option<VariantId>,
    pub status: Option<UnitStatus>,
    pub condition: Option<UnitCondition>,
}

/// A staff edit of a unit: only the given fields change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RentalUnitPatch {
    pub condition: Option<UnitCondition>,
    pub notes: Option<String>,
}

/// A staff status move (checked by `rules::rental_units::can_move`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitMove {
    pub to: UnitStatus,
    /// The unit's new grade, if it changes with the move.
    pub condition: Option<UnitCondition>,
    pub note: String,
}

/// A variant's serial-tracked units: how many exist and how many can be
/// rented now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UnitCounts {
    pub total: i64,
    pub available: i64,
}

#[async_trait]
pub trait RentalStore: Send + Sync {
    /// Stores a new plan (audited `rental_plan.create`); its variant must
    /// be the shop's (`UnknownReference { field: "variant_id" }`).
    async fn create_rental_plan(
        &self,
        plan: &RentalPlan,
        audit: &AuditContext,
    ) -> StoreResult<RentalPlan>;
    async fn rental_plan(&self, tenant: TenantId, id: RentalPlanId) -> StoreResult<RentalPlan>;
    /// Oldest first; the cursor is the last plan id seen.
    async fn list_rental_plans(
        &self,
        tenant: TenantId,
        filter: &RentalPlanFilter,
        page: &PageRequest,
    ) -> StoreResult<Page<RentalPlan>>;
    /// Writes `plan` over the stored one of the same id (audited
    /// `rental_plan.update` with both states); `created_at` stays.
    async fn update_rental_plan(
        &self,
        plan: &RentalPlan,
        audit: &AuditContext,
    ) -> StoreResult<RentalPlan>;
    /// Deletes a plan no contract was ever made on (audited
    /// `rental_plan.delete`); a used plan is `Invalid` (deactivate it).
    async fn delete_rental_plan(
        &self,
        tenant: TenantId,
        id: RentalPlanId,
        audit: &AuditContext,
    ) -> StoreResult<()>;

    /// Stores a new unit with its `added` event (audited
    /// `rental_unit.create`); a serial the shop already has is
    /// `Conflict { field: "serial" }`.
    async fn add_rental_unit(
        &self,
        unit: &RentalUnit,
        note: &str,
        audit: &AuditContext,
    ) -> StoreResult<RentalUnit>;
    /// A unit and its history, newest first.
    async fn rental_unit(
        &self,
        tenant: TenantId,
        id: RentalUnitId,
    ) -> StoreResult<(RentalUnit, Vec<UnitEvent>)>;
    /// Oldest first; the cursor is the last unit id seen.
    async fn list_rental_units(
        &self,
        tenant: TenantId,
        filter: &RentalUnitFilter,
        page: &PageRequest,
    ) -> StoreResult<Page<RentalUnit>>;
    /// Changes a unit's grade or notes, with an `updated` event (audited
    /// `rental_unit.update`).
    async fn update_rental_unit(
        &self,
        tenant: TenantId,
        id: RentalUnitId,
        patch: &RentalUnitPatch,
        audit: &AuditContext,
    ) -> StoreResult<RentalUnit>;
    /// A staff status move, with its event (audited `rental_unit.status`);
    /// a move `rules::rental_units::can_move` refuses is `Invalid`.
    async fn move_rental_unit(
        &self,
        tenant: TenantId,
        id: RentalUnitId,
        to: &UnitMove,
        audit: &AuditContext,
    ) -> StoreResult<RentalUnit>;
    /// Whether `variant` is one of the shop's (what plans and units name).
    async fn has_variant(&self, tenant: TenantId, variant: VariantId) -> StoreResult<bool>;
    /// How many units of `variant` the shop has, and how many are available.
    async fn rental_unit_counts(
        &self,
        tenant: TenantId,
        variant: VariantId,
    ) -> StoreResult<UnitCounts>;
    /// How many units of `variant` can be rented now.
    async fn available_units(&self, tenant: TenantId, variant: VariantId) -> StoreResult<i64> {
        Ok(self.rental_unit_counts(tenant, variant).await?.available)
    }
}
