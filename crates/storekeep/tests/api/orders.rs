//! Orders after checkout: payments (manual and the signed `test` webhook),
//! the state machine, cancellation, refunds, expiry and the outbox.

use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Sha256;
use storekeep::config::Secret;
use storekeep_test_support::{TestApp, problem, spawn_app, spawn_app_with};

use crate::catalog_support::body;
use crate::commerce_support::{
    Shop, accept_test_payments, admin_order, cart_with, checkout, checkout_body, event_topics,
    order_action, order_of, selling_shop, set_settings, settings, stock,
};
use crate::identity::admin;

pub const SECRET: &str = "test-webhook-secret-0123456789";

pub fn signed(secret: &str, t: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("t={t},v1={hex}")
}

pub async fn post_webhook(app: &TestApp, signature: &str, body: &str) -> reqwest::Response {
    app.request(Method::POST, "/api/v1/webhooks/payments/test")
        .header("storekeep-signature", signature)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

async fn wait_for_status(app: &TestApp, s: &Shop, order: &str, status: &str) -> Value {
    for _ in 0..100 {
        let o = admin_order(app, s, order).await;
        if o["status"] == status {
            return o;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("order {order} never became {status}");
}

async fn test_provider_order(app: &TestApp, s: &Shop, outcome: &str) -> Value {
    let (cart, token) = cart_with(app, &s.slug, &[(&s.variant, 1)]).await;
    let mut b = checkout_body("pay@example.com");
    b["payment_provider"] = json!("test");
    b["test_outcome"] = json!(outcome);
    let resp = checkout(app, &s.slug, &cart, &token, &format!("k-{outcome}"), &b).await;
    let status = resp.status();
    let o = body(resp).await;
    assert_eq!(status, 201, "{o}");
    o["order"].clone()
}

#[tokio::test]
async fn the_test_processor_confirms_through_a_signed_webhook_and_the_order_is_paid_once() {
    let app = spawn_app_with(|s| {
        s.payments.test_webhook_secret = Some(Secret::new(SECRET));
        s.payments.test_delay = std::time::Duration::from_millis(50);
    })
    .await;
    let s = selling_shop(&app, "paytest", 1000, 5).await;
    accept_test_payments(&app, &s).await;
    let order = test_provider_order(&app, &s, "confirm").await;
    let id = order["id"].as_str().unwrap();
    let paid = wait_for_status(&app, &s, id, "paid").await;
    assert_eq!(paid["payments"][0]["status"], "confirmed");
    let to_paid = paid["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["to"] == "paid")
        .unwrap();
    assert_eq!(to_paid["actor"], "provider:test");
    // Payment turned the reservation into a sale.
    assert_eq!(stock(&app, &s).await, (4, 0));

    // A well-signed event for the same payment, replayed, changes nothing.
    let reference = paid["payments"][0]["reference"].as_str().unwrap();
    let event = json!({"id": "evt_replay_1", "type": "payment.confirmed", "reference": reference})
        .to_string();
    let now = chrono::Utc::now().timestamp();
    let first = post_webhook(&app, &signed(SECRET, now, &event), &event).await;
    assert_eq!(first.status(), 200);
    assert_eq!(body(first).await["result"], "already_settled");
    let again = post_webhook(&app, &signed(SECRET, now, &event), &event).await;
    problem(again, 409).await;
    let o = admin_order(&app, &s, id).await;
    let paid_moves = o["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["to"] == "paid")
        .count();
    assert_eq!(paid_moves, 1);
    let topics: Vec<String> = event_topics(&app, &s)
        .await
        .into_iter()
        .map(|(t, _)| t)
        .collect();
    assert_eq!(topics.iter().filter(|t| *t == "order.paid").count(), 1);
    assert!(topics.contains(&"payment.confirmed".to_owned()));
}

#[tokio::test]
async fn forged_stale_and_unsigned_webhooks_change_nothing() {
    let app = spawn_app_with(|s| {
        s.payments.test_webhook_secret = Some(Secret::new(SECRET));
        // The simulated processor waits long enough for the forgeries to land first.
        s.payments.test_delay = std::time::Duration::from_secs(3600);
    })
    .await;
    let s = selling_shop(&app, "forge", 1000, 5).await;
    accept_test_payments(&app, &s).await;
    let order = test_provider_order(&app, &s, "confirm").await;
    let id = order["id"].as_str().unwrap();
    let reference = order["payments"][0]["reference"].as_str().unwrap();
    let event = json!({"id": "evt_forged", "type": "payment.confirmed", "reference": reference})
        .to_string();
    let now = chrono::Utc::now().timestamp();

    let wrong_key = post_webhook(
        &app,
        &signed("not-the-secret-at-all!!", now, &event),
        &event,
    )
    .await;
    problem(wrong_key, 401).await;
    let tampered = event.replace("confirmed", "declined");
    problem(
        post_webhook(&app, &signed(SECRET, now, &event), &tampered).await,
        401,
    )
    .await;
    let stale = post_webhook(&app, &signed(SECRET, now - 3600, &event), &event).await;
    problem(stale, 401).await;
    let unsigned = app
        .request(Method::POST, "/api/v1/webhooks/payments/test")
        .header("content-type", "application/json")
        .body(event.clone())
        .send()
        .await
        .unwrap();
    problem(unsigned, 401).await;
    let manual = post_webhook(&app, &signed(SECRET, now, &event), &event).await;
    assert_eq!(manual.status(), 200, "the genuine event is accepted");
    // ...but the forged ones left no trace before it.
    let o = admin_order(&app, &s, id).await;
    assert_eq!(o["status"], "paid");
    assert_eq!(o["transitions"].as_array().unwrap().len(), 2);
    // An unknown provider is not an endpoint.
    let resp = app
        .request(Method::POST, "/api/v1/webhooks/payments/paypal")
        .body("{}")
        .send()
        .await
        .unwrap();
    problem(resp, 404).await;
}

#[tokio::test]
async fn a_declined_payment_leaves_the_order_unpaid_and_a_new_attempt_can_pay_it() {
    let app = spawn_app_with(|s| {
        s.payments.test_delay = std::time::Duration::from_secs(1);
    })
    .await;
    let s = selling_shop(&app, "decline", 1000, 5).await;
    accept_test_payments(&app, &s).await;
    let order = test_provider_order(&app, &s, "decline").await;
    let id = order["id"].as_str().unwrap();
    for _ in 0..100 {
        let o = admin_order(&app, &s, id).await;
        if o["payments"][0]["status"] == "declined" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let o = admin_order(&app, &s, id).await;
    assert_eq!(o["payments"][0]["status"], "declined");
    assert_eq!(o["status"], "pending_payment");
    assert_eq!(stock(&app, &s).await, (5, 1), "still reserved while unpaid");

    // Another buyer, another declined card: while that attempt is still
    // pending a second one is refused (both could be collected); once it is
    // declined, the buyer (by cart token) pays with an accepting card.
    let (cart, cart_token) = cart_with(&app, "decline", &[(&s.variant, 1)]).await;
    let mut b = checkout_body("pay@example.com");
    b["payment_provider"] = json!("test");
    b["test_outcome"] = json!("decline");
    let resp = checkout(&app, "decline", &cart, &cart_token, "second", &b).await;
    let second = body(resp).await["order"]["id"].as_str().unwrap().to_owned();
    let pay = || {
        app.shop(
            "decline",
            Method::POST,
            &format!("/api/v1/store/orders/{second}/payments"),
        )
        .header("x-cart-token", &cart_token)
        .json(&json!({"payment_provider": "test", "test_outcome": "confirm"}))
        .send()
    };
    // The processor answers after a second: this attempt is still pending.
    problem(pay().await.unwrap(), 409).await;
    for _ in 0..100 {
        if admin_order(&app, &s, &second).await["payments"][0]["status"] == "declined" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(pay().await.unwrap().status(), 201);
    let paid = wait_for_status(&app, &s, &second, "paid").await;
    assert_eq!(paid["payments"].as_array().unwrap().len(), 2);
    assert_eq!(paid["payments"][0]["status"], "declined");
    assert_eq!(paid["payments"][1]["status"], "confirmed");
}

#[tokio::test]
async fn staff_move_orders_through_the_state_machine_and_illegal_moves_are_409() {
    let app = spawn_app().await;
    let s = selling_shop(&app, "flow", 1000, 5).await;
    let order = order_of(&app, &s, 2).await;
    let id = order["id"].as_str().unwrap();

    // Not paid yet: cannot be fulfilled.
    problem(order_action(&app, &s, id, "fulfil").await, 409).await;
    let resp = order_action(&app, &s, id, "mark-paid").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(stock(&app, &s).await, (3, 0));
    // Paid twice? No.
    problem(order_action(&app, &s, id, "mark-paid").await, 409).await;
    problem(order_action(&app, &s, id, "cancel").await, 409).await;
    problem(order_action(&app, &s, id, "deliver").await, 409).await;
    assert_eq!(order_action(&app, &s, id, "fulfil").await.status(), 200);
    assert_eq!(order_action(&app, &s, id, "deliver").await.status(), 200);
    let o = admin_order(&app, &s, id).await;
    let path: Vec<&str> = o["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["to"].as_str().unwrap())
        .collect();
    assert_eq!(path, ["pending_payment", "paid", "fulfilled", "delivered"]);
    for t in o["transitions"].as_array().unwrap().iter().skip(1) {
        assert!(t["actor"].as_str().unwrap().starts_with("staff:"), "{t}");
        assert!(t["at"].is_string());
    }
    // Staff actions are in the audit log too.
    let resp = admin(
        &app,
        "flow",
        &s.token,
        Method::GET,
        "/api/v1/admin/audit-log",
    )
    .send()
    .await
    .unwrap();
    let log = body(resp).await.to_string();
    assert!(
        log.contains("order.fulfilled") && log.contains("order.delivered"),
        "{log}"
    );
    // Filters: by status and by email.
    let resp = admin(
        &app,
        "flow",
        &s.token,
        Method::GET,
        "/api/v1/admin/orders?status=delivered&email=BUYER@example.com",
    )
    .send()
    .await
    .unwrap();
    assert_eq!(body(resp).await["items"].as_array().unwrap().len(), 1);
    let resp = admin(
        &app,
        "flow",
        &s.token,
        Method::GET,
        "/api/v1/admin/orders?status=paid",
    )
    .send()
    .await
    .unwrap();
    assert_eq!(body(resp).await["items"].as_array().unwrap().len(), 0);
    let resp = admin(
        &app,
        "flow",
        &s.token,
        Method::GET,
        "/api/v1/admin/orders?status=lost",
    )
    .send()
    .await
    .unwrap();
    problem(resp, 400).await;
}

#[tokio::test]
async fn cancelling_an_unpaid_order_and_refunding_a_paid_one_restore_stock_exactly() {
    let app = spawn_app().await;
    let s = selling_shop(&app, "restock", 2000, 10).await;
    let a = order_of(&app, &s, 3).await;
    assert_eq!(stock(&app, &s).await, (10, 3));
    let resp = order_action(&app, &s, a["id"].as_str().unwrap(), "cancel").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(body(resp).await["order"]["status"], "cancelled");
    assert_eq!(stock(&app, &s).await, (10, 0));
    problem(
        order_action(&app, &s, a["id"].as_str().unwrap(), "cancel").await,
        409,
    )
    .await;

    let b = order_of(&app, &s, 4).await;
    let id = b["id"].as_str().unwrap();
    assert_eq!(order_action(&app, &s, id, "mark-paid").await.status(), 200);
    assert_eq!(stock(&app, &s).await, (6, 0));
    let line = b["lines"][0]["id"].as_str().unwrap();
    let total = b["total"]["amount"].as_i64().unwrap();
    let refund = |amount: i64, restock: i64| {
        let app = &app;
        let s = &s;
        async move {
            admin(app, &s.slug, &s.token, Method::POST, &format!("/api/v1/admin/orders/{id}/refunds"))
                .json(&json!({
                    "amount": {"amount": amount, "currency": "USD"},
                    "reason": "returned",
                    "restock": if restock > 0 { json!([{"line_id": line, "quantity": restock}]) } else { json!([]) }
                }))
                .send()
                .await
                .unwrap()
        }
    };
    // Partial: one unit back, part of the money; the order stays paid.
    let resp = refund(2000, 1).await;
    assert_eq!(resp.status(), 201);
    let o = body(resp).await["order"].clone();
    assert_eq!(o["status"], "paid");
    assert_eq!(o["refunded"]["amount"], 2000);
    assert_eq!(o["lines"][0]["restocked"], 1);
    assert_eq!(stock(&app, &s).await, (7, 0));
    // More than is left, or restocking more than was sold: refused, no change.
    problem(refund(total, 0).await, 409).await;
    problem(refund(1, 4).await, 409).await;
    assert_eq!(stock(&app, &s).await, (7, 0));
    // The rest: the order is refunded, every unit back.
    let resp = refund(total - 2000, 3).await;
    assert_eq!(resp.status(), 201);
    let o = body(resp).await["order"].clone();
    assert_eq!(o["status"], "refunded");
    assert_eq!(o["refunds"].as_array().unwrap().len(), 2);
    assert_eq!(stock(&app, &s).await, (10, 0));
    problem(refund(1, 0).await, 409).await;

    let topics: Vec<String> = event_topics(&app, &s)
        .await
        .into_iter()
        .map(|(t, _)| t)
        .collect();
    for t in [
        "order.created",
        "payment.created",
        "order.cancelled",
        "order.paid",
        "refund.created",
        "order.refunded",
    ] {
        assert!(
            topics.contains(&t.to_owned()),
            "{t} missing from {topics:?}"
        );
    }
    // Ledger: the sale and the restocks are recorded.
    let resp = admin(
        &app,
        "restock",
        &s.token,
        Method::GET,
        &format!("/api/v1/admin/variants/{}/inventory", s.variant),
    )
    .send()
    .await
    .unwrap();
    let ledger = body(resp).await.to_string();
    assert!(
        ledger.contains(&format!("order {id} paid"))
            && ledger.contains(&format!("order {id} refund")),
        "{ledger}"
    );
}

#[tokio::test]
async fn an_unpaid_order_expires_and_releases_its_stock() {
    let app = spawn_app_with(|s| {
        s.order_expiry_interval = std::time::Duration::from_millis(200);
    })
    .await;
    let s = selling_shop(&app, "expire", 1000, 4).await;
    set_settings(&app, "expire", &s.token, &settings(1)).await;
    let o = order_of(&app, &s, 3).await;
    assert_eq!(stock(&app, &s).await, (4, 3));
    let id = o["id"].as_str().unwrap();
    let expired = wait_for_status(&app, &s, id, "cancelled").await;
    let last = expired["transitions"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["actor"], "system");
    assert_eq!(last["reason"], "payment timeout");
    assert_eq!(stock(&app, &s).await, (4, 0));
    // Paying it now is too late.
    problem(order_action(&app, &s, id, "mark-paid").await, 409).await;
    // A paid order is never expired.
    let paid = order_of(&app, &s, 1).await;
    assert_eq!(
        order_action(&app, &s, paid["id"].as_str().unwrap(), "mark-paid")
            .await
            .status(),
        200
    );
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(
        admin_order(&app, &s, paid["id"].as_str().unwrap()).await["status"],
        "paid"
    );
}

#[tokio::test]
async fn every_order_change_writes_an_outbox_event_in_order() {
    let app = spawn_app().await;
    let s = selling_shop(&app, "outbox", 1000, 5).await;
    let o = order_of(&app, &s, 1).await;
    let id = o["id"].as_str().unwrap();
    order_action(&app, &s, id, "mark-paid").await;
    order_action(&app, &s, id, "fulfil").await;
    let events = event_topics(&app, &s).await;
    let topics: Vec<&str> = events.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        topics,
        [
            "order.created",
            "payment.created",
            "payment.confirmed",
            "order.paid",
            "order.fulfilled"
        ]
    );
    for (_, payload) in &events {
        assert_eq!(payload["order_id"], id);
    }
    // Viewers read orders but cannot act.
    let resp = admin(
        &app,
        "outbox",
        &s.token,
        Method::GET,
        "/api/v1/admin/events?topic=order.paid",
    )
    .send()
    .await
    .unwrap();
    assert_eq!(body(resp).await["items"].as_array().unwrap().len(), 1);
}
