//! Helpers of the contract life-cycle tests: a plan and a unit through the
//! admin API, a contract through the cart, checkout and payment.

use reqwest::Method;
use serde_json::{Value, json};
use storekeep_test_support::TestApp;

use crate::commerce_support::{Shop, cart_req, checkout_body, order_action};
use crate::rentals_contract_support::rental_cart;
use crate::rentals_support::{call, ok, post_plan, post_unit};

/// A plan of the shop's variant: `fields` over a 3-month rent-to-own plan
/// at 50.00 a month, a 20.00 deposit, no fees or buy-out.
pub async fn plan(app: &TestApp, s: &Shop, fields: Value) -> String {
    let mut p = json!({
        "variant_id": s.variant, "name": "Laptop", "kind": "rent_to_own",
        "term": 3, "min_term": 1, "max_term": 3,
        "price_per_period": {"amount": 5_000, "currency": "USD"},
        "deposit": {"type": "fixed", "amount": 2_000},
    });
    for (k, v) in fields.as_object().unwrap() {
        p[k] = v.clone();
    }
    let b = ok(post_plan(app, &s.slug, &s.token, p).await, 201).await;
    b["rental_plan"]["id"].as_str().unwrap().to_owned()
}

/// One unit of the shop's variant, serial `serial`; its id.
pub async fn unit(app: &TestApp, s: &Shop, serial: &str) -> String {
    let u = json!({"variant_id": s.variant, "serial": serial});
    let b = ok(post_unit(app, &s.slug, &s.token, u).await, 201).await;
    b["rental_unit"]["id"].as_str().unwrap().to_owned()
}

/// Rents on `plan` (a guest checkout) and pays the order; the contract id.
pub async fn contract(app: &TestApp, s: &Shop, plan: &str) -> String {
    let item = json!({"variant_id": s.variant, "quantity": 1, "rental_plan_id": plan});
    let (status, b) = rental_cart(app, &s.slug, None, item).await;
    assert_eq!(status, 201, "{b}");
    let cart = &b["cart"];
    let resp = cart_req(
        app,
        &s.slug,
        cart["token"].as_str().unwrap(),
        Method::POST,
        &format!(
            "/api/v1/store/carts/{}/checkout",
            cart["id"].as_str().unwrap()
        ),
    )
    .header("idempotency-key", uuid::Uuid::now_v7().to_string())
    .json(&checkout_body("renter@example.com"))
    .send()
    .await
    .unwrap();
    let b = ok(resp, 201).await;
    let order = b["order"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        order_action(app, s, &order, "mark-paid").await.status(),
        200
    );
    let list = get(app, s, "/api/v1/admin/rental-contracts?limit=100").await;
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["order_id"] == json!(order))
        .expect("the order's contract")["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// An admin GET that must answer 200; its body.
pub async fn get(app: &TestApp, s: &Shop, path: &str) -> Value {
    ok(
        call(app, &s.slug, &s.token, Method::GET, path, None).await,
        200,
    )
    .await
}

/// An admin POST to `/api/v1/admin/rental-contracts/{id}/{action}`.
pub async fn act(app: &TestApp, s: &Shop, id: &str, action: &str, b: Value) -> reqwest::Response {
    let path = format!("/api/v1/admin/rental-contracts/{id}/{action}");
    call(app, &s.slug, &s.token, Method::POST, &path, Some(b)).await
}

/// The contract's payments as `(kind, amount)`, oldest first.
pub fn payments(c: &Value) -> Vec<(String, i64)> {
    c["payments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["kind"].as_str().unwrap().to_owned(),
                p["amount"]["amount"].as_i64().unwrap(),
            )
        })
        .collect()
}

/// Who wrote each of a unit's history rows, newest first.
pub async fn unit_actors(app: &TestApp, s: &Shop, id: &str) -> Vec<String> {
    let b = get(app, s, &format!("/api/v1/admin/rental-units/{id}")).await;
    b["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["actor"].as_str().unwrap_or("(none)").to_owned())
        .collect()
}

/// A unit's status and its history kinds, newest first.
pub async fn unit_state(app: &TestApp, s: &Shop, id: &str) -> (String, Vec<String>) {
    let b = get(app, s, &format!("/api/v1/admin/rental-units/{id}")).await;
    let kinds = b["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["kind"].as_str().unwrap().to_owned())
        .collect();
    (
        b["rental_unit"]["status"].as_str().unwrap().to_owned(),
        kinds,
    )
}
