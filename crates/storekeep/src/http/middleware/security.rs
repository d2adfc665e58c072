//! Security headers on every response.

use axum::http::{HeaderValue, header};
use axum::response::Response;

/// Adds the headers browsers act on. HSTS only when the client reached us
/// over HTTPS (as a trusted proxy says), since it would pin a plain-HTTP
/// development server otherwise.
pub fn headers(response: &mut Response, https: bool) {
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let h = response.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    // A response that set its own policy keeps it (the storefront's is
    // stricter than this one, which Swagger UI's inline styles need).
    h.entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(if is_html {
            "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
             frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
        } else {
            "default-src 'none'; frame-ancestors 'none'"
        }));
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    if https {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
}
