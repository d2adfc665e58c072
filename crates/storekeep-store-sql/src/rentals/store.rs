//! [`impl_rental_store!`](crate::impl_rental_store): the `RentalStore`
//! impl both backends share, each method a call into `rentals`.

/// Implements `RentalStore` for a backend's store type (with a `pool`
/// field) by calling the `rentals` functions with `$backend`.
#[macro_export]
macro_rules! impl_rental_store {
    ($store:ty, $backend:ty) => {
        const _: () = {
            use $crate::rentals as r;
            use $crate::rentals::reexports::*;

            #[async_trait]
            impl RentalStore for $store {
                async fn create_rental_plan(
                    &self,
                    plan: &RentalPlan,
                    audit: &AuditContext,
                ) -> StoreResult<RentalPlan> {
                    r::create_plan::<$backend>(&self.pool, plan, audit).await
                }
                async fn rental_plan(
                    &self,
                    tenant: TenantId,
                    id: RentalPlanId,
                ) -> StoreResult<RentalPlan> {
                    r::plan::<$backend>(&self.pool, tenant, id).await
                }
                async fn list_rental_plans(
                    &self,
                    tenant: TenantId,
                    filter: &RentalPlanFilter,
                    page: &PageRequest,
                ) -> StoreResult<Page<RentalPlan>> {
                    r::list_plans::<$backend>(&self.pool, tenant, filter, page).await
                }
                async fn update_rental_plan(
                    &self,
                    plan: &RentalPlan,
                    audit: &AuditContext,
                ) -> StoreResult<RentalPlan> {
                    r::update_plan::<$backend>(&self.pool, plan, audit).await
                }
                async fn delete_rental_plan(
                    &self,
                    tenant: TenantId,
                    id: RentalPlanId,
                    audit: &AuditContext,
                ) -> StoreResult<()> {
                    r::delete_plan::<$backend>(&self.pool, tenant, id, audit).await
                }
                async fn add_rental_unit(
                    &self,
                    unit: &RentalUnit,
                    note: &str,
                    audit: &AuditContext,
                ) -> StoreResult<RentalUnit> {
                    r::add_unit::<$backend>(&self.pool, unit, note, audit).await
                }
                async fn rental_unit(
                    &self,
                    tenant: TenantId,
                    id: RentalUnitId,
                ) -> StoreResult<(RentalUnit, Vec<UnitEvent>)> {
                    r::unit::<$backend>(&self.pool, tenant, id).await
                }
                async fn list_rental_units(
                    &self,
                    tenant: TenantId,
                    filter: &RentalUnitFilter,
                    page: &PageRequest,
                ) -> StoreResult<Page<RentalUnit>> {
                    r::list_units::<$backend>(&self.pool, tenant, filter, page).await
                }
                async fn update_rental_unit(
                    &self,
                    tenant: TenantId,
                    id: RentalUnitId,
                    patch: &RentalUnitPatch,
                    audit: &AuditContext,
                ) -> StoreResult<RentalUnit> {
                    r::update_unit::<$backend>(&self.pool, tenant, id, patch, audit).await
                }
                async fn move_rental_unit(
                    &self,
                    tenant: TenantId,
                    id: RentalUnitId,
                    to: &UnitMove,
                    audit: &AuditContext,
                ) -> StoreResult<RentalUnit> {
                    r::move_unit::<$backend>(&self.pool, tenant, id, to, audit).await
                }
                async fn has_variant(
                    &self,
                    tenant: TenantId,
                    variant: VariantId,
                ) -> StoreResult<bool> {
                    r::has_variant::<$backend>(&self.pool, tenant, variant).await
                }
                async fn rental_unit_counts(
                    &self,
                    tenant: TenantId,
                    variant: VariantId,
                ) -> StoreResult<UnitCounts> {
                    r::unit_counts::<$backend>(&self.pool, tenant, variant).await
                }
            }
        };
    };
}

/// The names [`impl_rental_store!`](crate::impl_rental_store) uses
/// (public only for the macro).
pub mod reexports {
    pub use async_trait::async_trait;
    pub use storekeep_domain::{
        AuditContext, Page, PageRequest, RentalPlan, RentalPlanId, RentalUnit, RentalUnitId,
        TenantId, UnitEvent, VariantId,
    };
    pub use storekeep_store::StoreResult;
    pub use storekeep_store::rentals::{
        RentalPlanFilter, RentalStore, RentalUnitFilter, RentalUnitPatch, UnitCounts, UnitMove,
    };
}
