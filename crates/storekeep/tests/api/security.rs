//! Security headers, CORS, trusted proxies, rate limits and PII at rest.

use reqwest::Method;
use serde_json::{Value, json};
use storekeep_test_support::{TestApp, on_postgres, problem, spawn_app, spawn_app_with};

use crate::identity::{PASSWORD, register};

#[tokio::test]
async fn every_response_carries_security_headers() {
    let app = spawn_app().await;

    for path in ["/api/health/live", "/api/docs", "/nowhere"] {
        let resp = app.get(path).await;
        let h = resp.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY");
        assert_eq!(h["referrer-policy"], "no-referrer");
        assert!(
            h["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'")
        );
        assert!(
            h.get("strict-transport-security").is_none(),
            "no HSTS over plain HTTP"
        );
    }
    let html = app.get("/api/docs").await;
    assert!(
        html.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'self'")
    );
    app.stop().await;
}

#[tokio::test]
async fn forwarded_headers_count_only_from_trusted_proxies() {
    let untrusted = spawn_app().await;
    let resp = untrusted
        .request(Method::GET, "/api/health/live")
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    assert!(resp.headers().get("strict-transport-security").is_none());
    untrusted.stop().await;

    let app = spawn_app_with(|s| s.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()]).await;
    let resp = app
        .request(Method::GET, "/api/health/live")
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    assert!(
        resp.headers()["strict-transport-security"]
            .to_str()
            .unwrap()
            .contains("max-age=")
    );

    // The client address comes from X-Forwarded-For, read from the right.
    app.request(Method::POST, "/api/v1/platform/plans")
        .bearer_auth(storekeep_test_support::PLATFORM_TOKEN)
        .header("x-forwarded-for", "198.51.100.7, 203.0.113.9")
        .json(&json!({"plan": {"name": "fwd"}}))
        .send()
        .await
        .unwrap();
    let log: Value = app
        .platform(Method::GET, "/api/v1/platform/audit-log")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(log["items"][0]["ip"], "203.0.113.9");
    app.stop().await;
}

#[tokio::test]
async fn cors_allows_only_the_shops_own_origins() {
    let app = spawn_app().await;
    app.create_tenant(
        "acme",
        json!({"settings": {"cors_origins": ["https://shop.acme.example"]}}),
    )
    .await;

    let allowed = app
        .shop("acme", Method::GET, "/api/v1/store")
        .header("origin", "https://shop.acme.example")
        .send()
        .await
        .unwrap();
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://shop.acme.example"
    );
    let other = app
        .shop("acme", Method::GET, "/api/v1/store")
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());

    let preflight = app
        .shop("acme", Method::OPTIONS, "/api/v1/auth/login")
        .header("origin", "https://shop.acme.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 204);
    assert!(
        preflight.headers()["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("POST")
    );
    assert!(
        preflight.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("authorization")
    );
    app.stop().await;
}

async fn shop_on_tight_plan(app: &TestApp) {
    app.platform(Method::POST, "/api/v1/platform/plans")
        .json(&json!({"plan": {"name": "tight", "limits": {"auth_requests_per_minute": 4}}}))
        .send()
        .await
        .unwrap();
    app.create_tenant("acme", json!({"plan": "tight"})).await;
}

async fn login_attempt(app: &TestApp) -> reqwest::Response {
    app.shop("acme", Method::POST, "/api/v1/auth/login")
        .json(&json!({"email": "x@example.com", "password": "whatever it is"}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_auth_tier_is_limited_by_the_shops_plan() {
    let app = spawn_app().await;
    shop_on_tight_plan(&app).await;

    for i in 0..4 {
        let resp = login_attempt(&app).await;
        assert_eq!(resp.status(), 401, "attempt {i}");
        assert_eq!(resp.headers()["ratelimit-limit"], "4");
        assert_eq!(
            resp.headers()["ratelimit-remaining"].to_str().unwrap(),
            (3 - i).to_string()
        );
    }
    let limited = login_attempt(&app).await;
    let retry: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1..=15).contains(&retry),
        "one request refills in 15 s: {retry}"
    );
    assert_eq!(limited.headers()["ratelimit-remaining"], "0");
    problem(limited, 429).await;

    // Other tiers have their own quota.
    assert_eq!(
        app.shop("acme", Method::GET, "/api/v1/store")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let metrics = app.get("/api/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("storekeep_rate_limited_total{tier=\"auth\"} 1"),
        "{metrics}"
    );
    app.stop().await;
}

fn redis_url() -> Option<String> {
    match std::env::var("STOREKEEP_TEST_REDIS_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            assert!(
                std::env::var("STOREKEEP_TEST_REQUIRE_TOOLS").is_err(),
                "STOREKEEP_TEST_REDIS_URL is required when STOREKEEP_TEST_REQUIRE_TOOLS is set"
            );
            eprintln!("skipping: no STOREKEEP_TEST_REDIS_URL");
            None
        }
    }
}

#[tokio::test]
async fn with_redis_the_limit_holds_across_two_nodes() {
    let Some(redis) = redis_url() else { return };
    let a =
        spawn_app_with(|s| s.redis_url = Some(storekeep::config::Secret::new(redis.clone()))).await;
    shop_on_tight_plan(&a).await;
    let shared = a.db.url.clone();
    let b = spawn_app_with(|s| {
        s.redis_url = Some(storekeep::config::Secret::new(redis.clone()));
        s.database_url = Some(storekeep::config::Secret::new(shared));
    })
    .await;

    let mut statuses = Vec::new();
    for node in [&a, &b, &a, &b, &a, &b] {
        statuses.push(login_attempt(node).await.status().as_u16());
    }

    assert_eq!(
        statuses,
        [401, 401, 401, 401, 429, 429],
        "four allowed in all, across both nodes"
    );
    let detailed: Value = b
        .platform(Method::GET, "/api/health/detailed")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(detailed["rate_limiter"], "redis");
    b.stop().await;
    a.stop().await;
}

#[tokio::test]
async fn when_redis_is_down_limits_fall_back_to_memory_and_say_so() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let app = spawn_app_with(|s| {
        s.redis_url = Some(storekeep::config::Secret::new(format!(
            "redis://127.0.0.1:{port}"
        )))
    })
    .await;
    shop_on_tight_plan(&app).await;

    let statuses: Vec<u16> = futures_lite(&app, 5).await;
    assert_eq!(
        statuses,
        [401, 401, 401, 401, 429],
        "still limited, per node"
    );
    let detailed: Value = app
        .platform(Method::GET, "/api/health/detailed")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(detailed["rate_limiter"], "memory (redis unavailable)");
    app.stop().await;
}

async fn futures_lite(app: &TestApp, n: usize) -> Vec<u16> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(login_attempt(app).await.status().as_u16());
    }
    out
}

#[tokio::test]
async fn emails_and_names_are_not_stored_in_plaintext() {
    let app = spawn_app().await;
    app.create_tenant("acme", json!({})).await;
    let resp = app
        .shop("acme", Method::POST, "/api/v1/auth/register")
        .json(&json!({"account": {"email": "grace.hopper@navy.example", "password": PASSWORD, "name": "Grace Brewster Hopper", "phone": "+1 555 0100"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    register(&app, "acme", "second.person@example.com").await;

    if on_postgres() {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&app.db.url).await.unwrap();
        let dump: Vec<String> = sqlx::query_scalar("SELECT row_to_json(u)::text FROM users u")
            .fetch_all(&mut conn)
            .await
            .unwrap();
        let all = dump.join("\n");
        assert_eq!(dump.len(), 2);
        for secret in [
            "grace.hopper",
            "navy.example",
            "Grace Brewster",
            "555 0100",
            "second.person",
        ] {
            assert!(
                !all.contains(secret),
                "{secret} is readable in the database"
            );
        }
    } else {
        let mut bytes = Vec::new();
        for f in ["storekeep.db", "storekeep.db-wal"] {
            if let Ok(b) = std::fs::read(app.db.dir.path().join(f)) {
                bytes.extend(b);
            }
        }
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains("tenant_domains"), "this is the database file");
        for secret in [
            "grace.hopper",
            "navy.example",
            "Grace Brewster",
            "555 0100",
            "second.person",
        ] {
            assert!(
                !text.contains(secret),
                "{secret} is readable in the database file"
            );
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn a_shops_api_keys_share_one_quota() {
    let app = spawn_app().await;
    app.platform(Method::POST, "/api/v1/platform/plans")
        .json(&json!({"plan": {"name": "tight-admin", "limits": {"admin_requests_per_minute": 4}}}))
        .send()
        .await
        .unwrap();
    let (owner, _) = crate::catalog_support::shop(&app, "acme", Some("tight-admin")).await;
    let (other_owner, _) = crate::catalog_support::shop(&app, "other", Some("tight-admin")).await;
    let mint = |slug: &'static str, token: String| {
        let app = &app;
        async move {
            let resp =
                crate::identity::admin(app, slug, &token, Method::POST, "/api/v1/admin/api-keys")
                    .json(&json!({"api_key": {"name": "sync", "scopes": ["catalog:read"]}}))
                    .send()
                    .await
                    .unwrap();
            assert_eq!(resp.status(), 201);
            resp.json::<Value>().await.unwrap()["secret"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let first = mint("acme", owner.clone()).await;
    let second = mint("acme", owner.clone()).await;
    let elsewhere = mint("other", other_owner).await;
    let list = |slug: &'static str, key: &str| {
        crate::identity::admin(&app, slug, key, Method::GET, "/api/v1/admin/products").send()
    };

    // Four requests in all, whichever key sends them.
    let mut remaining = Vec::new();
    for key in [&first, &second, &first, &second] {
        let resp = list("acme", key).await.unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["ratelimit-limit"], "4");
        remaining.push(
            resp.headers()["ratelimit-remaining"]
                .to_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(remaining, ["3", "2", "1", "0"]);
    problem(list("acme", &second).await.unwrap(), 429).await;
    // A third key minted now brings no fresh quota.
    let third = mint("acme", owner.clone()).await;
    problem(list("acme", &third).await.unwrap(), 429).await;

    // Another shop's keys have their own quota, and people are counted apart.
    assert_eq!(list("other", &elsewhere).await.unwrap().status(), 200);
    assert_eq!(list("acme", &owner).await.unwrap().status(), 200);
    app.stop().await;
}
