//! Rental plans and serial-tracked units for the contract tests, written
//! straight into the database (the plan and unit API is another part of
//! the same issue; these helpers give way to it once merged), and a rental
//! cart through the API.

use reqwest::Method;
use serde_json::{Value, json};
use sqlx::Connection;
use storekeep_test_support::TestApp;

use crate::catalog_support::body;

/// Runs statements of literal SQL (test data only) on the app's database.
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

async fn tenant_id(app: &TestApp, slug: &str) -> String {
    let resp = app
        .platform(Method::GET, &format!("/api/v1/platform/tenants/{slug}"))
        .send()
        .await
        .unwrap();
    let b = body(resp).await;
    b["tenant"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("tenant id: {b}"))
        .to_owned()
}

/// A rent-to-own plan of `variant`: 12 months (6 to 24) at 60.00 a month,
/// a 10 % deposit, a 15.00 late fee after 5 days, buy-out at the cash price
/// less half the rent paid, maintained by the shop. Returns its id.
pub async fn rent_to_own_plan(app: &TestApp, slug: &str, variant: &str) -> String {
    let id = uuid::Uuid::now_v7().to_string();
    let tenant = tenant_id(app, slug).await;
    let at = "2026-11-01T00:00:00Z";
    sql(
        app,
        &[format!(
            "INSERT INTO rental_plans (id, tenant_id, variant_id, name, kind, term_unit, term, \
             min_term, max_term, price_per_period, deposit, late_fee, buyout, \
             extension_allowed, maintainer, default_after_days, active, created_at, updated_at) \
             VALUES ('{id}', '{tenant}', '{variant}', 'Own it in a year', 'rent_to_own', 'month', \
             12, 6, 24, 6000, '{{\"type\":\"percent\",\"bps\":1000}}', \
             '{{\"type\":\"fixed\",\"amount\":1500,\"grace_days\":5}}', \
             '{{\"type\":\"cash_price_minus_rent\",\"bps\":5000}}', TRUE, 'shop', 30, TRUE, \
             '{at}', '{at}')"
        )],
    )
    .await;
    id
}

/// `n` available units of `variant`, serials `{prefix}-1`…
pub async fn units(app: &TestApp, slug: &str, variant: &str, prefix: &str, n: usize) {
    let tenant = tenant_id(app, slug).await;
    let at = "2026-11-01T00:00:00Z";
    let rows: Vec<String> = (1..=n)
        .map(|i| {
            format!(
                "INSERT INTO rental_units (id, tenant_id, variant_id, serial, condition, notes, \
                 status, contract_id, created_at, updated_at) VALUES ('{}', '{tenant}', \
                 '{variant}', '{prefix}-{i}', 'a', '', 'available', NULL, '{at}', '{at}')",
                uuid::Uuid::now_v7()
            )
        })
        .collect();
    sql(app, &rows).await;
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
    let plan = rent_to_own_plan(app, slug, variant).await;
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
