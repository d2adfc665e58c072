//! For search engines, per shop: `/robots.txt` (pointing at the shop's
//! sitemap, keeping crawlers out of carts, checkout, accounts and search)
//! and `/sitemap.xml` (the home and deals pages, every category and the
//! newest [`MAX_SITEMAP_PRODUCTS`] active products of THIS shop only,
//! read in pages of 200 through the storefront list service and cached
//! like the catalog pages).

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::services::storefront;
use crate::web::shop::Shop;
use crate::web::{Fragment, WebError, cache};
use crate::wire::catalog::ListParams;

/// Products a sitemap lists at most (one sitemap file may hold 50,000
/// URLs; this keeps building one to 25 list reads).
pub const MAX_SITEMAP_PRODUCTS: usize = 5_000;
const BATCH: u32 = 200;

fn text(body: String, content_type: &'static str) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        body,
    )
        .into_response()
}

pub async fn robots(shop: Result<Shop, WebError>) -> Response {
    let shop = match shop {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    let body = format!(
        "User-agent: *\nDisallow: /cart\nDisallow: /checkout\nDisallow: /account\n\
         Disallow: /orders\nDisallow: /search\nDisallow: /signin\nDisallow: /signup\n\
         Disallow: /signout\nDisallow: /password-reset\n\
         Allow: /\n\nSitemap: {}\n",
        shop.url("/sitemap.xml")
    );
    text(body, "text/plain; charset=utf-8")
}

pub async fn sitemap(State(state): State<AppState>, shop: Result<Shop, WebError>) -> Response {
    let shop = match shop {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    match cache::fragment(&state, &shop, "/sitemap.xml", build(&state, &shop)).await {
        Ok(f) => text(f.main, "application/xml; charset=utf-8"),
        Err(e) => e.render(shop.lang),
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

async fn build(state: &AppState, shop: &Shop) -> Result<Fragment, WebError> {
    let svc = &state.services;
    let tenant = &shop.tenant;
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    let mut url = |path: &str, lastmod: Option<chrono::DateTime<chrono::Utc>>| {
        xml.push_str("<url><loc>");
        xml.push_str(&xml_escape(&shop.url(path)));
        xml.push_str("</loc>");
        if let Some(m) = lastmod {
            xml.push_str(&format!("<lastmod>{}</lastmod>", m.format("%Y-%m-%d")));
        }
        xml.push_str("</url>\n");
    };
    url("/", None);
    url("/deals", None);
    for c in storefront::categories(svc, tenant).await?.items {
        url(
            &format!("/categories/{}", c.handle.as_str()),
            Some(c.updated_at),
        );
    }
    let mut listed = 0;
    let mut after = None;
    loop {
        let params = ListParams {
            sort: Some("newest".into()),
            limit: Some(BATCH),
            after: after.take(),
            ..ListParams::default()
        };
        let page = storefront::products(svc, tenant, &params).await?;
        for p in &page.items {
            if listed == MAX_SITEMAP_PRODUCTS {
                break;
            }
            url(
                &format!("/products/{}", p.handle.as_str()),
                Some(p.updated_at),
            );
            listed += 1;
        }
        match page.next_cursor {
            Some(c) if listed < MAX_SITEMAP_PRODUCTS => after = Some(c),
            _ => break,
        }
    }
    xml.push_str("</urlset>\n");
    Ok(Fragment {
        main: xml,
        ..Fragment::default()
    })
}
