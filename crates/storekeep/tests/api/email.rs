//! Email: the shop's branding and DKIM settings, template previews, and
//! the development folder transport.

use reqwest::Method;
use serde_json::{Value, json};
use storekeep_test_support::{TestApp, problem, spawn_app};

use crate::catalog_support::{body, create, product_json, shop};
use crate::email_support::{Mail, dkim_rsa_key, messages_in, wait_for};
use crate::identity::{admin, register};

const TEMPLATES: [&str; 15] = [
    "order_placed",
    "payment_received",
    "order_fulfilled",
    "order_delivered",
    "refunded",
    "payment_declined",
    "password_reset",
    "mfa_enabled",
    "mfa_disabled",
    "new_device",
    "webhook_disabled",
    "rental_due_soon",
    "rental_due_today",
    "rental_overdue",
    "rental_contract",
];

fn branding() -> Value {
    json!({
        "currency": "USD",
        "email_sender": "hello@acme.example",
        "email_sender_name": "Acme Refurb",
        "email_reply_to": "care@acme.example",
        "email_logo_url": "https://cdn.acme.example/logo.png",
        "email_brand_color": "#0b3d2e",
        "email_accent_color": "#ffb400"
    })
}

async fn patch_settings(app: &TestApp, token: &str, settings: Value) -> reqwest::Response {
    admin(app, "acme", token, Method::PATCH, "/api/v1/admin/settings")
        .json(&json!({ "settings": settings }))
        .send()
        .await
        .unwrap()
}

async fn get_settings(app: &TestApp, token: &str) -> String {
    admin(app, "acme", token, Method::GET, "/api/v1/admin/settings")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn every_template_previews_with_the_shops_branding_and_escapes_its_data() {
    let app = spawn_app().await;
    let (token, _) = shop(&app, "acme", None).await;
    assert_eq!(patch_settings(&app, &token, branding()).await.status(), 200);
    let title = "<script>alert(1)</script> ThinkPad";
    create(
        &app,
        "acme",
        &token,
        &product_json(title, &[("TP-1", 1000, 1)]),
    )
    .await;

    let list = body(
        admin(
            &app,
            "acme",
            &token,
            Method::GET,
            "/api/v1/admin/email-templates",
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    let names: Vec<&str> = list["templates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, TEMPLATES);

    for name in TEMPLATES {
        let path = format!("/api/v1/admin/email-templates/{name}/preview");
        let resp = admin(&app, "acme", &token, Method::GET, &path)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{name}");
        let p = body(resp).await;
        let (subject, text, html) = (
            p["subject"].as_str().unwrap(),
            p["text"].as_str().unwrap(),
            p["html"].as_str().unwrap(),
        );
        assert!(!subject.is_empty() && !text.trim().is_empty(), "{name}");
        assert!(html.contains("<html lang=\"en\">"), "{name}");
        assert!(
            html.contains("<img src=\"https://cdn.acme.example/logo.png\" alt=\""),
            "{name}: the logo, with alt text"
        );
        assert!(html.contains("#0b3d2e"), "{name}: the brand colour");
        assert!(html.len() < 30 * 1024, "{name}: {} bytes", html.len());
        assert!(!html.contains("<script>"), "{name}: nothing unescaped");
        assert!(
            !text.contains("<table") && !text.contains("<p"),
            "{name}: the text part is not HTML"
        );
        if name.starts_with("order")
            || ["payment_received", "refunded", "payment_declined"].contains(&name)
        {
            assert!(
                html.contains("&#60;script&#62;") || html.contains("&lt;script&gt;"),
                "{name}: the product title is escaped: {html}"
            );
            assert!(
                text.contains(title),
                "{name}: the text part has the title as is"
            );
            assert!(
                text.contains("$25.00"),
                "{name}: money in the shop's currency"
            );
            assert!(html.contains("#ffb400"), "{name}: the accent colour");
        }
        if name.starts_with("rental_") {
            assert_rental_preview(name, subject, text, html, title);
        }
    }

    let html = admin(
        &app,
        "acme",
        &token,
        Method::GET,
        "/api/v1/admin/email-templates/order_placed/preview?format=html",
    )
    .send()
    .await
    .unwrap();
    assert!(
        html.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(html.text().await.unwrap().starts_with("<!DOCTYPE html>"));
    let text = admin(
        &app,
        "acme",
        &token,
        Method::GET,
        "/api/v1/admin/email-templates/password_reset/preview?format=text",
    )
    .send()
    .await
    .unwrap();
    assert!(
        text.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    assert!(text.text().await.unwrap().contains("Reset your password"));

    let unknown = admin(
        &app,
        "acme",
        &token,
        Method::GET,
        "/api/v1/admin/email-templates/nope/preview",
    )
    .send()
    .await
    .unwrap();
    problem(unknown, 404).await;
    let bad_format = admin(
        &app,
        "acme",
        &token,
        Method::GET,
        "/api/v1/admin/email-templates/order_placed/preview?format=pdf",
    )
    .send()
    .await
    .unwrap();
    problem(bad_format, 400).await;
    app.stop().await;
}

#[tokio::test]
async fn previews_need_the_settings_permission() {
    let app = spawn_app().await;
    shop(&app, "acme", None).await;
    let anonymous = app
        .shop("acme", Method::GET, "/api/v1/admin/email-templates")
        .send()
        .await
        .unwrap();
    problem(anonymous, 401).await;
    register(&app, "acme", "ada@example.com").await;
    let customer = crate::identity::customer_token(&app, "acme", "ada@example.com").await;
    let refused = admin(
        &app,
        "acme",
        &customer,
        Method::GET,
        "/api/v1/admin/email-templates/order_placed/preview",
    )
    .send()
    .await
    .unwrap();
    assert!([401, 403].contains(&refused.status().as_u16()));
    app.stop().await;
}

#[tokio::test]
async fn bad_branding_and_dkim_settings_are_refused_by_field() {
    let app = spawn_app().await;
    let (token, _) = shop(&app, "acme", None).await;
    let mut bad = branding();
    bad["email_brand_color"] = json!("green");
    bad["email_accent_color"] = json!("#12345");
    bad["email_logo_url"] = json!("http://cdn.acme.example/logo.png");
    bad["email_reply_to"] = json!("not an address");
    bad["email_dkim"] = json!({"selector": "sk1", "domain": "acme.example",
        "private_key": "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----"});
    let p = problem(patch_settings(&app, &token, bad).await, 422).await;
    let fields: Vec<&str> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    for f in [
        "settings.email_brand_color",
        "settings.email_accent_color",
        "settings.email_logo_url",
        "settings.email_reply_to",
    ] {
        assert!(fields.contains(&f), "{f} in {fields:?}");
    }
    // The key is checked once the rest is valid; its text is never echoed.
    let mut bad_key = branding();
    bad_key["email_dkim"] = json!({"selector": "sk1", "domain": "acme.example",
        "private_key": "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----"});
    let p = problem(patch_settings(&app, &token, bad_key).await, 422).await;
    assert_eq!(p["errors"][0]["field"], "settings.email_dkim.private_key");
    assert!(!p.to_string().contains("bm90IGEga2V5"));
    // DKIM without any key stored is refused too.
    let mut no_key = branding();
    no_key["email_dkim"] = json!({"selector": "sk1", "domain": "acme.example"});
    let p = problem(patch_settings(&app, &token, no_key).await, 422).await;
    assert_eq!(p["errors"][0]["field"], "settings.email_dkim.private_key");
    let mut bad_selector = branding();
    bad_selector["email_dkim"] = json!({"selector": "no dots.here", "domain": "Not A Domain"});
    let p = problem(patch_settings(&app, &token, bad_selector).await, 422).await;
    assert!(p.to_string().contains("settings.email_dkim.selector"));
    assert!(p.to_string().contains("settings.email_dkim.domain"));
    app.stop().await;
}

#[tokio::test]
async fn the_dkim_key_is_accepted_sealed_and_never_shown() {
    let app = spawn_app().await;
    let (token, _) = shop(&app, "acme", None).await;
    let keys = tempfile::tempdir().unwrap();
    let (pem, _) = dkim_rsa_key(keys.path());
    let key_body: String = pem.lines().nth(3).unwrap().to_owned();
    let mut settings = branding();
    settings["email_dkim"] =
        json!({"selector": "sk1", "domain": "acme.example", "private_key": pem});
    let resp = patch_settings(&app, &token, settings.clone()).await;
    assert_eq!(resp.status(), 200);
    let answer = resp.text().await.unwrap();
    let shown = get_settings(&app, &token).await;
    for text in [&answer, &shown] {
        assert!(!text.contains(&key_body), "the key is never returned");
        assert!(
            !text.contains("private_key") && !text.contains("key_sealed"),
            "{text}"
        );
        let v: Value = serde_json::from_str(text).unwrap();
        assert_eq!(
            v["settings"]["email_dkim"],
            json!({"selector": "sk1", "domain": "acme.example", "key_configured": true})
        );
    }
    // Sending the settings back as shown keeps the key.
    let mut again: Value = serde_json::from_str(&shown).unwrap();
    again["settings"]["email_sender_name"] = json!("Acme");
    let resp = patch_settings(&app, &token, again["settings"].clone()).await;
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["settings"]["email_dkim"]["key_configured"], true);
    // The platform API does not show the sealed key either.
    let platform = app
        .platform(Method::GET, "/api/v1/platform/tenants/acme")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!platform.contains("key_sealed") && !platform.contains(&key_body));
    assert!(platform.contains("\"key_configured\":true"));
    app.stop().await;
}

/// The shop's DKIM settings as its staff see them.
async fn dkim_shown(app: &TestApp, token: &str) -> Value {
    let shown: Value = serde_json::from_str(&get_settings(app, token).await).unwrap();
    shown["settings"]["email_dkim"].clone()
}

/// Asks for a password reset of `email` and answers the message it sends.
async fn reset_mail(app: &TestApp, email: &str) -> std::path::PathBuf {
    let folder = app.db.dir.path().join("mail");
    let before = messages_in(&folder).len();
    let asked = app
        .shop("acme", Method::POST, "/api/v1/auth/password-reset")
        .json(&json!({ "email": email }))
        .send()
        .await
        .unwrap();
    assert_eq!(asked.status(), 202);
    wait_for(&folder, before + 1).await.last().unwrap().clone()
}

#[tokio::test]
async fn a_settings_patch_that_does_not_name_the_dkim_key_keeps_it() {
    let app = spawn_app().await;
    let (token, _) = shop(&app, "acme", None).await;
    let keys = tempfile::tempdir().unwrap();
    let (pem, txt) = dkim_rsa_key(keys.path());
    let mut settings = branding();
    settings["email_dkim"] =
        json!({"selector": "sk1", "domain": "acme.example", "private_key": pem});
    assert_eq!(patch_settings(&app, &token, settings).await.status(), 200);
    let configured = json!({"selector": "sk1", "domain": "acme.example", "key_configured": true});

    // The operator replaces the shop's settings (a new colour), never
    // seeing the key: the key stays, and the shop's mail is still signed.
    let mut platform = branding();
    platform["email_brand_color"] = json!("#123456");
    let resp = app
        .platform(Method::PATCH, "/api/v1/platform/tenants/acme")
        .json(&json!({"tenant": {"settings": platform}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["tenant"]["settings"]["email_dkim"], configured);
    assert_eq!(v["tenant"]["settings"]["email_brand_color"], "#123456");
    assert_eq!(dkim_shown(&app, &token).await, configured);
    register(&app, "acme", "ada@example.com").await;
    let mail = reset_mail(&app, "ada@example.com").await;
    assert!(
        Mail::read(&mail)
            .header("DKIM-Signature")
            .is_some_and(|h| h.contains("d=acme.example")),
        "signed after the operator's patch"
    );
    if crate::email_support::python_has("dkim") {
        assert!(crate::email_support::dkim_verifies(&mail, &txt));
    }
    // The operator cannot clear it either: that is the staff's to do.
    let mut clear = branding();
    clear["email_dkim"] = json!({"selector": "sk1", "domain": "acme.example"});
    let refused = app
        .platform(Method::PATCH, "/api/v1/platform/tenants/acme")
        .json(&json!({"tenant": {"settings": clear}}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 422);
    assert_eq!(dkim_shown(&app, &token).await, configured);

    // Staff: leaving `private_key` out keeps it; an explicit null clears it.
    let mut kept = branding();
    kept["email_dkim"] = json!({"selector": "sk2", "domain": "acme.example"});
    assert_eq!(patch_settings(&app, &token, kept).await.status(), 200);
    assert_eq!(dkim_shown(&app, &token).await["key_configured"], true);
    let mut cleared = branding();
    cleared["email_dkim"] = Value::Null;
    assert_eq!(patch_settings(&app, &token, cleared).await.status(), 200);
    assert_eq!(dkim_shown(&app, &token).await, Value::Null);
    let mail = reset_mail(&app, "ada@example.com").await;
    assert_eq!(Mail::read(&mail).header("DKIM-Signature"), None);
    app.stop().await;
}

#[tokio::test]
async fn the_folder_transport_writes_signed_multipart_messages() {
    let app = spawn_app().await;
    let (token, _) = shop(&app, "acme", None).await;
    let keys = tempfile::tempdir().unwrap();
    let (pem, txt) = dkim_rsa_key(keys.path());
    let mut settings = branding();
    settings["email_dkim"] =
        json!({"selector": "sk1", "domain": "acme.example", "private_key": pem});
    assert_eq!(patch_settings(&app, &token, settings).await.status(), 200);
    register(&app, "acme", "ada@example.com").await;
    let folder = app.db.dir.path().join("mail");
    let before = messages_in(&folder).len();
    let asked = app
        .shop("acme", Method::POST, "/api/v1/auth/password-reset")
        .json(&json!({"email": "ada@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(asked.status(), 202);
    let files = wait_for(&folder, before + 1).await;
    let path = files.last().unwrap();
    let mail = Mail::read(path);
    assert_eq!(
        mail.header("From"),
        Some("\"Acme Refurb\" <hello@acme.example>")
    );
    assert_eq!(mail.header("To"), Some("ada@example.com"));
    assert_eq!(mail.header("Reply-To"), Some("care@acme.example"));
    assert!(mail.header("Subject").unwrap().contains("Reset your"));
    assert!(
        mail.header("Content-Type")
            .unwrap()
            .starts_with("multipart/alternative")
    );
    let parts = mail.parts();
    assert_eq!(parts.len(), 2);
    assert!(
        parts[0]
            .header("Content-Type")
            .unwrap()
            .starts_with("text/plain")
    );
    assert!(
        parts[1]
            .header("Content-Type")
            .unwrap()
            .starts_with("text/html")
    );
    assert!(parts[0].decoded().contains("skr_"));
    assert!(parts[1].decoded().contains("#0b3d2e"));
    assert!(
        mail.header("DKIM-Signature")
            .unwrap()
            .contains("d=acme.example")
    );
    if crate::email_support::python_has("dkim") {
        assert!(crate::email_support::dkim_verifies(path, &txt));
    }
    app.stop().await;
}

/// A rental template's preview (the sample: installment 3 of 49.99 due on
/// 31 March 2027 of contract RC-SAMPLE, 12 monthly payments of goods of
/// 499.00, the overdue one with a 15.00 late fee) shows the amount and the
/// due date in both parts, and the shop's product escaped in the HTML.
fn assert_rental_preview(name: &str, subject: &str, text: &str, html: &str, title: &str) {
    for part in [text, html] {
        assert!(part.contains("RC-SAMPLE"), "{name}: the contract");
        assert!(part.contains("$49.99"), "{name}: the amount");
        assert!(part.contains("31 March 2027"), "{name}: the due date");
    }
    assert!(text.contains(title), "{name}: the product, as is");
    assert!(
        html.contains("&#60;script&#62;") || html.contains("&lt;script&gt;"),
        "{name}: the product escaped"
    );
    assert!(html.contains("#ffb400"), "{name}: the accent colour");
    match name {
        "rental_due_soon" => {
            assert!(
                subject.contains("$49.99 is due on 31 March 2027"),
                "{subject}"
            );
            assert!(text.contains("in three days"));
        }
        "rental_due_today" => assert!(subject.contains("$49.99 is due today"), "{subject}"),
        "rental_overdue" => {
            assert!(subject.contains("$64.99 is overdue"), "{subject}");
            for part in [text, html] {
                assert!(part.contains("late fee of $15.00"), "{name}: {part}");
                assert!(part.contains("$64.99"), "{name}: installment and fee");
            }
        }
        _ => {
            assert!(subject.ends_with("rental agreement RC-SAMPLE"), "{subject}");
            for part in [text, html] {
                for fact in [
                    "12 monthly payments of $49.99",
                    "from 31 January 2027 to 31 December 2027",
                    "28 February 2027",
                    "$499.00",
                    "$49.90",
                    "$99.89",
                    "$599.88",
                    "$100.88",
                    "Late fee: $15.00",
                    "cash price less 50% of the rent paid",
                    "and 6 more",
                ] {
                    assert!(part.contains(fact), "{name}: {fact} in {part}");
                }
            }
        }
    }
}
