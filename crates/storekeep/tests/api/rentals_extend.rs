//! Extending a running contract: the new installments keep the schedule's
//! month-end anchor, the term stays within the plan's maximum, only terms
//! that allow it and running contracts are extended, and the contract's
//! view, audit trail and outbox show it.

use reqwest::Method;
use serde_json::{Value, json};
use storekeep_test_support::{problem, spawn_app};

use crate::commerce_support::{event_topics, selling_shop};
use crate::rentals_contract_support::sql;
use crate::rentals_life_support::{act, contract, get, plan};
use crate::rentals_pay::admin_contract;
use crate::rentals_support::{call, ok};

fn due_dates(c: &Value) -> Vec<String> {
    c["installments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["due_date"].as_str().unwrap().to_owned())
        .collect()
}

/// The `422`'s only field.
async fn refused_on_periods(resp: reqwest::Response) -> String {
    let p = problem(resp, 422).await;
    let errors = p["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{p}");
    assert_eq!(errors[0]["field"], "periods", "{p}");
    errors[0]["message"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_contract_started_on_31_january_is_extended_on_its_month_end_anchor() {
    let app = spawn_app().await;
    let s = selling_shop(&app, "extend", 12_000, 3).await;
    let plan = plan(
        &app,
        &s,
        json!({"term": 3, "max_term": 6, "extension_allowed": true}),
    )
    .await;
    let id = contract(&app, &s, &plan).await;
    // The contract started on 31 January 2027: due 31 January, 28
    // February, 31 March.
    let mut moves = vec![format!(
        "UPDATE rental_contracts SET start_date = '2027-01-31' WHERE id = '{id}'"
    )];
    for (seq, due) in [(1, "2027-01-31"), (2, "2027-02-28"), (3, "2027-03-31")] {
        moves.push(format!(
            "UPDATE rental_installments SET due_date = '{due}' \
             WHERE contract_id = '{id}' AND seq = {seq}"
        ));
    }
    sql(&app, &moves).await;

    let c = ok(
        act(&app, &s, &id, "extend", json!({"periods": 2})).await,
        200,
    )
    .await["contract"]
        .clone();
    assert_eq!(c["term"], 5);
    assert_eq!(
        due_dates(&c),
        [
            "2027-01-31",
            "2027-02-28",
            "2027-03-31",
            "2027-04-30",
            "2027-05-31"
        ]
    );
    let added = &c["installments"].as_array().unwrap()[3..];
    assert!(added.iter().all(|i| i["amount"]["amount"] == 5_000));
    assert!(added.iter().all(|i| i["paid_at"].is_null()));
    // The disclosures count the new term.
    let d = &c["disclosures"];
    assert_eq!(d["number_of_payments"], 5);
    assert_eq!(d["total_of_payments"]["amount"], 25_000);
    assert_eq!(d["cost_over_cash_price"]["amount"], 13_000);
    // The same as read back.
    let read = admin_contract(&app, &s, &id).await;
    assert_eq!(read["term"], 5);
    assert_eq!(due_dates(&read).len(), 5);

    // Beyond the plan's maximum (5 + 2 > 6): refused, nothing added.
    let message =
        refused_on_periods(act(&app, &s, &id, "extend", json!({"periods": 2})).await).await;
    assert!(message.contains('6'), "{message}");
    refused_on_periods(act(&app, &s, &id, "extend", json!({"periods": 0})).await).await;
    refused_on_periods(act(&app, &s, &id, "extend", json!({"periods": i32::MAX})).await).await;
    assert_eq!(due_dates(&admin_contract(&app, &s, &id).await).len(), 5);
    // Up to it: fine.
    let c = ok(
        act(&app, &s, &id, "extend", json!({"periods": 1})).await,
        200,
    )
    .await["contract"]
        .clone();
    assert_eq!(due_dates(&c)[5], "2027-06-30");

    // Audited and published, once per extension.
    let log = get(&app, &s, "/api/v1/admin/audit-log?limit=200").await;
    let extended = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "rental_contract.extended")
        .count();
    assert_eq!(extended, 2, "{log}");
    let events: Vec<Value> = event_topics(&app, &s)
        .await
        .into_iter()
        .filter(|(t, _)| t == "rental.contract_extended")
        .map(|(_, p)| p)
        .collect();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["contract_id"], json!(id));
    assert_eq!(events[0]["to_term"], 5);
    assert_eq!(events[0]["last_due_date"], "2027-05-31");
}

#[tokio::test]
async fn only_running_contracts_whose_terms_allow_it_are_extended() {
    let app = spawn_app().await;
    let s = selling_shop(&app, "noextend", 12_000, 3).await;
    // The default plan allows no extension.
    let fixed = plan(&app, &s, json!({"term": 2, "max_term": 6})).await;
    let id = contract(&app, &s, &fixed).await;
    let message =
        refused_on_periods(act(&app, &s, &id, "extend", json!({"periods": 1})).await).await;
    assert!(message.contains("extension"), "{message}");
    assert_eq!(admin_contract(&app, &s, &id).await["term"], 2);

    // A completed contract (one period, paid with its order) is not running.
    let once = plan(
        &app,
        &s,
        json!({"term": 1, "max_term": 3, "extension_allowed": true}),
    )
    .await;
    let done = contract(&app, &s, &once).await;
    assert_eq!(admin_contract(&app, &s, &done).await["status"], "completed");
    problem(
        act(&app, &s, &done, "extend", json!({"periods": 1})).await,
        409,
    )
    .await;
    // A malformed body is a 422, an unknown contract a 404.
    let p = problem(
        act(&app, &s, &id, "extend", json!({"periods": "two"})).await,
        422,
    )
    .await;
    assert!(p.to_string().contains("periods"), "{p}");
    let unknown = uuid::Uuid::now_v7();
    problem(
        act(
            &app,
            &s,
            &unknown.to_string(),
            "extend",
            json!({"periods": 1}),
        )
        .await,
        404,
    )
    .await;
    // Without a credential: refused.
    let path = format!("/api/v1/admin/rental-contracts/{id}/extend");
    let resp = call(
        &app,
        &s.slug,
        "not-a-token",
        Method::POST,
        &path,
        Some(json!({"periods": 1})),
    )
    .await;
    assert_eq!(resp.status(), 401);
}

#[tokio::test]
async fn an_extension_into_a_leap_february_falls_due_on_the_29th() {
    let app = spawn_app().await;
    let s = selling_shop(&app, "leap", 12_000, 3).await;
    let plan = plan(
        &app,
        &s,
        json!({"term": 2, "min_term": 2, "max_term": 4, "extension_allowed": true}),
    )
    .await;
    let id = contract(&app, &s, &plan).await;
    // Started on 30 November 2027: due 30 November and 30 December.
    let mut moves = vec![format!(
        "UPDATE rental_contracts SET start_date = '2027-11-30' WHERE id = '{id}'"
    )];
    for (seq, due) in [(1, "2027-11-30"), (2, "2027-12-30")] {
        moves.push(format!(
            "UPDATE rental_installments SET due_date = '{due}' \
             WHERE contract_id = '{id}' AND seq = {seq}"
        ));
    }
    sql(&app, &moves).await;
    let c = ok(
        act(&app, &s, &id, "extend", json!({"periods": 2})).await,
        200,
    )
    .await["contract"]
        .clone();
    // 2028 is a leap year: the anchor day 30 becomes 29 February.
    assert_eq!(
        due_dates(&c),
        ["2027-11-30", "2027-12-30", "2028-01-30", "2028-02-29"]
    );
}
