//! `/legal/{terms|privacy|returns}`: the shop's legal texts from its
//! `storefront` settings, plain text (blank lines make paragraphs, line
//! breaks are kept), every character escaped. A page the shop has not
//! written is 404.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::web::i18n::catalog::{self, CatalogMsgs};
use crate::web::i18n::layout;
use crate::web::pages::{finish, paragraphs};
use crate::web::shop::Shop;
use crate::web::{Fragment, WebError};

#[derive(Template)]
#[template(path = "storefront/legal.html")]
struct LegalMain<'a> {
    t: &'a CatalogMsgs,
    heading: &'a str,
    paragraphs: Vec<String>,
}

pub async fn page(
    State(state): State<AppState>,
    shop: Result<Shop, WebError>,
    Path(which): Path<String>,
) -> Response {
    let shop = match shop {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    let built = build(&shop, &which);
    finish(&state, &shop, &format!("/legal/{which}"), built)
}

fn build(shop: &Shop, which: &str) -> Result<Fragment, WebError> {
    let s = &shop.tenant.settings.storefront;
    let l = layout::get(shop.lang);
    let (heading, text) = match which {
        "terms" => (l.terms, &s.terms),
        "privacy" => (l.privacy, &s.privacy),
        "returns" => (l.returns, &s.returns),
        _ => return Err(WebError::NotFound),
    };
    let text = text
        .as_deref()
        .filter(|t| !t.trim().is_empty())
        .ok_or(WebError::NotFound)?;
    let main = LegalMain {
        t: catalog::get(shop.lang),
        heading,
        paragraphs: paragraphs(text),
    }
    .render()
    .map_err(|e| WebError::Internal(format!("rendering a legal page: {e}")))?;
    Ok(Fragment {
        title: format!("{heading} · {}", shop.name()),
        head: String::new(),
        main,
        canonical_path: None,
        hit: false,
    })
}
