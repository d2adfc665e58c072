//! Customers' rights by email (issue 16, guest purchases), through the API
//! on both databases: staff export and erase whoever uses an address —
//! the account of that email and every order placed with it, guest or
//! not — and nothing of anyone else; the erasure keeps amounts and lines,
//! leaves no readable PII, is audited without it and is idempotent; bad
//! addresses and missing permissions are refused.

use reqwest::Method;
use serde_json::{Value, json};
use sqlx::Connection;
use storekeep_test_support::{TestApp, spawn_app};

use crate::catalog_support::body;
use crate::commerce_support::{
    Shop, admin_order, cart_with, checkout, checkout_body, order_action,
};
use crate::identity::{admin, cli_staff, customer_token, token};
use crate::privacy::{customer_order, register_named, stored};

const ANN: &str = "ann.guest@example.com";
const GUEST_LINE: &str = "77 Guestly Gardens";
const ACCOUNT_LINE: &str = "5 Accountable Row";

/// A guest checkout of one unit with `email`, shipped to `line1`; the
/// order.
pub async fn guest_order(app: &TestApp, s: &Shop, email: &str, line1: &str) -> Value {
    let (cart, tok) = cart_with(app, &s.slug, &[(&s.variant, 1)]).await;
    let mut b = checkout_body(email);
    b["shipping_address"]["line1"] = json!(line1);
    let resp = checkout(
        app,
        &s.slug,
        &cart,
        &tok,
        &uuid::Uuid::now_v7().to_string(),
        &b,
    )
    .await;
    let status = resp.status();
    let b = body(resp).await;
    assert_eq!(status, 201, "guest checkout: {b}");
    b["order"].clone()
}

pub async fn by_email(
    app: &TestApp,
    slug: &str,
    tok: &str,
    what: &str,
    req: Value,
) -> reqwest::Response {
    admin(
        app,
        slug,
        tok,
        Method::POST,
        &format!("/api/v1/admin/privacy/{what}"),
    )
    .json(&req)
    .send()
    .await
    .unwrap()
}

pub fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

fn ids(list: &Value) -> Vec<String> {
    let mut out: Vec<String> = list.as_array().unwrap().iter().map(id).collect();
    out.sort();
    out
}

async fn audit_entries(app: &TestApp, s: &Shop, action: &str) -> Vec<Value> {
    let log = admin(
        app,
        &s.slug,
        &s.token,
        Method::GET,
        "/api/v1/admin/audit-log?limit=200",
    )
    .send()
    .await
    .unwrap();
    body(log).await["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == action)
        .cloned()
        .collect()
}

pub async fn ok(resp: reqwest::Response) -> Value {
    let status = resp.status();
    let b = body(resp).await;
    assert_eq!(status, 200, "{b}");
    b
}

#[tokio::test]
async fn staff_export_by_email_holds_the_guest_orders_and_the_account_of_that_email() {
    let app = spawn_app().await;
    let s = crate::commerce_support::selling_shop(&app, "acme", 5_000, 20).await;
    let ann_id = register_named(&app, "acme", ANN, "Ann Guestperson").await;
    let ann = customer_token(&app, "acme", ANN).await;
    let own = customer_order(&app, "acme", &ann, &s.variant, ANN, ACCOUNT_LINE).await;
    // Before (or without) signing in, Ann bought twice as a guest.
    let g1 = guest_order(&app, &s, ANN, GUEST_LINE).await;
    let g2 = guest_order(&app, &s, "Ann.Guest@Example.com", GUEST_LINE).await;
    order_action(&app, &s, &id(&g1), "mark-paid").await;
    // Someone else's guest order, and Ann's address in another shop.
    let bob = guest_order(&app, &s, "bob.guest@example.com", "8 Bob Street").await;
    let t = crate::commerce_support::selling_shop(&app, "elsewhere", 5_000, 5).await;
    guest_order(&app, &t, ANN, "9 Faraway Road").await;

    let resp = by_email(
        &app,
        "acme",
        &s.token,
        "export",
        json!({"email": "  ANN.guest@example.com "}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    let export = serde_json::from_str::<Value>(&text).unwrap()["export"].clone();
    assert_eq!(export["shop"], "acme");
    assert_eq!(export["email"], ANN);
    // The account's whole export, and every order placed with the address.
    assert_eq!(export["account"]["profile"]["id"], ann_id.as_str());
    assert_eq!(ids(&export["account"]["orders"]), [id(&own)]);
    let mut want = vec![id(&own), id(&g1), id(&g2)];
    want.sort();
    assert_eq!(ids(&export["orders"]), want);
    let guest = export["orders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == g1["id"])
        .unwrap();
    assert_eq!(guest["total"], g1["total"]);
    assert_eq!(guest["lines"], g1["lines"]);
    assert!(
        export["addresses"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["line1"] == GUEST_LINE)
    );
    // Staff marking the guest order paid is in its history.
    assert!(
        export["audit"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "order.paid" && e["target"] == format!("order:{}", id(&g1))),
        "{}",
        export["audit"]
    );
    for foreign in [
        "bob.guest@example.com",
        "8 Bob Street",
        &id(&bob),
        "9 Faraway Road",
    ] {
        assert!(!text.contains(foreign), "the export holds {foreign}");
    }

    // Audited without the address; an address the shop does not know is
    // an empty document, audited as a guest's.
    let resp = by_email(
        &app,
        "acme",
        &s.token,
        "export",
        json!({"email": "nobody@example.com"}),
    )
    .await;
    let empty = ok(resp).await["export"].clone();
    assert_eq!(empty["account"], Value::Null);
    assert_eq!(empty["orders"], json!([]));
    let exported = audit_entries(&app, &s, "customer.data_exported").await;
    assert_eq!(exported.len(), 2, "{exported:?}");
    assert_eq!(exported[0]["target"], "guest");
    assert_eq!(exported[1]["target"], format!("user:{ann_id}"));
    assert_eq!(
        exported[1]["after"],
        json!({"by": "staff", "by_email": true, "orders": 3})
    );
    for e in &exported {
        assert!(!e.to_string().contains("@example.com"), "{e}");
    }
    app.stop().await;
}

#[tokio::test]
async fn bad_addresses_and_callers_without_the_permission_are_refused() {
    let app = spawn_app().await;
    let s = crate::commerce_support::selling_shop(&app, "acme", 5_000, 5).await;
    for what in ["export", "erase"] {
        for bad in [
            json!({"email": "not-an-address"}),
            json!({"email": ""}),
            json!({}),
        ] {
            let resp = by_email(&app, "acme", &s.token, what, bad.clone()).await;
            assert_eq!(resp.status(), 422, "{what} {bad}");
            let problem = body(resp).await;
            assert_eq!(problem["status"], 422, "{problem}");
        }
        let resp = by_email(&app, "acme", &s.token, what, json!({"email": "x"})).await;
        assert_eq!(body(resp).await["errors"][0]["field"], "email");
        // A body without the field is refused by the JSON reader, as
        // every body is (docs/privacy.md).
        let resp = by_email(&app, "acme", &s.token, what, json!({})).await;
        let problem = body(resp).await;
        assert_eq!(problem["errors"][0]["field"], "body", "{problem}");
        assert!(problem.to_string().contains("email"), "{problem}");
    }
    for role in ["staff", "viewer"] {
        let email = format!("{role}@acme.example");
        cli_staff(&app, "acme", &email, role).await;
        let tok = token(&app, Some("acme"), &email, "staff").await;
        for what in ["export", "erase"] {
            let resp = by_email(&app, "acme", &tok, what, json!({"email": ANN})).await;
            assert_eq!(resp.status(), 403, "{role} {what}");
        }
    }
    register_named(&app, "acme", ANN, "Ann Guestperson").await;
    let ann = customer_token(&app, "acme", ANN).await;
    let resp = by_email(&app, "acme", &ann, "erase", json!({"email": ANN})).await;
    assert_eq!(resp.status(), 401);
    // Ann is untouched.
    customer_token(&app, "acme", ANN).await;
    assert!(
        audit_entries(&app, &s, "customer.erased_by_email")
            .await
            .is_empty()
    );
    app.stop().await;
}

/// The sealed values and email indexes of these orders, read with SQL.
async fn sealed_of_orders(app: &TestApp, orders: &[String]) -> Vec<String> {
    let list = orders
        .iter()
        .map(|o| format!("'{o}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let q = format!(
        "SELECT email_sealed, address_sealed, email_index FROM orders WHERE CAST(id AS TEXT) IN ({list})"
    );
    let rows: Vec<(String, String, String)> = if app.db.is_sqlite() {
        let mut conn = sqlx::SqliteConnection::connect(&app.db.url).await.unwrap();
        sqlx::query_as(&q).fetch_all(&mut conn).await.unwrap()
    } else {
        let mut conn = sqlx::PgConnection::connect(&app.db.url).await.unwrap();
        sqlx::query_as(&q).fetch_all(&mut conn).await.unwrap()
    };
    assert_eq!(rows.len(), orders.len());
    rows.into_iter().flat_map(|(a, b, c)| [a, b, c]).collect()
}

#[tokio::test]
async fn staff_erase_by_email_scrubs_the_guest_orders_and_the_account_and_keeps_the_amounts() {
    let app = spawn_app().await;
    let s = crate::commerce_support::selling_shop(&app, "acme", 5_000, 20).await;
    let ann_id = register_named(&app, "acme", ANN, "Ann Guestperson").await;
    let ann = customer_token(&app, "acme", ANN).await;
    let own = id(&customer_order(&app, "acme", &ann, &s.variant, ANN, ACCOUNT_LINE).await);
    let shipped = guest_order(&app, &s, ANN, GUEST_LINE).await;
    let unpaid = id(&guest_order(&app, &s, ANN, GUEST_LINE).await);
    let bob = id(&guest_order(&app, &s, "bob.guest@example.com", "8 Bob Street").await);
    for (o, action) in [(&own, "mark-paid"), (&own, "fulfil")] {
        assert_eq!(order_action(&app, &s, o, action).await.status(), 200);
    }
    let shipped_id = id(&shipped);
    for action in ["mark-paid", "fulfil"] {
        assert_eq!(
            order_action(&app, &s, &shipped_id, action).await.status(),
            200
        );
    }

    // The unpaid guest order stops it, named; nothing changes.
    let resp = by_email(&app, "acme", &s.token, "erase", json!({"email": ANN})).await;
    assert_eq!(resp.status(), 409);
    let problem = body(resp).await.to_string();
    assert!(
        problem.contains(&unpaid) && !problem.contains(&shipped_id),
        "{problem}"
    );
    customer_token(&app, "acme", ANN).await;
    assert_eq!(admin_order(&app, &s, &shipped_id).await["email"], ANN);

    assert_eq!(
        order_action(&app, &s, &unpaid, "cancel").await.status(),
        200
    );
    let before = admin_order(&app, &s, &shipped_id).await;
    let sealed = sealed_of_orders(&app, &[own.clone(), shipped_id.clone(), unpaid.clone()]).await;
    assert!(
        stored(&app).await.contains(&sealed[0]),
        "the probe reads the store"
    );

    let resp = by_email(
        &app,
        "acme",
        &s.token,
        "erase",
        json!({"email": "Ann.Guest@example.com"}),
    )
    .await;
    let done = ok(resp).await["erasure"].clone();
    assert_eq!(done["customer_id"], ann_id.as_str());
    assert_eq!(done["erased_now"], true);
    assert_eq!(done["orders"], 3, "{done}");
    assert!(done["sessions"].as_u64().unwrap() >= 1);

    // No old ciphertext, index or plaintext is left in the database.
    let after_bytes = stored(&app).await;
    for old in sealed
        .iter()
        .map(String::as_str)
        .chain([ANN, GUEST_LINE, ACCOUNT_LINE])
    {
        assert!(!after_bytes.contains(old), "{old} survives the erasure");
    }
    // The guest order keeps everything accounting needs.
    let after = admin_order(&app, &s, &shipped_id).await;
    let (mut was, mut now) = (before.clone(), after.clone());
    for o in [&mut was, &mut now] {
        let o = o.as_object_mut().unwrap();
        o.remove("email");
        o.remove("shipping_address");
    }
    assert_eq!(was, now);
    assert!(
        after["email"]
            .as_str()
            .unwrap()
            .ends_with("@erased.invalid")
    );
    assert_eq!(after["shipping_address"]["line1"], "erased");
    assert_eq!(after["shipping_address"]["country"], "US");
    // Nothing is found by the address any more; Bob is untouched.
    let found = admin(
        &app,
        "acme",
        &s.token,
        Method::GET,
        &format!("/api/v1/admin/orders?email={ANN}"),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(body(found).await["items"], json!([]));
    assert_eq!(
        admin_order(&app, &s, &bob).await["email"],
        "bob.guest@example.com"
    );

    // Audited once, without PII; asking again changes nothing.
    let resp = by_email(&app, "acme", &s.token, "erase", json!({"email": ANN})).await;
    let again = ok(resp).await["erasure"].clone();
    assert_eq!(again["erased_now"], false);
    assert_eq!(again["orders"], 0);
    let erased = audit_entries(&app, &s, "customer.erased_by_email").await;
    assert_eq!(erased.len(), 1, "{erased:?}");
    assert_eq!(erased[0]["target"], format!("user:{ann_id}"));
    assert!(erased[0]["actor"].as_str().unwrap().starts_with("staff:"));
    assert_eq!(erased[0]["after"]["orders"], 3);
    assert_eq!(erased[0]["after"]["account"], true);
    // Ann's account is erased: no sign-in. (The failed sign-in is counted
    // under the address's blind index, which erasing again would scrub:
    // see privacy_scope.rs.)
    let login = crate::identity::login_as(
        &app,
        Some("acme"),
        json!({"email": ANN, "password": crate::identity::PASSWORD, "account": "customer"}),
    )
    .await;
    assert_eq!(login.status(), 401);
    let entry = erased[0].to_string();
    for pii in [ANN, GUEST_LINE, ACCOUNT_LINE, sealed[2].as_str()] {
        assert!(!entry.contains(pii), "the audit entry holds {pii}");
    }
    // A guest-only address: erased without an account, target `guest`.
    let carl = id(&guest_order(&app, &s, "carl@example.com", "3 Carl Close").await);
    assert_eq!(order_action(&app, &s, &carl, "cancel").await.status(), 200);
    let resp = by_email(
        &app,
        "acme",
        &s.token,
        "erase",
        json!({"email": "carl@example.com"}),
    )
    .await;
    let done = ok(resp).await["erasure"].clone();
    assert_eq!(done["customer_id"], Value::Null);
    assert_eq!(done["orders"], 1);
    let erased = audit_entries(&app, &s, "customer.erased_by_email").await;
    assert_eq!(erased[0]["target"], "guest");
    assert_eq!(erased[0]["after"]["order_ids"], json!([carl]));
    app.stop().await;
}
