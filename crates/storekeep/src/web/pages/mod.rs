//! One module per storefront page (handler and its view types); the
//! templates are in `templates/storefront/`.

pub mod account;
pub mod account_security;
pub mod cart;
pub mod catalog;
pub mod checkout;
pub mod deals;
pub mod home;
pub mod legal;
pub mod password_reset;
pub mod privacy;
pub mod product;
pub mod rental_document;
pub mod rentals;
pub mod search;
pub mod seo;
pub mod shopper;
pub mod views;

use axum::response::Response;

use crate::app::AppState;
use crate::web::chrome::Chrome;
use crate::web::shop::Shop;
use crate::web::{Fragment, WebError, respond};

/// The response of a page built as a [`Fragment`]: the layout around it,
/// or the error page in the shop's language.
pub fn finish(
    state: &AppState,
    shop: &Shop,
    canonical_path: &str,
    fragment: Result<Fragment, WebError>,
) -> Response {
    let media = state.services.media.public_origin();
    match fragment {
        Ok(f) => {
            let canonical = f.canonical_path.as_deref().unwrap_or(canonical_path);
            let chrome = Chrome::new(state, shop, canonical);
            respond::page(&chrome, &f, media.as_deref()).unwrap_or_else(|e| e.render(shop.lang))
        }
        Err(e) => e.render(shop.lang),
    }
}

/// `value` as the text of a `<script type="application/ld+json">`: JSON
/// with `<`, `>` and `&` escaped (`\u003c`…), so no `</script>` or `<!--`
/// in the data can end or change the element.
pub fn json_ld(value: &serde_json::Value) -> String {
    value
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// Plain text as paragraphs: blank lines separate them (the template
/// escapes each).
pub fn paragraphs(text: &str) -> Vec<String> {
    text.replace("\r\n", "\n")
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_ld_cannot_close_its_script_element() {
        let v = serde_json::json!({"name": "</script><script>alert(1)</script><!-- & "});
        let out = json_ld(&v);
        assert!(!out.contains("</") && !out.contains("<!--") && !out.contains('&'));
        let back: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(back, v);
    }
}
