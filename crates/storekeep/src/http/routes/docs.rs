//! `/api/openapi.json` and `/api/docs`: the OpenAPI 3.1 document generated
//! from the handlers' annotations, and a server-rendered page for reading
//! it. The page needs no JavaScript and no CDN, so it works offline.

use std::fmt::Write;

use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::{OpenApi, RefOr};

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn operations(item: &PathItem) -> Vec<(&'static str, &Operation)> {
    [
        ("GET", &item.get),
        ("POST", &item.post),
        ("PUT", &item.put),
        ("PATCH", &item.patch),
        ("DELETE", &item.delete),
    ]
    .into_iter()
    .filter_map(|(m, op)| op.as_ref().map(|op| (m, op)))
    .collect()
}

fn schema_ref<T: serde::Serialize>(value: &T) -> String {
    let json = serde_json::to_value(value).unwrap_or_default();
    let mut refs = Vec::new();
    collect_refs(&json, &mut refs);
    refs.dedup();
    refs.iter()
        .map(|name| format!("<a href=\"#schema-{0}\">{0}</a>", esc(name)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn collect_refs(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(map) => {
            if let Some(serde_json::Value::String(r)) = map.get("$ref") {
                out.push(r.rsplit('/').next().unwrap_or(r).to_owned());
            }
            map.values().for_each(|v| collect_refs(v, out));
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

/// Problem types (`type` of a problem response) that the page documents.
const PROBLEMS: &[(&str, &str)] = &[
    (
        "bad-request",
        "The request is malformed: a query parameter, a cursor or the JSON syntax.",
    ),
    ("unauthorized", "Credentials are missing or wrong."),
    (
        "not-found",
        "Nothing here, or not for you: unknown and suspended shops look the same.",
    ),
    (
        "method-not-allowed",
        "The path exists but not with that method.",
    ),
    (
        "conflict",
        "A unique value (slug, domain, name) is already taken; `errors` names the field.",
    ),
    (
        "payload-too-large",
        "The body is larger than the server's limit.",
    ),
    (
        "unsupported-media-type",
        "Send JSON with Content-Type: application/json.",
    ),
    (
        "unprocessable-entity",
        "The body is well-formed but fields are invalid; `errors` lists each.",
    ),
    (
        "internal-server-error",
        "The server failed; quote the `instance` id when reporting it.",
    ),
    (
        "service-unavailable",
        "The server is draining, the database is down or unreachable, or the request took too long. Retry after `Retry-After` seconds (a checkout with the same `Idempotency-Key`).",
    ),
];

/// Renders the whole reference page.
pub fn render(api: &OpenApi) -> String {
    let mut h = String::with_capacity(64 * 1024);
    let title = esc(&api.info.title);
    let _ = write!(
        h,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} API</title><style>\
         body{{font:15px/1.5 system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}}\
         code,pre{{font-family:ui-monospace,monospace;font-size:13px}}\
         pre{{background:#f5f5f5;padding:.75rem;overflow:auto}}\
         .op{{border:1px solid #ddd;border-radius:6px;padding:.5rem 1rem;margin:.75rem 0}}\
         .m{{display:inline-block;min-width:4.5rem;font-weight:700}}\
         .GET{{color:#0a6}}.POST{{color:#06c}}.PATCH{{color:#a60}}.DELETE{{color:#c00}}.PUT{{color:#60a}}\
         nav a{{margin-right:1rem}}</style></head><body>\
         <h1>{title} API <small>{}</small></h1><p>{}</p>\
         <nav><a href=\"/api/openapi.json\">openapi.json</a><a href=\"#operations\">Operations</a>\
         <a href=\"#problems\">Problems</a><a href=\"#schemas\">Schemas</a></nav>\
         <h2 id=\"operations\">Operations</h2>",
        esc(&api.info.version),
        esc(api.info.description.as_deref().unwrap_or("")),
    );
    for (path, item) in &api.paths.paths {
        for (method, op) in operations(item) {
            let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
            let _ = write!(
                h,
                "<div class=\"op\"><p><span class=\"m {method}\">{method}</span><code>{}</code>{}</p><p>{}</p>",
                esc(path),
                if secured {
                    " &#128274; platform token"
                } else {
                    ""
                },
                esc(op
                    .description
                    .as_deref()
                    .or(op.summary.as_deref())
                    .unwrap_or("")),
            );
            if let Some(params) = &op.parameters
                && !params.is_empty()
            {
                let names: Vec<String> = params
                    .iter()
                    .map(|p| format!("<code>{}</code>", esc(&p.name)))
                    .collect();
                let _ = write!(h, "<p>Parameters: {}</p>", names.join(", "));
            }
            if let Some(body) = &op.request_body {
                let _ = write!(h, "<p>Body: {}</p>", schema_ref(body));
            }
            let responses: Vec<String> = op
                .responses
                .responses
                .iter()
                .map(|(code, resp)| {
                    let refs = match resp {
                        RefOr::T(r) => schema_ref(&r.content),
                        RefOr::Ref(r) => esc(&r.ref_location),
                    };
                    format!("<code>{}</code> {refs}", esc(code))
                })
                .collect();
            let _ = write!(
                h,
                "<p>Responses: {}</p></div>",
                responses.join(" &middot; ")
            );
        }
    }
    h.push_str(
        "<h2 id=\"problems\">Problems</h2><p>Errors are <code>application/problem+json</code> \
         (RFC 9457): <code>type</code>, <code>title</code>, <code>status</code>, \
         <code>detail</code>, <code>instance</code> (the request id, also in \
         <code>X-Request-Id</code>) and, for invalid fields, <code>errors</code>.</p><dl>",
    );
    for (slug, text) in PROBLEMS {
        let _ = write!(
            h,
            "<dt id=\"problem-{slug}\"><code>{slug}</code></dt><dd>{}</dd>",
            esc(text)
        );
    }
    h.push_str("</dl><h2 id=\"schemas\">Schemas</h2>");
    if let Some(components) = &api.components {
        for (name, schema) in &components.schemas {
            let json = serde_json::to_string_pretty(schema).unwrap_or_default();
            let _ = write!(
                h,
                "<h3 id=\"schema-{0}\">{0}</h3><pre>{1}</pre>",
                esc(name),
                esc(&json)
            );
        }
    }
    h.push_str("</body></html>");
    h
}
