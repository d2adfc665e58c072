//! `storekeep import shop FILE --source-keys KEYFILE` (issue 16): a shop
//! exported from an installation with the test keys (on SQLite) moves into
//! this pass's database, run with OTHER encryption and blind-index keys and
//! already holding another shop. Its sealed data is re-sealed and its email
//! indexes recomputed on the way in: people sign in with their passwords
//! (and their TOTP codes), orders show their emails and addresses, the
//! webhook secret still signs, the audit chains verify, an erased customer
//! stays erased (a guest erased by email too, whose coupon use then counts
//! towards nobody's cap), a guest's per-customer coupon cap still holds, a
//! webhook secret in its rotation overlap and a half-finished TOTP
//! enrolment survive, and no value sealed with the source's key (nor a
//! source blind index) is left in the target's database. Wrong source keys,
//! and other keys without `--source-keys`, are refused with nothing written.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{Value, json};
use storekeep::config::Secret;
use storekeep::crypto::Keyring;
use storekeep_test_support::{TEST_KEYS, TestApp, TestDb, spawn_app_on, storekeep_command};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::catalog_support::body;
use crate::commerce_support::{
    Shop, cart_req, cart_with, checkout, checkout_body, create_deal, order_action, selling_shop,
    set_settings, settings,
};
use crate::email_support::{Mail, dkim_rsa_key, dkim_verifies, messages_in, python_has, wait_for};
use crate::identity::{PASSWORD, admin, customer_token, login_as, now_unix, register, token, totp};

const BIN: &str = env!("CARGO_BIN_EXE_storekeep");
/// The target's keys: another key id, another key, another blind-index key.
const TARGET_KEYS: (&str, &str) = (
    "target2:QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8=",
    "YGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6e3x9fn8=",
);
const CUSTOMER: &str = "ada@resealed.example";
const MFA_CUSTOMER: &str = "grace@resealed.example";
const ERASED: &str = "gone@resealed.example";
const GUEST: &str = "guest@resealed.example";
/// A guest who used a coupon limited to one use per customer.
const COUPON_GUEST: &str = "penny@resealed.example";
/// A customer who began a TOTP enrolment and did not confirm it.
const PENDING_MFA: &str = "lin@resealed.example";
const COUPON: &str = "MOVING";
/// A guest who used the coupon and was then erased by email.
const ERASED_GUEST: &str = "erin@resealed.example";

/// A SQLite database in a folder of its own: the source of every move.
fn sqlite_db() -> TestDb {
    let mut db = TestDb::at("sqlite:");
    db.url = format!("sqlite://{}", db.dir.path().join("storekeep.db").display());
    db
}

/// `storekeep ARGS` on `db` with `keys` (`encryption.keys`,
/// `blind_index_key`).
fn run_with(db: &TestDb, keys: (&str, &str), args: &[&str]) -> Output {
    storekeep_command(BIN, db)
        .env("STOREKEEP_ENCRYPTION_KEYS", keys.0)
        .env("STOREKEEP_ENCRYPTION_BLIND_INDEX_KEY", keys.1)
        .args(args)
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn ok_with(db: &TestDb, keys: (&str, &str), args: &[&str]) -> Output {
    let out = run_with(db, keys, args);
    assert!(out.status.success(), "storekeep {args:?}: {}", stderr(&out));
    out
}

async fn get(req: reqwest::RequestBuilder) -> Value {
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let url = resp.url().to_string();
    let b = body(resp).await;
    assert_eq!(status, 200, "{url}: {b}");
    b
}

/// A key file in the configuration's `[encryption]` syntax.
fn key_file(dir: &Path, name: &str, keys: (&str, &str)) -> PathBuf {
    let file = dir.join(name);
    std::fs::write(
        &file,
        format!(
            "# the source installation's keys\n[encryption]\nkeys = \"{}\"\nblind_index_key = \"{}\"\n",
            keys.0, keys.1
        ),
    )
    .unwrap();
    file
}

fn export(db: &TestDb, slug: &str, dir: &Path) -> PathBuf {
    let file = dir.join(format!("{slug}.tar.zst"));
    let path = file.to_str().unwrap();
    ok_with(
        db,
        TEST_KEYS,
        &["export", "shop", "--tenant", slug, "-o", path],
    );
    file
}

/// The target: this pass's database, run with [`TARGET_KEYS`], reaching
/// webhook receivers on loopback.
async fn target() -> TestApp {
    spawn_app_on(TestDb::new().await, |s| {
        s.encryption_keys = Some(Secret::new(TARGET_KEYS.0));
        s.blind_index_key = Some(Secret::new(TARGET_KEYS.1));
        s.webhooks.allow_networks = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await
}

/// Another shop on the target, made with the target's keys: its owner
/// (with the CLI, as an operator would) and a customer.
async fn staying_shop(app: &TestApp) {
    app.create_tenant("staying", json!({})).await;
    let pw = app.db.dir.path().join("pw-staying");
    std::fs::write(&pw, format!("{PASSWORD}\n")).unwrap();
    let mut cmd = storekeep_command(BIN, &app.db);
    cmd.env("STOREKEEP_ENCRYPTION_KEYS", TARGET_KEYS.0)
        .env("STOREKEEP_ENCRYPTION_BLIND_INDEX_KEY", TARGET_KEYS.1)
        .args(["user", "create", "--tenant", "staying", "--email"])
        .args([
            "owner@staying.example",
            "--role",
            "owner",
            "--password-file",
        ])
        .arg(&pw);
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .unwrap()
        .unwrap();
    assert!(out.status.success(), "user create: {}", stderr(&out));
    assert_eq!(
        register(app, "staying", "bob@staying.example")
            .await
            .status(),
        201
    );
}

/// The other shop's people sign in.
async fn staying_people_sign_in(app: &TestApp) {
    token(app, Some("staying"), "owner@staying.example", "staff").await;
    customer_token(app, "staying", "bob@staying.example").await;
}

/// A webhook receiver of the test's own on loopback: answers 200 and
/// keeps each request's headers and body.
#[derive(Clone, Default)]
struct Receiver(Arc<Mutex<Vec<Request>>>);

/// A request's headers (names in lower case) and body.
type Request = (Vec<(String, String)>, Vec<u8>);

impl Receiver {
    async fn start() -> (Self, String) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let me = Self::default();
        let kept = me.clone();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let kept = kept.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    let head_end = loop {
                        let n = sock.read(&mut chunk).await.unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break at + 4;
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
                    let headers: Vec<(String, String)> = head
                        .lines()
                        .skip(1)
                        .filter_map(|l| l.split_once(':'))
                        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
                        .collect();
                    let length: usize = headers
                        .iter()
                        .find(|(k, _)| k == "content-length")
                        .and_then(|(_, v)| v.parse().ok())
                        .unwrap_or(0);
                    while buf.len() < head_end + length {
                        let n = sock.read(&mut chunk).await.unwrap_or(0);
                        if n == 0 {
                            break;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                    }
                    let body = buf[head_end..].to_vec();
                    kept.0.lock().unwrap().push((headers, body));
                    let _ = sock
                        .write_all(
                            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                        )
                        .await;
                });
            }
        });
        (me, url)
    }

    fn received(&self) -> Vec<Request> {
        self.0.lock().unwrap().clone()
    }
}

/// Whether `headers` and `body` carry a Standard Webhooks signature made
/// with `secret` (`whsec_…`), checked here independently of the server.
fn signed_with(secret: &str, headers: &[(String, String)], body: &[u8]) -> bool {
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    };
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&key).unwrap();
    mac.update(header("webhook-id").as_bytes());
    mac.update(b".");
    mac.update(header("webhook-timestamp").as_bytes());
    mac.update(b".");
    mac.update(body);
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    header("webhook-signature")
        .split(' ')
        .any(|s| s == expected)
}

/// How many values of the database at `url` (any table, any column)
/// contain `needle`.
async fn occurrences(db: &TestDb, needle: &str) -> Vec<String> {
    let columns = if db.is_sqlite() {
        storekeep_store_sqlite::portable::columns(&db.url)
            .await
            .unwrap()
    } else {
        storekeep_store_postgres::portable::columns(&db.url)
            .await
            .unwrap()
    };
    let mut found = Vec::new();
    for (table, column, _) in columns {
        if table.starts_with("product_search") || table.starts_with("_sqlx") {
            continue;
        }
        let sql = format!(
            "SELECT count(*) FROM \"{table}\" WHERE CAST(\"{column}\" AS TEXT) LIKE '%' || $1 || '%'"
        );
        let n: i64 = if db.is_sqlite() {
            let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&db.url)
                .await
                .unwrap();
            sqlx::query_scalar(&sql)
                .bind(needle)
                .fetch_one(&mut conn)
                .await
                .unwrap()
        } else {
            let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&db.url)
                .await
                .unwrap();
            sqlx::query_scalar(&sql)
                .bind(needle)
                .fetch_one(&mut conn)
                .await
                .unwrap()
        };
        if n > 0 {
            found.push(format!("{table}.{column}: {n}"));
        }
    }
    found
}

/// A customer of `slug` who turned MFA on; their TOTP secret.
async fn customer_with_mfa(app: &TestApp, slug: &str, email: &str) -> String {
    assert_eq!(register(app, slug, email).await.status(), 201);
    let session = customer_token(app, slug, email).await;
    let enrol = body(
        app.shop(slug, Method::POST, "/api/v1/auth/mfa/totp")
            .bearer_auth(&session)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let secret = enrol["secret"].as_str().unwrap().to_owned();
    let confirmed = app
        .shop(slug, Method::POST, "/api/v1/auth/mfa/totp/confirm")
        .bearer_auth(&session)
        .json(&json!({"code": totp(&secret, now_unix())}))
        .send()
        .await
        .unwrap();
    assert_eq!(confirmed.status(), 200, "{}", body(confirmed).await);
    secret
}

/// The customer's order (awaiting payment) and a guest's; their ids.
async fn orders(app: &TestApp, shop: &Shop, customer: &str) -> Vec<String> {
    let slug = shop.slug.as_str();
    let mut ids = Vec::new();
    let (cart, cart_token) = cart_with(app, slug, &[(&shop.variant, 2)]).await;
    let resp = cart_req(
        app,
        slug,
        &cart_token,
        Method::POST,
        &format!("/api/v1/store/carts/{cart}/checkout"),
    )
    .bearer_auth(customer)
    .header("idempotency-key", uuid::Uuid::now_v7().to_string())
    .json(&checkout_body(CUSTOMER))
    .send()
    .await
    .unwrap();
    let b = body(resp).await;
    ids.push(
        b["order"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{b}"))
            .to_owned(),
    );
    let (cart, cart_token) = cart_with(app, slug, &[(&shop.variant, 1)]).await;
    let resp = checkout(
        app,
        slug,
        &cart,
        &cart_token,
        "guest-1",
        &checkout_body(GUEST),
    )
    .await;
    let b = body(resp).await;
    ids.push(
        b["order"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{b}"))
            .to_owned(),
    );
    ids
}

/// A guest checkout by `email` of a cart with the [`COUPON`]: the
/// response's status and body.
async fn coupon_checkout(app: &TestApp, shop: &Shop, email: &str) -> (u16, Value) {
    let slug = shop.slug.as_str();
    let (cart, cart_token) = cart_with(app, slug, &[(&shop.variant, 1)]).await;
    let resp = cart_req(
        app,
        slug,
        &cart_token,
        Method::PATCH,
        &format!("/api/v1/store/carts/{cart}"),
    )
    .json(&json!({ "coupon_code": COUPON }))
    .send()
    .await
    .unwrap();
    assert_eq!(resp.status(), 200, "{}", body(resp).await);
    let key = uuid::Uuid::now_v7().to_string();
    let resp = checkout(app, slug, &cart, &cart_token, &key, &checkout_body(email)).await;
    let status = resp.status().as_u16();
    (status, body(resp).await)
}

/// What staff and the customer see of the orders.
async fn order_views(app: &TestApp, slug: &str, orders: &[String]) -> Vec<Value> {
    let owner = token(app, Some(slug), &format!("owner@{slug}.example"), "staff").await;
    let customer = customer_token(app, slug, CUSTOMER).await;
    let mut out = Vec::new();
    for id in orders {
        let path = format!("/api/v1/admin/orders/{id}");
        out.push(get(admin(app, slug, &owner, Method::GET, &path)).await);
    }
    out.push(
        get(admin(
            app,
            slug,
            &owner,
            Method::GET,
            "/api/v1/admin/orders",
        ))
        .await,
    );
    let mine = app
        .shop(slug, Method::GET, "/api/v1/store/orders")
        .bearer_auth(&customer);
    out.push(get(mine).await);
    out
}

#[tokio::test]
async fn a_shop_moved_to_an_installation_with_other_keys_is_resealed_and_everyone_signs_in() {
    // Arrange: the shop on SQLite with the test keys.
    let (receiver, hook_url) = Receiver::start().await;
    let source = spawn_app_on(sqlite_db(), |s| {
        s.webhooks.allow_networks = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    let shop = selling_shop(&source, "moving", 2_500, 50).await;
    let dkim = tempfile::tempdir().unwrap();
    let (pem, txt) = dkim_rsa_key(dkim.path());
    let mut signed = settings(1800);
    signed["settings"]["email_dkim"] =
        json!({"selector": "sk1", "domain": "moving.example", "private_key": pem});
    set_settings(&source, "moving", &shop.token, &signed).await;
    let resp = source
        .shop("moving", Method::POST, "/api/v1/auth/register")
        .json(&json!({"account": {
            "email": CUSTOMER, "password": PASSWORD, "name": "Ada Lovelace", "phone": "+1 555 0100"
        }}))
        .send()
        .await
        .unwrap();
    let ada = body(resp).await["account"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let customer = customer_token(&source, "moving", CUSTOMER).await;
    let order_ids = orders(&source, &shop, &customer).await;
    let mfa_secret = customer_with_mfa(&source, "moving", MFA_CUSTOMER).await;
    // A TOTP enrolment begun and not confirmed (its secret is pending).
    assert_eq!(register(&source, "moving", PENDING_MFA).await.status(), 201);
    let session = customer_token(&source, "moving", PENDING_MFA).await;
    let enrol = body(
        source
            .shop("moving", Method::POST, "/api/v1/auth/mfa/totp")
            .bearer_auth(&session)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let pending_secret = enrol["secret"].as_str().unwrap().to_owned();
    // A guest uses a coupon capped at one use per customer.
    let deal = create_deal(
        &source,
        &shop,
        json!({"name": "Moving day", "amount_off": {"amount": 300, "currency": "USD"},
               "applies_to": "order", "code": COUPON, "max_uses_per_customer": 1}),
    )
    .await;
    let deal_id = deal["id"].as_str().unwrap().to_owned();
    let (status, used) = coupon_checkout(&source, &shop, COUPON_GUEST).await;
    assert_eq!(status, 201, "{used}");
    assert_eq!(used["order"]["discount"]["amount"], 300, "{used}");
    // Another guest used it, was served, and was erased by email: the
    // order's index and the use's key became the order's erasure marker.
    let (status, erased_use) = coupon_checkout(&source, &shop, ERASED_GUEST).await;
    assert_eq!(status, 201, "{erased_use}");
    let erased_order = erased_use["order"]["id"].as_str().unwrap().to_owned();
    for action in ["mark-paid", "fulfil"] {
        let resp = order_action(&source, &shop, &erased_order, action).await;
        assert_eq!(resp.status(), 200, "{action}");
    }
    let resp = admin(
        &source,
        "moving",
        &shop.token,
        Method::POST,
        "/api/v1/admin/privacy/erase",
    )
    .json(&json!({ "email": ERASED_GUEST }))
    .send()
    .await
    .unwrap();
    assert_eq!(resp.status(), 200, "{}", body(resp).await);
    let resp = admin(
        &source,
        "moving",
        &shop.token,
        Method::POST,
        "/api/v1/admin/webhooks",
    )
    .json(&json!({"webhook": {"url": hook_url, "events": ["order.refunded"]}}))
    .send()
    .await
    .unwrap();
    assert_eq!(resp.status(), 201);
    let created = body(resp).await;
    let hook_secret = created["secret"].as_str().unwrap().to_owned();
    let hook_id = created["webhook"]["id"].as_str().unwrap().to_owned();
    // Rotated: the old secret still signs during the overlap.
    let resp = admin(
        &source,
        "moving",
        &shop.token,
        Method::POST,
        &format!("/api/v1/admin/webhooks/{hook_id}/rotate-secret"),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
    let rotated = body(resp).await;
    let new_hook_secret = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(new_hook_secret, hook_secret);
    // A customer erased before the move.
    let gone = body(register(&source, "moving", ERASED).await).await["account"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let resp = admin(
        &source,
        "moving",
        &shop.token,
        Method::POST,
        &format!("/api/v1/admin/customers/{gone}/erase"),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(resp.status(), 200, "{}", body(resp).await);
    let views_before = order_views(&source, "moving", &order_ids).await;
    let hook_before = get(admin(
        &source,
        "moving",
        &shop.token,
        Method::GET,
        &format!("/api/v1/admin/webhooks/{hook_id}"),
    ))
    .await;
    let work = tempfile::tempdir().unwrap();
    let file = export(&source.db, "moving", work.path());
    let archive = std::fs::read(&file).unwrap();
    source.stop().await;

    let target = target().await;
    staying_shop(&target).await;
    let keys = key_file(work.path(), "source-keys.toml", TEST_KEYS);

    // Act
    let out = ok_with(
        &target.db,
        TARGET_KEYS,
        &[
            "import",
            "shop",
            file.to_str().unwrap(),
            "--source-keys",
            keys.to_str().unwrap(),
            "--json",
        ],
    );

    // Assert: the archive is unchanged, no key was printed, what was
    // re-sealed is reported.
    assert_eq!(
        std::fs::read(&file).unwrap(),
        archive,
        "the archive changed"
    );
    let printed = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    for secret in [TEST_KEYS.0, TEST_KEYS.1, TARGET_KEYS.0, TARGET_KEYS.1] {
        let key = secret.rsplit(':').next().unwrap();
        assert!(!printed.contains(key), "a key was printed: {printed}");
    }
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["shop"]["slug"], "moving", "{summary}");
    // Values: the five accounts' emails (the erased one's placeholder),
    // Ada's name and phone, two TOTP secrets (one pending), four orders'
    // emails and addresses (the erased one's placeholders), the webhook's
    // two secrets, the DKIM key. Indexes: four accounts' and three
    // orders' (the erased account's and order's markers are none), the
    // coupon guest's cap key (the erased guest's is the marker).
    assert_eq!(
        summary["resealed"],
        json!({"values": 20, "indexes": 8}),
        "{summary}"
    );
    // Staff and customers sign in (email look-up by the new blind index)
    // and see the same orders, emails and addresses.
    let views_after = order_views(&target, "moving", &order_ids).await;
    assert_eq!(views_before, views_after);
    assert_eq!(views_after[0]["order"]["email"], CUSTOMER);
    assert_eq!(views_after[1]["order"]["email"], GUEST);
    assert_eq!(
        views_after[0]["order"]["shipping_address"]["line1"],
        "1 Analytical Way"
    );
    // Staff find orders by email through the new index.
    let owner = token(&target, Some("moving"), "owner@moving.example", "staff").await;
    let by_email = get(admin(
        &target,
        "moving",
        &owner,
        Method::GET,
        &format!("/api/v1/admin/orders?email={GUEST}"),
    ))
    .await;
    assert_eq!(
        by_email["items"][0]["id"],
        order_ids[1].as_str(),
        "{by_email}"
    );
    // MFA: the password alone is not enough; the re-sealed TOTP secret
    // verifies a code (the next step's: the source saw the current one).
    let without = login_as(
        &target,
        Some("moving"),
        json!({"email": MFA_CUSTOMER, "password": PASSWORD}),
    )
    .await;
    assert_eq!(without.status(), 401);
    let with = login_as(
        &target,
        Some("moving"),
        json!({"email": MFA_CUSTOMER, "password": PASSWORD, "totp": totp(&mfa_secret, now_unix() + 30)}),
    )
    .await;
    assert_eq!(with.status(), 200, "{}", body(with).await);
    // The webhook endpoint reads back alike and signs with its secret.
    let hook_path = format!("/api/v1/admin/webhooks/{hook_id}");
    let hook_after = get(admin(&target, "moving", &owner, Method::GET, &hook_path)).await;
    assert_eq!(hook_before, hook_after);
    let ping = get(admin(
        &target,
        "moving",
        &owner,
        Method::POST,
        &format!("{hook_path}/test"),
    ))
    .await;
    assert_eq!(ping["delivery"]["outcome"], "succeeded", "{ping}");
    let (headers, sent) = receiver.received().pop().expect("the test event arrived");
    assert!(
        signed_with(&new_hook_secret, &headers, &sent),
        "the re-sealed secret does not sign: {headers:?}"
    );
    assert!(
        signed_with(&hook_secret, &headers, &sent),
        "the re-sealed previous secret does not sign in the overlap: {headers:?}"
    );
    // The half-finished TOTP enrolment is confirmed on the target with a
    // code of its pending secret; then the password alone is not enough.
    let session = customer_token(&target, "moving", PENDING_MFA).await;
    let confirmed = target
        .shop("moving", Method::POST, "/api/v1/auth/mfa/totp/confirm")
        .bearer_auth(&session)
        .json(&json!({"code": totp(&pending_secret, now_unix())}))
        .send()
        .await
        .unwrap();
    assert_eq!(confirmed.status(), 200, "{}", body(confirmed).await);
    let without = login_as(
        &target,
        Some("moving"),
        json!({"email": PENDING_MFA, "password": PASSWORD}),
    )
    .await;
    assert_eq!(without.status(), 401);
    // The guest's coupon cap holds on the target (found by the new
    // index); another guest still gets the coupon.
    let (status, again) = coupon_checkout(&target, &shop, COUPON_GUEST).await;
    assert_eq!(status, 409, "{again}");
    assert_eq!(again["errors"][0]["field"], format!("deals[{deal_id}]"));
    let (status, other) = coupon_checkout(&target, &shop, "quinn@resealed.example").await;
    assert_eq!(status, 201, "{other}");
    assert_eq!(other["order"]["discount"]["amount"], 300, "{other}");
    // The erased guest's use counts towards nobody's cap, as on the
    // source after the erasure.
    let (status, fresh) = coupon_checkout(&target, &shop, ERASED_GUEST).await;
    assert_eq!(status, 201, "{fresh}");
    assert_eq!(fresh["order"]["discount"]["amount"], 300, "{fresh}");
    // The erased customer stays erased: no sign-in, the placeholder.
    let erased = login_as(
        &target,
        Some("moving"),
        json!({"email": ERASED, "password": PASSWORD}),
    )
    .await;
    assert_eq!(erased.status(), 401);
    let export = get(admin(
        &target,
        "moving",
        &owner,
        Method::GET,
        &format!("/api/v1/admin/customers/{gone}/export"),
    ))
    .await;
    assert_eq!(export["export"]["erased"], true, "{export}");
    assert_eq!(
        export["export"]["profile"]["email"],
        format!("erased+{gone}@erased.invalid")
    );
    // The shop's DKIM key signs its mail (a password reset, found by the
    // email's new index).
    let folder = target.db.dir.path().join("mail");
    let before = messages_in(&folder).len();
    let asked = target
        .shop("moving", Method::POST, "/api/v1/auth/password-reset")
        .json(&json!({ "email": CUSTOMER }))
        .send()
        .await
        .unwrap();
    assert_eq!(asked.status(), 202);
    let mail = wait_for(&folder, before + 1).await.last().unwrap().clone();
    assert!(
        Mail::read(&mail)
            .header("DKIM-Signature")
            .is_some_and(|h| h.contains("d=moving.example")),
        "the reset mail is signed with the re-sealed DKIM key"
    );
    if python_has("dkim") {
        assert!(dkim_verifies(&mail, &txt));
    }
    // Name and phone were re-sealed too.
    let export = get(admin(
        &target,
        "moving",
        &owner,
        Method::GET,
        &format!("/api/v1/admin/customers/{ada}/export"),
    ))
    .await;
    assert_eq!(
        export["export"]["profile"]["name"], "Ada Lovelace",
        "{export}"
    );
    assert_eq!(export["export"]["profile"]["phone"], "+1 555 0100");
    // The audit chains verify; the other shop's people still sign in.
    let chains = ok_with(&target.db, TARGET_KEYS, &["audit", "verify"]);
    assert!(String::from_utf8_lossy(&chains.stdout).contains("audit log intact"));
    staying_people_sign_in(&target).await;
    // Nothing sealed with the source's key id, no source blind index.
    let kid = TEST_KEYS.0.split(':').next().unwrap();
    let sealed = occurrences(&target.db, &format!("v1.{kid}.")).await;
    assert!(
        sealed.is_empty(),
        "sealed with the source's key: {sealed:?}"
    );
    let source_ring = Keyring::parse(TEST_KEYS.0, TEST_KEYS.1).unwrap();
    for email in [
        CUSTOMER,
        GUEST,
        MFA_CUSTOMER,
        PENDING_MFA,
        COUPON_GUEST,
        ERASED_GUEST,
        "owner@moving.example",
    ] {
        let index = source_ring.blind_index("email", email);
        let left = occurrences(&target.db, &index).await;
        assert!(left.is_empty(), "the source's index of {email}: {left:?}");
    }
    target.stop().await;
}

/// Everything the target holds that an import would change.
async fn state(app: &TestApp) -> Value {
    let tenants = get(app.platform(Method::GET, "/api/v1/platform/tenants")).await;
    let audit = get(app.platform(Method::GET, "/api/v1/platform/audit-log")).await;
    json!({"tenants": tenants, "audit": audit})
}

#[tokio::test]
async fn wrong_source_keys_and_other_keys_without_them_are_refused_with_nothing_written() {
    let source = spawn_app_on(sqlite_db(), |_| {}).await;
    selling_shop(&source, "boxed", 1_500, 4).await;
    assert_eq!(register(&source, "boxed", CUSTOMER).await.status(), 201);
    let work = tempfile::tempdir().unwrap();
    let file = export(&source.db, "boxed", work.path());
    source.stop().await;
    let target = target().await;
    staying_shop(&target).await;
    let untouched = state(&target).await;
    let archive = file.to_str().unwrap();

    // Without --source-keys, other keys are refused as before, pointing
    // at the flag.
    let out = run_with(&target.db, TARGET_KEYS, &["import", "shop", archive]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("keyring lacks"), "{}", stderr(&out));
    assert!(stderr(&out).contains("--source-keys"), "{}", stderr(&out));

    // Keys that are not the source's: the target's own, and the source's
    // encryption key with another blind-index key.
    let wrong = key_file(work.path(), "wrong.toml", TARGET_KEYS);
    let half = key_file(work.path(), "half.toml", (TEST_KEYS.0, TARGET_KEYS.1));
    let missing = work.path().join("missing.toml");
    std::fs::write(&missing, "[encryption]\n").unwrap();
    for (keys, why) in [
        (&wrong, "the source keys cannot open"),
        (&half, "blind-index key does not give"),
        (&missing, "names no encryption keys"),
    ] {
        let args = [
            "import",
            "shop",
            archive,
            "--source-keys",
            keys.to_str().unwrap(),
        ];
        let out = run_with(&target.db, TARGET_KEYS, &args);
        assert!(!out.status.success(), "{keys:?} was accepted");
        assert!(stderr(&out).contains(why), "{keys:?}: {}", stderr(&out));
        for secret in [TEST_KEYS.0, TEST_KEYS.1, TARGET_KEYS.0, TARGET_KEYS.1] {
            let key = secret.rsplit(':').next().unwrap();
            assert!(!stderr(&out).contains(key), "a key was printed");
        }
        assert_eq!(
            state(&target).await,
            untouched,
            "{keys:?} changed the target"
        );
    }
    let boxed = target
        .platform(Method::GET, "/api/v1/platform/tenants/boxed")
        .send()
        .await
        .unwrap();
    assert_eq!(boxed.status(), 404);
    staying_people_sign_in(&target).await;

    // The refusals left nothing in the way: with the source's keys the
    // import goes through, and its summary says what it re-sealed (the
    // owner's and the customer's emails and email indexes).
    let right = key_file(work.path(), "right.toml", TEST_KEYS);
    let out = ok_with(
        &target.db,
        TARGET_KEYS,
        &[
            "import",
            "shop",
            archive,
            "--source-keys",
            right.to_str().unwrap(),
        ],
    );
    let line = String::from_utf8_lossy(&out.stdout);
    assert!(line.starts_with("imported shop 'boxed' ("), "{line}");
    assert!(
        line.trim_end()
            .ends_with("; re-sealed 2 values and 2 indexes with this installation's keys"),
        "{line}"
    );
    customer_token(&target, "boxed", CUSTOMER).await;
    target.stop().await;
}
