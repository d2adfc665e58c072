//! Email through a real SMTP server (aiosmtpd): STARTTLS with a test CA
//! (`mail.smtp_ca_file`), AUTH, the headers, both MIME parts, and the
//! DKIM signature checked by an independent implementation (dkimpy).

use reqwest::Method;
use serde_json::{Value, json};
use storekeep_test_support::{TestApp, spawn_app_with};

use crate::catalog_support::shop;
use crate::email_support::{Mail, SmtpSink, dkim_rsa_key, dkim_verifies, python_has};
use crate::identity::{PASSWORD, admin, login_as, now_unix, register, totp};

async fn smtp_app(sink: &SmtpSink) -> TestApp {
    let (url, ca) = (sink.url(), sink.ca.clone());
    spawn_app_with(move |s| {
        s.mail.transport = storekeep::config::MailTransport::Smtp;
        s.mail.smtp_url = Some(storekeep::config::Secret::new(url));
        s.mail.smtp_ca_file = ca;
        s.mail.smtp_timeout = std::time::Duration::from_secs(5);
    })
    .await
}

async fn login(app: &TestApp, email: &str) -> String {
    let resp = login_as(
        app,
        Some("acme"),
        json!({"email": email, "password": PASSWORD}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    resp.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_password_reset_and_an_mfa_notice_arrive_over_starttls_signed_with_dkim() {
    if !python_has("aiosmtpd, dkim") {
        return;
    }
    let sink = SmtpSink::start(true);
    let app = smtp_app(&sink).await;
    let (token, _) = shop(&app, "acme", None).await;
    let (pem, txt) = dkim_rsa_key(sink.dir.path());
    let resp = admin(
        &app,
        "acme",
        &token,
        Method::PATCH,
        "/api/v1/admin/settings",
    )
    .json(&json!({"settings": {
        "email_sender": "hello@acme.example",
        "email_sender_name": "Acme Refurb",
        "email_brand_color": "#0b3d2e",
        "email_dkim": {"selector": "sk1", "domain": "acme.example", "private_key": pem}
    }}))
    .send()
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
    register(&app, "acme", "ada@example.com").await;

    let asked = app
        .shop("acme", Method::POST, "/api/v1/auth/password-reset")
        .json(&json!({"email": "ada@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(asked.status(), 202);
    let inbox = sink.wait_for(1).await;
    let mail = Mail::read(&inbox[0]);
    assert_eq!(
        mail.header("From"),
        Some("\"Acme Refurb\" <hello@acme.example>")
    );
    assert_eq!(mail.header("To"), Some("ada@example.com"));
    assert!(mail.header("Subject").unwrap().starts_with("Reset your "));
    let id = mail.header("Message-ID").unwrap();
    assert!(
        id.starts_with('<') && id.ends_with("@acme.example>"),
        "{id}"
    );
    assert!(mail.header("Date").is_some());
    assert_eq!(mail.header("MIME-Version"), Some("1.0"));
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
    let reset_token = parts[0]
        .decoded()
        .split_whitespace()
        .find(|w| w.starts_with("skr_"))
        .expect("the reset code in the text part")
        .to_owned();
    assert!(parts[1].decoded().contains(&reset_token));
    let signature = mail.header("DKIM-Signature").unwrap();
    assert!(signature.contains("d=acme.example") && signature.contains("s=sk1"));
    assert!(signature.contains("c=relaxed/relaxed"), "{signature}");
    assert!(
        dkim_verifies(&inbox[0], &txt),
        "dkimpy verifies the signature"
    );
    // A tampered message does not verify: the check can fail.
    let tampered = sink.dir.path().join("tampered.eml");
    let raw = std::fs::read_to_string(&inbox[0]).unwrap();
    std::fs::write(&tampered, raw.replacen("Reset your", "Reset thy", 1)).unwrap();
    assert!(!dkim_verifies(&tampered, &txt));

    // Turning MFA on sends the account's owner a notice.
    let session = login(&app, "ada@example.com").await;
    let enrol: Value = app
        .shop("acme", Method::POST, "/api/v1/auth/mfa/totp")
        .bearer_auth(&session)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let confirmed = app
        .shop("acme", Method::POST, "/api/v1/auth/mfa/totp/confirm")
        .bearer_auth(&session)
        .json(&json!({"code": totp(enrol["secret"].as_str().unwrap(), now_unix())}))
        .send()
        .await
        .unwrap();
    assert_eq!(confirmed.status(), 200);
    let inbox = sink.wait_for(2).await;
    let notice = Mail::read(&inbox[1]);
    assert!(
        notice
            .header("Subject")
            .unwrap()
            .contains("Two-step sign-in turned on")
    );
    assert_eq!(notice.header("To"), Some("ada@example.com"));
    assert!(dkim_verifies(&inbox[1], &txt));
    let metrics = app.get("/api/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("storekeep_emails_total{result=\"sent\",template=\"password_reset\"} 1"),
        "{metrics}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_sign_in_from_a_new_device_is_notified_but_not_the_first_one() {
    if !python_has("aiosmtpd") {
        return;
    }
    let sink = SmtpSink::start(true);
    let app = smtp_app(&sink).await;
    app.create_tenant("acme", json!({})).await;
    register(&app, "acme", "ada@example.com").await;
    let sign_in = |agent: &'static str| {
        app.shop("acme", Method::POST, "/api/v1/auth/login")
            .header("user-agent", agent)
            .json(&json!({"email": "ada@example.com", "password": PASSWORD}))
            .send()
    };
    assert_eq!(sign_in("Firefox/140").await.unwrap().status(), 200);
    assert_eq!(sign_in("Firefox/140").await.unwrap().status(), 200);
    assert_eq!(sign_in("Safari/19").await.unwrap().status(), 200);
    let inbox = sink.wait_for(1).await;
    // Give a wrongly sent notice for the first two sign-ins time to arrive.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let inbox_now = sink.messages();
    assert_eq!(inbox_now.len(), 1, "only the new device is notified");
    let mail = Mail::read(&inbox[0]);
    assert!(mail.header("Subject").unwrap().starts_with("New sign-in"));
    let text = mail.parts()[0].decoded();
    assert!(
        text.contains("Safari/19") && text.contains("127.0.0.0/24"),
        "{text}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_refused_recipient_is_counted_as_rejected_and_not_delivered() {
    if !python_has("aiosmtpd") {
        return;
    }
    let sink = SmtpSink::start(false);
    let url = sink.url();
    let app = spawn_app_with(move |s| {
        s.mail.transport = storekeep::config::MailTransport::Smtp;
        s.mail.smtp_url = Some(storekeep::config::Secret::new(url));
        s.mail.smtp_tls = Some(storekeep::config::SmtpTls::None);
    })
    .await;
    app.create_tenant("acme", json!({})).await;
    register(&app, "acme", "reject-me@example.com").await;
    let asked = app
        .shop("acme", Method::POST, "/api/v1/auth/password-reset")
        .json(&json!({"email": "reject-me@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(asked.status(), 202);
    let mut metrics = String::new();
    for _ in 0..100 {
        metrics = app.get("/api/metrics").await.text().await.unwrap();
        if metrics.contains("template=\"password_reset\"") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        metrics
            .contains("storekeep_emails_total{result=\"rejected\",template=\"password_reset\"} 1"),
        "{metrics}"
    );
    assert!(sink.messages().is_empty());
    app.stop().await;
}
