//! Helpers of the rental plan and unit tests: a shop with a two-variant
//! product, plan and unit requests through the admin API.

use reqwest::Method;
use serde_json::{Value, json};
use storekeep_test_support::TestApp;

use crate::catalog_support::{body, create, product_json, shop};
use crate::identity::admin;

pub async fn call(
    app: &TestApp,
    slug: &str,
    tok: &str,
    method: Method,
    path: &str,
    payload: Option<Value>,
) -> reqwest::Response {
    let mut r = admin(app, slug, tok, method, path);
    if let Some(p) = payload {
        r = r.json(&p);
    }
    r.send().await.unwrap()
}

pub async fn ok(resp: reqwest::Response, status: u16) -> Value {
    let got = resp.status().as_u16();
    let b = body(resp).await;
    assert_eq!(got, status, "{b}");
    b
}

pub fn plan(variant: &str) -> Value {
    json!({
        "variant_id": variant, "name": "  Laptop, rent to own  ", "kind": "rent_to_own",
        "term": 12, "min_term": 6, "max_term": 24,
        "price_per_period": {"amount": 4_900, "currency": "USD"},
        "deposit": {"type": "percent", "bps": 1_000},
        "late_fee": {"type": "fixed", "amount": 500, "grace_days": 5},
        "buyout": {"type": "cash_price_minus_rent", "bps": 5_000},
        "extension_allowed": true
    })
}

/// A shop with a two-variant product; its owner's token and the variant ids.
pub async fn rental_shop(app: &TestApp, slug: &str) -> (String, Value, Vec<String>) {
    let (tok, _) = shop(app, slug, None).await;
    let product = create(
        app,
        slug,
        &tok,
        &product_json(
            "Refurbished laptop",
            &[("LAP-8", 90_000, 3), ("LAP-16", 120_000, 3)],
        ),
    )
    .await;
    let variants = product["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_owned())
        .collect();
    (tok, product, variants)
}

pub async fn post_plan(app: &TestApp, slug: &str, tok: &str, p: Value) -> reqwest::Response {
    let payload = json!({ "rental_plan": p });
    call(
        app,
        slug,
        tok,
        Method::POST,
        "/api/v1/admin/rental-plans",
        Some(payload),
    )
    .await
}

pub async fn post_unit(app: &TestApp, slug: &str, tok: &str, u: Value) -> reqwest::Response {
    let payload = json!({ "rental_unit": u });
    call(
        app,
        slug,
        tok,
        Method::POST,
        "/api/v1/admin/rental-units",
        Some(payload),
    )
    .await
}

pub async fn move_unit(
    app: &TestApp,
    slug: &str,
    tok: &str,
    id: &str,
    to: Value,
) -> reqwest::Response {
    let path = format!("/api/v1/admin/rental-units/{id}/status");
    call(app, slug, tok, Method::POST, &path, Some(to)).await
}

pub fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap().to_owned())
        .collect()
}
