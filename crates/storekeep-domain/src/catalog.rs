//! The catalog: products, their variants (SKU, options, price, stock),
//! categories as a tree, images, and the inventory ledger.
//!
//! Prices are integer minor units in the shop's ISO 4217 currency. Stock is
//! `on_hand` (physically there) and `reserved` (promised to unpaid orders);
//! `available = on_hand - reserved` is what can be sold.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{CategoryId, ImageId, ProductId, ProductImportId, TenantId, VariantId};

/// Longest product title, in characters.
pub const MAX_TITLE: usize = 200;
/// Longest product description, in characters.
pub const MAX_DESCRIPTION: usize = 20_000;
/// Most tags on one product.
pub const MAX_TAGS: usize = 50;
/// Most variants on one product.
pub const MAX_VARIANTS: usize = 100;
/// Largest stock figure or adjustment, so sums never overflow.
pub const MAX_QUANTITY: i64 = 1_000_000_000;
/// Largest price in minor units (10 million in a two-decimal currency).
pub const MAX_AMOUNT: i64 = 1_000_000_000;

/// A URL-safe name for a product or category, unique in its shop:
/// 1–120 characters of `a-z`, `0-9` and `-`, starting and ending with a
/// letter or digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
#[serde(transparent)]
#[schema(value_type = String, example = "thinkpad-t480")]
pub struct Handle(String);

impl Handle {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let s = raw.trim();
        if s.is_empty() || s.len() > 120 {
            return Err("must be 1 to 120 characters long".into());
        }
        if !s
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err("may contain only lowercase letters a-z, digits and '-'".into());
        }
        if s.starts_with('-') || s.ends_with('-') {
            return Err("must start and end with a letter or digit".into());
        }
        Ok(Self(s.to_owned()))
    }

    /// A handle made from a title: lowercase ASCII words joined by '-'.
    /// `None` when the title has no ASCII letters or digits at all.
    pub fn from_title(title: &str) -> Option<Self> {
        let mut out = String::new();
        for word in title
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
        {
            if out.len() + word.len() + 1 > 120 {
                break;
            }
            if !out.is_empty() {
                out.push('-');
            }
            out.push_str(&word.to_ascii_lowercase());
        }
        Self::parse(&out).ok()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A stock-keeping unit, unique in its shop: 1–64 characters of letters,
/// digits and `-_./`. Compared exactly (case matters).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(transparent)]
#[schema(value_type = String, example = "TP-T480-I5-16-256")]
pub struct Sku(String);

impl Sku {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let s = raw.trim();
        if s.is_empty() || s.len() > 64 {
            return Err("must be 1 to 64 characters long".into());
        }
        if !s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/'))
        {
            return Err("may contain only letters, digits and - _ . /".into());
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Minor-unit digits of an ISO 4217 currency: 0 for the currencies
/// without a minor unit in use, 3 for the dinars that have three, 4 for
/// the two units of account that have four, 2 for the rest. The one
/// table every place that writes amounts (emails, storefront pages) reads.
pub fn minor_digits(currency: &str) -> u32 {
    match currency {
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX"
        | "UYI" | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
        // Units of account (Chile's UF, Uruguay's wage index unit).
        "CLF" | "UYW" => 4,
        _ => 2,
    }
}

/// An amount of money in integer minor units (cents for USD) of an ISO
/// 4217 currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Money {
    #[schema(example = 34900)]
    pub amount: i64,
    #[schema(example = "USD")]
    pub currency: String,
}

impl Money {
    /// Checks the amount range and that the currency is the shop's.
    pub fn validate(&self, shop_currency: &str) -> Result<(), String> {
        if !(0..=MAX_AMOUNT).contains(&self.amount) {
            return Err(format!(
                "amount must be between 0 and {MAX_AMOUNT} minor units"
            ));
        }
        if self.currency != shop_currency {
            return Err(format!(
                "currency must be the shop's currency, {shop_currency}"
            ));
        }
        Ok(())
    }
}

/// Whether a product is on sale. Only `active` products are on the storefront.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProductStatus {
    Draft,
    Active,
    Archived,
}

impl ProductStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Active => "active",
            Self::Archived => "archived",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw {
            "draft" => Ok(Self::Draft),
            "active" => Ok(Self::Active),
            "archived" => Ok(Self::Archived),
            _ => Err("must be 'draft', 'active' or 'archived'".into()),
        }
    }
}

/// Normalises a tag: trimmed, lowercased, 1–50 characters, no commas or
/// control characters.
pub fn parse_tag(raw: &str) -> Result<String, String> {
    let t = raw.trim().to_lowercase();
    if t.is_empty() || t.chars().count() > 50 {
        return Err("tags must be 1 to 50 characters long".into());
    }
    if t.chars().any(|c| c == ',' || c == '|' || c.is_control()) {
        return Err("tags may not contain ',', '|' or control characters".into());
    }
    Ok(t)
}

/// Stock of one variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Inventory {
    pub on_hand: i64,
    pub reserved: i64,
    /// `on_hand - reserved`, never below zero.
    pub available: i64,
}

impl Inventory {
    pub fn new(on_hand: i64, reserved: i64) -> Self {
        Self {
            on_hand,
            reserved,
            available: (on_hand - reserved).max(0),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Variant {
    pub id: VariantId,
    pub product_id: ProductId,
    pub sku: Sku,
    pub title: String,
    /// Option name → value, e.g. `{"Storage": "256 GB"}`.
    pub options: BTreeMap<String, String>,
    pub price: Money,
    pub compare_at_price: Option<Money>,
    pub inventory: Inventory,
    pub position: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ProductImage {
    pub id: ImageId,
    pub product_id: ProductId,
    /// The object's key in the media store.
    #[serde(skip)]
    pub key: String,
    /// Where clients fetch the image.
    pub url: String,
    pub content_type: String,
    pub width: u32,
    pub height: u32,
    pub size_bytes: i64,
    pub alt: String,
    pub position: i64,
    pub created_at: DateTime<Utc>,
    /// Resized copies made once at upload (thumbnail 160, card 480, full
    /// 1200 px wide, never wider than the original), each in the
    /// original's family (JPEG, or PNG when it has transparency) and in
    /// WebP; widest first. Empty for a GIF, and for an image uploaded
    /// before variants existed until `storekeep media variants` has run.
    pub variants: Vec<ImageVariant>,
}

/// One resized copy of a product image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ImageVariant {
    /// The object's key in the media store.
    #[serde(skip)]
    pub key: String,
    /// Where clients fetch it.
    pub url: String,
    #[schema(example = 480)]
    pub width: u32,
    #[schema(example = 320)]
    pub height: u32,
    /// `image/jpeg`, `image/png` or `image/webp`.
    #[schema(example = "image/webp")]
    pub content_type: String,
    pub size_bytes: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Product {
    pub id: ProductId,
    pub handle: Handle,
    pub title: String,
    pub description: String,
    pub status: ProductStatus,
    pub tags: Vec<String>,
    /// Categories the product is filed under, by id.
    pub categories: Vec<CategoryId>,
    pub variants: Vec<Variant>,
    pub images: Vec<ProductImage>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Product {
    /// The lowest variant price, the one lists sort and show by.
    pub fn min_price(&self) -> Option<i64> {
        self.variants.iter().map(|v| v.price.amount).min()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Category {
    pub id: CategoryId,
    pub parent_id: Option<CategoryId>,
    pub handle: Handle,
    pub name: String,
    pub position: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One line of a variant's inventory ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct InventoryAdjustment {
    pub id: uuid::Uuid,
    pub variant_id: VariantId,
    pub delta: i64,
    pub reason: String,
    pub on_hand_after: i64,
    pub actor: String,
    pub at: DateTime<Utc>,
}

// --- inputs to the store (already validated)

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewVariant {
    pub sku: Sku,
    pub title: String,
    pub options: BTreeMap<String, String>,
    pub price: Money,
    pub compare_at_price: Option<Money>,
    pub on_hand: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewProduct {
    pub handle: Handle,
    pub title: String,
    pub description: String,
    pub status: ProductStatus,
    pub tags: Vec<String>,
    pub categories: Vec<CategoryId>,
    pub variants: Vec<NewVariant>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProductPatch {
    pub handle: Option<Handle>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub status: Option<ProductStatus>,
    pub tags: Option<Vec<String>>,
    pub categories: Option<Vec<CategoryId>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VariantPatch {
    pub sku: Option<Sku>,
    pub title: Option<String>,
    pub options: Option<BTreeMap<String, String>>,
    pub price: Option<Money>,
    /// `Some(None)` clears the compare-at price.
    pub compare_at_price: Option<Option<Money>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCategory {
    pub parent_id: Option<CategoryId>,
    pub handle: Handle,
    pub name: String,
    pub position: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CategoryPatch {
    /// `Some(None)` moves the category to the top level.
    pub parent_id: Option<Option<CategoryId>>,
    pub handle: Option<Handle>,
    pub name: Option<String>,
    pub position: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewImage {
    pub id: ImageId,
    pub product_id: ProductId,
    pub key: String,
    pub content_type: String,
    pub width: u32,
    pub height: u32,
    pub size_bytes: i64,
    pub alt: String,
    /// Its variants, already written to the media store.
    pub variants: Vec<ImageVariant>,
}

/// How a product list is ordered. Every order ends with the id, so it is
/// total and cursors are stable while products are added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProductSort {
    /// Newest first (by id, which is time-ordered).
    #[default]
    Newest,
    /// Cheapest variant price, low to high.
    PriceAsc,
    /// Cheapest variant price, high to low.
    PriceDesc,
    /// Title, A to Z (case-insensitive).
    Title,
}

impl ProductSort {
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw {
            "newest" => Ok(Self::Newest),
            "price_asc" => Ok(Self::PriceAsc),
            "price_desc" => Ok(Self::PriceDesc),
            "title" => Ok(Self::Title),
            _ => Err("must be one of newest, price_asc, price_desc, title".into()),
        }
    }

    fn code(self) -> char {
        match self {
            Self::Newest => 'n',
            Self::PriceAsc => 'p',
            Self::PriceDesc => 'q',
            Self::Title => 't',
        }
    }
}

/// The position after an item in a sorted list: the sort key of the last
/// item seen and its id. Encoded opaquely; a cursor of another sort order
/// is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProductCursor {
    Newest(ProductId),
    Price(i64, ProductId),
    Title(String, ProductId),
}

impl ProductCursor {
    pub fn of(sort: ProductSort, p: &Product) -> Self {
        match sort {
            ProductSort::Newest => Self::Newest(p.id),
            ProductSort::PriceAsc | ProductSort::PriceDesc => {
                Self::Price(p.min_price().unwrap_or(0), p.id)
            }
            ProductSort::Title => Self::Title(title_key(&p.title), p.id),
        }
    }

    pub fn encode(&self, sort: ProductSort) -> String {
        let c = sort.code();
        match self {
            Self::Newest(id) => format!("{c}.{id}"),
            Self::Price(amount, id) => format!("{c}.{amount}.{id}"),
            Self::Title(key, id) => format!("{c}.{}.{id}", hex(key.as_bytes())),
        }
    }

    /// `None` for anything this server did not issue for `sort`.
    pub fn decode(sort: ProductSort, raw: &str) -> Option<Self> {
        let mut parts = raw.splitn(3, '.');
        let code = parts.next()?;
        if code.len() != 1 || code.chars().next()? != sort.code() {
            return None;
        }
        let a = parts.next()?;
        let b = parts.next();
        match (sort, b) {
            (ProductSort::Newest, None) => a.parse().ok().map(Self::Newest),
            (ProductSort::PriceAsc | ProductSort::PriceDesc, Some(id)) => {
                Some(Self::Price(a.parse().ok()?, id.parse().ok()?))
            }
            (ProductSort::Title, Some(id)) => {
                let key = String::from_utf8(unhex(a)?).ok()?;
                // Only what `title_key` can make: no control characters
                // (PostgreSQL refuses NUL in text), at most 120 characters.
                if key.chars().count() > 120 || key.chars().any(char::is_control) {
                    return None;
                }
                Some(Self::Title(key, id.parse().ok()?))
            }
            _ => None,
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The key titles sort by on every database: lowercased, compared bytewise.
pub fn title_key(title: &str) -> String {
    title.to_lowercase().chars().take(120).collect()
}

/// What a product list asks for. The storefront always sets
/// `status: Some(Active)`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProductQuery {
    pub status: Option<ProductStatus>,
    /// Products filed under any of these categories (a category and its
    /// descendants, resolved by the caller).
    pub categories: Option<Vec<CategoryId>>,
    pub tag: Option<String>,
    /// Some variant costs at least this much.
    pub min_price: Option<i64>,
    /// Some variant costs at most this much.
    pub max_price: Option<i64>,
    /// Some variant has available stock.
    pub in_stock: bool,
    pub sort: ProductSort,
    pub limit: u32,
    pub after: Option<ProductCursor>,
}

/// The text of a product the search ranks on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchDoc {
    pub id: ProductId,
    pub title: String,
    pub tags: Vec<String>,
    pub description: String,
}

/// Splits text into the terms search indexes and matches: lowercase runs
/// of letters and digits. Both databases index text already split this way,
/// so they match the same terms.
pub fn search_terms(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// The document the full-text index holds for a product.
pub fn search_document(title: &str, tags: &[String], description: &str) -> String {
    let mut terms = search_terms(title);
    for t in tags {
        terms.extend(search_terms(t));
    }
    terms.extend(search_terms(description));
    terms.join(" ")
}

/// One row of a bulk import: a product (matched by handle) and variants
/// (matched by SKU) to create or update. Categories are given by handle.
/// What the file leaves out (`status`, a variant's stock) stays as it is on
/// an existing product; a new one gets `draft` and no stock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRow {
    /// The line (CSV, JSON lines) the row came from, for error reports.
    pub line: u64,
    pub handle: Handle,
    pub title: String,
    pub description: String,
    pub status: Option<ProductStatus>,
    pub tags: Vec<String>,
    pub categories: Vec<Handle>,
    pub variants: Vec<ImportVariant>,
}

/// A variant of an import row; `variant.on_hand` is only applied when
/// `set_stock` (the file gave a figure).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportVariant {
    pub variant: NewVariant,
    pub set_stock: bool,
}

/// What one import row did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportOutcome {
    Created,
    Updated,
}

/// Where a background product import stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImportStatus {
    /// Stored, its job not yet started.
    Queued,
    /// Its job is importing batches.
    Running,
    /// Every row was tried; the counts and row errors are final.
    Done,
    /// The whole file could not be imported (unreadable, gone from storage).
    Failed,
}

impl ImportStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "queued" => Self::Queued,
            "running" => Self::Running,
            "done" => Self::Done,
            "failed" => Self::Failed,
            _ => return None,
        })
    }

    /// Done or failed: nothing more will change.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Done | Self::Failed)
    }
}

/// A row an import could not apply: its line in the file, the column it
/// names (when one is to blame) and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportRowError {
    pub line: u64,
    pub column: Option<String>,
    pub message: String,
}

/// How far an import got: rows tried so far and what they did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportProgress {
    /// The file's data rows, once parsed.
    pub total_rows: Option<i64>,
    pub rows_done: i64,
    pub created: i64,
    pub updated: i64,
    pub not_imported: i64,
}

/// A background import about to be queued: the uploaded file is already
/// in the object store under `object_key`.
#[derive(Debug, Clone)]
pub struct NewProductImport {
    pub id: ProductImportId,
    pub format: String,
    pub object_key: String,
    pub created_by: String,
}

/// A background CSV import of products, with its progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductImport {
    pub id: ProductImportId,
    pub tenant_id: TenantId,
    pub status: ImportStatus,
    pub format: String,
    pub object_key: String,
    pub progress: ImportProgress,
    /// The first row errors (at most the bulk import's reporting cap), in
    /// line order, once done.
    pub errors: Vec<ImportRowError>,
    /// Why the whole import failed.
    pub failure: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_from_titles() {
        assert_eq!(
            Handle::from_title("ThinkPad T480 — i5, 16 GB")
                .unwrap()
                .as_str(),
            "thinkpad-t480-i5-16-gb"
        );
        assert!(Handle::from_title("———").is_none());
        assert!(Handle::parse("Bad Handle").is_err());
        assert!(Handle::parse("-x").is_err());
    }

    #[test]
    fn cursors_round_trip_and_refuse_other_sorts() {
        let id = ProductId::new();
        for (sort, c) in [
            (ProductSort::Newest, ProductCursor::Newest(id)),
            (ProductSort::PriceAsc, ProductCursor::Price(1999, id)),
            (
                ProductSort::Title,
                ProductCursor::Title("héllo. x".into(), id),
            ),
        ] {
            let s = c.encode(sort);
            assert!(s.is_ascii());
            assert_eq!(ProductCursor::decode(sort, &s), Some(c));
        }
        let s = ProductCursor::Newest(id).encode(ProductSort::Newest);
        assert_eq!(ProductCursor::decode(ProductSort::Title, &s), None);
        assert_eq!(ProductCursor::decode(ProductSort::Newest, "n.nope"), None);
        assert_eq!(ProductCursor::decode(ProductSort::Title, "t.zz.x"), None);
        let nul = format!("t.00.{id}");
        assert_eq!(ProductCursor::decode(ProductSort::Title, &nul), None);
    }

    #[test]
    fn search_terms_split_on_anything_but_letters_and_digits() {
        assert_eq!(
            search_terms("USB-C Dock, 4K@60Hz — Café"),
            ["usb", "c", "dock", "4k", "60hz", "café"]
        );
    }

    #[test]
    fn money_must_be_in_range_and_the_shop_currency() {
        let m = |amount, c: &str| Money {
            amount,
            currency: c.into(),
        };
        assert!(m(100, "USD").validate("USD").is_ok());
        assert!(m(-1, "USD").validate("USD").is_err());
        assert!(m(100, "EUR").validate("USD").is_err());
    }
}
