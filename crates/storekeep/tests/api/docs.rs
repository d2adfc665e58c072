//! The OpenAPI document and its offline docs page.

use serde_json::Value;
use storekeep_test_support::spawn_app;

#[tokio::test]
async fn the_openapi_document_describes_every_api_route() {
    let app = spawn_app().await;

    let resp = app.get("/api/openapi.json").await;

    assert_eq!(resp.status(), 200);
    let doc: Value = resp.json().await.unwrap();
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
    assert_eq!(
        doc["components"]["securitySchemes"]["platform_token"]["scheme"],
        "bearer"
    );
    app.stop().await;
}

#[tokio::test]
async fn the_docs_page_lists_operations_and_loads_nothing_from_elsewhere() {
    let app = spawn_app().await;

    let resp = app.get("/api/docs").await;

    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = resp.text().await.unwrap();
    assert!(html.contains("/api/v1/platform/tenants/{slug}"));
    assert!(html.contains("id=\"schema-Tenant\""));
    assert!(html.contains("id=\"problem-not-found\""));
    assert!(!html.contains("<script"), "no JavaScript needed");
    assert!(!html.contains("src=\"http"), "no assets from a CDN");
    assert!(!html.contains("href=\"http"), "no stylesheets from a CDN");
    app.stop().await;
}
