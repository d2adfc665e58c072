//! The catalog on SQLite. Writes run in `BEGIN IMMEDIATE` transactions,
//! which hold the database's write lock, so checks made inside them (plan
//! limits, stock, category cycles) stay true until commit.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use sqlx::SqliteConnection;
use storekeep_domain::{
    AuditContext, Category, CategoryId, CategoryPatch, Handle, ImageId, ImportOutcome, ImportRow,
    ImportVariant, Inventory, InventoryAdjustment, Money, NewCategory, NewImage, NewProduct,
    NewVariant, Page, PageRequest, Product, ProductCursor, ProductId, ProductImage, ProductPatch,
    ProductQuery, ProductSort, ProductStatus, SearchDoc, Sku, TenantId, Variant, VariantId,
    VariantPatch, search_document, title_key,
};
use storekeep_store::catalog::{fts5_query, product_summary, variant_summary};
use storekeep_store::{CatalogStore, StoreError, StoreResult, now};

use crate::error::other;
use crate::{SqliteStore, audit, error, write_tx};

const UNIQUES: &[(&str, &str)] = &[
    ("products.handle", "handle"),
    ("variants.sku", "sku"),
    ("categories.handle", "handle"),
];

fn map_err(e: sqlx::Error) -> StoreError {
    error::map(e, UNIQUES)
}

fn corrupt(what: String) -> StoreError {
    StoreError::Other(format!("stored catalog row is invalid: {what}").into())
}

pub(crate) fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

#[derive(sqlx::FromRow)]
pub(crate) struct ProductRow {
    id: String,
    handle: String,
    title: String,
    description: String,
    status: String,
    tags: String,
    created_at: chrono::DateTime<chrono::Utc>,
    updated_at: chrono::DateTime<chrono::Utc>,
}

pub(crate) const PRODUCT_COLUMNS: &str =
    "p.id, p.handle, p.title, p.description, p.status, p.tags, p.created_at, p.updated_at";

#[derive(sqlx::FromRow)]
struct VariantRow {
    id: String,
    product_id: String,
    sku: String,
    title: String,
    options: String,
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
        let options: BTreeMap<String, String> = serde_json::from_str(&r.options).map_err(other)?;
        Ok(Variant {
            id: r.id.parse().map_err(other)?,
            product_id: r.product_id.parse().map_err(other)?,
            sku: Sku::parse(&r.sku).map_err(corrupt)?,
            title: r.title,
            options,
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
    id: String,
    product_id: String,
    object_key: String,
    content_type: String,
    width: i64,
    height: i64,
    size_bytes: i64,
    alt: String,
    position: i64,
    created_at: chrono::DateTime<chrono::Utc>,
}

const IMAGE_COLUMNS: &str = "id, product_id, object_key, content_type, width, height, \
     size_bytes, alt, position, created_at";

impl TryFrom<ImageRow> for ProductImage {
    type Error = StoreError;
    fn try_from(r: ImageRow) -> StoreResult<Self> {
        Ok(ProductImage {
            id: r.id.parse().map_err(other)?,
            product_id: r.product_id.parse().map_err(other)?,
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
    id: String,
    parent_id: Option<String>,
    handle: String,
    name: String,
    position: i64,
    created_at: chrono::DateTime<chrono::Utc>,
    updated_at: chrono::DateTime<chrono::Utc>,
}

const CATEGORY_COLUMNS: &str = "id, parent_id, handle, name, position, created_at, updated_at";

impl TryFrom<CategoryRow> for Category {
    type Error = StoreError;
    fn try_from(r: CategoryRow) -> StoreResult<Self> {
        Ok(Category {
            id: r.id.parse().map_err(other)?,
            parent_id: r.parent_id.map(|p| p.parse()).transpose().map_err(other)?,
            handle: Handle::parse(&r.handle).map_err(corrupt)?,
            name: r.name,
            position: r.position,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// Runs `sql` with `ids` bound in order and groups what `split` makes of
/// each row by the key it returns (a product id).
async fn grouped<R, T>(
    conn: &mut SqliteConnection,
    sql: &str,
    ids: &[&str],
    split: impl Fn(R) -> StoreResult<(String, T)>,
) -> StoreResult<HashMap<String, Vec<T>>>
where
    R: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow> + Send + Unpin,
{
    let mut q = sqlx::query_as::<_, R>(sql);
    for id in ids {
        q = q.bind(*id);
    }
    let mut out: HashMap<String, Vec<T>> = HashMap::new();
    for row in q.fetch_all(&mut *conn).await.map_err(other)? {
        let (key, value) = split(row)?;
        out.entry(key).or_default().push(value);
    }
    Ok(out)
}

/// Turns product rows into products, loading their variants, images and
/// categories with one query each.
pub(crate) async fn assemble(
    conn: &mut SqliteConnection,
    rows: Vec<ProductRow>,
) -> StoreResult<Vec<Product>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let list = placeholders(ids.len());

    let mut variants: HashMap<String, Vec<Variant>> = grouped(
        conn,
        &format!(
            "SELECT {VARIANT_COLUMNS} FROM variants WHERE product_id IN ({list}) \
             ORDER BY position, id"
        ),
        &ids,
        |r: VariantRow| Ok((r.product_id.clone(), r.try_into()?)),
    )
    .await?;
    let mut images: HashMap<String, Vec<ProductImage>> = grouped(
        conn,
        &format!(
            "SELECT {IMAGE_COLUMNS} FROM product_images WHERE product_id IN ({list}) \
             ORDER BY position, id"
        ),
        &ids,
        |r: ImageRow| Ok((r.product_id.clone(), r.try_into()?)),
    )
    .await?;
    let mut categories: HashMap<String, Vec<CategoryId>> = grouped(
        conn,
        &format!(
            "SELECT product_id, category_id FROM product_categories \
             WHERE product_id IN ({list}) ORDER BY position"
        ),
        &ids,
        |(product, category): (String, String)| Ok((product, category.parse().map_err(other)?)),
    )
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(Product {
                id: r.id.parse().map_err(other)?,
                handle: Handle::parse(&r.handle).map_err(corrupt)?,
                title: r.title,
                description: r.description,
                status: ProductStatus::parse(&r.status).map_err(corrupt)?,
                tags: serde_json::from_str(&r.tags).map_err(other)?,
                categories: categories.remove(&r.id).unwrap_or_default(),
                variants: variants.remove(&r.id).unwrap_or_default(),
                images: images.remove(&r.id).unwrap_or_default(),
                created_at: r.created_at,
                updated_at: r.updated_at,
            })
        })
        .collect()
}

async fn fetch_product(
    conn: &mut SqliteConnection,
    tenant: TenantId,
    clause: &str,
    value: &str,
) -> StoreResult<Product> {
    let row: Option<ProductRow> = sqlx::query_as(&format!(
        "SELECT {PRODUCT_COLUMNS} FROM products p WHERE p.tenant_id = ? AND {clause}"
    ))
    .bind(tenant.to_string())
    .bind(value)
    .fetch_optional(&mut *conn)
    .await
    .map_err(other)?;
    let row = row.ok_or(StoreError::NotFound("product"))?;
    Ok(assemble(conn, vec![row]).await?.remove(0))
}

async fn fetch_variant(
    conn: &mut SqliteConnection,
    tenant: TenantId,
    id: VariantId,
) -> StoreResult<Variant> {
    let row: Option<VariantRow> = sqlx::query_as(&format!(
        "SELECT {VARIANT_COLUMNS} FROM variants WHERE tenant_id = ? AND id = ?"
    ))
    .bind(tenant.to_string())
    .bind(id.to_string())
    .fetch_optional(&mut *conn)
    .await
    .map_err(other)?;
    row.ok_or(StoreError::NotFound("variant"))?.try_into()
}

async fn fetch_category(
    conn: &mut SqliteConnection,
    tenant: TenantId,
    id: CategoryId,
) -> StoreResult<Category> {
    let row: Option<CategoryRow> = sqlx::query_as(&format!(
        "SELECT {CATEGORY_COLUMNS} FROM categories WHERE tenant_id = ? AND id = ?"
    ))
    .bind(tenant.to_string())
    .bind(id.to_string())
    .fetch_optional(&mut *conn)
    .await
    .map_err(other)?;
    row.ok_or(StoreError::NotFound("category"))?.try_into()
}

/// Recomputes a product's cheapest price and available stock.
pub(crate) async fn refresh_summary(conn: &mut SqliteConnection, product: &str) -> StoreResult<()> {
    sqlx::query(
        "UPDATE products SET \
         min_price = coalesce((SELECT min(price) FROM variants WHERE product_id = ?1), 0), \
         available = coalesce((SELECT sum(max(on_hand - reserved, 0)) FROM variants \
                               WHERE product_id = ?1), 0) \
         WHERE id = ?1",
    )
    .bind(product)
    .execute(&mut *conn)
    .await
    .map_err(other)?;
    Ok(())
}

async fn set_tags(
    conn: &mut SqliteConnection,
    tenant: TenantId,
    product: &str,
    tags: &[String],
) -> StoreResult<()> {
    sqlx::query("DELETE FROM product_tags WHERE product_id = ?")
        .bind(product)
        .execute(&mut *conn)
        .await
        .map_err(other)?;
    for tag in tags {
        sqlx::query(
            "INSERT OR IGNORE INTO product_tags (product_id, tenant_id, tag) VALUES (?, ?, ?)",
        )
        .bind(product)
        .bind(tenant.to_string())
        .bind(tag)
        .execute(&mut *conn)
        .await
        .map_err(other)?;
    }
    Ok(())
}

async fn set_categories(
    conn: &mut SqliteConnection,
    tenant: TenantId,
    product: &str,
    categories: &[CategoryId],
) -> StoreResult<()> {
    sqlx::query("DELETE FROM product_categories WHERE product_id = ?")
        .bind(product)
        .execute(&mut *conn)
        .await
        .map_err(other)?;
    for (position, category) in categories.iter().enumerate() {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM categories WHERE tenant_id = ? AND id = ?")
                .bind(tenant.to_string())
                .bind(category.to_string())
                .fetch_optional(&mut *conn)
                .await
                .map_err(other)?;
        if found.is_none() {
            return Err(StoreError::UnknownReference {
                field: "categories",
            });
        }
        sqlx::query(
            "INSERT OR IGNORE INTO product_categories (product_id, category_id, position) \
             VALUES (?, ?, ?)",
        )
        .bind(product)
        .bind(category.to_string())
        .bind(position as i64)
        .execute(&mut *conn)
        .await
        .map_err(other)?;
    }
    Ok(())
}

pub(crate) async fn record_ledger(
    conn: &mut SqliteConnection,
    tenant: TenantId,
    variant: &str,
    delta: i64,
    reason: &str,
    on_hand_after: i64,
    actor: &str,
) -> StoreResult<InventoryAdjustment> {
    let adjustment = InventoryAdjustment {
        id: uuid::Uuid::now_v7(),
        variant_id: variant.parse().map_err(other)?,
        delta,
        reason: reason.to_owned(),
        on_hand_after,
        actor: actor.to_owned(),
        at: now(),
    };
    sqlx::query(
        "INSERT INTO inventory_ledger (id, tenant_id, variant_id, delta, reason, on_hand_after, \
         actor, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(adjustment.id.to_string())
    .bind(tenant.to_string())
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

async fn insert_variant(
    conn: &mut SqliteConnection,
    tenant: TenantId,
    product: &str,
    v: &NewVariant,
    actor: &str,
    reason: &str,
) -> StoreResult<String> {
    let id = VariantId::new().to_string();
    let at = now();
    let position: i64 = sqlx::query_scalar(
        "SELECT coalesce(max(position) + 1, 0) FROM variants WHERE product_id = ?",
    )
    .bind(product)
    .fetch_one(&mut *conn)
    .await
    .map_err(other)?;
    sqlx::query(
        "INSERT INTO variants (id, tenant_id, product_id, sku, title, options, price, currency, \
         compare_at_price, on_hand, reserved, position, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)",
    )
    .bind(&id)
    .bind(tenant.to_string())
    .bind(product)
    .bind(v.sku.as_str())
    .bind(&v.title)
    .bind(serde_json::to_string(&v.options).map_err(other)?)
    .bind(v.price.amount)
    .bind(&v.price.currency)
    .bind(v.compare_at_price.as_ref().map(|m| m.amount))
    .bind(v.on_hand)
    .bind(position)
    .bind(at)
    .bind(at)
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    if v.on_hand != 0 {
        record_ledger(conn, tenant, &id, v.on_hand, reason, v.on_hand, actor).await?;
    }
    Ok(id)
}

/// Writes a variant's descriptive fields (not its stock).
async fn write_variant(conn: &mut SqliteConnection, id: &str, v: &NewVariant) -> StoreResult<()> {
    sqlx::query(
        "UPDATE variants SET sku = ?, title = ?, options = ?, price = ?, currency = ?, \
         compare_at_price = ?, updated_at = ? WHERE id = ?",
    )
    .bind(v.sku.as_str())
    .bind(&v.title)
    .bind(serde_json::to_string(&v.options).map_err(other)?)
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

/// Sets on-hand stock through a ledger entry. Below the reserved stock is `Invalid`.
async fn change_stock(
    conn: &mut SqliteConnection,
    tenant: TenantId,
    variant: &str,
    delta: i64,
    reason: &str,
    actor: &str,
) -> StoreResult<InventoryAdjustment> {
    let (on_hand, reserved): (i64, i64) =
        sqlx::query_as("SELECT on_hand, reserved FROM variants WHERE id = ?")
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
    sqlx::query("UPDATE variants SET on_hand = ?, updated_at = ? WHERE id = ?")
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
    conn: &mut SqliteConnection,
    id: &str,
    handle: &Handle,
    title: &str,
    description: &str,
    status: Option<ProductStatus>,
    tags: &[String],
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE products SET handle = ?, title = ?, title_key = ?, description = ?, \
         status = coalesce(?, status), \
         tags = ?, search_doc = ?, updated_at = ? WHERE id = ?",
    )
    .bind(handle.as_str())
    .bind(title)
    .bind(title_key(title))
    .bind(description)
    .bind(status.map(ProductStatus::as_str))
    .bind(serde_json::to_string(tags).map_err(other)?)
    .bind(search_document(title, tags, description))
    .bind(now())
    .bind(id)
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    Ok(())
}

async fn product_count(conn: &mut SqliteConnection, tenant: TenantId) -> StoreResult<i64> {
    sqlx::query_scalar("SELECT count(*) FROM products WHERE tenant_id = ?")
        .bind(tenant.to_string())
        .fetch_one(&mut *conn)
        .await
        .map_err(other)
}

async fn check_product_limit(
    conn: &mut SqliteConnection,
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
    conn: &mut SqliteConnection,
    tenant: TenantId,
    handle: &Handle,
    title: &str,
    description: &str,
    status: ProductStatus,
    tags: &[String],
    categories: &[CategoryId],
) -> StoreResult<String> {
    let id = ProductId::new().to_string();
    let at = now();
    sqlx::query(
        "INSERT INTO products (id, tenant_id, handle, title, title_key, description, status, \
         tags, min_price, available, search_doc, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, 0, ?, ?, ?)",
    )
    .bind(&id)
    .bind(tenant.to_string())
    .bind(handle.as_str())
    .bind(title)
    .bind(title_key(title))
    .bind(description)
    .bind(status.as_str())
    .bind(serde_json::to_string(tags).map_err(other)?)
    .bind(search_document(title, tags, description))
    .bind(at)
    .bind(at)
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    set_tags(conn, tenant, &id, tags).await?;
    set_categories(conn, tenant, &id, categories).await?;
    Ok(id)
}

async fn append(
    conn: &mut SqliteConnection,
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

/// Applies one import row; runs inside the row's savepoint.
async fn import_row(
    conn: &mut SqliteConnection,
    tenant: TenantId,
    row: &ImportRow,
    room: i64,
    actor: &str,
) -> StoreResult<ImportOutcome> {
    let mut categories = Vec::with_capacity(row.categories.len());
    for handle in &row.categories {
        let id: Option<String> =
            sqlx::query_scalar("SELECT id FROM categories WHERE tenant_id = ? AND handle = ?")
                .bind(tenant.to_string())
                .bind(handle.as_str())
                .fetch_optional(&mut *conn)
                .await
                .map_err(other)?;
        let id = id.ok_or(StoreError::UnknownReference {
            field: "categories",
        })?;
        categories.push(id.parse().map_err(other)?);
    }
    let existing: Option<String> =
        sqlx::query_scalar("SELECT id FROM products WHERE tenant_id = ? AND handle = ?")
            .bind(tenant.to_string())
            .bind(row.handle.as_str())
            .fetch_optional(&mut *conn)
            .await
            .map_err(other)?;
    let (product, outcome) = match existing {
        Some(id) => {
            write_product_fields(
                conn,
                &id,
                &row.handle,
                &row.title,
                &row.description,
                row.status,
                &row.tags,
            )
            .await?;
            set_tags(conn, tenant, &id, &row.tags).await?;
            set_categories(conn, tenant, &id, &categories).await?;
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
        let found: Option<(String, String, i64)> = sqlx::query_as(
            "SELECT id, product_id, on_hand FROM variants WHERE tenant_id = ? AND sku = ?",
        )
        .bind(tenant.to_string())
        .bind(v.sku.as_str())
        .fetch_optional(&mut *conn)
        .await
        .map_err(other)?;
        match found {
            Some((_, owner, _)) if owner != product => {
                return Err(StoreError::Conflict { field: "sku" });
            }
            Some((id, _, on_hand)) => {
                write_variant(conn, &id, v).await?;
                if *set_stock && v.on_hand != on_hand {
                    change_stock(conn, tenant, &id, v.on_hand - on_hand, "import", actor).await?;
                }
            }
            None => {
                insert_variant(conn, tenant, &product, v, actor, "import").await?;
            }
        }
    }
    let variants: i64 = sqlx::query_scalar("SELECT count(*) FROM variants WHERE product_id = ?")
        .bind(&product)
        .fetch_one(&mut *conn)
        .await
        .map_err(other)?;
    if variants == 0 {
        return Err(StoreError::Invalid("a product needs at least one variant"));
    }
    if variants > storekeep_domain::MAX_VARIANTS as i64 {
        return Err(StoreError::Invalid("a product has at most 100 variants"));
    }
    refresh_summary(conn, &product).await?;
    Ok(outcome)
}

#[async_trait]
impl CatalogStore for SqliteStore {
    async fn create_category(
        &self,
        tenant: TenantId,
        new: &NewCategory,
        ctx: &AuditContext,
    ) -> StoreResult<Category> {
        let mut tx = write_tx(&self.pool).await?;
        if let Some(parent) = new.parent_id {
            fetch_category(&mut tx, tenant, parent)
                .await
                .map_err(|_| StoreError::UnknownReference { field: "parent_id" })?;
        }
        let id = CategoryId::new();
        let at = now();
        sqlx::query(
            "INSERT INTO categories (id, tenant_id, parent_id, handle, name, position, \
             created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id.to_string())
        .bind(tenant.to_string())
        .bind(new.parent_id.map(|p| p.to_string()))
        .bind(new.handle.as_str())
        .bind(&new.name)
        .bind(new.position)
        .bind(at)
        .bind(at)
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
            "SELECT {CATEGORY_COLUMNS} FROM categories WHERE tenant_id = ? \
             ORDER BY position, name, id"
        ))
        .bind(tenant.to_string())
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
                cursor = fetch_category(&mut tx, tenant, c)
                    .await
                    .map_err(|_| StoreError::UnknownReference { field: "parent_id" })?
                    .parent_id;
            }
        }
        sqlx::query(
            "UPDATE categories SET parent_id = ?, handle = ?, name = ?, position = ?, \
             updated_at = ? WHERE id = ?",
        )
        .bind(parent.map(|p| p.to_string()))
        .bind(patch.handle.as_ref().unwrap_or(&before.handle).as_str())
        .bind(patch.name.as_ref().unwrap_or(&before.name))
        .bind(patch.position.unwrap_or(before.position))
        .bind(now())
        .bind(id.to_string())
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
        let before = fetch_category(&mut tx, tenant, id).await?;
        let children: i64 =
            sqlx::query_scalar("SELECT count(*) FROM categories WHERE parent_id = ?")
                .bind(id.to_string())
                .fetch_one(&mut *tx)
                .await
                .map_err(other)?;
        if children > 0 {
            return Err(StoreError::Invalid(
                "the category has subcategories; move or delete them first",
            ));
        }
        sqlx::query("DELETE FROM categories WHERE id = ?")
            .bind(id.to_string())
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
            insert_variant(&mut tx, tenant, &id, v, &ctx.actor, "initial").await?;
        }
        refresh_summary(&mut tx, &id).await?;
        let product = fetch_product(&mut tx, tenant, "p.id = ?", &id).await?;
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
        fetch_product(&mut conn, tenant, "p.id = ?", &id.to_string()).await
    }

    async fn product_by_handle(&self, tenant: TenantId, handle: &Handle) -> StoreResult<Product> {
        let mut conn = self.pool.acquire().await.map_err(other)?;
        fetch_product(&mut conn, tenant, "p.handle = ?", handle.as_str()).await
    }

    async fn products_by_ids(
        &self,
        tenant: TenantId,
        ids: &[ProductId],
    ) -> StoreResult<Vec<Product>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.pool.acquire().await.map_err(other)?;
        let sql = format!(
            "SELECT {PRODUCT_COLUMNS} FROM products p WHERE p.tenant_id = ? AND p.id IN ({})",
            placeholders(ids.len())
        );
        let mut q = sqlx::query_as::<_, ProductRow>(&sql).bind(tenant.to_string());
        for id in ids {
            q = q.bind(id.to_string());
        }
        let rows = q.fetch_all(&mut *conn).await.map_err(other)?;
        assemble(&mut conn, rows).await
    }

    async fn list_products(
        &self,
        tenant: TenantId,
        query: &ProductQuery,
    ) -> StoreResult<Page<Product>> {
        enum Arg {
            Text(String),
            Int(i64),
        }
        let mut sql = format!("SELECT {PRODUCT_COLUMNS} FROM products p WHERE p.tenant_id = ?");
        let mut args = vec![Arg::Text(tenant.to_string())];
        if let Some(status) = query.status {
            sql.push_str(" AND p.status = ?");
            args.push(Arg::Text(status.as_str().into()));
        }
        if let Some(categories) = &query.categories {
            sql.push_str(&format!(
                " AND EXISTS (SELECT 1 FROM product_categories pc WHERE pc.product_id = p.id \
                 AND pc.category_id IN ({}))",
                placeholders(categories.len().max(1))
            ));
            if categories.is_empty() {
                args.push(Arg::Text(String::new()));
            }
            args.extend(categories.iter().map(|c| Arg::Text(c.to_string())));
        }
        if let Some(tag) = &query.tag {
            sql.push_str(
                " AND EXISTS (SELECT 1 FROM product_tags t WHERE t.product_id = p.id AND t.tag = ?)",
            );
            args.push(Arg::Text(tag.clone()));
        }
        if query.min_price.is_some() || query.max_price.is_some() {
            sql.push_str(
                " AND EXISTS (SELECT 1 FROM variants v WHERE v.product_id = p.id \
                 AND v.price >= ? AND v.price <= ?)",
            );
            args.push(Arg::Int(query.min_price.unwrap_or(0)));
            args.push(Arg::Int(query.max_price.unwrap_or(i64::MAX)));
        }
        if query.in_stock {
            sql.push_str(" AND p.available > 0");
        }
        let order = match (&query.after, query.sort) {
            (None, ProductSort::Newest) => "p.id DESC",
            (Some(ProductCursor::Newest(id)), ProductSort::Newest) => {
                sql.push_str(" AND p.id < ?");
                args.push(Arg::Text(id.to_string()));
                "p.id DESC"
            }
            (None, ProductSort::PriceAsc) => "p.min_price, p.id",
            (Some(ProductCursor::Price(amount, id)), ProductSort::PriceAsc) => {
                sql.push_str(" AND (p.min_price > ? OR (p.min_price = ? AND p.id > ?))");
                args.extend([
                    Arg::Int(*amount),
                    Arg::Int(*amount),
                    Arg::Text(id.to_string()),
                ]);
                "p.min_price, p.id"
            }
            (None, ProductSort::PriceDesc) => "p.min_price DESC, p.id DESC",
            (Some(ProductCursor::Price(amount, id)), ProductSort::PriceDesc) => {
                sql.push_str(" AND (p.min_price < ? OR (p.min_price = ? AND p.id < ?))");
                args.extend([
                    Arg::Int(*amount),
                    Arg::Int(*amount),
                    Arg::Text(id.to_string()),
                ]);
                "p.min_price DESC, p.id DESC"
            }
            (None, ProductSort::Title) => "p.title_key, p.id",
            (Some(ProductCursor::Title(key, id)), ProductSort::Title) => {
                sql.push_str(" AND (p.title_key > ? OR (p.title_key = ? AND p.id > ?))");
                args.extend([
                    Arg::Text(key.clone()),
                    Arg::Text(key.clone()),
                    Arg::Text(id.to_string()),
                ]);
                "p.title_key, p.id"
            }
            _ => return Err(StoreError::InvalidCursor),
        };
        sql.push_str(&format!(" ORDER BY {order} LIMIT ?"));
        args.push(Arg::Int(i64::from(query.limit) + 1));
        let mut q = sqlx::query_as::<_, ProductRow>(&sql);
        for a in args {
            q = match a {
                Arg::Text(s) => q.bind(s),
                Arg::Int(i) => q.bind(i),
            };
        }
        let mut conn = self.pool.acquire().await.map_err(other)?;
        let rows = q.fetch_all(&mut *conn).await.map_err(other)?;
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
        sqlx::query_scalar("SELECT count(*) FROM products WHERE tenant_id = ?")
            .bind(tenant.to_string())
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
        let key = id.to_string();
        let before = fetch_product(&mut tx, tenant, "p.id = ?", &key).await?;
        let tags = patch.tags.as_ref().unwrap_or(&before.tags);
        write_product_fields(
            &mut tx,
            &key,
            patch.handle.as_ref().unwrap_or(&before.handle),
            patch.title.as_ref().unwrap_or(&before.title),
            patch.description.as_ref().unwrap_or(&before.description),
            Some(patch.status.unwrap_or(before.status)),
            tags,
        )
        .await?;
        if let Some(tags) = &patch.tags {
            set_tags(&mut tx, tenant, &key, tags).await?;
        }
        if let Some(categories) = &patch.categories {
            set_categories(&mut tx, tenant, &key, categories).await?;
        }
        let after = fetch_product(&mut tx, tenant, "p.id = ?", &key).await?;
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
        let before = fetch_product(&mut tx, tenant, "p.id = ?", &id.to_string()).await?;
        sqlx::query("DELETE FROM products WHERE id = ?")
            .bind(id.to_string())
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
        let key = product.to_string();
        let count: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM variants WHERE product_id = \
             (SELECT id FROM products WHERE tenant_id = ? AND id = ?)",
        )
        .bind(tenant.to_string())
        .bind(&key)
        .fetch_one(&mut *tx)
        .await
        .map_err(other)?;
        fetch_product(&mut tx, tenant, "p.id = ?", &key).await?;
        if count >= storekeep_domain::MAX_VARIANTS as i64 {
            return Err(StoreError::Invalid("a product has at most 100 variants"));
        }
        let id = insert_variant(&mut tx, tenant, &key, new, &ctx.actor, "initial").await?;
        refresh_summary(&mut tx, &key).await?;
        sqlx::query("UPDATE products SET updated_at = ? WHERE id = ?")
            .bind(now())
            .bind(&key)
            .execute(&mut *tx)
            .await
            .map_err(other)?;
        let variant = fetch_variant(&mut tx, tenant, id.parse().map_err(other)?).await?;
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
        let before = fetch_variant(&mut tx, tenant, id).await?;
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
        let key = id.to_string();
        write_variant(&mut tx, &key, &merged).await?;
        refresh_summary(&mut tx, &before.product_id.to_string()).await?;
        sqlx::query("UPDATE products SET updated_at = ? WHERE id = ?")
            .bind(now())
            .bind(before.product_id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(other)?;
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
        let before = fetch_variant(&mut tx, tenant, id).await?;
        let product = before.product_id.to_string();
        let count: i64 = sqlx::query_scalar("SELECT count(*) FROM variants WHERE product_id = ?")
            .bind(&product)
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
        sqlx::query("DELETE FROM variants WHERE id = ?")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(other)?;
        refresh_summary(&mut tx, &product).await?;
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
        let before = fetch_variant(&mut tx, tenant, id).await?;
        let key = id.to_string();
        let adjustment = change_stock(&mut tx, tenant, &key, delta, reason, &ctx.actor).await?;
        refresh_summary(&mut tx, &before.product_id.to_string()).await?;
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
        let before = storekeep_store::parse_cursor(page)?
            .map(|u| u.to_string())
            .unwrap_or_else(|| "~".into());
        let rows: Vec<(
            String,
            i64,
            String,
            i64,
            String,
            chrono::DateTime<chrono::Utc>,
        )> = sqlx::query_as(
            "SELECT id, delta, reason, on_hand_after, actor, at FROM inventory_ledger \
                 WHERE tenant_id = ? AND variant_id = ? AND id < ? ORDER BY id DESC LIMIT ?",
        )
        .bind(tenant.to_string())
        .bind(id.to_string())
        .bind(before)
        .bind(page.fetch_limit())
        .fetch_all(&mut *conn)
        .await
        .map_err(other)?;
        let items = rows
            .into_iter()
            .map(|(lid, delta, reason, on_hand_after, actor, at)| {
                Ok(InventoryAdjustment {
                    id: lid.parse().map_err(other)?,
                    variant_id: id,
                    delta,
                    reason,
                    on_hand_after,
                    actor,
                    at,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
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
        let product = image.product_id.to_string();
        fetch_product(&mut tx, tenant, "p.id = ?", &product).await?;
        let used: i64 = sqlx::query_scalar(
            "SELECT coalesce(sum(size_bytes), 0) FROM product_images WHERE tenant_id = ?",
        )
        .bind(tenant.to_string())
        .fetch_one(&mut *tx)
        .await
        .map_err(other)?;
        if used + image.size_bytes > storage_limit {
            return Err(StoreError::LimitReached("image storage"));
        }
        let position: i64 = sqlx::query_scalar(
            "SELECT coalesce(max(position) + 1, 0) FROM product_images WHERE product_id = ?",
        )
        .bind(&product)
        .fetch_one(&mut *tx)
        .await
        .map_err(other)?;
        sqlx::query(
            "INSERT INTO product_images (id, tenant_id, product_id, object_key, content_type, \
             width, height, size_bytes, alt, position, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(image.id.to_string())
        .bind(tenant.to_string())
        .bind(&product)
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
        sqlx::query("UPDATE products SET updated_at = ? WHERE id = ?")
            .bind(now())
            .bind(&product)
            .execute(&mut *tx)
            .await
            .map_err(other)?;
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
        sqlx::query("DELETE FROM product_images WHERE id = ?")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(other)?;
        sqlx::query("UPDATE products SET updated_at = ? WHERE id = ?")
            .bind(now())
            .bind(image.product_id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(other)?;
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
        if terms.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<(String, String, String, String)> = sqlx::query_as(
            // CROSS JOIN keeps the index look-up the outer loop: the planner
            // would otherwise scan the shop's products and match each.
            "SELECT p.id, p.title, p.tags, p.description FROM product_search s \
             CROSS JOIN products p ON p.rid = s.rowid \
             WHERE product_search MATCH ? AND p.tenant_id = ? AND p.status = 'active' \
             ORDER BY p.id DESC LIMIT ?",
        )
        .bind(fts5_query(terms))
        .bind(tenant.to_string())
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(other)?;
        rows.into_iter()
            .map(|(id, title, tags, description)| {
                Ok(SearchDoc {
                    id: id.parse().map_err(other)?,
                    title,
                    tags: serde_json::from_str(&tags).map_err(other)?,
                    description,
                })
            })
            .collect()
    }

    async fn import_rows(
        &self,
        tenant: TenantId,
        rows: &[ImportRow],
        max_products: i64,
        ctx: &AuditContext,
    ) -> StoreResult<Vec<Result<ImportOutcome, StoreError>>> {
        let mut tx = write_tx(&self.pool).await?;
        let mut room = max_products - product_count(&mut tx, tenant).await?;
        let mut outcomes = Vec::with_capacity(rows.len());
        for row in rows {
            sqlx::query("SAVEPOINT import_row")
                .execute(&mut *tx)
                .await
                .map_err(other)?;
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
                Ok(_) => {
                    sqlx::query("RELEASE import_row")
                        .execute(&mut *tx)
                        .await
                        .map_err(other)?;
                }
                Err(e) => {
                    sqlx::query("ROLLBACK TO import_row")
                        .execute(&mut *tx)
                        .await
                        .map_err(other)?;
                    sqlx::query("RELEASE import_row")
                        .execute(&mut *tx)
                        .await
                        .map_err(other)?;
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
            "SELECT {PRODUCT_COLUMNS} FROM products p WHERE p.tenant_id = ? AND p.id > ? \
             ORDER BY p.id LIMIT ?"
        ))
        .bind(tenant.to_string())
        .bind(after.map(|a| a.to_string()).unwrap_or_default())
        .bind(limit)
        .fetch_all(&mut *conn)
        .await
        .map_err(other)?;
        assemble(&mut conn, rows).await
    }
}

async fn fetch_image(
    conn: &mut SqliteConnection,
    tenant: TenantId,
    id: ImageId,
) -> StoreResult<ProductImage> {
    let row: Option<ImageRow> = sqlx::query_as(&format!(
        "SELECT {IMAGE_COLUMNS} FROM product_images WHERE tenant_id = ? AND id = ?"
    ))
    .bind(tenant.to_string())
    .bind(id.to_string())
    .fetch_optional(&mut *conn)
    .await
    .map_err(other)?;
    row.ok_or(StoreError::NotFound("image"))?.try_into()
}
