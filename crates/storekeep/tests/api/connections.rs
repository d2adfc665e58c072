//! Connections: a deadline for a request's headers, a limit on idle
//! keep-alive, and a cap on how many are open — so one client holding
//! half-sent requests cannot starve everyone else.

use std::net::SocketAddr;
use std::time::Duration;

use storekeep_test_support::spawn_app_with;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The value of the sample line that starts with `name`.
fn sample(text: &str, name: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no sample {name} in:\n{text}"))
}

/// A connection that sent half a request's headers and then nothing.
async fn half_open(addr: SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /api/health/live HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    s
}

/// Reads until the server closes the connection; what it sent, or `None`
/// if it was still open after `within`.
async fn read_until_closed(s: &mut TcpStream, within: Duration) -> Option<String> {
    let mut got = Vec::new();
    let read = tokio::time::timeout(within, async {
        let mut buf = [0u8; 4096];
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    read.ok()
        .map(|()| String::from_utf8_lossy(&got).into_owned())
}

/// One response read off a kept-alive connection (its body has a length).
async fn read_response(s: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&got).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let length: usize = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap())
                })
                .expect("a content-length");
            if got.len() >= end + 4 + length {
                return text;
            }
        }
        let n = tokio::time::timeout(Duration::from_secs(30), s.read(&mut buf))
            .await
            .expect("an answer within 30 s")
            .unwrap();
        assert!(n > 0, "closed mid-response: {text}");
        got.extend_from_slice(&buf[..n]);
    }
}

const LIVE: &[u8] = b"GET /api/health/live HTTP/1.1\r\nHost: x\r\n\r\n";
const LIVE_THEN_CLOSE: &[u8] =
    b"GET /api/health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

#[tokio::test(flavor = "multi_thread")]
async fn hundreds_of_half_sent_requests_are_timed_out_while_others_are_served() {
    let app = spawn_app_with(|s| {
        s.header_read_timeout = Duration::from_secs(10);
        s.max_connections = Some(1000);
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..300 {
        held.push(half_open(app.addr).await);
    }

    // Everyone else is served meanwhile, on new connections and old.
    for _ in 0..20 {
        let mut s = TcpStream::connect(app.addr).await.unwrap();
        s.write_all(LIVE).await.unwrap();
        assert!(read_response(&mut s).await.starts_with("HTTP/1.1 200"));
    }
    for _ in 0..20 {
        assert_eq!(app.get("/api/health/live").await.status(), 200);
    }
    let metrics = app.get("/api/metrics").await.text().await.unwrap();
    assert!(
        sample(&metrics, "storekeep_http_connections_open") >= 301.0,
        "the held connections and the scrape are open:\n{metrics}"
    );

    // A slow client that does finish its headers in time is answered.
    let mut slow = held.pop().unwrap();
    slow.write_all(b"\r\n").await.unwrap();
    assert!(read_response(&mut slow).await.starts_with("HTTP/1.1 200"));

    // The rest are closed by the server, without an answer.
    let closed = futures_join(
        held.iter_mut()
            .map(|s| read_until_closed(s, Duration::from_secs(60))),
    )
    .await;
    for (i, c) in closed.into_iter().enumerate() {
        assert_eq!(
            c.as_deref(),
            Some(""),
            "half-open connection {i} still open or answered"
        );
    }
    let metrics = app.get("/api/metrics").await.text().await.unwrap();
    assert_eq!(
        sample(
            &metrics,
            r#"storekeep_http_connections_timed_out_total{phase="headers"}"#
        ),
        299.0
    );
    assert!(
        sample(&metrics, "storekeep_http_connections_open") < 10.0,
        "{metrics}"
    );
    assert_eq!(app.get("/api/health/live").await.status(), 200);
    app.stop().await;
}

/// Waits on every future at once.
async fn futures_join<F: Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut futures: Vec<_> = futures.map(Box::pin).collect();
    let mut out = Vec::with_capacity(futures.len());
    for f in &mut futures {
        out.push(f.await);
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn connections_over_the_cap_get_a_503_until_one_is_freed() {
    let app = spawn_app_with(|s| {
        s.header_read_timeout = Duration::from_secs(120);
        s.max_connections = Some(50);
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..50 {
        held.push(half_open(app.addr).await);
    }

    let mut over = TcpStream::connect(app.addr).await.unwrap();
    let _ = over.write_all(LIVE_THEN_CLOSE).await;
    let answer = read_until_closed(&mut over, Duration::from_secs(30))
        .await
        .expect("closed at once");
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("retry-after: 1"), "{answer}");
    assert!(answer.contains("application/problem+json"), "{answer}");
    assert!(answer.contains("\"status\":503"), "{answer}");

    // Clients going away free their slots.
    held.truncate(40);
    let mut served = false;
    for _ in 0..300 {
        let mut s = TcpStream::connect(app.addr).await.unwrap();
        let _ = s.write_all(LIVE_THEN_CLOSE).await;
        let answer = read_until_closed(&mut s, Duration::from_secs(30)).await;
        if answer.is_some_and(|a| a.starts_with("HTTP/1.1 200")) {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(served, "a freed slot serves again");
    let metrics = app.get("/api/metrics").await.text().await.unwrap();
    assert!(sample(&metrics, "storekeep_http_connections_refused_total") >= 1.0);
    let open = sample(&metrics, "storekeep_http_connections_open");
    assert!(
        (41.0..=42.0).contains(&open),
        "40 held, the scrape, perhaps the last probe closing: {open}"
    );
    drop(held);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_idle_keep_alive_connection_outlives_the_header_timeout_then_closes() {
    let app = spawn_app_with(|s| {
        s.header_read_timeout = Duration::from_secs(1);
        s.keep_alive_idle = Duration::from_secs(10);
    })
    .await;
    let mut s = TcpStream::connect(app.addr).await.unwrap();
    s.write_all(LIVE).await.unwrap();
    assert!(read_response(&mut s).await.starts_with("HTTP/1.1 200"));

    // Idle for longer than the header timeout: still open for the next request.
    tokio::time::sleep(Duration::from_secs(3)).await;
    s.write_all(LIVE).await.unwrap();
    assert!(read_response(&mut s).await.starts_with("HTTP/1.1 200"));

    let closed = read_until_closed(&mut s, Duration::from_secs(60)).await;
    assert_eq!(closed.as_deref(), Some(""), "closed after the idle limit");
    let metrics = app.get("/api/metrics").await.text().await.unwrap();
    assert_eq!(
        sample(
            &metrics,
            r#"storekeep_http_connections_timed_out_total{phase="idle"}"#
        ),
        1.0
    );
    assert_eq!(
        sample(
            &metrics,
            r#"storekeep_http_connections_timed_out_total{phase="headers"}"#
        ),
        0.0
    );
    app.stop().await;
}
