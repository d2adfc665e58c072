//! `/categories/{handle}`: a category's active products (its
//! subcategories' included) with filters and sorting in a plain GET form
//! — price range, in stock only, newest / price / title — and keyset
//! pagination by a "next page" link. The same list service as
//! `GET /api/v1/store/products`.

use askama::Template;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::app::AppState;
use crate::services::storefront;
use crate::web::i18n::Lang;
use crate::web::i18n::catalog::{self, CatalogMsgs};
use crate::web::pages::finish;
use crate::web::pages::views::Card;
use crate::web::shop::Shop;
use crate::web::{Fragment, WebError, cache, money};
use crate::wire::catalog::ListParams;

/// Products per page.
pub const PAGE_SIZE: u32 = 24;

/// The filter form's fields, as typed.
#[derive(Debug, Default, Deserialize)]
pub struct Filters {
    pub sort: Option<String>,
    pub min_price: Option<String>,
    pub max_price: Option<String>,
    pub in_stock: Option<String>,
    pub after: Option<String>,
}

#[derive(Template)]
#[template(path = "storefront/category.html")]
struct CategoryMain<'a> {
    t: &'a CatalogMsgs,
    heading: &'a str,
    action: String,
    subcategories: Vec<(String, String)>,
    /// `(value, label, selected)`.
    sorts: Vec<(&'static str, &'static str, bool)>,
    min_price: &'a str,
    max_price: &'a str,
    /// The message under a price the shop's currency cannot read.
    min_price_error: Option<&'a str>,
    max_price_error: Option<&'a str>,
    in_stock: bool,
    cards: Vec<Card>,
    next: Option<String>,
}

pub async fn page(
    State(state): State<AppState>,
    shop: Result<Shop, WebError>,
    OriginalUri(uri): OriginalUri,
    Path(handle): Path<String>,
) -> Response {
    let shop = match shop {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    let filters = match Query::<Filters>::try_from_uri(&uri) {
        Ok(Query(f)) => f,
        Err(_) => {
            return WebError::BadRequest("the filters are not valid".into()).render(shop.lang);
        }
    };
    // A price that is not an amount re-renders the page (products
    // unfiltered by it) with the field marked, as a 422 and uncached.
    if filters.has_bad_price(&shop.tenant.settings.currency, shop.lang) {
        let built = build(&state, &shop, &handle, &filters).await;
        let mut response = finish(&state, &shop, uri.path(), built);
        if response.status().is_success() {
            *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        }
        return response;
    }
    let key = filters.cache_key(uri.path());
    let built = cache::fragment(&state, &shop, &key, build(&state, &shop, &handle, &filters)).await;
    finish(&state, &shop, uri.path(), built)
}

impl Filters {
    /// Whether a price bound is typed but is not an amount of `currency`.
    pub fn has_bad_price(&self, currency: &str, lang: Lang) -> bool {
        [&self.min_price, &self.max_price]
            .into_iter()
            .any(|raw| price(raw, currency, lang).is_err())
    }

    /// The cache key of `path` with these filters: the parsed fields only
    /// (unknown parameters dropped), trimmed, empty ones left out, an
    /// unknown sort as the default — so `?junk=1` shares the plain page's
    /// entry and a visitor cannot fill the cache with made-up URLs.
    pub fn cache_key(&self, path: &str) -> String {
        let field = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(encode)
                .unwrap_or_default()
        };
        let sort = self
            .sort
            .as_deref()
            .map(str::trim)
            .filter(|s| ["newest", "price_asc", "price_desc", "title"].contains(s))
            .unwrap_or("newest");
        format!(
            "{path}?sort={sort}&min={}&max={}&stock={}&after={}",
            field(&self.min_price),
            field(&self.max_price),
            self.in_stock.as_deref() == Some("true"),
            field(&self.after),
        )
    }
}

/// A typed price bound (read as `lang` writes numbers) in minor units: `Ok(None)` when left empty, `Err`
/// when it is not an amount of `currency`.
fn price(raw: &Option<String>, currency: &str, lang: Lang) -> Result<Option<i64>, ()> {
    match raw.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(r) => money::parse_major(r, currency, lang).map(Some).ok_or(()),
    }
}

/// `value` percent-encoded for a query string.
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn sorts(t: &CatalogMsgs) -> Vec<(&'static str, &'static str)> {
    vec![
        ("newest", t.sort_newest),
        ("price_asc", t.sort_price_asc),
        ("price_desc", t.sort_price_desc),
        ("title", t.sort_title),
    ]
}

async fn build(
    state: &AppState,
    shop: &Shop,
    handle: &str,
    f: &Filters,
) -> Result<Fragment, WebError> {
    let svc = &state.services;
    let tenant = &shop.tenant;
    let t = catalog::get(shop.lang);
    let currency = &tenant.settings.currency;
    let categories = storefront::categories(svc, tenant).await?.items;
    let category = categories
        .iter()
        .find(|c| c.handle.as_str() == handle)
        .ok_or(WebError::NotFound)?;
    let sort = f
        .sort
        .as_deref()
        .filter(|s| sorts(t).iter().any(|(v, _)| v == s))
        .unwrap_or("newest");
    let (min_price, max_price) = (
        price(&f.min_price, currency, shop.lang),
        price(&f.max_price, currency, shop.lang),
    );
    let in_stock = f.in_stock.as_deref() == Some("true");
    let params = ListParams {
        category: Some(category.id.to_string()),
        min_price: min_price.unwrap_or(None),
        max_price: max_price.unwrap_or(None),
        in_stock: in_stock.then_some(true),
        sort: Some(sort.to_owned()),
        limit: Some(PAGE_SIZE),
        after: f.after.clone().filter(|a| !a.is_empty()),
        ..ListParams::default()
    };
    let page = storefront::products(svc, tenant, &params).await?;
    let action = format!("/categories/{}", category.handle.as_str());
    let next = page.next_cursor.map(|cursor| {
        let mut q = format!("{action}?sort={sort}");
        for (name, value, read) in [
            ("min_price", &f.min_price, &min_price),
            ("max_price", &f.max_price, &max_price),
        ] {
            if let (Some(v), Ok(Some(_))) = (value.as_deref(), read) {
                q.push_str(&format!("&{name}={}", encode(v.trim())));
            }
        }
        if in_stock {
            q.push_str("&in_stock=true");
        }
        q.push_str(&format!("&after={}", encode(&cursor)));
        q
    });
    let subcategories = categories
        .iter()
        .filter(|c| c.parent_id == Some(category.id))
        .map(|c| (c.name.clone(), format!("/categories/{}", c.handle.as_str())))
        .collect();
    let main = CategoryMain {
        t,
        heading: &category.name,
        subcategories,
        sorts: sorts(t)
            .into_iter()
            .map(|(v, l)| (v, l, v == sort))
            .collect(),
        min_price: f.min_price.as_deref().unwrap_or(""),
        max_price: f.max_price.as_deref().unwrap_or(""),
        min_price_error: min_price.is_err().then_some(t.price_invalid),
        max_price_error: max_price.is_err().then_some(t.price_invalid),
        in_stock,
        cards: Card::list(&page.items, currency, shop.lang, t),
        next,
        action,
    }
    .render()
    .map_err(|e| WebError::Internal(format!("rendering a category page: {e}")))?;
    Ok(Fragment {
        title: format!("{} · {}", category.name, shop.name()),
        head: String::new(),
        main,
        canonical_path: None,
        hit: false,
    })
}
