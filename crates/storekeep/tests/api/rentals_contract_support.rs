//! Rental plans and serial-tracked units for the contract tests, made
//! through the admin API, a rental cart through the API, and one number
//! read with literal SQL.

use reqwest::Method;
use serde_json::{Value, json};
use sqlx::Connection;
use storekeep_test_support::TestApp;

use crate::catalog_support::body;
use crate::rentals_support::{ok, post_plan, post_unit};

/// Runs statements of literal SQL (test data only: moving a schedule in
/// time) on the app's database.
pub async fn sql(app: &TestApp, statements: &[String]) {
    if app.db.is_sqlite() {
        let mut conn = sqlx::SqliteConnection::connect(&app.db.url).await.unwrap();
        for s in statements {
            sqlx::query(s).execute(&mut conn).await.unwrap();
        }
    } else {
        let mut conn = sqlx::PgConnection::connect(&app.db.url).await.unwrap();
        for s in statements {
            sqlx::query(s).execute(&mut conn).await.unwrap();
        }
    }
}

/// One number read with literal SQL.
pub async fn count(app: &TestApp, query: &str) -> i64 {
    if app.db.is_sqlite() {
        let mut conn = sqlx::SqliteConnection::connect(&app.db.url).await.unwrap();
        sqlx::query_scalar(query)
            .fetch_one(&mut conn)
            .await
            .unwrap()
    } else {
        let mut conn = sqlx::PgConnection::connect(&app.db.url).await.unwrap();
        sqlx::query_scalar(query)
            .fetch_one(&mut conn)
            .await
            .unwrap()
    }
}

/// A rent-to-own plan of `variant`, made through the admin API as
/// `token`: 12 months (6 to 24) at 60.00 a month, a 10 % deposit, a 15.00
/// late fee after 5 days, buy-out at the cash price less half the rent
/// paid, maintained by the shop. Returns its id.
pub async fn rent_to_own_plan(app: &TestApp, slug: &str, token: &str, variant: &str) -> String {
    let plan = json!({
        "variant_id": variant, "name": "Own it in a year", "kind": "rent_to_own",
        "term": 12, "min_term": 6, "max_term": 24,
        "price_per_period": {"amount": 6_000, "currency": "USD"},
        "deposit": {"type": "percent", "bps": 1_000},
        "late_fee": {"type": "fixed", "amount": 1_500, "grace_days": 5},
        "buyout": {"type": "cash_price_minus_rent", "bps": 5_000},
        "extension_allowed": true, "maintainer": "shop", "default_after_days": 30
    });
    let b = ok(post_plan(app, slug, token, plan).await, 201).await;
    b["rental_plan"]["id"].as_str().unwrap().to_owned()
}

/// `n` available units of `variant`, serials `{prefix}-1`…, made through
/// the admin API as `token`.
pub async fn units(app: &TestApp, slug: &str, token: &str, variant: &str, prefix: &str, n: usize) {
    for i in 1..=n {
        let unit = json!({"variant_id": variant, "serial": format!("{prefix}-{i}")});
        ok(post_unit(app, slug, token, unit).await, 201).await;
    }
}

/// Creates a cart holding one rental line (as `customer`, if given);
/// returns the response's status and body.
pub async fn rental_cart(
    app: &TestApp,
    slug: &str,
    customer: Option<&str>,
    item: Value,
) -> (u16, Value) {
    let mut req = app
        .shop(slug, Method::POST, "/api/v1/store/carts")
        .json(&json!({ "items": [item] }));
    if let Some(t) = customer {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, body(resp).await)
}

/// A rental contract of `customer` on `variant` (ordinary stock, no
/// serial-tracked unit), checked out and paid; its id.
pub async fn seed_contract(
    app: &TestApp,
    slug: &str,
    owner: &str,
    customer: &str,
    variant: &str,
) -> String {
    let plan = rent_to_own_plan(app, slug, owner, variant).await;
    let item = json!({"variant_id": variant, "quantity": 1, "rental_plan_id": plan});
    let (status, b) = rental_cart(app, slug, Some(customer), item).await;
    assert_eq!(status, 201, "a rental cart: {b}");
    let cart = &b["cart"];
    let resp = app
        .shop(
            slug,
            Method::POST,
            &format!(
                "/api/v1/store/carts/{}/checkout",
                cart["id"].as_str().unwrap()
            ),
        )
        .bearer_auth(customer)
        .header("x-cart-token", cart["token"].as_str().unwrap())
        .header("idempotency-key", uuid::Uuid::now_v7().to_string())
        .json(&crate::commerce_support::checkout_body(
            "renter@example.com",
        ))
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let b = body(resp).await;
    assert_eq!(status, 201, "a rental checkout: {b}");
    let order = b["order"]["id"].as_str().unwrap();
    let paid = crate::identity::admin(
        app,
        slug,
        owner,
        Method::POST,
        &format!("/api/v1/admin/orders/{order}/mark-paid"),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(paid.status(), 200, "paying the rental");
    let list = crate::identity::admin(
        app,
        slug,
        owner,
        Method::GET,
        "/api/v1/admin/rental-contracts",
    )
    .send()
    .await
    .unwrap();
    let b = body(list).await;
    b["items"][0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("the contract: {b}"))
        .to_owned()
}
