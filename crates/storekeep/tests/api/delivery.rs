//! Every event written with an order reaches its customer and its
//! integrations: the outbox dispatcher turns committed events into jobs,
//! the job runner sends the email over a real SMTP conversation (aiosmtpd,
//! STARTTLS, AUTH, DKIM checked by dkimpy) and delivers the webhook to a
//! real receiver that checks the signature with an independent library;
//! failed deliveries are retried when the receiver comes back, a gone
//! receiver dead-letters until staff retry the job. (Crashes between
//! commit and send, and two nodes: tests/cli/delivery_crash.rs.)

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use storekeep_test_support::{TestApp, spawn_app_with};

use crate::commerce_support::{Shop, order_action, order_of, selling_shop, set_settings, settings};
use crate::email_support::{Mail, SmtpSink, dkim_rsa_key, dkim_verifies, python_has};
use crate::identity::admin;
use crate::webhook_support::Receiver;

async fn app(sink: Option<&SmtpSink>) -> TestApp {
    let smtp = sink.map(|s| (s.url(), s.ca.clone()));
    spawn_app_with(move |s| {
        if let Some((url, ca)) = smtp {
            s.mail.transport = storekeep::config::MailTransport::Smtp;
            s.mail.smtp_url = Some(storekeep::config::Secret::new(url));
            s.mail.smtp_ca_file = ca;
            s.mail.smtp_timeout = Duration::from_secs(5);
        }
        s.webhooks.allow_networks = vec!["127.0.0.1/32".parse().unwrap()];
        s.jobs.poll_interval = Duration::from_millis(100);
    })
    .await
}

async fn call(app: &TestApp, s: &Shop, method: Method, path: &str, body: Option<Value>) -> Value {
    let req = admin(app, &s.slug, &s.token, method, path);
    let req = match body {
        Some(b) => req.json(&b),
        None => req,
    };
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let b: Value = resp.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{path}: {status} {b}");
    b
}

/// Registers an endpoint for `events` and tells the receiver its secret.
async fn endpoint(app: &TestApp, s: &Shop, rx: &Receiver, path: &str, events: Value) -> String {
    let b = call(
        app,
        s,
        Method::POST,
        "/api/v1/admin/webhooks",
        Some(json!({"webhook": {"url": rx.url(path), "events": events}})),
    )
    .await;
    rx.secrets(&[b["secret"].as_str().unwrap()]).await;
    b["webhook"]["id"].as_str().unwrap().to_owned()
}

/// Waits until `check` holds for the JSON at `path` (`limit` at most).
async fn until(
    app: &TestApp,
    s: &Shop,
    path: &str,
    limit: Duration,
    check: impl Fn(&Value) -> bool,
) -> Value {
    let end = std::time::Instant::now() + limit;
    loop {
        let b = call(app, s, Method::GET, path, None).await;
        if check(&b) {
            return b;
        }
        assert!(
            std::time::Instant::now() < end,
            "{path} never got there: {b}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn an_order_reaches_the_customer_by_email_and_the_integration_by_webhook() {
    if !python_has("aiosmtpd, dkim, standardwebhooks") {
        return;
    }
    let sink = SmtpSink::start(true);
    let rx = Receiver::start().unwrap();
    let app = app(Some(&sink)).await;
    let s = selling_shop(&app, "acme", 129_900, 10).await;
    let (pem, txt) = dkim_rsa_key(sink.dir.path());
    let mut branded = settings(1800);
    branded["settings"]["email_sender"] = json!("orders@acme.example");
    branded["settings"]["email_sender_name"] = json!("Acme Refurb");
    branded["settings"]["email_dkim"] =
        json!({"selector": "sk1", "domain": "acme.example", "private_key": pem});
    set_settings(&app, "acme", &s.token, &branded).await;
    endpoint(&app, &s, &rx, "/ok", json!([])).await;

    let order = order_of(&app, &s, 1).await;
    let id = order["id"].as_str().unwrap();
    let resp = order_action(&app, &s, id, "mark-paid").await;
    assert_eq!(resp.status(), 200);

    // order.created and payment.confirmed send the customer an email each.
    let inbox = sink.wait_for(2).await;
    let events = call(
        &app,
        &s,
        Method::GET,
        "/api/v1/admin/events?limit=200",
        None,
    )
    .await;
    let event_id = |topic: &str| -> String {
        let found: Vec<&Value> = events["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["topic"] == topic)
            .collect();
        assert_eq!(found.len(), 1, "{topic}: {events}");
        found[0]["id"].as_str().unwrap().to_owned()
    };
    let mut subjects = Vec::new();
    for path in &inbox {
        let mail = Mail::read(path);
        assert_eq!(
            mail.header("From"),
            Some("\"Acme Refurb\" <orders@acme.example>")
        );
        assert_eq!(mail.header("To"), Some("buyer@example.com"));
        assert!(
            mail.header("Content-Type")
                .unwrap()
                .starts_with("multipart/alternative")
        );
        assert_eq!(mail.parts().len(), 2);
        assert!(
            dkim_verifies(path, &txt),
            "dkimpy verifies {}",
            path.display()
        );
        let number = &id[id.len() - 8..].to_uppercase();
        assert!(
            mail.parts()[0].decoded().contains(number.as_str()),
            "the text part names the order"
        );
        subjects.push((
            mail.header("Message-ID").unwrap().to_owned(),
            mail.header("Subject").unwrap().to_owned(),
        ));
    }
    subjects.sort();
    let mut want = vec![
        format!("<{}.order_placed@acme.example>", event_id("order.created")),
        format!(
            "<{}.payment_received@acme.example>",
            event_id("payment.confirmed")
        ),
    ];
    want.sort();
    let got: Vec<String> = subjects.iter().map(|(m, _)| m.clone()).collect();
    assert_eq!(
        got, want,
        "one email per event, its Message-ID named after it"
    );

    // Every event reaches the endpoint subscribed to all, signed.
    let topics = [
        "order.created",
        "payment.created",
        "payment.confirmed",
        "order.paid",
    ];
    let received = rx.wait_for(topics.len(), Duration::from_secs(20)).await;
    let mut seen: Vec<(String, String)> = received
        .iter()
        .map(|r| {
            assert_eq!(r["verified"], json!([true]), "signature: {r}");
            assert_eq!(r["path"], "/ok");
            (
                r["body"]["type"].as_str().unwrap().to_owned(),
                r["headers"]["webhook-id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    seen.sort();
    let mut want: Vec<(String, String)> = topics
        .iter()
        .map(|t| ((*t).to_owned(), event_id(t)))
        .collect();
    want.sort();
    assert_eq!(seen, want);
    assert_eq!(received[0]["body"]["data"]["order_id"], id);
    // Nothing more arrives: each event went to each destination once.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(rx.received().await.len(), topics.len());
    assert_eq!(sink.messages().len(), 2);
}

#[tokio::test]
async fn a_delivery_is_retried_until_the_receiver_is_back_and_a_gone_one_dead_letters_until_retried()
 {
    if !python_has("aiosmtpd, standardwebhooks") {
        return;
    }
    let sink = SmtpSink::start(true);
    let rx = Receiver::start().unwrap();
    let port = rx.port;
    let app = app(Some(&sink)).await;
    let s = selling_shop(&app, "acme", 5_000, 10).await;
    let hook = endpoint(&app, &s, &rx, "/ok", json!(["order.created"])).await;
    drop(rx);

    // The receiver is down: the first attempt fails and is recorded.
    let first = order_of(&app, &s, 1).await;
    let deliveries = format!("/api/v1/admin/webhooks/{hook}/deliveries");
    let b = until(&app, &s, &deliveries, Duration::from_secs(20), |b| {
        !b["items"].as_array().unwrap().is_empty()
    })
    .await;
    assert_eq!(b["items"][0]["outcome"], "failed", "{b}");
    let rx = Receiver::start_on(port);
    let secret = call(
        &app,
        &s,
        Method::GET,
        &format!("/api/v1/admin/webhooks/{hook}"),
        None,
    )
    .await;
    assert!(
        secret["webhook"]["secret"].is_null(),
        "the secret is never shown again"
    );
    // Back: the retry (5 s on the webhook schedule) delivers it.
    let got = rx.wait_for(1, Duration::from_secs(30)).await;
    assert_eq!(got[0]["body"]["data"]["order_id"], first["id"]);
    let b = until(&app, &s, &deliveries, Duration::from_secs(10), |b| {
        b["items"][0]["outcome"] == "succeeded"
    })
    .await;
    assert_eq!(b["items"].as_array().unwrap().len(), 2, "{b}");

    // A receiver answering 410 Gone: the endpoint is disabled and the job
    // dead-lettered, not retried.
    let gone_rx = Receiver::start_on(0);
    let gone = endpoint(&app, &s, &gone_rx, "/gone", json!(["order.created"])).await;
    let second = order_of(&app, &s, 1).await;
    let dead = until(
        &app,
        &s,
        "/api/v1/admin/jobs?state=dead&kind=webhook.deliver",
        Duration::from_secs(20),
        |b| !b["items"].as_array().unwrap().is_empty(),
    )
    .await;
    let job = &dead["items"][0];
    assert_eq!(job["payload"]["endpoint_id"], gone.as_str());
    assert_eq!(job["attempt"], 1, "a gone endpoint is not retried: {job}");
    let endpoint_now = call(
        &app,
        &s,
        Method::GET,
        &format!("/api/v1/admin/webhooks/{gone}"),
        None,
    )
    .await;
    assert_eq!(endpoint_now["webhook"]["status"], "disabled");
    assert_eq!(gone_rx.received().await.len(), 1);
    // The shop's owner is told, by email.
    let end = std::time::Instant::now() + Duration::from_secs(20);
    let notice = loop {
        let staff: Vec<Mail> = sink
            .messages()
            .iter()
            .map(|p| Mail::read(p))
            .filter(|m| m.header("To") == Some("owner@acme.example"))
            .collect();
        if let Some(m) = staff.into_iter().next() {
            break m;
        }
        assert!(std::time::Instant::now() < end, "the owner was not told");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        notice
            .header("Subject")
            .unwrap()
            .ends_with("a webhook endpoint was disabled"),
        "{:?}",
        notice.header("Subject")
    );
    assert!(notice.parts()[0].decoded().contains("/gone"));

    // Staff fix the endpoint and retry the dead job: it is delivered.
    call(
        &app,
        &s,
        Method::PATCH,
        &format!("/api/v1/admin/webhooks/{gone}"),
        Some(json!({"webhook": {"url": gone_rx.url("/ok"), "status": "enabled"}})),
    )
    .await;
    let job_id = job["id"].as_str().unwrap();
    call(
        &app,
        &s,
        Method::POST,
        &format!("/api/v1/admin/jobs/{job_id}/retry"),
        None,
    )
    .await;
    let got = gone_rx.wait_for(2, Duration::from_secs(20)).await;
    assert_eq!(got[1]["path"], "/ok");
    assert_eq!(got[1]["body"]["data"]["order_id"], second["id"]);
    assert_eq!(
        got[1]["headers"]["webhook-id"], got[0]["headers"]["webhook-id"],
        "the same message, the same id"
    );
    let done = until(
        &app,
        &s,
        &format!("/api/v1/admin/jobs/{job_id}"),
        Duration::from_secs(10),
        |b| b["job"]["state"] == "completed",
    )
    .await;
    assert_eq!(done["job"]["state"], "completed");
}

/// The shop's audit entries of replays, newest first.
async fn replays(app: &TestApp, s: &Shop) -> Vec<Value> {
    let log = call(
        app,
        s,
        Method::GET,
        "/api/v1/admin/audit-log?limit=200",
        None,
    )
    .await;
    log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "webhook_endpoint.replay")
        .cloned()
        .collect()
}

#[tokio::test]
async fn staff_replay_one_delivery_or_a_range_with_the_events_own_ids() {
    if !python_has("standardwebhooks") {
        return;
    }
    let rx = Receiver::start().unwrap();
    let app = app(None).await;
    let s = selling_shop(&app, "acme", 5_000, 10).await;
    let hook = endpoint(&app, &s, &rx, "/ok", json!(["order.created"])).await;
    let since = chrono::Utc::now() - chrono::Duration::seconds(1);
    for _ in 0..3 {
        order_of(&app, &s, 1).await;
    }
    let first = rx.wait_for(3, Duration::from_secs(20)).await;
    let ids: Vec<&str> = first
        .iter()
        .map(|r| r["headers"]["webhook-id"].as_str().unwrap())
        .collect();
    let replay = format!("/api/v1/admin/webhooks/{hook}/replay");
    let send = |body: Value| {
        admin(&app, &s.slug, &s.token, Method::POST, &replay)
            .json(&body)
            .send()
    };

    let resp = send(json!({"event_id": ids[1]})).await.unwrap();
    assert_eq!(resp.status(), 202);
    let got = rx.wait_for(4, Duration::from_secs(20)).await;
    assert_eq!(got[3]["headers"]["webhook-id"], ids[1]);
    assert_eq!(
        got[3]["body"], first[1]["body"],
        "the same event, the same body"
    );
    assert_eq!(got[3]["verified"], json!([true]));
    // Audited: who replayed what to which endpoint, and nothing more.
    let audited = replays(&app, &s).await;
    assert_eq!(audited.len(), 1, "{audited:?}");
    assert!(audited[0]["actor"].as_str().unwrap().starts_with("staff:"));
    assert_eq!(audited[0]["target"], format!("webhook_endpoint:{hook}"));
    assert_eq!(
        audited[0]["after"],
        json!({"event_id": ids[1], "events": 1})
    );

    let until = chrono::Utc::now() + chrono::Duration::seconds(1);
    let resp = send(json!({"since": since, "until": until})).await.unwrap();
    assert_eq!(resp.status(), 202);
    let b: Value = resp.json().await.unwrap();
    assert_eq!(b["jobs"].as_array().unwrap().len(), 3, "{b}");
    let got = rx.wait_for(7, Duration::from_secs(20)).await;
    let mut replayed: Vec<&str> = got[4..]
        .iter()
        .map(|r| r["headers"]["webhook-id"].as_str().unwrap())
        .collect();
    replayed.sort_unstable();
    let mut want = ids.clone();
    want.sort_unstable();
    assert_eq!(replayed, want);
    let audited = replays(&app, &s).await;
    assert_eq!(audited.len(), 2, "{audited:?}");
    let range = &audited[0]["after"];
    assert_eq!(range["events"], 3, "{range}");
    assert_eq!(
        (
            range["since"]
                .as_str()
                .map(chrono::DateTime::parse_from_rfc3339),
            range["until"]
                .as_str()
                .map(chrono::DateTime::parse_from_rfc3339)
        ),
        (Some(Ok(since.into())), Some(Ok(until.into()))),
        "{range}"
    );
    assert!(
        !audited[0].to_string().contains("@example.com"),
        "no customer data in the entry: {}",
        audited[0]
    );

    // Refusals: a topic the endpoint does not want, an empty range, no
    // event named, a disabled endpoint.
    let events = call(
        &app,
        &s,
        Method::GET,
        "/api/v1/admin/events?limit=200",
        None,
    )
    .await;
    let payment = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["topic"] == "payment.created")
        .unwrap()["id"]
        .clone();
    for (body, field) in [
        (json!({"event_id": payment}), "event_id"),
        (json!({"since": until, "until": since}), "until"),
        (json!({}), "event_id"),
    ] {
        let resp = send(body.clone()).await.unwrap();
        assert_eq!(resp.status(), 422, "{body}");
        let p: Value = resp.json().await.unwrap();
        assert_eq!(p["errors"][0]["field"], field, "{p}");
    }
    call(
        &app,
        &s,
        Method::PATCH,
        &format!("/api/v1/admin/webhooks/{hook}"),
        Some(json!({"webhook": {"status": "disabled"}})),
    )
    .await;
    let resp = send(json!({"event_id": ids[0]})).await.unwrap();
    assert_eq!(resp.status(), 409);
    assert_eq!(
        replays(&app, &s).await.len(),
        2,
        "a refused replay is not audited"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(rx.received().await.len(), 7, "nothing else was sent");
}

#[tokio::test]
async fn a_slow_endpoint_holds_up_no_other_endpoints_deliveries() {
    if !python_has("standardwebhooks") {
        return;
    }
    let rx = Receiver::start().unwrap();
    // Few webhook workers, so a slow endpoint could take them all.
    let app = spawn_app_with(|s| {
        s.webhooks.allow_networks = vec!["127.0.0.1/32".parse().unwrap()];
        s.jobs.poll_interval = Duration::from_millis(100);
        s.jobs.queues = vec![
            ("default".into(), 1),
            ("email".into(), 1),
            ("webhooks".into(), 4),
            ("maintenance".into(), 1),
        ];
    })
    .await;
    let s = selling_shop(&app, "acme", 5_000, 100).await;
    let b = call(
        &app,
        &s,
        Method::POST,
        "/api/v1/admin/webhooks",
        Some(json!({"webhook": {"url": rx.url("/slow/8"), "events": ["order.created"]}})),
    )
    .await;
    let fast = endpoint(&app, &s, &rx, "/ok", json!(["order.created"])).await;
    rx.secrets(&[b["secret"].as_str().unwrap()]).await;
    for _ in 0..8 {
        order_of(&app, &s, 1).await;
    }
    let end = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let got = rx.received().await;
        let count = |p: &str| got.iter().filter(|r| r["path"] == p).count();
        if count("/ok") == 8 {
            // Every fast delivery arrived while the slow endpoint had at
            // most two in flight (each takes 8 s).
            assert!(count("/slow/8") <= 2, "{} slow started", count("/slow/8"));
            break;
        }
        assert!(
            std::time::Instant::now() < end,
            "fast deliveries waited: {got:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Each attempt is recorded once the receiver's answer is read, just
    // after the receiver logged the request.
    let path = format!("/api/v1/admin/webhooks/{fast}/deliveries");
    let fast_attempts = until(&app, &s, &path, Duration::from_secs(10), |b| {
        b["items"].as_array().unwrap().len() >= 8
    })
    .await;
    assert_eq!(fast_attempts["items"].as_array().unwrap().len(), 8);
}

#[tokio::test]
async fn emails_wait_out_an_smtp_outage_and_go_when_the_server_is_back() {
    if !python_has("aiosmtpd") {
        return;
    }
    let sink = SmtpSink::start(false);
    let (port, url) = (sink.port, sink.url());
    drop(sink);
    let app = spawn_app_with(move |s| {
        s.mail.transport = storekeep::config::MailTransport::Smtp;
        s.mail.smtp_url = Some(storekeep::config::Secret::new(url));
        s.mail.smtp_tls = Some(storekeep::config::SmtpTls::None);
        s.mail.smtp_timeout = Duration::from_secs(5);
        s.jobs.poll_interval = Duration::from_millis(100);
        s.jobs.backoff_base = Duration::from_secs(1);
        s.jobs.backoff_max = Duration::from_secs(2);
    })
    .await;
    let s = selling_shop(&app, "acme", 5_000, 10).await;
    let order = order_of(&app, &s, 1).await;
    // The SMTP server is down: the email job fails and waits to retry.
    let jobs = "/api/v1/admin/jobs?kind=email.send";
    let b = until(&app, &s, jobs, Duration::from_secs(20), |b| {
        b["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|j| j["state"] == "retryable")
    })
    .await;
    let error = b["items"][0]["last_error"].as_str().unwrap();
    assert!(error.contains("unavailable"), "{error}");
    assert!(!error.contains("buyer@example.com"), "no address in errors");

    let sink = SmtpSink::start_on(port, false);
    let got = sink.wait_for(1).await;
    let mail = Mail::read(&got[0]);
    assert_eq!(mail.header("To"), Some("buyer@example.com"));
    let id = order["id"].as_str().unwrap();
    assert!(
        mail.parts()[0]
            .decoded()
            .contains(&id[id.len() - 8..].to_uppercase())
    );
    let b = until(&app, &s, jobs, Duration::from_secs(10), |b| {
        b["items"][0]["state"] == "completed"
    })
    .await;
    assert!(b["items"][0]["attempt"].as_i64().unwrap() >= 2, "{b}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sink.messages().len(), 1, "sent once");
}
