//! The catalog's share of the store: products, variants, categories,
//! inventory, images, search candidates and bulk import. Every operation is
//! scoped to one tenant; another tenant's row is `NotFound`.
//!
//! Every write is one transaction that also appends the audit entry, and
//! keeps the product's summary columns (price range, available stock,
//! search document) true, so lists filter and sort without joins.

use async_trait::async_trait;
use storekeep_domain::{
    AuditContext, Category, CategoryId, CategoryPatch, Handle, ImageId, ImageVariant,
    ImportOutcome, ImportProgress, ImportRow, ImportRowError, InventoryAdjustment, NewCategory,
    NewImage, NewProduct, NewProductImport, NewVariant, Page, PageRequest, Product, ProductId,
    ProductImage, ProductImport, ProductImportId, ProductPatch, ProductQuery, SearchDoc, TenantId,
    Variant, VariantId, VariantPatch,
};

use crate::{StoreError, StoreResult};

/// The most rows one import transaction holds; each row that can fail in
/// the database has its own savepoint inside it.
pub const IMPORT_BATCH: usize = 500;

#[async_trait]
pub trait CatalogStore: Send + Sync {
    // --- categories

    /// `UnknownReference { field: "parent_id" }` for a parent not in the shop.
    async fn create_category(
        &self,
        tenant: TenantId,
        new: &NewCategory,
        audit: &AuditContext,
    ) -> StoreResult<Category>;
    /// The whole tree, flat, ordered by (position, name, id).
    async fn list_categories(&self, tenant: TenantId) -> StoreResult<Vec<Category>>;
    /// Moving a category under itself or a descendant is `Invalid`.
    async fn update_category(
        &self,
        tenant: TenantId,
        id: CategoryId,
        patch: &CategoryPatch,
        audit: &AuditContext,
    ) -> StoreResult<Category>;
    /// A category with subcategories is `Invalid`; products filed under it
    /// are unfiled from it.
    async fn delete_category(
        &self,
        tenant: TenantId,
        id: CategoryId,
        audit: &AuditContext,
    ) -> StoreResult<()>;

    // --- products

    /// Creates the product and its variants (initial stock recorded in the
    /// ledger). Refused with `LimitReached` when the shop already has
    /// `max_products` products; the count is taken inside the transaction.
    async fn create_product(
        &self,
        tenant: TenantId,
        new: &NewProduct,
        max_products: i64,
        audit: &AuditContext,
    ) -> StoreResult<Product>;
    async fn product(&self, tenant: TenantId, id: ProductId) -> StoreResult<Product>;
    async fn product_by_handle(&self, tenant: TenantId, handle: &Handle) -> StoreResult<Product>;
    /// Products with these ids (any status), in no particular order;
    /// unknown ids are left out.
    async fn products_by_ids(
        &self,
        tenant: TenantId,
        ids: &[ProductId],
    ) -> StoreResult<Vec<Product>>;
    async fn list_products(
        &self,
        tenant: TenantId,
        query: &ProductQuery,
    ) -> StoreResult<Page<Product>>;
    async fn count_products(&self, tenant: TenantId) -> StoreResult<i64>;
    /// How many of `tenant`'s variants have at most
    /// [`LOW_STOCK_UNITS`](crate::rules::catalog::LOW_STOCK_UNITS) units
    /// available (on hand less reserved), counted up to `cap` on the
    /// partial index of the `low_stock` column: the console's bounded
    /// "low stock" figure.
    async fn count_low_stock_upto(&self, tenant: TenantId, cap: i64) -> StoreResult<i64>;
    async fn update_product(
        &self,
        tenant: TenantId,
        id: ProductId,
        patch: &ProductPatch,
        audit: &AuditContext,
    ) -> StoreResult<Product>;
    /// Deletes the product with its variants, images and ledger; returns
    /// what was deleted so the caller can remove the image objects.
    async fn delete_product(
        &self,
        tenant: TenantId,
        id: ProductId,
        audit: &AuditContext,
    ) -> StoreResult<Product>;

    // --- variants and inventory

    async fn add_variant(
        &self,
        tenant: TenantId,
        product: ProductId,
        new: &NewVariant,
        audit: &AuditContext,
    ) -> StoreResult<Variant>;
    async fn update_variant(
        &self,
        tenant: TenantId,
        id: VariantId,
        patch: &VariantPatch,
        audit: &AuditContext,
    ) -> StoreResult<Variant>;
    /// The last variant of a product cannot be deleted (`Invalid`).
    async fn delete_variant(
        &self,
        tenant: TenantId,
        id: VariantId,
        audit: &AuditContext,
    ) -> StoreResult<()>;
    /// Adds `delta` to on-hand stock and records it in the ledger, in one
    /// transaction. Going below zero or below the reserved stock is `Invalid`.
    async fn adjust_inventory(
        &self,
        tenant: TenantId,
        id: VariantId,
        delta: i64,
        reason: &str,
        audit: &AuditContext,
    ) -> StoreResult<(Variant, InventoryAdjustment)>;
    /// Newest first.
    async fn inventory_ledger(
        &self,
        tenant: TenantId,
        id: VariantId,
        page: &PageRequest,
    ) -> StoreResult<Page<InventoryAdjustment>>;

    // --- images

    /// Records an image already written to the media store. Refused with
    /// `LimitReached` when the shop's images would exceed `storage_limit` bytes.
    async fn add_image(
        &self,
        tenant: TenantId,
        image: &NewImage,
        storage_limit: i64,
        audit: &AuditContext,
    ) -> StoreResult<ProductImage>;
    async fn image(&self, tenant: TenantId, id: ImageId) -> StoreResult<ProductImage>;
    async fn delete_image(
        &self,
        tenant: TenantId,
        id: ImageId,
        audit: &AuditContext,
    ) -> StoreResult<ProductImage>;
    /// Up to `limit` images of every shop whose variants were never made
    /// (uploaded before variants existed), after `after` in id order: the
    /// shop, the image and its object key.
    async fn images_without_variants(
        &self,
        after: Option<ImageId>,
        limit: i64,
    ) -> StoreResult<Vec<(TenantId, ImageId, String)>>;
    /// Records the variants (already written to the media store) of an
    /// image that has none; `false`, recording nothing, when the image is
    /// gone or its variants were recorded meanwhile. Not held to the plan's
    /// storage limit: the operator's backfill completes what was uploaded.
    async fn set_image_variants(
        &self,
        tenant: TenantId,
        id: ImageId,
        variants: &[ImageVariant],
    ) -> StoreResult<bool>;

    // --- search

    /// Active products whose search document holds every term (as a word
    /// or a word prefix), newest first, at most `limit`.
    async fn search_candidates(
        &self,
        tenant: TenantId,
        terms: &[String],
        limit: i64,
    ) -> StoreResult<Vec<SearchDoc>>;

    // --- bulk

    /// Applies up to [`IMPORT_BATCH`] rows in one transaction, each row
    /// atomically (new products decided in memory and written together,
    /// the other rows in their own savepoints): a failing row leaves
    /// nothing behind and does not stop the others. Products are matched by handle, variants by SKU (a
    /// SKU of another product fails the row); stock is set to the row's
    /// figure through a ledger entry. Appends one audit entry for the batch.
    async fn import_rows(
        &self,
        tenant: TenantId,
        rows: &[ImportRow],
        max_products: i64,
        audit: &AuditContext,
    ) -> StoreResult<Vec<Result<ImportOutcome, StoreError>>>;
    /// Products in id order after `after`, for export.
    async fn products_after(
        &self,
        tenant: TenantId,
        after: Option<ProductId>,
        limit: i64,
    ) -> StoreResult<Vec<Product>>;

    // --- background imports

    /// Records a queued background import (its file already stored).
    async fn create_product_import(
        &self,
        tenant: TenantId,
        new: &NewProductImport,
    ) -> StoreResult<ProductImport>;
    /// One of the shop's imports; another shop's is `NotFound`.
    async fn product_import(
        &self,
        tenant: TenantId,
        id: ProductImportId,
    ) -> StoreResult<ProductImport>;
    /// The shop's imports, newest first, keyset-paged.
    async fn list_product_imports(
        &self,
        tenant: TenantId,
        page: &PageRequest,
    ) -> StoreResult<Page<ProductImport>>;
    /// Marks the import running with how far it got. `false` (nothing
    /// changed) when it is already done or failed.
    async fn record_product_import_progress(
        &self,
        tenant: TenantId,
        id: ProductImportId,
        progress: &ImportProgress,
    ) -> StoreResult<bool>;
    /// Marks the import done with its final counts and row errors; `false`
    /// when it was already done or failed.
    async fn finish_product_import(
        &self,
        tenant: TenantId,
        id: ProductImportId,
        progress: &ImportProgress,
        errors: &[ImportRowError],
    ) -> StoreResult<bool>;
    /// Marks the import failed with why; `false` when it was already done
    /// or failed.
    async fn fail_product_import(
        &self,
        tenant: TenantId,
        id: ProductImportId,
        message: &str,
    ) -> StoreResult<bool>;
}

/// What the audit log keeps of a product: enough to see what changed,
/// without the (long) description.
pub fn product_summary(p: &Product) -> serde_json::Value {
    serde_json::json!({
        "id": p.id,
        "handle": p.handle,
        "title": p.title,
        "status": p.status,
        "tags": p.tags,
        "categories": p.categories,
        "variants": p.variants.iter().map(variant_summary).collect::<Vec<_>>(),
        "images": p.images.iter().map(|i| i.id).collect::<Vec<_>>(),
    })
}

/// What the audit log keeps of a variant.
pub fn variant_summary(v: &Variant) -> serde_json::Value {
    serde_json::json!({
        "id": v.id,
        "sku": v.sku,
        "title": v.title,
        "options": v.options,
        "price": v.price,
        "compare_at_price": v.compare_at_price,
        "on_hand": v.inventory.on_hand,
    })
}

/// The FTS5 query for `terms`: every term as a word or prefix.
pub fn fts5_query(terms: &[String]) -> String {
    terms
        .iter()
        .map(|t| format!("\"{}\"*", t.replace('"', "")))
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// The PostgreSQL `to_tsquery('simple', ...)` text for `terms`.
pub fn tsquery(terms: &[String]) -> String {
    terms
        .iter()
        .map(|t| {
            let t: String = t.chars().filter(|c| c.is_alphanumeric()).collect();
            format!("'{t}':*")
        })
        .collect::<Vec<_>>()
        .join(" & ")
}
