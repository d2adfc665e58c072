//! `/`: the shop's home page — its newest active products ("featured":
//! the catalog has no curation yet, so the newest are what a shop shows
//! first) and its automatic deals that end within the next seven days.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::services::{deals, storefront};
use crate::web::i18n::catalog::{self, CatalogMsgs};
use crate::web::pages::views::{Card, when};
use crate::web::shop::Shop;
use crate::web::{Fragment, WebError};
use crate::wire::catalog::ListParams;

/// Products on the home page.
pub const FEATURED: u32 = 8;
/// Deals ending within this window are "ending soon".
pub const DEALS_WINDOW_DAYS: i64 = 7;

pub struct DealLine {
    pub name: String,
    pub ends: String,
}

#[derive(Template)]
#[template(path = "storefront/home.html")]
struct Home<'a> {
    t: &'a CatalogMsgs,
    shop_name: &'a str,
    cards: Vec<Card>,
    deals: Vec<DealLine>,
}

pub async fn page(State(state): State<AppState>, shop: Result<Shop, WebError>) -> Response {
    let shop = match shop {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    let built = build(&state, &shop).await;
    crate::web::pages::finish(&state, &shop, "/", built)
}

async fn build(state: &AppState, shop: &Shop) -> Result<Fragment, WebError> {
    let svc = &state.services;
    let tenant = &shop.tenant;
    let t = catalog::get(shop.lang);
    let params = ListParams {
        sort: Some("newest".into()),
        limit: Some(FEATURED),
        ..ListParams::default()
    };
    let products = storefront::products(svc, tenant, &params).await?;
    let listing = deals::listing(svc, tenant, chrono::Duration::days(DEALS_WINDOW_DAYS)).await?;
    let currency = &tenant.settings.currency;
    let deals = listing
        .ending_soon
        .into_iter()
        .take(4)
        .map(|d| DealLine {
            ends: d
                .ends_at
                .map(|e| {
                    t.ends_at
                        .replace("{when}", &when(e, &tenant.settings.time_zone, shop.lang))
                })
                .unwrap_or_default(),
            name: d.name,
        })
        .collect();
    let main = Home {
        t,
        shop_name: shop.name(),
        cards: Card::list(&products.items, currency, shop.lang, t),
        deals,
    }
    .render()
    .map_err(|e| WebError::Internal(format!("rendering the home page: {e}")))?;
    Ok(Fragment {
        title: shop.name().to_owned(),
        head: String::new(),
        main,
        canonical_path: None,
        hit: false,
    })
}
