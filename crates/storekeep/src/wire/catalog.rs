//! The catalog as staff and integrations send and see it: products,
//! variants, stock, images, categories, and the filters of a product list.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use storekeep_domain::{
    Category, CategoryId, InventoryAdjustment, Money, Product, ProductImage, Variant,
};

#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VariantInput {
    #[schema(example = "TP-T480-I5-16-256")]
    pub sku: String,
    /// Defaults to the option values, or `Default`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    pub price: Money,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compare_at_price: Option<Money>,
    /// On-hand stock: the initial stock of a new variant; in an import, the
    /// figure to set (left out: unchanged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory: Option<i64>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductInput {
    /// Defaults to one made from the title.
    pub handle: Option<String>,
    #[schema(example = "Lenovo ThinkPad T480")]
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// `draft` (default), `active` or `archived`.
    pub status: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Category ids.
    #[serde(default)]
    pub categories: Vec<CategoryId>,
    pub variants: Vec<VariantInput>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductPatchInput {
    pub handle: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub status: Option<String>,
    pub tags: Option<Vec<String>>,
    pub categories: Option<Vec<CategoryId>>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VariantPatchInput {
    pub sku: Option<String>,
    pub title: Option<String>,
    pub options: Option<BTreeMap<String, String>>,
    pub price: Option<Money>,
    /// `null` removes the compare-at price.
    #[serde(default, deserialize_with = "crate::wire::double_option")]
    #[schema(value_type = Option<Money>)]
    pub compare_at_price: Option<Option<Money>>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryInput {
    /// Defaults to one made from the name.
    pub handle: Option<String>,
    #[schema(example = "Business laptops")]
    pub name: String,
    pub parent_id: Option<CategoryId>,
    #[serde(default)]
    pub position: i64,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryPatchInput {
    pub handle: Option<String>,
    pub name: Option<String>,
    /// `null` moves the category to the top level.
    #[serde(default, deserialize_with = "crate::wire::double_option")]
    #[schema(value_type = Option<CategoryId>)]
    pub parent_id: Option<Option<CategoryId>>,
    pub position: Option<i64>,
}

/// The filters of a product list, as they arrive in the query string.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// A category id or handle; its subcategories are included.
    pub category: Option<String>,
    /// Products with this tag (1 to 50 characters).
    #[param(
        min_length = 1,
        max_length = 50,
        pattern = r"^[^,|\x00-\x1f\x7f-\x9f]+$"
    )]
    pub tag: Option<String>,
    /// Minor units: some variant costs at least this.
    #[param(minimum = 0)]
    pub min_price: Option<i64>,
    /// Minor units: some variant costs at most this.
    #[param(minimum = 0)]
    pub max_price: Option<i64>,
    /// Only products with a variant in stock.
    pub in_stock: Option<bool>,
    /// `newest` (default), `price_asc`, `price_desc`, `title`.
    #[param(value_type = Option<storekeep_domain::ProductSort>)]
    pub sort: Option<String>,
    /// `draft`, `active` or `archived` (admin lists only).
    #[param(value_type = Option<storekeep_domain::ProductStatus>)]
    pub status: Option<String>,
    /// Items per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub after: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProductBody {
    pub product: ProductInput,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductPatchBody {
    pub product: ProductPatchInput,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProductBody {
    pub product: Product,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProductPage {
    pub items: Vec<Product>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewVariantBody {
    pub variant: VariantInput,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VariantPatchBody {
    pub variant: VariantPatchInput,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VariantBody {
    pub variant: Variant,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustmentInput {
    /// Added to on-hand stock; negative to remove.
    #[schema(example = -2)]
    pub delta: i64,
    #[schema(example = "damaged in transit")]
    pub reason: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AdjustedBody {
    pub variant: Variant,
    pub adjustment: InventoryAdjustment,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LedgerPage {
    pub items: Vec<InventoryAdjustment>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ImageBody {
    pub image: ProductImage,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCategoryBody {
    pub category: CategoryInput,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryPatchBody {
    pub category: CategoryPatchInput,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CategoryBody {
    pub category: Category,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CategoryList {
    pub items: Vec<Category>,
}
