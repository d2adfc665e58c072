//! The OpenAPI document as served at `/api/openapi.json`: what the
//! handlers' `#[utoipa::path]` annotations say, completed here with what
//! holds for whole classes of routes, so that no handler has to repeat it
//! and none can forget it:
//!
//! - **security**, exactly per class: platform routes take the platform
//!   token; admin routes a shop credential (session, API key or OAuth token,
//!   as `Authorization: Bearer` or `X-Api-Key`) and the shop (`X-Tenant`);
//!   storefront routes the shop and whatever else their handler declares
//!   (a customer session, a cart token); auth routes what they declare.
//! - **problem responses** (`application/problem+json`), by what a route
//!   can meet: a body (400, 413, 415, 422), query parameters (400), an id
//!   in the path or a shop to find (404), credentials (401, 403), the rate
//!   limit (429), the request timeout or a dependency that is down (503).
//!   Statuses a handler declares itself keep their place and get the same
//!   shared response.
//! - **links** from what a create returns to the operations on it, so a
//!   client (or a stateful fuzzer) can go create → read → update → delete.
//! - unique operation ids (the handler's name, prefixed by its tag where
//!   two tags use the same name).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

/// A problem response shared by every operation that can answer it:
/// `(status, component name, description)`.
const PROBLEMS: &[(u16, &str, &str)] = &[
    (
        400,
        "BadRequest",
        "Malformed request: a query parameter, a cursor, the JSON syntax.",
    ),
    (401, "Unauthorized", "Credentials are missing or not valid."),
    (
        402,
        "PaymentRequired",
        "The shop's plan allows no more of this.",
    ),
    (
        403,
        "Forbidden",
        "The credentials are valid but lack the permission.",
    ),
    (
        404,
        "NotFound",
        "Nothing here, or not for you: unknown and suspended shops look the same.",
    ),
    (
        409,
        "Conflict",
        "A unique value is taken, or the resource's state forbids the change.",
    ),
    (
        413,
        "PayloadTooLarge",
        "The body is larger than this route accepts.",
    ),
    (
        415,
        "UnsupportedMediaType",
        "The body's Content-Type is not one this route reads.",
    ),
    (
        422,
        "UnprocessableEntity",
        "The body is well-formed but fields are invalid; `errors` lists each.",
    ),
    (
        429,
        "TooManyRequests",
        "A rate limit (or a login lock-out) is used up; retry after `Retry-After` seconds.",
    ),
    (
        503,
        "ServiceUnavailable",
        "The server is overloaded or draining, the request took too long, or a dependency is down.",
    ),
];

/// `(create operation, status, pointer to the new id in its body, link
/// parameter, operations that take it)`: what a client can do next with
/// what it just made.
const LINKS: &[(&str, &str, &str, &str, &[&str])] = &[
    (
        "create_tenant",
        "201",
        "/tenant/slug",
        "slug",
        &["get_tenant", "update_tenant"],
    ),
    (
        "create_product",
        "201",
        "/product/id",
        "id",
        &[
            "admin_get_product",
            "update_product",
            "delete_product",
            "add_variant",
            "upload_image",
        ],
    ),
    (
        "add_variant",
        "201",
        "/variant/id",
        "id",
        &[
            "update_variant",
            "delete_variant",
            "adjust_inventory",
            "inventory_ledger",
        ],
    ),
    ("upload_image", "201", "/image/id", "id", &["delete_image"]),
    (
        "create_category",
        "201",
        "/category/id",
        "id",
        &["update_category", "delete_category"],
    ),
    (
        "create_api_key",
        "201",
        "/api_key/id",
        "id",
        &["revoke_api_key"],
    ),
    (
        "create_client",
        "201",
        "/oauth_client/id",
        "id",
        &["revoke_client"],
    ),
    (
        "create_deal",
        "201",
        "/deal/id",
        "id",
        &["get_deal", "replace_deal", "delete_deal"],
    ),
    (
        "create_cart",
        "201",
        "/cart/id",
        "id",
        &["get_cart", "update_cart", "add_item", "checkout_cart"],
    ),
    (
        "checkout_cart",
        "201",
        "/order/id",
        "id",
        &["store_get_order", "pay_order"],
    ),
    ("login", "200", "/session_id", "id", &["revoke_session"]),
    (
        "create_webhook",
        "201",
        "/webhook/id",
        "id",
        &[
            "get_webhook",
            "update_webhook",
            "delete_webhook",
            "rotate_webhook_secret",
            "list_webhook_deliveries",
            "test_webhook",
            "replay_webhook",
        ],
    ),
];

/// Which kind of route a path is, which decides its security and most of
/// its problems.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Health and metrics: no `/api/v1`, no rate limit.
    Operations,
    Platform,
    Admin,
    Store,
    Auth,
    Webhook,
}

impl Class {
    fn of(path: &str) -> Self {
        match path.strip_prefix("/api/v1/") {
            Some(rest) if rest.starts_with("platform/") => Self::Platform,
            Some(rest) if rest.starts_with("admin/") => Self::Admin,
            Some(rest) if rest.starts_with("auth/") => Self::Auth,
            Some(rest) if rest.starts_with("webhooks/") => Self::Webhook,
            Some(_) => Self::Store,
            None if path == "/api/v1/store" => Self::Store,
            None => Self::Operations,
        }
    }
}

const METHODS: &[&str] = &["get", "put", "post", "patch", "delete"];

/// The served document: the generated one, completed as the module says.
pub fn document(api: &utoipa::openapi::OpenApi) -> Value {
    let mut doc = serde_json::to_value(api).expect("the OpenAPI document serialises");
    components(&mut doc);
    // Unknown settings are refused (`TenantSettings::problems`), though the
    // type keeps stored ones and so cannot deny them itself.
    doc["components"]["schemas"]["TenantSettings"]["additionalProperties"] = json!(false);
    unique_operation_ids(&mut doc);
    if let Some(paths) = doc["paths"].as_object_mut() {
        for (path, item) in paths.iter_mut() {
            let class = Class::of(path);
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            item.retain(|_, v| !v.is_null());
            for method in METHODS {
                if let Some(op) = item.get_mut(*method).and_then(Value::as_object_mut) {
                    let addressed = security(op, class);
                    problems(op, class, path, addressed);
                    examples(op);
                }
            }
        }
    }
    links(&mut doc);
    no_nul_in_bodies(&mut doc);
    doc
}

/// JSON bodies may not contain NUL (`\u0000`: PostgreSQL text cannot hold
/// it, so every backend refuses it with a 400); every free string of a
/// schema says so.
fn no_nul_in_bodies(doc: &mut Value) {
    fn walk(v: &mut Value) {
        match v {
            Value::Object(map) => {
                let is_string = match map.get("type") {
                    Some(Value::String(t)) => t == "string",
                    Some(Value::Array(ts)) => ts.iter().any(|t| t == "string"),
                    _ => false,
                };
                if is_string
                    && !["pattern", "format", "enum", "const"]
                        .iter()
                        .any(|k| map.contains_key(*k))
                {
                    map.insert("pattern".into(), Value::String("^[^\\u0000]*$".into()));
                }
                // Property names are strings of the body too.
                let is_object = map.contains_key("properties")
                    || map.get("type").is_some_and(|t| t == "object");
                if is_object && !map.contains_key("propertyNames") {
                    map.insert("propertyNames".into(), json!({"pattern": "^[^\\u0000]*$"}));
                }
                map.values_mut().for_each(walk);
            }
            Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    if let Some(schemas) = doc["components"]["schemas"].as_object_mut() {
        schemas.values_mut().for_each(walk);
    }
    if let Some(paths) = doc["paths"].as_object_mut() {
        for item in paths.values_mut() {
            for method in METHODS {
                if let Some(content) = item
                    .get_mut(*method)
                    .and_then(|op| op.get_mut("requestBody"))
                    .and_then(|b| b.get_mut("content"))
                    .and_then(Value::as_object_mut)
                {
                    for (media, m) in content.iter_mut() {
                        if media.contains("json") {
                            walk(&mut m["schema"]);
                        }
                    }
                }
            }
        }
    }
}

fn components(doc: &mut Value) {
    let c = doc
        .as_object_mut()
        .expect("the document is an object")
        .entry("components")
        .or_insert_with(|| json!({}));
    let schemes = json!({
        "platform_token": {
            "type": "http", "scheme": "bearer",
            "description": "The platform token (`STOREKEEP_PLATFORM_TOKEN`), or a platform operator's login session (`sks_…`)."
        },
        "bearer": {
            "type": "http", "scheme": "bearer",
            "description": "A shop credential: a login session (`sks_…`, from `POST /api/v1/auth/login`), an API key (`skk_…`) or an OAuth access token (`sko_…`). Admin routes take staff sessions and integrations; storefront routes a customer's session."
        },
        "api_key": {
            "type": "apiKey", "in": "header", "name": "X-Api-Key",
            "description": "An API key (`skk_…`), as an alternative to `Authorization: Bearer`."
        },
        "cart_token": {
            "type": "apiKey", "in": "header", "name": "X-Cart-Token",
            "description": "A guest cart's token, returned once by `POST /api/v1/store/carts`; also opens the order made from that cart."
        },
        "oauth_client": {
            "type": "http", "scheme": "basic",
            "description": "An OAuth client's id and secret (or send them as `client_id` and `client_secret` in the form)."
        }
    });
    c["securitySchemes"] = schemes;
    c["parameters"] = json!({"Tenant": {
        "name": "X-Tenant", "in": "header", "required": false,
        "description": "The shop's slug. Not needed when the request's Host is the shop's own domain or `{slug}.{base_domain}`. Unknown and suspended shops answer 404.",
        "schema": {"type": "string"},
        "example": "demo"
    }});
    let mut responses = Map::new();
    for (status, name, description) in PROBLEMS {
        let mut headers = Map::new();
        match status {
            401 => {
                headers.insert(
                    "WWW-Authenticate".into(),
                    json!({"description": "`Bearer`", "schema": {"type": "string"}}),
                );
            }
            429 => {
                headers.insert(
                    "Retry-After".into(),
                    json!({"description": "Seconds until a retry can succeed.", "required": true, "schema": {"type": "integer", "minimum": 0}}),
                );
            }
            503 => {
                headers.insert(
                    "Retry-After".into(),
                    json!({"description": "Seconds after which a retry may succeed, when known.", "schema": {"type": "integer", "minimum": 0}}),
                );
            }
            _ => {}
        }
        let slug = problem_slug(*status);
        let mut response = json!({
            "description": format!("{description} See [`{slug}`](/api/docs#problem-{slug})."),
            "content": {"application/problem+json": {
                "schema": {"$ref": "#/components/schemas/Problem"},
                "example": {
                    "type": format!("/api/docs#problem-{slug}"),
                    "title": reason(*status),
                    "status": status,
                    "detail": description,
                    "instance": "0199a3e4-5b6c-7d8e-9f01-23456789abcd"
                }
            }}
        });
        if !headers.is_empty() {
            response["headers"] = Value::Object(headers);
        }
        responses.insert((*name).to_owned(), response);
    }
    c["responses"] = Value::Object(responses);
}

fn reason(status: u16) -> &'static str {
    axum::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error")
}

/// The slug of a problem's `type` (`/api/docs#problem-{slug}`), as
/// `error::Problem::new` makes it.
pub fn problem_slug(status: u16) -> String {
    reason(status)
        .to_ascii_lowercase()
        .replace([' ', '\''], "-")
}

fn component_for(status: u16) -> Option<&'static str> {
    PROBLEMS
        .iter()
        .find(|(s, _, _)| *s == status)
        .map(|(_, name, _)| *name)
}

/// Security requirements as sets of scheme names.
fn requirements(op: &Map<String, Value>) -> Vec<BTreeSet<String>> {
    op.get("security")
        .and_then(Value::as_array)
        .map(|reqs| {
            reqs.iter()
                .filter_map(Value::as_object)
                .map(|r| r.keys().cloned().collect())
                .collect()
        })
        .unwrap_or_default()
}

fn set_requirements(op: &mut Map<String, Value>, reqs: &[BTreeSet<String>]) {
    let value: Vec<Value> = reqs
        .iter()
        .map(|r| {
            Value::Object(
                r.iter()
                    .map(|name| (name.clone(), json!([])))
                    .collect::<Map<_, _>>(),
            )
        })
        .collect();
    if value.is_empty() {
        op.remove("security");
    } else {
        op.insert("security".into(), Value::Array(value));
    }
}

fn set_of(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

/// Sets the operation's security requirements for its class and, for
/// routes addressed to a shop, the `X-Tenant` parameter. Handlers of auth
/// routes name the shop as the pseudo-scheme `tenant` in a requirement;
/// it becomes the parameter (a shop is an address, not a credential).
/// Returns whether the operation is addressed to a shop.
fn security(op: &mut Map<String, Value>, class: Class) -> bool {
    let declared = requirements(op);
    let addressed = match class {
        Class::Store | Class::Admin => true,
        Class::Auth => declared.iter().any(|r| r.contains("tenant")),
        Class::Platform | Class::Webhook | Class::Operations => false,
    };
    let mut reqs: Vec<BTreeSet<String>> = match class {
        Class::Platform => vec![set_of(&["platform_token"])],
        Class::Admin => vec![set_of(&["bearer"]), set_of(&["api_key"])],
        _ => declared,
    };
    for r in &mut reqs {
        r.remove("tenant");
    }
    let mut unique: Vec<BTreeSet<String>> = Vec::new();
    for r in reqs {
        if !unique.contains(&r) {
            unique.push(r);
        }
    }
    // Only "nothing" left: no security at all.
    if unique.iter().all(BTreeSet::is_empty) {
        unique.clear();
    }
    set_requirements(op, &unique);
    let params = op
        .entry("parameters")
        .or_insert_with(|| json!([]))
        .as_array_mut()
        .expect("parameters is an array");
    // The cart token is a credential (a scheme); the shop one parameter.
    params.retain(|p| {
        !(p["in"] == "header"
            && p["name"].as_str().is_some_and(|n| {
                n.eq_ignore_ascii_case("x-tenant") || n.eq_ignore_ascii_case("x-cart-token")
            }))
    });
    if addressed {
        params.push(json!({"$ref": "#/components/parameters/Tenant"}));
    }
    if params.is_empty() {
        op.remove("parameters");
    }
    addressed
}

fn refers_to_problem(response: &Value) -> bool {
    response["content"].as_object().is_some_and(|c| {
        c.values()
            .any(|m| m["schema"]["$ref"] == "#/components/schemas/Problem")
    })
}

fn problems(op: &mut Map<String, Value>, class: Class, path: &str, addressed: bool) {
    let mut statuses = BTreeSet::new();
    let params = op
        .get("parameters")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if params.iter().any(|p| p["in"] == "query") {
        statuses.insert(400);
    }
    if params.iter().any(|p| p["in"] == "path") {
        statuses.insert(404);
    }
    if let Some(body) = op.get("requestBody") {
        statuses.insert(413);
        let types: Vec<&str> = body["content"]
            .as_object()
            .map(|c| c.keys().map(String::as_str).collect())
            .unwrap_or_default();
        // A form (the OAuth token endpoint) answers in RFC 6749's own
        // terms, declared by its handler.
        if types
            .iter()
            .any(|t| *t != "application/x-www-form-urlencoded")
        {
            statuses.extend([415, 422]);
        }
        if types
            .iter()
            .any(|t| t.contains("json") || t.starts_with("multipart/"))
        {
            statuses.insert(400);
        }
    }
    let reqs = requirements(op);
    let credentialed = reqs.iter().any(|r| {
        [
            "bearer",
            "api_key",
            "platform_token",
            "cart_token",
            "oauth_client",
        ]
        .iter()
        .any(|s| r.contains(*s))
    });
    if credentialed {
        statuses.insert(401);
    }
    if addressed {
        statuses.insert(404);
    }
    match class {
        Class::Platform | Class::Admin => {
            statuses.extend([401, 403]);
        }
        _ => {}
    }
    if class != Class::Webhook && class != Class::Operations {
        statuses.insert(429);
    }
    if !path.starts_with("/api/health") || path == "/api/health/detailed" {
        // The request timeout (and a dependency that is down) answer 503.
        statuses.insert(503);
    }
    let responses = op
        .entry("responses")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .expect("responses is an object");
    // What the handler declared: problems become the shared response.
    let declared: Vec<(String, Value)> = responses
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (code, response) in declared {
        let Ok(status) = code.parse::<u16>() else {
            continue;
        };
        if status >= 400 && refers_to_problem(&response) {
            statuses.insert(status);
        }
    }
    for (code, response) in responses.iter_mut() {
        if response["description"] == "" {
            let reason = code.parse().map_or("Answer", reason);
            response["description"] = Value::String(reason.to_owned());
        }
    }
    for status in statuses {
        let code = status.to_string();
        // A route's own body for the status (health's 503) stays.
        if responses
            .get(&code)
            .is_some_and(|r| !refers_to_problem(r) && r.get("content").is_some())
        {
            continue;
        }
        if let Some(name) = component_for(status) {
            responses.insert(
                code,
                json!({"$ref": format!("#/components/responses/{name}")}),
            );
        }
    }
}

/// An example for every request body (see `openapi_examples`); the image
/// upload's form is described here, since no Rust type reads it whole.
fn examples(op: &mut Map<String, Value>) {
    let id = op["operationId"].as_str().unwrap_or_default().to_owned();
    let Some(content) = op
        .get_mut("requestBody")
        .and_then(|b| b.get_mut("content"))
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    for (media, m) in content.iter_mut() {
        if media == "multipart/form-data" {
            m["schema"] = json!({
                "type": "object",
                "required": ["file"],
                "properties": {
                    "file": {"type": "string", "format": "binary", "description": "PNG, JPEG, GIF or WebP."},
                    "alt": {"type": "string", "description": "Text for screen readers."}
                }
            });
        }
        if let Some(example) = super::openapi_examples::request(&id, media) {
            m["example"] = example;
        }
    }
}

fn unique_operation_ids(doc: &mut Value) {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let Some(paths) = doc["paths"].as_object() else {
        return;
    };
    for item in paths.values() {
        for method in METHODS {
            if let Some(id) = item[*method]["operationId"].as_str() {
                *seen.entry(id.to_owned()).or_default() += 1;
            }
        }
    }
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        // `/api/v1/admin/orders` → `admin`
        let area = path
            .strip_prefix("/api/v1/")
            .and_then(|rest| rest.split('/').next())
            .unwrap_or("api")
            .to_owned();
        for method in METHODS {
            let op = &mut item[*method];
            let Some(id) = op["operationId"].as_str().map(str::to_owned) else {
                continue;
            };
            if seen.get(&id).is_some_and(|n| *n > 1) {
                op["operationId"] = Value::String(format!("{area}_{id}"));
            }
        }
    }
}

fn links(doc: &mut Value) {
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    // Where each operation is, by id.
    let mut by_id: BTreeMap<String, (String, String)> = BTreeMap::new();
    for (path, item) in paths.iter() {
        for method in METHODS {
            if let Some(id) = item[*method]["operationId"].as_str() {
                by_id.insert(id.to_owned(), (path.clone(), (*method).to_owned()));
            }
        }
    }
    for (from, status, pointer, param, targets) in LINKS {
        let Some((path, method)) = by_id.get(*from) else {
            continue;
        };
        let mut links = Map::new();
        for target in *targets {
            let Some((target_path, _)) = by_id.get(*target) else {
                continue;
            };
            // The new resource's id comes from the response; any other path
            // parameter the target shares with the source (a cart's id for
            // its items) from the request.
            let source_params = path_params(path);
            let mut parameters = Map::new();
            for name in path_params(target_path) {
                let value = if name == *param {
                    format!("$response.body#{pointer}")
                } else if source_params.contains(&name) {
                    format!("$request.path.{name}")
                } else {
                    continue;
                };
                parameters.insert(name, Value::String(value));
            }
            links.insert(
                (*target).to_owned(),
                json!({"operationId": target, "parameters": parameters}),
            );
        }
        if links.is_empty() {
            continue;
        }
        let response = &mut paths[path.as_str()][method.as_str()]["responses"][*status];
        if response.is_object() {
            response["links"] = Value::Object(links);
        }
    }
}

fn path_params(path: &str) -> Vec<String> {
    path.split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(str::to_owned)
        .collect()
}
