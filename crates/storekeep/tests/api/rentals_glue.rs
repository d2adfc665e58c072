//! The rental pieces joined: contracts start on the shop's date, the
//! agreement document, the contract email, and what deleting and refunding
//! do around rented goods.

use chrono::{Duration, NaiveDate, Utc};
use reqwest::Method;
use serde_json::{Value, json};
use storekeep_test_support::{TestApp, problem, spawn_app, spawn_app_with};

use crate::catalog_support::{body, money};
use crate::commerce_support::{
    Shop, cart_req, checkout_body, order_action, selling_shop, set_settings, settings, stock,
};
use crate::email_support::{Mail, SmtpSink, python_has};
use crate::identity::{admin, customer_token, register};
use crate::rentals_contract_support::{rent_to_own_plan, rental_cart, units};

pub async fn customer(app: &TestApp, slug: &str, email: &str) -> String {
    assert_eq!(register(app, slug, email).await.status(), 201);
    customer_token(app, slug, email).await
}

/// Checks the cart out as `customer` (the order's email is `email`); the
/// response's status and body.
pub async fn rent(
    app: &TestApp,
    s: &Shop,
    cart: &Value,
    customer: &str,
    email: &str,
) -> (u16, Value) {
    let (id, token) = (
        cart["id"].as_str().unwrap(),
        cart["token"].as_str().unwrap(),
    );
    let resp = cart_req(
        app,
        &s.slug,
        token,
        Method::POST,
        &format!("/api/v1/store/carts/{id}/checkout"),
    )
    .header("idempotency-key", uuid::Uuid::now_v7().to_string())
    .json(&checkout_body(email))
    .bearer_auth(customer)
    .send()
    .await
    .unwrap();
    let status = resp.status().as_u16();
    (status, body(resp).await)
}

pub async fn admin_get(app: &TestApp, s: &Shop, path: &str) -> (u16, Value) {
    let resp = admin(app, &s.slug, &s.token, Method::GET, path)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, body(resp).await)
}

/// The date at a fixed UTC offset (in hours) around a request: both dates
/// if the request crossed a midnight there.
fn dates_at(offset_hours: i64, before: chrono::DateTime<Utc>) -> [NaiveDate; 2] {
    let at = |t: chrono::DateTime<Utc>| (t + Duration::hours(offset_hours)).date_naive();
    [at(before), at(Utc::now())]
}

/// Rents in a shop of `zone` (a zone without summer time at `offset`
/// hours from UTC); the cart's and the contract's start dates must be the
/// shop's date, and the contract records the zone.
async fn starts_on_the_shop_date(app: &TestApp, slug: &str, zone: &str, offset: i64) {
    let s = selling_shop(app, slug, 60_000, 3).await;
    let mut body = settings(1800);
    body["settings"]["time_zone"] = json!(zone);
    set_settings(app, slug, &s.token, &body).await;
    let plan = rent_to_own_plan(app, slug, &s.token, &s.variant).await;
    let ada = customer(app, slug, "ada@example.com").await;

    let before = Utc::now();
    let item = json!({"variant_id": s.variant, "quantity": 1, "rental_plan_id": plan});
    let (status, b) = rental_cart(app, slug, Some(&ada), item).await;
    assert_eq!(status, 201, "{b}");
    let cart = &b["cart"];
    let (status, order) = rent(app, &s, cart, &ada, "ada@example.com").await;
    assert_eq!(status, 201, "{order}");
    let shop_dates = dates_at(offset, before);
    let first = &cart["items"][0]["rental"]["schedule"][0]["due_date"];
    assert!(
        shop_dates.iter().any(|d| json!(d) == *first),
        "{zone}: the cart's schedule starts {first}, the shop's date is {shop_dates:?}"
    );

    let (status, list) = admin_get(app, &s, "/api/v1/admin/rental-contracts").await;
    assert_eq!(status, 200, "{list}");
    let c = &list["items"][0];
    assert_eq!(c["time_zone"], zone);
    assert!(
        shop_dates.iter().any(|d| json!(d) == c["start_date"]),
        "{zone}: the contract starts {}, the shop's date is {shop_dates:?}",
        c["start_date"]
    );
    let path = format!(
        "/api/v1/admin/rental-contracts/{}",
        c["id"].as_str().unwrap()
    );
    let (_, detail) = admin_get(app, &s, &path).await;
    let installments = detail["contract"]["installments"].as_array().unwrap();
    assert_eq!(installments[0]["due_date"], c["start_date"]);
}

#[tokio::test]
async fn contracts_start_on_the_shop_date_on_both_sides_of_the_date_line() {
    // Kiritimati is UTC+14 and Pago Pago UTC−11: at any UTC hour at least
    // one of them is on another date than UTC (+14 from 10:00 UTC, −11
    // before 11:00 UTC), so a schedule started on the UTC date fails here.
    let app = spawn_app().await;
    starts_on_the_shop_date(&app, "kiritimati", "Pacific/Kiritimati", 14).await;
    starts_on_the_shop_date(&app, "pagopago", "Pacific/Pago_Pago", -11).await;
}

/// The cell after the disclosure row labelled `label`.
fn disclosure_value<'a>(html: &'a str, label: &str) -> &'a str {
    let cell = format!("<td class=\"label\">{label}</td><td class=\"amount\">");
    let from = html
        .find(&cell)
        .unwrap_or_else(|| panic!("no disclosure row {label}"))
        + cell.len();
    let rest = &html[from..];
    &rest[..rest.find("</td>").unwrap()]
}

async fn get_document(req: reqwest::RequestBuilder) -> (u16, String, String) {
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let kind = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, kind, resp.text().await.unwrap())
}

#[tokio::test]
async fn the_agreement_document_holds_both_parties_every_disclosure_and_the_schedule() {
    let app = spawn_app().await;
    let s = selling_shop(&app, "agree", 60_000, 3).await;
    let plan = rent_to_own_plan(&app, "agree", &s.token, &s.variant).await;
    units(&app, "agree", &s.token, &s.variant, "SN-AGREE", 1).await;
    let ada = customer(&app, "agree", "ada@example.com").await;
    let item = json!({"variant_id": s.variant, "quantity": 1, "rental_plan_id": plan});
    let (status, b) = rental_cart(&app, "agree", Some(&ada), item).await;
    assert_eq!(status, 201, "{b}");
    let (status, order) = rent(&app, &s, &b["cart"], &ada, "ada@example.com").await;
    assert_eq!(status, 201, "{order}");
    let (_, list) = admin_get(&app, &s, "/api/v1/admin/rental-contracts").await;
    let contract = list["items"][0]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/admin/rental-contracts/{contract}");
    let (_, detail) = admin_get(&app, &s, &path).await;
    let c = &detail["contract"];

    let staff = admin(
        &app,
        "agree",
        &s.token,
        Method::GET,
        &format!("{path}/document"),
    );
    let (status, kind, html) = get_document(staff).await;
    assert_eq!(status, 200, "{html}");
    assert!(kind.starts_with("text/html"), "{kind}");
    // Both parties, the goods and the unit handed over.
    assert!(html.contains("<strong>Shop agree</strong>"), "{html}");
    assert!(html.contains("<strong>Ada Lovelace</strong>"), "{html}");
    assert!(html.contains("<p>ada@example.com</p>"), "{html}");
    assert!(html.contains(&contract));
    assert!(html.contains("<td>agree-TP</td>"), "{html}");
    assert!(html.contains("<td>SN-AGREE-1</td>"), "{html}");
    // Every disclosure with the contract's exact amounts.
    assert_eq!(c["cash_price"], money(60_000));
    for (label, value) in [
        ("Type of agreement", "rent-to-own"),
        ("Cash price", "$600.00"),
        ("Deposit", "$60.00"),
        ("Amount of each payment", "$60.00"),
        ("Number of payments", "12"),
        ("Due at signing", "$120.00"),
        ("Total of payments", "$720.00"),
        ("Total cost", "$720.00"),
        ("Cost of renting over the cash price", "$120.00"),
        ("Early purchase", "Offered"),
        ("Late fee", "$15.00"),
        ("Maintenance and repairs", "The shop"),
        ("Ownership", "Passes to you"),
        ("Default", "30 days"),
    ] {
        assert_eq!(disclosure_value(&html, label), value, "{label}");
    }
    // The schedule: the contract's twelve installments, dates and amounts.
    let installments = c["installments"].as_array().unwrap();
    assert_eq!(installments.len(), 12);
    assert_eq!(html.matches("<tr class=\"installment\">").count(), 12);
    for i in installments {
        let due: NaiveDate = serde_json::from_value(i["due_date"].clone()).unwrap();
        let row = format!(
            "<tr class=\"installment\"><td>{}</td><td>{}</td><td class=\"amount\">$60.00</td></tr>",
            i["seq"],
            due.format("%-d %B %Y")
        );
        assert!(html.contains(&row), "{row}");
    }
    // The buy-out price after installments 1 … 11.
    assert_eq!(html.matches("<tr class=\"buyout\">").count(), 11);
    assert!(html.contains("<tr class=\"buyout\"><td>1</td><td class=\"amount\">$570.00</td></tr>"));
    assert!(
        html.contains("<tr class=\"buyout\"><td>11</td><td class=\"amount\">$270.00</td></tr>")
    );

    // The renter reads the same page; another customer and a guest do not.
    let own = format!("/api/v1/store/rentals/{contract}/document");
    let (status, kind, mine) =
        get_document(app.shop("agree", Method::GET, &own).bearer_auth(&ada)).await;
    assert_eq!((status, kind.starts_with("text/html")), (200, true));
    assert_eq!(mine, html);
    let bob = customer(&app, "agree", "bob@example.com").await;
    let resp = app
        .shop("agree", Method::GET, &own)
        .bearer_auth(&bob)
        .send()
        .await
        .unwrap();
    problem(resp, 404).await;
    let resp = app.shop("agree", Method::GET, &own).send().await.unwrap();
    problem(resp, 401).await;
    let missing = format!(
        "/api/v1/admin/rental-contracts/{}/document",
        uuid::Uuid::now_v7()
    );
    let resp = admin(&app, "agree", &s.token, Method::GET, &missing)
        .send()
        .await
        .unwrap();
    problem(resp, 404).await;
}

async fn app_with_sink(sink: &SmtpSink) -> TestApp {
    let (url, ca) = (sink.url(), sink.ca.clone());
    spawn_app_with(move |s| {
        s.mail.transport = storekeep::config::MailTransport::Smtp;
        s.mail.smtp_url = Some(storekeep::config::Secret::new(url));
        s.mail.smtp_ca_file = ca;
        s.mail.smtp_timeout = std::time::Duration::from_secs(5);
        s.jobs.poll_interval = std::time::Duration::from_millis(100);
    })
    .await
}

fn subjects(sink: &SmtpSink) -> Vec<String> {
    sink.messages()
        .iter()
        .map(|p| Mail::read(p).header("Subject").unwrap_or("").to_owned())
        .collect()
}

#[tokio::test]
async fn paying_a_rental_order_sends_the_customer_the_contract_email_once() {
    if !python_has("aiosmtpd") {
        return;
    }
    let sink = SmtpSink::start(true);
    let app = app_with_sink(&sink).await;
    let s = selling_shop(&app, "rentmail", 60_000, 3).await;
    let plan = rent_to_own_plan(&app, "rentmail", &s.token, &s.variant).await;
    let ada = customer(&app, "rentmail", "ada@example.com").await;
    let item = json!({"variant_id": s.variant, "quantity": 1, "rental_plan_id": plan});
    let (status, b) = rental_cart(&app, "rentmail", Some(&ada), item).await;
    assert_eq!(status, 201, "{b}");
    let (status, order) = rent(&app, &s, &b["cart"], &ada, "ada@example.com").await;
    assert_eq!(status, 201, "{order}");
    let order_id = order["order"]["id"].as_str().unwrap();
    let (_, list) = admin_get(&app, &s, "/api/v1/admin/rental-contracts").await;
    let contract = list["items"][0]["id"].as_str().unwrap().to_owned();
    let reference = contract[contract.len() - 8..].to_uppercase();
    let subject = format!("Your Shop rentmail rental agreement {reference}");

    // Unpaid, the order is placed but no agreement is in place yet.
    sink.wait_for(1).await;
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    assert!(!subjects(&sink).contains(&subject), "{:?}", subjects(&sink));

    let resp = order_action(&app, &s, order_id, "mark-paid").await;
    assert_eq!(resp.status(), 200);
    // Placed, payment received, and the agreement.
    let inbox = sink.wait_for(3).await;
    let found: Vec<Mail> = inbox
        .iter()
        .map(|p| Mail::read(p))
        .filter(|m| m.header("Subject") == Some(subject.as_str()))
        .collect();
    assert_eq!(found.len(), 1, "{:?}", subjects(&sink));
    let mail = &found[0];
    assert_eq!(mail.header("To"), Some("ada@example.com"));
    let text = mail.parts()[0].decoded();
    for fact in [
        "rent-to-own agreement",
        "Refurbished ThinkPad",
        "Cash price: $600.00",
        "Deposit (refundable, less damage charges): $60.00",
        "Paid at signing: $120.00",
        "Total of payments: $720.00",
        "Cost of renting over the cash price: $120.00",
        "... and 6 more",
    ] {
        assert!(text.contains(fact), "{fact}: {text}");
    }
    let (_, detail) = admin_get(
        &app,
        &s,
        &format!("/api/v1/admin/rental-contracts/{contract}"),
    )
    .await;
    let first: NaiveDate =
        serde_json::from_value(detail["contract"]["installments"][0]["due_date"].clone()).unwrap();
    let first_line = format!("1. {}: $60.00", first.format("%-d %B %Y"));
    assert!(text.contains(&first_line), "{first_line}: {text}");

    // A replayed settlement records nothing and sends nothing again.
    assert_eq!(
        order_action(&app, &s, order_id, "mark-paid").await.status(),
        409
    );
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    assert_eq!(sink.messages().len(), 3, "{:?}", subjects(&sink));
}

#[tokio::test]
async fn rented_goods_are_neither_deleted_nor_restocked_by_a_refund() {
    let app = spawn_app().await;
    let s = selling_shop(&app, "keep", 60_000, 3).await;
    let plan = rent_to_own_plan(&app, "keep", &s.token, &s.variant).await;
    units(&app, "keep", &s.token, &s.variant, "SN-KEEP", 1).await;
    let ada = customer(&app, "keep", "ada@example.com").await;
    let item = json!({"variant_id": s.variant, "quantity": 1, "rental_plan_id": plan});
    let (status, b) = rental_cart(&app, "keep", Some(&ada), item).await;
    assert_eq!(status, 201, "{b}");
    let (status, order) = rent(&app, &s, &b["cart"], &ada, "ada@example.com").await;
    assert_eq!(status, 201, "{order}");
    let order = &order["order"];
    let id = order["id"].as_str().unwrap();
    let line = order["lines"][0]["id"].as_str().unwrap();
    assert_eq!(order_action(&app, &s, id, "mark-paid").await.status(), 200);
    // The line holds a serial-tracked unit: it took no stock.
    assert_eq!(stock(&app, &s).await, (3, 0));

    // Deleting the product (or its last variant) would drop the unit the
    // contract names: refused, nothing deleted.
    let product = format!("/api/v1/admin/products/{}", s.product);
    let resp = admin(&app, "keep", &s.token, Method::DELETE, &product)
        .send()
        .await
        .unwrap();
    let p = problem(resp, 409).await;
    assert!(
        p["detail"].as_str().unwrap().contains("rental contracts"),
        "{p}"
    );
    let (status, _) = admin_get(&app, &s, &product).await;
    assert_eq!(status, 200);

    let refunds = format!("/api/v1/admin/orders/{id}/refunds");
    let refund = |restock: Value| {
        admin(&app, "keep", &s.token, Method::POST, &refunds).json(&json!({
            "amount": {"amount": 12_500, "currency": "USD"},
            "reason": "changed their mind",
            "restock": restock
        }))
    };
    // Putting the rented line back into stock is refused, nothing refunded.
    let resp = refund(json!([{"line_id": line, "quantity": 1}]))
        .send()
        .await
        .unwrap();
    problem(resp, 422).await;
    assert_eq!(stock(&app, &s).await, (3, 0));
    let (_, o) = admin_get(&app, &s, &format!("/api/v1/admin/orders/{id}")).await;
    assert_eq!(o["order"]["refunded"], money(0), "{o}");
    // Refunded in full without restocking: the variant's stock is untouched.
    let resp = refund(json!([])).send().await.unwrap();
    assert_eq!(resp.status(), 201);
    assert_eq!(body(resp).await["order"]["status"], "refunded");
    assert_eq!(stock(&app, &s).await, (3, 0));
}
