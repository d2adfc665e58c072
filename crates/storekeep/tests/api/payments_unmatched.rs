//! Unmatched payments: a processor confirms money for an order no longer
//! awaiting it (here: cancelled while its payment was pending). The API
//! lists it and staff mark it resolved; the console's first screen counts
//! it and its page resolves it.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use storekeep::config::Secret;
use storekeep_test_support::{TestApp, problem, spawn_app_with};

use crate::catalog_support::body;
use crate::commerce_support::{
    Shop, accept_test_payments, admin_order, cart_with, checkout, checkout_body, event_topics,
    order_action, selling_shop,
};
use crate::console_support::{figure, staff_console, submit};
use crate::identity::{admin, cli_staff};
use crate::orders::{SECRET, post_webhook, signed};
use crate::web_support::{BASE, get_at};

/// A server whose simulated processor never settles by itself (a test
/// sends its signed webhook), with shops' consoles at `{slug}.shops.example`.
async fn paying_app() -> TestApp {
    spawn_app_with(|s| {
        s.base_domain = Some(storekeep_domain::DomainName::parse(BASE).unwrap());
        s.payments.test_webhook_secret = Some(Secret::new(SECRET));
        s.payments.test_delay = std::time::Duration::from_secs(3600);
    })
    .await
}

/// An order paid through the test processor, cancelled while its payment
/// is pending, then the processor's signed confirmation: the money arrives
/// for an order that no longer waits for it. Returns the order and its
/// payment.
pub async fn unmatched_payment(app: &TestApp, s: &Shop, key: &str) -> (Value, Value) {
    accept_test_payments(app, s).await;
    let (cart, token) = cart_with(app, &s.slug, &[(&s.variant, 1)]).await;
    let mut b = checkout_body("late@example.com");
    b["payment_provider"] = json!("test");
    b["test_outcome"] = json!("confirm");
    let resp = checkout(app, &s.slug, &cart, &token, key, &b).await;
    let status = resp.status();
    let order = body(resp).await;
    assert_eq!(status, 201, "{order}");
    let id = order["order"]["id"].as_str().unwrap().to_owned();
    let cancelled = order_action(app, s, &id, "cancel").await;
    assert_eq!(cancelled.status(), 200);
    let payment = order["order"]["payments"][0].clone();
    confirm(app, &payment, key).await;
    (admin_order(app, s, &id).await, payment)
}

/// The processor's signed confirmation of `payment`.
async fn confirm(app: &TestApp, payment: &Value, key: &str) {
    let reference = payment["reference"].as_str().unwrap();
    let event =
        json!({"id": format!("evt_{key}"), "type": "payment.confirmed", "reference": reference})
            .to_string();
    let now = chrono::Utc::now().timestamp();
    let resp = post_webhook(app, &signed(SECRET, now, &event), &event).await;
    assert_eq!(
        resp.status(),
        200,
        "the processor's confirmation is accepted"
    );
}

/// An order paid through the test processor as it should be.
async fn matched_payment(app: &TestApp, s: &Shop, key: &str) -> Value {
    let (cart, token) = cart_with(app, &s.slug, &[(&s.variant, 1)]).await;
    let mut b = checkout_body("ontime@example.com");
    b["payment_provider"] = json!("test");
    b["test_outcome"] = json!("confirm");
    let order = body(checkout(app, &s.slug, &cart, &token, key, &b).await).await;
    let payment = order["order"]["payments"][0].clone();
    confirm(app, &payment, key).await;
    let id = order["order"]["id"].as_str().unwrap();
    assert_eq!(admin_order(app, s, id).await["status"], "paid");
    payment
}

async fn list(app: &TestApp, s: &Shop) -> Vec<Value> {
    let resp = admin(
        app,
        &s.slug,
        &s.token,
        Method::GET,
        "/api/v1/admin/payments/unmatched",
    )
    .send()
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
    body(resp).await["items"].as_array().unwrap().clone()
}

async fn resolve(
    app: &TestApp,
    slug: &str,
    token: &str,
    id: &str,
    note: Value,
) -> reqwest::Response {
    admin(
        app,
        slug,
        token,
        Method::POST,
        &format!("/api/v1/admin/payments/{id}/resolve"),
    )
    .json(&note)
    .send()
    .await
    .unwrap()
}

#[tokio::test]
async fn a_confirmation_for_a_cancelled_order_is_listed_until_staff_resolve_it() {
    let app = paying_app().await;
    let s = selling_shop(&app, "latepay", 2500, 5).await;
    let other = selling_shop(&app, "elsewhere", 100, 5).await;
    assert!(list(&app, &s).await.is_empty());

    let (order, payment) = unmatched_payment(&app, &s, "late-1").await;
    // The order stays cancelled; the payment is recorded as confirmed.
    assert_eq!(order["status"], "cancelled");
    assert_eq!(order["payments"][0]["status"], "confirmed");
    assert!(
        event_topics(&app, &s)
            .await
            .iter()
            .any(|(t, _)| t == "payment.unmatched")
    );
    let open = list(&app, &s).await;
    assert_eq!(open.len(), 1, "{open:?}");
    let p = &open[0];
    let id = p["id"].as_str().unwrap();
    assert_eq!(id, payment["id"].as_str().unwrap());
    assert_eq!(p["order_id"], order["id"]);
    assert_eq!(p["order_status"], "cancelled");
    assert_eq!(p["provider"], "test");
    assert_eq!(p["amount"], order["total"]["amount"], "{p} {order}");
    assert_eq!(p["currency"], order["total"]["currency"]);
    assert!(p["resolved_at"].is_null());
    assert!(
        list(&app, &other).await.is_empty(),
        "another shop sees none"
    );

    // A note is required; another shop cannot touch it.
    let refused = problem(
        resolve(&app, &s.slug, &s.token, id, json!({"resolution": "  "})).await,
        422,
    )
    .await;
    assert_eq!(refused["errors"][0]["field"], "resolution", "{refused}");
    let theirs = resolve(
        &app,
        &other.slug,
        &other.token,
        id,
        json!({"resolution": "x"}),
    )
    .await;
    problem(theirs, 404).await;
    // A payment that paid its order is not an unmatched one.
    let paid = matched_payment(&app, &s, "on-time").await;
    let resp = resolve(
        &app,
        &s.slug,
        &s.token,
        paid["id"].as_str().unwrap(),
        json!({"resolution": "x"}),
    )
    .await;
    problem(resp, 404).await;
    assert_eq!(list(&app, &s).await.len(), 1, "still open");

    let done = resolve(
        &app,
        &s.slug,
        &s.token,
        id,
        json!({"resolution": "Refunded at the processor"}),
    )
    .await;
    assert_eq!(done.status(), 200);
    let done = body(done).await;
    assert_eq!(done["payment"]["resolution"], "Refunded at the processor");
    assert!(
        done["payment"]["resolved_by"]
            .as_str()
            .unwrap()
            .starts_with("staff:"),
        "{done}"
    );
    assert!(
        list(&app, &s).await.is_empty(),
        "resolved ones leave the list"
    );
    let again = resolve(&app, &s.slug, &s.token, id, json!({"resolution": "twice"})).await;
    problem(again, 409).await;

    // Audited in the shop's chain.
    let log = admin(
        &app,
        &s.slug,
        &s.token,
        Method::GET,
        "/api/v1/admin/audit-log",
    )
    .send()
    .await
    .unwrap();
    let log = body(log).await;
    assert!(
        log["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "payment.resolve" && e["target"] == format!("payment:{id}")),
        "{log}"
    );
}

#[tokio::test]
async fn console_needs_attention_counts_unmatched_payments_and_staff_resolve_them() {
    let app = paying_app().await;
    let s = selling_shop(&app, "cpay", 4000, 5).await;
    cli_staff(&app, "cpay", "viewer@cpay.example", "viewer").await;
    let mut owner = staff_console(&app, "cpay", "owner").await;
    let home = owner.get("/console").await;
    assert_eq!(figure(&home, "unmatched_payments"), "0");

    let (_, payment) = unmatched_payment(&app, &s, "c-late").await;
    let id = payment["id"].as_str().unwrap();
    let home = owner.get("/console").await;
    assert_eq!(figure(&home, "unmatched_payments"), "1");
    assert!(home.body.contains("href=\"/console/payments/unmatched\""));

    // A viewer sees the payment but no form, and its forged post is refused.
    let mut viewer = staff_console(&app, "cpay", "viewer").await;
    let seen = viewer.get("/console/payments/unmatched").await;
    assert_eq!(seen.status, StatusCode::OK, "{}", seen.body);
    assert!(seen.body.contains(&format!("data-payment=\"{id}\"")));
    assert!(!seen.body.contains("/resolve"), "no form for a viewer");
    let forged = submit(
        &mut viewer,
        &seen,
        &format!("/console/payments/{id}/resolve"),
        &[("resolution", "viewer was here")],
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(list(&app, &s).await.len(), 1, "nothing changed");

    // The page is safe to render (no inline style or script).
    let cookie: Vec<String> = owner.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let page = get_at(
        &app,
        &owner.host,
        "/console/payments/unmatched",
        &[("cookie", &cookie.join("; "))],
    )
    .await;
    assert_eq!(page.status, 200);
    page.assert_safe();

    // An empty note is refused beside its field; nothing is recorded.
    let form = owner.get("/console/payments/unmatched").await;
    let path = format!("/console/payments/{id}/resolve");
    let refused = submit(&mut owner, &form, &path, &[("resolution", " ")]).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert!(
        refused.body.contains("aria-invalid=\"true\""),
        "{}",
        refused.body
    );
    assert!(
        refused.body.contains("say what was done"),
        "{}",
        refused.body
    );
    assert_eq!(list(&app, &s).await.len(), 1);

    let done = submit(
        &mut owner,
        &form,
        &path,
        &[("resolution", "Refunded at the processor")],
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(
        done.location.as_deref(),
        Some("/console/payments/unmatched?done=resolved")
    );
    let after = owner.get("/console/payments/unmatched?done=resolved").await;
    assert!(after.body.contains("marked resolved"));
    assert!(after.body.contains("No unmatched payments."));
    assert!(list(&app, &s).await.is_empty());
    let home = owner.get("/console").await;
    assert_eq!(figure(&home, "unmatched_payments"), "0");

    // Twice is a conflict shown on the page, not an error page.
    let again = submit(&mut owner, &form, &path, &[("resolution", "again")]).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    // Another shop's console does not find it.
    selling_shop(&app, "cpay2", 100, 1).await;
    let mut theirs = staff_console(&app, "cpay2", "owner").await;
    let page = theirs.get("/console/payments/unmatched").await;
    let forged = submit(&mut theirs, &page, &path, &[("resolution", "x")]).await;
    assert_eq!(forged.status, StatusCode::NOT_FOUND);
}
