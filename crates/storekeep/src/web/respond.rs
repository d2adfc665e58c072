//! How storefront pages answer: HTML with the storefront's headers (a
//! strict Content-Security-Policy with no inline script or style,
//! `Content-Language`, `Vary: Accept-Language`), and errors as small HTML
//! pages — never problem+json.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use storekeep_store::StoreError;

use crate::http::error::ErrorCause;
use crate::services::ServiceError;
use crate::web::chrome::{CSRF_SLOT, Chrome};
use crate::web::i18n::{Lang, layout};

/// The storefront's policy: nothing but this origin's stylesheets, scripts
/// and forms; images from here (and the media store's public origin, when
/// one is configured); no framing, no `<base>`. JSON-LD blocks are data,
/// not scripts, so `script-src 'self'` does not stop them.
pub fn csp(media_origin: Option<&str>) -> String {
    let media = media_origin.map(|o| format!(" {o}")).unwrap_or_default();
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:{media}; \
         font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
         base-uri 'none'"
    )
}

/// Marks a storefront response (page or error page): the API's error
/// rewriting (`http::middleware::observe`) leaves its HTML as it is.
#[derive(Debug, Clone, Copy)]
pub struct StorefrontPage;

/// An HTML response with the storefront's headers.
pub fn html(status: StatusCode, body: String, lang: Lang, media_origin: Option<&str>) -> Response {
    let mut response = (status, body).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    // A media origin that cannot stand in a header falls back to the strict
    // policy without it — never to no policy (the generic one allows
    // 'unsafe-inline').
    // (Visible ASCII only, and no `;` or `,` that would add directives or
    // policies.)
    let usable = |o: &&str| {
        o.bytes()
            .all(|b| b.is_ascii_graphic() && b != b';' && b != b',')
    };
    let media = match media_origin {
        Some(o) if !usable(&o) => {
            tracing::warn!(
                media_origin = o,
                "the media origin cannot stand in a CSP header; left out"
            );
            None
        }
        other => other,
    };
    let policy = HeaderValue::from_str(&csp(media)).expect("the policy is a valid header");
    h.insert(header::CONTENT_SECURITY_POLICY, policy);
    h.insert(
        header::CONTENT_LANGUAGE,
        HeaderValue::from_static(lang.code()),
    );
    h.insert(header::VARY, HeaderValue::from_static("accept-language"));
    // Pages carry per-visitor parts (cart count, CSRF token): a shared
    // cache must not keep them, a browser must ask again.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    response.extensions_mut().insert(StorefrontPage);
    response
}

/// A page's own parts, apart from the layout: its `<title>`, what it adds
/// to `<head>` (canonical, OpenGraph, JSON-LD) and its `<main>`. Cacheable
/// per shop and language: nothing in it depends on the visitor (forms carry
/// [`CSRF_SLOT`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fragment {
    pub title: String,
    pub head: String,
    pub main: String,
    /// The page's canonical path when it is not the path asked for (a
    /// product reached by its id declares its handle's URL).
    pub canonical_path: Option<String>,
    /// Whether it came from the cache (the `X-Cache: HIT` header), not stored.
    pub hit: bool,
}

/// The first byte of a fragment's cache form (and its version): anything
/// else — an entry another version wrote to a shared Redis — is a miss.
const FRAGMENT_FORM: u8 = 0xF1;
/// The length written for a missing `canonical_path`.
const ABSENT: u32 = u32::MAX;

impl Fragment {
    /// The cache form: [`FRAGMENT_FORM`], then each part as its byte length
    /// (`u32`, little-endian; [`ABSENT`] for no canonical path) and its
    /// bytes. Read back by slicing, with nothing to unescape: as JSON,
    /// undoing the escapes of every `"` in the HTML cost a cached page view
    /// more than the rest of its handling (scripts/bench storefront).
    pub fn to_bytes(&self) -> Vec<u8> {
        let parts = [
            Some(&self.title),
            Some(&self.head),
            Some(&self.main),
            self.canonical_path.as_ref(),
        ];
        let size = parts.iter().flatten().map(|p| p.len() + 4).sum::<usize>() + 5;
        let mut out = Vec::with_capacity(size);
        out.push(FRAGMENT_FORM);
        for part in parts {
            match part {
                Some(p) => {
                    // Pages are far below 4 GiB; a longer part could not be
                    // read back, so it is cut to an empty, unreadable entry.
                    let Ok(len) = u32::try_from(p.len()) else {
                        return Vec::new();
                    };
                    out.extend_from_slice(&len.to_le_bytes());
                    out.extend_from_slice(p.as_bytes());
                }
                None => out.extend_from_slice(&ABSENT.to_le_bytes()),
            }
        }
        out
    }

    /// A fragment from its cache form; `None` for anything else.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let (&form, mut rest) = bytes.split_first()?;
        if form != FRAGMENT_FORM {
            return None;
        }
        let mut part = || -> Option<Option<String>> {
            let (len, tail) = rest.split_first_chunk::<4>()?;
            let len = u32::from_le_bytes(*len);
            if len == ABSENT {
                rest = tail;
                return Some(None);
            }
            let len = usize::try_from(len).ok()?;
            let (text, tail) = (tail.get(..len)?, tail.get(len..)?);
            rest = tail;
            Some(Some(std::str::from_utf8(text).ok()?.to_owned()))
        };
        let fragment = Self {
            title: part()??,
            head: part()??,
            main: part()??,
            canonical_path: part()?,
            hit: false,
        };
        rest.is_empty().then_some(fragment)
    }
}

/// The layout around a [`Fragment`].
#[derive(Template)]
#[template(path = "storefront/page.html")]
struct Page<'a> {
    chrome: &'a Chrome,
    title: &'a str,
    head: &'a str,
    main: &'a str,
}

/// Renders `fragment` in the layout with `chrome`: the page as sent.
pub fn page(
    chrome: &Chrome,
    fragment: &Fragment,
    media_origin: Option<&str>,
) -> Result<Response, WebError> {
    let main = fragment.main.replace(CSRF_SLOT, chrome.csrf_token());
    let body = Page {
        chrome,
        title: &fragment.title,
        head: &fragment.head,
        main: &main,
    }
    .render()
    .map_err(|e| WebError::Internal(format!("rendering the layout: {e}")))?;
    let mut response = html(StatusCode::OK, body, chrome.lang, media_origin);
    response.headers_mut().insert(
        "x-cache",
        HeaderValue::from_static(if fragment.hit { "HIT" } else { "MISS" }),
    );
    Ok(response)
}

/// A storefront request that cannot be answered with its page.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// The host names no active shop.
    #[error("no shop at this host")]
    NoShop,
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    BadRequest(String),
    /// A dependency (the database) is down: 503, try again.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The page tier's rate limit is used up: 429, retry after this many seconds.
    #[error("rate limited")]
    TooManyRequests(u64),
    #[error("{0}")]
    Internal(String),
}

impl From<ServiceError> for WebError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Store(StoreError::NotFound(_)) => Self::NotFound,
            ServiceError::Store(StoreError::Unavailable(m)) => Self::Unavailable(m.to_string()),
            ServiceError::Store(StoreError::InvalidCursor) => {
                Self::BadRequest("this page link is not valid".into())
            }
            ServiceError::BadRequest(m) => Self::BadRequest(m),
            ServiceError::Invalid(errors) => Self::BadRequest(errors.to_string()),
            other => Self::Internal(other.to_string()),
        }
    }
}

/// The error page: small, self-contained, unbranded (it must render even
/// when the shop could not be read), with the site stylesheet.
#[derive(Template)]
#[template(path = "storefront/error.html")]
struct ErrorPage<'a> {
    lang: Lang,
    site_css: &'static str,
    title: &'a str,
    text: &'a str,
    back: &'a str,
}

impl WebError {
    fn status(&self) -> StatusCode {
        match self {
            Self::NoShop | Self::NotFound => StatusCode::NOT_FOUND,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The error page in `lang`.
    pub fn render(&self, lang: Lang) -> Response {
        let t = layout::get(lang);
        let (title, text) = match self {
            Self::NoShop | Self::NotFound => (t.not_found_title, t.not_found_text),
            Self::BadRequest(m) => (t.error_title, m.as_str()),
            Self::Unavailable(_) => (t.error_title, t.unavailable_text),
            Self::TooManyRequests(_) => (t.error_title, t.too_many_text),
            Self::Internal(_) => (t.error_title, t.error_text),
        };
        let body = ErrorPage {
            lang,
            site_css: crate::web::assets::site_css_url(),
            title,
            text,
            back: t.back_home,
        }
        .render()
        .unwrap_or_else(|_| "<!doctype html><title>Error</title>".to_owned());
        let mut response = html(self.status(), body, lang, None);
        if let Self::TooManyRequests(secs) = self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(*secs));
        }
        if let Self::Unavailable(cause) | Self::Internal(cause) = self {
            response.extensions_mut().insert(ErrorCause(cause.clone()));
            if matches!(self, Self::Unavailable(_)) {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            }
        }
        response
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        self.render(Lang::En)
    }
}

#[cfg(test)]
mod fragment_form_tests {
    use super::Fragment;

    #[test]
    fn a_fragment_comes_back_from_its_cache_form_and_nothing_else_does() {
        for canonical_path in [
            None,
            Some("/products/anvil".to_owned()),
            Some(String::new()),
        ] {
            let f = Fragment {
                title: "Anvil · \"Acme\" <shop>".into(),
                head: "<meta property=\"og:title\" content=\"Anvil\">".into(),
                main: "<h1>Anvil</h1>\n<p>ü € \u{1F528}</p>".into(),
                canonical_path,
                hit: true,
            };
            let back = Fragment::from_bytes(&f.to_bytes()).unwrap();
            assert_eq!(
                back,
                Fragment {
                    hit: false,
                    ..f.clone()
                }
            );
            // Cut anywhere, or with bytes after it: not a fragment.
            let bytes = f.to_bytes();
            for n in 0..bytes.len() {
                assert_eq!(Fragment::from_bytes(&bytes[..n]), None, "cut at {n}");
            }
            let mut longer = bytes.clone();
            longer.push(0);
            assert_eq!(Fragment::from_bytes(&longer), None);
        }
        // An entry of another form (the JSON older versions wrote).
        assert_eq!(
            Fragment::from_bytes(br#"{"title":"x","head":"","main":""}"#),
            None
        );
        // Not UTF-8.
        let mut bad = Fragment::default().to_bytes();
        bad[1..5].copy_from_slice(&1u32.to_le_bytes());
        bad.insert(5, 0xFF);
        assert_eq!(Fragment::from_bytes(&bad), None);
    }
}
