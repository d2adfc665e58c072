//! Which payment providers a checkout may use: those the server offers
//! (the simulated `test` processor only when configured) and the shop
//! accepts (its `payment_providers` setting).

use reqwest::Method;
use serde_json::{Value, json};
use storekeep_test_support::{TestApp, problem, spawn_app, spawn_app_with};

use crate::catalog_support::body;
use crate::commerce_support::{
    Shop, cart_with, checkout, checkout_body, order_of, selling_shop, set_settings, settings, stock,
};
use crate::identity::admin;

fn paying_with(provider: &str) -> Value {
    let mut b = checkout_body("guest@example.com");
    b["payment_provider"] = json!(provider);
    b
}

async fn accept(app: &TestApp, s: &Shop, providers: Value) -> reqwest::Response {
    let mut b = settings(1800);
    b["settings"]["payment_providers"] = providers;
    admin(
        app,
        &s.slug,
        &s.token,
        Method::PATCH,
        "/api/v1/admin/settings",
    )
    .json(&b)
    .send()
    .await
    .unwrap()
}

async fn storefront_providers(app: &TestApp, slug: &str) -> Value {
    let resp = app
        .shop(slug, Method::GET, "/api/v1/store")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    body(resp).await["store"]["payment_providers"].clone()
}

async fn order_count(app: &TestApp, s: &Shop) -> usize {
    let resp = admin(app, &s.slug, &s.token, Method::GET, "/api/v1/admin/orders")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    body(resp).await["items"].as_array().unwrap().len()
}

/// Asserts a 422 whose only field is `payment_provider`, and returns its message.
async fn refused_provider(resp: reqwest::Response) -> String {
    let p = problem(resp, 422).await;
    let errors = p["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{p}");
    assert_eq!(errors[0]["field"], "payment_provider", "{p}");
    errors[0]["message"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn without_configuration_the_test_provider_is_refused_and_nothing_is_created() {
    // A server as an operator runs it: `payments.test_enabled` unset.
    let app = spawn_app_with(|s| s.payments.test_enabled = false).await;
    let s = selling_shop(&app, "real", 1000, 5).await;
    // Even a shop that lists `test` cannot use it here.
    assert_eq!(
        accept(&app, &s, json!(["manual", "test"])).await.status(),
        200
    );
    assert_eq!(storefront_providers(&app, "real").await, json!(["manual"]));

    let (cart, token) = cart_with(&app, "real", &[(&s.variant, 1)]).await;
    let resp = checkout(&app, "real", &cart, &token, "free-1", &paying_with("test")).await;
    let message = refused_provider(resp).await;
    assert!(
        message.contains("manual") && !message.contains("test"),
        "{message}"
    );
    assert_eq!(stock(&app, &s).await, (5, 0), "nothing was reserved");
    assert_eq!(order_count(&app, &s).await, 0, "no order was written");

    // The cart is still open: the same cart pays by hand.
    let resp = checkout(
        &app,
        "real",
        &cart,
        &token,
        "free-2",
        &paying_with("manual"),
    )
    .await;
    assert_eq!(resp.status(), 201);
    let order = body(resp).await["order"].clone();
    assert_eq!(order["status"], "pending_payment");

    // A new payment attempt cannot switch to it either.
    let resp = app
        .shop(
            "real",
            Method::POST,
            &format!(
                "/api/v1/store/orders/{}/payments",
                order["id"].as_str().unwrap()
            ),
        )
        .header("x-cart-token", &token)
        .json(&json!({"payment_provider": "test"}))
        .send()
        .await
        .unwrap();
    refused_provider(resp).await;

    // Nor is its webhook an endpoint: nothing can pay through it.
    let hook = app
        .request(Method::POST, "/api/v1/webhooks/payments/test")
        .header("content-type", "application/json")
        .body(r#"{"id":"evt_1","type":"payment.confirmed","reference":"test_1"}"#)
        .send()
        .await
        .unwrap();
    problem(hook, 404).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let o = crate::commerce_support::admin_order(&app, &s, order["id"].as_str().unwrap()).await;
    assert_eq!(o["status"], "pending_payment", "still unpaid");
    assert_eq!(order_count(&app, &s).await, 1);
    app.stop().await;
}

#[tokio::test]
async fn a_shop_takes_only_the_providers_it_accepts() {
    // This server offers `test`; a new shop accepts `manual` only.
    let app = spawn_app().await;
    let s = selling_shop(&app, "careful", 1000, 5).await;
    assert_eq!(
        storefront_providers(&app, "careful").await,
        json!(["manual"])
    );
    let shown = body(
        admin(
            &app,
            "careful",
            &s.token,
            Method::GET,
            "/api/v1/admin/settings",
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(shown["settings"]["payment_providers"], json!(["manual"]));

    let (cart, token) = cart_with(&app, "careful", &[(&s.variant, 1)]).await;
    let resp = checkout(&app, "careful", &cart, &token, "k1", &paying_with("test")).await;
    let message = refused_provider(resp).await;
    assert!(message.contains("manual"), "{message}");
    assert_eq!(stock(&app, &s).await, (5, 0));
    assert_eq!(order_count(&app, &s).await, 0);

    // The setting is checked: only known providers, each once, at least one.
    for bad in [json!([]), json!(["paypal"]), json!(["manual", "manual"])] {
        let p = problem(accept(&app, &s, bad.clone()).await, 422).await;
        assert_eq!(
            p["errors"][0]["field"], "settings.payment_providers",
            "{bad}: {p}"
        );
    }

    // Once the shop accepts it, the same cart pays with it.
    assert_eq!(accept(&app, &s, json!(["test"])).await.status(), 200);
    assert_eq!(storefront_providers(&app, "careful").await, json!(["test"]));
    let resp = checkout(&app, "careful", &cart, &token, "k2", &paying_with("test")).await;
    assert_eq!(resp.status(), 201);
    // ...and now refuses `manual`, which it no longer lists.
    let (cart, token) = cart_with(&app, "careful", &[(&s.variant, 1)]).await;
    let resp = checkout(&app, "careful", &cart, &token, "k3", &paying_with("manual")).await;
    refused_provider(resp).await;
    assert_eq!(order_count(&app, &s).await, 1);

    // Settings sent without the field go back to the default, `manual`.
    set_settings(&app, "careful", &s.token, &settings(1800)).await;
    order_of(&app, &s, 1).await;
    app.stop().await;
}

#[tokio::test]
async fn a_shop_created_with_its_providers_keeps_them() {
    let app = spawn_app().await;
    let t = app
        .create_tenant(
            "both",
            json!({"settings": {"payment_providers": ["manual", "test"]}}),
        )
        .await;
    assert_eq!(
        t["settings"]["payment_providers"],
        json!(["manual", "test"])
    );
    assert_eq!(
        storefront_providers(&app, "both").await,
        json!(["manual", "test"])
    );
    let resp = app
        .platform(Method::POST, "/api/v1/platform/tenants")
        .json(&json!({"tenant": {"slug": "odd", "name": "Odd", "settings": {"payment_providers": ["cash"]}}}))
        .send()
        .await
        .unwrap();
    let p = problem(resp, 422).await;
    assert_eq!(p["errors"][0]["field"], "settings.payment_providers");
    app.stop().await;
}
