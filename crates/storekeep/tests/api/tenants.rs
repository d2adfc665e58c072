//! The platform tenants API.

use reqwest::Method;
use serde_json::{Value, json};
use storekeep_test_support::{problem, spawn_app};

#[tokio::test]
async fn platform_routes_refuse_a_missing_or_wrong_token() {
    let app = spawn_app().await;

    let missing = app.get("/api/v1/platform/tenants").await;
    assert_eq!(missing.headers().get("www-authenticate").unwrap(), "Bearer");
    problem(missing, 401).await;
    let wrong = app
        .request(Method::GET, "/api/v1/platform/tenants")
        .bearer_auth("test-platform-token-0123456789abcdef0124")
        .send()
        .await
        .unwrap();
    problem(wrong, 401).await;
    let create = app
        .request(Method::POST, "/api/v1/platform/tenants")
        .json(&json!({"tenant": {"slug": "sneaky", "name": "Sneaky"}}))
        .send()
        .await
        .unwrap();
    problem(create, 401).await;

    let list = app
        .platform(Method::GET, "/api/v1/platform/tenants")
        .send()
        .await
        .unwrap();
    assert_eq!(list.json::<Value>().await.unwrap()["items"], json!([]));
    app.stop().await;
}

#[tokio::test]
async fn a_created_tenant_is_returned_fetched_and_listed() {
    let app = spawn_app().await;

    let resp = app
        .platform(Method::POST, "/api/v1/platform/tenants")
        .json(&json!({"tenant": {
            "slug": "acme", "name": "ACME Refurbished",
            "domains": ["Shop.Acme.Example"],
            "settings": {"currency": "EUR", "cors_origins": ["https://acme.example"]}
        }}))
        .send()
        .await
        .unwrap();

    assert_eq!(resp.status(), 201);
    assert_eq!(
        resp.headers().get("location").unwrap(),
        "/api/v1/platform/tenants/acme"
    );
    let created: Value = resp.json().await.unwrap();
    let t = &created["tenant"];
    assert_eq!(t["slug"], "acme");
    assert_eq!(t["name"], "ACME Refurbished");
    assert_eq!(t["status"], "active");
    assert_eq!(t["plan"], "default");
    assert_eq!(t["domains"], json!(["shop.acme.example"]));
    assert_eq!(t["settings"]["currency"], "EUR");
    assert_eq!(
        t["settings"]["cors_origins"],
        json!(["https://acme.example"])
    );

    let fetched: Value = app
        .platform(Method::GET, "/api/v1/platform/tenants/acme")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(fetched, created, "a read returns exactly what was written");

    let list: Value = app
        .platform(Method::GET, "/api/v1/platform/tenants")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"], json!([created["tenant"]]));
    assert_eq!(list["next_cursor"], Value::Null);
    app.stop().await;
}

#[tokio::test]
async fn a_taken_slug_or_domain_is_a_409_naming_the_field() {
    let app = spawn_app().await;
    app.create_tenant("acme", json!({"domains": ["shop.acme.example"]}))
        .await;

    let same_slug = app
        .platform(Method::POST, "/api/v1/platform/tenants")
        .json(&json!({"tenant": {"slug": "acme", "name": "Other"}}))
        .send()
        .await
        .unwrap();
    let body = problem(same_slug, 409).await;
    assert_eq!(body["errors"][0]["field"], "slug");

    let same_domain = app
        .platform(Method::POST, "/api/v1/platform/tenants")
        .json(&json!({"tenant": {"slug": "other", "name": "Other", "domains": ["shop.acme.example"]}}))
        .send()
        .await
        .unwrap();
    let body = problem(same_domain, 409).await;
    assert_eq!(body["errors"][0]["field"], "domains");

    // The failed create left nothing behind: `other` does not exist.
    let other = app
        .platform(Method::GET, "/api/v1/platform/tenants/other")
        .send()
        .await
        .unwrap();
    problem(other, 404).await;
    app.stop().await;
}

#[tokio::test]
async fn an_invalid_tenant_gets_every_field_error_and_nothing_is_written() {
    let app = spawn_app().await;

    let resp = app
        .platform(Method::POST, "/api/v1/platform/tenants")
        .json(&json!({"tenant": {
            "slug": "Not A Slug", "name": "  ",
            "domains": ["localhost", "ok.example.com", "ok.example.com"],
            "settings": {"currency": "euro", "cors_origins": ["acme.example/"]}
        }}))
        .send()
        .await
        .unwrap();

    let body = problem(resp, 422).await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "slug",
            "name",
            "domains[0]",
            "domains[2]",
            "settings.currency",
            "settings.cors_origins"
        ]
    );
    let list: Value = app
        .platform(Method::GET, "/api/v1/platform/tenants")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"], json!([]));
    app.stop().await;
}

#[tokio::test]
async fn an_unknown_plan_is_a_422_on_the_plan_field() {
    let app = spawn_app().await;

    let resp = app
        .platform(Method::POST, "/api/v1/platform/tenants")
        .json(&json!({"tenant": {"slug": "acme", "name": "ACME", "plan": "platinum"}}))
        .send()
        .await
        .unwrap();

    let body = problem(resp, 422).await;
    assert_eq!(body["errors"][0]["field"], "plan");
    app.stop().await;
}

#[tokio::test]
async fn patch_changes_only_the_fields_sent() {
    let app = spawn_app().await;
    let before = app
        .create_tenant("acme", json!({"domains": ["a.acme.example"]}))
        .await;

    let resp = app
        .platform(Method::PATCH, "/api/v1/platform/tenants/acme")
        .json(&json!({"tenant": {"name": "ACME Two", "domains": ["b.acme.example", "c.acme.example"]}}))
        .send()
        .await
        .unwrap();

    assert_eq!(resp.status(), 200);
    let after: Value = resp.json().await.unwrap();
    let t = &after["tenant"];
    assert_eq!(t["name"], "ACME Two");
    assert_eq!(t["domains"], json!(["b.acme.example", "c.acme.example"]));
    assert_eq!(t["status"], before["status"]);
    assert_eq!(t["plan"], before["plan"]);
    assert_eq!(t["settings"], before["settings"]);
    assert_eq!(t["created_at"], before["created_at"]);
    assert_ne!(t["updated_at"], before["updated_at"]);
    app.stop().await;
}

#[tokio::test]
async fn an_invalid_patch_changes_nothing() {
    let app = spawn_app().await;
    let before = app.create_tenant("acme", json!({})).await;

    let resp = app
        .platform(Method::PATCH, "/api/v1/platform/tenants/acme")
        .json(&json!({"tenant": {"name": "Fine", "plan": "missing-plan"}}))
        .send()
        .await
        .unwrap();
    problem(resp, 422).await;

    let bad_status = app
        .platform(Method::PATCH, "/api/v1/platform/tenants/acme")
        .json(&json!({"tenant": {"status": "deleted"}}))
        .send()
        .await
        .unwrap();
    problem(bad_status, 422).await;

    let now: Value = app
        .platform(Method::GET, "/api/v1/platform/tenants/acme")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(now["tenant"], before);
    app.stop().await;
}

#[tokio::test]
async fn patching_or_fetching_an_unknown_tenant_is_404() {
    let app = spawn_app().await;

    let get = app
        .platform(Method::GET, "/api/v1/platform/tenants/ghost")
        .send()
        .await
        .unwrap();
    problem(get, 404).await;
    let patch = app
        .platform(Method::PATCH, "/api/v1/platform/tenants/ghost")
        .json(&json!({"tenant": {"name": "Boo"}}))
        .send()
        .await
        .unwrap();
    problem(patch, 404).await;
    app.stop().await;
}

#[tokio::test]
async fn cursor_pagination_visits_every_tenant_once_in_creation_order() {
    let app = spawn_app().await;
    let slugs: Vec<String> = (0..7).map(|i| format!("shop-{i}")).collect();
    for s in &slugs {
        app.create_tenant(s, json!({})).await;
    }

    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut path = "/api/v1/platform/tenants?limit=3".to_owned();
        if let Some(a) = &after {
            path.push_str(&format!("&after={a}"));
        }
        let page: Value = app
            .platform(Method::GET, &path)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        pages += 1;
        for t in page["items"].as_array().unwrap() {
            seen.push(t["slug"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => after = Some(c.to_owned()),
            None => break,
        }
    }

    assert_eq!(seen, slugs);
    assert_eq!(pages, 3);
    app.stop().await;
}

#[tokio::test]
async fn bad_page_parameters_are_400() {
    let app = spawn_app().await;

    for query in ["limit=0", "limit=201", "limit=ten", "after=not-a-cursor"] {
        let resp = app
            .platform(Method::GET, &format!("/api/v1/platform/tenants?{query}"))
            .send()
            .await
            .unwrap();
        problem(resp, 400).await;
    }
    app.stop().await;
}
