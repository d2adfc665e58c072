//! A PostgreSQL checkout batch whose `COMMIT` answer never comes back (the
//! connection broke): whether PostgreSQL committed it or not, each of its
//! checkouts is answered once, as created, with one order and one
//! reservation. The server reaches PostgreSQL through a TCP relay that
//! cuts the batch's connection at its `COMMIT`, after or before passing it
//! on.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

use reqwest::Method;
use serde_json::Value;
use storekeep_test_support::{TestApp, TestDb, spawn_app_on};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::catalog_support::body;
use crate::commerce_support::{cart_with, checkout, checkout_body, selling_shop, stock};
use crate::identity::admin;

/// What the relay does to the next checkout batch's `COMMIT`.
const PASS: u8 = 0;
/// Passes it on, waits for PostgreSQL's answer, drops it and the connection.
const AFTER: u8 = 1;
/// Drops the connection without passing it on.
const BEFORE: u8 = 2;

/// A relay from 127.0.0.1 to PostgreSQL that reads the client's protocol
/// messages, so it can cut a connection at a checkout batch's `COMMIT`.
struct Relay {
    port: u16,
    mode: Arc<AtomicU8>,
    cuts: Arc<AtomicUsize>,
}

impl Relay {
    async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mode = Arc::new(AtomicU8::new(PASS));
        let cuts = Arc::new(AtomicUsize::new(0));
        let (m, c) = (mode.clone(), cuts.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(&upstream).await else {
                    eprintln!("the relay cannot reach PostgreSQL at {upstream}");
                    continue;
                };
                // One protocol message a write: no waiting on Nagle.
                client.set_nodelay(true).unwrap();
                server.set_nodelay(true).unwrap();
                tokio::spawn(relay(client, server, m.clone(), c.clone()));
            }
        });
        Self { port, mode, cuts }
    }
}

/// One connection: the client's messages one by one, the server's bytes
/// as they come (dropped once the connection is cut).
async fn relay(client: TcpStream, server: TcpStream, mode: Arc<AtomicU8>, cuts: Arc<AtomicUsize>) {
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let cut = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let cut2 = cut.clone();
    let down = tokio::spawn(async move {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match sr.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if cut2.load(Ordering::SeqCst) {
                // PostgreSQL's answer to the cut COMMIT: read, never sent.
                break;
            }
            if cw.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        // Dropping `cw` ends the client's side: it reads end of stream.
    });
    // The startup message has no type byte.
    let mut first = true;
    let mut in_batch = false;
    loop {
        let mut head = vec![0u8; if first { 4 } else { 5 }];
        if cr.read_exact(&mut head).await.is_err() {
            break;
        }
        let len_at = head.len() - 4;
        let len = u32::from_be_bytes(head[len_at..].try_into().unwrap()) as usize;
        let mut msg = head;
        let start = msg.len();
        msg.resize(start + len - 4, 0);
        if cr.read_exact(&mut msg[start..]).await.is_err() {
            break;
        }
        first = false;
        if msg[0] == b'Q' {
            let text = String::from_utf8_lossy(&msg[5..]);
            // The batch's BEGIN (`BEGIN_BATCH` in the PostgreSQL store's
            // commerce/batch.rs); if it changes, no COMMIT is cut and the
            // test fails on the count of cuts.
            if text.starts_with("BEGIN;") && text.contains("lock_timeout") {
                in_batch = true;
            } else if text.trim_end_matches('\0') == "ROLLBACK" {
                in_batch = false;
            } else if text.trim_end_matches('\0') == "COMMIT" && in_batch {
                in_batch = false;
                let how = mode.swap(PASS, Ordering::SeqCst);
                if how != PASS {
                    cut.store(true, Ordering::SeqCst);
                    cuts.fetch_add(1, Ordering::SeqCst);
                    if how == AFTER {
                        let _ = sw.write_all(&msg).await;
                    }
                    // End of stream to PostgreSQL: with no COMMIT it rolls
                    // the transaction back; after one, it has answered.
                    drop(sw);
                    let _ = down.await;
                    return;
                }
            }
        }
        if sw.write_all(&msg).await.is_err() {
            break;
        }
    }
}

/// The shop's orders, as its staff list them.
async fn orders(app: &TestApp, slug: &str, token: &str) -> Vec<Value> {
    let resp = admin(app, slug, token, Method::GET, "/api/v1/admin/orders")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    body(resp).await["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_batch_whose_commit_answer_is_lost_answers_each_checkout_once_as_created() {
    let db = TestDb::new().await;
    if db.is_sqlite() {
        // SQLite runs in the server's process: no connection to lose.
        return;
    }
    let (head, rest) = db.url.split_once('@').expect("user@host[:port]/db");
    let (host, name) = rest.split_once('/').expect("host[:port]/db");
    let upstream = if host.contains(':') {
        host.to_owned()
    } else {
        format!("{host}:5432")
    };
    let relay = Relay::start(upstream).await;
    // Without TLS: the relay reads the protocol's messages, and takes the
    // first for the startup message (no SSL request before it).
    let url = format!("{head}@127.0.0.1:{}/{name}?sslmode=disable", relay.port);
    let db = TestDb { url, ..db };
    let app = spawn_app_on(db, |_| {}).await;
    let s = selling_shop(&app, "acme", 2_500, 10).await;

    for (how, n) in [(AFTER, 1), (BEFORE, 2)] {
        let (cart, token) = cart_with(&app, &s.slug, &[(&s.variant, 1)]).await;
        let key = format!("lost-commit-{n}");
        let request = checkout_body("a@example.com");
        let send = || checkout(&app, &s.slug, &cart, &token, &key, &request);
        relay.mode.store(how, Ordering::SeqCst);
        let resp = send().await;
        assert_eq!(
            relay.cuts.load(Ordering::SeqCst),
            n,
            "the batch's COMMIT was cut"
        );
        // Created by this request, whichever way the COMMIT went: not a
        // replay of an order it did not know it had made.
        assert_eq!(resp.status(), 201, "cut {n}");
        assert!(
            resp.headers().get("idempotent-replayed").is_none(),
            "cut {n}"
        );
        let order = body(resp).await["order"].clone();

        // One order and one reservation per checkout.
        let all = orders(&app, &s.slug, &s.token).await;
        assert_eq!(all.len(), n, "cut {n}: {all:?}");
        assert!(all.iter().any(|o| o["id"] == order["id"]));
        assert_eq!(stock(&app, &s).await, (10, i64::try_from(n).unwrap()));

        // A retry is answered with the same order, as a replay.
        let again = send().await;
        assert_eq!(again.status(), 201);
        assert!(again.headers().get("idempotent-replayed").is_some());
        assert_eq!(body(again).await["order"]["id"], order["id"]);
    }
    // Both batches failed, and their checkouts ran alone.
    assert_eq!(
        app.metric("storekeep_checkout_batch_failures_total").await,
        2.0
    );
    assert!(app.metric("storekeep_checkout_alone_total").await >= 2.0);
}
