//! What an erasure must not reach (issue 16 review), through the API on
//! both databases: the same address in another shop (its order, its
//! lockout), the shop's staff and the platform's operators of that address
//! (their lockouts); what it must reach besides the orders (the guest's
//! coupon key, the shop's customer lockout, checkout's request hash, the
//! email jobs); and an erasure by email racing an account erasure of the
//! same account: both answer, neither fails.

use serde_json::{Value, json};
use sqlx::Connection;
use storekeep_test_support::{TestApp, spawn_app};

use crate::catalog_support::body;
use crate::commerce_support::{
    Shop, admin_order, checkout, checkout_body, create_deal, order_action, selling_shop,
};
use crate::deals::cart_with_coupon;
use crate::identity::{cli_staff, customer_token, login_as};
use crate::privacy::{customer_order, erase, register_named};
use crate::privacy_email::{by_email, guest_order, id, ok};

const ANN: &str = "ann.scope@example.com";
const WRONG: &str = "not the password at all";

/// The rows of a query of one text column, on the test's database.
async fn column(app: &TestApp, q: &str) -> Vec<String> {
    if app.db.is_sqlite() {
        let mut conn = sqlx::SqliteConnection::connect(&app.db.url).await.unwrap();
        sqlx::query_scalar(q).fetch_all(&mut conn).await.unwrap()
    } else {
        let mut conn = sqlx::PgConnection::connect(&app.db.url).await.unwrap();
        sqlx::query_scalar(q).fetch_all(&mut conn).await.unwrap()
    }
}

/// The one value `q` reads.
async fn value(app: &TestApp, q: &str) -> String {
    let rows = column(app, q).await;
    assert_eq!(rows.len(), 1, "{q}: {rows:?}");
    rows[0].clone()
}

/// An order's sealed email, sealed address and email index, with SQL.
async fn sealed(app: &TestApp, order: &str) -> Vec<String> {
    let mut out = Vec::new();
    for col in ["email_sealed", "address_sealed", "email_index"] {
        let q = format!("SELECT {col} FROM orders WHERE CAST(id AS TEXT) = '{order}'");
        out.push(value(app, &q).await);
    }
    out
}

/// The shop's email jobs, once none is pending or running (the runner
/// finishes them), so the count no longer moves.
async fn settled_email_jobs(app: &TestApp, slug: &str) -> i64 {
    let of_shop = format!(
        "FROM jobs WHERE queue = 'email' AND CAST(tenant_id AS TEXT) = \
         (SELECT CAST(id AS TEXT) FROM tenants WHERE slug = '{slug}')"
    );
    for _ in 0..300 {
        let busy = value(
            app,
            &format!("SELECT CAST(count(*) AS TEXT) {of_shop} AND state IN ('pending', 'running')"),
        )
        .await;
        if busy == "0" {
            let all = format!("SELECT CAST(count(*) AS TEXT) {of_shop}");
            return value(app, &all).await.parse().unwrap();
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the email jobs of {slug} never finished");
}

/// A sign-in of `ANN` with a wrong password as `account` (in shop `slug`,
/// or the platform's): its status.
async fn wrong_login(app: &TestApp, slug: Option<&str>, account: &str) -> u16 {
    let body = json!({"email": ANN, "password": WRONG, "account": account});
    login_as(app, slug, body).await.status().as_u16()
}

/// Locks `ANN` out as `account`: four refusals, then the fifth failure
/// locks (429).
async fn lock_out(app: &TestApp, slug: Option<&str>, account: &str) {
    for _ in 0..4 {
        assert_eq!(wrong_login(app, slug, account).await, 401, "{account}");
    }
    assert_eq!(wrong_login(app, slug, account).await, 429, "{account}");
}

/// A guest checkout of one unit with `email` and the coupon `code`.
async fn guest_order_with_coupon(
    app: &TestApp,
    s: &Shop,
    email: &str,
    code: &str,
) -> reqwest::Response {
    let (cart, tok, _) = cart_with_coupon(app, s, 1, code).await;
    let key = uuid::Uuid::now_v7().to_string();
    checkout(app, &s.slug, &cart, &tok, &key, &checkout_body(email)).await
}

#[tokio::test]
async fn an_erasure_by_email_reaches_only_this_shops_customer_of_the_address() {
    let app = spawn_app().await;
    let s = selling_shop(&app, "acme", 5_000, 20).await;
    let t = selling_shop(&app, "elsewhere", 5_000, 20).await;
    create_deal(
        &app,
        &s,
        json!({"name": "Welcome", "amount_off": {"amount": 300, "currency": "USD"}, "applies_to": "order",
               "code": "WELCOME", "max_uses_per_customer": 1}),
    )
    .await;
    // Ann bought as a guest in acme with the coupon (fulfilled), and as a
    // guest in another shop.
    let resp = guest_order_with_coupon(&app, &s, ANN, "WELCOME").await;
    assert_eq!(resp.status(), 201);
    let coupon_order = id(&body(resp).await["order"]);
    for action in ["mark-paid", "fulfil"] {
        let resp = order_action(&app, &s, &coupon_order, action).await;
        assert_eq!(resp.status(), 200, "{action}");
    }
    let resp = guest_order_with_coupon(&app, &s, ANN, "WELCOME").await;
    assert_eq!(
        resp.status(),
        409,
        "the per-customer cap counts the address"
    );
    let foreign = id(&guest_order(&app, &t, ANN, "9 Faraway Road").await);
    let foreign_before = sealed(&app, &foreign).await;
    let index = foreign_before[2].clone();
    assert_eq!(
        sealed(&app, &coupon_order).await[2],
        index,
        "one blind index in every shop"
    );

    // Ann is locked out as acme's customer; the same address is locked out
    // as acme's staff, in the other shop and as a platform operator.
    cli_staff(&app, "acme", ANN, "staff").await;
    lock_out(&app, Some("acme"), "customer").await;
    lock_out(&app, Some("acme"), "staff").await;
    lock_out(&app, Some("elsewhere"), "customer").await;
    lock_out(&app, None, "operator").await;
    let throttled = format!("SELECT scope FROM login_throttle WHERE email_index = '{index}'");
    assert_eq!(column(&app, &throttled).await.len(), 4);
    let acme_jobs = settled_email_jobs(&app, "acme").await;
    let elsewhere_jobs = settled_email_jobs(&app, "elsewhere").await;
    assert!(
        acme_jobs >= 1,
        "the guest's order confirmation is an email job"
    );
    let hash_of = |order: &str| {
        format!(
            "SELECT request_hash FROM idempotency_keys WHERE CAST(order_id AS TEXT) = '{order}'"
        )
    };
    let foreign_hash = value(&app, &hash_of(&foreign)).await;

    let resp = by_email(&app, "acme", &s.token, "erase", json!({"email": ANN})).await;
    let done = ok(resp).await["erasure"].clone();
    assert_eq!(done["customer_id"], Value::Null, "a guest: {done}");
    assert_eq!(done["orders"], 1, "{done}");
    // Every email job of acme was about Ann's order; none of the other
    // shop's went.
    assert_eq!(done["jobs"], acme_jobs, "{done}");
    assert_eq!(settled_email_jobs(&app, "acme").await, 0);
    assert_eq!(settled_email_jobs(&app, "elsewhere").await, elsewhere_jobs);

    // The other shop's order is untouched, to the byte.
    assert_eq!(sealed(&app, &foreign).await, foreign_before);
    assert_eq!(admin_order(&app, &t, &foreign).await["email"], ANN);
    assert_eq!(value(&app, &hash_of(&foreign)).await, foreign_hash);
    // Acme's order no longer holds the index, nor does its request hash
    // (a digest of the checkout body, address included).
    assert_ne!(sealed(&app, &coupon_order).await[2], index);
    assert_eq!(value(&app, &hash_of(&coupon_order)).await, "erased");

    // Only acme's customer lockout went: the other three still hold.
    assert_eq!(column(&app, &throttled).await.len(), 3);
    assert_eq!(wrong_login(&app, Some("acme"), "customer").await, 401);
    assert_eq!(wrong_login(&app, Some("acme"), "staff").await, 429);
    assert_eq!(wrong_login(&app, Some("elsewhere"), "customer").await, 429);
    assert_eq!(wrong_login(&app, None, "operator").await, 429);

    // The guest's coupon key left `deal_uses` for the order's marker, so
    // the address may use the coupon again (the documented price).
    let keys = format!(
        "SELECT customer_key FROM deal_uses WHERE CAST(order_id AS TEXT) = '{coupon_order}'"
    );
    assert_eq!(
        column(&app, &keys).await,
        [format!("erased:{coupon_order}")]
    );
    let left = format!("SELECT customer_key FROM deal_uses WHERE customer_key LIKE '%{index}%'");
    assert!(column(&app, &left).await.is_empty());

    // A failed sign-in since wrote the blind index again: erasing again
    // scrubs it (and says so); then nothing is left.
    assert_eq!(wrong_login(&app, Some("acme"), "customer").await, 401);
    let resp = by_email(&app, "acme", &s.token, "erase", json!({"email": ANN})).await;
    let scrubbed = ok(resp).await["erasure"].clone();
    assert_eq!(scrubbed["erased_now"], true, "{scrubbed}");
    assert_eq!(scrubbed["orders"], 0, "{scrubbed}");
    assert_eq!(column(&app, &throttled).await.len(), 3);
    let resp = by_email(&app, "acme", &s.token, "erase", json!({"email": ANN})).await;
    assert_eq!(ok(resp).await["erasure"]["erased_now"], false);

    let resp = guest_order_with_coupon(&app, &s, ANN, "WELCOME").await;
    assert_eq!(resp.status(), 201);
    app.stop().await;
}

#[tokio::test]
async fn an_account_erasure_leaves_the_address_in_other_shops_and_roles_alone() {
    let app = spawn_app().await;
    let s = selling_shop(&app, "acme", 5_000, 20).await;
    selling_shop(&app, "elsewhere", 5_000, 20).await;
    let ann = register_named(&app, "acme", ANN, "Ann Scope").await;
    cli_staff(&app, "acme", ANN, "staff").await;
    lock_out(&app, Some("acme"), "customer").await;
    lock_out(&app, Some("acme"), "staff").await;
    lock_out(&app, Some("elsewhere"), "customer").await;
    lock_out(&app, None, "operator").await;

    let resp = erase(&app, "acme", &s.token, &ann).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(body(resp).await["erasure"]["erased_now"], true);
    // The customer's lockout went with the account (a wrong password is a
    // plain refusal again); the others hold.
    assert_eq!(wrong_login(&app, Some("acme"), "customer").await, 401);
    assert_eq!(wrong_login(&app, Some("acme"), "staff").await, 429);
    assert_eq!(wrong_login(&app, Some("elsewhere"), "customer").await, 429);
    assert_eq!(wrong_login(&app, None, "operator").await, 429);
    // Erasing again with nothing left changes nothing.
    let resp = erase(&app, "acme", &s.token, &ann).await;
    assert_eq!(body(resp).await["erasure"]["erased_now"], false);
    app.stop().await;
}

#[tokio::test]
async fn an_erasure_by_email_racing_the_account_erasure_never_fails() {
    let app = spawn_app().await;
    let s = selling_shop(&app, "acme", 5_000, 50).await;
    for round in 0..4 {
        let email = format!("racer{round}@example.com");
        let ann = register_named(&app, "acme", &email, "Racer").await;
        let tok = customer_token(&app, "acme", &email).await;
        let mut orders = Vec::new();
        for line in ["1 First Street", "2 Second Street"] {
            let o = id(&customer_order(&app, "acme", &tok, &s.variant, &email, line).await);
            for action in ["mark-paid", "fulfil"] {
                assert_eq!(order_action(&app, &s, &o, action).await.status(), 200);
            }
            orders.push(o);
        }
        let (by_mail, by_account) = tokio::join!(
            by_email(&app, "acme", &s.token, "erase", json!({"email": email})),
            erase(&app, "acme", &s.token, &ann),
        );
        let (a, b) = (by_mail.status(), by_account.status());
        let (a_body, b_body) = (body(by_mail).await, body(by_account).await);
        assert_eq!(a, 200, "round {round}, by email: {a_body}");
        assert_eq!(b, 200, "round {round}, account: {b_body}");
        // One of them erased it (or both, each something); nothing is left.
        let now = [&a_body, &b_body].map(|b| b["erasure"]["erased_now"] == true);
        assert!(now.contains(&true), "{a_body} {b_body}");
        for o in &orders {
            let after = admin_order(&app, &s, o).await;
            assert!(
                after["email"]
                    .as_str()
                    .unwrap()
                    .ends_with("@erased.invalid")
            );
        }
        let login = login_as(
            &app,
            Some("acme"),
            json!({"email": email, "password": crate::identity::PASSWORD, "account": "customer"}),
        )
        .await;
        assert_eq!(login.status(), 401);
    }
    app.stop().await;
}
