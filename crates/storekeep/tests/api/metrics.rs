//! `/api/metrics`: Prometheus text that promtool accepts.

use std::io::Write;
use std::process::{Command, Stdio};

use reqwest::Method;
use serde_json::json;
use storekeep_test_support::{spawn_app, tool_available};

/// The value of the first sample line starting with `prefix`.
fn sample(text: &str, prefix: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn requests_are_counted_by_route_template_and_status() {
    let app = spawn_app().await;
    app.create_tenant("acme", json!({})).await;
    app.create_tenant("other", json!({})).await;
    for slug in ["acme", "other", "ghost"] {
        app.shop(slug, Method::GET, "/api/v1/store")
            .send()
            .await
            .unwrap();
    }
    for slug in ["acme", "other"] {
        app.platform(Method::GET, &format!("/api/v1/platform/tenants/{slug}"))
            .send()
            .await
            .unwrap();
    }
    app.get("/nowhere/1").await;
    app.get("/nowhere/2").await;

    let text = app.get("/api/metrics").await.text().await.unwrap();

    let count = |labels: &str| sample(&text, &format!("storekeep_http_requests_total{{{labels}}}"));
    assert_eq!(
        count(r#"method="GET",route="/api/v1/store",status="200""#),
        Some(2.0)
    );
    assert_eq!(
        count(r#"method="GET",route="/api/v1/store",status="404""#),
        Some(1.0)
    );
    assert_eq!(
        count(r#"method="GET",route="/api/v1/platform/tenants/{slug}",status="200""#),
        Some(2.0),
        "one series per route template, not per slug"
    );
    assert_eq!(
        count(r#"method="GET",route="unmatched",status="404""#),
        Some(2.0)
    );
    assert!(!text.contains("/nowhere/"), "raw paths never become labels");
    assert_eq!(
        sample(
            &text,
            r#"storekeep_http_request_duration_seconds_count{method="GET",route="/api/v1/store"}"#
        ),
        Some(3.0)
    );
    assert_eq!(
        sample(&text, "storekeep_http_requests_in_flight"),
        Some(1.0),
        "the scrape itself is in flight"
    );
    assert!(sample(&text, r#"storekeep_db_pool_connections{state="max"}"#).unwrap() > 0.0);
    app.stop().await;
}

#[tokio::test]
async fn readiness_and_zeroed_counters_are_exported() {
    let app = spawn_app().await;
    let text = app.get("/api/metrics").await.text().await.unwrap();
    assert_eq!(sample(&text, "storekeep_ready "), Some(1.0), "{text}");
    for zero in [
        r#"storekeep_rate_limited_total{tier="auth"}"#,
        r#"storekeep_checkouts_total{result="created"}"#,
        r#"storekeep_webhook_deliveries_total{result="abandoned"}"#,
    ] {
        assert_eq!(sample(&text, zero), Some(0.0), "{zero} starts at zero");
    }
    app.stop().await;
}

#[tokio::test]
async fn promtool_accepts_the_exposition() {
    if !tool_available("promtool") {
        return;
    }
    let app = spawn_app().await;
    app.create_tenant("acme", json!({})).await;
    app.shop("acme", Method::GET, "/api/v1/store")
        .send()
        .await
        .unwrap();
    let resp = app.get("/api/metrics").await;
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = resp.text().await.unwrap();

    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();

    assert!(
        out.status.success(),
        "promtool: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    app.stop().await;
}
