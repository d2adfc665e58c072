//! `storekeep keys rotate` re-encrypts every sealed value, not only the
//! accounts: orders, webhook signing secrets (current and previous), the
//! shop's DKIM key and the reset tokens in email jobs. After a rotation a
//! server that only has the new key still signs emails (checked by dkimpy)
//! and webhooks (checked by the `standardwebhooks` package), and no value
//! sealed under the old key is left anywhere in the database.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use storekeep_test_support::{ServerProcess, TEST_KEYS, TestDb, storekeep_command};

use crate::BIN;
use crate::crash_support::{Api, OWNER, expect, shop_with_owner};
use crate::email_support::{Mail, SmtpSink, dkim_rsa_key, dkim_verifies, python_has};
use crate::webhook_support::Receiver;

const NEW_KEY: &str = "test2:QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8=";

/// `storekeep serve` with `keys`, mail to `sink`, webhooks to loopback.
fn serve(db: &TestDb, sink: &SmtpSink, keys: &str) -> ServerProcess {
    let mut cmd = storekeep_command(BIN, db);
    cmd.arg("serve")
        .env("STOREKEEP_ENCRYPTION_KEYS", keys)
        .env("STOREKEEP_SHUTDOWN_DRAIN_SECS", "0")
        .env("STOREKEEP_MAIL_TRANSPORT", "smtp")
        .env("STOREKEEP_MAIL_SMTP_URL", sink.url())
        .env("STOREKEEP_MAIL_SMTP_TLS", "none")
        .env("STOREKEEP_WEBHOOKS_ALLOW_NETWORKS", "127.0.0.1/32")
        .env("STOREKEEP_JOBS_POLL_INTERVAL_MS", "200");
    ServerProcess::start(cmd)
}

/// One guest checkout by `email`; the order's id.
async fn checkout(api: &Api, variant: &str, email: &str) -> String {
    let cart = expect(
        api.shop(Method::POST, "/api/v1/store/carts")
            .json(&json!({"items": [{"variant_id": variant, "quantity": 1}]})),
        201,
        "cart",
    )
    .await;
    let id = cart["cart"]["id"].as_str().unwrap();
    let placed = expect(
        api.shop(Method::POST, &format!("/api/v1/store/carts/{id}/checkout"))
            .header("x-cart-token", cart["cart"]["token"].as_str().unwrap())
            .header("idempotency-key", uuid::Uuid::now_v7().to_string())
            .json(&json!({
                "email": email,
                "shipping_address": {"name": "Ada", "line1": "1 Way", "city": "Springfield",
                                     "postal_code": "12345", "country": "US"},
                "shipping_method": "standard", "payment_provider": "manual"
            })),
        201,
        "checkout",
    )
    .await;
    placed["order"]["id"].as_str().unwrap().to_owned()
}

/// Asks for a password reset for the owner; its email is queued.
async fn ask_reset(api: &Api) {
    expect(
        api.shop(Method::POST, "/api/v1/auth/password-reset")
            .json(&json!({"email": OWNER, "account": "staff"})),
        202,
        "password reset",
    )
    .await;
}

/// Waits for `n` messages in `sink`; how many have `subject` in their
/// subject, after asserting dkimpy verifies every one.
async fn signed(sink: &SmtpSink, txt: &str, n: usize, subject: &str) -> usize {
    let found = sink.wait_for(n).await;
    assert_eq!(found.len(), n, "{found:?}");
    for path in &found {
        assert!(dkim_verifies(path, txt), "dkimpy verifies {path:?}");
    }
    found
        .iter()
        .filter(|p| {
            Mail::read(p)
                .header("Subject")
                .is_some_and(|s| s.contains(subject))
        })
        .count()
}

/// Every stored place that may hold a sealed value, as text.
const PLACES: &[(&str, &str)] = &[
    ("users", "email_sealed"),
    ("users", "name_sealed"),
    ("users", "phone_sealed"),
    ("users", "totp_sealed"),
    ("users", "totp_pending_sealed"),
    ("orders", "email_sealed"),
    ("orders", "address_sealed"),
    ("webhook_endpoints", "secret_sealed"),
    ("webhook_endpoints", "previous_secret_sealed"),
    ("tenants", "settings"),
    ("jobs", "payload"),
    ("audit_log", "before"),
    ("audit_log", "after"),
    ("outbox_events", "payload"),
];

/// How many values sealed under key `kid` each place holds (read as an
/// operator with database access would).
async fn sealed_under(db: &TestDb, kid: &str) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    for (table, column) in PLACES {
        let sql =
            format!("SELECT COUNT(*) FROM {table} WHERE CAST({column} AS TEXT) LIKE '%v1.{kid}.%'");
        let n: i64 = if db.is_sqlite() {
            use sqlx::Connection;
            let mut c = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
            sqlx::query_scalar(&sql).fetch_one(&mut c).await.unwrap()
        } else {
            use sqlx::Connection;
            let mut c = sqlx::PgConnection::connect(&db.url).await.unwrap();
            sqlx::query_scalar(&sql).fetch_one(&mut c).await.unwrap()
        };
        out.push((format!("{table}.{column}"), n));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn keys_rotate_reseals_dkim_keys_webhook_secrets_and_orders() {
    if !python_has("aiosmtpd, dkim, standardwebhooks") {
        return;
    }
    let db = TestDb::new().await;
    shop_with_owner(&db);
    let sink = SmtpSink::start(false);
    let rx = Receiver::start().unwrap();
    let (pem, txt) = dkim_rsa_key(sink.dir.path());
    let server = serve(&db, &sink, TEST_KEYS.0);
    let mut api = Api::new(&server);
    api.log_in().await;

    expect(
        api.admin(Method::PATCH, "/api/v1/admin/settings")
            .json(&json!({"settings": {
                "currency": "USD",
                "shipping_methods": [{"code": "standard", "name": "Standard", "price": 500}],
                "payment_timeout_secs": 86_400,
                "email_sender": "orders@crash.example",
                "email_dkim": {"selector": "sk1", "domain": "crash.example", "private_key": pem}
            }})),
        200,
        "settings with a DKIM key",
    )
    .await;
    let p = expect(
        api.admin(Method::POST, "/api/v1/admin/products")
            .json(&json!({"product": {
                "title": "Refurbished phone", "status": "active",
                "variants": [{"sku": "PHONE", "inventory": 100,
                              "price": {"amount": 19_900, "currency": "USD"}}]
            }})),
        201,
        "product",
    )
    .await;
    let variant = p["product"]["variants"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let hook = expect(
        api.admin(Method::POST, "/api/v1/admin/webhooks")
            .json(&json!({"webhook": {"url": rx.url("/ok"), "events": ["order.created"]}})),
        201,
        "endpoint",
    )
    .await;
    let hook_id = hook["webhook"]["id"].as_str().unwrap().to_owned();
    let first = hook["secret"].as_str().unwrap().to_owned();
    // A secret rotation: the first secret keeps signing beside the new one.
    let rotated = expect(
        api.admin(
            Method::POST,
            &format!("/api/v1/admin/webhooks/{hook_id}/rotate-secret"),
        ),
        200,
        "secret rotation",
    )
    .await;
    let second = rotated["secret"].as_str().unwrap().to_owned();
    rx.secrets(&[&second, &first]).await;

    let before = checkout(&api, &variant, "before@example.com").await;
    let delivered = rx.wait_for(1, Duration::from_secs(30)).await;
    assert_eq!(delivered[0]["verified"], json!([true, true]));
    assert_eq!(signed(&sink, &txt, 1, "order").await, 1);
    ask_reset(&api).await;
    assert_eq!(signed(&sink, &txt, 2, "Reset").await, 1);
    drop(server);
    let under_old = sealed_under(&db, "test1").await;
    for place in ["orders.email_sealed", "webhook_endpoints.secret_sealed"] {
        assert!(
            under_old.iter().any(|(p, n)| p == place && *n > 0),
            "{place} holds values under the old key before the rotation: {under_old:?}"
        );
    }

    let rotation = storekeep_command(BIN, &db)
        .args(["keys", "rotate"])
        .env(
            "STOREKEEP_ENCRYPTION_KEYS",
            format!("{},{NEW_KEY}", TEST_KEYS.0),
        )
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&rotation.stdout);
    assert!(
        rotation.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&rotation.stderr)
    );
    for line in [
        "1 of 1 accounts re-encrypted under key test2",
        "orders.email: 1 of 1 values re-encrypted under key test2",
        "orders.address: 1 of 1 values re-encrypted under key test2",
        "webhook_endpoints.secret: 1 of 1 values re-encrypted under key test2",
        "webhook_endpoints.previous_secret: 1 of 1 values re-encrypted under key test2",
        "tenants.email_dkim: 1 of 1 values re-encrypted under key test2",
        "jobs.reset_token: 1 of 1 values re-encrypted under key test2",
    ] {
        assert!(text.contains(line), "{line}: {text}");
    }
    let left: Vec<_> = sealed_under(&db, "test1")
        .await
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .collect();
    assert!(left.is_empty(), "sealed under the old key: {left:?}");

    // A server with only the new key: the old order opens, and new emails
    // and deliveries are signed as before.
    let server = serve(&db, &sink, NEW_KEY);
    let api = api.on(&server);
    let order = expect(
        api.admin(Method::GET, &format!("/api/v1/admin/orders/{before}")),
        200,
        "the order from before the rotation",
    )
    .await;
    assert_eq!(order["order"]["email"], "before@example.com", "{order}");
    checkout(&api, &variant, "after@example.com").await;
    let delivered = rx.wait_for(2, Duration::from_secs(30)).await;
    assert_eq!(
        delivered[1]["verified"],
        json!([true, true]),
        "both secrets still sign: {}",
        delivered[1]
    );
    assert_eq!(signed(&sink, &txt, 3, "order").await, 2, "signed after");
    ask_reset(&api).await;
    assert_eq!(signed(&sink, &txt, 4, "Reset").await, 2, "signed after");
    let hook: Value = expect(
        api.admin(Method::GET, &format!("/api/v1/admin/webhooks/{hook_id}")),
        200,
        "the endpoint",
    )
    .await;
    assert_eq!(hook["webhook"]["status"], "enabled", "{hook}");
    drop(server);
}
