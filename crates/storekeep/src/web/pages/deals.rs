//! `/deals`: the shop's automatic deals live now and those starting within
//! a week — the API's public listing (`GET /api/v1/store/deals`). Not
//! cached: what is live changes with the clock, not only with writes.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::services::deals;
use crate::web::i18n::catalog::{self, CatalogMsgs};
use crate::web::pages::finish;
use crate::web::pages::views::when;
use crate::web::shop::Shop;
use crate::web::{Fragment, WebError, money};
use crate::wire::deals::PublicDeal;

pub const WINDOW_DAYS: i64 = 7;

pub struct DealView {
    pub name: String,
    pub description: String,
    pub off: String,
    pub when: String,
    pub left: String,
}

#[derive(Template)]
#[template(path = "storefront/deals.html")]
struct DealsMain<'a> {
    t: &'a CatalogMsgs,
    live: Vec<DealView>,
    starting: Vec<DealView>,
}

pub async fn page(State(state): State<AppState>, shop: Result<Shop, WebError>) -> Response {
    let shop = match shop {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    let built = build(&state, &shop).await;
    finish(&state, &shop, "/deals", built)
}

fn view(d: PublicDeal, shop: &Shop, t: &CatalogMsgs, live: bool) -> DealView {
    let settings = &shop.tenant.settings;
    let off = match (&d.percent_off, &d.amount_off) {
        (Some(p), _) => t.percent_off.replace("{n}", &p.to_string()),
        (None, Some(m)) => t
            .amount_off
            .replace("{amount}", &money::format(m.amount, &m.currency, shop.lang)),
        (None, None) => String::new(),
    };
    let moment = if live { d.ends_at } else { d.starts_at };
    let template = if live { t.ends_at } else { t.starts_at };
    DealView {
        when: moment
            .map(|m| template.replace("{when}", &when(m, &settings.time_zone, shop.lang)))
            .unwrap_or_default(),
        left: d
            .units_left
            .map(|n| t.units_left.replace("{n}", &n.to_string()))
            .unwrap_or_default(),
        name: d.name,
        description: d.description,
        off,
    }
}

async fn build(state: &AppState, shop: &Shop) -> Result<Fragment, WebError> {
    let t = catalog::get(shop.lang);
    let listing = deals::listing(
        &state.services,
        &shop.tenant,
        chrono::Duration::days(WINDOW_DAYS),
    )
    .await?;
    let main = DealsMain {
        t,
        live: listing
            .active
            .into_iter()
            .map(|d| view(d, shop, t, true))
            .collect(),
        starting: listing
            .starting_soon
            .into_iter()
            .map(|d| view(d, shop, t, false))
            .collect(),
    }
    .render()
    .map_err(|e| WebError::Internal(format!("rendering the deals page: {e}")))?;
    Ok(Fragment {
        title: format!("{} · {}", t.deals_title, shop.name()),
        head: String::new(),
        main,
        canonical_path: None,
        hit: false,
    })
}
