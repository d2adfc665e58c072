//! Delivery across crashes and nodes, with real processes: events
//! committed before a `kill -9` are delivered after the restart (emails
//! over SMTP to aiosmtpd, webhooks to a receiver that checks signatures
//! with the `standardwebhooks` package), and two nodes on one PostgreSQL
//! under checkout load never deliver one event twice; a node stopped in
//! a backlog leaves no job running for the next to rescue.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use storekeep_test_support::{ServerProcess, TestDb, on_postgres, storekeep_command};

use crate::BIN;
use crate::crash_support::{Api, call, cli, expect, shop_with_owner};
use crate::email_support::{Mail, SmtpSink, python_has};
use crate::webhook_support::Receiver;

/// `storekeep serve` sending mail to `sink` and webhooks to loopback.
fn serve(db: &TestDb, sink: &SmtpSink) -> ServerProcess {
    serve_with(db, sink, &[])
}

/// [`serve`] with more settings.
fn serve_with(db: &TestDb, sink: &SmtpSink, env: &[(&str, &str)]) -> ServerProcess {
    let mut cmd = storekeep_command(BIN, db);
    cmd.envs(env.iter().copied());
    cmd.arg("serve")
        .env("STOREKEEP_SHUTDOWN_DRAIN_SECS", "0")
        .env("STOREKEEP_MAIL_TRANSPORT", "smtp")
        .env("STOREKEEP_MAIL_SMTP_URL", sink.url())
        .env("STOREKEEP_MAIL_SMTP_TLS", "none")
        .env("STOREKEEP_WEBHOOKS_ALLOW_NETWORKS", "127.0.0.1/32")
        .env("STOREKEEP_JOBS_POLL_INTERVAL_MS", "200")
        // Leases of a killed node's jobs end within the test.
        .env("STOREKEEP_JOBS_LEASE_SECS", "3");
    ServerProcess::start(cmd)
}

/// Shipping, a product with plenty of stock, and an endpoint at `url`
/// wanting `events`; the variant's id and the endpoint's secret.
async fn set_up(api: &Api, rx: &Receiver, url: &str, events: Value) -> (String, String) {
    expect(
        api.admin(Method::PATCH, "/api/v1/admin/settings")
            .json(&json!({"settings": {
                "currency": "USD",
                "shipping_methods": [{"code": "standard", "name": "Standard", "price": 500}],
                "payment_timeout_secs": 86_400,
                "email_sender": "orders@crash.example"
            }})),
        200,
        "settings",
    )
    .await;
    let p = expect(
        api.admin(Method::POST, "/api/v1/admin/products")
            .json(&json!({"product": {
                "title": "Refurbished phone", "status": "active",
                "variants": [{"sku": "PHONE", "inventory": 100_000,
                              "price": {"amount": 19_900, "currency": "USD"}}]
            }})),
        201,
        "creating a product",
    )
    .await;
    let hook = expect(
        api.admin(Method::POST, "/api/v1/admin/webhooks")
            .json(&json!({"webhook": {"url": url, "events": events}})),
        201,
        "creating an endpoint",
    )
    .await;
    let secret = hook["secret"].as_str().unwrap().to_owned();
    rx.secrets(&[&secret]).await;
    let variant = p["product"]["variants"][0]["id"].as_str().unwrap();
    (variant.to_owned(), secret)
}

/// One guest checkout; the order id if it was acknowledged.
async fn checkout(api: &Api, variant: &str, n: usize) -> Option<String> {
    let (status, cart) = call(
        api.shop(Method::POST, "/api/v1/store/carts")
            .json(&json!({"items": [{"variant_id": variant, "quantity": 1}]})),
    )
    .await?;
    assert_eq!(status, 201, "cart: {cart}");
    let (status, b) = call(
        api.shop(
            Method::POST,
            &format!(
                "/api/v1/store/carts/{}/checkout",
                cart["cart"]["id"].as_str()?
            ),
        )
        .header("x-cart-token", cart["cart"]["token"].as_str()?)
        .header("idempotency-key", uuid::Uuid::now_v7().to_string())
        .json(&json!({
            "email": format!("buyer{n}@example.com"),
            "shipping_address": {"name": "Ada", "line1": "1 Way", "city": "Springfield",
                                 "postal_code": "12345", "country": "US"},
            "shipping_method": "standard", "payment_provider": "manual"
        })),
    )
    .await?;
    (status == 201).then(|| b["order"]["id"].as_str().unwrap().to_owned())
}

/// `n` checkouts from `clients` guests at once, spread over `apis`; the
/// acknowledged orders.
async fn place(apis: &[Api], variant: &str, n: usize, clients: usize) -> Vec<String> {
    let mut tasks = Vec::new();
    for c in 0..clients {
        let api = apis[c % apis.len()].clone();
        let variant = variant.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            for i in (c..n).step_by(clients) {
                acked.extend(checkout(&api, &variant, i).await);
            }
            acked
        }));
    }
    let mut acked = Vec::new();
    for t in tasks {
        acked.extend(t.await.unwrap());
    }
    acked
}

/// The order number an email shows (the id's last 8 characters).
fn number(order: &str) -> String {
    order[order.len() - 8..].to_uppercase()
}

/// Emails per order number, read from the text parts in the sink.
fn emails_per_order(sink: &SmtpSink, orders: &[String]) -> HashMap<String, usize> {
    let mut per = HashMap::new();
    for path in sink.messages() {
        let text = Mail::read(&path).parts()[0].decoded();
        for o in orders {
            if text.contains(&number(o)) {
                *per.entry(o.clone()).or_insert(0) += 1;
            }
        }
    }
    per
}

/// Waits until `done` holds (`limit` at most), polling.
async fn wait_until(limit: Duration, what: &str, mut done: impl AsyncFnMut() -> bool) {
    let end = Instant::now() + limit;
    while !done().await {
        assert!(
            Instant::now() < end,
            "{what} did not happen within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `storekeep jobs list --json` of one kind.
fn jobs(db: &TestDb, kind: &str) -> Vec<Value> {
    let out = cli(
        db,
        &[
            "jobs", "list", "--json", "--kind", kind, "--limit", "100000",
        ],
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn events_committed_before_a_kill_9_are_delivered_after_the_restart() {
    if !python_has("aiosmtpd, standardwebhooks") {
        return;
    }
    let db = TestDb::new().await;
    shop_with_owner(&db);
    let sink = SmtpSink::start(false);
    // The receiver is down until after the crash: no delivery can have
    // succeeded before it, so each must arrive exactly once after it.
    let rx = Receiver::start().unwrap();
    let port = rx.port;
    let server = serve(&db, &sink);
    let mut api = Api::new(&server);
    api.log_in().await;
    let (variant, secret) = set_up(&api, &rx, &rx.url("/ok"), json!(["order.created"])).await;
    drop(rx);

    let t = Instant::now();
    let acked = place(std::slice::from_ref(&api), &variant, 40, 4).await;
    eprintln!("placed in {:?}", t.elapsed());
    assert_eq!(acked.len(), 40);
    // Killed right after the last acknowledgement: some events are not
    // dispatched yet, some emails not sent, every webhook failing.
    let _ = server.kill9();
    let sent_before = emails_per_order(&sink, &acked);

    let rx = Receiver::start_on(port);
    rx.secrets(&[&secret]).await;
    let server = serve(&db, &sink);
    let began = Instant::now();
    wait_until(
        Duration::from_secs(60),
        "every webhook delivered",
        async || rx.received().await.len() >= acked.len(),
    )
    .await;
    eprintln!(
        "delivery-crash: delivered {:?} after the restart",
        began.elapsed()
    );
    wait_until(Duration::from_secs(60), "every email sent", async || {
        emails_per_order(&sink, &acked).len() == acked.len()
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;

    let received = rx.received().await;
    let mut per_order: HashMap<String, usize> = HashMap::new();
    for r in &received {
        assert_eq!(r["verified"], json!([true]), "{r}");
        *per_order
            .entry(r["body"]["data"]["order_id"].as_str().unwrap().to_owned())
            .or_insert(0) += 1;
    }
    for o in &acked {
        assert_eq!(per_order.get(o), Some(&1), "order {o}: {per_order:?}");
    }
    assert_eq!(received.len(), acked.len(), "nothing else was delivered");
    // Emails: at least once, at most twice; one sent again only by a job
    // that ran again after the restart (it was running when the process
    // died, or its success was not written yet).
    let emails = emails_per_order(&sink, &acked);
    let twice = emails.values().filter(|n| **n > 1).count();
    assert!(emails.values().all(|n| *n <= 2), "{emails:?}");
    let email_jobs = jobs(&db, "email.send");
    let ran_again = email_jobs
        .iter()
        .filter(|j| j["attempt"].as_i64().unwrap() > 1)
        .count();
    assert!(
        twice <= ran_again,
        "{twice} emails sent twice, only {ran_again} email jobs ran again"
    );
    eprintln!(
        "delivery-crash: {} orders, {} emails sent before the kill, {} sent twice",
        acked.len(),
        sent_before.len(),
        twice
    );
    let dead: Vec<Value> = jobs(&db, "webhook.deliver")
        .into_iter()
        .filter(|j| j["state"] != "completed")
        .collect();
    assert!(dead.is_empty(), "{dead:?}");
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_on_one_postgresql_deliver_each_event_once() {
    if !on_postgres() {
        eprintln!("skipped: several nodes need PostgreSQL (SQLite is one node)");
        return;
    }
    if !python_has("aiosmtpd, standardwebhooks") {
        return;
    }
    let db = TestDb::new().await;
    shop_with_owner(&db);
    let sink = SmtpSink::start(false);
    let rx = Receiver::start().unwrap();
    let a = serve(&db, &sink);
    let b = serve(&db, &sink);
    let mut api_a = Api::new(&a);
    api_a.log_in().await;
    let api_b = api_a.on(&b);
    // Every event type: order.created and payment.created per order.
    let (variant, _) = set_up(&api_a, &rx, &rx.url("/ok"), json!([])).await;

    let acked = place(&[api_a.clone(), api_b.clone()], &variant, 80, 8).await;
    assert_eq!(acked.len(), 80);
    let want = acked.len() * 2;
    wait_until(
        Duration::from_secs(60),
        "every webhook delivered",
        async || rx.received().await.len() >= want,
    )
    .await;
    wait_until(Duration::from_secs(60), "every email sent", async || {
        sink.messages().len() >= acked.len()
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;

    let received = rx.received().await;
    let mut ids: Vec<&str> = received
        .iter()
        .map(|r| r["headers"]["webhook-id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(received.len(), want, "no event delivered twice");
    assert_eq!(ids.len(), want);
    let emails = emails_per_order(&sink, &acked);
    assert_eq!(sink.messages().len(), acked.len(), "one email per order");
    assert!(emails.values().all(|n| *n == 1), "{emails:?}");
    // Both nodes did deliveries, each job once.
    let done = jobs(&db, "webhook.deliver");
    assert_eq!(done.len(), want);
    assert!(
        done.iter()
            .all(|j| j["state"] == "completed" && j["attempt"] == 1)
    );
    let workers: std::collections::BTreeSet<&str> = done
        .iter()
        .filter_map(|j| j["locked_by"].as_str())
        .collect();
    eprintln!("two-nodes: {} deliveries by {workers:?}", done.len());
    assert_eq!(workers.len(), 2, "both nodes delivered: {workers:?}");
    drop((a, b));
}

/// A node told to stop (SIGTERM) in a backlog of short jobs hands back
/// the jobs it claimed ahead of its workers (`jobs/runner.rs`): once it
/// has exited, every job has either run once or waits unstarted, and none
/// is left running for the rescuer, which would count an attempt and
/// hold it until its lease ends. The next node sends each remaining
/// email and webhook once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_stopped_in_a_backlog_leaves_no_job_running_and_the_next_runs_each_once() {
    if !python_has("aiosmtpd, standardwebhooks") {
        return;
    }
    let db = TestDb::new().await;
    shop_with_owner(&db);
    let sink = SmtpSink::start(false);
    let rx = Receiver::start().unwrap();
    // A node that runs no jobs takes the orders: a backlog.
    let quiet = serve_with(&db, &sink, &[("STOREKEEP_JOBS_ENABLED", "false")]);
    let mut api = Api::new(&quiet);
    api.log_in().await;
    let (variant, _) = set_up(&api, &rx, &rx.url("/ok"), json!(["order.created"])).await;
    let acked = place(std::slice::from_ref(&api), &variant, 300, 8).await;
    assert_eq!(acked.len(), 300);
    quiet.sigterm();
    assert!(quiet.wait(Duration::from_secs(30)).success());

    // A node that runs them is stopped once its workers are under way.
    let node = serve(&db, &sink);
    let end = Instant::now() + Duration::from_secs(60);
    while sink.messages().len() < 20 {
        assert!(Instant::now() < end, "no email was sent");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    node.sigterm();
    let (status, logs) = node.wait_with_logs(Duration::from_secs(30));
    assert!(status.success(), "exit status {status:?}");
    let mut completed = HashMap::new();
    for kind in ["email.send", "webhook.deliver"] {
        let all = jobs(&db, kind);
        for j in &all {
            let (state, attempt) = (j["state"].as_str().unwrap(), j["attempt"].as_i64().unwrap());
            assert!(
                matches!((state, attempt), ("completed", 1) | ("available", 0)),
                "{kind}: every job ran once or waits unstarted: {j}"
            );
        }
        let done = all.iter().filter(|j| j["state"] == "completed").count();
        completed.insert(kind, (done, all.len()));
    }
    let (emails_done, emails) = completed["email.send"];
    assert_eq!(
        sink.messages().len(),
        emails_done,
        "an email was sent exactly when its job completed"
    );
    assert!(emails_done < emails, "the node stopped in its backlog");
    // How many jobs the stop gave back (the runner's log; printed, not
    // asserted: how many are held at that moment is up to the timing).
    let handed_back: i64 = logs
        .iter()
        .filter(|l| l.contains("handed back jobs claimed ahead"))
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|l| l["fields"]["jobs"].as_i64().or(l["jobs"].as_i64()))
        .sum();
    eprintln!(
        "stop-in-backlog: {completed:?} (completed, all) at the stop; {handed_back} jobs handed back"
    );

    // The next node dispatches what is left of the 600 events and runs
    // their jobs (`emails` counted only the jobs dispatched by the stop).
    let node = serve(&db, &sink);
    wait_until(Duration::from_secs(60), "every email sent", async || {
        emails_per_order(&sink, &acked).len() == acked.len()
    })
    .await;
    wait_until(
        Duration::from_secs(60),
        "every webhook delivered",
        async || rx.received().await.len() >= acked.len(),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let per_order = emails_per_order(&sink, &acked);
    assert_eq!(per_order.len(), acked.len());
    assert!(per_order.values().all(|n| *n == 1), "{per_order:?}");
    assert_eq!(rx.received().await.len(), acked.len(), "each webhook once");
    for kind in ["email.send", "webhook.deliver"] {
        assert!(
            jobs(&db, kind)
                .iter()
                .all(|j| j["state"] == "completed" && j["attempt"] == 1),
            "{kind}: each job ran once"
        );
    }
    drop(node);
}
