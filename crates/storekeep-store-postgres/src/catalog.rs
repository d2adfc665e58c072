//! The catalog on PostgreSQL. Transactions run at READ COMMITTED, so where
//! the SQLite store relies on `BEGIN IMMEDIATE` serialising writers, this
//! one takes row locks before it reads what it is about to change. Locks
//! are always taken in this order, so writers queue instead of deadlocking:
//!
//! 1. the tenant row, `FOR NO KEY UPDATE` (which does not block inserts
//!    elsewhere that merely reference the tenant): plan limits (product
//!    count, image storage), the category tree, imports;
//! 2. the product row, `FOR UPDATE`: anything that changes a product, its
//!    variants, stock or images;
//! 3. the variant row, `FOR UPDATE`: stock changes;
//! 4. the audit chain's head, taken by `audit::append`, always last.
//!
//! Categories a product is filed under are read `FOR KEY SHARE`, so they
//! cannot be deleted before the filing commits.

use std::collections::{BTreeMap, HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{PgConnection, Postgres, QueryBuilder};
use storekeep_domain::{
    AuditContext, Category, CategoryId, CategoryPatch, Handle, ImageId, ImportOutcome, ImportRow,
    ImportVariant, Inventory, InventoryAdjustment, Money, NewCategory, NewImage, NewProduct,
    NewVariant, Page, PageRequest, Product, ProductCursor, ProductId, ProductImage, ProductPatch,
    ProductQuery, ProductSort, ProductStatus, SearchDoc, Sku, TenantId, Variant, VariantId,
    VariantPatch, search_document, title_key,
};
use storekeep_store::catalog::{product_summary, tsquery, variant_summary};
use storekeep_store::{CatalogStore, StoreError, StoreResult, now};
use uuid::Uuid;

use crate::error::other;
use crate::{PgStore, audit, error, write_tx};

const UNIQUES: &[(&str, &str)] = &[
    ("products_handle_key", "handle"),
    ("variants_sku_key", "sku"),
    ("categories_handle_key", "handle"),
];

fn map_err(e: sqlx::Error) -> StoreError {
    error::map(e, UNIQUES)
}

fn corrupt(what: String) -> StoreError {
    StoreError::Other(format!("stored catalog row is invalid: {what}").into())
}

#[derive(sqlx::FromRow)]
pub(crate) struct ProductRow {
    id: Uuid,
    handle: String,
    title: String,
    description: String,
    status: String,
    tags: Json<Vec<String>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

pub(crate) const PRODUCT_COLUMNS: &str =
    "p.id, p.handle, p.title, p.description, p.status, p.tags, p.created_at, p.updated_at";

#[derive(sqlx::FromRow)]
struct VariantRow {
    id: Uuid,
    product_id: Uuid,
    sku: String,
    title: String,
    options: Json<BTreeMap<String, String>>,
    price: i64,
    currency: String,
    compare_at_price: Option<i64>,
    on_hand: i64,
    reserved: i64,
    position: i64,
}

const VARIANT_COLUMNS: &str = "id, product_id, sku, title, options, price, currency, \
     compare_at_price, on_hand, reserved, position";

impl TryFrom<VariantRow> for Variant {
    type Error = StoreError;
    fn try_from(r: VariantRow) -> StoreResult<Self> {
        Ok(Variant {
            id: VariantId(r.id),
            product_id: ProductId(r.product_id),
            sku: Sku::parse(&r.sku).map_err(corrupt)?,
            title: r.title,
            options: r.options.0,
            price: Money {
                amount: r.price,
                currency: r.currency.clone(),
            },
            compare_at_price: r.compare_at_price.map(|amount| Money {
                amount,
                currency: r.currency,
            }),
            inventory: Inventory::new(r.on_hand, r.reserved),
            position: r.position,
        })
    }
}

#[derive(sqlx::FromRow)]
struct ImageRow {
    id: Uuid,
    product_id: Uuid,
    object_key: String,
    content_type: String,
    width: i64,
    height: i64,
    size_bytes: i64,
    alt: String,
    position: i64,
    created_at: DateTime<Utc>,
}

const IMAGE_COLUMNS: &str = "id, product_id, object_key, content_type, width, height, \
     size_bytes, alt, position, created_at";

impl TryFrom<ImageRow> for ProductImage {
    type Error = StoreError;
    fn try_from(r: ImageRow) -> StoreResult<Self> {
        Ok(ProductImage {
            id: ImageId(r.id),
            product_id: ProductId(r.product_id),
            key: r.object_key,
            url: String::new(),
            content_type: r.content_type,
            width: u32::try_from(r.width).map_err(other)?,
            height: u32::try_from(r.height).map_err(other)?,
            size_bytes: r.size_bytes,
            alt: r.alt,
            position: r.position,
            created_at: r.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct CategoryRow {
    id: Uuid,
    parent_id: Option<Uuid>,
    handle: String,
    name: String,
    position: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

const CATEGORY_COLUMNS: &str = "id, parent_id, handle, name, position, created_at, updated_at";

impl TryFrom<CategoryRow> for Category {
    type Error = StoreError;
    fn try_from(r: CategoryRow) -> StoreResult<Self> {
        Ok(Category {
            id: CategoryId(r.id),
            parent_id: r.parent_id.map(CategoryId),
            handle: Handle::parse(&r.handle).map_err(corrupt)?,
            name: r.name,
            position: r.position,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// Turns product rows into products, loading their variants, images and
/// categories with one query each.
pub(crate) async fn assemble(
    conn: &mut PgConnection,
    rows: Vec<ProductRow>,
) -> StoreResult<Vec<Product>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();

    let sql = format!(
        "SELECT {VARIANT_COLUMNS} FROM variants WHERE product_id = ANY($1) \
         ORDER BY position, id"
    );
    let mut variants: HashMap<Uuid, Vec<Variant>> = HashMap::new();
    for r in sqlx::query_as::<_, VariantRow>(&sql)
        .bind(&ids)
        .fetch_all(&mut *conn)
        .await
        .map_err(other)?
    {
        variants
            .entry(r.product_id)
            .or_default()
            .push(r.try_into()?);
    }

    let sql = format!(
        "SELECT {IMAGE_COLUMNS} FROM product_images WHERE product_id = ANY($1) \
         ORDER BY position, id"
    );
    let mut images: HashMap<Uuid, Vec<ProductImage>> = HashMap::new();
    for r in sqlx::query_as::<_, ImageRow>(&sql)
        .bind(&ids)
        .fetch_all(&mut *conn)
        .await
        .map_err(other)?
    {
        images.entry(r.product_id).or_default().push(r.try_into()?);
    }

    let mut categories: HashMap<Uuid, Vec<CategoryId>> = HashMap::new();
    for (product, category) in sqlx::query_as::<_, (Uuid, Uuid)>(
        "SELECT product_id, category_id FROM product_categories WHERE product_id = ANY($1) \
         ORDER BY position",
    )
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await
    .map_err(other)?
    {
        categories
            .entry(product)
            .or_default()
            .push(CategoryId(category));
    }

    rows.into_iter()
        .map(|r| {
            Ok(Product {
                id: ProductId(r.id),
                handle: Handle::parse(&r.handle).map_err(corrupt)?,
                title: r.title,
                description: r.description,
                status: ProductStatus::parse(&r.status).map_err(corrupt)?,
                tags: r.tags.0,
                categories: categories.remove(&r.id).unwrap_or_default(),
                variants: variants.remove(&r.id).unwrap_or_default(),
                images: images.remove(&r.id).unwrap_or_default(),
                created_at: r.created_at,
                updated_at: r.updated_at,
            })
        })
        .collect()
}

async fn assemble_one(conn: &mut PgConnection, row: Option<ProductRow>) -> StoreResult<Product> {
    let row = row.ok_or(StoreError::NotFound("product"))?;
    assemble(conn, vec![row])
        .await?
        .pop()
        .ok_or(StoreError::NotFound("product"))
}

async fn fetch_product(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: Uuid,
) -> StoreResult<Product> {
    let row: Option<ProductRow> = sqlx::query_as(&format!(
        "SELECT {PRODUCT_COLUMNS} FROM products p WHERE p.tenant_id = $1 AND p.id = $2"
    ))
    .bind(tenant.0)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(other)?;
    assemble_one(conn, row).await
}

async fn fetch_variant(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: VariantId,
) -> StoreResult<Variant> {
    let row: Option<VariantRow> = sqlx::query_as(&format!(
        "SELECT {VARIANT_COLUMNS} FROM variants WHERE tenant_id = $1 AND id = $2"
    ))
    .bind(tenant.0)
    .bind(id.0)
    .fetch_optional(&mut *conn)
    .await
    .map_err(other)?;
    row.ok_or(StoreError::NotFound("variant"))?.try_into()
}

async fn fetch_category(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: CategoryId,
) -> StoreResult<Category> {
    let row: Option<CategoryRow> = sqlx::query_as(&format!(
        "SELECT {CATEGORY_COLUMNS} FROM categories WHERE tenant_id = $1 AND id = $2"
    ))
    .bind(tenant.0)
    .bind(id.0)
    .fetch_optional(&mut *conn)
    .await
    .map_err(other)?;
    row.ok_or(StoreError::NotFound("category"))?.try_into()
}

async fn fetch_image(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: ImageId,
) -> StoreResult<ProductImage> {
    let row: Option<ImageRow> = sqlx::query_as(&format!(
        "SELECT {IMAGE_COLUMNS} FROM product_images WHERE tenant_id = $1 AND id = $2"
    ))
    .bind(tenant.0)
    .bind(id.0)
    .fetch_optional(&mut *conn)
    .await
    .map_err(other)?;
    row.ok_or(StoreError::NotFound("image"))?.try_into()
}

/// Lock 1: serialises the shop's limit checks, category tree changes and
/// imports. A missing tenant locks nothing (as on SQLite, the inserts that
/// follow fail instead).
async fn lock_tenant(conn: &mut PgConnection, tenant: TenantId) -> StoreResult<()> {
    sqlx::query("SELECT 1 FROM tenants WHERE id = $1 FOR NO KEY UPDATE")
        .bind(tenant.0)
        .execute(&mut *conn)
        .await
        .map_err(other)?;
    Ok(())
}

/// Lock 2: the product row, before reading what will change. `NotFound`
/// when the product is not the shop's (or was deleted meanwhile).
async fn lock_product(conn: &mut PgConnection, tenant: TenantId, id: Uuid) -> StoreResult<()> {
    let found: Option<Uuid> =
        sqlx::query_scalar("SELECT id FROM products WHERE tenant_id = $1 AND id = $2 FOR UPDATE")
            .bind(tenant.0)
            .bind(id)
            .fetch_optional(&mut *conn)
            .await
            .map_err(other)?;
    found.map(|_| ()).ok_or(StoreError::NotFound("product"))
}

/// Locks a variant's product (a variant never changes product), then reads
/// the variant as it is now.
async fn lock_variant(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: VariantId,
) -> StoreResult<Variant> {
    let product: Option<Uuid> =
        sqlx::query_scalar("SELECT product_id FROM variants WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0)
            .bind(id.0)
            .fetch_optional(&mut *conn)
            .await
            .map_err(other)?;
    let product = product.ok_or(StoreError::NotFound("variant"))?;
    match lock_product(conn, tenant, product).await {
        Err(StoreError::NotFound(_)) => return Err(StoreError::NotFound("variant")),
        r => r?,
    }
    fetch_variant(conn, tenant, id).await
}

/// Recomputes a product's cheapest price and available stock.
pub(crate) async fn refresh_summary(conn: &mut PgConnection, product: Uuid) -> StoreResult<()> {
    sqlx::query(
        "UPDATE products SET \
         min_price = coalesce((SELECT min(price) FROM variants WHERE product_id = $1), 0), \
         available = coalesce((SELECT sum(greatest(on_hand - reserved, 0)) FROM variants \
                               WHERE product_id = $1), 0)::bigint \
         WHERE id = $1",
    )
    .bind(product)
    .execute(&mut *conn)
    .await
    .map_err(other)?;
    Ok(())
}

async fn touch_product(conn: &mut PgConnection, product: Uuid) -> StoreResult<()> {
    sqlx::query("UPDATE products SET updated_at = $1 WHERE id = $2")
        .bind(now())
        .bind(product)
        .execute(&mut *conn)
        .await
        .map_err(other)?;
    Ok(())
}

async fn set_tags(
    conn: &mut PgConnection,
    tenant: TenantId,
    product: Uuid,
    tags: &[String],
) -> StoreResult<()> {
    sqlx::query("DELETE FROM product_tags WHERE product_id = $1")
        .bind(product)
        .execute(&mut *conn)
        .await
        .map_err(other)?;
    if !tags.is_empty() {
        sqlx::query(
            "INSERT INTO product_tags (product_id, tenant_id, tag) \
             SELECT $1, $2, unnest($3::text[]) ON CONFLICT DO NOTHING",
        )
        .bind(product)
        .bind(tenant.0)
        .bind(tags)
        .execute(&mut *conn)
        .await
        .map_err(other)?;
    }
    Ok(())
}

/// Files the product under `categories` (in that order; repeats ignored).
/// The categories are checked and locked `FOR KEY SHARE` before the old
/// filing is touched, so a concurrent category delete waits for this
/// transaction instead of deadlocking with it.
async fn set_categories(
    conn: &mut PgConnection,
    tenant: TenantId,
    product: Uuid,
    categories: &[CategoryId],
) -> StoreResult<()> {
    let ids: Vec<Uuid> = categories.iter().map(|c| c.0).collect();
    if !ids.is_empty() {
        let found: HashSet<Uuid> = sqlx::query_scalar(
            "SELECT id FROM categories WHERE tenant_id = $1 AND id = ANY($2) FOR KEY SHARE",
        )
        .bind(tenant.0)
        .bind(&ids)
        .fetch_all(&mut *conn)
        .await
        .map_err(other)?
        .into_iter()
        .collect();
        if ids.iter().any(|id| !found.contains(id)) {
            return Err(StoreError::UnknownReference {
                field: "categories",
            });
        }
    }
    sqlx::query("DELETE FROM product_categories WHERE product_id = $1")
        .bind(product)
        .execute(&mut *conn)
        .await
        .map_err(other)?;
    if !ids.is_empty() {
        // Position is the index in the request, as on SQLite (a repeat
        // keeps its first position).
        sqlx::query(
            "INSERT INTO product_categories (product_id, category_id, position) \
             SELECT $1, c.id, c.n - 1 FROM unnest($2::uuid[]) WITH ORDINALITY AS c (id, n) \
             ORDER BY c.n ON CONFLICT DO NOTHING",
        )
        .bind(product)
        .bind(&ids)
        .execute(&mut *conn)
        .await
        .map_err(other)?;
    }
    Ok(())
}

pub(crate) async fn record_ledger(
    conn: &mut PgConnection,
    tenant: TenantId,
    variant: Uuid,
    delta: i64,
    reason: &str,
    on_hand_after: i64,
    actor: &str,
) -> StoreResult<InventoryAdjustment> {
    let adjustment = InventoryAdjustment {
        id: Uuid::now_v7(),
        variant_id: VariantId(variant),
        delta,
        reason: reason.to_owned(),
        on_hand_after,
        actor: actor.to_owned(),
        at: now(),
    };
    sqlx::query(
        "INSERT INTO inventory_ledger (id, tenant_id, variant_id, delta, reason, on_hand_after, \
         actor, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(adjustment.id)
    .bind(tenant.0)
    .bind(variant)
    .bind(delta)
    .bind(reason)
    .bind(on_hand_after)
    .bind(actor)
    .bind(adjustment.at)
    .execute(&mut *conn)
    .await
    .map_err(other)?;
    Ok(adjustment)
}

/// Inserts a variant at the end of the product's list; the caller holds
/// the product's lock, so positions don't collide.
async fn insert_variant(
    conn: &mut PgConnection,
    tenant: TenantId,
    product: Uuid,
    v: &NewVariant,
    actor: &str,
    reason: &str,
) -> StoreResult<Uuid> {
    let id = VariantId::new().0;
    let at = now();
    let position: i64 = sqlx::query_scalar(
        "SELECT coalesce(max(position) + 1, 0) FROM variants WHERE product_id = $1",
    )
    .bind(product)
    .fetch_one(&mut *conn)
    .await
    .map_err(other)?;
    sqlx::query(
        "INSERT INTO variants (id, tenant_id, product_id, sku, title, options, price, currency, \
         compare_at_price, on_hand, reserved, position, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, $11, $12, $12)",
    )
    .bind(id)
    .bind(tenant.0)
    .bind(product)
    .bind(v.sku.as_str())
    .bind(&v.title)
    .bind(Json(&v.options))
    .bind(v.price.amount)
    .bind(&v.price.currency)
    .bind(v.compare_at_price.as_ref().map(|m| m.amount))
    .bind(v.on_hand)
    .bind(position)
    .bind(at)
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    if v.on_hand != 0 {
        record_ledger(conn, tenant, id, v.on_hand, reason, v.on_hand, actor).await?;
    }
    Ok(id)
}

/// Writes a variant's descriptive fields (not its stock).
async fn write_variant(conn: &mut PgConnection, id: Uuid, v: &NewVariant) -> StoreResult<()> {
    sqlx::query(
        "UPDATE variants SET sku = $1, title = $2, options = $3, price = $4, currency = $5, \
         compare_at_price = $6, updated_at = $7 WHERE id = $8",
    )
    .bind(v.sku.as_str())
    .bind(&v.title)
    .bind(Json(&v.options))
    .bind(v.price.amount)
    .bind(&v.price.currency)
    .bind(v.compare_at_price.as_ref().map(|m| m.amount))
    .bind(now())
    .bind(id)
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    Ok(())
}

/// Adds `delta` to on-hand stock through a ledger entry, with the variant
/// row locked. Below zero or below the reserved stock is `Invalid`.
pub(crate) async fn change_stock(
    conn: &mut PgConnection,
    tenant: TenantId,
    variant: Uuid,
    delta: i64,
    reason: &str,
    actor: &str,
) -> StoreResult<InventoryAdjustment> {
    let (on_hand, reserved): (i64, i64) =
        sqlx::query_as("SELECT on_hand, reserved FROM variants WHERE id = $1 FOR UPDATE")
            .bind(variant)
            .fetch_one(&mut *conn)
            .await
            .map_err(other)?;
    let after = on_hand
        .checked_add(delta)
        .filter(|a| (0..=storekeep_domain::MAX_QUANTITY).contains(a))
        .ok_or(StoreError::Invalid(
            "stock would go below zero or above the largest quantity",
        ))?;
    if after < reserved {
        return Err(StoreError::Invalid(
            "stock would go below what is reserved for open orders",
        ));
    }
    sqlx::query("UPDATE variants SET on_hand = $1, updated_at = $2 WHERE id = $3")
        .bind(after)
        .bind(now())
        .bind(variant)
        .execute(&mut *conn)
        .await
        .map_err(other)?;
    record_ledger(conn, tenant, variant, delta, reason, after, actor).await
}

#[allow(clippy::too_many_arguments)]
async fn write_product_fields(
    conn: &mut PgConnection,
    id: Uuid,
    handle: &Handle,
    title: &str,
    description: &str,
    status: Option<ProductStatus>,
    tags: &[String],
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE products SET handle = $1, title = $2, title_key = $3, description = $4, \
         status = coalesce($5, status), tags = $6, search_doc = $7, updated_at = $8 WHERE id = $9",
    )
    .bind(handle.as_str())
    .bind(title)
    .bind(title_key(title))
    .bind(description)
    .bind(status.map(ProductStatus::as_str))
    .bind(Json(tags))
    .bind(search_document(title, tags, description))
    .bind(now())
    .bind(id)
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    Ok(())
}

/// The caller holds the tenant's lock, so the count stays true until commit.
async fn product_count(conn: &mut PgConnection, tenant: TenantId) -> StoreResult<i64> {
    sqlx::query_scalar("SELECT count(*) FROM products WHERE tenant_id = $1")
        .bind(tenant.0)
        .fetch_one(&mut *conn)
        .await
        .map_err(other)
}

async fn check_product_limit(
    conn: &mut PgConnection,
    tenant: TenantId,
    max_products: i64,
) -> StoreResult<()> {
    let count = product_count(conn, tenant).await?;
    if count >= max_products {
        return Err(StoreError::LimitReached("products"));
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn insert_product(
    conn: &mut PgConnection,
    tenant: TenantId,
    handle: &Handle,
    title: &str,
    description: &str,
    status: ProductStatus,
    tags: &[String],
    categories: &[CategoryId],
) -> StoreResult<Uuid> {
    let id = ProductId::new().0;
    sqlx::query(
        "INSERT INTO products (id, tenant_id, handle, title, title_key, description, status, \
         tags, min_price, available, search_doc, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, 0, $9, $10, $10)",
    )
    .bind(id)
    .bind(tenant.0)
    .bind(handle.as_str())
    .bind(title)
    .bind(title_key(title))
    .bind(description)
    .bind(status.as_str())
    .bind(Json(tags))
    .bind(search_document(title, tags, description))
    .bind(now())
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    set_tags(conn, tenant, id, tags).await?;
    set_categories(conn, tenant, id, categories).await?;
    Ok(id)
}

/// Appends the shop's audit entry in the caller's transaction.
pub(crate) async fn append(
    conn: &mut PgConnection,
    tenant: TenantId,
    ctx: &AuditContext,
    action: &str,
    target: String,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> StoreResult<()> {
    audit::append(
        conn,
        &tenant.to_string(),
        ctx,
        action,
        &target,
        before,
        after,
    )
    .await?;
    Ok(())
}

async fn exec(conn: &mut PgConnection, sql: &str) -> StoreResult<()> {
    sqlx::query(sql).execute(&mut *conn).await.map_err(other)?;
    Ok(())
}

/// Applies one import row; runs inside the row's savepoint, with the
/// tenant locked by the batch.
async fn import_row(
    conn: &mut PgConnection,
    tenant: TenantId,
    row: &ImportRow,
    room: i64,
    actor: &str,
) -> StoreResult<ImportOutcome> {
    let mut categories = Vec::with_capacity(row.categories.len());
    for handle in &row.categories {
        let id: Option<Uuid> =
            sqlx::query_scalar("SELECT id FROM categories WHERE tenant_id = $1 AND handle = $2")
                .bind(tenant.0)
                .bind(handle.as_str())
                .fetch_optional(&mut *conn)
                .await
                .map_err(other)?;
        let id = id.ok_or(StoreError::UnknownReference {
            field: "categories",
        })?;
        categories.push(CategoryId(id));
    }
    let existing: Option<Uuid> = sqlx::query_scalar(
        "SELECT id FROM products WHERE tenant_id = $1 AND handle = $2 FOR UPDATE",
    )
    .bind(tenant.0)
    .bind(row.handle.as_str())
    .fetch_optional(&mut *conn)
    .await
    .map_err(other)?;
    let (product, outcome) = match existing {
        Some(id) => {
            write_product_fields(
                conn,
                id,
                &row.handle,
                &row.title,
                &row.description,
                row.status,
                &row.tags,
            )
            .await?;
            set_tags(conn, tenant, id, &row.tags).await?;
            set_categories(conn, tenant, id, &categories).await?;
            (id, ImportOutcome::Updated)
        }
        None => {
            // `room` is the plan's limit less the products the shop has,
            // counted once per batch (the batch holds the write lock).
            if room <= 0 {
                return Err(StoreError::LimitReached("products"));
            }
            let id = insert_product(
                conn,
                tenant,
                &row.handle,
                &row.title,
                &row.description,
                row.status.unwrap_or(ProductStatus::Draft),
                &row.tags,
                &categories,
            )
            .await?;
            (id, ImportOutcome::Created)
        }
    };
    for ImportVariant {
        variant: v,
        set_stock,
    } in &row.variants
    {
        let found: Option<(Uuid, Uuid)> =
            sqlx::query_as("SELECT id, product_id FROM variants WHERE tenant_id = $1 AND sku = $2")
                .bind(tenant.0)
                .bind(v.sku.as_str())
                .fetch_optional(&mut *conn)
                .await
                .map_err(other)?;
        match found {
            Some((_, owner)) if owner != product => {
                return Err(StoreError::Conflict { field: "sku" });
            }
            Some((id, _)) => {
                write_variant(conn, id, v).await?;
                // Read after the write, which holds the row's lock.
                let on_hand: i64 = sqlx::query_scalar("SELECT on_hand FROM variants WHERE id = $1")
                    .bind(id)
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(other)?;
                if *set_stock && v.on_hand != on_hand {
                    change_stock(conn, tenant, id, v.on_hand - on_hand, "import", actor).await?;
                }
            }
            None => {
                insert_variant(conn, tenant, product, v, actor, "import").await?;
            }
        }
    }
    let variants: i64 = sqlx::query_scalar("SELECT count(*) FROM variants WHERE product_id = $1")
        .bind(product)
        .fetch_one(&mut *conn)
        .await
        .map_err(other)?;
    if variants == 0 {
        return Err(StoreError::Invalid("a product needs at least one variant"));
    }
    if variants > storekeep_domain::MAX_VARIANTS as i64 {
        return Err(StoreError::Invalid("a product has at most 100 variants"));
    }
    refresh_summary(conn, product).await?;
    Ok(outcome)
}

#[async_trait]
impl CatalogStore for PgStore {
    async fn create_category(
        &self,
        tenant: TenantId,
        new: &NewCategory,
        ctx: &AuditContext,
    ) -> StoreResult<Category> {
        let mut tx = write_tx(&self.pool).await?;
        lock_tenant(&mut tx, tenant).await?;
        if let Some(parent) = new.parent_id {
            match fetch_category(&mut tx, tenant, parent).await {
                Err(StoreError::NotFound(_)) => {
                    return Err(StoreError::UnknownReference { field: "parent_id" });
                }
                r => r?,
            };
        }
        let id = CategoryId::new();
        sqlx::query(
            "INSERT INTO categories (id, tenant_id, parent_id, handle, name, position, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        )
        .bind(id.0)
        .bind(tenant.0)
        .bind(new.parent_id.map(|p| p.0))
        .bind(new.handle.as_str())
        .bind(&new.name)
        .bind(new.position)
        .bind(now())
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        let category = fetch_category(&mut tx, tenant, id).await?;
        let after = serde_json::to_value(&category).map_err(other)?;
        append(
            &mut tx,
            tenant,
            ctx,
            "category.create",
            format!("category:{id}"),
            None,
            Some(after),
        )
        .await?;
        tx.commit().await.map_err(other)?;
        Ok(category)
    }

    async fn list_categories(&self, tenant: TenantId) -> StoreResult<Vec<Category>> {
        let rows: Vec<CategoryRow> = sqlx::query_as(&format!(
            "SELECT {CATEGORY_COLUMNS} FROM categories WHERE tenant_id = $1 \
             ORDER BY position, name, id"
        ))
        .bind(tenant.0)
        .fetch_all(&self.pool)
        .await
        .map_err(other)?;
        rows.into_iter().map(Category::try_from).collect()
    }

    async fn update_category(
        &self,
        tenant: TenantId,
        id: CategoryId,
        patch: &CategoryPatch,
        ctx: &AuditContext,
    ) -> StoreResult<Category> {
        let mut tx = write_tx(&self.pool).await?;
        // With the tenant locked, no other move can run between the walk
        // below and the commit, so two moves cannot make a cycle together.
        lock_tenant(&mut tx, tenant).await?;
        let before = fetch_category(&mut tx, tenant, id).await?;
        let parent = patch.parent_id.unwrap_or(before.parent_id);
        if let Some(p) = parent {
            // Walk up from the new parent: meeting `id` would make a cycle.
            let mut cursor = Some(p);
            while let Some(c) = cursor {
                if c == id {
                    return Err(StoreError::Invalid(
                        "a category cannot be moved under itself or its subcategories",
                    ));
                }
                cursor = match fetch_category(&mut tx, tenant, c).await {
                    Err(StoreError::NotFound(_)) => {
                        return Err(StoreError::UnknownReference { field: "parent_id" });
                    }
                    r => r?.parent_id,
                };
            }
        }
        sqlx::query(
            "UPDATE categories SET parent_id = $1, handle = $2, name = $3, position = $4, \
             updated_at = $5 WHERE id = $6",
        )
        .bind(parent.map(|p| p.0))
        .bind(patch.handle.as_ref().unwrap_or(&before.handle).as_str())
        .bind(patch.name.as_ref().unwrap_or(&before.name))
        .bind(patch.position.unwrap_or(before.position))
        .bind(now())
        .bind(id.0)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        let after = fetch_category(&mut tx, tenant, id).await?;
        append(
            &mut tx,
            tenant,
            ctx,
            "category.update",
            format!("category:{id}"),
            Some(serde_json::to_value(&before).map_err(other)?),
            Some(serde_json::to_value(&after).map_err(other)?),
        )
        .await?;
        tx.commit().await.map_err(other)?;
        Ok(after)
    }

    async fn delete_category(
        &self,
        tenant: TenantId,
        id: CategoryId,
        ctx: &AuditContext,
    ) -> StoreResult<()> {
        let mut tx = write_tx(&self.pool).await?;
        // Serialised with creates and moves, so no subcategory appears
        // under it between the count and the delete.
        lock_tenant(&mut tx, tenant).await?;
        let before = fetch_category(&mut tx, tenant, id).await?;
        let children: i64 =
            sqlx::query_scalar("SELECT count(*) FROM categories WHERE parent_id = $1")
                .bind(id.0)
                .fetch_one(&mut *tx)
                .await
                .map_err(other)?;
        if children > 0 {
            return Err(StoreError::Invalid(
                "the category has subcategories; move or delete them first",
            ));
        }
        sqlx::query("DELETE FROM categories WHERE id = $1")
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(other)?;
        append(
            &mut tx,
            tenant,
            ctx,
            "category.delete",
            format!("category:{id}"),
            Some(serde_json::to_value(&before).map_err(other)?),
            None,
        )
        .await?;
        tx.commit().await.map_err(other)?;
        Ok(())
    }

    async fn create_product(
        &self,
        tenant: TenantId,
        new: &NewProduct,
        max_products: i64,
        ctx: &AuditContext,
    ) -> StoreResult<Product> {
        let mut tx = write_tx(&self.pool).await?;
        lock_tenant(&mut tx, tenant).await?;
        check_product_limit(&mut tx, tenant, max_products).await?;
        let id = insert_product(
            &mut tx,
            tenant,
            &new.handle,
            &new.title,
            &new.description,
            new.status,
            &new.tags,
            &new.categories,
        )
        .await?;
        for v in &new.variants {
            insert_variant(&mut tx, tenant, id, v, &ctx.actor, "initial").await?;
        }
        refresh_summary(&mut tx, id).await?;
        let product = fetch_product(&mut tx, tenant, id).await?;
        append(
            &mut tx,
            tenant,
            ctx,
            "product.create",
            format!("product:{id}"),
            None,
            Some(product_summary(&product)),
        )
        .await?;
        tx.commit().await.map_err(other)?;
        Ok(product)
    }

    async fn product(&self, tenant: TenantId, id: ProductId) -> StoreResult<Product> {
        let mut conn = self.pool.acquire().await.map_err(other)?;
        fetch_product(&mut conn, tenant, id.0).await
    }

    async fn product_by_handle(&self, tenant: TenantId, handle: &Handle) -> StoreResult<Product> {
        let mut conn = self.pool.acquire().await.map_err(other)?;
        let row: Option<ProductRow> = sqlx::query_as(&format!(
            "SELECT {PRODUCT_COLUMNS} FROM products p WHERE p.tenant_id = $1 AND p.handle = $2"
        ))
        .bind(tenant.0)
        .bind(handle.as_str())
        .fetch_optional(&mut *conn)
        .await
        .map_err(other)?;
        assemble_one(&mut conn, row).await
    }

    async fn products_by_ids(
        &self,
        tenant: TenantId,
        ids: &[ProductId],
    ) -> StoreResult<Vec<Product>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<Uuid> = ids.iter().map(|i| i.0).collect();
        let mut conn = self.pool.acquire().await.map_err(other)?;
        let rows: Vec<ProductRow> = sqlx::query_as(&format!(
            "SELECT {PRODUCT_COLUMNS} FROM products p WHERE p.tenant_id = $1 AND p.id = ANY($2)"
        ))
        .bind(tenant.0)
        .bind(&ids)
        .fetch_all(&mut *conn)
        .await
        .map_err(other)?;
        assemble(&mut conn, rows).await
    }

    async fn list_products(
        &self,
        tenant: TenantId,
        query: &ProductQuery,
    ) -> StoreResult<Page<Product>> {
        let mut sql: QueryBuilder<'_, Postgres> = QueryBuilder::new(format!(
            "SELECT {PRODUCT_COLUMNS} FROM products p WHERE p.tenant_id = "
        ));
        sql.push_bind(tenant.0);
        if let Some(status) = query.status {
            sql.push(" AND p.status = ").push_bind(status.as_str());
        }
        if let Some(categories) = &query.categories {
            // An empty list matches nothing, as on SQLite.
            let ids: Vec<Uuid> = categories.iter().map(|c| c.0).collect();
            sql.push(
                " AND EXISTS (SELECT 1 FROM product_categories pc WHERE pc.product_id = p.id \
                 AND pc.category_id = ANY(",
            )
            .push_bind(ids)
            .push("))");
        }
        if let Some(tag) = &query.tag {
            sql.push(
                " AND EXISTS (SELECT 1 FROM product_tags t WHERE t.product_id = p.id AND t.tag = ",
            )
            .push_bind(tag.as_str())
            .push(")");
        }
        if query.min_price.is_some() || query.max_price.is_some() {
            sql.push(
                " AND EXISTS (SELECT 1 FROM variants v WHERE v.product_id = p.id \
                 AND v.price >= ",
            )
            .push_bind(query.min_price.unwrap_or(0))
            .push(" AND v.price <= ")
            .push_bind(query.max_price.unwrap_or(i64::MAX))
            .push(")");
        }
        if query.in_stock {
            sql.push(" AND p.available > 0");
        }
        let order = match (&query.after, query.sort) {
            (None, ProductSort::Newest) => "p.id DESC",
            (Some(ProductCursor::Newest(id)), ProductSort::Newest) => {
                sql.push(" AND p.id < ").push_bind(id.0);
                "p.id DESC"
            }
            (None, ProductSort::PriceAsc) => "p.min_price, p.id",
            (Some(ProductCursor::Price(amount, id)), ProductSort::PriceAsc) => {
                sql.push(" AND (p.min_price > ")
                    .push_bind(*amount)
                    .push(" OR (p.min_price = ")
                    .push_bind(*amount)
                    .push(" AND p.id > ")
                    .push_bind(id.0)
                    .push("))");
                "p.min_price, p.id"
            }
            (None, ProductSort::PriceDesc) => "p.min_price DESC, p.id DESC",
            (Some(ProductCursor::Price(amount, id)), ProductSort::PriceDesc) => {
                sql.push(" AND (p.min_price < ")
                    .push_bind(*amount)
                    .push(" OR (p.min_price = ")
                    .push_bind(*amount)
                    .push(" AND p.id < ")
                    .push_bind(id.0)
                    .push("))");
                "p.min_price DESC, p.id DESC"
            }
            // title_key is COLLATE "C": bytewise, like SQLite.
            (None, ProductSort::Title) => "p.title_key, p.id",
            (Some(ProductCursor::Title(key, id)), ProductSort::Title) => {
                sql.push(" AND (p.title_key > ")
                    .push_bind(key.as_str())
                    .push(" OR (p.title_key = ")
                    .push_bind(key.as_str())
                    .push(" AND p.id > ")
                    .push_bind(id.0)
                    .push("))");
                "p.title_key, p.id"
            }
            _ => return Err(StoreError::InvalidCursor),
        };
        sql.push(format_args!(" ORDER BY {order} LIMIT "))
            .push_bind(i64::from(query.limit) + 1);
        let mut conn = self.pool.acquire().await.map_err(other)?;
        let rows = sql
            .build_query_as::<ProductRow>()
            .fetch_all(&mut *conn)
            .await
            .map_err(other)?;
        let products = assemble(&mut conn, rows).await?;
        let page = PageRequest {
            limit: query.limit,
            after: None,
        };
        Ok(Page::from_rows(products, &page, |p| {
            ProductCursor::of(query.sort, p).encode(query.sort)
        }))
    }

    async fn count_products(&self, tenant: TenantId) -> StoreResult<i64> {
        sqlx::query_scalar("SELECT count(*) FROM products WHERE tenant_id = $1")
            .bind(tenant.0)
            .fetch_one(&self.pool)
            .await
            .map_err(other)
    }

    async fn update_product(
        &self,
        tenant: TenantId,
        id: ProductId,
        patch: &ProductPatch,
        ctx: &AuditContext,
    ) -> StoreResult<Product> {
        let mut tx = write_tx(&self.pool).await?;
        // Locked before reading, so a concurrent patch is not overwritten
        // with what this one read.
        lock_product(&mut tx, tenant, id.0).await?;
        let before = fetch_product(&mut tx, tenant, id.0).await?;
        let tags = patch.tags.as_ref().unwrap_or(&before.tags);
        write_product_fields(
            &mut tx,
            id.0,
            patch.handle.as_ref().unwrap_or(&before.handle),
            patch.title.as_ref().unwrap_or(&before.title),
            patch.description.as_ref().unwrap_or(&before.description),
            Some(patch.status.unwrap_or(before.status)),
            tags,
        )
        .await?;
        if let Some(tags) = &patch.tags {
            set_tags(&mut tx, tenant, id.0, tags).await?;
        }
        if let Some(categories) = &patch.categories {
            set_categories(&mut tx, tenant, id.0, categories).await?;
        }
        let after = fetch_product(&mut tx, tenant, id.0).await?;
        append(
            &mut tx,
            tenant,
            ctx,
            "product.update",
            format!("product:{id}"),
            Some(product_summary(&before)),
            Some(product_summary(&after)),
        )
        .await?;
        tx.commit().await.map_err(other)?;
        Ok(after)
    }

    async fn delete_product(
        &self,
        tenant: TenantId,
        id: ProductId,
        ctx: &AuditContext,
    ) -> StoreResult<Product> {
        let mut tx = write_tx(&self.pool).await?;
        // Locked first, so the images returned are all the ones deleted.
        lock_product(&mut tx, tenant, id.0).await?;
        let before = fetch_product(&mut tx, tenant, id.0).await?;
        sqlx::query("DELETE FROM products WHERE id = $1")
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(other)?;
        append(
            &mut tx,
            tenant,
            ctx,
            "product.delete",
            format!("product:{id}"),
            Some(product_summary(&before)),
            None,
        )
        .await?;
        tx.commit().await.map_err(other)?;
        Ok(before)
    }

    async fn add_variant(
        &self,
        tenant: TenantId,
        product: ProductId,
        new: &NewVariant,
        ctx: &AuditContext,
    ) -> StoreResult<Variant> {
        let mut tx = write_tx(&self.pool).await?;
        // The product's lock holds the variant count until commit.
        lock_product(&mut tx, tenant, product.0).await?;
        let count: i64 = sqlx::query_scalar("SELECT count(*) FROM variants WHERE product_id = $1")
            .bind(product.0)
            .fetch_one(&mut *tx)
            .await
            .map_err(other)?;
        if count >= storekeep_domain::MAX_VARIANTS as i64 {
            return Err(StoreError::Invalid("a product has at most 100 variants"));
        }
        let id = insert_variant(&mut tx, tenant, product.0, new, &ctx.actor, "initial").await?;
        refresh_summary(&mut tx, product.0).await?;
        touch_product(&mut tx, product.0).await?;
        let variant = fetch_variant(&mut tx, tenant, VariantId(id)).await?;
        append(
            &mut tx,
            tenant,
            ctx,
            "variant.create",
            format!("variant:{id}"),
            None,
            Some(variant_summary(&variant)),
        )
        .await?;
        tx.commit().await.map_err(other)?;
        Ok(variant)
    }

    async fn update_variant(
        &self,
        tenant: TenantId,
        id: VariantId,
        patch: &VariantPatch,
        ctx: &AuditContext,
    ) -> StoreResult<Variant> {
        let mut tx = write_tx(&self.pool).await?;
        let before = lock_variant(&mut tx, tenant, id).await?;
        let merged = NewVariant {
            sku: patch.sku.clone().unwrap_or_else(|| before.sku.clone()),
            title: patch.title.clone().unwrap_or_else(|| before.title.clone()),
            options: patch
                .options
                .clone()
                .unwrap_or_else(|| before.options.clone()),
            price: patch.price.clone().unwrap_or_else(|| before.price.clone()),
            compare_at_price: patch
                .compare_at_price
                .clone()
                .unwrap_or_else(|| before.compare_at_price.clone()),
            on_hand: before.inventory.on_hand,
        };
        write_variant(&mut tx, id.0, &merged).await?;
        refresh_summary(&mut tx, before.product_id.0).await?;
        touch_product(&mut tx, before.product_id.0).await?;
        let after = fetch_variant(&mut tx, tenant, id).await?;
        append(
            &mut tx,
            tenant,
            ctx,
            "variant.update",
            format!("variant:{id}"),
            Some(variant_summary(&before)),
            Some(variant_summary(&after)),
        )
        .await?;
        tx.commit().await.map_err(other)?;
        Ok(after)
    }

    async fn delete_variant(
        &self,
        tenant: TenantId,
        id: VariantId,
        ctx: &AuditContext,
    ) -> StoreResult<()> {
        let mut tx = write_tx(&self.pool).await?;
        // With the product locked, two deletes cannot both see a second
        // variant and leave none.
        let before = lock_variant(&mut tx, tenant, id).await?;
        let product = before.product_id.0;
        let count: i64 = sqlx::query_scalar("SELECT count(*) FROM variants WHERE product_id = $1")
            .bind(product)
            .fetch_one(&mut *tx)
            .await
            .map_err(other)?;
        if count <= 1 {
            return Err(StoreError::Invalid(
                "a product needs at least one variant; delete the product instead",
            ));
        }
        if before.inventory.reserved > 0 {
            return Err(StoreError::Invalid(
                "the variant has stock reserved for open orders",
            ));
        }
        sqlx::query("DELETE FROM variants WHERE id = $1")
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(other)?;
        refresh_summary(&mut tx, product).await?;
        append(
            &mut tx,
            tenant,
            ctx,
            "variant.delete",
            format!("variant:{id}"),
            Some(variant_summary(&before)),
            None,
        )
        .await?;
        tx.commit().await.map_err(other)?;
        Ok(())
    }

    async fn adjust_inventory(
        &self,
        tenant: TenantId,
        id: VariantId,
        delta: i64,
        reason: &str,
        ctx: &AuditContext,
    ) -> StoreResult<(Variant, InventoryAdjustment)> {
        let mut tx = write_tx(&self.pool).await?;
        let before = lock_variant(&mut tx, tenant, id).await?;
        let adjustment = change_stock(&mut tx, tenant, id.0, delta, reason, &ctx.actor).await?;
        refresh_summary(&mut tx, before.product_id.0).await?;
        let after = fetch_variant(&mut tx, tenant, id).await?;
        append(
            &mut tx,
            tenant,
            ctx,
            "inventory.adjust",
            format!("variant:{id}"),
            Some(serde_json::json!({"on_hand": before.inventory.on_hand})),
            Some(serde_json::json!({
                "on_hand": after.inventory.on_hand, "delta": delta, "reason": reason
            })),
        )
        .await?;
        tx.commit().await.map_err(other)?;
        Ok((after, adjustment))
    }

    async fn inventory_ledger(
        &self,
        tenant: TenantId,
        id: VariantId,
        page: &PageRequest,
    ) -> StoreResult<Page<InventoryAdjustment>> {
        let mut conn = self.pool.acquire().await.map_err(other)?;
        fetch_variant(&mut conn, tenant, id).await?;
        // Without a cursor, the largest UUID (never a v7 id) bounds nothing.
        let before = storekeep_store::parse_cursor(page)?.unwrap_or(Uuid::max());
        let rows: Vec<(Uuid, i64, String, i64, String, DateTime<Utc>)> = sqlx::query_as(
            "SELECT id, delta, reason, on_hand_after, actor, at FROM inventory_ledger \
             WHERE tenant_id = $1 AND variant_id = $2 AND id < $3 ORDER BY id DESC LIMIT $4",
        )
        .bind(tenant.0)
        .bind(id.0)
        .bind(before)
        .bind(page.fetch_limit())
        .fetch_all(&mut *conn)
        .await
        .map_err(other)?;
        let items = rows
            .into_iter()
            .map(
                |(lid, delta, reason, on_hand_after, actor, at)| InventoryAdjustment {
                    id: lid,
                    variant_id: id,
                    delta,
                    reason,
                    on_hand_after,
                    actor,
                    at,
                },
            )
            .collect();
        Ok(Page::from_rows(items, page, |a| a.id.to_string()))
    }

    async fn add_image(
        &self,
        tenant: TenantId,
        image: &NewImage,
        storage_limit: i64,
        ctx: &AuditContext,
    ) -> StoreResult<ProductImage> {
        let mut tx = write_tx(&self.pool).await?;
        // The tenant's lock holds the storage sum until commit.
        lock_tenant(&mut tx, tenant).await?;
        let product = image.product_id.0;
        lock_product(&mut tx, tenant, product).await?;
        let used: i64 = sqlx::query_scalar(
            "SELECT coalesce(sum(size_bytes), 0)::bigint FROM product_images WHERE tenant_id = $1",
        )
        .bind(tenant.0)
        .fetch_one(&mut *tx)
        .await
        .map_err(other)?;
        if used + image.size_bytes > storage_limit {
            return Err(StoreError::LimitReached("image storage"));
        }
        let position: i64 = sqlx::query_scalar(
            "SELECT coalesce(max(position) + 1, 0) FROM product_images WHERE product_id = $1",
        )
        .bind(product)
        .fetch_one(&mut *tx)
        .await
        .map_err(other)?;
        sqlx::query(
            "INSERT INTO product_images (id, tenant_id, product_id, object_key, content_type, \
             width, height, size_bytes, alt, position, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(image.id.0)
        .bind(tenant.0)
        .bind(product)
        .bind(&image.key)
        .bind(&image.content_type)
        .bind(i64::from(image.width))
        .bind(i64::from(image.height))
        .bind(image.size_bytes)
        .bind(&image.alt)
        .bind(position)
        .bind(now())
        .execute(&mut *tx)
        .await
        .map_err(other)?;
        touch_product(&mut tx, product).await?;
        let stored = fetch_image(&mut tx, tenant, image.id).await?;
        append(
            &mut tx,
            tenant,
            ctx,
            "image.create",
            format!("image:{}", image.id),
            None,
            Some(serde_json::json!({
                "product_id": image.product_id, "content_type": image.content_type,
                "size_bytes": image.size_bytes, "width": image.width, "height": image.height
            })),
        )
        .await?;
        tx.commit().await.map_err(other)?;
        Ok(stored)
    }

    async fn image(&self, tenant: TenantId, id: ImageId) -> StoreResult<ProductImage> {
        let mut conn = self.pool.acquire().await.map_err(other)?;
        fetch_image(&mut conn, tenant, id).await
    }

    async fn delete_image(
        &self,
        tenant: TenantId,
        id: ImageId,
        ctx: &AuditContext,
    ) -> StoreResult<ProductImage> {
        let mut tx = write_tx(&self.pool).await?;
        let image = fetch_image(&mut tx, tenant, id).await?;
        // The product first (lock order), then the image, which a
        // concurrent delete may have removed meanwhile.
        match lock_product(&mut tx, tenant, image.product_id.0).await {
            Err(StoreError::NotFound(_)) => return Err(StoreError::NotFound("image")),
            r => r?,
        }
        let deleted = sqlx::query("DELETE FROM product_images WHERE id = $1")
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(other)?;
        if deleted.rows_affected() == 0 {
            return Err(StoreError::NotFound("image"));
        }
        touch_product(&mut tx, image.product_id.0).await?;
        append(
            &mut tx,
            tenant,
            ctx,
            "image.delete",
            format!("image:{id}"),
            Some(serde_json::json!({"product_id": image.product_id})),
            None,
        )
        .await?;
        tx.commit().await.map_err(other)?;
        Ok(image)
    }

    async fn search_candidates(
        &self,
        tenant: TenantId,
        terms: &[String],
        limit: i64,
    ) -> StoreResult<Vec<SearchDoc>> {
        // A term with no letters or digits would be an empty tsquery operand
        // (a syntax error); as a prefix it matches every word, so drop it.
        let terms: Vec<String> = terms
            .iter()
            .filter(|t| t.chars().any(char::is_alphanumeric))
            .cloned()
            .collect();
        if terms.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<(Uuid, String, Json<Vec<String>>, String)> = sqlx::query_as(
            "SELECT p.id, p.title, p.tags, p.description FROM products p \
             WHERE p.tenant_id = $1 AND p.status = 'active' \
             AND to_tsvector('simple', p.search_doc) @@ to_tsquery('simple', $2) \
             ORDER BY p.id DESC LIMIT $3",
        )
        .bind(tenant.0)
        .bind(tsquery(&terms))
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(other)?;
        Ok(rows
            .into_iter()
            .map(|(id, title, tags, description)| SearchDoc {
                id: ProductId(id),
                title,
                tags: tags.0,
                description,
            })
            .collect())
    }

    async fn import_rows(
        &self,
        tenant: TenantId,
        rows: &[ImportRow],
        max_products: i64,
        ctx: &AuditContext,
    ) -> StoreResult<Vec<Result<ImportOutcome, StoreError>>> {
        let mut tx = write_tx(&self.pool).await?;
        // Locked once for the batch, outside the savepoints: a row lock
        // taken inside one is dropped when it is rolled back.
        lock_tenant(&mut tx, tenant).await?;
        // The batch's existing products, in id order (the order checkout and
        // order changes lock them in), before any row takes one in file
        // order: otherwise an import and a checkout could deadlock.
        let handles: Vec<&str> = rows.iter().map(|r| r.handle.as_str()).collect();
        sqlx::query(
            "SELECT id FROM products WHERE tenant_id = $1 AND handle = ANY($2) \
             ORDER BY id FOR UPDATE",
        )
        .bind(tenant.0)
        .bind(&handles)
        .execute(&mut *tx)
        .await
        .map_err(other)?;
        let mut room = max_products - product_count(&mut tx, tenant).await?;
        let mut outcomes = Vec::with_capacity(rows.len());
        for row in rows {
            exec(&mut tx, "SAVEPOINT import_row").await?;
            let result = import_row(&mut tx, tenant, row, room, &ctx.actor).await;
            // An outage is not this row's fault: the whole batch stops (and
            // rolls back) rather than blaming every row after it.
            let result = match result {
                Err(e) if e.is_unavailable() => return Err(e),
                result => result,
            };
            if matches!(result, Ok(ImportOutcome::Created)) {
                room -= 1;
            }
            match &result {
                Ok(_) => exec(&mut tx, "RELEASE SAVEPOINT import_row").await?,
                Err(e) => {
                    // Required before anything else after a failed statement.
                    exec(&mut tx, "ROLLBACK TO SAVEPOINT import_row").await?;
                    exec(&mut tx, "RELEASE SAVEPOINT import_row").await?;
                    if let StoreError::Other(cause) = e {
                        tracing::warn!(error = %cause, line = row.line, "import row failed");
                    }
                }
            }
            outcomes.push(result);
        }
        let created = outcomes
            .iter()
            .filter(|o| matches!(o, Ok(ImportOutcome::Created)))
            .count();
        let updated = outcomes
            .iter()
            .filter(|o| matches!(o, Ok(ImportOutcome::Updated)))
            .count();
        if created + updated > 0 {
            append(
                &mut tx,
                tenant,
                ctx,
                "product.import",
                format!(
                    "lines:{}-{}",
                    rows.first().map_or(0, |r| r.line),
                    rows.last().map_or(0, |r| r.line)
                ),
                None,
                Some(serde_json::json!({
                    "created": created, "updated": updated,
                    "failed": outcomes.len() - created - updated,
                })),
            )
            .await?;
        }
        tx.commit().await.map_err(other)?;
        Ok(outcomes)
    }

    async fn products_after(
        &self,
        tenant: TenantId,
        after: Option<ProductId>,
        limit: i64,
    ) -> StoreResult<Vec<Product>> {
        let mut conn = self.pool.acquire().await.map_err(other)?;
        let rows: Vec<ProductRow> = sqlx::query_as(&format!(
            "SELECT {PRODUCT_COLUMNS} FROM products p WHERE p.tenant_id = $1 AND p.id > $2 \
             ORDER BY p.id LIMIT $3"
        ))
        .bind(tenant.0)
        .bind(after.map_or(Uuid::nil(), |a| a.0))
        .bind(limit)
        .fetch_all(&mut *conn)
        .await
        .map_err(other)?;
        assemble(&mut conn, rows).await
    }
}
