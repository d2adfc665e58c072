//! Renting through the cart and checkout: the rental line's price,
//! schedule and disclosures, the contract checkout makes, what paying,
//! expiring and racing do to it, and who may read it.

use chrono::{Months, Utc};
use reqwest::Method;
use serde_json::{Value, json};
use storekeep_test_support::{TestApp, problem, spawn_app, spawn_app_with};

use crate::catalog_support::{body, money};
use crate::commerce_support::{
    Shop, admin_order, cart_req, checkout_body, event_topics, order_action, selling_shop,
    set_settings, settings, stock,
};
use crate::identity::{admin, customer_token, register};
use crate::rentals_contract_support::{count, rent_to_own_plan, rental_cart, units};

async fn customer(app: &TestApp, slug: &str, email: &str) -> String {
    assert_eq!(register(app, slug, email).await.status(), 201);
    customer_token(app, slug, email).await
}

async fn admin_get(app: &TestApp, s: &Shop, path: &str) -> (u16, Value) {
    let resp = admin(app, &s.slug, &s.token, Method::GET, path)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, body(resp).await)
}

/// Checks the cart out as `customer`; the response's status and body.
async fn rent(app: &TestApp, s: &Shop, cart: &Value, customer: Option<&str>) -> (u16, Value) {
    let (id, token) = (
        cart["id"].as_str().unwrap(),
        cart["token"].as_str().unwrap(),
    );
    let mut req = cart_req(
        app,
        &s.slug,
        token,
        Method::POST,
        &format!("/api/v1/store/carts/{id}/checkout"),
    )
    .header("idempotency-key", uuid::Uuid::now_v7().to_string())
    .json(&checkout_body("renter@example.com"));
    if let Some(t) = customer {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, body(resp).await)
}

#[tokio::test]
async fn a_rental_line_shows_its_schedule_and_disclosures_and_checkout_makes_its_contract() {
    let app = spawn_app().await;
    let s = selling_shop(&app, "rent", 60_000, 3).await;
    let plan = rent_to_own_plan(&app, "rent", &s.token, &s.variant).await;
    let ada = customer(&app, "rent", "ada@example.com").await;

    let item = json!({"variant_id": s.variant, "quantity": 1, "rental_plan_id": plan});
    let (status, b) = rental_cart(&app, "rent", Some(&ada), item).await;
    assert_eq!(status, 201, "{b}");
    let cart = &b["cart"];
    let line = &cart["items"][0];
    // Due today: a 10 % deposit of 600.00 and the first of 12 × 60.00.
    assert_eq!(line["quantity"], 1);
    assert_eq!(line["total"], money(12_000));
    let r = &line["rental"];
    assert_eq!(r["plan_id"], json!(plan));
    assert_eq!(
        (r["kind"].as_str(), r["term"].as_i64()),
        (Some("rent_to_own"), Some(12))
    );
    assert_eq!(r["deposit"], money(6_000));
    assert_eq!(r["due_today"], money(12_000));
    let today = Utc::now().date_naive();
    let schedule = r["schedule"].as_array().unwrap();
    assert_eq!(schedule.len(), 12);
    assert_eq!(schedule[0]["due_date"], json!(today));
    assert_eq!(schedule[11]["due_date"], json!(today + Months::new(11)));
    assert_eq!(schedule[11]["amount"], money(6_000));
    let d = &r["disclosures"];
    assert_eq!(d["cash_price"], money(60_000));
    assert_eq!(d["payment_amount"], money(6_000));
    assert_eq!(d["payment_every"], "month");
    assert_eq!(d["number_of_payments"], 12);
    assert_eq!(d["total_of_payments"], money(72_000));
    assert_eq!(d["cost_over_cash_price"], money(12_000));
    assert_eq!(d["ownership_at_end"], true);
    // The cash price less half the rent paid, after each installment.
    let early = d["early_purchase"].as_array().unwrap();
    assert_eq!(early.len(), 11);
    assert_eq!(
        early[0],
        json!({"after_installment": 1, "price": money(57_000)})
    );
    assert_eq!(
        early[10],
        json!({"after_installment": 11, "price": money(27_000)})
    );
    assert_eq!(d["fees"]["deposit"], money(6_000));
    assert_eq!(
        d["fees"]["late_fee"],
        json!({"type": "fixed", "amount": 1500, "grace_days": 5})
    );
    assert_eq!(d["fees"]["maintainer"], "shop");
    assert_eq!(cart["total"], money(12_000));

    let (status, b) = rent(&app, &s, cart, Some(&ada)).await;
    assert_eq!(status, 201, "{b}");
    let order = &b["order"];
    let order_id = order["id"].as_str().unwrap();
    // Standard shipping, 5.00; no tax on rentals.
    assert_eq!(
        (order["tax"].clone(), order["total"].clone()),
        (money(0), money(12_500))
    );
    // Without serial-tracked units the line holds ordinary stock.
    assert_eq!(stock(&app, &s).await, (3, 1));

    let (status, list) = admin_get(&app, &s, "/api/v1/admin/rental-contracts").await;
    assert_eq!(status, 200, "{list}");
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    let c = &items[0];
    assert_eq!(c["order_id"], json!(order_id));
    assert_eq!(c["status"], "active");
    assert_eq!(
        (c["deposit"].clone(), c["cash_price"].clone()),
        (money(6_000), money(60_000))
    );
    assert_eq!(c["start_date"], json!(today));
    assert_eq!(c["unit_id"], Value::Null);
    let contract = c["id"].as_str().unwrap().to_owned();
    let topics = event_topics(&app, &s).await;
    let created = topics
        .iter()
        .find(|(t, _)| t == "rental.contract_created")
        .expect("a rental.contract_created event");
    assert_eq!(created.1["contract_id"], json!(contract));

    // Paying the order pays the deposit and the first installment.
    assert_eq!(
        order_action(&app, &s, order_id, "mark-paid").await.status(),
        200
    );
    let path = format!("/api/v1/admin/rental-contracts/{contract}");
    let (status, b) = admin_get(&app, &s, &path).await;
    assert_eq!(status, 200, "{b}");
    let c = &b["contract"];
    let installments = c["installments"].as_array().unwrap();
    assert_eq!(installments.len(), 12);
    assert!(installments[0]["paid_at"].is_string());
    assert!(installments[1]["paid_at"].is_null());
    let payments: Vec<(Value, Value)> = c["payments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["kind"].clone(), p["amount"].clone()))
        .collect();
    assert_eq!(
        payments,
        [
            (json!("deposit"), money(6_000)),
            (json!("installment"), money(6_000))
        ]
    );
    assert_eq!(c["disclosures"]["total_of_payments"], money(72_000));
    // Paid a second time (a replayed settlement), nothing is recorded twice.
    assert_eq!(
        order_action(&app, &s, order_id, "mark-paid").await.status(),
        409
    );
    let (_, again) = admin_get(&app, &s, &path).await;
    assert_eq!(again["contract"]["payments"].as_array().unwrap().len(), 2);

    // The renter sees the contract; another customer does not.
    let mine = app
        .shop("rent", Method::GET, "/api/v1/store/rentals")
        .bearer_auth(&ada)
        .send()
        .await
        .unwrap();
    assert_eq!(body(mine).await["items"][0]["id"], json!(contract));
    let own = format!("/api/v1/store/rentals/{contract}");
    let resp = app
        .shop("rent", Method::GET, &own)
        .bearer_auth(&ada)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let bob = customer(&app, "rent", "bob@example.com").await;
    let resp = app
        .shop("rent", Method::GET, &own)
        .bearer_auth(&bob)
        .send()
        .await
        .unwrap();
    problem(resp, 404).await;
    let theirs = app
        .shop("rent", Method::GET, "/api/v1/store/rentals")
        .bearer_auth(&bob)
        .send()
        .await
        .unwrap();
    assert_eq!(body(theirs).await["items"], json!([]));
    let anonymous = app.shop("rent", Method::GET, &own).send().await.unwrap();
    problem(anonymous, 401).await;
}

#[tokio::test]
async fn plans_of_another_shop_or_variant_and_terms_out_of_bounds_are_refused() {
    let app = spawn_app().await;
    let s = selling_shop(&app, "here", 60_000, 3).await;
    let other = selling_shop(&app, "there", 60_000, 3).await;
    let theirs = rent_to_own_plan(&app, "there", &other.token, &other.variant).await;
    let mine = rent_to_own_plan(&app, "here", &s.token, &s.variant).await;
    // A second product of this shop, which `mine` does not rent.
    let p = crate::catalog_support::create(
        &app,
        "here",
        &s.token,
        &crate::catalog_support::product_json("Phone", &[("here-PH", 20_000, 2)]),
    )
    .await;
    let phone = p["variants"][0]["id"].as_str().unwrap().to_owned();

    let cases = [
        (
            json!({"variant_id": s.variant, "quantity": 1, "rental_plan_id": theirs}),
            "items[0].rental_plan_id",
        ),
        (
            json!({"variant_id": phone, "quantity": 1, "rental_plan_id": mine}),
            "items[0].rental_plan_id",
        ),
        (
            json!({"variant_id": s.variant, "quantity": 1, "rental_plan_id": mine, "rental_term": 25}),
            "items[0].rental_term",
        ),
        (
            json!({"variant_id": s.variant, "quantity": 1, "rental_plan_id": mine, "rental_term": 5}),
            "items[0].rental_term",
        ),
        (
            json!({"variant_id": s.variant, "quantity": 2, "rental_plan_id": mine}),
            "items[0].quantity",
        ),
        (
            json!({"variant_id": s.variant, "quantity": 1, "rental_term": 12}),
            "items[0].rental_plan_id",
        ),
    ];
    for (item, field) in cases {
        let (status, b) = rental_cart(&app, "here", None, item.clone()).await;
        assert_eq!(status, 422, "{item}: {b}");
        let fields: Vec<&str> = b["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert_eq!(fields, [field], "{item}: {b}");
    }
    // Added to an existing cart, the same checks apply, without prefix.
    let (_, b) = rental_cart(
        &app,
        "here",
        None,
        json!({"variant_id": phone, "quantity": 1}),
    )
    .await;
    let (cart, token) = (
        b["cart"]["id"].as_str().unwrap(),
        b["cart"]["token"].as_str().unwrap(),
    );
    let resp = cart_req(
        &app,
        "here",
        token,
        Method::POST,
        &format!("/api/v1/store/carts/{cart}/items"),
    )
    .json(&json!({"variant_id": s.variant, "quantity": 1, "rental_plan_id": theirs}))
    .send()
    .await
    .unwrap();
    let p = problem(resp, 422).await;
    assert_eq!(p["errors"][0]["field"], "rental_plan_id");
    // Nothing was added.
    let resp = cart_req(
        &app,
        "here",
        token,
        Method::GET,
        &format!("/api/v1/store/carts/{cart}"),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(
        body(resp).await["cart"]["items"].as_array().unwrap().len(),
        1
    );
}

#[tokio::test]
async fn an_unpaid_rental_expires_cancelling_its_contract_and_freeing_its_unit() {
    let app = spawn_app_with(|s| {
        s.order_expiry_interval = std::time::Duration::from_millis(200);
    })
    .await;
    let s = selling_shop(&app, "lapse", 60_000, 0).await;
    set_settings(&app, "lapse", &s.token, &settings(1)).await;
    let plan = rent_to_own_plan(&app, "lapse", &s.token, &s.variant).await;
    units(&app, "lapse", &s.token, &s.variant, "SN", 1).await;

    let item = json!({"variant_id": s.variant, "quantity": 1, "rental_plan_id": plan});
    let (_, b) = rental_cart(&app, "lapse", None, item).await;
    let (status, b) = rent(&app, &s, &b["cart"], None).await;
    assert_eq!(status, 201, "{b}");
    let order = b["order"]["id"].as_str().unwrap().to_owned();
    let (_, list) = admin_get(&app, &s, "/api/v1/admin/rental-contracts?status=active").await;
    let contract = list["items"][0]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/admin/rental-contracts/{contract}");
    let (_, c) = admin_get(&app, &s, &path).await;
    assert_eq!(c["contract"]["unit"]["serial"], "SN-1");
    assert_eq!(c["contract"]["unit"]["status"], "rented");
    // The unit, not the stock, holds the line.
    assert_eq!(stock(&app, &s).await, (0, 0));

    let mut cancelled = false;
    for _ in 0..100 {
        if admin_order(&app, &s, &order).await["status"] == "cancelled" {
            cancelled = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(cancelled, "the order never expired");
    let (_, c) = admin_get(&app, &s, &path).await;
    assert_eq!(c["contract"]["status"], "cancelled");
    assert_eq!(c["contract"]["unit"]["status"], "available");
    assert_eq!(stock(&app, &s).await, (0, 0));
    let released = count(
        &app,
        "SELECT count(*) FROM rental_unit_events WHERE kind = 'returned'",
    )
    .await;
    assert_eq!(released, 1);
    let (_, active) = admin_get(&app, &s, "/api/v1/admin/rental-contracts?status=active").await;
    assert_eq!(active["items"], json!([]));
    // The freed unit can be rented again.
    let item = json!({"variant_id": s.variant, "quantity": 1, "rental_plan_id": plan});
    let (_, b) = rental_cart(&app, "lapse", None, item).await;
    assert_eq!(rent(&app, &s, &b["cart"], None).await.0, 201);
}

#[tokio::test]
async fn twenty_customers_racing_for_five_units_make_exactly_five_contracts() {
    let app = spawn_app().await;
    let s = selling_shop(&app, "race", 60_000, 0).await;
    let plan = rent_to_own_plan(&app, "race", &s.token, &s.variant).await;
    units(&app, "race", &s.token, &s.variant, "RACE", 5).await;
    let mut carts = Vec::new();
    for _ in 0..20 {
        let item = json!({"variant_id": s.variant, "quantity": 1, "rental_plan_id": plan});
        let (status, b) = rental_cart(&app, "race", None, item).await;
        assert_eq!(status, 201, "{b}");
        carts.push(b["cart"].clone());
    }
    let app = std::sync::Arc::new(app);
    let s = std::sync::Arc::new(s);
    let mut racers = tokio::task::JoinSet::new();
    for cart in carts {
        let (app, s) = (app.clone(), s.clone());
        racers.spawn(async move { rent(&app, &s, &cart, None).await });
    }
    let (mut created, mut short) = (0, 0);
    while let Some(done) = racers.join_next().await {
        let (status, b) = done.unwrap();
        match status {
            201 => created += 1,
            409 => {
                assert!(b["detail"].as_str().unwrap().contains("stock"), "{b}");
                short += 1;
            }
            other => panic!("unexpected {other}: {b}"),
        }
    }
    assert_eq!((created, short), (5, 15));
    let (_, list) = admin_get(&app, &s, "/api/v1/admin/rental-contracts?limit=50").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 5);
    let rented = count(
        &app,
        "SELECT count(*) FROM rental_units WHERE status = 'rented' AND contract_id IS NOT NULL",
    )
    .await;
    assert_eq!(rented, 5);
    let distinct = count(
        &app,
        "SELECT count(DISTINCT unit_id) FROM rental_contracts WHERE status = 'active'",
    )
    .await;
    assert_eq!(distinct, 5);
}

async fn pay(app: &TestApp, s: &Shop, contract: &str, body: Value) -> reqwest::Response {
    admin(
        app,
        &s.slug,
        &s.token,
        Method::POST,
        &format!("/api/v1/admin/rental-contracts/{contract}/payments"),
    )
    .json(&body)
    .send()
    .await
    .unwrap()
}

#[tokio::test]
async fn staff_record_an_installment_once_and_the_payment_is_audited() {
    let app = spawn_app().await;
    let s = selling_shop(&app, "till", 60_000, 3).await;
    let plan = rent_to_own_plan(&app, "till", &s.token, &s.variant).await;
    let item = json!({"variant_id": s.variant, "quantity": 1, "rental_plan_id": plan});
    let (_, b) = rental_cart(&app, "till", None, item.clone()).await;
    let (_, b) = rent(&app, &s, &b["cart"], None).await;
    let order = b["order"]["id"].as_str().unwrap().to_owned();
    let (_, list) = admin_get(&app, &s, "/api/v1/admin/rental-contracts").await;
    let contract = list["items"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        order_action(&app, &s, &order, "mark-paid").await.status(),
        200
    );

    // The first unpaid installment is the second.
    let resp = pay(&app, &s, &contract, json!({"reference": "receipt 7"})).await;
    assert_eq!(resp.status(), 200);
    let c = body(resp).await["contract"].clone();
    let second = c["installments"][1].clone();
    assert!(second["paid_at"].is_string());
    assert!(c["installments"][2]["paid_at"].is_null());
    let last = c["payments"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["kind"], "installment");
    assert_eq!(last["amount"], money(6_000));
    assert_eq!(last["installment_id"], second["id"]);
    assert_eq!(
        (last["provider"].as_str(), last["reference"].as_str()),
        (Some("manual"), Some("receipt 7"))
    );

    // Named again, it is refused and nothing is recorded twice.
    let p = problem(
        pay(&app, &s, &contract, json!({"installment_id": second["id"]})).await,
        409,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "installment_id");
    let unknown = json!({"installment_id": uuid::Uuid::now_v7()});
    let p = problem(pay(&app, &s, &contract, unknown).await, 422).await;
    assert_eq!(p["errors"][0]["field"], "installment_id");
    let p = problem(
        pay(&app, &s, &contract, json!({"reference": "x".repeat(201)})).await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "reference");
    let (_, after) = admin_get(
        &app,
        &s,
        &format!("/api/v1/admin/rental-contracts/{contract}"),
    )
    .await;
    assert_eq!(after["contract"]["payments"].as_array().unwrap().len(), 3);
    let log = admin_get(&app, &s, "/api/v1/admin/audit-log")
        .await
        .1
        .to_string();
    assert!(log.contains("rental_contract.installment_paid"), "{log}");

    // A cancelled contract takes no payment.
    let (_, b) = rental_cart(&app, "till", None, item).await;
    let (_, b) = rent(&app, &s, &b["cart"], None).await;
    let order = b["order"]["id"].as_str().unwrap().to_owned();
    assert_eq!(order_action(&app, &s, &order, "cancel").await.status(), 200);
    let (_, list) = admin_get(&app, &s, "/api/v1/admin/rental-contracts?status=cancelled").await;
    let cancelled = list["items"][0]["id"].as_str().unwrap().to_owned();
    problem(pay(&app, &s, &cancelled, json!({})).await, 409).await;
    // The cancelled order gave its stock back.
    assert_eq!(stock(&app, &s).await, (2, 0));
}
