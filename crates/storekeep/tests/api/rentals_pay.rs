//! Paying installments and what a payment does to a contract: an overdue
//! contract paid up runs again; a one-period rent-to-own contract completes
//! with its order's payment (staff `mark-paid` or the `test` processor).

use chrono::{Days, NaiveDate, Utc};
use reqwest::Method;
use serde_json::{Value, json};
use storekeep::config::Settings;
use storekeep::jobs::kinds::MAINTENANCE;
use storekeep_test_support::{TestApp, spawn_app, spawn_app_with, storekeep_command};

use crate::commerce_support::{
    Shop, accept_test_payments, cart_req, checkout_body, event_topics, selling_shop,
};
use crate::rentals_contract_support::{rental_cart, sql};
use crate::rentals_life_support::{act, contract, get, payments, plan, unit, unit_state};
use crate::rentals_support::ok;

const BIN: &str = env!("CARGO_BIN_EXE_storekeep");

/// Settings for an app whose server never runs its own `rentals.daily`
/// pass: its job runner works every queue but `maintenance` (the pass's
/// queue), so the passes a test runs on today's date are the only ones.
/// With the server's hourly pass about, a pass of its that ran between a
/// test's set-up and its own pass took the work the test's pass reports
/// (each claim is made once), and one running alongside could still be
/// committing when the test looked.
pub fn without_daily_pass(s: &mut Settings) {
    s.jobs.queues.retain(|(queue, _)| queue != MAINTENANCE);
    assert!(!s.jobs.queues.is_empty());
}

/// Runs `storekeep rentals run-daily --date <date>`; what it reports.
/// The app's server must not run passes of its own ([`without_daily_pass`]).
pub async fn run_daily(app: &TestApp, date: NaiveDate) -> Value {
    let mut c = storekeep_command(BIN, &app.db);
    c.args(["rentals", "run-daily", "--date", &date.to_string()]);
    let out = tokio::task::spawn_blocking(move || c.output())
        .await
        .unwrap()
        .unwrap();
    assert!(
        out.status.success(),
        "run-daily {date}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Moves installment `seq` of contract `id` to fall due on `due` (test
/// data only: the schedule in time).
pub async fn due_on(app: &TestApp, id: &str, seq: i32, due: NaiveDate) {
    sql(
        app,
        &[format!(
            "UPDATE rental_installments SET due_date = '{due}' \
             WHERE contract_id = '{id}' AND seq = {seq}"
        )],
    )
    .await;
}

pub async fn admin_contract(app: &TestApp, s: &Shop, id: &str) -> Value {
    get(app, s, &format!("/api/v1/admin/rental-contracts/{id}")).await["contract"].clone()
}

#[tokio::test]
async fn an_overdue_contract_paid_up_is_active_again() {
    let app = spawn_app_with(without_daily_pass).await;
    let s = selling_shop(&app, "catchup", 12_000, 3).await;
    let plan = plan(&app, &s, json!({"term": 4, "max_term": 4})).await;
    let id = contract(&app, &s, &plan).await;
    // Installments 2 and 3 fell due 10 and 5 days ago; 4 is months away.
    let today = Utc::now().date_naive();
    due_on(&app, &id, 2, today - Days::new(10)).await;
    due_on(&app, &id, 3, today - Days::new(5)).await;
    let did = run_daily(&app, today).await;
    assert_eq!(did["overdue"], 1, "{did}");
    assert_eq!(admin_contract(&app, &s, &id).await["status"], "overdue");

    // Paying the second leaves the third late: still overdue.
    let c = ok(act(&app, &s, &id, "payments", json!({})).await, 200).await["contract"].clone();
    assert!(c["installments"][1]["paid_at"].is_string());
    assert_eq!(c["status"], "overdue");
    // Paying the third: nothing is late, the fourth is not due yet.
    let c = ok(act(&app, &s, &id, "payments", json!({})).await, 200).await["contract"].clone();
    assert_eq!(c["status"], "active", "{c}");
    assert!(c["installments"][3]["paid_at"].is_null());
    // The next pass finds nothing late.
    let did = run_daily(&app, today).await;
    assert_eq!(did["overdue"], 0, "{did}");
    assert_eq!(admin_contract(&app, &s, &id).await["status"], "active");
}

/// A guest checks out a one-period rent-to-own rental of `plan` paying
/// with `provider`; the order's id.
async fn checkout_rental(app: &TestApp, s: &Shop, plan: &str, provider: &str) -> String {
    let item = json!({"variant_id": s.variant, "quantity": 1, "rental_plan_id": plan});
    let (status, b) = rental_cart(app, &s.slug, None, item).await;
    assert_eq!(status, 201, "{b}");
    let cart = &b["cart"];
    let mut body = checkout_body("renter@example.com");
    body["payment_provider"] = json!(provider);
    body["test_outcome"] = json!("confirm");
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
    .json(&body)
    .send()
    .await
    .unwrap();
    ok(resp, 201).await["order"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The contract of `order`, once its status is `status` (the `test`
/// processor confirms a moment after checkout).
async fn contract_of_order(app: &TestApp, s: &Shop, order: &str, status: &str) -> Value {
    for _ in 0..100 {
        let list = get(app, s, "/api/v1/admin/rental-contracts?limit=100").await;
        let found = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["order_id"] == json!(order))
            .cloned();
        if let Some(c) = found.filter(|c| c["status"] == status) {
            let id = c["id"].as_str().unwrap();
            return admin_contract(app, s, id).await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the contract of order {order} never became {status}");
}

/// The contract is completed, paid by `provider`, its unit sold, and one
/// `rental.contract_completed` event names it.
async fn completed_with_the_order(
    app: &TestApp,
    s: &Shop,
    c: &Value,
    unit_id: &str,
    provider: &str,
) {
    assert_eq!(c["status"], "completed", "{c}");
    assert_eq!(
        payments(c),
        [
            ("deposit".to_owned(), 2_000),
            ("installment".to_owned(), 5_000)
        ]
    );
    assert!(
        c["payments"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["provider"] == provider),
        "{c}"
    );
    let (status, history) = unit_state(app, s, unit_id).await;
    assert_eq!(status, "sold");
    assert_eq!(history, ["sold", "rented", "added"]);
    let completed: Vec<Value> = event_topics(app, s)
        .await
        .into_iter()
        .filter(|(t, _)| t == "rental.contract_completed")
        .map(|(_, p)| p)
        .collect();
    assert_eq!(completed.len(), 1, "{completed:?}");
    assert_eq!(completed[0]["contract_id"], c["id"]);
    assert_eq!(completed[0]["unit_id"], json!(unit_id));
}

#[tokio::test]
async fn a_one_period_rent_to_own_contract_completes_when_staff_mark_its_order_paid() {
    let app = spawn_app().await;
    let s = selling_shop(&app, "oneoff", 4_000, 3).await;
    let plan = plan(&app, &s, json!({"term": 1, "max_term": 1})).await;
    let laptop = unit(&app, &s, "SN-ONE-1").await;
    let id = contract(&app, &s, &plan).await;
    let c = admin_contract(&app, &s, &id).await;
    completed_with_the_order(&app, &s, &c, &laptop, "manual").await;
    // Nothing is left to pay.
    ok(act(&app, &s, &id, "payments", json!({})).await, 409).await;
}

#[tokio::test]
async fn a_one_period_rent_to_own_contract_completes_when_the_processor_confirms_its_order() {
    let app = spawn_app_with(|s| {
        s.payments.test_delay = std::time::Duration::from_millis(50);
    })
    .await;
    let s = selling_shop(&app, "oneoff-card", 4_000, 3).await;
    accept_test_payments(&app, &s).await;
    let plan = plan(&app, &s, json!({"term": 1, "max_term": 1})).await;
    let laptop = unit(&app, &s, "SN-CARD-1").await;
    let order = checkout_rental(&app, &s, &plan, "test").await;
    let c = contract_of_order(&app, &s, &order, "completed").await;
    completed_with_the_order(&app, &s, &c, &laptop, "test").await;
}
