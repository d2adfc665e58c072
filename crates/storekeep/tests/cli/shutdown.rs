//! SIGTERM during a request: readiness turns false at once, the request
//! completes, the process exits 0.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::Value;
use storekeep_test_support::{PLATFORM_TOKEN, ServerProcess, TestDb, storekeep_command};

use crate::BIN;

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_during_a_slow_request_completes_it_and_exits_zero() {
    let db = TestDb::new().await;
    let mut cmd = storekeep_command(BIN, &db);
    cmd.arg("serve")
        .env("STOREKEEP_SHUTDOWN_DRAIN_SECS", "3")
        .env("STOREKEEP_SHUTDOWN_GRACE_SECS", "20");
    let server = ServerProcess::start(cmd);
    let client = reqwest::Client::new();

    // A client uploads a tenant slowly: headers and half the body now...
    let body = r#"{"tenant": {"slug": "slowpoke", "name": "Slow Upload Shop"}}"#;
    let (first, rest) = body.split_at(20);
    let mut slow = TcpStream::connect(server.addr).unwrap();
    write!(
        slow,
        "POST /api/v1/platform/tenants HTTP/1.1\r\nhost: localhost\r\nauthorization: Bearer {PLATFORM_TOKEN}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n\r\n{first}",
        body.len()
    )
    .unwrap();
    slow.flush().unwrap();
    std::thread::sleep(Duration::from_millis(300));

    // ...and the orchestrator asks the node to stop. Readiness turns false
    // as soon as the signal is handled (polled: a loaded machine may take
    // a moment to deliver it), well inside the drain period.
    let signalled = Instant::now();
    server.sigterm();
    let mut ready = None;
    while signalled.elapsed() < Duration::from_millis(2500) {
        let r = client
            .get(server.url("/api/health/ready"))
            .send()
            .await
            .unwrap();
        if r.status() == 503 {
            // A draining node closes each connection after its answer, so
            // a load balancer keeps none idle to it.
            assert_eq!(
                r.headers().get("connection").map(|v| v.to_str().unwrap()),
                Some("close"),
                "answers during the drain close their connection"
            );
            ready = Some(r.json::<Value>().await.unwrap());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let ready = ready.expect("readiness turns false during the drain period");
    assert_eq!(ready["status"], "draining");

    // The rest of the body arrives after the drain period, when the node
    // has stopped accepting connections; the request in flight completes.
    let refused = Instant::now();
    while TcpStream::connect(server.addr).is_ok() {
        assert!(
            refused.elapsed() < Duration::from_secs(15),
            "no new connections after the drain period"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        signalled.elapsed() >= Duration::from_secs(3),
        "connections are accepted for the whole drain period"
    );
    slow.write_all(rest.as_bytes()).unwrap();
    let mut answer = String::new();
    slow.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut buf = [0u8; 4096];
    while !answer.contains("\"slowpoke\"") {
        let n = slow.read(&mut buf).unwrap();
        assert!(n > 0, "connection closed early: {answer}");
        answer.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");

    let status = server.wait(Duration::from_secs(30));
    assert!(status.success(), "exit status {status:?}");
    assert!(
        signalled.elapsed() < Duration::from_secs(23),
        "exits within drain + grace"
    );

    // What was acknowledged is there after the restart.
    let out = storekeep_command(BIN, &db)
        .args(["tenant", "show", "slowpoke"])
        .output()
        .unwrap();
    assert!(out.status.success(), "the acknowledged tenant was kept");
}
