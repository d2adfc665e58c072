//! Catalog rows as both databases return them, and their conversion into
//! domain records. Ids are [`DbId`]; JSON columns (TEXT on SQLite, `jsonb`
//! on PostgreSQL) decode through [`Json`].

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use storekeep_domain::{
    Category, CategoryId, Handle, ImageId, ImageVariant, Inventory, InventoryAdjustment, Money,
    Product, ProductId, ProductImage, ProductStatus, SearchDoc, Sku, Variant, VariantId,
};
use storekeep_store::{StoreError, StoreResult};

use crate::DbId;

fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Other(format!("stored catalog row is invalid: {what}").into())
}

/// A product's own columns, [`sql::PRODUCT_COLUMNS`](super::sql::PRODUCT_COLUMNS).
#[derive(Debug, sqlx::FromRow)]
pub struct ProductRow {
    pub id: DbId,
    pub handle: String,
    pub title: String,
    pub description: String,
    pub status: String,
    pub tags: Json<Vec<String>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// [`sql::VARIANT_COLUMNS`](super::sql::VARIANT_COLUMNS).
#[derive(Debug, sqlx::FromRow)]
pub struct VariantRow {
    pub id: DbId,
    pub product_id: DbId,
    pub sku: String,
    pub title: String,
    pub options: Json<BTreeMap<String, String>>,
    pub price: i64,
    pub currency: String,
    pub compare_at_price: Option<i64>,
    pub on_hand: i64,
    pub reserved: i64,
    pub position: i64,
}

impl TryFrom<VariantRow> for Variant {
    type Error = StoreError;
    fn try_from(r: VariantRow) -> StoreResult<Self> {
        Ok(Variant {
            id: VariantId(r.id.0),
            product_id: ProductId(r.product_id.0),
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

/// [`sql::IMAGE_COLUMNS`](super::sql::IMAGE_COLUMNS).
#[derive(Debug, sqlx::FromRow)]
pub struct ImageRow {
    pub id: DbId,
    pub product_id: DbId,
    pub object_key: String,
    pub content_type: String,
    pub width: i64,
    pub height: i64,
    pub size_bytes: i64,
    pub alt: String,
    pub position: i64,
    pub created_at: DateTime<Utc>,
    /// JSON: a list of [`StoredVariant`]; `''` when never made.
    pub variants: String,
}

/// An image variant as the `variants` column holds it.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredVariant {
    pub key: String,
    pub width: u32,
    pub height: u32,
    pub content_type: String,
    pub size_bytes: i64,
}

/// The `variants` column's text for `variants`.
pub fn variants_json(variants: &[ImageVariant]) -> String {
    let stored: Vec<StoredVariant> = variants
        .iter()
        .map(|v| StoredVariant {
            key: v.key.clone(),
            width: v.width,
            height: v.height,
            content_type: v.content_type.clone(),
            size_bytes: v.size_bytes,
        })
        .collect();
    serde_json::to_string(&stored).unwrap_or_else(|_| "[]".to_owned())
}

/// The bytes `variants` take in the media store.
pub fn variants_bytes(variants: &[ImageVariant]) -> i64 {
    variants.iter().map(|v| v.size_bytes).sum()
}

/// The variants the `variants` column's text records (`''`: none made).
pub fn parse_variants(text: &str) -> StoreResult<Vec<ImageVariant>> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let stored: Vec<StoredVariant> = serde_json::from_str(text).map_err(corrupt)?;
    Ok(stored
        .into_iter()
        .map(|v| ImageVariant {
            key: v.key,
            url: String::new(),
            width: v.width,
            height: v.height,
            content_type: v.content_type,
            size_bytes: v.size_bytes,
        })
        .collect())
}

/// An image still without variants: its shop, id and key.
#[derive(Debug, sqlx::FromRow)]
pub struct PendingImageRow {
    pub tenant_id: DbId,
    pub id: DbId,
    pub object_key: String,
}

impl TryFrom<ImageRow> for ProductImage {
    type Error = StoreError;
    fn try_from(r: ImageRow) -> StoreResult<Self> {
        Ok(ProductImage {
            id: ImageId(r.id.0),
            product_id: ProductId(r.product_id.0),
            key: r.object_key,
            url: String::new(),
            content_type: r.content_type,
            width: u32::try_from(r.width).map_err(corrupt)?,
            height: u32::try_from(r.height).map_err(corrupt)?,
            size_bytes: r.size_bytes,
            alt: r.alt,
            position: r.position,
            created_at: r.created_at,
            variants: parse_variants(&r.variants)?,
        })
    }
}

/// [`sql::CATEGORY_COLUMNS`](super::sql::CATEGORY_COLUMNS).
#[derive(Debug, sqlx::FromRow)]
pub struct CategoryRow {
    pub id: DbId,
    pub parent_id: Option<DbId>,
    pub handle: String,
    pub name: String,
    pub position: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<CategoryRow> for Category {
    type Error = StoreError;
    fn try_from(r: CategoryRow) -> StoreResult<Self> {
        Ok(Category {
            id: CategoryId(r.id.0),
            parent_id: r.parent_id.map(|p| CategoryId(p.0)),
            handle: Handle::parse(&r.handle).map_err(corrupt)?,
            name: r.name,
            position: r.position,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// One line of the inventory ledger, [`sql::LEDGER_PAGE`](super::sql::LEDGER_PAGE).
#[derive(Debug, sqlx::FromRow)]
pub struct LedgerRow {
    pub id: DbId,
    pub variant_id: DbId,
    pub delta: i64,
    pub reason: String,
    pub on_hand_after: i64,
    pub actor: String,
    pub at: DateTime<Utc>,
}

impl From<LedgerRow> for InventoryAdjustment {
    fn from(r: LedgerRow) -> Self {
        InventoryAdjustment {
            id: r.id.0,
            variant_id: VariantId(r.variant_id.0),
            delta: r.delta,
            reason: r.reason,
            on_hand_after: r.on_hand_after,
            actor: r.actor,
            at: r.at,
        }
    }
}

/// A new ledger line: `delta` applied to `variant` by `actor`, leaving
/// `on_hand_after` in stock.
pub fn adjustment(
    variant: VariantId,
    delta: i64,
    reason: &str,
    on_hand_after: i64,
    actor: &str,
) -> InventoryAdjustment {
    InventoryAdjustment {
        id: uuid::Uuid::now_v7(),
        variant_id: variant,
        delta,
        reason: reason.to_owned(),
        on_hand_after,
        actor: actor.to_owned(),
        at: storekeep_store::now(),
    }
}

/// What search ranks a candidate on: `p.id, p.title, p.tags, p.description`.
#[derive(Debug, sqlx::FromRow)]
pub struct SearchRow {
    pub id: DbId,
    pub title: String,
    pub tags: Json<Vec<String>>,
    pub description: String,
}

impl From<SearchRow> for SearchDoc {
    fn from(r: SearchRow) -> Self {
        SearchDoc {
            id: ProductId(r.id.0),
            title: r.title,
            tags: r.tags.0,
            description: r.description,
        }
    }
}

fn grouped<R, T>(
    rows: Vec<R>,
    split: impl Fn(R) -> StoreResult<(DbId, T)>,
) -> StoreResult<HashMap<DbId, Vec<T>>> {
    let mut out: HashMap<DbId, Vec<T>> = HashMap::new();
    for row in rows {
        let (key, value) = split(row)?;
        out.entry(key).or_default().push(value);
    }
    Ok(out)
}

/// Products from their rows and their variants, images and filings
/// (`(product_id, category_id)`), each already in display order; products
/// keep the order of `rows`.
pub fn assemble(
    rows: Vec<ProductRow>,
    variants: Vec<VariantRow>,
    images: Vec<ImageRow>,
    filings: Vec<(DbId, DbId)>,
) -> StoreResult<Vec<Product>> {
    let mut variants = grouped(variants, |r| Ok((r.product_id, r.try_into()?)))?;
    let mut images = grouped(images, |r| Ok((r.product_id, r.try_into()?)))?;
    let mut categories = grouped(filings, |(p, c)| Ok((p, CategoryId(c.0))))?;
    rows.into_iter()
        .map(|r| {
            Ok(Product {
                id: ProductId(r.id.0),
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
