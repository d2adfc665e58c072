//! The SMTP connection pool (`mail.smtp_pool_size`), driven by real orders
//! against a real SMTP server (aiosmtpd, which logs the connection each
//! message came over): many confirmations share the pool's few
//! connections, and after the server restarts (the parked connections are
//! dead) the next email goes out at its first attempt over a new one.
//! Implicit TLS (`smtps://`, lettre's own transport) delivers too.

use std::collections::HashSet;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use storekeep_test_support::{TestApp, spawn_app_with};

use crate::commerce_support::{Shop, order_of, selling_shop};
use crate::email_support::{Mail, SmtpSink, python_has};
use crate::identity::{admin, register};

/// The `email.send` jobs, once `n` of them have completed (20 s at most).
async fn completed_email_jobs(app: &TestApp, s: &Shop, n: usize) -> Vec<Value> {
    let path = "/api/v1/admin/jobs?kind=email.send&limit=100";
    for _ in 0..200 {
        let b: Value = admin(app, &s.slug, &s.token, Method::GET, path)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let items = b["items"].as_array().unwrap().clone();
        if items.iter().filter(|j| j["state"] == "completed").count() >= n {
            return items;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{n} email jobs did not complete");
}

#[tokio::test]
async fn confirmations_share_two_pooled_connections_and_a_restarted_server_is_reconnected() {
    if !python_has("aiosmtpd") {
        return;
    }
    let sink = SmtpSink::start(false);
    let (port, url) = (sink.port, sink.url());
    let app = spawn_app_with(move |s| {
        s.mail.transport = storekeep::config::MailTransport::Smtp;
        s.mail.smtp_url = Some(storekeep::config::Secret::new(url));
        s.mail.smtp_tls = Some(storekeep::config::SmtpTls::None);
        s.mail.smtp_timeout = Duration::from_secs(5);
        s.mail.smtp_pool_size = 2;
        // More senders than connections: the pool, not the queue, bounds them.
        s.jobs.queues = [
            ("default", 1),
            ("email", 8),
            ("webhooks", 1),
            ("maintenance", 1),
        ]
        .map(|(q, n)| (q.to_owned(), n))
        .to_vec();
        s.jobs.poll_interval = Duration::from_millis(100);
    })
    .await;
    let s = selling_shop(&app, "acme", 5_000, 100).await;
    let mut numbers = HashSet::new();
    for _ in 0..12 {
        let order = order_of(&app, &s, 1).await;
        let id = order["id"].as_str().unwrap();
        numbers.insert(id[id.len() - 8..].to_uppercase());
    }
    let inbox = sink.wait_for(12).await;
    assert_eq!(inbox.len(), 12);
    let mut confirmed = HashSet::new();
    for path in &inbox {
        let text = Mail::read(path).parts()[0].decoded();
        let number = numbers.iter().find(|n| text.contains(n.as_str()));
        confirmed.insert(number.expect("the mail confirms one of the orders").clone());
    }
    assert_eq!(confirmed, numbers, "every order confirmed once");
    let peers = sink.peers();
    assert_eq!(peers.len(), 12);
    let connections: HashSet<u16> = peers.into_iter().collect();
    assert!(
        connections.len() <= 2,
        "12 messages over at most 2 connections, got {connections:?}"
    );
    let jobs = completed_email_jobs(&app, &s, 12).await;
    assert!(jobs.iter().all(|j| j["attempt"] == 1), "{jobs:?}");

    // The server restarts: the connections the pool holds are dead.
    drop(sink);
    let sink = SmtpSink::start_on(port, false);
    let order = order_of(&app, &s, 1).await;
    let inbox = sink.wait_for(1).await;
    let id = order["id"].as_str().unwrap();
    assert!(
        Mail::read(&inbox[0]).parts()[0]
            .decoded()
            .contains(&id[id.len() - 8..].to_uppercase())
    );
    let jobs = completed_email_jobs(&app, &s, 13).await;
    assert_eq!(jobs.len(), 13);
    assert!(
        jobs.iter().all(|j| j["attempt"] == 1),
        "no send failed on a dead connection: {jobs:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_password_reset_arrives_over_implicit_tls() {
    if !python_has("aiosmtpd") {
        return;
    }
    let sink = SmtpSink::start_implicit_tls();
    let (url, ca) = (
        sink.url().replacen("smtp://", "smtps://", 1),
        sink.ca.clone(),
    );
    let app = spawn_app_with(move |s| {
        s.mail.transport = storekeep::config::MailTransport::Smtp;
        s.mail.smtp_url = Some(storekeep::config::Secret::new(url));
        s.mail.smtp_ca_file = ca;
        s.mail.smtp_timeout = Duration::from_secs(5);
    })
    .await;
    app.create_tenant("acme", json!({})).await;
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
    assert_eq!(mail.header("To"), Some("ada@example.com"));
    assert!(mail.header("Subject").unwrap().starts_with("Reset your "));
    app.stop().await;
}
