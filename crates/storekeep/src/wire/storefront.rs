//! The storefront as anyone sees it: the shop, its active products,
//! categories and search results.

use serde::{Deserialize, Serialize};
use storekeep_domain::{Category, Product};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StoreProductPage {
    pub items: Vec<Product>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StoreProductBody {
    pub product: Product,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StoreCategoryList {
    pub items: Vec<Category>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Words to find in titles, tags and descriptions (1 to 200 characters).
    #[param(min_length = 1, max_length = 200)]
    pub q: String,
    /// Items per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub after: Option<String>,
}

/// What a storefront needs to know about the shop it talks to.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StoreInfo {
    pub slug: String,
    pub name: String,
    pub currency: String,
    /// What `payment_provider` may be at checkout: the providers the shop
    /// accepts that this server offers.
    #[schema(example = json!(["manual"]))]
    pub payment_providers: Vec<&'static str>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StoreBody {
    pub store: StoreInfo,
}
