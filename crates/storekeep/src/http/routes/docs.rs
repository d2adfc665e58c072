//! `/api/docs`: an interactive reference of the API — Swagger UI, vendored
//! into the binary (`vendor/swagger-ui/`), reading `/api/openapi.json` —
//! and, on the same page without JavaScript, the problem types every
//! problem's `type` (`/api/docs#problem-{slug}`) points at. Nothing is
//! loaded from elsewhere: the assets are served from `/api/docs/assets/`.

use std::fmt::Write;

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::http::error::ApiError;

/// The Swagger UI release in `vendor/swagger-ui/`.
pub const SWAGGER_UI_VERSION: &str = "5.35.0";

/// `(file name, content type, bytes)` of every asset the page loads.
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "swagger-ui-bundle.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../vendor/swagger-ui/swagger-ui-bundle.js"),
    ),
    (
        "swagger-ui.css",
        "text/css; charset=utf-8",
        include_bytes!("../../../vendor/swagger-ui/swagger-ui.css"),
    ),
    (
        "docs-init.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../assets/docs-init.js"),
    ),
    (
        "docs.css",
        "text/css; charset=utf-8",
        include_bytes!("../../../assets/docs.css"),
    ),
];

/// Problem types (the `type` of a problem response) that the page documents.
pub const PROBLEMS: &[(&str, &str)] = &[
    (
        "bad-request",
        "The request is malformed: a query parameter, a cursor or the JSON syntax.",
    ),
    ("unauthorized", "Credentials are missing or wrong."),
    (
        "payment-required",
        "The shop's plan allows no more of this (products, staff, storage); upgrade the plan.",
    ),
    (
        "forbidden",
        "The credentials are valid but do not hold the permission this needs.",
    ),
    (
        "not-found",
        "Nothing here, or not for you: unknown and suspended shops look the same.",
    ),
    (
        "method-not-allowed",
        "The path exists but not with that method; `Allow` lists the methods it takes.",
    ),
    (
        "conflict",
        "A unique value (slug, domain, name) is already taken, or the resource's state forbids the change; `errors` names the field.",
    ),
    (
        "payload-too-large",
        "The body is larger than the server's limit for this route.",
    ),
    (
        "unsupported-media-type",
        "Send JSON with Content-Type: application/json (or the type the route names).",
    ),
    (
        "unprocessable-entity",
        "The body is well-formed but fields are invalid; `errors` lists each.",
    ),
    (
        "too-many-requests",
        "A rate limit or a login lock-out is used up; retry after `Retry-After` seconds.",
    ),
    (
        "internal-server-error",
        "The server failed; quote the `instance` id when reporting it.",
    ),
    (
        "service-unavailable",
        "The server is overloaded or draining, the database is down or unreachable, or the request took too long. Retry after `Retry-After` seconds (a checkout with the same `Idempotency-Key`).",
    ),
];

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The problem types as Markdown, for the OpenAPI document's description.
pub fn problems_markdown() -> String {
    let mut md = String::from(
        "\n\n## Problems\n\nEvery error is `application/problem+json` (RFC 9457): `type`, `title`, \
         `status`, `detail`, `instance` (the request id, also in `X-Request-Id`) and, for invalid \
         fields, `errors`. The `type` is `/api/docs#problem-{slug}`:\n\n",
    );
    for (slug, text) in PROBLEMS {
        let _ = writeln!(md, "- `{slug}`: {text}");
    }
    md
}

/// The whole page; `version` busts the assets' long cache on upgrade.
pub fn page(title: &str, version: &str) -> String {
    let v = esc(version);
    let mut h = String::with_capacity(8 * 1024);
    let _ = write!(
        h,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} API</title>\
         <link rel=\"stylesheet\" href=\"/api/docs/assets/swagger-ui.css?v={v}\">\
         <link rel=\"stylesheet\" href=\"/api/docs/assets/docs.css?v={v}\">\
         </head><body>\
         <header class=\"sk\"><h1>{title} API <small>{v}</small></h1>\
         <nav><a href=\"/api/openapi.json\">openapi.json</a><a href=\"#problems\">Problem types</a></nav>\
         <noscript><p>The interactive reference needs JavaScript. The OpenAPI document \
         itself is at <a href=\"/api/openapi.json\">/api/openapi.json</a>.</p></noscript></header>\
         <div id=\"swagger-ui\"></div>\
         <section class=\"sk\"><h2 id=\"problems\">Problem types</h2><p>Errors are \
         <code>application/problem+json</code> (RFC 9457): <code>type</code>, <code>title</code>, \
         <code>status</code>, <code>detail</code>, <code>instance</code> (the request id, also in \
         <code>X-Request-Id</code>) and, for invalid fields, <code>errors</code>.</p><dl>",
        title = esc(title),
    );
    for (slug, text) in PROBLEMS {
        let _ = write!(
            h,
            "<dt id=\"problem-{slug}\">{slug}</dt><dd>{}</dd>",
            esc(text)
        );
    }
    let _ = write!(
        h,
        "</dl></section>\
         <script src=\"/api/docs/assets/swagger-ui-bundle.js?v={v}\"></script>\
         <script src=\"/api/docs/assets/docs-init.js?v={v}\"></script>\
         </body></html>"
    );
    h
}

/// `GET /api/docs/assets/{file}`: the page's scripts and styles, cached for
/// a year (the page asks for them with the server's version in the URL).
pub async fn asset(Path(file): Path<String>) -> Response {
    let Some((_, content_type, bytes)) = ASSETS.iter().find(|(name, _, _)| *name == file) else {
        return ApiError::NotFound("there is nothing at this path".into()).into_response();
    };
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            ),
        ],
        *bytes,
    )
        .into_response()
}
