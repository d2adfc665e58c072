//! Customers' rights (issue 16), through the API on both databases: a
//! customer's data export holds their profile, orders and rentals and
//! nothing of anyone else; an erasure keeps the orders' amounts and lines
//! and leaves no readable PII in the database (the old ciphertexts and
//! email index are gone from the SQLite files, or from every row on
//! PostgreSQL); permissions and shops are respected.

use reqwest::Method;
use serde_json::{Value, json};
use sqlx::Connection;
use storekeep_test_support::{TestApp, spawn_app};

use crate::catalog_support::body;
use crate::commerce_support::{Shop, selling_shop};
use crate::identity::{PASSWORD, admin, cli_staff, customer_token, login_as, token};
use crate::rentals_contract_support::seed_contract;

const ANN: &str = "ann.privacy@example.com";
const ANN_NAME: &str = "Ann Quintessa Example";
const ANN_LINE: &str = "42 Unmistakable Lane";

/// Registers a customer with a name and phone; their id.
pub async fn register_named(app: &TestApp, slug: &str, email: &str, name: &str) -> String {
    let resp = app
        .shop(slug, Method::POST, "/api/v1/auth/register")
        .json(&json!({"account": {
            "email": email, "password": PASSWORD, "name": name, "phone": "+1 555 0142"
        }}))
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let b = body(resp).await;
    assert_eq!(status, 201, "register {email}: {b}");
    b["account"]["id"].as_str().unwrap().to_owned()
}

/// An order of the logged-in customer (one unit of `variant`), shipped to
/// `line1`; the order.
pub async fn customer_order(
    app: &TestApp,
    slug: &str,
    customer: &str,
    variant: &str,
    email: &str,
    line1: &str,
) -> Value {
    let resp = app
        .shop(slug, Method::POST, "/api/v1/store/carts")
        .bearer_auth(customer)
        .json(&json!({"items": [{"variant_id": variant, "quantity": 1}]}))
        .send()
        .await
        .unwrap();
    let cart = body(resp).await["cart"].clone();
    let mut checkout = crate::commerce_support::checkout_body(email);
    checkout["shipping_address"]["line1"] = json!(line1);
    let resp = app
        .shop(
            slug,
            Method::POST,
            &format!(
                "/api/v1/store/carts/{}/checkout",
                cart["id"].as_str().unwrap()
            ),
        )
        .bearer_auth(customer)
        .header("x-cart-token", cart["token"].as_str().unwrap())
        .header("idempotency-key", uuid::Uuid::now_v7().to_string())
        .json(&checkout)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let b = body(resp).await;
    assert_eq!(status, 201, "checkout: {b}");
    b["order"].clone()
}

async fn order_action(app: &TestApp, s: &Shop, order: &str, action: &str) {
    let path = format!("/api/v1/admin/orders/{order}/{action}");
    let resp = admin(app, &s.slug, &s.token, Method::POST, &path)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{action} {order}");
}

async fn admin_order(app: &TestApp, s: &Shop, order: &str) -> Value {
    let path = format!("/api/v1/admin/orders/{order}");
    let resp = admin(app, &s.slug, &s.token, Method::GET, &path)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    body(resp).await["order"].clone()
}

pub async fn erase(app: &TestApp, slug: &str, token: &str, customer: &str) -> reqwest::Response {
    let path = format!("/api/v1/admin/customers/{customer}/erase");
    admin(app, slug, token, Method::POST, &path)
        .send()
        .await
        .unwrap()
}

async fn staff_export(app: &TestApp, slug: &str, token: &str, customer: &str) -> reqwest::Response {
    let path = format!("/api/v1/admin/customers/{customer}/export");
    admin(app, slug, token, Method::GET, &path)
        .send()
        .await
        .unwrap()
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_customer_export_holds_their_data_and_nothing_of_anyone_else() {
    let app = spawn_app().await;
    let s = selling_shop(&app, "acme", 5_000, 20).await;
    let ann_id = register_named(&app, "acme", ANN, ANN_NAME).await;
    let ann = customer_token(&app, "acme", ANN).await;
    let order = customer_order(&app, "acme", &ann, &s.variant, ANN, ANN_LINE).await;
    let contract = seed_contract(&app, "acme", &s.token, &ann, &s.variant).await;
    // Another customer of the shop, and a customer of another shop.
    register_named(&app, "acme", "bob.other@example.com", "Bob Otherperson").await;
    let bob = customer_token(&app, "acme", "bob.other@example.com").await;
    let bobs = customer_order(
        &app,
        "acme",
        &bob,
        &s.variant,
        "bob.other@example.com",
        "7 Bobs Row",
    )
    .await;
    let t = selling_shop(&app, "elsewhere", 5_000, 5).await;
    register_named(&app, "elsewhere", "carol.far@example.com", "Carol Far").await;
    let carol = customer_token(&app, "elsewhere", "carol.far@example.com").await;
    customer_order(
        &app,
        "elsewhere",
        &carol,
        &t.variant,
        "carol.far@example.com",
        "9 Faraway Road",
    )
    .await;

    let resp = app
        .shop("acme", Method::GET, "/api/v1/store/account/export")
        .bearer_auth(&ann)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    let export = serde_json::from_str::<Value>(&text).unwrap()["export"].clone();
    assert_eq!(export["shop"], "acme");
    assert_eq!(export["profile"]["id"], ann_id.as_str());
    assert_eq!(export["profile"]["email"], ANN);
    assert_eq!(export["profile"]["name"], ANN_NAME);
    assert_eq!(export["profile"]["phone"], "+1 555 0142");
    assert_eq!(export["erased"], false);
    let orders = ids(&export["orders"]);
    assert_eq!(orders.len(), 2, "the order and the rental's order");
    assert!(orders.contains(&order["id"].as_str().unwrap().to_owned()));
    let own = export["orders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == order["id"])
        .unwrap();
    assert_eq!(own["total"], order["total"]);
    assert_eq!(own["lines"], order["lines"]);
    assert_eq!(ids(&export["rental_contracts"]), [contract]);
    assert!(
        !export["rental_contracts"][0]["installments"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert!(
        export["addresses"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["line1"] == ANN_LINE)
    );
    assert!(!export["sessions"].as_array().unwrap().is_empty());
    assert_eq!(export["consents"], json!([]));
    // The staff's mark-paid of the rental's order is about Ann.
    assert!(
        export["audit"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["target"].as_str().unwrap().starts_with("order:")),
        "{}",
        export["audit"]
    );

    // Nothing of Bob or of the other shop; no secret.
    for foreign in [
        "bob.other@example.com",
        "Bob Otherperson",
        "7 Bobs Row",
        bobs["id"].as_str().unwrap(),
        "carol.far@example.com",
        "9 Faraway Road",
        ann.as_str(),
        "argon2",
        "password",
        "token_hash",
    ] {
        assert!(!text.contains(foreign), "the export holds {foreign}");
    }

    // Staff ask on Ann's behalf: the same document, and the audit log
    // recorded the customer's own export.
    let resp = staff_export(&app, "acme", &s.token, &ann_id).await;
    assert_eq!(resp.status(), 200);
    let by_staff = body(resp).await["export"].clone();
    assert_eq!(ids(&by_staff["orders"]), orders);
    let exported: Vec<&Value> = by_staff["audit"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "customer.data_exported")
        .collect();
    assert_eq!(exported.len(), 1);
    assert_eq!(exported[0]["target"], format!("user:{ann_id}"));
    assert_eq!(exported[0]["after"], json!({"by": "customer"}));
    app.stop().await;
}

#[tokio::test]
async fn staff_without_the_permission_are_refused_and_other_shops_customers_are_not_found() {
    let app = spawn_app().await;
    let s = selling_shop(&app, "acme", 5_000, 5).await;
    let ann_id = register_named(&app, "acme", ANN, ANN_NAME).await;
    for role in ["staff", "viewer"] {
        let email = format!("{role}@acme.example");
        cli_staff(&app, "acme", &email, role).await;
        let tok = token(&app, Some("acme"), &email, "staff").await;
        let resp = staff_export(&app, "acme", &tok, &ann_id).await;
        assert_eq!(resp.status(), 403, "{role} exports");
        let resp = erase(&app, "acme", &tok, &ann_id).await;
        assert_eq!(resp.status(), 403, "{role} erases");
    }
    // A customer's session is no staff credential.
    let ann = customer_token(&app, "acme", ANN).await;
    assert_eq!(erase(&app, "acme", &ann, &ann_id).await.status(), 401);

    // Another shop's owner: Ann is not found there (nor is a staff
    // account, nor a malformed id, in her own shop).
    let other = selling_shop(&app, "other", 5_000, 5).await;
    for (slug, tok, id) in [
        ("other", &other.token, ann_id.clone()),
        ("acme", &s.token, "not-an-id".to_owned()),
        ("acme", &s.token, uuid::Uuid::now_v7().to_string()),
    ] {
        let resp = staff_export(&app, slug, tok, &id).await;
        assert_eq!(resp.status(), 404, "export of {id} in {slug}");
        let resp = erase(&app, slug, tok, &id).await;
        assert_eq!(resp.status(), 404, "erasure of {id} in {slug}");
    }
    // Ann is untouched: she still signs in.
    customer_token(&app, "acme", ANN).await;
    app.stop().await;
}

/// The sealed values and email indexes of Ann's account and orders, read
/// with literal SQL.
async fn sealed_of(app: &TestApp, customer: &str) -> Vec<String> {
    let users = format!(
        "SELECT email_sealed, coalesce(name_sealed, ''), coalesce(phone_sealed, ''), email_index \
         FROM users WHERE id = '{customer}'"
    );
    let orders = format!(
        "SELECT email_sealed, address_sealed, email_index, email_index FROM orders \
         WHERE customer_id = '{customer}'"
    );
    let mut rows: Vec<(String, String, String, String)> = Vec::new();
    if app.db.is_sqlite() {
        let mut conn = sqlx::SqliteConnection::connect(&app.db.url).await.unwrap();
        for q in [&users, &orders] {
            rows.extend(sqlx::query_as(q).fetch_all(&mut conn).await.unwrap());
        }
        conn.close().await.unwrap();
    } else {
        let mut conn = sqlx::PgConnection::connect(&app.db.url).await.unwrap();
        for q in [&users, &orders] {
            rows.extend(sqlx::query_as(q).fetch_all(&mut conn).await.unwrap());
        }
        conn.close().await.unwrap();
    }
    rows.into_iter()
        .flat_map(|(a, b, c, d)| [a, b, c, d])
        .filter(|v| !v.is_empty())
        .collect()
}

/// Everything stored, as bytes: the SQLite files, or every row of the
/// tables that can hold PII as text on PostgreSQL.
pub async fn stored(app: &TestApp) -> String {
    if app.db.is_sqlite() {
        let mut bytes = Vec::new();
        for f in ["storekeep.db", "storekeep.db-wal"] {
            if let Ok(b) = std::fs::read(app.db.dir.path().join(f)) {
                bytes.extend(b);
            }
        }
        let text = String::from_utf8_lossy(&bytes).into_owned();
        assert!(text.contains("tenant_domains"), "this is the database file");
        text
    } else {
        let mut conn = sqlx::PgConnection::connect(&app.db.url).await.unwrap();
        let mut all = String::new();
        for table in [
            "users",
            "orders",
            "sessions",
            "login_throttle",
            "jobs",
            "outbox_events",
            "webhook_deliveries",
            "audit_log",
            "carts",
            "deal_uses",
            "rental_contracts",
        ] {
            let q = format!(
                "SELECT coalesce(string_agg(row_to_json(t)::text, '\n'), '') FROM {table} t"
            );
            let dump: String = sqlx::query_scalar(&q).fetch_one(&mut conn).await.unwrap();
            all.push_str(&dump);
        }
        conn.close().await.unwrap();
        all
    }
}

#[tokio::test]
async fn an_erasure_keeps_order_amounts_and_leaves_no_readable_pii() {
    let app = spawn_app().await;
    let s = selling_shop(&app, "acme", 5_000, 20).await;
    let ann_id = register_named(&app, "acme", ANN, ANN_NAME).await;
    let ann = customer_token(&app, "acme", ANN).await;
    let shipped = customer_order(&app, "acme", &ann, &s.variant, ANN, ANN_LINE).await;
    let shipped_id = shipped["id"].as_str().unwrap().to_owned();
    order_action(&app, &s, &shipped_id, "mark-paid").await;
    order_action(&app, &s, &shipped_id, "fulfil").await;
    let unpaid = customer_order(&app, "acme", &ann, &s.variant, ANN, ANN_LINE).await;
    let unpaid_id = unpaid["id"].as_str().unwrap().to_owned();

    // An unpaid order stops the erasure, named; nothing changes.
    let resp = erase(&app, "acme", &s.token, &ann_id).await;
    assert_eq!(resp.status(), 409);
    let problem = body(resp).await;
    let named = problem.to_string();
    assert!(named.contains(&unpaid_id), "{problem}");
    assert!(!named.contains(&shipped_id), "{problem}");
    customer_token(&app, "acme", ANN).await;

    order_action(&app, &s, &unpaid_id, "cancel").await;
    let before = admin_order(&app, &s, &shipped_id).await;
    let sealed = sealed_of(&app, &ann_id).await;
    assert_eq!(sealed.len(), 4 + 2 * 4, "{sealed:?}");
    assert!(
        stored(&app).await.contains(&sealed[0]),
        "the probe reads the store"
    );

    let resp = erase(&app, "acme", &s.token, &ann_id).await;
    assert_eq!(resp.status(), 200);
    let done = body(resp).await["erasure"].clone();
    assert_eq!(done["erased_now"], true);
    assert_eq!(done["orders"], 2);
    assert!(done["sessions"].as_u64().unwrap() >= 1);

    // No old ciphertext, index or plaintext is left anywhere.
    let after_bytes = stored(&app).await;
    for old in sealed
        .iter()
        .map(String::as_str)
        .chain([ANN, ANN_NAME, ANN_LINE, "555 0142"])
    {
        assert!(
            !after_bytes.contains(old),
            "{old} survives the erasure in the database"
        );
    }

    // The order keeps everything accounting needs; only PII changed.
    let after = admin_order(&app, &s, &shipped_id).await;
    let mut was = before.clone();
    let mut now = after.clone();
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
    assert_eq!(after["total"], shipped["total"]);
    assert_eq!(after["lines"], shipped["lines"]);

    // Signed out everywhere, no sign-in; the address can sign up again.
    let resp = app
        .shop("acme", Method::GET, "/api/v1/store/account/export")
        .bearer_auth(&ann)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let resp = login_as(
        &app,
        Some("acme"),
        json!({"email": ANN, "password": PASSWORD, "account": "customer"}),
    )
    .await;
    assert_eq!(resp.status(), 401);

    // Audited, without PII; erasing again changes nothing.
    let resp = erase(&app, "acme", &s.token, &ann_id).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(body(resp).await["erasure"]["erased_now"], false);
    let log = admin(
        &app,
        "acme",
        &s.token,
        Method::GET,
        "/api/v1/admin/audit-log",
    )
    .send()
    .await
    .unwrap();
    let log = body(log).await;
    let erased: Vec<&Value> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "customer.erased")
        .collect();
    assert_eq!(erased.len(), 1, "{log}");
    assert_eq!(erased[0]["target"], format!("user:{ann_id}"));
    assert!(erased[0]["actor"].as_str().unwrap().starts_with("staff:"));
    let entry = erased[0].to_string();
    for pii in [ANN, ANN_NAME, ANN_LINE] {
        assert!(!entry.contains(pii), "the audit entry holds {pii}");
    }
    let export = body(staff_export(&app, "acme", &s.token, &ann_id).await).await;
    assert_eq!(export["export"]["erased"], true);
    assert_eq!(export["export"]["profile"]["name"], Value::Null);

    let new_id = register_named(&app, "acme", ANN, "Somebody New").await;
    assert_ne!(new_id, ann_id);
    customer_token(&app, "acme", ANN).await;
    app.stop().await;
}

#[tokio::test]
async fn a_customer_erases_their_own_account_with_their_password() {
    let app = spawn_app().await;
    let s = selling_shop(&app, "acme", 5_000, 20).await;
    let ann_id = register_named(&app, "acme", ANN, ANN_NAME).await;
    let ann = customer_token(&app, "acme", ANN).await;
    let contract = seed_contract(&app, "acme", &s.token, &ann, &s.variant).await;
    let own_erase = |password: &'static str| {
        app.shop("acme", Method::POST, "/api/v1/store/account/erase")
            .bearer_auth(&ann)
            .json(&json!({ "password": password }))
            .send()
    };

    let resp = own_erase("not my password at all").await.unwrap();
    assert_eq!(resp.status(), 401);
    // A running rental contract stops it, named.
    let resp = own_erase(PASSWORD).await.unwrap();
    assert_eq!(resp.status(), 409);
    let problem = body(resp).await;
    assert!(problem.to_string().contains(&contract), "{problem}");

    // Bought out, its order shipped: nothing is open any more.
    let path = format!("/api/v1/admin/rental-contracts/{contract}/buyout");
    let resp = admin(&app, "acme", &s.token, Method::POST, &path)
        .json(&json!({"reference": "receipt 1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", body(resp).await);
    let export = body(
        app.shop("acme", Method::GET, "/api/v1/store/account/export")
            .bearer_auth(&ann)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let order = export["export"]["orders"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Staff's entries about her contract and order name no one in her own
    // export; the staff export keeps who, from where.
    let mine = format!("customer:{ann_id}");
    let entries = export["export"]["audit"].as_array().unwrap();
    assert!(entries.iter().any(|e| e["actor"] == "staff"), "{entries:?}");
    for e in entries.iter().filter(|e| e["actor"] != mine.as_str()) {
        assert!(e["actor"] == "staff" || e["actor"] == "system", "{e}");
        assert!(e["ip"].is_null() && e["request_id"].is_null(), "{e}");
    }
    let path = format!("/api/v1/admin/customers/{ann_id}/export");
    let full = body(
        admin(&app, "acme", &s.token, Method::GET, &path)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let staffs: Vec<&Value> = full["export"]["audit"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor"] != mine.as_str())
        .collect();
    assert!(!staffs.is_empty());
    assert!(
        staffs
            .iter()
            .all(|e| e["actor"] != "staff" && e["actor"] != "system"),
        "{staffs:?}"
    );
    assert!(
        staffs.iter().any(|e| !e["request_id"].is_null()),
        "{staffs:?}"
    );
    order_action(&app, &s, &order, "fulfil").await;

    let resp = own_erase(PASSWORD).await.unwrap();
    assert_eq!(resp.status(), 200);
    let done = body(resp).await["erasure"].clone();
    assert_eq!(done["customer_id"], ann_id.as_str());
    assert_eq!(done["erased_now"], true);
    // The session that asked has ended too.
    let resp = app
        .shop("acme", Method::GET, "/api/v1/store/account/export")
        .bearer_auth(&ann)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    // The contract keeps its money; its order its amounts.
    let path = format!("/api/v1/admin/rental-contracts/{contract}");
    let c = body(
        admin(&app, "acme", &s.token, Method::GET, &path)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(c["contract"]["status"], "bought_out");
    assert!(!c["contract"]["payments"].as_array().unwrap().is_empty());
    let log = admin(
        &app,
        "acme",
        &s.token,
        Method::GET,
        "/api/v1/admin/audit-log",
    )
    .send()
    .await
    .unwrap();
    let log = body(log).await;
    let newest = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "customer.erased")
        .unwrap();
    assert_eq!(newest["actor"], format!("customer:{ann_id}"));
    app.stop().await;
}

#[tokio::test]
async fn with_mfa_on_a_customer_erases_their_account_only_with_a_second_factor() {
    let app = spawn_app().await;
    let (_, codes) = crate::mfa::customer_with_mfa(&app).await;
    let creds =
        json!({"email": "ada@example.com", "password": PASSWORD, "recovery_code": codes[0]});
    let resp = login_as(&app, Some("acme"), creds).await;
    assert_eq!(resp.status(), 200);
    let ada = body(resp).await["token"].as_str().unwrap().to_owned();
    let own_erase = |erase: Value| {
        app.shop("acme", Method::POST, "/api/v1/store/account/erase")
            .bearer_auth(&ada)
            .json(&erase)
            .send()
    };

    // The password alone is not enough: the code is asked for.
    let resp = own_erase(json!({ "password": PASSWORD })).await.unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(body(resp).await["errors"][0]["field"], "totp");
    let resp = own_erase(json!({ "password": PASSWORD, "code": "not-a-code" }))
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    // A right code with a wrong password is refused too.
    let resp = own_erase(json!({ "password": "not my password at all", "code": codes[1] }))
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let me = app
        .shop("acme", Method::GET, "/api/v1/store/account/export")
        .bearer_auth(&ada)
        .send()
        .await
        .unwrap();
    assert_eq!(body(me).await["export"]["erased"], false);

    let resp = own_erase(json!({ "password": PASSWORD, "code": codes[2] }))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(body(resp).await["erasure"]["erased_now"], true);
    let creds =
        json!({"email": "ada@example.com", "password": PASSWORD, "recovery_code": codes[3]});
    assert_eq!(login_as(&app, Some("acme"), creds).await.status(), 401);
    app.stop().await;
}
