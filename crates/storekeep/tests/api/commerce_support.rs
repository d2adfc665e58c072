//! Helpers for the selling tests: a shop with shipping and tax set up, a
//! stocked product, carts, checkouts, orders and deals through the API.

use reqwest::Method;
use serde_json::{Value, json};
use storekeep_test_support::TestApp;

use crate::catalog_support::{body, create, product_json, shop};
use crate::identity::admin;

/// A shop whose owner token is `token`, with one active product of one
/// variant priced `price` with `stock` units.
pub struct Shop {
    pub slug: String,
    pub token: String,
    pub product: String,
    pub variant: String,
}

/// Shipping: `standard` 5.00 everywhere, `express` 15.00 to the US only.
/// Tax: US 5 %, California 7.25 %.
pub fn settings(payment_timeout_secs: i64) -> Value {
    json!({"settings": {
        "currency": "USD",
        "shipping_methods": [
            {"code": "standard", "name": "Standard", "price": 500},
            {"code": "express", "name": "Express", "price": 1500, "countries": ["US"]}
        ],
        "tax_rates": [
            {"country": "US", "rate_bp": 500, "name": "US sales tax"},
            {"country": "US", "region": "CA", "rate_bp": 725, "name": "California"}
        ],
        "payment_timeout_secs": payment_timeout_secs
    }})
}

pub async fn set_settings(app: &TestApp, slug: &str, token: &str, settings: &Value) {
    let resp = admin(app, slug, token, Method::PATCH, "/api/v1/admin/settings")
        .json(settings)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let b = body(resp).await;
    assert_eq!(status, 200, "settings: {b}");
}

/// Lets the shop take the simulated `test` processor: test servers offer it,
/// but a shop accepts only `manual` until its settings say otherwise.
pub async fn accept_test_payments(app: &TestApp, s: &Shop) {
    let mut body = settings(1800);
    body["settings"]["payment_providers"] = json!(["manual", "test"]);
    set_settings(app, &s.slug, &s.token, &body).await;
}

pub async fn selling_shop(app: &TestApp, slug: &str, price: i64, stock: i64) -> Shop {
    let (token, _) = shop(app, slug, None).await;
    set_settings(app, slug, &token, &settings(1800)).await;
    let product = create(
        app,
        slug,
        &token,
        &product_json(
            "Refurbished ThinkPad",
            &[(&format!("{slug}-TP"), price, stock)],
        ),
    )
    .await;
    Shop {
        slug: slug.to_owned(),
        token,
        product: product["id"].as_str().unwrap().to_owned(),
        variant: product["variants"][0]["id"].as_str().unwrap().to_owned(),
    }
}

/// A guest cart holding `items`; returns (cart id, cart token).
pub async fn cart_with(app: &TestApp, slug: &str, items: &[(&str, i64)]) -> (String, String) {
    let items: Vec<Value> = items
        .iter()
        .map(|(v, q)| json!({"variant_id": v, "quantity": q}))
        .collect();
    let resp = app
        .shop(slug, Method::POST, "/api/v1/store/carts")
        .json(&json!({ "items": items }))
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let b = body(resp).await;
    assert_eq!(status, 201, "creating a cart: {b}");
    (
        b["cart"]["id"].as_str().unwrap().to_owned(),
        b["cart"]["token"].as_str().unwrap().to_owned(),
    )
}

pub fn cart_req(
    app: &TestApp,
    slug: &str,
    token: &str,
    method: Method,
    path: &str,
) -> reqwest::RequestBuilder {
    app.shop(slug, method, path).header("x-cart-token", token)
}

pub fn checkout_body(email: &str) -> Value {
    json!({
        "email": email,
        "shipping_address": {
            "name": "Ada Lovelace", "line1": "1 Analytical Way", "city": "San Francisco",
            "region": "CA", "postal_code": "94105", "country": "US"
        },
        "shipping_method": "standard",
        "payment_provider": "manual"
    })
}

pub async fn checkout(
    app: &TestApp,
    slug: &str,
    cart: &str,
    token: &str,
    key: &str,
    body: &Value,
) -> reqwest::Response {
    checkout_request(app, slug, cart, token, key, body)
        .send()
        .await
        .unwrap()
}

/// The request [`checkout`] sends, to send later (or from another task).
pub fn checkout_request(
    app: &TestApp,
    slug: &str,
    cart: &str,
    token: &str,
    key: &str,
    body: &Value,
) -> reqwest::RequestBuilder {
    cart_req(
        app,
        slug,
        token,
        Method::POST,
        &format!("/api/v1/store/carts/{cart}/checkout"),
    )
    .header("idempotency-key", key)
    .json(body)
}

/// Checks out a fresh cart of `qty` units and returns the order (201).
pub async fn order_of(app: &TestApp, s: &Shop, qty: i64) -> Value {
    let (cart, token) = cart_with(app, &s.slug, &[(&s.variant, qty)]).await;
    let resp = checkout(
        app,
        &s.slug,
        &cart,
        &token,
        &uuid::Uuid::now_v7().to_string(),
        &checkout_body("buyer@example.com"),
    )
    .await;
    let status = resp.status();
    let b = body(resp).await;
    assert_eq!(status, 201, "checkout: {b}");
    b["order"].clone()
}

/// The variant's stock as the admin API reports it: (on_hand, reserved).
pub async fn stock(app: &TestApp, s: &Shop) -> (i64, i64) {
    let resp = admin(
        app,
        &s.slug,
        &s.token,
        Method::GET,
        &format!("/api/v1/admin/products/{}", s.product),
    )
    .send()
    .await
    .unwrap();
    let b = body(resp).await;
    let inv = &b["product"]["variants"][0]["inventory"];
    (
        inv["on_hand"].as_i64().unwrap(),
        inv["reserved"].as_i64().unwrap(),
    )
}

/// Staff action on an order, e.g. `mark-paid`, `fulfil`, `cancel`.
pub async fn order_action(app: &TestApp, s: &Shop, order: &str, action: &str) -> reqwest::Response {
    admin(
        app,
        &s.slug,
        &s.token,
        Method::POST,
        &format!("/api/v1/admin/orders/{order}/{action}"),
    )
    .send()
    .await
    .unwrap()
}

pub async fn admin_order(app: &TestApp, s: &Shop, order: &str) -> Value {
    let resp = admin(
        app,
        &s.slug,
        &s.token,
        Method::GET,
        &format!("/api/v1/admin/orders/{order}"),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
    body(resp).await["order"].clone()
}

pub async fn create_deal(app: &TestApp, s: &Shop, deal: Value) -> Value {
    let resp = admin(app, &s.slug, &s.token, Method::POST, "/api/v1/admin/deals")
        .json(&json!({ "deal": deal }))
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let b = body(resp).await;
    assert_eq!(status, 201, "creating a deal: {b}");
    b["deal"].clone()
}

/// Topics of the shop's outbox events, oldest first.
pub async fn event_topics(app: &TestApp, s: &Shop) -> Vec<(String, Value)> {
    let resp = admin(
        app,
        &s.slug,
        &s.token,
        Method::GET,
        "/api/v1/admin/events?limit=200",
    )
    .send()
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
    body(resp).await["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["topic"].as_str().unwrap().to_owned(),
                e["payload"].clone(),
            )
        })
        .collect()
}
