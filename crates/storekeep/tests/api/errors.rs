//! Every error is RFC 9457 problem+json with the request id as `instance`.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;
use storekeep_test_support::{problem, spawn_app, spawn_app_with};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn a_client_request_id_is_echoed_and_used_as_instance() {
    let app = spawn_app().await;

    let resp = app
        // An API path: any other path is a storefront page, whose 404 is HTML.
        .request(Method::GET, "/api/no/such/path")
        .header("x-request-id", "client-abc-123")
        .send()
        .await
        .unwrap();

    assert_eq!(
        resp.headers().get("x-request-id").unwrap(),
        "client-abc-123"
    );
    let body = problem(resp, 404).await;
    assert_eq!(body["instance"], "client-abc-123");
    app.stop().await;
}

#[tokio::test]
async fn an_unusable_request_id_is_replaced_by_a_fresh_one() {
    let app = spawn_app().await;

    let long = "x".repeat(300);
    for bad in ["has spaces in it", long.as_str()] {
        let resp = app
            .request(Method::GET, "/api/health/live")
            .header("x-request-id", bad)
            .send()
            .await
            .unwrap();
        let id = resp
            .headers()
            .get("x-request-id")
            .unwrap()
            .to_str()
            .unwrap();
        assert_ne!(id, bad);
        assert_eq!(id.len(), 36, "a UUID");
    }
    let a = app.get("/api/health/live").await;
    let b = app.get("/api/health/live").await;
    assert_ne!(
        a.headers().get("x-request-id"),
        b.headers().get("x-request-id")
    );
    app.stop().await;
}

#[tokio::test]
async fn a_wrong_method_is_a_405_problem() {
    let app = spawn_app().await;

    let resp = app
        .request(Method::DELETE, "/api/health")
        .send()
        .await
        .unwrap();

    problem(resp, 405).await;
    app.stop().await;
}

#[tokio::test]
async fn a_wrong_method_on_an_admin_route_is_a_405_with_allow() {
    let app = spawn_app().await;
    app.create_tenant("methods", serde_json::json!({})).await;

    // Before any credentials are looked at, like every other route.
    for (method, path, allow) in [
        (Method::PUT, "/api/v1/admin/settings", "GET,HEAD,PATCH"),
        (Method::DELETE, "/api/v1/admin/products", "GET,HEAD,POST"),
        (
            Method::PATCH,
            "/api/v1/admin/deals/01a20000-0000-7000-8000-000000000000",
            "GET,HEAD,PUT,DELETE",
        ),
    ] {
        let resp = app
            .shop("methods", method.clone(), path)
            .send()
            .await
            .unwrap();
        let allowed = resp.headers()["allow"].to_str().unwrap().to_owned();
        problem(resp, 405).await;
        assert_eq!(allowed, allow, "{method} {path}");
    }
    // HEAD is GET without the body, so it needs what GET needs.
    let resp = app
        .shop("methods", Method::HEAD, "/api/v1/admin/settings")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    app.stop().await;
}

#[tokio::test]
async fn malformed_bodies_get_clear_4xx_problems() {
    let app = spawn_app().await;
    let post = |body: &'static str, ct: &'static str| {
        app.platform(Method::POST, "/api/v1/platform/tenants")
            .header("content-type", ct)
            .body(body)
            .send()
    };

    let syntax = problem(
        post("{\"tenant\": {", "application/json").await.unwrap(),
        400,
    )
    .await;
    assert!(
        syntax["detail"]
            .as_str()
            .unwrap()
            .contains("not valid JSON")
    );

    let media = problem(
        post("slug=acme", "application/x-www-form-urlencoded")
            .await
            .unwrap(),
        415,
    )
    .await;
    assert!(
        media["detail"]
            .as_str()
            .unwrap()
            .contains("application/json")
    );

    let unknown_field = problem(
        post(
            r#"{"tenant": {"slug": "a1", "name": "A", "colour": "red"}}"#,
            "application/json",
        )
        .await
        .unwrap(),
        422,
    )
    .await;
    assert!(
        unknown_field["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("colour")
    );

    let wrong_type = problem(
        post(
            r#"{"tenant": {"slug": 5, "name": "A"}}"#,
            "application/json",
        )
        .await
        .unwrap(),
        422,
    )
    .await;
    assert!(
        wrong_type["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("slug")
    );
    app.stop().await;
}

#[tokio::test]
async fn a_body_over_the_limit_is_a_413_problem() {
    let app = spawn_app_with(|s| s.body_limit_bytes = 1024).await;

    let big = json!({"tenant": {"slug": "acme", "name": "x".repeat(4096)}});
    let resp = app
        .platform(Method::POST, "/api/v1/platform/tenants")
        .json(&big)
        .send()
        .await
        .unwrap();

    problem(resp, 413).await;
    app.stop().await;
}

#[tokio::test]
async fn a_request_over_the_time_limit_is_answered_503() {
    let app = spawn_app_with(|s| s.request_timeout = Duration::from_secs(1)).await;
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();

    // The client announces a body and then stalls half-way.
    let head = format!(
        "POST /api/v1/platform/tenants HTTP/1.1\r\nhost: localhost\r\nauthorization: Bearer {}\r\n\
         content-type: application/json\r\ncontent-length: 100\r\nconnection: close\r\n\r\n{{\"tenant\":",
        storekeep_test_support::PLATFORM_TOKEN
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_string(&mut answer))
        .await
        .expect("the server answers without waiting for the rest")
        .unwrap();

    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("application/problem+json"));
    app.stop().await;
}

#[tokio::test]
async fn nul_characters_are_refused_with_a_400_on_every_backend() {
    let app = spawn_app().await;

    let resp = app
        .platform(Method::POST, "/api/v1/platform/tenants")
        .header("content-type", "application/json")
        .body(r#"{"tenant": {"slug": "acme", "name": "Bad\u0000Name"}}"#)
        .send()
        .await
        .unwrap();
    let body = problem(resp, 400).await;
    assert!(body["detail"].as_str().unwrap().contains("NUL"));

    let token = app
        .request(Method::POST, "/api/v1/auth/oauth/token")
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "a\u{0}b"),
            ("client_secret", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), 401);
    app.stop().await;
}
