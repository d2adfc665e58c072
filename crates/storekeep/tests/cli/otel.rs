//! Traces over OTLP/HTTP: `storekeep serve` exports its spans to a local
//! receiver that decodes them as a collector would.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use serde_json::{Value, json};
use storekeep_test_support::{ServerProcess, TestDb, storekeep_command};

use crate::BIN;

/// Every export request the receiver got.
type Received = Arc<Mutex<Vec<ExportTraceServiceRequest>>>;

/// An OTLP/HTTP receiver on 127.0.0.1: POST /v1/traces, protobuf.
async fn receiver() -> (String, Received) {
    let got: Received = Arc::default();
    let sink = got.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: Bytes| {
            let sink = sink.clone();
            async move {
                let req = ExportTraceServiceRequest::decode(body).expect("a protobuf export");
                sink.lock().unwrap().push(req);
                ""
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, got)
}

fn text(v: Option<&AnyValue>) -> String {
    match v.and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        other => format!("{other:?}"),
    }
}

fn attr(attrs: &[KeyValue], key: &str) -> String {
    text(
        attrs
            .iter()
            .find(|a| a.key == key)
            .and_then(|a| a.value.as_ref()),
    )
}

/// (service.name, span) for every span received.
fn spans(got: &Received) -> Vec<(String, Span)> {
    let mut out = Vec::new();
    for req in got.lock().unwrap().iter() {
        for rs in &req.resource_spans {
            let service = rs
                .resource
                .as_ref()
                .map(|r| attr(&r.attributes, "service.name"))
                .unwrap_or_default();
            for ss in &rs.scope_spans {
                for span in &ss.spans {
                    out.push((service.clone(), span.clone()));
                }
            }
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn spans_of_requests_store_calls_and_jobs_reach_the_collector() {
    let (endpoint, got) = receiver().await;
    let db = TestDb::new().await;
    let mut cmd = storekeep_command(BIN, &db);
    cmd.args(["serve", "--demo"])
        .env("STOREKEEP_SHUTDOWN_DRAIN_SECS", "0")
        .env("STOREKEEP_OTEL_ENDPOINT", &endpoint)
        .env("STOREKEEP_OTEL_SERVICE_NAME", "storekeep-under-test");
    let server = ServerProcess::start(cmd);
    let client = reqwest::Client::new();

    // A caller's trace, continued by the server.
    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let parent = "00f067aa0ba902b7";
    let resp = client
        .get(server.url("/api/v1/store/products?limit=1&in_stock=true"))
        .header("x-tenant", "demo")
        .header("traceparent", format!("00-{trace}-{parent}-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let products_id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    let page: Value = resp.json().await.unwrap();
    let variant = page["items"][0]["variants"][0]["id"].clone();

    // A checkout: store calls, and the demo processor's payment job.
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
    let cart_id = cart["cart"]["id"].as_str().unwrap().to_owned();
    let resp = client
        .post(server.url(&format!("/api/v1/store/carts/{cart_id}/checkout")))
        .header("x-tenant", "demo")
        .header("x-cart-token", cart["cart"]["token"].as_str().unwrap())
        .header("idempotency-key", "otel-1")
        .json(&json!({
            "email": "ada@example.com", "shipping_method": "standard", "payment_provider": "test",
            "shipping_address": {"name": "Ada", "line1": "1 Main St", "city": "Oakland",
                                 "region": "CA", "postal_code": "94607", "country": "US"}
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let checkout_id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    let order: Value = resp.json().await.unwrap();
    let path = format!(
        "/api/v1/store/orders/{}",
        order["order"]["id"].as_str().unwrap()
    );
    let mut paid = false;
    for _ in 0..200 {
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
        if o["order"]["status"] == "paid" {
            paid = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(paid, "the payment job ran");

    // SIGTERM flushes the queued spans before the process exits.
    server.sigterm();
    let (status, logs) = server.wait_with_logs(Duration::from_secs(60));
    assert!(status.success(), "exit status {status:?}");
    let spans = spans(&got);
    assert!(!spans.is_empty(), "spans were exported");
    assert!(
        spans
            .iter()
            .all(|(service, _)| service == "storekeep-under-test"),
        "resource service.name"
    );

    let server_span = |request_id: &str| {
        spans
            .iter()
            .map(|(_, s)| s)
            .find(|s| attr(&s.attributes, "request_id") == request_id)
            .unwrap_or_else(|| panic!("a span for request {request_id}"))
            .clone()
    };
    // The products request: route template, status, request id, the
    // caller's trace and parent.
    let products = server_span(&products_id);
    assert_eq!(products.kind, 2, "a server span");
    assert_eq!(products.name, "GET /api/v1/store/products");
    assert_eq!(
        attr(&products.attributes, "http.route"),
        "/api/v1/store/products"
    );
    assert_eq!(
        attr(&products.attributes, "http.response.status_code"),
        "200"
    );
    assert_eq!(attr(&products.attributes, "tenant"), "demo");
    assert_eq!(
        hex(&products.trace_id),
        trace,
        "the caller's trace continues"
    );
    assert_eq!(
        hex(&products.parent_span_id),
        parent,
        "the caller's span is the parent"
    );
    // Its log line names the same trace.
    let line = logs
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| l["request_id"] == products_id.as_str())
        .expect("the request's log line");
    assert_eq!(line["trace_id"], trace);

    // The checkout: a route template (never the cart's id), 201, and its
    // store calls as children.
    let checkout = server_span(&checkout_id);
    let route = attr(&checkout.attributes, "http.route");
    assert!(
        route.ends_with("/checkout") && route.contains('{'),
        "{route}"
    );
    assert!(!checkout.name.contains(&cart_id), "{}", checkout.name);
    assert_eq!(
        attr(&checkout.attributes, "http.response.status_code"),
        "201"
    );
    assert!(
        checkout.parent_span_id.is_empty(),
        "a new trace without traceparent"
    );
    let children: Vec<&Span> = spans
        .iter()
        .map(|(_, s)| s)
        .filter(|s| s.parent_span_id == checkout.span_id && s.trace_id == checkout.trace_id)
        .collect();
    assert!(!children.is_empty(), "store calls under the checkout");
    assert!(
        children
            .iter()
            .all(|s| s.name.starts_with("store.") && s.kind == 3),
        "{:?}",
        children.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
    assert!(
        children
            .iter()
            .any(|s| attr(&s.attributes, "db.operation.name") == s.name)
    );

    // A job run: kind, queue, attempt, outcome.
    let job = spans
        .iter()
        .map(|(_, s)| s)
        .find(|s| s.name.starts_with("job ") && attr(&s.attributes, "job.outcome") == "completed")
        .expect("a completed job's span");
    assert_eq!(
        job.name,
        format!("job {}", attr(&job.attributes, "job.kind"))
    );
    assert!(!attr(&job.attributes, "job.queue").is_empty());
    assert_eq!(attr(&job.attributes, "job.attempt"), "1");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_down_collector_fails_no_request_and_delays_no_shutdown() {
    // A port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let db = TestDb::new().await;
    let mut cmd = storekeep_command(BIN, &db);
    cmd.args(["serve", "--demo"])
        .env("STOREKEEP_SHUTDOWN_DRAIN_SECS", "0")
        .env("STOREKEEP_SHUTDOWN_GRACE_SECS", "5")
        .env("STOREKEEP_OTEL_ENDPOINT", &endpoint);
    let server = ServerProcess::start(cmd);
    let client = reqwest::Client::new();
    for _ in 0..20 {
        let resp = client
            .get(server.url("/api/v1/store/products?limit=2"))
            .header("x-tenant", "demo")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
    }
    // The lost spans are counted once the exporter has tried (polled).
    let started = Instant::now();
    let mut dropped = 0.0;
    while started.elapsed() < Duration::from_secs(30) {
        let metrics = client
            .get(server.url("/api/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        dropped = metrics
            .lines()
            .find_map(|l| l.strip_prefix("storekeep_otel_spans_dropped_total "))
            .expect("the dropped-spans counter is exported")
            .parse::<f64>()
            .unwrap();
        if dropped >= 20.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        dropped >= 20.0,
        "the requests' spans are counted as dropped: {dropped}"
    );
    server.sigterm();
    // Drain 0 + grace 5 + the export timeout bound the exit; `wait`
    // kills and fails past the limit.
    let status = server.wait(Duration::from_secs(20));
    assert!(status.success(), "exit status {status:?}");
}

#[tokio::test]
async fn invalid_trace_settings_are_refused_with_a_clear_message() {
    let db = TestDb::new().await;
    let out = storekeep_command(BIN, &db)
        .arg("check-config")
        .env("STOREKEEP_OTEL_ENDPOINT", "ftp://collector:4318")
        .env("STOREKEEP_OTEL_SAMPLE_RATIO", "1.5")
        .env("STOREKEEP_OTEL_HEADERS", "authorization")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains(
            "STOREKEEP_OTEL_ENDPOINT 'ftp://collector:4318' must be an http:// or https:// URL"
        ),
        "{text}"
    );
    assert!(
        text.contains("STOREKEEP_OTEL_SAMPLE_RATIO '1.5' is not a number from 0 to 1"),
        "{text}"
    );
    assert!(
        text.contains("STOREKEEP_OTEL_HEADERS must be name=value pairs"),
        "{text}"
    );
    assert!(text.contains("3 problem(s) found"), "{text}");

    // And `serve` does not start with them.
    let out = storekeep_command(BIN, &db)
        .arg("serve")
        .env("STOREKEEP_OTEL_SAMPLE_RATIO", "-1")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("otel.sample_ratio") || err.contains("OTEL_SAMPLE_RATIO"),
        "{err}"
    );
}
