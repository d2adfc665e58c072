//! The shop's catalog as staff and integrations change it: products,
//! variants, stock, categories (creation and deletion of products live in
//! `services::catalog`, with the parsing they share).

use storekeep_domain::{
    AuditContext, Category, CategoryId, Handle, InventoryAdjustment, MAX_QUANTITY, Page,
    PageRequest, Product, ProductId, Tenant, ValidationErrors, Variant, VariantId,
};
use storekeep_store::StoreError;

use crate::services::{ServiceResult, Services};
use crate::services::{catalog, storefront};
use crate::wire::catalog::{
    CategoryInput, CategoryPatchInput, ListParams, ProductPatchInput, VariantInput,
    VariantPatchInput,
};
use crate::wire::storefront::SearchParams;

/// The shop's products in every status, with the storefront's filters.
pub async fn list(
    svc: &Services,
    tenant: &Tenant,
    params: &ListParams,
) -> ServiceResult<Page<Product>> {
    let query = catalog::product_query(svc, tenant, params, false).await?;
    let page = svc.store.list_products(tenant.id, &query).await?;
    Ok(Page {
        items: page
            .items
            .into_iter()
            .map(|p| catalog::with_urls(svc, p))
            .collect(),
        next_cursor: page.next_cursor,
    })
}

/// Staff search (the console's `q`): on the first page, the product whose
/// handle is `q` exactly, in any status; then the storefront's ranked
/// word search, which covers active products only (the store keeps no
/// search index of drafts). Keyset-paged by the search's own cursor.
pub async fn search(
    svc: &Services,
    tenant: &Tenant,
    params: &SearchParams,
) -> ServiceResult<Page<Product>> {
    let query = storefront::SearchQuery::parse(params)?;
    let mut items = Vec::new();
    if params.after.as_deref().is_none_or(str::is_empty)
        && let Ok(handle) = Handle::parse(&params.q)
    {
        match svc.store.product_by_handle(tenant.id, &handle).await {
            Ok(p) => items.push(catalog::with_urls(svc, p)),
            Err(StoreError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let found = storefront::search(svc, tenant, &query).await?;
    for p in found.items {
        if !items.iter().any(|i: &Product| i.id == p.id) {
            items.push(p);
        }
    }
    Ok(Page {
        items,
        next_cursor: found.next_cursor,
    })
}

pub async fn get(svc: &Services, tenant: &Tenant, id: ProductId) -> ServiceResult<Product> {
    let product = svc.store.product(tenant.id, id).await?;
    Ok(catalog::with_urls(svc, product))
}

/// Changes the fields present; `tags` and `categories` replace the stored
/// lists.
pub async fn update(
    svc: &Services,
    tenant: &Tenant,
    id: ProductId,
    input: &ProductPatchInput,
    audit: &AuditContext,
) -> ServiceResult<Product> {
    let patch = catalog::parse_product_patch(input)?;
    let product = svc
        .store
        .update_product(tenant.id, id, &patch, audit)
        .await?;
    Ok(catalog::with_urls(svc, product))
}

pub async fn add_variant(
    svc: &Services,
    tenant: &Tenant,
    product: ProductId,
    input: &VariantInput,
    audit: &AuditContext,
) -> ServiceResult<Variant> {
    let mut errors = ValidationErrors::new();
    let new = catalog::parse_variant(&mut errors, "variant", input, &tenant.settings.currency);
    errors.into_result()?;
    let new =
        new.ok_or_else(|| StoreError::Other("variant parsed without errors or value".into()))?;
    Ok(svc
        .store
        .add_variant(tenant.id, product, &new, audit)
        .await?)
}

/// Changes a variant's SKU, title, options or prices (stock changes go
/// through inventory adjustments).
pub async fn update_variant(
    svc: &Services,
    tenant: &Tenant,
    id: VariantId,
    input: &VariantPatchInput,
    audit: &AuditContext,
) -> ServiceResult<Variant> {
    let patch = catalog::parse_variant_patch(input, &tenant.settings.currency)?;
    Ok(svc
        .store
        .update_variant(tenant.id, id, &patch, audit)
        .await?)
}

pub async fn delete_variant(
    svc: &Services,
    tenant: &Tenant,
    id: VariantId,
    audit: &AuditContext,
) -> ServiceResult<()> {
    Ok(svc.store.delete_variant(tenant.id, id, audit).await?)
}

/// Adds to or removes from on-hand stock, recorded in the ledger with the
/// reason.
pub async fn adjust_inventory(
    svc: &Services,
    tenant: &Tenant,
    id: VariantId,
    delta: i64,
    reason: &str,
    audit: &AuditContext,
) -> ServiceResult<(Variant, InventoryAdjustment)> {
    let reason = catalog::parse_reason(reason)?;
    if delta == 0 || !(-MAX_QUANTITY..=MAX_QUANTITY).contains(&delta) {
        return Err(ValidationErrors::single(
            "delta",
            format!("must be non-zero and at most {MAX_QUANTITY} either way"),
        )
        .into());
    }
    Ok(svc
        .store
        .adjust_inventory(tenant.id, id, delta, &reason, audit)
        .await?)
}

/// The variant's stock ledger, newest first.
pub async fn ledger(
    svc: &Services,
    tenant: &Tenant,
    id: VariantId,
    page: &PageRequest,
) -> ServiceResult<Page<InventoryAdjustment>> {
    Ok(svc.store.inventory_ledger(tenant.id, id, page).await?)
}

/// Every category, flat, ordered by position then name.
pub async fn categories(svc: &Services, tenant: &Tenant) -> ServiceResult<Vec<Category>> {
    Ok(svc.store.list_categories(tenant.id).await?)
}

pub async fn create_category(
    svc: &Services,
    tenant: &Tenant,
    input: &CategoryInput,
    audit: &AuditContext,
) -> ServiceResult<Category> {
    let new = catalog::parse_category(input)?;
    Ok(svc.store.create_category(tenant.id, &new, audit).await?)
}

/// Renames or moves a category (`parent_id: null` moves it to the top).
pub async fn update_category(
    svc: &Services,
    tenant: &Tenant,
    id: CategoryId,
    input: &CategoryPatchInput,
    audit: &AuditContext,
) -> ServiceResult<Category> {
    let patch = catalog::parse_category_patch(input)?;
    Ok(svc
        .store
        .update_category(tenant.id, id, &patch, audit)
        .await?)
}

/// Deletes a category without subcategories; its products stay, unfiled
/// from it.
pub async fn delete_category(
    svc: &Services,
    tenant: &Tenant,
    id: CategoryId,
    audit: &AuditContext,
) -> ServiceResult<()> {
    Ok(svc.store.delete_category(tenant.id, id, audit).await?)
}
