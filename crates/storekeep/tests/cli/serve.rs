//! `storekeep serve` as a process: the demo, restarts, `--no-migrate`, logs.

use std::time::Duration;

use serde_json::{Value, json};
use storekeep_test_support::{PLATFORM_TOKEN, ServerProcess, TestDb, storekeep_command};

use crate::BIN;

fn serve(db: &TestDb, extra: &[&str]) -> ServerProcess {
    let mut cmd = storekeep_command(BIN, db);
    cmd.arg("serve")
        .args(extra)
        .env("STOREKEEP_SHUTDOWN_DRAIN_SECS", "0");
    ServerProcess::start(cmd)
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_demo_answers_ready_with_the_demo_shop() {
    let db = TestDb::new().await;
    let mut cmd = storekeep_command(BIN, &db);
    // The demo generates its own platform token when none is configured.
    cmd.args(["serve", "--demo"])
        .env_remove("STOREKEEP_PLATFORM_TOKEN");
    let server = ServerProcess::start(cmd);
    let client = reqwest::Client::new();

    let ready = client
        .get(server.url("/api/health/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    let shop: Value = client
        .get(server.url("/api/v1/store"))
        .header("x-tenant", "demo")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(shop["store"]["slug"], "demo");
    assert_eq!(
        shop["store"]["payment_providers"],
        json!(["manual", "test"]),
        "--demo offers the simulated processor and the demo shop accepts it"
    );

    let token = std::fs::read_to_string(db.dir.path().join("platform-token")).unwrap();
    let detailed = client
        .get(server.url("/api/health/detailed"))
        .bearer_auth(token.trim())
        .send()
        .await
        .unwrap();
    assert_eq!(detailed.status(), 200, "the generated token works");
    let mode = std::fs::metadata(db.dir.path().join("platform-token")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(mode.permissions().mode() & 0o777, 0o600);
    }

    // The demo shop sells out of the box: a cart and a checkout as in the
    // README, priced with the demo's shipping and California tax.
    let page: Value = client
        .get(server.url("/api/v1/store/products?limit=1&in_stock=true"))
        .header("x-tenant", "demo")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let variant = page["items"][0]["variants"][0]["id"].clone();
    let cart: Value = client
        .post(server.url("/api/v1/store/carts"))
        .header("x-tenant", "demo")
        .json(&json!({"items": [{"variant_id": variant, "quantity": 1}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let resp = client
        .post(server.url(&format!(
            "/api/v1/store/carts/{}/checkout",
            cart["cart"]["id"].as_str().unwrap()
        )))
        .header("x-tenant", "demo")
        .header("x-cart-token", cart["cart"]["token"].as_str().unwrap())
        .header("idempotency-key", "readme-1")
        .json(&json!({
            "email": "ada@example.com", "shipping_method": "standard", "payment_provider": "test",
            "shipping_address": {"name": "Ada", "line1": "1 Main St", "city": "Oakland",
                                 "region": "CA", "postal_code": "94607", "country": "US"}
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let order: Value = resp.json().await.unwrap();
    assert_eq!(order["order"]["shipping"]["amount"], 599);
    assert!(order["order"]["tax"]["amount"].as_i64().unwrap() > 0);
    assert_eq!(order["order"]["status"], "pending_payment");

    // As the README says, the demo's simulated processor pays the order a
    // moment later (so staff have nothing to mark paid).
    let path = format!(
        "/api/v1/store/orders/{}",
        order["order"]["id"].as_str().unwrap()
    );
    let mut status = Value::Null;
    for _ in 0..100 {
        let o: Value = client
            .get(server.url(&path))
            .header("x-tenant", "demo")
            .header("x-cart-token", cart["cart"]["token"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        status = o["order"]["status"].clone();
        if status == "paid" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status, "paid");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tenant_created_over_http_survives_a_restart() {
    let db = TestDb::new().await;
    let client = reqwest::Client::new();

    let first = serve(&db, &[]);
    let created = client
        .post(first.url("/api/v1/platform/tenants"))
        .bearer_auth(PLATFORM_TOKEN)
        .json(&json!({"tenant": {"slug": "durable", "name": "Durable Goods", "domains": ["durable.example"]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    first.sigterm();
    assert!(first.wait(Duration::from_secs(30)).success());

    let second = serve(&db, &[]);
    let fetched: Value = client
        .get(second.url("/api/v1/platform/tenants/durable"))
        .bearer_auth(PLATFORM_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(fetched, created);
    let by_domain = client
        .get(second.url("/api/v1/store"))
        .header("host", "durable.example")
        .send()
        .await
        .unwrap();
    assert_eq!(by_domain.status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn with_no_migrate_the_node_stays_unready_until_migrate_runs() {
    let db = TestDb::new().await;
    let client = reqwest::Client::new();

    let server = serve(&db, &["--no-migrate"]);
    let before = client
        .get(server.url("/api/health/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(before.status(), 503);
    let body: Value = before.json().await.unwrap();
    assert_eq!(body["migrations"]["ok"], false);
    assert_eq!(
        client
            .get(server.url("/api/health/live"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    let migrate = storekeep_command(BIN, &db).arg("migrate").output().unwrap();
    assert!(migrate.status.success());

    let after = client
        .get(server.url("/api/health/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_request_writes_one_json_log_line_with_its_facts() {
    let db = TestDb::new().await;
    let client = reqwest::Client::new();
    let server = serve(&db, &["--demo"]);

    let resp = client
        .get(server.url("/api/v1/store"))
        .header("x-tenant", "demo")
        .header("x-request-id", "log-line-check-1")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    client
        .get(server.url("/api/health/live"))
        .send()
        .await
        .unwrap();
    server.sigterm();
    let (_, logs) = server.wait_with_logs(Duration::from_secs(30));

    let lines: Vec<Value> = logs
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}")))
        .collect();
    let request: Vec<&Value> = lines
        .iter()
        .filter(|l| l["request_id"] == "log-line-check-1")
        .collect();
    assert_eq!(request.len(), 1, "exactly one line per request");
    let line = request[0];
    assert_eq!(line["message"], "request");
    assert_eq!(line["level"], "INFO");
    assert_eq!(line["tenant"], "demo");
    assert_eq!(line["method"], "GET");
    assert_eq!(line["route"], "/api/v1/store");
    assert_eq!(line["status"], 200);
    assert!(line["latency_ms"].as_f64().unwrap() >= 0.0);
    assert!(line["timestamp"].is_string());
}

/// The log is written off the request path: when whatever reads stdout
/// stalls, requests are still answered at once, the lines that do not fit
/// the queue are counted in a metric, and logging resumes with the reader.
#[tokio::test(flavor = "multi_thread")]
async fn a_stalled_stdout_never_holds_up_requests_and_dropped_lines_are_counted() {
    let db = TestDb::new().await;
    let mut cmd = storekeep_command(BIN, &db);
    cmd.arg("serve")
        .env("STOREKEEP_SHUTDOWN_DRAIN_SECS", "0")
        .env("STOREKEEP_LOG_QUEUE_LINES", "8");
    let server = ServerProcess::start(cmd);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();

    server.stall_stdout(true);
    // Far more lines than the pipe (64 KiB, ~250 request lines) and the
    // queue (8) hold: with a blocking writer these requests would hang.
    for i in 0..1500 {
        let live = client
            .get(server.url("/api/health/live"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("request {i} while stdout is stalled: {e}"));
        assert_eq!(live.status(), 200);
    }
    let metrics = client
        .get(server.url("/api/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let dropped: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("storekeep_log_lines_dropped_total "))
        .expect("the drop counter is exported")
        .trim()
        .parse()
        .unwrap();
    assert!(
        (1000..=1501).contains(&dropped),
        "lines beyond pipe and queue are dropped and counted: {dropped}"
    );

    server.stall_stdout(false);
    // The backlog drains first; a line sent while the queue is still full
    // would be dropped too, so ask until one gets through.
    let mut logged = false;
    for _ in 0..50 {
        let after = client
            .get(server.url("/api/health/live"))
            .header("x-request-id", "after-the-stall")
            .send()
            .await
            .unwrap();
        assert_eq!(after.status(), 200);
        let logs = server.logs_until(Duration::from_millis(200), |l| {
            l.contains("after-the-stall")
        });
        if logs.iter().any(|l| l.contains("after-the-stall")) {
            logged = true;
            break;
        }
    }
    assert!(logged, "lines are written again once stdout is read");
}

/// `storekeep healthcheck` (the container image's HEALTHCHECK): exit 0
/// when the node's liveness probe answers 200, 1 with a reason otherwise.
#[tokio::test(flavor = "multi_thread")]
async fn healthcheck_exits_zero_only_when_the_node_answers_200() {
    let db = TestDb::new().await;
    let server = serve(&db, &[]);
    let port = server.addr.port();
    let check = |env_listen: Option<String>, args: &[&str]| {
        let mut cmd = storekeep_command(BIN, &db);
        if let Some(listen) = env_listen {
            cmd.env("STOREKEEP_LISTEN", listen);
        }
        cmd.arg("healthcheck").args(args).output().unwrap()
    };

    // The configured listen address, unspecified as in a container:
    // asked on loopback.
    let out = check(Some(format!("0.0.0.0:{port}")), &[]);
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ready = format!("http://127.0.0.1:{port}/api/health/ready");
    assert!(check(None, &["--url", &ready]).status.success());

    let missing = format!("http://127.0.0.1:{port}/api/health/nothing-here");
    let out = check(None, &["--url", &missing]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("answered 404"),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = check(None, &["--url", "https://127.0.0.1:1/"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("plain http"));

    server.sigterm();
    let status = server.wait(Duration::from_secs(30));
    assert!(status.success());
    // Nothing listens any more: a failure, not a hang.
    let out = check(Some(format!("127.0.0.1:{port}")), &["--timeout", "2"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot connect"),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `database.statement_timeout_ms`: a statement that waits past it (here
/// behind a row lock another session holds) is cancelled by PostgreSQL,
/// and the request answers a 503 problem instead of waiting for the lock;
/// the node's log says why. Migrations run without the timeout.
#[tokio::test(flavor = "multi_thread")]
async fn a_statement_past_the_statement_timeout_is_cancelled_and_answered_503() {
    use sqlx::Connection;
    if !storekeep_test_support::on_postgres() {
        eprintln!("skipping: a PostgreSQL setting");
        return;
    }
    let db = TestDb::new().await;
    let server = serve(&db, &[]);
    // The server was started with the default (60 s); start another node
    // on the same database with a short timeout.
    let mut cmd = storekeep_command(BIN, &db);
    cmd.arg("serve")
        .env("STOREKEEP_SHUTDOWN_DRAIN_SECS", "0")
        .env("STOREKEEP_DATABASE_STATEMENT_TIMEOUT_MS", "300");
    let short = ServerProcess::start(cmd);

    let mut holder = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let mut tx = holder.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM plans WHERE name = 'default' FOR UPDATE")
        .execute(&mut *tx)
        .await
        .unwrap();

    let client = reqwest::Client::new();
    let patch = client
        .patch(short.url("/api/v1/platform/plans/default"))
        .bearer_auth(PLATFORM_TOKEN)
        .json(&json!({"plan": {"limits": {"max_products": 12345}}}))
        .timeout(Duration::from_secs(20))
        .send()
        .await
        .unwrap();
    assert_eq!(patch.status(), 503);
    assert_eq!(patch.headers()["content-type"], "application/problem+json");
    let logs = short.logs_until(Duration::from_secs(10), |l| {
        l.contains("canceling statement due to statement timeout")
    });
    assert!(
        logs.iter()
            .any(|l| l.contains("canceling statement due to statement timeout")),
        "{logs:?}"
    );
    tx.rollback().await.unwrap();

    // With the lock gone the same change goes through, and the plan was
    // not changed by the cancelled one.
    let plan: Value = client
        .get(server.url("/api/v1/platform/plans"))
        .bearer_auth(PLATFORM_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let default = plan["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "default")
        .unwrap()
        .clone();
    assert_ne!(default["limits"]["max_products"], 12345);
    let again = client
        .patch(short.url("/api/v1/platform/plans/default"))
        .bearer_auth(PLATFORM_TOKEN)
        .json(&json!({"plan": {"limits": {"max_products": 12345}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200);
    for node in [short, server] {
        node.sigterm();
        assert!(node.wait(Duration::from_secs(30)).success());
    }
}
