//! `GET /account/rentals/{id}/document` (issue 17): the agreement of one of
//! the signed-in customer's contracts as one printable page — the API's
//! `GET /api/v1/store/rentals/{id}/document`, through the same services
//! (`contracts::own`, `contracts::document::render`). A guest is sent to
//! sign in; anyone else's contract is the 404 page.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::services::contracts::document;
use crate::web::WebError;
use crate::web::pages::rentals::{contract_id, sign_in_first};
use crate::web::pages::shopper::Here;

/// `GET /account/rentals/{id}/document`: the agreement as one printable
/// page (the API's document). Its one `<style>` block is allowed by its
/// hash, so the page keeps a policy with no `'unsafe-inline'` and no
/// script at all.
pub async fn document(
    State(state): State<AppState>,
    here: Here,
    Path(raw): Path<String>,
) -> Response {
    let shop = &here.shop;
    let Some(c) = &here.visitor.customer else {
        return sign_in_first(&format!("/account/rentals/{raw}/document"));
    };
    let Some(id) = contract_id(&raw) else {
        return WebError::NotFound.render(shop.lang);
    };
    let svc = &state.services;
    let html = match crate::services::contracts::own(svc, &shop.tenant, c.user.id, id).await {
        Ok(d) => document::render(svc, &shop.tenant, &d).await,
        Err(e) => Err(e),
    };
    match html {
        Ok(html) => document_response(html),
        Err(e) => WebError::from(e).render(shop.lang),
    }
}

/// The agreement's response: its own policy, the style block by hash.
fn document_response(html: String) -> Response {
    use base64::Engine;
    use sha2::Digest;
    let style = html
        .split_once("<style>")
        .and_then(|(_, rest)| rest.split_once("</style>"))
        .map(|(css, _)| css)
        .unwrap_or_default();
    let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(style));
    let policy = format!(
        "default-src 'none'; style-src 'sha256-{hash}'; img-src 'self'; form-action 'none'; \
         frame-ancestors 'none'; base-uri 'none'"
    );
    let mut r = (StatusCode::OK, html).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&policy) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r.extensions_mut()
        .insert(crate::web::respond::StorefrontPage);
    r
}
