//! Catalog SQL that SQLite and PostgreSQL both accept to the letter (`$N`
//! placeholders, standard functions), and the binding of the longer
//! statements' arguments, generic over the database. What only one
//! database understands stays in its backend.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use storekeep_domain::{
    Handle, ImportRow, NewCategory, NewImage, NewProduct, NewVariant, Product, ProductPatch,
    ProductStatus, search_document, title_key,
};

use crate::DbId;
use crate::backend::SharedArgs;
use crate::stmt::Stmt;

macro_rules! product_columns {
    () => {
        "p.id, p.handle, p.title, p.description, p.status, p.tags, p.created_at, p.updated_at"
    };
}
macro_rules! variant_columns {
    () => {
        "id, product_id, sku, title, options, price, currency, compare_at_price, on_hand, \
         reserved, position"
    };
}
macro_rules! image_columns {
    () => {
        "id, product_id, object_key, content_type, width, height, size_bytes, alt, position, \
         created_at, variants"
    };
}
macro_rules! category_columns {
    () => {
        "id, parent_id, handle, name, position, created_at, updated_at"
    };
}

/// A [`ProductRow`](super::ProductRow), from `products p`.
pub const PRODUCT_COLUMNS: &str = product_columns!();
/// A [`VariantRow`](super::VariantRow).
pub const VARIANT_COLUMNS: &str = variant_columns!();
/// An [`ImageRow`](super::ImageRow).
pub const IMAGE_COLUMNS: &str = image_columns!();
/// A [`CategoryRow`](super::CategoryRow).
pub const CATEGORY_COLUMNS: &str = category_columns!();

// --- products

pub const PRODUCT_BY_ID: &str = concat!(
    "SELECT ",
    product_columns!(),
    " FROM products p WHERE p.tenant_id = $1 AND p.id = $2"
);
pub const PRODUCT_BY_HANDLE: &str = concat!(
    "SELECT ",
    product_columns!(),
    " FROM products p WHERE p.tenant_id = $1 AND p.handle = $2"
);
/// Export order: `$2` is the last id seen (the nil id before the first).
pub const PRODUCTS_AFTER: &str = concat!(
    "SELECT ",
    product_columns!(),
    " FROM products p WHERE p.tenant_id = $1 AND p.id > $2 ORDER BY p.id LIMIT $3"
);
pub const PRODUCT_COUNT: &str = "SELECT count(*) FROM products WHERE tenant_id = $1";
pub const DELETE_PRODUCT: &str = "DELETE FROM products WHERE tenant_id = $1 AND id = $2";
pub const TOUCH_PRODUCT: &str = "UPDATE products SET updated_at = $1 WHERE id = $2";

/// Product `$2` of shop `$1`, if it exists.
pub const PRODUCT_EXISTS: &str = "SELECT id FROM products WHERE tenant_id = $1 AND id = $2";

/// [`PRODUCT_EXISTS`], locking the row (PostgreSQL's lock 2).
pub const PRODUCT_EXISTS_LOCKED: &str =
    "SELECT id FROM products WHERE tenant_id = $1 AND id = $2 FOR UPDATE";

/// The bytes of images a shop stores, originals and their variants (the
/// cast makes PostgreSQL's numeric sum a bigint; SQLite's is an integer
/// already).
pub const IMAGE_BYTES_USED: &str = "SELECT CAST(coalesce(sum(size_bytes + variants_bytes), 0) AS BIGINT) \
     FROM product_images WHERE tenant_id = $1";
pub const DELETE_PRODUCT_TAGS: &str = "DELETE FROM product_tags WHERE product_id = $1";
pub const DELETE_PRODUCT_CATEGORIES: &str = "DELETE FROM product_categories WHERE product_id = $1";
const INSERT_PRODUCT: &str = "INSERT INTO products (id, tenant_id, handle, title, title_key, \
     description, status, tags, min_price, available, search_doc, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, 0, $9, $10, $10)";
const UPDATE_PRODUCT: &str = "UPDATE products SET handle = $1, title = $2, title_key = $3, \
     description = $4, status = coalesce($5, status), tags = $6, search_doc = $7, \
     updated_at = $8 WHERE id = $9";

/// The variants, images and filings of a list of products; `ids` is the
/// backend's test for `product_id` against the list.
pub fn variants_of(ids: &str) -> String {
    format!("SELECT {VARIANT_COLUMNS} FROM variants WHERE product_id {ids} ORDER BY position, id")
}

/// See [`variants_of`].
pub fn images_of(ids: &str) -> String {
    format!(
        "SELECT {IMAGE_COLUMNS} FROM product_images WHERE product_id {ids} ORDER BY position, id"
    )
}

/// See [`variants_of`].
pub fn filings_of(ids: &str) -> String {
    format!(
        "SELECT product_id, category_id FROM product_categories WHERE product_id {ids} \
         ORDER BY position"
    )
}

// --- variants and stock

pub const VARIANT_BY_ID: &str = concat!(
    "SELECT ",
    variant_columns!(),
    " FROM variants WHERE tenant_id = $1 AND id = $2"
);
pub const VARIANT_COUNT: &str = "SELECT count(*) FROM variants WHERE product_id = $1";
pub const NEXT_VARIANT_POSITION: &str =
    "SELECT coalesce(max(position) + 1, 0) FROM variants WHERE product_id = $1";
pub const DELETE_VARIANT: &str = "DELETE FROM variants WHERE tenant_id = $1 AND id = $2";
pub const SET_STOCK: &str = "UPDATE variants SET on_hand = $1, updated_at = $2 WHERE id = $3";
const INSERT_VARIANT: &str = "INSERT INTO variants (id, tenant_id, product_id, sku, title, \
     options, price, currency, compare_at_price, on_hand, reserved, position, created_at, \
     updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, $11, $12, $12)";
const UPDATE_VARIANT: &str = "UPDATE variants SET sku = $1, title = $2, options = $3, \
     price = $4, currency = $5, compare_at_price = $6, updated_at = $7 WHERE id = $8";
const INSERT_LEDGER: &str = "INSERT INTO inventory_ledger (id, tenant_id, variant_id, delta, \
     reason, on_hand_after, actor, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
/// Newest first, ids below `$3`.
pub const LEDGER_PAGE: &str = "SELECT id, variant_id, delta, reason, on_hand_after, actor, at \
     FROM inventory_ledger WHERE tenant_id = $1 AND variant_id = $2 AND id < $3 \
     ORDER BY id DESC LIMIT $4";

// --- categories

pub const CATEGORY_BY_ID: &str = concat!(
    "SELECT ",
    category_columns!(),
    " FROM categories WHERE tenant_id = $1 AND id = $2"
);
pub const CATEGORIES: &str = concat!(
    "SELECT ",
    category_columns!(),
    " FROM categories WHERE tenant_id = $1 ORDER BY position, name, id"
);
/// Every category's parent, for checking a move against the whole tree.
pub const CATEGORY_TREE: &str = "SELECT id, parent_id FROM categories WHERE tenant_id = $1";
pub const CATEGORY_ID_BY_HANDLE: &str =
    "SELECT id FROM categories WHERE tenant_id = $1 AND handle = $2";
pub const CATEGORY_CHILDREN: &str = "SELECT count(*) FROM categories WHERE parent_id = $1";
pub const DELETE_CATEGORY: &str = "DELETE FROM categories WHERE tenant_id = $1 AND id = $2";
const INSERT_CATEGORY: &str = "INSERT INTO categories (id, tenant_id, parent_id, handle, name, \
     position, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)";
const UPDATE_CATEGORY: &str = "UPDATE categories SET parent_id = $1, handle = $2, name = $3, \
     position = $4, updated_at = $5 WHERE id = $6";

// --- images

pub const IMAGE_BY_ID: &str = concat!(
    "SELECT ",
    image_columns!(),
    " FROM product_images WHERE tenant_id = $1 AND id = $2"
);
pub const NEXT_IMAGE_POSITION: &str =
    "SELECT coalesce(max(position) + 1, 0) FROM product_images WHERE product_id = $1";
pub const DELETE_IMAGE: &str = "DELETE FROM product_images WHERE tenant_id = $1 AND id = $2";
const INSERT_IMAGE: &str = "INSERT INTO product_images (id, tenant_id, product_id, object_key, \
     content_type, width, height, size_bytes, alt, position, created_at, variants, variants_bytes) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";
/// Images whose variants were never made (`variants` is `''` for rows
/// written before variants existed), every shop's, in id order.
pub const IMAGES_WITHOUT_VARIANTS: &str = "SELECT tenant_id, id, object_key FROM product_images \
     WHERE variants = '' AND id > $1 ORDER BY id LIMIT $2";
/// Records the variants of an image that has none yet (0 rows: deleted, or
/// another run recorded them first).
pub const SET_IMAGE_VARIANTS: &str = "UPDATE product_images SET variants = $3, variants_bytes = $4 \
     WHERE tenant_id = $1 AND id = $2 AND variants = ''";

// --- import: one savepoint per row

pub const SAVEPOINT: &str = "SAVEPOINT import_row";
pub const RELEASE: &str = "RELEASE SAVEPOINT import_row";
pub const ROLLBACK_TO: &str = "ROLLBACK TO SAVEPOINT import_row";

/// A product's descriptive columns, as created or rewritten.
#[derive(Debug, Clone, Copy)]
pub struct ProductFields<'a> {
    pub handle: &'a Handle,
    pub title: &'a str,
    pub description: &'a str,
    /// `None` keeps the stored status (an import row that names none).
    pub status: Option<ProductStatus>,
    pub tags: &'a [String],
}

impl<'a> ProductFields<'a> {
    pub fn of_new(new: &'a NewProduct) -> Self {
        Self {
            handle: &new.handle,
            title: &new.title,
            description: &new.description,
            status: Some(new.status),
            tags: &new.tags,
        }
    }

    /// What `patch` gives, the rest as `before` has it.
    pub fn patched(before: &'a Product, patch: &'a ProductPatch) -> Self {
        Self {
            handle: patch.handle.as_ref().unwrap_or(&before.handle),
            title: patch.title.as_deref().unwrap_or(&before.title),
            description: patch.description.as_deref().unwrap_or(&before.description),
            status: Some(patch.status.unwrap_or(before.status)),
            tags: patch.tags.as_deref().unwrap_or(&before.tags),
        }
    }

    pub fn of_import(row: &'a ImportRow) -> Self {
        Self {
            handle: &row.handle,
            title: &row.title,
            description: &row.description,
            status: row.status,
            tags: &row.tags,
        }
    }
}

/// `$from, $from+1, …`: `n` numbered placeholders for an `IN (...)` list.
pub fn numbered(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Inserts a product with no variants yet (a zero price and stock summary).
pub fn insert_product<'q>(
    id: DbId,
    tenant: DbId,
    p: ProductFields<'q>,
    at: DateTime<Utc>,
) -> Stmt<impl SharedArgs<'q>> {
    let status = p.status.unwrap_or(ProductStatus::Draft);
    Stmt::new(
        INSERT_PRODUCT,
        (
            id,
            tenant,
            p.handle.as_str(),
            p.title,
            title_key(p.title),
            p.description,
            status.as_str(),
            Json(p.tags),
            search_document(p.title, p.tags, p.description),
            at,
        ),
    )
}

/// Rewrites a product's descriptive columns, with its sort key and search
/// document.
pub fn update_product<'q>(
    id: DbId,
    p: ProductFields<'q>,
    at: DateTime<Utc>,
) -> Stmt<impl SharedArgs<'q>> {
    Stmt::new(
        UPDATE_PRODUCT,
        (
            p.handle.as_str(),
            p.title,
            title_key(p.title),
            p.description,
            p.status.map(ProductStatus::as_str),
            Json(p.tags),
            search_document(p.title, p.tags, p.description),
            at,
            id,
        ),
    )
}

/// Inserts a variant at `position` with `v.on_hand` in stock and nothing
/// reserved; `ids` is `(variant, tenant, product)`.
pub fn insert_variant(
    (id, tenant, product): (DbId, DbId, DbId),
    v: &NewVariant,
    position: i64,
    at: DateTime<Utc>,
) -> Stmt<NewVariantArgs<'_>> {
    let args = (
        id,
        tenant,
        product,
        v.sku.as_str(),
        v.title.as_str(),
        Json(&v.options),
        v.price.amount,
        v.price.currency.as_str(),
        v.compare_at_price.as_ref().map(|m| m.amount),
        v.on_hand,
        position,
        at,
    );
    Stmt::new(INSERT_VARIANT, args)
}

/// What [`insert_variant`] binds, in `INSERT_VARIANT`'s order.
pub type NewVariantArgs<'q> = (
    DbId,
    DbId,
    DbId,
    &'q str,
    &'q str,
    Json<&'q BTreeMap<String, String>>,
    i64,
    &'q str,
    Option<i64>,
    i64,
    i64,
    DateTime<Utc>,
);

/// Rewrites a variant's descriptive columns (not its stock).
pub fn update_variant(id: DbId, v: &NewVariant, at: DateTime<Utc>) -> Stmt<VariantArgs<'_>> {
    let args = (
        v.sku.as_str(),
        v.title.as_str(),
        Json(&v.options),
        v.price.amount,
        v.price.currency.as_str(),
        v.compare_at_price.as_ref().map(|m| m.amount),
        at,
        id,
    );
    Stmt::new(UPDATE_VARIANT, args)
}

/// What [`update_variant`] binds, in `UPDATE_VARIANT`'s order.
pub type VariantArgs<'q> = (
    &'q str,
    &'q str,
    Json<&'q BTreeMap<String, String>>,
    i64,
    &'q str,
    Option<i64>,
    DateTime<Utc>,
    DbId,
);

/// A ledger line for `a` (whose id and variant it names), in `tenant`.
pub fn insert_ledger(
    tenant: DbId,
    a: &storekeep_domain::InventoryAdjustment,
) -> Stmt<LedgerArgs<'_>> {
    let args = (
        DbId(a.id),
        tenant,
        DbId(a.variant_id.0),
        a.delta,
        a.reason.as_str(),
        a.on_hand_after,
        a.actor.as_str(),
        a.at,
    );
    Stmt::new(INSERT_LEDGER, args)
}

/// What [`insert_ledger`] binds, in `INSERT_LEDGER`'s order.
pub type LedgerArgs<'q> = (DbId, DbId, DbId, i64, &'q str, i64, &'q str, DateTime<Utc>);

/// The product of variant `$2` in shop `$1`.
pub const VARIANT_PRODUCT: &str =
    "SELECT product_id FROM variants WHERE tenant_id = $1 AND id = $2";

/// A variant's stock.
pub const VARIANT_STOCK: &str = "SELECT on_hand, reserved FROM variants WHERE id = $1";

/// [`VARIANT_STOCK`], locking the row (PostgreSQL's lock 3).
pub const VARIANT_STOCK_LOCKED: &str =
    "SELECT on_hand, reserved FROM variants WHERE id = $1 FOR UPDATE";

/// What [`insert_category`] binds: id, tenant, parent, handle, name,
/// position, creation time.
pub type NewCategoryArgs<'q> = (
    DbId,
    DbId,
    Option<DbId>,
    &'q str,
    &'q str,
    i64,
    DateTime<Utc>,
);

/// What [`update_category`] binds: parent, handle, name, position, update
/// time, id.
pub type CategoryArgs<'q> = (Option<DbId>, &'q str, &'q str, i64, DateTime<Utc>, DbId);

/// Files a new category `id` in `tenant`.
pub fn insert_category(
    id: DbId,
    tenant: DbId,
    c: &NewCategory,
    at: DateTime<Utc>,
) -> Stmt<NewCategoryArgs<'_>> {
    let parent = c.parent_id.map(|p| DbId(p.0));
    Stmt::new(
        INSERT_CATEGORY,
        (
            id,
            tenant,
            parent,
            c.handle.as_str(),
            c.name.as_str(),
            c.position,
            at,
        ),
    )
}

/// Rewrites a category as `c` describes it.
pub fn update_category(id: DbId, c: &NewCategory, at: DateTime<Utc>) -> Stmt<CategoryArgs<'_>> {
    let parent = c.parent_id.map(|p| DbId(p.0));
    Stmt::new(
        UPDATE_CATEGORY,
        (
            parent,
            c.handle.as_str(),
            c.name.as_str(),
            c.position,
            at,
            id,
        ),
    )
}

/// Records an image at `position`, in `tenant`.
pub fn insert_image(
    tenant: DbId,
    image: &NewImage,
    position: i64,
    at: DateTime<Utc>,
) -> Stmt<ImageArgs<'_>> {
    let args = (
        DbId(image.id.0),
        tenant,
        DbId(image.product_id.0),
        image.key.as_str(),
        image.content_type.as_str(),
        i64::from(image.width),
        i64::from(image.height),
        image.size_bytes,
        image.alt.as_str(),
        position,
        at,
        super::rows::variants_json(&image.variants),
        super::rows::variants_bytes(&image.variants),
    );
    Stmt::new(INSERT_IMAGE, args)
}

/// What [`insert_image`] binds, in `INSERT_IMAGE`'s column order.
pub type ImageArgs<'q> = (
    DbId,
    DbId,
    DbId,
    &'q str,
    &'q str,
    i64,
    i64,
    i64,
    &'q str,
    i64,
    DateTime<Utc>,
    String,
    i64,
);
