//! A node that serves requests and runs jobs gives its requests the way:
//! while it serves `jobs.give_way_at` requests at once, each queue starts
//! jobs on a quarter of its workers, and on all of them again once the
//! rush is over (docs/operations.md, "Jobs give way to requests").

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use storekeep_test_support::{TestApp, spawn_app_with};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::commerce_support::{Shop, order_of, selling_shop};
use crate::email_support::python_has;
use crate::identity::admin;
use crate::webhook_support::Receiver;

/// A request the node is serving until the connection is dropped: its
/// headers are complete and its body never is, so its handler waits for it.
async fn held_request(app: &TestApp, s: &Shop) -> TcpStream {
    let mut c = TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST /api/v1/admin/webhooks HTTP/1.1\r\nHost: x\r\nx-tenant: {}\r\n\
         authorization: Bearer {}\r\ncontent-type: application/json\r\n\
         content-length: 1000\r\n\r\n{{\"webhook\": ",
        s.slug, s.token
    );
    c.write_all(head.as_bytes()).await.unwrap();
    c
}

/// `storekeep_jobs_workers_allowed` of `queue`, once it reads `want` (10 s at most).
async fn workers_become(app: &TestApp, queue: &str, want: f64) {
    let series = format!("storekeep_jobs_workers_allowed{{queue=\"{queue}\"}}");
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        let got = app.metric(&series).await;
        if got == want {
            return;
        }
        assert!(
            Instant::now() < end,
            "the {queue} queue's workers stayed at {got}, not {want}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Each delivery's (started, ended) on the receiver's clock; ended is
/// infinite while it is being answered.
fn spans(records: &[Value]) -> Vec<(f64, f64)> {
    records
        .iter()
        .map(|r| {
            let end = r["ended"].as_f64().unwrap_or(f64::INFINITY);
            (r["started"].as_f64().unwrap(), end)
        })
        .collect()
}

/// The most deliveries the receiver was answering at one time.
fn most_at_once(spans: &[(f64, f64)]) -> usize {
    spans
        .iter()
        .map(|&(at, _)| spans.iter().filter(|&&(s, e)| s <= at && at < e).count())
        .max()
        .unwrap_or(0)
}

/// Waits until `n` deliveries have been answered (30 s at most).
async fn answered(rx: &Receiver, n: usize) -> Vec<Value> {
    let end = Instant::now() + Duration::from_secs(30);
    loop {
        let got = rx.received().await;
        if got.iter().filter(|r| !r["ended"].is_null()).count() >= n {
            return got;
        }
        assert!(
            Instant::now() < end,
            "{n} deliveries not answered: {:?}",
            spans(&got)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A webhook endpoint of `s` for new orders at the receiver's `path`; its
/// secret.
async fn endpoint(app: &TestApp, s: &Shop, rx: &Receiver, path: &str) -> String {
    let b = admin(
        app,
        &s.slug,
        &s.token,
        Method::POST,
        "/api/v1/admin/webhooks",
    )
    .json(&json!({"webhook": {"url": rx.url(path), "events": ["order.created"]}}))
    .send()
    .await
    .unwrap();
    assert_eq!(b.status(), 201);
    let b: Value = b.json().await.unwrap();
    b["secret"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn queues_give_way_while_the_node_serves_a_rush_and_run_in_full_after_it() {
    if !python_has("standardwebhooks") {
        return;
    }
    let rx = Receiver::start().unwrap();
    let app = spawn_app_with(|s| {
        s.webhooks.allow_networks = vec!["127.0.0.1/32".parse().unwrap()];
        s.jobs.poll_interval = Duration::from_millis(100);
        s.jobs.queues = vec![
            ("default".into(), 1),
            ("email".into(), 1),
            ("webhooks".into(), 4),
            ("maintenance".into(), 1),
        ];
        s.jobs.give_way_at = Some(2);
    })
    .await;
    let s = selling_shop(&app, "acme", 5_000, 100).await;
    // Two endpoints: a node sends at most two deliveries to one endpoint at
    // a time, so four workers can be busy at once. (Two spellings of the
    // same 0.4 s, to tell them apart.)
    let a = endpoint(&app, &s, &rx, "/slow/0.4").await;
    let b = endpoint(&app, &s, &rx, "/slow/0.40").await;
    rx.secrets(&[&a, &b]).await;
    workers_become(&app, "webhooks", 4.0).await;

    // A rush: two requests being served (their bodies still coming).
    let held = vec![held_request(&app, &s).await, held_request(&app, &s).await];
    workers_become(&app, "webhooks", 1.0).await;
    for _ in 0..5 {
        order_of(&app, &s, 1).await;
    }
    // Ten deliveries wait, each 0.4 s long; four workers would take them
    // four at a time. During the rush they go one at a time.
    let during = spans(&answered(&rx, 3).await);
    assert_eq!(most_at_once(&during), 1, "during the rush: {during:?}");
    // At least four not started yet, for the check after the rush.
    assert!(
        during.len() <= 6,
        "{} started during the rush",
        during.len()
    );

    // The rush ends: the held requests' clients go away.
    drop(held);
    workers_become(&app, "webhooks", 4.0).await;
    let all = answered(&rx, 10).await;
    assert_eq!(all.len(), 10, "each order's two deliveries once");
    for r in &all {
        let want = if r["path"] == "/slow/0.4" {
            json!([true, false])
        } else {
            json!([false, true])
        };
        assert_eq!(r["verified"], want, "{}", r["path"]);
    }
    // After it, the rest went on all four workers at once, never more.
    let after = spans(&all);
    assert_eq!(most_at_once(&after), 4, "after the rush: {after:?}");
}
