//! The storefront's static files, embedded in the binary: the site
//! stylesheet under a name carrying its content hash, and each shop's
//! branding stylesheet (`branding.rs`). Both are cached by browsers for a
//! year (`immutable`): a change is a new name.

use std::sync::LazyLock;

use axum::extract::{FromRequestParts, Path, Request, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::web::shop::Shop;
use crate::web::{WebError, branding};

const SITE_CSS: &[u8] = include_bytes!("../../assets/storefront/site.css");

/// `/assets/site-<hash>.css`.
static SITE_URL: LazyLock<String> =
    LazyLock::new(|| format!("/assets/site-{}.css", branding::short_hash(SITE_CSS)));

pub fn site_css_url() -> &'static str {
    &SITE_URL
}

const IMMUTABLE: &str = "public, max-age=31536000, immutable";

fn css(body: impl Into<axum::body::Body>, cache: &'static str) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/css; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        body.into(),
    )
        .into_response()
}

/// `GET /assets/{file}`: the site stylesheet, or the shop's own under its
/// current name; any other name (an old hash included) is 404.
pub async fn serve(
    State(state): State<AppState>,
    Path(file): Path<String>,
    req: Request,
) -> Result<Response, WebError> {
    if SITE_URL.strip_prefix("/assets/") == Some(file.as_str()) {
        return Ok(css(SITE_CSS, IMMUTABLE));
    }
    if file.starts_with("shop-") {
        let (mut parts, _) = req.into_parts();
        let shop = Shop::from_request_parts(&mut parts, &state).await?;
        let body = branding::css(&shop.tenant);
        if branding::css_name(&body) == file {
            return Ok(css(body, IMMUTABLE));
        }
    }
    Err(WebError::NotFound)
}
