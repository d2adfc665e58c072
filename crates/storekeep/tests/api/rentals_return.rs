//! Returning a contract's goods with their inspection, through the HTTP
//! API: the deposit settled as a damage charge and a refund owed, the unit
//! to inspection or retired, stock back for a contract without a unit, and
//! the refusals.

use reqwest::Method;
use serde_json::{Value, json};
use storekeep_test_support::{TestApp, problem, spawn_app};

use crate::catalog_support::{fields, money};
use crate::commerce_support::{Shop, cart_req, checkout_body, event_topics, selling_shop, stock};
use crate::rentals_contract_support::count;
use crate::rentals_contract_support::rental_cart;
use crate::rentals_life_support::{act, contract, get, payments, plan, unit, unit_state};
use crate::rentals_support::{call, ok};

/// A fixed-term plan: two months at 50.00, a 20.00 deposit.
async fn hire_plan(app: &TestApp, s: &Shop) -> String {
    plan(
        app,
        s,
        json!({"kind": "fixed_term", "term": 2, "max_term": 2}),
    )
    .await
}

async fn detail(app: &TestApp, s: &Shop, id: &str) -> Value {
    get(app, s, &format!("/api/v1/admin/rental-contracts/{id}")).await["contract"].clone()
}

/// `(kind, amount, reason)` of the contract's payments.
fn rows(c: &Value) -> Vec<(String, i64, Value)> {
    c["payments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["kind"].as_str().unwrap().to_owned(),
                p["amount"]["amount"].as_i64().unwrap(),
                p["reason"].clone(),
            )
        })
        .collect()
}

/// The shop's `rental.contract_returned` events.
async fn returned_events(app: &TestApp, s: &Shop) -> Vec<Value> {
    event_topics(app, s)
        .await
        .into_iter()
        .filter(|(t, _)| t == "rental.contract_returned")
        .map(|(_, p)| p)
        .collect()
}

#[tokio::test]
async fn a_damaged_return_keeps_the_charge_and_owes_the_rest_of_the_deposit() {
    let app = spawn_app().await;
    let s = selling_shop(&app, "dent", 12_000, 3).await;
    let plan = hire_plan(&app, &s).await;
    let laptop = unit(&app, &s, "SN-DENT-1").await;
    let id = contract(&app, &s, &plan).await;

    let b = json!({
        "outcome": "damaged", "charge": 1_500, "reason": "cracked screen",
        "notes": "hinge loose",
    });
    let c = ok(act(&app, &s, &id, "return", b.clone()).await, 200).await["contract"].clone();
    assert_eq!(c["status"], "returned");
    assert_eq!(c["deposit"], money(2_000));
    assert_eq!(c["deposit_held"], money(0));
    let reason = json!("cracked screen");
    assert_eq!(
        rows(&c),
        [
            ("deposit".to_owned(), 2_000, Value::Null),
            ("installment".to_owned(), 5_000, Value::Null),
            ("damage_charge".to_owned(), 1_500, reason),
            ("deposit_refund".to_owned(), 500, Value::Null),
        ]
    );
    assert_eq!(c["payments"][3]["provider"], "manual");
    // The unit waits for inspection, its history naming the contract.
    let u = get(&app, &s, &format!("/api/v1/admin/rental-units/{laptop}")).await;
    assert_eq!(u["rental_unit"]["status"], "inspection");
    let last = &u["history"][0];
    assert_eq!(last["kind"], "returned");
    assert_eq!(last["contract_id"], json!(id));
    let note = last["note"].as_str().unwrap();
    assert!(
        note.contains("damaged") && note.contains("cracked screen"),
        "{note}"
    );
    assert!(note.contains("hinge loose"), "{note}");
    let events = returned_events(&app, &s).await;
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0],
        json!({
            "contract_id": id, "unit_id": laptop, "outcome": "damaged",
            "charge": 1_500, "refund": 500,
        })
    );
    let audited = "SELECT count(*) FROM audit_log WHERE action = 'rental_contract.returned'";
    assert_eq!(count(&app, audited).await, 1);

    // A second return: refused, nothing recorded twice.
    let p = problem(act(&app, &s, &id, "return", b).await, 409).await;
    assert!(
        p["detail"].as_str().unwrap().contains("nothing to return"),
        "{p}"
    );
    assert_eq!(payments(&detail(&app, &s, &id).await).len(), 4);
    assert_eq!(returned_events(&app, &s).await.len(), 1);
    // Staff put the unit back on the shelf through the units API.
    let path = format!("/api/v1/admin/rental-units/{laptop}/status");
    let moved = call(
        &app,
        &s.slug,
        &s.token,
        Method::POST,
        &path,
        Some(json!({"status": "available", "note": "screen replaced"})),
    )
    .await;
    ok(moved, 200).await;
    assert_eq!(unit_state(&app, &s, &laptop).await.0, "available");
}

#[tokio::test]
async fn an_ok_return_refunds_the_whole_deposit_and_stock_comes_back() {
    let app = spawn_app().await;
    let s = selling_shop(&app, "fine", 12_000, 3).await;
    let hire = hire_plan(&app, &s).await;
    // No unit: rented from ordinary stock, which the paid order took.
    let id = contract(&app, &s, &hire).await;
    assert_eq!(stock(&app, &s).await, (2, 0));
    let c = ok(
        act(&app, &s, &id, "return", json!({"outcome": "ok"})).await,
        200,
    )
    .await["contract"]
        .clone();
    assert_eq!(c["status"], "returned");
    assert_eq!(c["deposit_held"], money(0));
    assert_eq!(payments(&c)[2..], [("deposit_refund".to_owned(), 2_000)]);
    assert_eq!(stock(&app, &s).await, (3, 0));
    let events = returned_events(&app, &s).await;
    assert_eq!(events[0]["outcome"], "ok");
    assert_eq!(events[0]["unit_id"], Value::Null);
    assert_eq!(
        (events[0]["charge"].clone(), events[0]["refund"].clone()),
        (json!(0), json!(2_000))
    );

    // A rent-to-own customer may give the goods back early, unit and all.
    let own = plan(&app, &s, json!({})).await;
    let phone = unit(&app, &s, "SN-FINE-1").await;
    let early = contract(&app, &s, &own).await;
    let c = ok(
        act(&app, &s, &early, "return", json!({"outcome": "ok"})).await,
        200,
    )
    .await["contract"]
        .clone();
    assert_eq!(c["status"], "returned");
    assert_eq!(
        payments(&c).last().unwrap(),
        &("deposit_refund".to_owned(), 2_000)
    );
    let (status, history) = unit_state(&app, &s, &phone).await;
    assert_eq!(status, "inspection");
    assert_eq!(history, ["returned", "rented", "added"]);
}

#[tokio::test]
async fn missing_goods_retire_the_unit_and_keep_the_deposit() {
    let app = spawn_app().await;
    let s = selling_shop(&app, "gone", 12_000, 3).await;
    let plan = hire_plan(&app, &s).await;
    let laptop = unit(&app, &s, "SN-GONE-1").await;
    let id = contract(&app, &s, &plan).await;
    let b = json!({"outcome": "missing", "notes": "customer unreachable"});
    let c = ok(act(&app, &s, &id, "return", b).await, 200).await["contract"].clone();
    assert_eq!(c["status"], "returned");
    assert_eq!(c["deposit_held"], money(0));
    assert_eq!(
        rows(&c)[2..],
        [(
            "damage_charge".to_owned(),
            2_000,
            json!("the goods were not returned")
        )]
    );
    let (status, history) = unit_state(&app, &s, &laptop).await;
    assert_eq!(status, "retired");
    assert_eq!(history, ["retired", "rented", "added"]);
    let events = returned_events(&app, &s).await;
    assert_eq!(
        (events[0]["charge"].clone(), events[0]["refund"].clone()),
        (json!(2_000), json!(0))
    );
}

#[tokio::test]
async fn charges_that_do_not_fit_and_contracts_no_longer_out_are_refused() {
    let app = spawn_app().await;
    let s = selling_shop(&app, "nope", 12_000, 5).await;
    let plan_id = hire_plan(&app, &s).await;
    let laptop = unit(&app, &s, "SN-NOPE-1").await;
    let id = contract(&app, &s, &plan_id).await;
    let refused = [
        (
            json!({"outcome": "damaged", "charge": 2_001, "reason": "bent"}),
            vec!["charge"],
        ),
        (
            json!({"outcome": "damaged", "charge": 0, "reason": "bent"}),
            vec!["charge"],
        ),
        (json!({"outcome": "damaged", "charge": 500}), vec!["reason"]),
        (
            json!({"outcome": "ok", "charge": 500, "reason": "bent"}),
            vec!["charge"],
        ),
        (json!({"outcome": "missing", "charge": 500}), vec!["charge"]),
        (
            json!({"outcome": "damaged", "charge": 500, "reason": "x".repeat(501)}),
            vec!["reason"],
        ),
    ];
    for (b, want) in refused {
        let p = problem(act(&app, &s, &id, "return", b.clone()).await, 422).await;
        assert_eq!(fields(&p), want, "{b}");
    }
    let unknown = act(&app, &s, &id, "return", json!({"outcome": "lost"})).await;
    assert!(unknown.status().is_client_error());
    // Nothing was written.
    let c = detail(&app, &s, &id).await;
    assert_eq!(c["status"], "active");
    assert_eq!(c["deposit_held"], money(2_000));
    assert_eq!(payments(&c).len(), 2);
    assert_eq!(unit_state(&app, &s, &laptop).await.0, "rented");

    // The whole deposit may be kept.
    let b = json!({"outcome": "damaged", "charge": 2_000, "reason": "beyond repair"});
    let c = ok(act(&app, &s, &id, "return", b).await, 200).await["contract"].clone();
    assert_eq!(payments(&c)[2..], [("damage_charge".to_owned(), 2_000)]);

    // A completed rent-to-own contract: the goods are the customer's.
    let own = plan(&app, &s, json!({"term": 2, "max_term": 2})).await;
    unit(&app, &s, "SN-NOPE-2").await;
    let paid = contract(&app, &s, &own).await;
    let c = ok(act(&app, &s, &paid, "payments", json!({})).await, 200).await["contract"].clone();
    assert_eq!(c["status"], "completed");
    problem(
        act(&app, &s, &paid, "return", json!({"outcome": "ok"})).await,
        409,
    )
    .await;
    assert_eq!(payments(&detail(&app, &s, &paid).await).len(), 3);
}

/// Rents on `plan` (a guest checkout) and leaves the order unpaid; the
/// contract id.
async fn unpaid_contract(app: &TestApp, s: &Shop, plan: &str) -> String {
    let item = json!({"variant_id": s.variant, "quantity": 1, "rental_plan_id": plan});
    let (status, b) = rental_cart(app, &s.slug, None, item).await;
    assert_eq!(status, 201, "{b}");
    let cart = &b["cart"];
    let path = format!(
        "/api/v1/store/carts/{}/checkout",
        cart["id"].as_str().unwrap()
    );
    let resp = cart_req(
        app,
        &s.slug,
        cart["token"].as_str().unwrap(),
        Method::POST,
        &path,
    )
    .header("idempotency-key", uuid::Uuid::now_v7().to_string())
    .json(&checkout_body("renter@example.com"))
    .send()
    .await
    .unwrap();
    ok(resp, 201).await;
    let list = get(app, s, "/api/v1/admin/rental-contracts?limit=1").await;
    list["items"][0]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_contract_whose_order_is_unpaid_is_neither_returned_nor_bought_out() {
    let app = spawn_app().await;
    let s = selling_shop(&app, "unpaid", 12_000, 3).await;
    let rule = json!({"buyout": {"type": "remaining_share", "bps": 8_000}});
    let own = plan(&app, &s, rule).await;
    let laptop = unit(&app, &s, "SN-UNPAID-1").await;
    let id = unpaid_contract(&app, &s, &own).await;
    let p = problem(
        act(&app, &s, &id, "return", json!({"outcome": "ok"})).await,
        409,
    )
    .await;
    assert!(
        p["detail"].as_str().unwrap().contains("not paid yet"),
        "{p}"
    );
    let p = problem(act(&app, &s, &id, "buyout", json!({})).await, 409).await;
    assert!(
        p["detail"].as_str().unwrap().contains("not paid yet"),
        "{p}"
    );
    let path = format!("/api/v1/admin/rental-contracts/{id}/buyout");
    let quote = call(&app, &s.slug, &s.token, Method::GET, &path, None).await;
    problem(quote, 409).await;
    let c = detail(&app, &s, &id).await;
    assert_eq!(c["status"], "active");
    assert_eq!(payments(&c).len(), 0);
    assert_eq!(unit_state(&app, &s, &laptop).await.0, "rented");
}

#[tokio::test]
async fn goods_a_refund_put_back_in_stock_are_not_put_back_again_on_return() {
    let app = spawn_app().await;
    let s = selling_shop(&app, "twice", 12_000, 3).await;
    let hire = hire_plan(&app, &s).await;
    // Rented from ordinary stock: the paid order took one.
    let id = contract(&app, &s, &hire).await;
    assert_eq!(stock(&app, &s).await, (2, 0));
    let c = detail(&app, &s, &id).await;
    let order = c["order_id"].as_str().unwrap().to_owned();
    let o = get(&app, &s, &format!("/api/v1/admin/orders/{order}")).await;
    let line = o["order"]["lines"][0]["id"].as_str().unwrap().to_owned();
    // Staff refund a little and restock the line: the unit is back.
    let refund = json!({
        "amount": {"amount": 100, "currency": "USD"}, "reason": "goodwill",
        "restock": [{"line_id": line, "quantity": 1}]
    });
    let path = format!("/api/v1/admin/orders/{order}/refunds");
    let resp = call(&app, &s.slug, &s.token, Method::POST, &path, Some(refund)).await;
    ok(resp, 201).await;
    assert_eq!(stock(&app, &s).await, (3, 0));
    // The goods come back: the deposit is settled, the stock stays.
    let c = ok(
        act(&app, &s, &id, "return", json!({"outcome": "ok"})).await,
        200,
    )
    .await["contract"]
        .clone();
    assert_eq!(c["status"], "returned");
    assert_eq!(stock(&app, &s).await, (3, 0));
}
