//! Carts and checkout through the storefront API: totals from the pricing
//! engine, atomic reservations that never oversell, idempotency keys.

use std::collections::HashSet;

use reqwest::Method;
use serde_json::{Value, json};
use storekeep_test_support::{problem, spawn_app};

use crate::catalog_support::{body, create, product_json};
use crate::commerce_support::{
    cart_req, cart_with, checkout, checkout_body, checkout_request, create_deal, order_of,
    selling_shop, stock,
};
use crate::identity::{admin, customer_token, register};

#[tokio::test]
async fn a_cart_is_priced_with_shipping_and_regional_tax_and_reachable_only_by_its_token() {
    let app = spawn_app().await;
    let s = selling_shop(&app, "cartshop", 1999, 10).await;
    let (cart, token) = cart_with(&app, "cartshop", &[(&s.variant, 2)]).await;

    // Without the token (or with another) the cart does not exist.
    let resp = app
        .shop(
            "cartshop",
            Method::GET,
            &format!("/api/v1/store/carts/{cart}"),
        )
        .send()
        .await
        .unwrap();
    problem(resp, 404).await;
    let resp = cart_req(
        &app,
        "cartshop",
        "skc_wrong",
        Method::GET,
        &format!("/api/v1/store/carts/{cart}"),
    )
    .send()
    .await
    .unwrap();
    problem(resp, 404).await;

    let resp = cart_req(
        &app,
        "cartshop",
        &token,
        Method::PATCH,
        &format!("/api/v1/store/carts/{cart}"),
    )
    .json(&json!({"shipping_method": "standard", "country": "us", "region": "ca"}))
    .send()
    .await
    .unwrap();
    let status = resp.status();
    let c = body(resp).await["cart"].clone();
    assert_eq!(status, 200, "{c}");
    assert!(c.get("token").is_none(), "the token is shown only once");
    assert_eq!(c["subtotal"]["amount"], 3998);
    assert_eq!(c["shipping"]["amount"], 500);
    // 7.25 % of 39.98 = 2.89855 → 2.90 (California beats the US rate).
    assert_eq!(c["tax"]["amount"], 290);
    assert_eq!(c["total"]["amount"], 3998 + 500 + 290);
    assert_eq!(c["total"]["currency"], "USD");

    // Change the quantity and remove the line through the item id.
    let item = c["items"][0]["id"].as_str().unwrap().to_owned();
    let resp = cart_req(
        &app,
        "cartshop",
        &token,
        Method::PATCH,
        &format!("/api/v1/store/carts/{cart}/items/{item}"),
    )
    .json(&json!({"quantity": 1}))
    .send()
    .await
    .unwrap();
    assert_eq!(body(resp).await["cart"]["subtotal"]["amount"], 1999);
    let resp = cart_req(
        &app,
        "cartshop",
        &token,
        Method::DELETE,
        &format!("/api/v1/store/carts/{cart}/items/{item}"),
    )
    .send()
    .await
    .unwrap();
    let c = body(resp).await["cart"].clone();
    assert_eq!(c["items"].as_array().unwrap().len(), 0);
    assert_eq!(
        c["total"]["amount"], 0,
        "an empty cart costs nothing, not even shipping"
    );

    // Bad input: unknown variant, zero quantity, unknown shipping method.
    let resp = cart_req(
        &app,
        "cartshop",
        &token,
        Method::POST,
        &format!("/api/v1/store/carts/{cart}/items"),
    )
    .json(&json!({"variant_id": uuid::Uuid::now_v7(), "quantity": 1}))
    .send()
    .await
    .unwrap();
    let p = problem(resp, 422).await;
    assert_eq!(p["errors"][0]["field"], "variant_id");
    let resp = cart_req(
        &app,
        "cartshop",
        &token,
        Method::POST,
        &format!("/api/v1/store/carts/{cart}/items"),
    )
    .json(&json!({"variant_id": s.variant, "quantity": 0}))
    .send()
    .await
    .unwrap();
    problem(resp, 422).await;
    let resp = cart_req(
        &app,
        "cartshop",
        &token,
        Method::PATCH,
        &format!("/api/v1/store/carts/{cart}"),
    )
    .json(&json!({"shipping_method": "teleport"}))
    .send()
    .await
    .unwrap();
    let p = problem(resp, 422).await;
    assert_eq!(p["errors"][0]["field"], "shipping_method");
}

#[tokio::test]
async fn a_customers_cart_is_theirs_by_session_and_not_another_shops() {
    let app = spawn_app().await;
    let s = selling_shop(&app, "custcart", 1000, 5).await;
    selling_shop(&app, "othercart", 1000, 5).await;
    assert_eq!(
        register(&app, "custcart", "ann@example.com").await.status(),
        201
    );
    let ann = customer_token(&app, "custcart", "ann@example.com").await;
    let resp = app
        .shop("custcart", Method::POST, "/api/v1/store/carts")
        .bearer_auth(&ann)
        .json(&json!({"items": [{"variant_id": s.variant, "quantity": 1}]}))
        .send()
        .await
        .unwrap();
    let c = body(resp).await["cart"].clone();
    let cart = c["id"].as_str().unwrap();
    assert!(c["customer_id"].is_string());
    // Her session opens it without the token...
    let resp = app
        .shop(
            "custcart",
            Method::GET,
            &format!("/api/v1/store/carts/{cart}"),
        )
        .bearer_auth(&ann)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // ...but another shop, even with the token, does not know it.
    let resp = cart_req(
        &app,
        "othercart",
        c["token"].as_str().unwrap(),
        Method::GET,
        &format!("/api/v1/store/carts/{cart}"),
    )
    .send()
    .await
    .unwrap();
    problem(resp, 404).await;
}

#[tokio::test]
async fn checkout_reserves_stock_records_the_order_and_closes_the_cart() {
    let app = spawn_app().await;
    let s = selling_shop(&app, "co", 2500, 5).await;
    let (cart, token) = cart_with(&app, "co", &[(&s.variant, 2)]).await;
    let resp = checkout(
        &app,
        "co",
        &cart,
        &token,
        "key-1",
        &checkout_body("Ada@Example.com"),
    )
    .await;
    assert_eq!(resp.status(), 201);
    assert!(resp.headers().get("idempotent-replayed").is_none());
    let order = body(resp).await["order"].clone();
    assert_eq!(order["status"], "pending_payment");
    assert_eq!(order["email"], "ada@example.com");
    assert_eq!(order["shipping_address"]["city"], "San Francisco");
    assert_eq!(order["lines"][0]["quantity"], 2);
    assert_eq!(order["subtotal"]["amount"], 5000);
    assert_eq!(order["tax"]["amount"], 363); // 7.25 % of 50.00 = 3.625 → 3.63
    assert_eq!(order["total"]["amount"], 5000 + 500 + 363);
    assert_eq!(order["transitions"][0]["to"], "pending_payment");
    assert_eq!(order["transitions"][0]["actor"], "guest");
    assert_eq!(order["payments"][0]["status"], "pending");
    assert_eq!(order["payments"][0]["provider"], "manual");
    assert!(order["expires_at"].is_string());
    assert_eq!(stock(&app, &s).await, (5, 2));

    // The guest reads the order with the cart's token.
    let id = order["id"].as_str().unwrap();
    let resp = cart_req(
        &app,
        "co",
        &token,
        Method::GET,
        &format!("/api/v1/store/orders/{id}"),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
    let resp = app
        .shop("co", Method::GET, &format!("/api/v1/store/orders/{id}"))
        .send()
        .await
        .unwrap();
    problem(resp, 404).await;

    // The cart is closed: edits are refused; a new key on it is a 409.
    let resp = cart_req(
        &app,
        "co",
        &token,
        Method::POST,
        &format!("/api/v1/store/carts/{cart}/items"),
    )
    .json(&json!({"variant_id": s.variant, "quantity": 1}))
    .send()
    .await
    .unwrap();
    problem(resp, 409).await;
    let resp = checkout(
        &app,
        "co",
        &cart,
        &token,
        "key-2",
        &checkout_body("ada@example.com"),
    )
    .await;
    problem(resp, 409).await;
    assert_eq!(stock(&app, &s).await, (5, 2), "nothing more was reserved");
}

#[tokio::test]
async fn checkout_refuses_bad_input_and_a_missing_key_without_writing() {
    let app = spawn_app().await;
    let s = selling_shop(&app, "bad", 1000, 3).await;
    let (cart, token) = cart_with(&app, "bad", &[(&s.variant, 1)]).await;
    let path = format!("/api/v1/store/carts/{cart}/checkout");
    let resp = cart_req(&app, "bad", &token, Method::POST, &path)
        .json(&checkout_body("a@example.com"))
        .send()
        .await
        .unwrap();
    let p = problem(resp, 422).await;
    assert_eq!(p["errors"][0]["field"], "Idempotency-Key");

    let mut b = checkout_body("not-an-email");
    b["shipping_method"] = json!("express");
    b["shipping_address"]["country"] = json!("DE");
    b["payment_provider"] = json!("bitcoin");
    b["shipping_address"]["name"] = json!("");
    let p = problem(checkout(&app, "bad", &cart, &token, "k", &b).await, 422).await;
    let fields: HashSet<String> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect();
    for f in [
        "email",
        "shipping_method",
        "payment_provider",
        "shipping_address.name",
    ] {
        assert!(fields.contains(f), "{f} missing from {p}");
    }
    // An empty cart cannot be checked out.
    let resp = app
        .shop("bad", Method::POST, "/api/v1/store/carts")
        .send()
        .await
        .unwrap();
    let c = body(resp).await["cart"].clone();
    let resp = checkout(
        &app,
        "bad",
        c["id"].as_str().unwrap(),
        c["token"].as_str().unwrap(),
        "k2",
        &checkout_body("a@example.com"),
    )
    .await;
    problem(resp, 409).await;
    assert_eq!(stock(&app, &s).await, (3, 0));
    // The same key with the first (valid) body still works: nothing was
    // remembered for the refused attempt.
    let resp = checkout(
        &app,
        "bad",
        &cart,
        &token,
        "k",
        &checkout_body("a@example.com"),
    )
    .await;
    assert_eq!(resp.status(), 201);
}

#[tokio::test]
async fn a_checkout_short_of_stock_names_every_short_line_and_writes_nothing() {
    let app = spawn_app().await;
    let s = selling_shop(&app, "short", 1000, 2).await;
    let other = create(
        &app,
        "short",
        &s.token,
        &product_json("Dock", &[("short-DOCK", 500, 1)]),
    )
    .await;
    let dock = other["variants"][0]["id"].as_str().unwrap();
    let (cart, token) = cart_with(&app, "short", &[(&s.variant, 3), (dock, 1)]).await;
    let p = problem(
        checkout(
            &app,
            "short",
            &cart,
            &token,
            "k",
            &checkout_body("a@example.com"),
        )
        .await,
        409,
    )
    .await;
    let errors = p["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "only the short line is named: {p}");
    assert_eq!(errors[0]["field"], format!("items[{}]", s.variant));
    assert!(
        errors[0]["message"]
            .as_str()
            .unwrap()
            .contains("3 requested, 2 available")
    );
    assert_eq!(stock(&app, &s).await, (2, 0));
    // The dock was not reserved either (all or nothing).
    let resp = admin(
        &app,
        "short",
        &s.token,
        Method::GET,
        &format!("/api/v1/admin/products/{}", other["id"].as_str().unwrap()),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(
        body(resp).await["product"]["variants"][0]["inventory"]["reserved"],
        0
    );
    // The cart is still open: lower the quantity and it goes through.
    let item = {
        let resp = cart_req(
            &app,
            "short",
            &token,
            Method::GET,
            &format!("/api/v1/store/carts/{cart}"),
        )
        .send()
        .await
        .unwrap();
        body(resp).await["cart"]["items"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let resp = cart_req(
        &app,
        "short",
        &token,
        Method::PATCH,
        &format!("/api/v1/store/carts/{cart}/items/{item}"),
    )
    .json(&json!({"quantity": 2}))
    .send()
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
    let resp = checkout(
        &app,
        "short",
        &cart,
        &token,
        "k",
        &checkout_body("a@example.com"),
    )
    .await;
    assert_eq!(resp.status(), 201);
    assert_eq!(stock(&app, &s).await, (2, 2));
    let admin_list = admin(&app, "short", &s.token, Method::GET, "/api/v1/admin/orders")
        .send()
        .await
        .unwrap();
    assert_eq!(body(admin_list).await["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn sixty_four_buyers_racing_for_ten_units_make_ten_orders_and_fifty_four_conflicts() {
    let app = spawn_app().await;
    let s = selling_shop(&app, "race", 4900, 10).await;
    let mut carts = Vec::new();
    for _ in 0..64 {
        carts.push(cart_with(&app, "race", &[(&s.variant, 1)]).await);
    }
    let mut tasks = Vec::new();
    for (i, (cart, token)) in carts.into_iter().enumerate() {
        let client = app.client.clone();
        let url = app.url(&format!("/api/v1/store/carts/{cart}/checkout"));
        tasks.push(tokio::spawn(async move {
            let resp = client
                .post(url)
                .header("x-tenant", "race")
                .header("x-cart-token", token)
                .header("idempotency-key", format!("buyer-{i}"))
                .json(&checkout_body(&format!("buyer{i}@example.com")))
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            let b: Value = resp.json().await.unwrap();
            (status, b)
        }));
    }
    let mut created = 0;
    let mut refused = 0;
    for t in tasks {
        let (status, b) = t.await.unwrap();
        match status {
            201 => created += 1,
            409 => {
                assert_eq!(
                    b["errors"][0]["field"],
                    format!("items[{}]", s.variant),
                    "{b}"
                );
                refused += 1;
            }
            other => panic!("unexpected {other}: {b}"),
        }
    }
    assert_eq!((created, refused), (10, 54));
    assert_eq!(stock(&app, &s).await, (10, 10));
    let resp = admin(
        &app,
        "race",
        &s.token,
        Method::GET,
        "/api/v1/admin/orders?limit=100",
    )
    .send()
    .await
    .unwrap();
    assert_eq!(body(resp).await["items"].as_array().unwrap().len(), 10);
    // The storefront no longer offers the product as in stock.
    let resp = app
        .shop(
            "race",
            Method::GET,
            &format!("/api/v1/store/products/{}", s.product),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        body(resp).await["product"]["variants"][0]["inventory"]["available"],
        0
    );
}

#[tokio::test]
async fn concurrent_retries_with_one_key_create_one_order_and_a_changed_body_is_refused() {
    let app = spawn_app().await;
    let s = selling_shop(&app, "idem", 1500, 50).await;
    let (cart, token) = cart_with(&app, "idem", &[(&s.variant, 1)]).await;
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let client = app.client.clone();
        let url = app.url(&format!("/api/v1/store/carts/{cart}/checkout"));
        let token = token.clone();
        tasks.push(tokio::spawn(async move {
            let resp = client
                .post(url)
                .header("x-tenant", "idem")
                .header("x-cart-token", token)
                .header("idempotency-key", "one-key")
                .json(&checkout_body("a@example.com"))
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            let replayed = resp.headers().get("idempotent-replayed").is_some();
            let b: Value = resp.json().await.unwrap();
            (status, replayed, b)
        }));
    }
    let mut ids = HashSet::new();
    let mut fresh = 0;
    for t in tasks {
        let (status, replayed, b) = t.await.unwrap();
        assert_eq!(status, 201, "{b}");
        if !replayed {
            fresh += 1;
        }
        ids.insert(b["order"]["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids.len(), 1, "every retry answers with the same order");
    assert_eq!(fresh, 1, "exactly one response created it");
    assert_eq!(stock(&app, &s).await, (50, 1));

    let mut other = checkout_body("a@example.com");
    other["shipping_method"] = json!("express");
    let p = problem(
        checkout(&app, "idem", &cart, &token, "one-key", &other).await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "Idempotency-Key");
    let resp = admin(&app, "idem", &s.token, Method::GET, "/api/v1/admin/orders")
        .send()
        .await
        .unwrap();
    assert_eq!(body(resp).await["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn customers_see_only_their_own_orders() {
    let app = spawn_app().await;
    let s = selling_shop(&app, "mine", 1000, 10).await;
    let guest_order = order_of(&app, &s, 1).await;
    for email in ["ann@example.com", "bob@example.com"] {
        assert_eq!(register(&app, "mine", email).await.status(), 201);
    }
    let ann = customer_token(&app, "mine", "ann@example.com").await;
    let bob = customer_token(&app, "mine", "bob@example.com").await;
    let resp = app
        .shop("mine", Method::POST, "/api/v1/store/carts")
        .bearer_auth(&ann)
        .json(&json!({"items": [{"variant_id": s.variant, "quantity": 1}]}))
        .send()
        .await
        .unwrap();
    let cart = body(resp).await["cart"]["id"].as_str().unwrap().to_owned();
    let resp = app
        .shop(
            "mine",
            Method::POST,
            &format!("/api/v1/store/carts/{cart}/checkout"),
        )
        .bearer_auth(&ann)
        .header("idempotency-key", "ann-1")
        .json(&checkout_body("ann@example.com"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let ann_order = body(resp).await["order"].clone();
    assert!(
        ann_order["transitions"][0]["actor"]
            .as_str()
            .unwrap()
            .starts_with("customer:")
    );

    let list = |t: String| {
        let app = &app;
        async move {
            let resp = app
                .shop("mine", Method::GET, "/api/v1/store/orders")
                .bearer_auth(t)
                .send()
                .await
                .unwrap();
            body(resp).await["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        list(ann.clone()).await,
        vec![ann_order["id"].as_str().unwrap().to_owned()]
    );
    assert!(list(bob.clone()).await.is_empty());
    for (who, id) in [(&bob, &ann_order["id"]), (&ann, &guest_order["id"])] {
        let resp = app
            .shop(
                "mine",
                Method::GET,
                &format!("/api/v1/store/orders/{}", id.as_str().unwrap()),
            )
            .bearer_auth(who)
            .send()
            .await
            .unwrap();
        problem(resp, 404).await;
    }
    let resp = app
        .shop("mine", Method::GET, "/api/v1/store/orders")
        .send()
        .await
        .unwrap();
    problem(resp, 401).await;
}

#[tokio::test]
async fn a_refused_cart_creation_writes_nothing_and_a_replay_survives_an_archived_product() {
    let app = spawn_app().await;
    let s = selling_shop(&app, "nopartial", 1000, 10).await;
    // Two lines of one variant add up past the per-line limit: refused whole.
    let resp = app
        .shop("nopartial", Method::POST, "/api/v1/store/carts")
        .json(&json!({"items": [
            {"variant_id": s.variant, "quantity": 600},
            {"variant_id": s.variant, "quantity": 600}
        ]}))
        .send()
        .await
        .unwrap();
    let p = problem(resp, 422).await;
    assert_eq!(p["errors"][0]["field"], "items");

    // A checkout, then the product leaves the storefront: the retry with the
    // same key still answers with the order instead of "the cart is empty".
    let (cart, token) = cart_with(&app, "nopartial", &[(&s.variant, 1)]).await;
    let first = checkout(
        &app,
        "nopartial",
        &cart,
        &token,
        "k1",
        &checkout_body("a@example.com"),
    )
    .await;
    assert_eq!(first.status(), 201);
    let id = body(first).await["order"]["id"].clone();
    crate::catalog_support::patch_product(
        &app,
        "nopartial",
        &s.token,
        &s.product,
        json!({"status": "archived"}),
    )
    .await;
    let again = checkout(
        &app,
        "nopartial",
        &cart,
        &token,
        "k1",
        &checkout_body("a@example.com"),
    )
    .await;
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(body(again).await["order"]["id"], id);
}

/// One concurrent checkout; its task answers (status, replayed, body).
fn racing_checkout(
    app: &storekeep_test_support::TestApp,
    slug: &str,
    cart: &str,
    token: &str,
    key: &str,
    email: &str,
) -> tokio::task::JoinHandle<(u16, bool, Value)> {
    let request = checkout_request(app, slug, cart, token, key, &checkout_body(email));
    tokio::spawn(async move {
        let resp = request.send().await.unwrap();
        let status = resp.status().as_u16();
        let replayed = resp.headers().get("idempotent-replayed").is_some();
        (status, replayed, resp.json().await.unwrap())
    })
}

/// On PostgreSQL plain checkouts are committed in batches of whatever has
/// queued up (`commerce/batch.rs`), on SQLite by the group-commit writer.
/// A burst of them across two shops, with every case a batch must set
/// aside mixed in (a scarce product, retries with one key, one cart
/// checked out twice with two keys), ends exactly as one checkout at a
/// time would: no oversell, one order per cart, every retry answered with
/// its first order.
#[tokio::test]
async fn a_burst_of_checkouts_across_shops_ends_as_one_at_a_time_would() {
    let app = spawn_app().await;
    let scarce = selling_shop(&app, "scarce", 900, 5).await;
    let plenty = selling_shop(&app, "plenty", 1200, 100).await;
    let mut buyers = Vec::new();
    for _ in 0..16 {
        buyers.push(cart_with(&app, "scarce", &[(&scarce.variant, 1)]).await);
    }
    let mut retried = Vec::new();
    for _ in 0..8 {
        retried.push(cart_with(&app, "plenty", &[(&plenty.variant, 1)]).await);
    }
    let mut doubled = Vec::new();
    for _ in 0..4 {
        doubled.push(cart_with(&app, "plenty", &[(&plenty.variant, 1)]).await);
    }
    let before = batch_figures(&app).await;

    let mut scarce_tasks = Vec::new();
    let mut retry_tasks = Vec::new();
    let mut double_tasks = Vec::new();
    for round in 0..2 {
        for (i, (cart, token)) in buyers.iter().enumerate() {
            if round == 0 {
                let t = racing_checkout(&app, "scarce", cart, token, &format!("s{i}"), "s@x.io");
                scarce_tasks.push(t);
            }
        }
        for (i, (cart, token)) in retried.iter().enumerate() {
            let t = racing_checkout(&app, "plenty", cart, token, &format!("r{i}"), "r@x.io");
            retry_tasks.push((i, t));
        }
        for (i, (cart, token)) in doubled.iter().enumerate() {
            let key = format!("d{i}-{round}");
            let t = racing_checkout(&app, "plenty", cart, token, &key, "d@x.io");
            double_tasks.push((i, t));
        }
    }

    let mut created = 0;
    for t in scarce_tasks {
        let (status, _, b) = t.await.unwrap();
        match status {
            201 => created += 1,
            409 => assert_eq!(
                b["errors"][0]["field"],
                format!("items[{}]", scarce.variant)
            ),
            other => panic!("unexpected {other}: {b}"),
        }
    }
    assert_eq!(created, 5, "the scarce product sells out, never over");
    assert_eq!(stock(&app, &scarce).await, (5, 5));

    let mut orders_of_retries = vec![HashSet::new(); retried.len()];
    let mut fresh = 0;
    for (i, t) in retry_tasks {
        let (status, replayed, b) = t.await.unwrap();
        assert_eq!(status, 201, "{b}");
        fresh += usize::from(!replayed);
        orders_of_retries[i].insert(b["order"]["id"].as_str().unwrap().to_owned());
    }
    assert!(
        orders_of_retries.iter().all(|ids| ids.len() == 1),
        "{orders_of_retries:?}"
    );
    assert_eq!(
        fresh,
        retried.len(),
        "each retried cart's order is created once"
    );

    let mut outcomes = vec![Vec::new(); doubled.len()];
    for (i, t) in double_tasks {
        let (status, _, b) = t.await.unwrap();
        if status == 409 {
            assert_eq!(b["errors"][0]["field"], "cart", "{b}");
        }
        outcomes[i].push(status);
    }
    for o in &mut outcomes {
        o.sort_unstable();
        assert_eq!(o, &[201, 409], "one cart, two keys: one order");
    }
    assert_eq!(stock(&app, &plenty).await, (100, 12));

    for (shop, orders) in [(&scarce, 5), (&plenty, 12)] {
        let resp = admin(
            &app,
            &shop.slug,
            &shop.token,
            Method::GET,
            "/api/v1/admin/orders?limit=100",
        )
        .send()
        .await
        .unwrap();
        assert_eq!(body(resp).await["items"].as_array().unwrap().len(), orders);
    }
    // The burst went through batches: more checkouts committed than
    // batches that committed them.
    let after = batch_figures(&app).await;
    let [batches, batched, alone, failed] = [0, 1, 2, 3].map(|i| after[i] - before[i]);
    assert!(batches >= 1.0, "no batch committed");
    if storekeep_test_support::on_postgres() {
        // Every checkout was answered once, by a batch or alone.
        assert_eq!(batched + alone, 40.0);
        // Of each of the 8 retries and the 4 carts checked out with two
        // keys, one request is always set aside and answered alone (with
        // no failed batch, the second one). A batch that waited past its
        // lock timeout (a starved machine) sends its checkouts, created
        // or not, to run alone too.
        assert!(
            alone >= 12.0,
            "{failed} failed batches, {batched} batched, {alone} alone"
        );
        if failed == 0.0 {
            // A batch creates the 17 orders (5 + 8 + 4). Of the 11
            // scarce refusals, it answers those whose own line finds the
            // product sold out under its lock (`refused_alone`); one
            // short only behind its batch's others runs alone. Which
            // way each goes depends on how the burst fell into batches.
            let refusals_batched = batched - 17.0;
            assert!(
                (0.0..=11.0).contains(&refusals_batched),
                "{batched} batched, {alone} alone"
            );
        }
    } else {
        // SQLite's group commit answers every checkout in its batch.
        assert_eq!((batched, alone, failed), (40.0, 0.0, 0.0));
    }
}

/// On PostgreSQL the reads before a checkout (the cart, its prices, the
/// shop's live deals) are gathered into one statement per batch of
/// whatever has queued up (`commerce/to_price_reads.rs`). Checkouts made
/// at once in two shops, one with a live deal and one whose deal has not
/// started, with requests for one shop's carts through the other mixed
/// in, are each priced as a lone checkout of its own shop is: the same
/// totals and discounts, and another shop's cart is not found.
#[tokio::test]
async fn checkouts_read_at_once_price_each_cart_by_its_own_shop_and_its_deals() {
    let app = spawn_app().await;
    let cheap = selling_shop(&app, "cheap", 1000, 100).await;
    let dear = selling_shop(&app, "dear", 2500, 100).await;
    create_deal(
        &app,
        &cheap,
        json!({"name": "Autumn", "percent_off": 10, "applies_to": "order"}),
    )
    .await;
    let later = chrono::Utc::now() + chrono::Duration::days(1);
    create_deal(
        &app,
        &dear,
        json!({"name": "Tomorrow", "percent_off": 50, "applies_to": "order", "starts_at": later}),
    )
    .await;
    // What a lone checkout of each shop costs.
    let cheap_alone = order_of(&app, &cheap, 1).await;
    let dear_alone = order_of(&app, &dear, 1).await;
    // Dear's deal has not started; cheap's takes 10 % off the 10.00 item.
    assert_eq!(cheap_alone["discount"]["amount"], 100, "{cheap_alone}");
    assert_eq!(dear_alone["discount"]["amount"], 0, "{dear_alone}");

    let mut carts = Vec::new();
    for i in 0..24 {
        let s = if i % 2 == 0 { &cheap } else { &dear };
        let (cart, token) = cart_with(&app, &s.slug, &[(&s.variant, 1)]).await;
        carts.push((s.slug.clone(), cart, token));
    }
    let reads = || async {
        let reads = app.metric("storekeep_cart_reads_total").await;
        (
            reads,
            app.metric("storekeep_cart_read_statements_total").await,
        )
    };
    let before = reads().await;
    let mut tasks = Vec::new();
    for (i, (slug, cart, token)) in carts.iter().enumerate() {
        tasks.push((
            slug.clone(),
            racing_checkout(&app, slug, cart, token, &format!("k{i}"), "b@x.io"),
        ));
        if i % 6 == 1 {
            // One of dear's carts asked for through cheap.
            tasks.push((
                String::new(),
                racing_checkout(&app, "cheap", cart, token, &format!("x{i}"), "x@x.io"),
            ));
        }
    }
    let mut orders = 0;
    for (slug, task) in tasks {
        let (status, _, b) = task.await.unwrap();
        if slug.is_empty() {
            assert_eq!(status, 404, "another shop's cart: {b}");
            continue;
        }
        assert_eq!(status, 201, "{slug}: {b}");
        let like = if slug == "cheap" {
            &cheap_alone
        } else {
            &dear_alone
        };
        for field in ["subtotal", "discount", "shipping", "tax", "total"] {
            assert_eq!(b["order"][field], like[field], "{slug}'s {field}: {b}");
        }
        orders += 1;
    }
    assert_eq!(orders, 24);
    assert_eq!(stock(&app, &cheap).await, (100, 13));
    assert_eq!(stock(&app, &dear).await, (100, 13));
    // The metrics count each of the 28 reads, in no more statements.
    let after = reads().await;
    let (read, statements) = (after.0 - before.0, after.1 - before.1);
    if storekeep_test_support::on_postgres() {
        assert_eq!(read, 28.0, "{statements} statements");
        assert!((1.0..=28.0).contains(&statements), "{statements}");
    } else {
        assert_eq!((read, statements), (0.0, 0.0));
    }
}

/// The checkout batch counters: batches, batched, alone, failures.
async fn batch_figures(app: &storekeep_test_support::TestApp) -> [f64; 4] {
    let mut figures = [0.0; 4];
    for (figure, name) in figures.iter_mut().zip([
        "storekeep_checkout_batches_total",
        "storekeep_checkout_batched_total",
        "storekeep_checkout_alone_total",
        "storekeep_checkout_batch_failures_total",
    ]) {
        *figure = app.metric(name).await;
    }
    figures
}
