//! Deals and coupons: pricing, caps that hold under concurrency, usage
//! given back on cancel, the public listing and staff input rules.

use std::collections::HashSet;

use chrono::{Duration, Utc};
use reqwest::Method;
use serde_json::{Value, json};
use storekeep_test_support::{TestApp, problem, spawn_app};

use crate::catalog_support::{body, create, create_category};
use crate::commerce_support::{
    Shop, cart_req, cart_with, checkout, checkout_body, create_deal, order_action, selling_shop,
};
use crate::identity::admin;

async fn deal_state(app: &TestApp, s: &Shop, id: &str) -> Value {
    let resp = admin(
        app,
        &s.slug,
        &s.token,
        Method::GET,
        &format!("/api/v1/admin/deals/{id}"),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
    body(resp).await["deal"].clone()
}

pub async fn cart_with_coupon(
    app: &TestApp,
    s: &Shop,
    qty: i64,
    code: &str,
) -> (String, String, Value) {
    let (cart, token) = cart_with(app, &s.slug, &[(&s.variant, qty)]).await;
    let resp = cart_req(
        app,
        &s.slug,
        &token,
        Method::PATCH,
        &format!("/api/v1/store/carts/{cart}"),
    )
    .json(&json!({"coupon_code": code}))
    .send()
    .await
    .unwrap();
    let status = resp.status();
    let c = body(resp).await["cart"].clone();
    assert_eq!(status, 200, "{c}");
    (cart, token, c)
}

/// Checks out every cart at once; returns the statuses and bodies.
async fn race(
    app: &TestApp,
    slug: &str,
    carts: Vec<(String, String)>,
    email: impl Fn(usize) -> String,
) -> Vec<(u16, Value)> {
    let mut tasks = Vec::new();
    for (i, (cart, token)) in carts.into_iter().enumerate() {
        let client = app.client.clone();
        let url = app.url(&format!("/api/v1/store/carts/{cart}/checkout"));
        let (slug, email) = (slug.to_owned(), email(i));
        tasks.push(tokio::spawn(async move {
            let resp = client
                .post(url)
                .header("x-tenant", slug)
                .header("x-cart-token", token)
                .header("idempotency-key", format!("race-{i}"))
                .json(&checkout_body(&email))
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.unwrap())
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

#[tokio::test]
async fn a_coupon_capped_at_five_uses_is_used_exactly_five_times_under_concurrency() {
    let app = spawn_app().await;
    let s = selling_shop(&app, "coupon", 10_000, 100).await;
    let deal = create_deal(
        &app,
        &s,
        json!({"name": "Five lucky buyers", "percent_off": 20, "applies_to": "order", "code": "lucky5", "max_uses": 5}),
    )
    .await;
    assert_eq!(deal["code"], "LUCKY5");
    let mut carts = Vec::new();
    for _ in 0..20 {
        let (cart, token, c) = cart_with_coupon(&app, &s, 1, "LUCKY5").await;
        assert_eq!(c["discount"]["amount"], 2000, "{c}");
        carts.push((cart, token));
    }
    let results = race(&app, "coupon", carts, |i| format!("b{i}@example.com")).await;
    // A checkout priced while the coupon still had room either gets it or
    // loses the race with a 409 naming the deal; one priced after it ran
    // out pays full price. Never more than five get the discount.
    let discounted = results
        .iter()
        .filter(|(st, b)| *st == 201 && b["order"]["discount"]["amount"] == 2000)
        .count();
    let full_price = results
        .iter()
        .filter(|(st, b)| *st == 201 && b["order"]["discount"]["amount"] == 0)
        .count();
    let lost = results
        .iter()
        .filter(|(st, b)| {
            *st == 409
                && b["errors"][0]["field"]
                    .as_str()
                    .unwrap()
                    .starts_with("deals[")
        })
        .count();
    assert_eq!(discounted, 5, "{results:?}");
    assert_eq!(discounted + full_price + lost, 20, "{results:?}");
    let d = deal_state(&app, &s, deal["id"].as_str().unwrap()).await;
    assert_eq!(d["uses"], 5);
    assert_eq!(d["state"], "sold_out");
    // Losers reserved nothing: one unit per created order.
    let created = results.iter().filter(|(st, _)| *st == 201).count();
    let resp = admin(
        &app,
        "coupon",
        &s.token,
        Method::GET,
        &format!("/api/v1/admin/products/{}", s.product),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(
        body(resp).await["product"]["variants"][0]["inventory"]["reserved"],
        created as i64
    );
}

#[tokio::test]
async fn a_flash_sale_sells_no_more_units_than_its_cap() {
    let app = spawn_app().await;
    let s = selling_shop(&app, "flash", 10_000, 100).await;
    let deal = create_deal(
        &app,
        &s,
        json!({"name": "Flash", "percent_off": 50, "applies_to": "products", "product_ids": [s.product], "max_units": 3}),
    )
    .await;
    let mut carts = Vec::new();
    for _ in 0..8 {
        carts.push(cart_with(&app, "flash", &[(&s.variant, 1)]).await);
    }
    let results = race(&app, "flash", carts, |i| format!("f{i}@example.com")).await;
    // Exactly three units go at the flash price; the other buyers either
    // lose the race (409 naming the deal) or, priced after the sale ran
    // out, pay full price.
    let discounted = results
        .iter()
        .filter(|(st, b)| *st == 201 && b["order"]["discount"]["amount"] == 5000)
        .count();
    assert_eq!(discounted, 3, "{results:?}");
    assert!(results.iter().all(|(st, b)| {
        (*st == 201 && [0, 5000].contains(&b["order"]["discount"]["amount"].as_i64().unwrap()))
            || (*st == 409
                && b["errors"][0]["field"]
                    .as_str()
                    .unwrap()
                    .starts_with("deals["))
    }));
    let d = deal_state(&app, &s, deal["id"].as_str().unwrap()).await;
    assert_eq!(d["units_sold"], 3);
    // Sold out: new carts are priced without it.
    let (cart, token) = cart_with(&app, "flash", &[(&s.variant, 1)]).await;
    let resp = cart_req(
        &app,
        "flash",
        &token,
        Method::GET,
        &format!("/api/v1/store/carts/{cart}"),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(body(resp).await["cart"]["discount"]["amount"], 0);
}

#[tokio::test]
async fn per_customer_caps_count_by_email_and_cancelling_gives_the_use_back() {
    let app = spawn_app().await;
    let s = selling_shop(&app, "percust", 1000, 100).await;
    let deal = create_deal(
        &app,
        &s,
        json!({"name": "Welcome", "amount_off": {"amount": 300, "currency": "USD"}, "applies_to": "order",
               "code": "WELCOME", "max_uses_per_customer": 1, "max_uses": 2}),
    )
    .await;
    let id = deal["id"].as_str().unwrap();
    let (c1, t1, _) = cart_with_coupon(&app, &s, 1, "welcome").await;
    let resp = checkout(
        &app,
        "percust",
        &c1,
        &t1,
        "a",
        &checkout_body("same@example.com"),
    )
    .await;
    assert_eq!(resp.status(), 201);
    let first = body(resp).await["order"].clone();
    assert_eq!(first["discount"]["amount"], 300);
    let (c2, t2, _) = cart_with_coupon(&app, &s, 1, "WELCOME").await;
    let p = problem(
        checkout(
            &app,
            "percust",
            &c2,
            &t2,
            "b",
            &checkout_body("Same@Example.com"),
        )
        .await,
        409,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], format!("deals[{id}]"));
    assert_eq!(deal_state(&app, &s, id).await["uses"], 1);

    // Cancelling the first order gives both the customer's and the global use back.
    assert_eq!(
        order_action(&app, &s, first["id"].as_str().unwrap(), "cancel")
            .await
            .status(),
        200
    );
    assert_eq!(deal_state(&app, &s, id).await["uses"], 0);
    let resp = checkout(
        &app,
        "percust",
        &c2,
        &t2,
        "b",
        &checkout_body("same@example.com"),
    )
    .await;
    assert_eq!(resp.status(), 201);
    let (c3, t3, _) = cart_with_coupon(&app, &s, 1, "WELCOME").await;
    let resp = checkout(
        &app,
        "percust",
        &c3,
        &t3,
        "c",
        &checkout_body("other@example.com"),
    )
    .await;
    assert_eq!(resp.status(), 201);
    assert_eq!(deal_state(&app, &s, id).await["uses"], 2);
}

#[tokio::test]
async fn category_deals_reach_subcategories_and_the_best_deal_wins_each_line() {
    let app = spawn_app().await;
    let s = selling_shop(&app, "cats", 10_000, 10).await;
    let parent = create_category(
        &app,
        "cats",
        &s.token,
        json!({"name": "Computers", "handle": "computers"}),
    )
    .await;
    let child = create_category(
        &app,
        "cats",
        &s.token,
        json!({"name": "Laptops", "handle": "laptops", "parent_id": parent["id"]}),
    )
    .await;
    let laptop = create(
        &app,
        "cats",
        &s.token,
        &json!({"product": {"title": "X1", "status": "active", "categories": [child["id"]],
            "variants": [{"sku": "cats-X1", "price": {"amount": 50_000, "currency": "USD"}, "inventory": 5}]}}),
    )
    .await;
    create_deal(&app, &s, json!({"name": "10% computers", "percent_off": 10, "applies_to": "categories", "category_ids": [parent["id"]]})).await;
    create_deal(&app, &s, json!({"name": "40 off X1", "amount_off": {"amount": 4_000, "currency": "USD"}, "applies_to": "products", "product_ids": [laptop["id"]]})).await;
    let (cart, token) = cart_with(
        &app,
        "cats",
        &[
            (laptop["variants"][0]["id"].as_str().unwrap(), 2),
            (&s.variant, 1),
        ],
    )
    .await;
    let resp = cart_req(
        &app,
        "cats",
        &token,
        Method::GET,
        &format!("/api/v1/store/carts/{cart}"),
    )
    .send()
    .await
    .unwrap();
    let c = body(resp).await["cart"].clone();
    let laptop_line = c["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["sku"] == "cats-X1")
        .unwrap();
    // 10 % of 500.00 = 50.00 per unit beats 40.00 off.
    assert_eq!(laptop_line["discount"]["amount"], 10_000);
    let other = c["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["sku"] != "cats-X1")
        .unwrap();
    assert_eq!(
        other["discount"]["amount"], 0,
        "the uncategorised product has no deal"
    );
    assert_eq!(c["discount"]["amount"], 10_000);
}

#[tokio::test]
async fn the_public_listing_shows_live_ending_and_upcoming_automatic_deals_only() {
    let app = spawn_app().await;
    let s = selling_shop(&app, "listing", 1000, 10).await;
    let now = Utc::now();
    let live = create_deal(
        &app,
        &s,
        json!({"name": "Live", "percent_off": 5, "applies_to": "order"}),
    )
    .await;
    let ending = create_deal(&app, &s, json!({"name": "Ending", "percent_off": 5, "applies_to": "order", "ends_at": now + Duration::hours(3)})).await;
    let soon = create_deal(&app, &s, json!({"name": "Soon", "percent_off": 5, "applies_to": "order", "starts_at": now + Duration::hours(5)})).await;
    create_deal(&app, &s, json!({"name": "Far", "percent_off": 5, "applies_to": "order", "starts_at": now + Duration::days(30)})).await;
    create_deal(&app, &s, json!({"name": "Over", "percent_off": 5, "applies_to": "order", "starts_at": now - Duration::days(2), "ends_at": now - Duration::days(1)})).await;
    create_deal(
        &app,
        &s,
        json!({"name": "Secret", "percent_off": 5, "applies_to": "order", "code": "SECRET"}),
    )
    .await;
    create_deal(
        &app,
        &s,
        json!({"name": "Off", "percent_off": 5, "applies_to": "order", "active": false}),
    )
    .await;
    let resp = app
        .shop("listing", Method::GET, "/api/v1/store/deals")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let l = body(resp).await;
    let names = |k: &str| -> HashSet<String> {
        l[k].as_array()
            .unwrap()
            .iter()
            .map(|d| d["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        names("active"),
        HashSet::from(["Live".to_owned(), "Ending".to_owned()])
    );
    assert_eq!(names("ending_soon"), HashSet::from(["Ending".to_owned()]));
    assert_eq!(names("starting_soon"), HashSet::from(["Soon".to_owned()]));
    assert!(
        !l.to_string().contains("SECRET"),
        "coupon codes are not published"
    );
    assert!(l["active"][0].get("uses").is_none());
    let _ = (live, ending, soon);
    let resp = app
        .shop("listing", Method::GET, "/api/v1/store/deals?soon_hours=0")
        .send()
        .await
        .unwrap();
    problem(resp, 400).await;
}

#[tokio::test]
async fn staff_deal_input_is_checked_field_by_field() {
    let app = spawn_app().await;
    let s = selling_shop(&app, "dealin", 1000, 10).await;
    let post = |deal: Value| {
        let app = &app;
        let s = &s;
        async move {
            admin(app, &s.slug, &s.token, Method::POST, "/api/v1/admin/deals")
                .json(&json!({ "deal": deal }))
                .send()
                .await
                .unwrap()
        }
    };
    let p = problem(
        post(json!({"name": "", "percent_off": 120, "applies_to": "products", "product_ids": [uuid::Uuid::now_v7()],
                    "starts_at": "2030-01-02T00:00:00Z", "ends_at": "2030-01-01T00:00:00Z",
                    "max_uses_per_customer": 1, "code": "a b"}))
        .await,
        422,
    )
    .await;
    let fields: HashSet<String> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect();
    for f in ["name", "percent_off", "product_ids", "ends_at", "code"] {
        assert!(fields.contains(f), "{f} missing: {p}");
    }
    let p = problem(post(json!({"name": "x", "percent_off": 5, "amount_off": {"amount": 1, "currency": "USD"}, "applies_to": "order"})).await, 422).await;
    assert_eq!(p["errors"][0]["field"], "percent_off");
    let p = problem(post(json!({"name": "x", "percent_off": 5, "applies_to": "order", "max_uses_per_customer": 1})).await, 422).await;
    assert_eq!(p["errors"][0]["field"], "max_uses_per_customer");
    let p = problem(post(json!({"name": "x", "amount_off": {"amount": 100, "currency": "EUR"}, "applies_to": "order"})).await, 422).await;
    assert_eq!(p["errors"][0]["field"], "amount_off");
    assert_eq!(
        post(json!({"name": "A", "percent_off": 5, "applies_to": "order", "code": "DUP"}))
            .await
            .status(),
        201
    );
    let p = problem(
        post(json!({"name": "B", "percent_off": 5, "applies_to": "order", "code": "dup"})).await,
        409,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "code");

    // Replace and delete; the audit log records both.
    let d = create_deal(
        &app,
        &s,
        json!({"name": "Temp", "percent_off": 5, "applies_to": "order"}),
    )
    .await;
    let id = d["id"].as_str().unwrap();
    let resp = admin(
        &app,
        "dealin",
        &s.token,
        Method::PUT,
        &format!("/api/v1/admin/deals/{id}"),
    )
    .json(&json!({"deal": {"name": "Temp 2", "percent_off": 7, "applies_to": "order"}}))
    .send()
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(body(resp).await["deal"]["percent_off"], 7);
    let resp = admin(
        &app,
        "dealin",
        &s.token,
        Method::DELETE,
        &format!("/api/v1/admin/deals/{id}"),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(resp.status(), 204);
    let resp = admin(
        &app,
        "dealin",
        &s.token,
        Method::GET,
        &format!("/api/v1/admin/deals/{id}"),
    )
    .send()
    .await
    .unwrap();
    problem(resp, 404).await;
    let resp = admin(
        &app,
        "dealin",
        &s.token,
        Method::GET,
        "/api/v1/admin/audit-log",
    )
    .send()
    .await
    .unwrap();
    let log = body(resp).await.to_string();
    assert!(log.contains("deal.update") && log.contains("deal.delete"));
}
