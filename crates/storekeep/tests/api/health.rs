use reqwest::Method;
use serde_json::Value;
use storekeep_test_support::{on_postgres, problem, spawn_app};

#[tokio::test]
async fn live_answers_ok() {
    let app = spawn_app().await;

    let resp = app.get("/api/health/live").await;

    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap()["status"], "ok");
    app.stop().await;
}

#[tokio::test]
async fn ready_and_summary_are_200_with_a_migrated_reachable_database() {
    let app = spawn_app().await;

    let ready = app.get("/api/health/ready").await;
    assert_eq!(ready.status(), 200);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    assert_eq!(body["database"]["ok"], true);
    assert_eq!(body["migrations"]["ok"], true);

    let summary = app.get("/api/health").await;
    assert_eq!(summary.status(), 200);
    assert_eq!(summary.json::<Value>().await.unwrap()["status"], "ok");
    app.stop().await;
}

#[tokio::test]
async fn ready_is_503_once_the_node_is_draining() {
    let app = spawn_app().await;

    app.state.start_draining();
    let resp = app.get("/api/health/ready").await;

    assert_eq!(resp.status(), 503);
    assert_eq!(resp.json::<Value>().await.unwrap()["status"], "draining");
    assert_eq!(app.get("/api/health").await.status(), 503);
    assert_eq!(
        app.get("/api/health/live").await.status(),
        200,
        "still alive"
    );
    app.stop().await;
}

#[tokio::test]
async fn detailed_health_needs_the_platform_token() {
    let app = spawn_app().await;

    let resp = app.get("/api/health/detailed").await;

    let body = problem(resp, 401).await;
    assert!(body["detail"].as_str().unwrap().contains("platform token"));
    app.stop().await;
}

#[tokio::test]
async fn detailed_health_reports_version_uptime_and_database() {
    let app = spawn_app().await;

    let resp = app
        .platform(Method::GET, "/api/health/detailed")
        .send()
        .await
        .unwrap();

    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    assert!(body["git_revision"].is_string());
    assert!(body["uptime_seconds"].is_u64());
    let kind = if on_postgres() { "postgres" } else { "sqlite" };
    assert_eq!(body["database"]["kind"], kind);
    assert_eq!(body["database"]["ok"], true);
    assert!(body["database"]["latency_ms"].as_f64().unwrap() >= 0.0);
    assert_eq!(
        body["database"]["migrations_known"],
        body["database"]["migrations_applied"]
    );
    assert!(body["database"]["pool_max"].as_u64().unwrap() > 0);
    app.stop().await;
}
