//! Early buy-out of rent-to-own contracts through the HTTP API: the quote
//! by each rule kind with its exact numbers, late fees owed on top, the
//! buy-out recorded once, and the refusals.

use chrono::{Days, NaiveDate};
use reqwest::Method;
use serde_json::{Value, json};
use storekeep_test_support::{TestApp, problem, spawn_app, storekeep_command};

use crate::catalog_support::{body, money};
use crate::commerce_support::{Shop, event_topics, selling_shop};
use crate::rentals_contract_support::{count, seed_contract};
use crate::rentals_glue::customer;
use crate::rentals_life_support::{act, contract, get, payments, plan, unit, unit_state};
use crate::rentals_support::{call, ok};

const BIN: &str = env!("CARGO_BIN_EXE_storekeep");

/// The admin quote of contract `id`: its status and body.
async fn quote(app: &TestApp, s: &Shop, id: &str) -> (u16, Value) {
    let path = format!("/api/v1/admin/rental-contracts/{id}/buyout");
    let resp = call(app, &s.slug, &s.token, Method::GET, &path, None).await;
    let status = resp.status().as_u16();
    (status, body(resp).await)
}

/// Runs the daily pass for `date` (`storekeep rentals run-daily --date`).
async fn run_daily(app: &TestApp, date: NaiveDate) {
    let mut c = storekeep_command(BIN, &app.db);
    c.args(["rentals", "run-daily", "--date", &date.to_string()]);
    let out = tokio::task::spawn_blocking(move || c.output())
        .await
        .unwrap()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn a_buyout_costs_the_cash_price_less_half_the_rent_paid_and_sells_the_unit_once() {
    let app = spawn_app().await;
    // Cash price 120.00; three installments of 50.00, the first paid at
    // checkout; buy-out at the cash price less 50 % of the rent paid.
    let s = selling_shop(&app, "early", 12_000, 3).await;
    let rule = json!({"buyout": {"type": "cash_price_minus_rent", "bps": 5_000}});
    let plan = plan(&app, &s, rule).await;
    let laptop = unit(&app, &s, "SN-EARLY-1").await;
    let id = contract(&app, &s, &plan).await;

    // 12 000 − 50 % × 5 000 = 9 500.
    let (status, q) = quote(&app, &s, &id).await;
    assert_eq!(status, 200, "{q}");
    let q = &q["buyout"];
    assert_eq!(q["buyout_price"], money(9_500));
    assert_eq!(q["late_fees"], money(0));
    assert_eq!(q["total"], money(9_500));
    assert_eq!(q["rent_paid"], money(5_000));
    assert_eq!(q["remaining"], money(10_000));
    assert_eq!(
        q["rule"],
        json!({"type": "cash_price_minus_rent", "bps": 5_000})
    );
    assert_eq!(
        q["terms"],
        "You may buy the goods at any time for the cash price less 50% of the rent paid so far."
    );

    let b = json!({"amount": 9_500, "reference": "receipt 2001"});
    let c = ok(act(&app, &s, &id, "buyout", b.clone()).await, 200).await["contract"].clone();
    assert_eq!(c["status"], "bought_out");
    assert_eq!(
        payments(&c),
        [
            ("deposit".to_owned(), 2_000),
            ("installment".to_owned(), 5_000),
            ("buyout".to_owned(), 9_500),
        ]
    );
    let buyout = &c["payments"][2];
    assert_eq!(buyout["provider"], "manual");
    assert_eq!(buyout["reference"], "receipt 2001");
    // The installments not yet paid stay unpaid: the buy-out closed them.
    let unpaid: Vec<bool> = c["installments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["paid_at"].is_null())
        .collect();
    assert_eq!(unpaid, [false, true, true]);
    let (unit_status, history) = unit_state(&app, &s, &laptop).await;
    assert_eq!(unit_status, "sold");
    assert_eq!(history, ["sold", "rented", "added"]);
    // Each row names who wrote it: the owner sold (bought out) and added
    // the unit, the guest's checkout (`contract` checks out without an
    // account) rented it.
    let owner = crate::catalog_support::actor_of(&app, &s.slug, &s.token).await;
    let actors = crate::rentals_life_support::unit_actors(&app, &s, &laptop).await;
    assert_eq!(actors[0], owner, "{actors:?}");
    assert_eq!(actors[1], "guest", "{actors:?}");
    assert_eq!(actors[2], owner, "{actors:?}");
    let topics = event_topics(&app, &s).await;
    let events: Vec<&Value> = topics
        .iter()
        .filter(|(t, _)| t == "rental.contract_bought_out")
        .map(|(_, p)| p)
        .collect();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["contract_id"], json!(id));
    assert_eq!(events[0]["unit_id"], json!(laptop));
    assert_eq!(events[0]["amount"], 9_500);
    let audited = "SELECT count(*) FROM audit_log WHERE action = 'rental_contract.bought_out'";
    assert_eq!(count(&app, audited).await, 1);

    // Twice: refused, one buy-out payment; and no more quote.
    let p = problem(act(&app, &s, &id, "buyout", b).await, 409).await;
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("not active or overdue"),
        "{p}"
    );
    let c = get(&app, &s, &format!("/api/v1/admin/rental-contracts/{id}")).await;
    assert_eq!(payments(&c["contract"]).len(), 3);
    assert_eq!(quote(&app, &s, &id).await.0, 409);
    // A bought-out contract takes no installments.
    ok(act(&app, &s, &id, "payments", json!({})).await, 409).await;
}

#[tokio::test]
async fn a_remaining_share_buyout_and_a_changed_quote() {
    let app = spawn_app().await;
    let s = selling_shop(&app, "share", 12_000, 3).await;
    let rule = json!({"buyout": {"type": "remaining_share", "bps": 8_000}});
    let plan = plan(&app, &s, rule).await;
    let id = contract(&app, &s, &plan).await;
    // After one installment: 80 % of 10 000 = 8 000.
    assert_eq!(
        quote(&app, &s, &id).await.1["buyout"]["total"],
        money(8_000)
    );
    // Staff take the second: 80 % of 5 000 = 4 000.
    ok(act(&app, &s, &id, "payments", json!({})).await, 200).await;
    let (_, q) = quote(&app, &s, &id).await;
    assert_eq!(q["buyout"]["buyout_price"], money(4_000));
    assert_eq!(q["buyout"]["rent_paid"], money(10_000));
    assert_eq!(q["buyout"]["remaining"], money(5_000));

    // The old quote's amount: refused, nothing recorded.
    let p = problem(
        act(&app, &s, &id, "buyout", json!({"amount": 8_000})).await,
        409,
    )
    .await;
    assert!(
        p["detail"].as_str().unwrap().contains("quote changed"),
        "{p}"
    );
    let path = format!("/api/v1/admin/rental-contracts/{id}");
    let c = get(&app, &s, &path).await["contract"].clone();
    assert_eq!(c["status"], "active");
    assert_eq!(payments(&c).len(), 3);
    // Without an amount: the quote now. This contract rents ordinary
    // stock (no unit).
    let c = ok(act(&app, &s, &id, "buyout", json!({})).await, 200).await["contract"].clone();
    assert_eq!(c["status"], "bought_out");
    assert_eq!(c["unit"], Value::Null);
    assert_eq!(payments(&c).last().unwrap(), &("buyout".to_owned(), 4_000));
    assert_eq!(c["payments"][3]["reference"], "staff");
}

#[tokio::test]
async fn late_fees_owed_are_paid_with_the_buyout() {
    let app = spawn_app().await;
    let s = selling_shop(&app, "late", 12_000, 3).await;
    let rule = json!({
        "buyout": {"type": "cash_price_minus_rent", "bps": 5_000},
        "late_fee": {"type": "fixed", "amount": 750, "grace_days": 5},
    });
    let plan = plan(&app, &s, rule).await;
    let id = contract(&app, &s, &plan).await;
    let path = format!("/api/v1/admin/rental-contracts/{id}");
    let c = get(&app, &s, &path).await["contract"].clone();
    let due: NaiveDate = c["installments"][1]["due_date"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    // Six days after the second installment fell due: its fee, overdue.
    run_daily(&app, due.checked_add_days(Days::new(6)).unwrap()).await;
    let c = get(&app, &s, &path).await["contract"].clone();
    assert_eq!(c["status"], "overdue");
    assert_eq!(c["installments"][1]["late_fee"], money(750));

    let (_, q) = quote(&app, &s, &id).await;
    assert_eq!(q["buyout"]["buyout_price"], money(9_500));
    assert_eq!(q["buyout"]["late_fees"], money(750));
    assert_eq!(q["buyout"]["total"], money(10_250));
    let b = json!({"amount": 10_250});
    let c = ok(act(&app, &s, &id, "buyout", b).await, 200).await["contract"].clone();
    assert_eq!(c["status"], "bought_out");
    assert_eq!(
        payments(&c),
        [
            ("deposit".to_owned(), 2_000),
            ("installment".to_owned(), 5_000),
            ("buyout".to_owned(), 9_500),
            ("late_fee".to_owned(), 750),
        ]
    );
    assert_eq!(
        c["payments"][3]["installment_id"],
        c["installments"][1]["id"]
    );
}

#[tokio::test]
async fn fixed_term_ruleless_and_other_customers_contracts_have_no_buyout() {
    let app = spawn_app().await;
    let s = selling_shop(&app, "nobuy", 60_000, 5).await;
    // Fixed-term: no quote, no buy-out.
    let hire = plan(&app, &s, json!({"kind": "fixed_term"})).await;
    let fixed = contract(&app, &s, &hire).await;
    let (status, p) = quote(&app, &s, &fixed).await;
    assert_eq!(status, 409);
    assert!(p["detail"].as_str().unwrap().contains("fixed-term"), "{p}");
    problem(act(&app, &s, &fixed, "buyout", json!({})).await, 409).await;
    // Rent-to-own without a buy-out rule.
    let plain = plan(&app, &s, json!({})).await;
    let ruleless = contract(&app, &s, &plain).await;
    let (status, p) = quote(&app, &s, &ruleless).await;
    assert_eq!(status, 409);
    assert!(
        p["detail"].as_str().unwrap().contains("no buy-out rule"),
        "{p}"
    );
    problem(act(&app, &s, &ruleless, "buyout", json!({})).await, 409).await;
    let path = format!("/api/v1/admin/rental-contracts/{ruleless}");
    assert_eq!(payments(&get(&app, &s, &path).await["contract"]).len(), 2);

    // The customer's own quote (12 × 60.00, buy-out at the cash price less
    // half the rent paid): 60 000 − 3 000; anyone else's is not found.
    let ada = customer(&app, "nobuy", "ada@example.com").await;
    let own = seed_contract(&app, "nobuy", &s.token, &ada, &s.variant).await;
    let url = format!("/api/v1/store/rentals/{own}/buyout");
    let resp = app
        .shop("nobuy", Method::GET, &url)
        .bearer_auth(&ada)
        .send()
        .await
        .unwrap();
    let b = ok(resp, 200).await;
    assert_eq!(b["buyout"]["buyout_price"], money(57_000));
    assert_eq!(b["buyout"]["total"], money(57_000));
    let bob = customer(&app, "nobuy", "bob@example.com").await;
    let resp = app
        .shop("nobuy", Method::GET, &url)
        .bearer_auth(&bob)
        .send()
        .await
        .unwrap();
    problem(resp, 404).await;
    let guest = app.shop("nobuy", Method::GET, &url).send().await.unwrap();
    problem(guest, 401).await;
    // A guest's contract is no customer's.
    let theirs = format!("/api/v1/store/rentals/{fixed}/buyout");
    let resp = app
        .shop("nobuy", Method::GET, &theirs)
        .bearer_auth(&ada)
        .send()
        .await
        .unwrap();
    problem(resp, 404).await;
}
