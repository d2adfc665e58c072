//! SQLite on a disk that refuses writes, as a full disk does. The server
//! runs as a process whose file-size limit (`RLIMIT_FSIZE`) the test
//! lowers and raises with `prlimit`: every write to a file then fails
//! (`EFBIG`, SQLite's I/O error) while reads go on, with no privileges and
//! no real disk to fill. (PostgreSQL stopped and restarted:
//! `tests/api/outage.rs`.)

use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};
use storekeep_test_support::{
    ServerProcess, TestDb, on_postgres, storekeep_command, tool_available,
};

use crate::BIN;

fn prlimit(pid: u32, fsize: &str) {
    let ok = Command::new("prlimit")
        .args(["--pid", &pid.to_string(), &format!("--fsize={fsize}")])
        .status()
        .expect("running prlimit")
        .success();
    assert!(ok, "prlimit --fsize={fsize} failed");
}

fn checkout_body() -> Value {
    json!({
        "email": "ada@example.com", "shipping_method": "standard", "payment_provider": "manual",
        "shipping_address": {"name": "Ada", "line1": "1 Main St", "city": "Oakland",
                             "region": "CA", "postal_code": "94607", "country": "US"}
    })
}

/// Asserts a 503 problem with `Retry-After`.
async fn unavailable(resp: reqwest::Response, what: &str) {
    assert_eq!(resp.status(), 503, "{what}");
    assert!(
        resp.headers().contains_key("retry-after"),
        "{what}: Retry-After"
    );
    assert_eq!(
        resp.headers()["content-type"],
        "application/problem+json",
        "{what}"
    );
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["status"], 503, "{what}");
}

#[tokio::test(flavor = "multi_thread")]
async fn writes_on_a_full_sqlite_disk_are_503_reads_go_on_and_writes_resume_once_there_is_room() {
    if on_postgres() {
        eprintln!("skipping: a SQLite disk; runs when the suite runs on SQLite");
        return;
    }
    if !tool_available("prlimit") {
        return;
    }
    let db = TestDb::new().await;
    // SIGXFSZ ignored (kept across exec), so a write over the limit fails
    // with EFBIG, as one on a full disk fails with ENOSPC, instead of
    // killing the process.
    let mut cmd = storekeep_command("sh", &db);
    cmd.args([
        "-c",
        "trap '' XFSZ; exec \"$@\"",
        "sh",
        BIN,
        "serve",
        "--demo",
    ])
    .env("STOREKEEP_SHUTDOWN_DRAIN_SECS", "0");
    let server = ServerProcess::start(cmd);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let shop = |method: reqwest::Method, path: &str| {
        client
            .request(method, server.url(path))
            .header("x-tenant", "demo")
    };
    let page: Value = shop(
        reqwest::Method::GET,
        "/api/v1/store/products?limit=1&in_stock=true",
    )
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let variant = page["items"][0]["variants"][0]["id"].clone();
    let new_cart = || {
        shop(reqwest::Method::POST, "/api/v1/store/carts")
            .json(&json!({"items": [{"variant_id": variant, "quantity": 1}]}))
    };
    let cart: Value = new_cart().send().await.unwrap().json().await.unwrap();
    let checkout = || {
        shop(
            reqwest::Method::POST,
            &format!(
                "/api/v1/store/carts/{}/checkout",
                cart["cart"]["id"].as_str().unwrap()
            ),
        )
        .header("x-cart-token", cart["cart"]["token"].as_str().unwrap())
        .header("idempotency-key", "full-disk-1")
        .json(&checkout_body())
    };

    // The disk fills up.
    prlimit(server.pid(), "1:");

    unavailable(new_cart().send().await.unwrap(), "a new cart").await;
    unavailable(checkout().send().await.unwrap(), "a checkout").await;
    let read = shop(reqwest::Method::GET, "/api/v1/store/products?limit=5")
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200, "reads need no room");
    let ready = client
        .get(server.url("/api/health/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        ready.status(),
        200,
        "the database answers: the node stays ready"
    );

    // Room again: the refused checkout left nothing behind and goes through
    // when retried with its key; new carts work.
    prlimit(server.pid(), "unlimited:");

    let resp = checkout().send().await.unwrap();
    assert_eq!(resp.status(), 201, "the retried checkout");
    let order: Value = resp.json().await.unwrap();
    assert_eq!(order["order"]["status"], "pending_payment");
    assert_eq!(new_cart().send().await.unwrap().status(), 201);

    // Logged as a dependency's outage with its cause, not as a fault.
    let logs = server.logs_until(Duration::from_secs(10), |l| {
        l.contains("\"status\":503") && l.contains("checkout")
    });
    let failed: Vec<Value> = logs
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["status"] == 503)
        .collect();
    assert_eq!(failed.len(), 2, "{logs:?}");
    for line in &failed {
        assert_eq!(line["level"], "WARN", "{line}");
        assert_eq!(line["message"], "request failed: dependency unavailable");
        assert!(
            line["error"]
                .as_str()
                .unwrap_or("")
                .contains("disk I/O error"),
            "{line}"
        );
    }
    assert!(
        !logs.iter().any(|l| l.contains("\"level\":\"ERROR\"")),
        "{logs:?}"
    );
}
