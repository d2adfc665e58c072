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

async fn patch_plan(
    app: &storekeep_test_support::TestApp,
    name: &str,
    body: Value,
) -> reqwest::Response {
    app.platform(Method::PATCH, &format!("/api/v1/platform/plans/{name}"))
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn auth_limit(app: &storekeep_test_support::TestApp, slug: &str) -> String {
    let resp = app
        .shop(slug, Method::POST, "/api/v1/auth/login")
        .json(&json!({"email": "x@example.com", "password": "whatever it is"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    resp.headers()["ratelimit-limit"]
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn an_edited_plan_holds_every_shop_on_it_at_once() {
    let app = spawn_app().await;
    app.platform(Method::POST, "/api/v1/platform/plans")
        .json(&json!({"plan": {"name": "tight", "limits": {"auth_requests_per_minute": 4, "max_staff": 2}}}))
        .send()
        .await
        .unwrap();
    app.create_tenant("acme", json!({"plan": "tight"})).await;
    app.create_tenant("other", json!({})).await;
    assert_eq!(auth_limit(&app, "acme").await, "4");

    let resp = patch_plan(
        &app,
        "tight",
        json!({"plan": {"limits": {"auth_requests_per_minute": 9}}}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let plan: Value = resp.json().await.unwrap();
    assert_eq!(plan["plan"]["limits"]["auth_requests_per_minute"], 9);
    assert_eq!(
        plan["plan"]["limits"]["max_staff"], 2,
        "limits left out stay"
    );
    assert_eq!(auth_limit(&app, "acme").await, "9", "the shop on the plan");
    assert_eq!(
        auth_limit(&app, "other").await,
        "30",
        "a shop on another plan"
    );

    // Audited like a creation, with what it was and what it became.
    let log: Value = app
        .platform(Method::GET, "/api/v1/platform/audit-log")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let entry = &log["items"][0];
    assert_eq!(entry["action"], "plan.update", "{log}");
    assert_eq!(entry["target"], "plan:tight");
    assert_eq!(entry["before"]["limits"]["auth_requests_per_minute"], 4);
    assert_eq!(entry["after"]["limits"]["auth_requests_per_minute"], 9);
    assert_eq!(entry["actor"], "platform_token");
    let entries = log["items"].as_array().unwrap().len();

    // Refusals change nothing.
    problem(
        patch_plan(&app, "nope", json!({"plan": {"limits": {"max_staff": 1}}})).await,
        404,
    )
    .await;
    // A patch naming no limit (left out or null) changes nothing, audits
    // nothing, and answers the plan as it is.
    for empty in [
        json!({"plan": {}}),
        json!({"plan": {"limits": {"max_staff": null}}}),
    ] {
        let resp = patch_plan(&app, "tight", empty).await;
        assert_eq!(resp.status(), 200);
        let same: Value = resp.json().await.unwrap();
        assert_eq!(same["plan"]["limits"]["auth_requests_per_minute"], 9);
        assert_eq!(same["plan"]["limits"]["max_staff"], 2);
    }
    let log: Value = app
        .platform(Method::GET, "/api/v1/platform/audit-log")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        log["items"].as_array().unwrap().len(),
        entries,
        "an empty patch is not audited"
    );
    let p = problem(
        patch_plan(
            &app,
            "tight",
            json!({"plan": {"limits": {"max_staff": -1, "auth_requests_per_minute": 60000001}}}),
        )
        .await,
        422,
    )
    .await;
    let fields: Vec<&str> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["limits.max_staff", "limits.auth_requests_per_minute"]
    );
    problem(
        patch_plan(
            &app,
            "tight",
            json!({"plan": {"limits": {"max_stafff": 1}}}),
        )
        .await,
        422,
    )
    .await;
    let anonymous = app
        .request(Method::PATCH, "/api/v1/platform/plans/tight")
        .json(&json!({"plan": {"limits": {"max_staff": 100}}}))
        .send()
        .await
        .unwrap();
    problem(anonymous, 401).await;
    assert_eq!(auth_limit(&app, "acme").await, "9");
    app.stop().await;
}

#[tokio::test]
async fn the_default_plan_is_editable_for_shops_platform_routes_and_new_plans() {
    let app = spawn_app().await;
    app.create_tenant("existing", json!({})).await;
    let resp = patch_plan(
        &app,
        "default",
        json!({"plan": {"limits": {"auth_requests_per_minute": 5, "admin_requests_per_minute": 7, "max_staff": 3}}}),
    )
    .await;
    assert_eq!(resp.status(), 200);

    // Shops on it, old and new, and routes that address no shop.
    assert_eq!(auth_limit(&app, "existing").await, "5");
    app.create_tenant("fresh", json!({})).await;
    assert_eq!(auth_limit(&app, "fresh").await, "5");
    let platform = app
        .platform(Method::GET, "/api/v1/platform/plans")
        .send()
        .await
        .unwrap();
    assert_eq!(platform.headers()["ratelimit-limit"], "7");
    // A new plan's missing limits come from the default as it is now.
    let created: Value = app
        .platform(Method::POST, "/api/v1/platform/plans")
        .json(&json!({"plan": {"name": "later"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(created["plan"]["limits"]["max_staff"], 3);
    assert_eq!(created["plan"]["limits"]["auth_requests_per_minute"], 5);
    app.stop().await;
}
