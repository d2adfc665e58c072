//! The console's customers (issue 18): the list, a customer's page with
//! their orders, the data export downloaded as JSON, and the erasure
//! (confirmed by typing the email) leaving no readable PII, as the admin
//! API's erasure test checks; roles and shops respected.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::catalog_support::body;
use crate::commerce_support::{admin_order, order_action, selling_shop};
use crate::console_orders::{assert_safe, console_shop, next_href, plain};
use crate::console_support::{staff_console, submit, web_app};
use crate::identity::{admin, cli_staff, customer_token};
use crate::privacy::{customer_order, register_named, stored};
use crate::rentals_contract_support::seed_contract;
use crate::web_browser::Browser;

const ANN: &str = "ann.console@example.com";
const ANN_NAME: &str = "Ann Quintessa Console";
const ANN_LINE: &str = "42 Unmistakable Lane";

/// POSTs a console form and keeps the whole response (headers too).
async fn post_full(
    app: &storekeep_test_support::TestApp,
    b: &Browser,
    path: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let cookie: Vec<String> = b.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let form: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    app.request(Method::POST, path)
        .header("host", &b.host)
        .header("cookie", cookie.join("; "))
        .header("sec-fetch-site", "same-origin")
        .header("origin", format!("http://{}", b.host))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap()
}

async fn export_api(
    app: &storekeep_test_support::TestApp,
    slug: &str,
    token: &str,
    id: &str,
) -> Value {
    let resp = admin(
        app,
        slug,
        token,
        Method::GET,
        &format!("/api/v1/admin/customers/{id}/export"),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
    body(resp).await["export"].clone()
}

#[tokio::test]
async fn console_customers_page_export_and_erasure() {
    let app = web_app().await;
    let s = console_shop(&app, "acme").await;
    let ann_id = register_named(&app, "acme", ANN, ANN_NAME).await;
    let ann = customer_token(&app, "acme", ANN).await;
    let shipped = customer_order(&app, "acme", &ann, &s.variant, ANN, ANN_LINE).await;
    let shipped_id = shipped["id"].as_str().unwrap().to_owned();
    for a in ["mark-paid", "fulfil"] {
        assert_eq!(order_action(&app, &s, &shipped_id, a).await.status(), 200);
    }
    let unpaid = customer_order(&app, "acme", &ann, &s.variant, ANN, ANN_LINE).await;
    let unpaid_id = unpaid["id"].as_str().unwrap().to_owned();
    let mut b = staff_console(&app, "acme", "owner").await;

    // The list links to them; their page shows their orders.
    let list = b.get("/console/customers").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert!(list.body.contains(ANN) && list.body.contains(ANN_NAME));
    let path = format!("/console/customers/{ann_id}");
    assert!(list.body.contains(&format!("href=\"{path}\"")));
    assert!(
        list.body
            .contains("href=\"/console/customers\" aria-current=\"page\"")
    );
    let page = b.get(&path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains(&format!("<h1>{ANN}</h1>")));
    for o in [&shipped_id, &unpaid_id] {
        assert!(
            page.body.contains(&format!("href=\"/console/orders/{o}\"")),
            "{o}"
        );
    }
    assert!(page.body.contains("fulfilled") && page.body.contains("awaiting payment"));
    assert!(page.body.contains("No rental contracts."));
    assert!(page.body.contains("Erase personal data"));
    // The order's page links back to its customer.
    let order_page = b.get(&format!("/console/orders/{shipped_id}")).await;
    assert!(order_page.body.contains(&format!("href=\"{path}\"")));

    // The export: a JSON attachment naming them, audited.
    let resp = post_full(
        &app,
        &b,
        &format!("{path}/export"),
        &[("csrf", &page.csrf())],
    )
    .await;
    assert_eq!(resp.status(), 200);
    let disposition = resp.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        disposition.starts_with("attachment; filename=\"acme-customer-"),
        "{disposition}"
    );
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let doc: Value = resp.json().await.unwrap();
    assert_eq!(doc["export"]["profile"]["email"], ANN);
    assert_eq!(doc["export"]["profile"]["name"], ANN_NAME);
    assert_eq!(doc["export"]["erased"], false);
    let orders: Vec<&str> = doc["export"]["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    assert!(orders.contains(&shipped_id.as_str()) && orders.contains(&unpaid_id.as_str()));
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
    assert!(
        log["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "customer.data_exported"
                && e["target"] == format!("user:{ann_id}")
                && e["actor"].as_str().unwrap().starts_with("staff:")),
        "{log}"
    );

    // A wrong confirmation: 422 beside the field, nothing erased.
    let refused = submit(
        &mut b,
        &page,
        &format!("{path}/erase"),
        &[("confirm", "ann@example.com")],
    )
    .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert!(plain(&refused.body).contains("This is not the customer's email address."));
    assert!(
        refused
            .body
            .contains("aria-invalid=\"true\" aria-describedby=\"erase-confirm-error\"")
    );
    // An open order: 409 naming it, nothing erased.
    let refused = submit(&mut b, &page, &format!("{path}/erase"), &[("confirm", ANN)]).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    assert!(
        refused
            .body
            .contains(&format!("Order {unpaid_id} is unpaid or not yet shipped"))
    );
    assert!(!refused.body.contains(&format!("Order {shipped_id}")));
    assert_eq!(
        export_api(&app, "acme", &s.token, &ann_id).await["profile"]["email"],
        ANN
    );
    customer_token(&app, "acme", ANN).await;

    // Settled, erased; typed in another case with spaces around.
    assert_eq!(
        order_action(&app, &s, &unpaid_id, "cancel").await.status(),
        200
    );
    let typed = format!("  {}  ", ANN.to_uppercase());
    let done = submit(
        &mut b,
        &page,
        &format!("{path}/erase"),
        &[("confirm", &typed)],
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(
        done.location.as_deref(),
        Some(&*format!("{path}?done=erased"))
    );
    let after = b.follow(done).await;
    assert!(plain(&after.body).contains("The customer's personal data is erased."));
    assert!(after.body.contains("<h1>Erased customer</h1>"));
    assert!(
        !after.body.contains("Erase personal data"),
        "nothing left to erase"
    );
    assert!(!after.body.contains(ANN) && !after.body.contains(ANN_NAME));

    // As the admin API's erasure test checks: no readable PII anywhere, the
    // order's amounts kept, signed out.
    let bytes = stored(&app).await;
    for pii in [ANN, ANN_NAME, ANN_LINE, "555 0142"] {
        assert!(!bytes.contains(pii), "{pii} survives the erasure");
    }
    let order = admin_order(&app, &s, &shipped_id).await;
    assert!(
        order["email"]
            .as_str()
            .unwrap()
            .ends_with("@erased.invalid")
    );
    assert_eq!(order["shipping_address"]["line1"], "erased");
    assert_eq!(order["total"], shipped["total"]);
    let export = export_api(&app, "acme", &s.token, &ann_id).await;
    assert_eq!(export["erased"], true);
    assert_eq!(export["profile"]["name"], Value::Null);
    let resp = app
        .shop("acme", Method::GET, "/api/v1/store/account/export")
        .bearer_auth(&ann)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
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
    assert!(
        log["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "customer.erased"
                && e["actor"].as_str().unwrap().starts_with("staff:"))
    );

    assert_safe(&app, &b, "/console/customers").await;
    assert_safe(&app, &b, &path).await;
    app.stop().await;
}

#[tokio::test]
async fn console_customers_roles_shops_and_pages() {
    let app = web_app().await;
    let s = console_shop(&app, "acme").await;
    cli_staff(&app, "acme", "admin@acme.example", "admin").await;
    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(register_named(&app, "acme", &format!("c{n}@example.com"), "C").await);
    }
    selling_shop(&app, "other", 1000, 5).await;
    let theirs = register_named(&app, "other", "theirs@example.com", "Theirs").await;

    // Keyset pages, oldest first.
    let mut owner = staff_console(&app, "acme", "owner").await;
    let first = owner.get("/console/customers?limit=2").await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert!(first.body.contains("c0@example.com") && first.body.contains("c1@example.com"));
    assert!(!first.body.contains("c2@example.com"));
    let next = next_href(&first).expect("a next page");
    let second = owner.get(&next).await;
    assert!(second.body.contains("c2@example.com") && !second.body.contains("c0@example.com"));
    assert!(next_href(&second).is_none());
    assert!(!first.body.contains("theirs@example.com"));
    for q in ["limit=0", "after=forged"] {
        let page = owner.get(&format!("/console/customers?{q}")).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{q}");
    }

    // Another shop's customer, or no id at all: 404, for the page and the actions.
    let page = owner.get(&format!("/console/customers/{theirs}")).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(!page.body.contains("theirs@example.com"));
    assert_eq!(
        owner.get("/console/customers/nonsense").await.status,
        StatusCode::NOT_FOUND
    );
    let own = owner.get(&format!("/console/customers/{}", ids[0])).await;
    for (action, fields) in [
        ("export", &[][..]),
        ("erase", &[("confirm", "theirs@example.com")][..]),
    ] {
        let r = submit(
            &mut owner,
            &own,
            &format!("/console/customers/{theirs}/{action}"),
            fields,
        )
        .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{action}");
    }

    // Staff (orders, no customers) and viewers: no link, 403, even forged.
    for role in ["staff", "viewer"] {
        let mut b = staff_console(&app, "acme", role).await;
        let home = b.get("/console/orders").await;
        assert!(!home.body.contains("href=\"/console/customers\""), "{role}");
        let path = format!("/console/customers/{}", ids[0]);
        assert_eq!(
            b.get("/console/customers").await.status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(b.get(&path).await.status, StatusCode::FORBIDDEN);
        let r = submit(
            &mut b,
            &home,
            &format!("{path}/erase"),
            &[("confirm", "c0@example.com")],
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{role}");
        let r = submit(&mut b, &home, &format!("{path}/export"), &[]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{role}");
    }
    // Admins read and erase.
    let mut a = staff_console(&app, "acme", "admin").await;
    let page = a.get(&format!("/console/customers/{}", ids[0])).await;
    assert!(page.body.contains("Erase personal data"));
    let done = submit(
        &mut a,
        &page,
        &format!("/console/customers/{}/erase", ids[0]),
        &[("confirm", "c0@example.com")],
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    // Erasing again is refused as nothing is left.
    let again = submit(
        &mut a,
        &page,
        &format!("/console/customers/{}/erase", ids[0]),
        &[("confirm", "c0@example.com")],
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(again.body.contains("already erased"));
    // The others are untouched.
    let export = export_api(&app, "acme", &s.token, &ids[1]).await;
    assert_eq!(export["profile"]["email"], "c1@example.com");

    // A customer's rental contract is listed, and while it runs it stops
    // the erasure, named.
    let c1 = customer_token(&app, "acme", "c1@example.com").await;
    let contract = seed_contract(&app, "acme", &s.token, &c1, &s.variant).await;
    let path = format!("/console/customers/{}", ids[1]);
    let page = a.get(&path).await;
    assert!(
        page.body
            .contains(&format!("href=\"/console/rentals/{contract}\"")),
        "{}",
        page.body
    );
    assert!(!page.body.contains("No rental contracts."));
    let refused = submit(
        &mut a,
        &page,
        &format!("{path}/erase"),
        &[("confirm", "c1@example.com")],
    )
    .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    assert!(
        refused
            .body
            .contains(&format!("Rental contract {contract} is still running")),
        "{}",
        refused.body
    );
    let export = export_api(&app, "acme", &s.token, &ids[1]).await;
    assert_eq!(export["profile"]["email"], "c1@example.com");
    app.stop().await;
}
