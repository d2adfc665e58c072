//! The platform plans API.

use reqwest::Method;
use serde_json::{Value, json};
use storekeep_test_support::{problem, spawn_app};

#[tokio::test]
async fn the_default_plan_exists_and_new_plans_fill_missing_limits_from_it() {
    let app = spawn_app().await;

    let resp = app
        .platform(Method::POST, "/api/v1/platform/plans")
        .json(&json!({"plan": {"name": "growth", "limits": {"max_products": 50000, "api_requests_per_minute": 20000}}}))
        .send()
        .await
        .unwrap();

    assert_eq!(resp.status(), 201);
    let growth: Value = resp.json().await.unwrap();
    let list: Value = app
        .platform(Method::GET, "/api/v1/platform/plans")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let default = &items[0];
    assert_eq!(default["name"], "default");
    assert_eq!(items[1], growth["plan"]);
    let limits = &growth["plan"]["limits"];
    assert_eq!(limits["max_products"], 50000);
    assert_eq!(limits["api_requests_per_minute"], 20000);
    assert_eq!(limits["max_staff"], default["limits"]["max_staff"]);
    assert_eq!(limits["storage_bytes"], default["limits"]["storage_bytes"]);
    app.stop().await;
}

#[tokio::test]
async fn a_tenant_can_be_put_on_a_new_plan() {
    let app = spawn_app().await;
    app.platform(Method::POST, "/api/v1/platform/plans")
        .json(&json!({"plan": {"name": "growth"}}))
        .send()
        .await
        .unwrap();

    let created = app.create_tenant("acme", json!({"plan": "growth"})).await;
    assert_eq!(created["plan"], "growth");
    let moved: Value = app
        .platform(Method::PATCH, "/api/v1/platform/tenants/acme")
        .json(&json!({"tenant": {"plan": "default"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(moved["tenant"]["plan"], "default");
    app.stop().await;
}

#[tokio::test]
async fn duplicate_and_invalid_plans_are_refused() {
    let app = spawn_app().await;

    let dup = app
        .platform(Method::POST, "/api/v1/platform/plans")
        .json(&json!({"plan": {"name": "default"}}))
        .send()
        .await
        .unwrap();
    let body = problem(dup, 409).await;
    assert_eq!(body["errors"][0]["field"], "name");

    let invalid = app
        .platform(Method::POST, "/api/v1/platform/plans")
        .json(&json!({"plan": {"name": "Big Plan", "limits": {"max_staff": -1}}}))
        .send()
        .await
        .unwrap();
    let body = problem(invalid, 422).await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["name", "limits.max_staff"]);

    let typo = app
        .platform(Method::POST, "/api/v1/platform/plans")
        .json(&json!({"plan": {"name": "x", "limits": {"max_prodcts": 5}}}))
        .send()
        .await
        .unwrap();
    let body = problem(typo, 422).await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("max_prodcts")
    );
    app.stop().await;
}

#[tokio::test]
async fn rate_quotas_above_one_a_microsecond_are_refused() {
    let app = spawn_app().await;

    let resp = app
        .platform(Method::POST, "/api/v1/platform/plans")
        .json(&json!({"plan": {"name": "huge", "limits": {"api_requests_per_minute": 60000001}}}))
        .send()
        .await
        .unwrap();

    let body = problem(resp, 422).await;
    assert_eq!(body["errors"][0]["field"], "limits.api_requests_per_minute");
    app.stop().await;
}
