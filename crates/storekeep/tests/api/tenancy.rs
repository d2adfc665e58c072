//! Which shop a request is for: custom domain, then `{slug}.{base_domain}`,
//! then `X-Tenant`. Unknown and suspended shops look the same.

use reqwest::Method;
use serde_json::{Value, json};
use storekeep_test_support::{problem, spawn_app, spawn_app_with};

async fn store_slug(resp: reqwest::Response) -> String {
    assert_eq!(resp.status(), 200);
    resp.json::<Value>().await.unwrap()["store"]["slug"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn the_x_tenant_header_addresses_a_shop() {
    let app = spawn_app().await;
    app.create_tenant("acme", json!({"settings": {"currency": "EUR"}}))
        .await;

    let resp = app
        .shop("acme", Method::GET, "/api/v1/store")
        .send()
        .await
        .unwrap();

    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body["store"],
        json!({"slug": "acme", "name": "Shop acme", "currency": "EUR", "payment_providers": ["manual"]})
    );
    app.stop().await;
}

#[tokio::test]
async fn an_unknown_shop_is_a_404_problem() {
    let app = spawn_app().await;

    let by_header = app
        .shop("ghost", Method::GET, "/api/v1/store")
        .send()
        .await
        .unwrap();
    let body = problem(by_header, 404).await;
    assert!(
        !body["detail"].as_str().unwrap().contains("ghost"),
        "nothing echoed"
    );

    let no_tenant = app.get("/api/v1/store").await;
    problem(no_tenant, 404).await;
    let malformed = app
        .shop("NOT VALID", Method::GET, "/api/v1/store")
        .send()
        .await
        .unwrap();
    problem(malformed, 404).await;
    app.stop().await;
}

#[tokio::test]
async fn a_suspended_shop_answers_exactly_like_an_unknown_one_until_resumed() {
    let app = spawn_app().await;
    app.create_tenant("acme", json!({})).await;

    let suspend = app
        .platform(Method::PATCH, "/api/v1/platform/tenants/acme")
        .json(&json!({"tenant": {"status": "suspended"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(suspend.status(), 200);

    let suspended = problem(
        app.shop("acme", Method::GET, "/api/v1/store")
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    let unknown = problem(
        app.shop("ghost", Method::GET, "/api/v1/store")
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    assert_eq!(suspended["detail"], unknown["detail"]);
    assert_eq!(suspended["title"], unknown["title"]);

    app.platform(Method::PATCH, "/api/v1/platform/tenants/acme")
        .json(&json!({"tenant": {"status": "active"}}))
        .send()
        .await
        .unwrap();
    let resumed = app
        .shop("acme", Method::GET, "/api/v1/store")
        .send()
        .await
        .unwrap();
    assert_eq!(store_slug(resumed).await, "acme");
    app.stop().await;
}

#[tokio::test]
async fn a_custom_domain_in_host_addresses_its_shop_before_the_header() {
    let app = spawn_app().await;
    app.create_tenant("acme", json!({"domains": ["shop.acme.example"]}))
        .await;
    app.create_tenant("other", json!({})).await;

    let by_host = app
        .request(Method::GET, "/api/v1/store")
        .header("host", "shop.acme.example:8080")
        .header("x-tenant", "other")
        .send()
        .await
        .unwrap();
    assert_eq!(store_slug(by_host).await, "acme");

    // A Host that is no shop's falls through to the header.
    let fallthrough = app
        .request(Method::GET, "/api/v1/store")
        .header("host", "unknown.example")
        .header("x-tenant", "other")
        .send()
        .await
        .unwrap();
    assert_eq!(store_slug(fallthrough).await, "other");
    app.stop().await;
}

#[tokio::test]
async fn a_subdomain_of_the_base_domain_addresses_the_shop_with_that_slug() {
    let app = spawn_app_with(|s| {
        s.base_domain = Some(storekeep_domain::DomainName::parse("shops.example").unwrap());
    })
    .await;
    app.create_tenant("acme", json!({})).await;
    app.create_tenant("other", json!({})).await;

    let by_subdomain = app
        .request(Method::GET, "/api/v1/store")
        .header("host", "acme.shops.example")
        .header("x-tenant", "other")
        .send()
        .await
        .unwrap();
    assert_eq!(store_slug(by_subdomain).await, "acme");

    let unknown_sub = app
        .request(Method::GET, "/api/v1/store")
        .header("host", "ghost.shops.example")
        .send()
        .await
        .unwrap();
    problem(unknown_sub, 404).await;

    // Custom domains under the base domain would shadow slugs: refused.
    let resp = app
        .platform(Method::POST, "/api/v1/platform/tenants")
        .json(&json!({"tenant": {"slug": "third", "name": "Third", "domains": ["acme.shops.example"]}}))
        .send()
        .await
        .unwrap();
    let body = problem(resp, 422).await;
    assert_eq!(body["errors"][0]["field"], "domains[0]");
    app.stop().await;
}

#[tokio::test]
async fn moving_a_domain_between_shops_takes_effect_at_once() {
    let app = spawn_app().await;
    app.create_tenant("acme", json!({"domains": ["shop.example"]}))
        .await;
    app.create_tenant("other", json!({})).await;

    // While acme holds the domain, other cannot take it.
    let taken = app
        .platform(Method::PATCH, "/api/v1/platform/tenants/other")
        .json(&json!({"tenant": {"domains": ["shop.example"]}}))
        .send()
        .await
        .unwrap();
    problem(taken, 409).await;

    app.platform(Method::PATCH, "/api/v1/platform/tenants/acme")
        .json(&json!({"tenant": {"domains": []}}))
        .send()
        .await
        .unwrap();
    let moved = app
        .platform(Method::PATCH, "/api/v1/platform/tenants/other")
        .json(&json!({"tenant": {"domains": ["shop.example"]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(moved.status(), 200);

    let resp = app
        .request(Method::GET, "/api/v1/store")
        .header("host", "shop.example")
        .send()
        .await
        .unwrap();
    assert_eq!(store_slug(resp).await, "other");
    app.stop().await;
}
