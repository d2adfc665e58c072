//! The contract life cycle after checkout: paid to ownership, bought out
//! early, returned with inspection, extended; through the HTTP API.

use serde_json::json;
use storekeep_test_support::spawn_app;

use crate::commerce_support::{event_topics, selling_shop};
use crate::rentals_life_support::{act, contract, get, payments, plan, unit, unit_state};
use crate::rentals_support::ok;

#[tokio::test]
async fn a_rent_to_own_contract_paid_in_full_completes_and_its_unit_is_sold() {
    let app = spawn_app().await;
    let s = selling_shop(&app, "own", 12_000, 3).await;
    let plan = plan(&app, &s, json!({})).await;
    let laptop = unit(&app, &s, "SN-OWN-1").await;
    let id = contract(&app, &s, &plan).await;
    let path = format!("/api/v1/admin/rental-contracts/{id}");

    // Checkout paid the deposit and the first of three installments.
    let c = get(&app, &s, &path).await["contract"].clone();
    assert_eq!(c["unit_id"], json!(laptop));
    assert_eq!(c["status"], "active");
    // The second: still running.
    let c = ok(act(&app, &s, &id, "payments", json!({})).await, 200).await["contract"].clone();
    assert_eq!(c["status"], "active");
    assert_eq!(unit_state(&app, &s, &laptop).await.0, "rented");
    // The last: the goods are the customer's.
    let c = ok(act(&app, &s, &id, "payments", json!({})).await, 200).await["contract"].clone();
    assert_eq!(c["status"], "completed", "{c}");
    assert_eq!(
        payments(&c),
        [
            ("deposit".to_owned(), 2_000),
            ("installment".to_owned(), 5_000),
            ("installment".to_owned(), 5_000),
            ("installment".to_owned(), 5_000),
        ]
    );
    let (status, history) = unit_state(&app, &s, &laptop).await;
    assert_eq!(status, "sold");
    assert_eq!(history, ["sold", "rented", "added"]);
    let topics = event_topics(&app, &s).await;
    let done = topics
        .iter()
        .find(|(t, _)| t == "rental.contract_completed")
        .expect("a rental.contract_completed event");
    assert_eq!(done.1["contract_id"], json!(id));
    assert_eq!(done.1["unit_id"], json!(laptop));
    // A completed contract takes no more payments.
    ok(act(&app, &s, &id, "payments", json!({})).await, 409).await;
}

#[tokio::test]
async fn a_fixed_term_contract_paid_in_full_stays_active_until_returned() {
    let app = spawn_app().await;
    let s = selling_shop(&app, "hire", 12_000, 3).await;
    let plan = plan(
        &app,
        &s,
        json!({"kind": "fixed_term", "term": 2, "max_term": 2}),
    )
    .await;
    let laptop = unit(&app, &s, "SN-HIRE-1").await;
    let id = contract(&app, &s, &plan).await;
    let c = ok(act(&app, &s, &id, "payments", json!({})).await, 200).await["contract"].clone();
    assert_eq!(c["status"], "active");
    assert!(c["installments"][1]["paid_at"].is_string());
    assert_eq!(unit_state(&app, &s, &laptop).await.0, "rented");
    let topics = event_topics(&app, &s).await;
    assert!(!topics.iter().any(|(t, _)| t == "rental.contract_completed"));
}
