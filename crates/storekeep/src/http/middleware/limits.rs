//! How large a request body may be, and how long a request may take, by
//! route: small for everything (`http.body_limit_bytes`,
//! `http.request_timeout_secs`), larger for the few routes that take files
//! (image uploads: `media.max_image_bytes`; bulk imports: 64 MiB and ten
//! minutes; exports: ten minutes).

use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::http::error::ApiError;

/// Largest bulk import body.
pub const IMPORT_BODY_LIMIT: usize = 64 * 1024 * 1024;
/// Longest a bulk import request may take.
pub const IMPORT_TIMEOUT: Duration = Duration::from_secs(600);
/// Room for the multipart framing around an image.
const MULTIPART_OVERHEAD: usize = 64 * 1024;

/// The body limit and time limit of a request.
pub fn limits_for(state: &AppState, method: &Method, path: &str) -> (usize, Duration) {
    let settings = &state.services.settings;
    if method == Method::GET && path == "/api/v1/admin/exports/products" {
        return (settings.body_limit_bytes, IMPORT_TIMEOUT);
    }
    if method == Method::POST {
        // The console's upload forms take the same files as the API's.
        if path == "/api/v1/admin/imports/products" || path == "/console/products/import" {
            return (IMPORT_BODY_LIMIT, IMPORT_TIMEOUT);
        }
        if (path.starts_with("/api/v1/admin/products/") || path.starts_with("/console/products/"))
            && path.ends_with("/images")
        {
            return (
                settings.media.max_image_bytes + MULTIPART_OVERHEAD,
                settings.request_timeout,
            );
        }
    }
    (settings.body_limit_bytes, settings.request_timeout)
}

/// Bounds a request: a declared body length over the limit is refused at
/// once (413) and the body stream is capped at it, whatever the client
/// declared; a request over its time limit is answered 503 and its work
/// dropped. Called by `observe` (one middleware layer fewer per request).
pub async fn run(state: &AppState, req: Request, next: Next) -> Response {
    let (limit, time) = limits_for(state, req.method(), req.uri().path());
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return ApiError::PayloadTooLarge.into_response();
    }
    // A request without a body (most GETs) has nothing to cap.
    // Extractors' own default limit is disabled where the router is built;
    // this cap is the one that holds.
    let req = if http_body::Body::is_end_stream(req.body()) {
        req
    } else {
        req.map(|b| Body::new(http_body_util::Limited::new(b, limit)))
    };
    match tokio::time::timeout(time, next.run(req)).await {
        Ok(response) => response,
        Err(_) => ApiError::Unavailable(format!(
            "the request took longer than {} s and was abandoned",
            time.as_secs()
        ))
        .into_response(),
    }
}
