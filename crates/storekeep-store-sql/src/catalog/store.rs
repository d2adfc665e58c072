//! [`impl_catalog_store!`](crate::impl_catalog_store): the `CatalogStore`
//! impl both backends share, written once, and the names it uses (public
//! only for the macro).

pub use async_trait::async_trait;
pub use storekeep_domain::{
    AuditContext, Category, CategoryId, CategoryPatch, Handle, ImageId, ImageVariant,
    ImportOutcome, ImportProgress, ImportRow, ImportRowError, InventoryAdjustment, NewCategory,
    NewImage, NewProduct, NewProductImport, NewVariant, Page, PageRequest, Product, ProductId,
    ProductImage, ProductImport, ProductImportId, ProductPatch, ProductQuery, SearchDoc, TenantId,
    Variant, VariantId, VariantPatch,
};
pub use storekeep_store::{CatalogStore, StoreError, StoreResult};

/// Implements `CatalogStore` for a backend's store type by calling, for
/// each method, the function that serves it (the store's `pool` first,
/// then the method's arguments): for `categories`, `variants`,
/// `inventory` and `images` this crate's generic function with `$backend`
/// (the backend's `Backend` impl); for `products`, `search` and `import`,
/// which differ, the backend's `catalog/<aggregate>.rs`. Those paths are
/// the invoking crate's (`crate::catalog::…`), so both backends keep the
/// same file and function names, and the trait's signatures are repeated
/// once here rather than once per backend.
#[macro_export]
#[expect(
    clippy::crate_in_macro_def,
    reason = "`crate::catalog` is meant to be the invoking backend's folder"
)]
macro_rules! impl_catalog_store {
    ($store:ty, $backend:ty) => {
        const _: () = {
            use $crate::catalog::store::*;

            #[async_trait]
            impl CatalogStore for $store {
                async fn create_category(
                    &self,
                    tenant: TenantId,
                    new: &NewCategory,
                    ctx: &AuditContext,
                ) -> StoreResult<Category> {
                    $crate::catalog::categories::create::<$backend>(&self.pool, tenant, new, ctx)
                        .await
                }

                async fn list_categories(&self, tenant: TenantId) -> StoreResult<Vec<Category>> {
                    $crate::catalog_read!(self, pool => $crate::catalog::categories::list::<$backend>(pool, tenant))
                }

                async fn update_category(
                    &self,
                    tenant: TenantId,
                    id: CategoryId,
                    patch: &CategoryPatch,
                    ctx: &AuditContext,
                ) -> StoreResult<Category> {
                    $crate::catalog::categories::update::<$backend>(
                        &self.pool, tenant, id, patch, ctx,
                    )
                    .await
                }

                async fn delete_category(
                    &self,
                    tenant: TenantId,
                    id: CategoryId,
                    ctx: &AuditContext,
                ) -> StoreResult<()> {
                    $crate::catalog::categories::delete::<$backend>(&self.pool, tenant, id, ctx)
                        .await
                }

                async fn create_product(
                    &self,
                    tenant: TenantId,
                    new: &NewProduct,
                    max_products: i64,
                    ctx: &AuditContext,
                ) -> StoreResult<Product> {
                    $crate::catalog::products::create::<$backend>(&self.pool, tenant, new, max_products, ctx)
                        .await
                }

                async fn product(&self, tenant: TenantId, id: ProductId) -> StoreResult<Product> {
                    $crate::catalog_read!(self, pool => $crate::catalog::products::get::<$backend>(pool, tenant, id))
                }

                async fn product_by_handle(
                    &self,
                    tenant: TenantId,
                    handle: &Handle,
                ) -> StoreResult<Product> {
                    $crate::catalog_read!(self, pool => $crate::catalog::products::by_handle::<$backend>(pool, tenant, handle))
                }

                async fn products_by_ids(
                    &self,
                    tenant: TenantId,
                    ids: &[ProductId],
                ) -> StoreResult<Vec<Product>> {
                    $crate::catalog_read!(self, pool => crate::catalog::products::by_ids(pool, tenant, ids))
                }

                async fn list_products(
                    &self,
                    tenant: TenantId,
                    query: &ProductQuery,
                ) -> StoreResult<Page<Product>> {
                    $crate::catalog_read!(self, pool => crate::catalog::products::list(pool, tenant, query))
                }

                async fn count_products(&self, tenant: TenantId) -> StoreResult<i64> {
                    $crate::catalog_read!(self, pool => $crate::catalog::products::count::<$backend>(pool, tenant))
                }

                async fn count_low_stock_upto(&self, tenant: TenantId, cap: i64) -> StoreResult<i64> {
                    crate::catalog::products::count_low_stock_upto(&self.pool, tenant, cap).await
                }

                async fn update_product(
                    &self,
                    tenant: TenantId,
                    id: ProductId,
                    patch: &ProductPatch,
                    ctx: &AuditContext,
                ) -> StoreResult<Product> {
                    $crate::catalog::products::update::<$backend>(&self.pool, tenant, id, patch, ctx).await
                }

                async fn delete_product(
                    &self,
                    tenant: TenantId,
                    id: ProductId,
                    ctx: &AuditContext,
                ) -> StoreResult<Product> {
                    $crate::catalog::products::delete::<$backend>(&self.pool, tenant, id, ctx).await
                }

                async fn add_variant(
                    &self,
                    tenant: TenantId,
                    product: ProductId,
                    new: &NewVariant,
                    ctx: &AuditContext,
                ) -> StoreResult<Variant> {
                    $crate::catalog::variants::add::<$backend>(
                        &self.pool, tenant, product, new, ctx,
                    )
                    .await
                }

                async fn update_variant(
                    &self,
                    tenant: TenantId,
                    id: VariantId,
                    patch: &VariantPatch,
                    ctx: &AuditContext,
                ) -> StoreResult<Variant> {
                    $crate::catalog::variants::update::<$backend>(
                        &self.pool, tenant, id, patch, ctx,
                    )
                    .await
                }

                async fn delete_variant(
                    &self,
                    tenant: TenantId,
                    id: VariantId,
                    ctx: &AuditContext,
                ) -> StoreResult<()> {
                    $crate::catalog::variants::delete::<$backend>(&self.pool, tenant, id, ctx).await
                }

                async fn adjust_inventory(
                    &self,
                    tenant: TenantId,
                    id: VariantId,
                    delta: i64,
                    reason: &str,
                    ctx: &AuditContext,
                ) -> StoreResult<(Variant, InventoryAdjustment)> {
                    $crate::catalog::inventory::adjust::<$backend>(
                        &self.pool, tenant, id, delta, reason, ctx,
                    )
                    .await
                }

                async fn inventory_ledger(
                    &self,
                    tenant: TenantId,
                    id: VariantId,
                    page: &PageRequest,
                ) -> StoreResult<Page<InventoryAdjustment>> {
                    $crate::catalog::inventory::ledger::<$backend>(&self.pool, tenant, id, page)
                        .await
                }

                async fn add_image(
                    &self,
                    tenant: TenantId,
                    image: &NewImage,
                    storage_limit: i64,
                    ctx: &AuditContext,
                ) -> StoreResult<ProductImage> {
                    $crate::catalog::images::add::<$backend>(
                        &self.pool,
                        tenant,
                        image,
                        storage_limit,
                        ctx,
                    )
                    .await
                }

                async fn image(&self, tenant: TenantId, id: ImageId) -> StoreResult<ProductImage> {
                    $crate::catalog::images::get::<$backend>(&self.pool, tenant, id).await
                }

                async fn delete_image(
                    &self,
                    tenant: TenantId,
                    id: ImageId,
                    ctx: &AuditContext,
                ) -> StoreResult<ProductImage> {
                    $crate::catalog::images::delete::<$backend>(&self.pool, tenant, id, ctx).await
                }

                async fn images_without_variants(
                    &self,
                    after: Option<ImageId>,
                    limit: i64,
                ) -> StoreResult<Vec<(TenantId, ImageId, String)>> {
                    $crate::catalog::images::without_variants::<$backend>(&self.pool, after, limit)
                        .await
                }

                async fn set_image_variants(
                    &self,
                    tenant: TenantId,
                    id: ImageId,
                    variants: &[ImageVariant],
                ) -> StoreResult<bool> {
                    $crate::catalog::images::set_variants::<$backend>(
                        &self.pool, tenant, id, variants,
                    )
                    .await
                }

                async fn search_candidates(
                    &self,
                    tenant: TenantId,
                    terms: &[String],
                    limit: i64,
                ) -> StoreResult<Vec<SearchDoc>> {
                    $crate::catalog_read!(self, pool => crate::catalog::search::candidates(pool, tenant, terms, limit))
                }

                async fn import_rows(
                    &self,
                    tenant: TenantId,
                    rows: &[ImportRow],
                    max_products: i64,
                    ctx: &AuditContext,
                ) -> StoreResult<Vec<Result<ImportOutcome, StoreError>>> {
                    crate::catalog::import::rows(&self.pool, tenant, rows, max_products, ctx).await
                }

                async fn products_after(
                    &self,
                    tenant: TenantId,
                    after: Option<ProductId>,
                    limit: i64,
                ) -> StoreResult<Vec<Product>> {
                    $crate::catalog::products::after::<$backend>(&self.pool, tenant, after, limit).await
                }

                async fn create_product_import(
                    &self,
                    tenant: TenantId,
                    new: &NewProductImport,
                ) -> StoreResult<ProductImport> {
                    $crate::catalog::imports::create::<$backend>(&self.pool, tenant, new).await
                }

                async fn product_import(
                    &self,
                    tenant: TenantId,
                    id: ProductImportId,
                ) -> StoreResult<ProductImport> {
                    $crate::catalog::imports::get::<$backend>(&self.pool, tenant, id).await
                }

                async fn list_product_imports(
                    &self,
                    tenant: TenantId,
                    page: &PageRequest,
                ) -> StoreResult<Page<ProductImport>> {
                    $crate::catalog::imports::list::<$backend>(&self.pool, tenant, page).await
                }

                async fn record_product_import_progress(
                    &self,
                    tenant: TenantId,
                    id: ProductImportId,
                    progress: &ImportProgress,
                ) -> StoreResult<bool> {
                    $crate::catalog::imports::progress::<$backend>(&self.pool, tenant, id, progress)
                        .await
                }

                async fn finish_product_import(
                    &self,
                    tenant: TenantId,
                    id: ProductImportId,
                    progress: &ImportProgress,
                    errors: &[ImportRowError],
                ) -> StoreResult<bool> {
                    $crate::catalog::imports::finish::<$backend>(
                        &self.pool, tenant, id, progress, errors,
                    )
                    .await
                }

                async fn fail_product_import(
                    &self,
                    tenant: TenantId,
                    id: ProductImportId,
                    message: &str,
                ) -> StoreResult<bool> {
                    $crate::catalog::imports::fail::<$backend>(&self.pool, tenant, id, message)
                        .await
                }
            }
        };
    };
}
