//! Customers paying their own installments through the shop's payment
//! providers, the way an order is paid: the simulated `test` processor
//! confirms (or declines) through its signed webhook, which records the
//! installment once; `manual` waits for staff.

use reqwest::Method;
use serde_json::{Value, json};
use storekeep_test_support::{TestApp, problem, spawn_app_with};

use crate::commerce_support::{Shop, accept_test_payments, checkout_body, selling_shop};
use crate::identity::{customer_token, register};
use crate::orders::{SECRET, post_webhook, signed};
use crate::rentals_contract_support::{count, rental_cart, sql};
use crate::rentals_life_support::{act, get, payments, plan, unit, unit_state};
use crate::rentals_pay::{admin_contract, due_on, run_daily, without_daily_pass};
use crate::rentals_support::ok;

pub async fn app() -> TestApp {
    spawn_app_with(|s| s.payments.test_delay = std::time::Duration::from_millis(50)).await
}

/// [`app`] whose server runs no `rentals.daily` pass of its own, for a
/// test that runs the pass on today's date ([`without_daily_pass`]).
pub async fn app_without_daily_pass() -> TestApp {
    spawn_app_with(|s| {
        s.payments.test_delay = std::time::Duration::from_millis(50);
        without_daily_pass(s);
    })
    .await
}

/// A customer of the shop; their session token.
pub async fn customer(app: &TestApp, s: &Shop, email: &str) -> String {
    assert_eq!(register(app, &s.slug, email).await.status(), 201);
    customer_token(app, &s.slug, email).await
}

/// The customer rents on `plan` and checks out (the order unpaid); the
/// order's id and the contract's.
pub async fn customer_checkout(
    app: &TestApp,
    s: &Shop,
    token: &str,
    plan: &str,
) -> (String, String) {
    let item = json!({"variant_id": s.variant, "quantity": 1, "rental_plan_id": plan});
    let (status, b) = rental_cart(app, &s.slug, Some(token), item).await;
    assert_eq!(status, 201, "{b}");
    let cart = &b["cart"];
    let resp = app
        .shop(
            &s.slug,
            Method::POST,
            &format!(
                "/api/v1/store/carts/{}/checkout",
                cart["id"].as_str().unwrap()
            ),
        )
        .bearer_auth(token)
        .header("x-cart-token", cart["token"].as_str().unwrap())
        .header("idempotency-key", uuid::Uuid::now_v7().to_string())
        .json(&checkout_body("renter@example.com"))
        .send()
        .await
        .unwrap();
    let order = ok(resp, 201).await["order"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let list = get(app, s, "/api/v1/admin/rental-contracts?limit=100").await;
    let id = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["order_id"] == json!(order))
        .expect("the order's contract")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (order, id)
}

/// The customer rents on `plan`, checks out and staff mark the order paid;
/// the contract's id.
pub async fn customer_contract(app: &TestApp, s: &Shop, token: &str, plan: &str) -> String {
    let (order, id) = customer_checkout(app, s, token, plan).await;
    let path = format!("/api/v1/admin/orders/{order}/mark-paid");
    let paid = crate::rentals_support::call(app, &s.slug, &s.token, Method::POST, &path, None);
    assert_eq!(paid.await.status(), 200);
    id
}

/// `POST /api/v1/store/rentals/{id}/payments` as `token` (none: a guest).
pub async fn pay(
    app: &TestApp,
    s: &Shop,
    token: Option<&str>,
    id: &str,
    b: Value,
    key: Option<&str>,
) -> reqwest::Response {
    let path = format!("/api/v1/store/rentals/{id}/payments");
    let mut req = app.shop(&s.slug, Method::POST, &path).json(&b);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(k) = key {
        req = req.header("idempotency-key", k);
    }
    req.send().await.unwrap()
}

/// The contract once `done` holds of it (the processor answers a moment
/// after the payment starts).
pub async fn once(app: &TestApp, s: &Shop, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..100 {
        let c = admin_contract(app, s, id).await;
        if done(&c) {
            return c;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!(
        "contract {id} never got there: {}",
        admin_contract(app, s, id).await
    );
}

fn paid(c: &Value, seq: usize) -> bool {
    c["installments"][seq - 1]["paid_at"].is_string()
}

#[tokio::test]
async fn a_customer_pays_their_installments_through_the_processor_to_ownership() {
    let app = app().await;
    let s = selling_shop(&app, "selfpay", 12_000, 3).await;
    accept_test_payments(&app, &s).await;
    let renter = customer(&app, &s, "renter@example.com").await;
    let other = customer(&app, &s, "other@example.com").await;
    let plan = plan(&app, &s, json!({})).await;
    let laptop = unit(&app, &s, "SN-SELF-1").await;
    let id = customer_contract(&app, &s, &renter, &plan).await;
    let by_card = json!({"payment_provider": "test"});

    // A guest is told to log in; another customer sees no such contract.
    problem(pay(&app, &s, None, &id, by_card.clone(), None).await, 401).await;
    problem(
        pay(&app, &s, Some(&other), &id, by_card.clone(), None).await,
        404,
    )
    .await;

    // The next installment (the second), by card: pending, then confirmed.
    let b = ok(
        pay(
            &app,
            &s,
            Some(&renter),
            &id,
            by_card.clone(),
            Some("inst-2"),
        )
        .await,
        201,
    )
    .await;
    let p = &b["payment"];
    assert_eq!(p["seq"], 2);
    assert_eq!(p["status"], "pending");
    assert_eq!(p["provider"], "test");
    assert_eq!(p["amount"]["amount"], 5_000);
    let reference = p["reference"].as_str().unwrap().to_owned();
    // The same request again starts nothing new.
    let again = pay(
        &app,
        &s,
        Some(&renter),
        &id,
        by_card.clone(),
        Some("inst-2"),
    )
    .await;
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(
        ok(again, 201).await["payment"]["reference"],
        json!(reference)
    );
    // The key belongs to that payment: naming another installment under it
    // is refused, and starts nothing.
    let third = b["contract"]["installments"][2]["id"].clone();
    assert!(third.is_string(), "{b}");
    let reused = problem(
        pay(
            &app,
            &s,
            Some(&renter),
            &id,
            json!({"payment_provider": "test", "installment_id": third}),
            Some("inst-2"),
        )
        .await,
        422,
    )
    .await;
    assert!(reused.to_string().contains("Idempotency-Key"), "{reused}");

    let c = once(&app, &s, &id, |c| paid(c, 2)).await;
    assert_eq!(c["status"], "active");
    assert!(!paid(&c, 3));
    let recorded: Vec<&Value> = c["payments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["installment_id"] == c["installments"][1]["id"])
        .collect();
    assert_eq!(recorded.len(), 1, "recorded once: {c}");
    assert_eq!(recorded[0]["provider"], "test");
    assert_eq!(recorded[0]["reference"], json!(reference));
    assert_eq!(recorded[0]["amount"]["amount"], 5_000);

    // The last: the goods are the customer's.
    let b = ok(
        pay(&app, &s, Some(&renter), &id, by_card.clone(), None).await,
        201,
    )
    .await;
    assert_eq!(b["payment"]["seq"], 3);
    let c = once(&app, &s, &id, |c| c["status"] == "completed").await;
    assert_eq!(
        payments(&c),
        [
            ("deposit".to_owned(), 2_000),
            ("installment".to_owned(), 5_000),
            ("installment".to_owned(), 5_000),
            ("installment".to_owned(), 5_000),
        ]
    );
    assert_eq!(unit_state(&app, &s, &laptop).await.0, "sold");
    // Nothing is left to pay, and the customer sees their contract completed.
    problem(pay(&app, &s, Some(&renter), &id, by_card, None).await, 409).await;
    let mine = app
        .shop(&s.slug, Method::GET, &format!("/api/v1/store/rentals/{id}"))
        .bearer_auth(&renter)
        .send()
        .await
        .unwrap();
    assert_eq!(ok(mine, 200).await["contract"]["status"], "completed");

    // Started as the customer, recorded as the processor.
    let log = get(&app, &s, "/api/v1/admin/audit-log?limit=200").await;
    let actors = |action: &str| -> Vec<String> {
        log["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == action)
            .map(|e| e["actor"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let customer_id = c["customer_id"].as_str().unwrap();
    assert_eq!(
        actors("rental_contract.payment_started"),
        [
            format!("customer:{customer_id}"),
            format!("customer:{customer_id}")
        ]
    );
    assert_eq!(
        actors("rental_contract.installment_paid"),
        ["provider:test", "provider:test"]
    );
}

#[tokio::test]
async fn a_declined_payment_records_nothing_and_a_late_fee_is_paid_with_its_installment() {
    // The processor answers after 2 s, so the second request below finds
    // the first still pending even on a loaded machine (at 50 ms it could
    // come after the decline and start a payment: seen under load).
    let app = spawn_app_with(|s| s.payments.test_delay = std::time::Duration::from_secs(2)).await;
    let s = selling_shop(&app, "selfpay-late", 12_000, 3).await;
    accept_test_payments(&app, &s).await;
    let renter = customer(&app, &s, "renter@example.com").await;
    let plan = plan(&app, &s, json!({})).await;
    let id = customer_contract(&app, &s, &renter, &plan).await;
    // The second installment carries a 15.00 late fee (as the daily pass
    // charges it).
    sql(
        &app,
        &[format!(
            "UPDATE rental_installments SET late_fee = 1500 WHERE contract_id = '{id}' AND seq = 2"
        )],
    )
    .await;

    let declined = json!({"payment_provider": "test", "test_outcome": "decline"});
    let b = ok(pay(&app, &s, Some(&renter), &id, declined, None).await, 201).await;
    assert_eq!(b["payment"]["late_fee"]["amount"], 1_500);
    // While it awaits the processor, no second payment of it starts.
    let by_card = json!({"payment_provider": "test"});
    let mut answer = pay(&app, &s, Some(&renter), &id, by_card.clone(), None).await;
    assert_eq!(answer.status(), 409);
    for _ in 0..600 {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        answer = pay(&app, &s, Some(&renter), &id, by_card.clone(), None).await;
        if answer.status() != 409 {
            break;
        }
    }
    // Declined: nothing was recorded, and the customer could pay again.
    ok(answer, 201).await;
    let c = once(&app, &s, &id, |c| paid(c, 2)).await;
    assert_eq!(
        payments(&c),
        [
            ("deposit".to_owned(), 2_000),
            ("installment".to_owned(), 5_000),
            ("installment".to_owned(), 5_000),
            ("late_fee".to_owned(), 1_500),
        ]
    );

    // Naming an installment: one the contract lacks is a 422, a paid one a 409.
    let unknown = json!({"installment_id": uuid::Uuid::now_v7(), "payment_provider": "test"});
    problem(pay(&app, &s, Some(&renter), &id, unknown, None).await, 422).await;
    let first = c["installments"][0]["id"].clone();
    let paid_one = json!({"installment_id": first, "payment_provider": "test"});
    problem(pay(&app, &s, Some(&renter), &id, paid_one, None).await, 409).await;
    // A provider the shop does not take is a 422 naming it.
    let p = problem(
        pay(
            &app,
            &s,
            Some(&renter),
            &id,
            json!({"payment_provider": "cash"}),
            None,
        )
        .await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "payment_provider", "{p}");
}

#[tokio::test]
async fn a_manual_payment_waits_for_staff_to_record_it() {
    let app = app().await;
    let s = selling_shop(&app, "selfpay-bank", 12_000, 3).await;
    let renter = customer(&app, &s, "renter@example.com").await;
    let plan = plan(&app, &s, json!({})).await;
    let id = customer_contract(&app, &s, &renter, &plan).await;
    // The shop takes `manual` only: the default.
    let b = ok(
        pay(&app, &s, Some(&renter), &id, json!({}), None).await,
        201,
    )
    .await;
    assert_eq!(b["payment"]["provider"], "manual");
    assert_eq!(b["payment"]["status"], "pending");
    assert!(!paid(&b["contract"], 2));
    problem(
        pay(&app, &s, Some(&renter), &id, json!({}), None).await,
        409,
    )
    .await;
    // Staff receive the transfer and record it; the customer pays the next.
    let c = ok(
        act(
            &app,
            &s,
            &id,
            "payments",
            json!({"reference": "transfer 77"}),
        )
        .await,
        200,
    )
    .await["contract"]
        .clone();
    assert!(paid(&c, 2));
    // Recording it closed the customer's pending transfer.
    let pending = format!(
        "SELECT count(*) FROM rental_payment_attempts \
         WHERE contract_id = '{id}' AND status = 'pending'"
    );
    assert_eq!(count(&app, &pending).await, 0);
    let b = ok(
        pay(&app, &s, Some(&renter), &id, json!({}), None).await,
        201,
    )
    .await;
    assert_eq!(b["payment"]["seq"], 3);
}

#[tokio::test]
async fn an_overdue_contract_the_customer_pays_up_is_active_again() {
    let app = app_without_daily_pass().await;
    let s = selling_shop(&app, "selfpay-catchup", 12_000, 3).await;
    accept_test_payments(&app, &s).await;
    let renter = customer(&app, &s, "renter@example.com").await;
    let plan = plan(&app, &s, json!({})).await;
    let id = customer_contract(&app, &s, &renter, &plan).await;
    let today = chrono::Utc::now().date_naive();
    due_on(&app, &id, 2, today - chrono::Days::new(3)).await;
    assert_eq!(run_daily(&app, today).await["overdue"], 1);
    assert_eq!(admin_contract(&app, &s, &id).await["status"], "overdue");

    let by_card = json!({"payment_provider": "test"});
    ok(pay(&app, &s, Some(&renter), &id, by_card, None).await, 201).await;
    let c = once(&app, &s, &id, |c| paid(c, 2)).await;
    assert_eq!(c["status"], "active", "{c}");
}

/// A server whose `test` processor never answers by itself (its outcome
/// arrives an hour later): the tests post its signed events.
async fn silent_processor_app() -> TestApp {
    spawn_app_with(|s| {
        s.payments.test_webhook_secret = Some(storekeep::config::Secret::new(SECRET));
        s.payments.test_delay = std::time::Duration::from_secs(3600);
    })
    .await
}

/// The processor's signed `payment.<kind>` event `event` for `reference`;
/// the webhook's `result`.
async fn processor_says(app: &TestApp, event: &str, kind: &str, reference: &str) -> Value {
    let e =
        json!({"id": event, "type": format!("payment.{kind}"), "reference": reference}).to_string();
    let t = chrono::Utc::now().timestamp();
    let resp = post_webhook(app, &signed(SECRET, t, &e), &e).await;
    ok(resp, 200).await["result"].clone()
}

/// Moves attempt `reference` back two hours, past the shop's payment
/// timeout (1800 s), as if its customer had left the card page long ago.
async fn started_long_ago(app: &TestApp, reference: &str) {
    let at = (chrono::Utc::now() - chrono::Duration::hours(2))
        .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false);
    let at = if app.db.is_sqlite() {
        format!("'{at}'")
    } else {
        format!("'{at}'::timestamptz")
    };
    sql(
        app,
        &[format!(
            "UPDATE rental_payment_attempts SET created_at = {at} WHERE reference = '{reference}'"
        )],
    )
    .await;
}

/// The status of attempt `reference`, as stored.
async fn attempt_status(app: &TestApp, reference: &str) -> &'static str {
    for status in ["pending", "confirmed", "declined", "expired"] {
        let q = format!(
            "SELECT count(*) FROM rental_payment_attempts \
             WHERE reference = '{reference}' AND status = '{status}'"
        );
        if count(app, &q).await == 1 {
            return status;
        }
    }
    panic!("no attempt {reference}");
}

async fn audited(app: &TestApp, action: &str) -> i64 {
    count(
        app,
        &format!("SELECT count(*) FROM audit_log WHERE action = '{action}'"),
    )
    .await
}

/// The installment payments recorded on the contract (the deposit aside).
fn installments_recorded(c: &Value) -> usize {
    payments(c)
        .iter()
        .filter(|(k, _)| k == "installment")
        .count()
}

#[tokio::test]
async fn a_payment_its_provider_never_settles_expires_and_a_new_one_can_start() {
    let app = silent_processor_app().await;
    let s = selling_shop(&app, "selfpay-expiry", 12_000, 3).await;
    accept_test_payments(&app, &s).await;
    let renter = customer(&app, &s, "renter@example.com").await;
    let plan = plan(&app, &s, json!({})).await;
    let id = customer_contract(&app, &s, &renter, &plan).await;
    let by_card = json!({"payment_provider": "test"});

    let first = ok(
        pay(&app, &s, Some(&renter), &id, by_card.clone(), None).await,
        201,
    )
    .await;
    let a = first["payment"]["reference"].as_str().unwrap().to_owned();
    assert_eq!(first["payment"]["seq"], 2);
    // Within the shop's payment timeout it still blocks the installment.
    problem(
        pay(&app, &s, Some(&renter), &id, by_card.clone(), None).await,
        409,
    )
    .await;
    assert_eq!(attempt_status(&app, &a).await, "pending");

    // Past it, a new attempt of the same installment starts; the old one
    // is expired, audited, and no longer pending.
    started_long_ago(&app, &a).await;
    let second = ok(
        pay(&app, &s, Some(&renter), &id, by_card.clone(), None).await,
        201,
    )
    .await;
    let b = second["payment"]["reference"].as_str().unwrap().to_owned();
    assert_ne!(a, b);
    assert_eq!(second["payment"]["seq"], 2);
    assert_eq!(second["payment"]["status"], "pending");
    assert_eq!(attempt_status(&app, &a).await, "expired");
    assert_eq!(audited(&app, "rental_contract.payment_expired").await, 1);

    // The new attempt is confirmed: the installment is paid once.
    assert_eq!(
        processor_says(&app, "evt_b_ok", "confirmed", &b).await,
        "applied"
    );
    let c = admin_contract(&app, &s, &id).await;
    assert!(paid(&c, 2), "{c}");
    assert_eq!(installments_recorded(&c), 2, "{c}");

    // The expired attempt's confirmation arrives late: the money was taken
    // but the installment is paid, so it is audited for a refund and
    // nothing is recorded twice.
    assert_eq!(
        processor_says(&app, "evt_a_ok", "confirmed", &a).await,
        "applied"
    );
    assert_eq!(attempt_status(&app, &a).await, "confirmed");
    assert_eq!(audited(&app, "rental_contract.payment_unapplied").await, 1);
    let c = admin_contract(&app, &s, &id).await;
    assert_eq!(installments_recorded(&c), 2, "{c}");
    assert!(!paid(&c, 3), "{c}");
    // Its replay is refused as an event already processed.
    let e = json!({"id": "evt_a_ok", "type": "payment.confirmed", "reference": a}).to_string();
    let t = chrono::Utc::now().timestamp();
    problem(post_webhook(&app, &signed(SECRET, t, &e), &e).await, 409).await;
    assert_eq!(audited(&app, "rental_contract.payment_unapplied").await, 1);
    let c = admin_contract(&app, &s, &id).await;
    assert_eq!(installments_recorded(&c), 2, "{c}");
}

#[tokio::test]
async fn a_late_confirmation_of_an_expired_payment_records_an_unpaid_installment_once() {
    let app = silent_processor_app().await;
    let s = selling_shop(&app, "selfpay-late", 12_000, 3).await;
    accept_test_payments(&app, &s).await;
    let renter = customer(&app, &s, "renter@example.com").await;
    let plan = plan(&app, &s, json!({})).await;
    let id = customer_contract(&app, &s, &renter, &plan).await;
    let by_card = json!({"payment_provider": "test"});

    let first = ok(
        pay(&app, &s, Some(&renter), &id, by_card.clone(), None).await,
        201,
    )
    .await;
    let a = first["payment"]["reference"].as_str().unwrap().to_owned();
    started_long_ago(&app, &a).await;
    let second = ok(
        pay(&app, &s, Some(&renter), &id, by_card.clone(), None).await,
        201,
    )
    .await;
    let b = second["payment"]["reference"].as_str().unwrap().to_owned();
    assert_eq!(attempt_status(&app, &a).await, "expired");

    // A decline of the expired attempt changes nothing.
    assert_eq!(
        processor_says(&app, "evt_a_no", "declined", &a).await,
        "already_settled"
    );
    assert_eq!(attempt_status(&app, &a).await, "expired");
    assert_eq!(attempt_status(&app, &b).await, "pending");
    assert!(!paid(&admin_contract(&app, &s, &id).await, 2));

    // Its confirmation, the installment still unpaid, records it as an
    // on-time one would.
    assert_eq!(
        processor_says(&app, "evt_a_ok", "confirmed", &a).await,
        "applied"
    );
    assert_eq!(attempt_status(&app, &a).await, "confirmed");
    let c = admin_contract(&app, &s, &id).await;
    assert!(paid(&c, 2), "{c}");
    assert_eq!(installments_recorded(&c), 2, "{c}");
    assert_eq!(audited(&app, "rental_contract.payment_unapplied").await, 0);

    // The newer attempt confirmed too: the customer paid twice, the
    // installment is recorded once and the second sum is the shop's to
    // refund.
    assert_eq!(
        processor_says(&app, "evt_b_ok", "confirmed", &b).await,
        "applied"
    );
    let c = admin_contract(&app, &s, &id).await;
    assert_eq!(installments_recorded(&c), 2, "{c}");
    assert!(!paid(&c, 3), "{c}");
    assert_eq!(audited(&app, "rental_contract.payment_unapplied").await, 1);
}
