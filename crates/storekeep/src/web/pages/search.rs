//! `/search?q=`: the same search as `GET /api/v1/store/search` (every
//! word must match; title above tags above description), as a page with
//! a "next page" link. Not for search engines (`noindex`).

use askama::Template;
use axum::extract::{OriginalUri, Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::app::AppState;
use crate::services::storefront::{self, SearchQuery};
use crate::web::i18n::catalog::{self, CatalogMsgs};
use crate::web::pages::catalog::{PAGE_SIZE, encode};
use crate::web::pages::finish;
use crate::web::pages::views::Card;
use crate::web::shop::Shop;
use crate::web::{Fragment, WebError, cache};
use crate::wire::storefront::SearchParams;

#[derive(Debug, Default, Deserialize)]
pub struct SearchForm {
    pub q: Option<String>,
    pub after: Option<String>,
}

#[derive(Template)]
#[template(path = "storefront/search.html")]
struct SearchMain<'a> {
    t: &'a CatalogMsgs,
    q: &'a str,
    heading: String,
    cards: Vec<Card>,
    next: Option<String>,
}

pub async fn page(
    State(state): State<AppState>,
    shop: Result<Shop, WebError>,
    OriginalUri(uri): OriginalUri,
) -> Response {
    let shop = match shop {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    let form = match Query::<SearchForm>::try_from_uri(&uri) {
        Ok(Query(f)) => f,
        Err(_) => return WebError::BadRequest("the search is not valid".into()).render(shop.lang),
    };
    // The key from the parsed form (unknown parameters dropped, the query
    // trimmed), never the raw query string.
    let key = format!(
        "/search?q={}&after={}",
        encode(form.q.as_deref().map_or("", str::trim)),
        encode(form.after.as_deref().unwrap_or(""))
    );
    let built = cache::fragment(&state, &shop, &key, build(&state, &shop, &form)).await;
    finish(&state, &shop, "/search", built)
}

async fn build(state: &AppState, shop: &Shop, form: &SearchForm) -> Result<Fragment, WebError> {
    let t = catalog::get(shop.lang);
    let q = form.q.as_deref().map(str::trim).unwrap_or("");
    let (cards, next) = if q.is_empty() {
        (Vec::new(), None)
    } else {
        let params = SearchParams {
            q: q.to_owned(),
            limit: Some(PAGE_SIZE),
            after: form.after.clone().filter(|a| !a.is_empty()),
        };
        let query = SearchQuery::parse(&params)?;
        let page = storefront::search(&state.services, &shop.tenant, &query).await?;
        let next = page
            .next_cursor
            .map(|c| format!("/search?q={}&after={}", encode(q), encode(&c)));
        let currency = &shop.tenant.settings.currency;
        (Card::list(&page.items, currency, shop.lang, t), next)
    };
    let heading = t.search_results_for.replace("{q}", q);
    let main = SearchMain {
        t,
        q,
        heading: heading.clone(),
        cards,
        next,
    }
    .render()
    .map_err(|e| WebError::Internal(format!("rendering a search page: {e}")))?;
    Ok(Fragment {
        title: format!(
            "{} · {}",
            if q.is_empty() {
                t.search_title
            } else {
                &heading
            },
            shop.name()
        ),
        head: "<meta name=\"robots\" content=\"noindex\">".to_owned(),
        main,
        canonical_path: None,
        hit: false,
    })
}
