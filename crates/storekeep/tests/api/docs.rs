//! The OpenAPI document and the docs page (Swagger UI served from the
//! binary, offline).

use reqwest::Method;
use serde_json::{Value, json};
use storekeep_test_support::{problem, spawn_app};

const METHODS: &[&str] = &["get", "put", "post", "patch", "delete"];

async fn document() -> Value {
    let app = spawn_app().await;
    let resp = app.get("/api/openapi.json").await;
    assert_eq!(resp.status(), 200);
    let doc: Value = resp.json().await.unwrap();
    app.stop().await;
    doc
}

/// Every `(METHOD path, operation)` of the document.
fn operations(doc: &Value) -> Vec<(String, &Value)> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for m in METHODS {
            if item[*m].is_object() {
                ops.push((format!("{} {path}", m.to_uppercase()), &item[*m]));
            }
        }
    }
    ops
}

/// The parameters of an operation, with `$ref`s resolved.
fn parameters<'a>(doc: &'a Value, op: &'a Value) -> Vec<&'a Value> {
    op["parameters"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .map(|p| match p["$ref"].as_str() {
                    Some(r) => &doc["components"]["parameters"][r.rsplit('/').next().unwrap()],
                    None => p,
                })
                .collect()
        })
        .unwrap_or_default()
}

fn schemes(op: &Value) -> Vec<Vec<String>> {
    op["security"]
        .as_array()
        .map(|reqs| {
            reqs.iter()
                .map(|r| r.as_object().unwrap().keys().cloned().collect())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn the_openapi_document_describes_every_api_route() {
    let doc = document().await;

    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    let paths = doc["paths"].as_object().unwrap();
    for (path, methods) in [
        ("/api/health", &["get"][..]),
        ("/api/health/live", &["get"]),
        ("/api/health/ready", &["get"]),
        ("/api/health/detailed", &["get"]),
        ("/api/metrics", &["get"]),
        ("/api/v1/platform/tenants", &["get", "post"]),
        ("/api/v1/platform/tenants/{slug}", &["get", "patch"]),
        ("/api/v1/platform/plans", &["get", "post"]),
        ("/api/v1/store", &["get"]),
    ] {
        for m in methods {
            assert!(paths[path][m].is_object(), "{m} {path} is documented");
        }
    }
    assert!(doc["components"]["schemas"]["Problem"].is_object());
    let ids: Vec<&str> = operations(&doc)
        .iter()
        .map(|(_, op)| op["operationId"].as_str().unwrap())
        .collect();
    let unique: std::collections::BTreeSet<_> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "operation ids are unique");
}

#[tokio::test]
async fn parameters_are_where_the_server_reads_them() {
    let doc = document().await;

    for (name, op) in operations(&doc) {
        let path = name.split_once(' ').unwrap().1;
        for p in parameters(&doc, op) {
            let pname = p["name"].as_str().unwrap();
            if p["in"] == "path" {
                assert!(
                    path.contains(&format!("{{{pname}}}")),
                    "{name}: `{pname}` is declared in the path but the path has no such segment"
                );
            }
        }
    }
    // The three routes whose filters were once declared as path parameters.
    for (path, names) in [
        (
            "/api/v1/admin/orders",
            &[
                "status",
                "customer_id",
                "email",
                "created_from",
                "created_to",
                "limit",
                "after",
            ][..],
        ),
        ("/api/v1/admin/events", &["topic", "limit", "after"]),
        ("/api/v1/store/deals", &["soon_hours"]),
    ] {
        let op = &doc["paths"][path]["get"];
        for n in names {
            let p = parameters(&doc, op)
                .into_iter()
                .find(|p| p["name"] == *n)
                .unwrap_or_else(|| panic!("{path} documents {n}"));
            assert_eq!(p["in"], "query", "{path} {n}");
            assert_ne!(p["required"], true, "{path} {n}");
        }
    }
    // The constraints the server enforces.
    let limit = parameters(&doc, &doc["paths"]["/api/v1/admin/orders"]["get"])
        .into_iter()
        .find(|p| p["name"] == "limit")
        .unwrap()
        .clone();
    assert_eq!(limit["schema"]["minimum"], 1);
    assert_eq!(limit["schema"]["maximum"], 200);
}

#[tokio::test]
async fn every_operation_documents_its_problems_and_security() {
    let doc = document().await;
    let responses = &doc["components"]["responses"];
    for (name, status) in [
        ("NotFound", 404),
        ("UnprocessableEntity", 422),
        ("TooManyRequests", 429),
    ] {
        assert!(
            responses[name]["content"]["application/problem+json"]["schema"]["$ref"]
                .as_str()
                .unwrap()
                .ends_with("/Problem"),
            "{name} is a problem"
        );
        assert_eq!(
            responses[name]["content"]["application/problem+json"]["example"]["status"],
            status
        );
    }
    assert!(responses["TooManyRequests"]["headers"]["Retry-After"].is_object());

    let mut admin_ops = 0;
    for (name, op) in operations(&doc) {
        let path = name.split_once(' ').unwrap().1;
        let codes: Vec<&String> = op["responses"].as_object().unwrap().keys().collect();
        let has = |c: &str| codes.iter().any(|k| *k == c);
        // Every error is a problem (the OAuth token endpoint speaks RFC 6749,
        // readiness its own JSON).
        for (code, r) in op["responses"].as_object().unwrap() {
            if code.starts_with('4') || code.starts_with('5') {
                let own = path == "/api/v1/auth/oauth/token" || path.starts_with("/api/health");
                if !own {
                    assert!(
                        r["$ref"]
                            .as_str()
                            .is_some_and(|r| r.starts_with("#/components/responses/")),
                        "{name} {code} is a shared problem response"
                    );
                }
            }
        }
        assert!(
            has("503") || path.starts_with("/api/health"),
            "{name} documents 503"
        );
        if path.starts_with("/api/v1/") && !path.starts_with("/api/v1/webhooks/") {
            assert!(has("429"), "{name} documents 429");
        }
        if op["requestBody"]["content"]["application/json"].is_object() {
            for c in ["400", "413", "415", "422"] {
                assert!(has(c), "{name} documents {c}");
            }
        }
        if parameters(&doc, op).iter().any(|p| p["in"] == "path") {
            assert!(has("404"), "{name} documents 404");
        }
        let tenant_param = parameters(&doc, op).iter().any(|p| p["name"] == "X-Tenant");
        let security = schemes(op);
        if path.starts_with("/api/v1/admin/") {
            admin_ops += 1;
            for c in ["401", "403", "404"] {
                assert!(has(c), "{name} documents {c}");
            }
            assert_eq!(
                security,
                vec![vec!["bearer".to_owned()], vec!["api_key".to_owned()]],
                "{name}"
            );
            assert!(tenant_param, "{name} names the shop");
        } else if path.starts_with("/api/v1/platform/") {
            assert_eq!(security, vec![vec!["platform_token".to_owned()]], "{name}");
            assert!(has("401") && has("403"), "{name} documents 401 and 403");
            assert!(!tenant_param, "{name} has no shop");
        } else if path.starts_with("/api/v1/store") {
            assert!(tenant_param, "{name} names the shop");
            assert!(
                !security.iter().flatten().any(|s| s == "platform_token"),
                "{name}"
            );
        }
    }
    assert_eq!(
        admin_ops,
        71 // 42, 9 webhooks, 2 email templates, 4 jobs, 10 rentals, 3 rental contracts, 1 agreement document
            + 3 // i15 phase 3, buy-out and returns: quote, buy-out, return
            + 1 // i15 phase 3: extend
            + 2 // i16: a customer's data export and erasure
            + 2 // i16: staff's export and erasure by email (guest purchases)
            + 1 // i18: a staff member's role change
            + 2 // i18: unmatched payments, listed and resolved
    );
    // Storefront reads are open; a customer's orders need a session; a
    // guest's cart its token (or the customer's session).
    assert!(doc["paths"]["/api/v1/store/products"]["get"]["security"].is_null());
    assert_eq!(
        schemes(&doc["paths"]["/api/v1/store/orders"]["get"]),
        vec![vec!["bearer".to_owned()]]
    );
    assert_eq!(
        schemes(&doc["paths"]["/api/v1/store/carts/{id}"]["get"]),
        vec![vec!["cart_token".to_owned()], vec!["bearer".to_owned()]]
    );
    let schemes_doc = &doc["components"]["securitySchemes"];
    assert_eq!(schemes_doc["platform_token"]["scheme"], "bearer");
    assert_eq!(schemes_doc["cart_token"]["name"], "X-Cart-Token");
    assert_eq!(schemes_doc["api_key"]["name"], "X-Api-Key");
}

#[tokio::test]
async fn every_request_body_has_an_example_and_creates_link_onwards() {
    let doc = document().await;
    let schemas = &doc["components"]["schemas"];
    for (name, op) in operations(&doc) {
        let Some(content) = op["requestBody"]["content"].as_object() else {
            continue;
        };
        for (media, m) in content {
            let by_ref = m["schema"]["$ref"]
                .as_str()
                .map(|r| &schemas[r.rsplit('/').next().unwrap()]);
            let inline_one_of = m["schema"]["oneOf"]
                .as_array()
                .and_then(|v| v.iter().find_map(|s| s["$ref"].as_str()))
                .map(|r| &schemas[r.rsplit('/').next().unwrap()]);
            let example = m
                .get("example")
                .or_else(|| by_ref.or(inline_one_of).and_then(|s| s.get("example")));
            assert!(example.is_some(), "{name} ({media}) has an example body");
        }
    }
    let links = &doc["paths"]["/api/v1/admin/products"]["post"]["responses"]["201"]["links"];
    for target in ["admin_get_product", "update_product", "delete_product"] {
        assert_eq!(links[target]["operationId"], target);
        assert_eq!(
            links[target]["parameters"]["id"],
            "$response.body#/product/id"
        );
    }
    let cart = &doc["paths"]["/api/v1/store/carts"]["post"]["responses"]["201"]["links"];
    assert_eq!(
        cart["checkout_cart"]["parameters"]["id"],
        "$response.body#/cart/id"
    );
}

#[tokio::test]
async fn a_body_documented_as_optional_takes_null() {
    let app = spawn_app().await;
    app.create_tenant("nullshop", json!({})).await;

    let resp = app
        .shop("nullshop", Method::POST, "/api/v1/store/carts")
        .header("content-type", "application/json")
        .body("null")
        .send()
        .await
        .unwrap();

    assert_eq!(resp.status(), 201);
    app.stop().await;
}

#[tokio::test]
async fn an_integer_written_with_a_fraction_is_an_integer() {
    let app = spawn_app().await;

    // JSON Schema counts 14.0 as an integer; so does the server.
    let resp = app
        .platform(Method::POST, "/api/v1/platform/plans")
        .json(&json!({"plan": {"name": "fractional", "limits": {"max_products": 14.0}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let plan: Value = resp.json().await.unwrap();
    assert_eq!(plan["plan"]["limits"]["max_products"], 14);
    // A real fraction is still refused.
    let resp = app
        .platform(Method::POST, "/api/v1/platform/plans")
        .json(&json!({"plan": {"name": "fractional2", "limits": {"max_products": 14.5}}}))
        .send()
        .await
        .unwrap();
    problem(resp, 422).await;
    app.stop().await;
}

#[tokio::test]
async fn the_docs_page_is_swagger_ui_served_offline() {
    let app = spawn_app().await;

    let resp = app.get("/api/docs").await;

    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let csp = resp.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.starts_with("default-src 'self'"), "{csp}");
    assert!(
        !csp.contains("unsafe-eval") && !csp.contains("http"),
        "{csp}"
    );
    assert!(
        !csp.contains("script-src"),
        "scripts from this server only: {csp}"
    );
    let html = resp.text().await.unwrap();
    assert!(html.contains("<div id=\"swagger-ui\">"));
    // Problem types still resolve on the page, without JavaScript.
    for slug in [
        "not-found",
        "unprocessable-entity",
        "too-many-requests",
        "method-not-allowed",
    ] {
        assert!(html.contains(&format!("id=\"problem-{slug}\"")), "{slug}");
    }
    // Every script is a file of this server; nothing comes from elsewhere.
    let scripts: Vec<&str> = html.split("<script").skip(1).collect();
    assert_eq!(scripts.len(), 2);
    for s in &scripts {
        assert!(
            s.trim_start().starts_with("src=\"/api/docs/assets/"),
            "no inline script: {s}"
        );
    }
    assert!(!html.contains("src=\"http") && !html.contains("href=\"http"));
    let mut assets = Vec::new();
    for part in html.split("\"/api/docs/assets/").skip(1) {
        assets.push(part.split('"').next().unwrap().to_owned());
    }
    assert_eq!(assets.len(), 4, "{assets:?}");
    for asset in &assets {
        let resp = app.get(&format!("/api/docs/assets/{asset}")).await;
        assert_eq!(resp.status(), 200, "{asset}");
        let ct = resp.headers()["content-type"].to_str().unwrap().to_owned();
        let cache = resp.headers()["cache-control"].to_str().unwrap().to_owned();
        assert!(cache.contains("max-age=31536000"), "{asset}: {cache}");
        let body = resp.bytes().await.unwrap();
        if asset.starts_with("swagger-ui-bundle.js") {
            assert!(ct.starts_with("text/javascript"));
            assert!(body.len() > 1_000_000, "the real bundle");
            assert!(String::from_utf8_lossy(&body).contains("SwaggerUIBundle"));
        }
        if asset.starts_with("docs-init.js") {
            let js = String::from_utf8_lossy(&body).into_owned();
            assert!(
                js.contains("\"/api/openapi.json\""),
                "the UI reads this server's document"
            );
            assert!(js.contains("validatorUrl: null"), "no online validator");
        }
    }
    problem(app.get("/api/docs/assets/nothing.js").await, 404).await;
    app.stop().await;
}
