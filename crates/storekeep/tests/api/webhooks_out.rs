//! Outbound webhooks through the admin API: endpoints and their secrets,
//! test pings verified by a real receiver with an independent
//! implementation of Standard Webhooks (the `standardwebhooks` package
//! from PyPI), secret rotation, what 500 and 410 answers do, and the
//! destinations refused as SSRF.

use reqwest::Method;
use serde_json::{Value, json};
use storekeep_test_support::{TestApp, problem, spawn_app, spawn_app_with};

use crate::catalog_support::fields;
use crate::identity::{admin, shop_with_owner};
use crate::webhook_support::Receiver;

/// A server that may reach the receiver on 127.0.0.1.
async fn app_reaching_loopback() -> TestApp {
    spawn_app_with(|s| {
        s.webhooks.allow_networks = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await
}

async fn call(
    app: &TestApp,
    owner: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let req = admin(app, "acme", owner, method, path);
    let req = match body {
        Some(b) => req.json(&b),
        None => req,
    };
    req.send().await.unwrap()
}

async fn create(app: &TestApp, owner: &str, url: &str, events: Value) -> Value {
    let resp = call(
        app,
        owner,
        Method::POST,
        "/api/v1/admin/webhooks",
        Some(json!({"webhook": {"url": url, "description": "ERP", "events": events}})),
    )
    .await;
    assert_eq!(resp.status(), 201);
    resp.json().await.unwrap()
}

async fn ping(app: &TestApp, owner: &str, id: &str) -> Value {
    let resp = call(
        app,
        owner,
        Method::POST,
        &format!("/api/v1/admin/webhooks/{id}/test"),
        None,
    )
    .await;
    assert_eq!(resp.status(), 200);
    resp.json::<Value>().await.unwrap()["delivery"].clone()
}

async fn get(app: &TestApp, owner: &str, path: &str) -> Value {
    let resp = call(app, owner, Method::GET, path, None).await;
    assert_eq!(resp.status(), 200, "{path}");
    resp.json().await.unwrap()
}

#[tokio::test]
async fn endpoints_are_managed_and_their_secret_is_shown_once() {
    let app = app_reaching_loopback().await;
    let owner = shop_with_owner(&app, "acme").await;
    let created = create(
        &app,
        &owner,
        "http://127.0.0.1:9/hook",
        json!(["order.paid", "refund.created", "order.paid"]),
    )
    .await;
    let secret = created["secret"].as_str().unwrap();
    assert!(
        secret.starts_with("whsec_") && secret.len() > 30,
        "{secret}"
    );
    let hook = &created["webhook"];
    let id = hook["id"].as_str().unwrap();
    assert_eq!(hook["events"], json!(["order.paid", "refund.created"]));
    assert_eq!(hook["status"], "enabled");
    assert_eq!(hook["url"], "http://127.0.0.1:9/hook");

    let one = get(&app, &owner, &format!("/api/v1/admin/webhooks/{id}")).await;
    assert_eq!(&one["webhook"], hook);
    let listed = get(&app, &owner, "/api/v1/admin/webhooks").await;
    assert_eq!(listed["items"], json!([hook]));
    for body in [&one, &listed] {
        let text = body.to_string();
        assert!(!text.contains(secret) && !text.contains("secret_sealed"));
    }

    let path = format!("/api/v1/admin/webhooks/{id}");
    let changed = call(
        &app,
        &owner,
        Method::PATCH,
        &path,
        Some(json!({"webhook": {"events": ["*"], "description": "ERP 2", "status": "disabled"}})),
    )
    .await;
    assert_eq!(changed.status(), 200);
    let changed: Value = changed.json().await.unwrap();
    assert_eq!(changed["webhook"]["events"], json!([]), "* is every type");
    assert_eq!(changed["webhook"]["description"], "ERP 2");
    assert_eq!(changed["webhook"]["status"], "disabled");
    assert!(changed["webhook"]["disabled_reason"].is_string());
    let enabled = call(
        &app,
        &owner,
        Method::PATCH,
        &path,
        Some(json!({"webhook": {"status": "enabled"}})),
    )
    .await;
    let enabled: Value = enabled.json().await.unwrap();
    assert_eq!(enabled["webhook"]["status"], "enabled");
    assert_eq!(enabled["webhook"]["disabled_reason"], Value::Null);

    // Unknown event types and statuses are refused, naming the field.
    let bad = call(
        &app,
        &owner,
        Method::PATCH,
        &path,
        Some(json!({"webhook": {"events": ["order.paid", "order.teleported"], "status": "on"}})),
    )
    .await;
    let bad = problem(bad, 422).await;
    assert_eq!(fields(&bad), ["webhook.events[1]", "webhook.status"]);
    assert!(
        bad.to_string().contains("order.created"),
        "lists the known types"
    );
    let bad = call(
        &app,
        &owner,
        Method::POST,
        "/api/v1/admin/webhooks",
        Some(json!({"webhook": {"url": "ftp://127.0.0.1/x", "events": ["nope"]}})),
    )
    .await;
    let bad = problem(bad, 422).await;
    assert_eq!(fields(&bad), ["webhook.events[0]", "webhook.url"]);

    let gone = call(&app, &owner, Method::DELETE, &path, None).await;
    assert_eq!(gone.status(), 204);
    problem(call(&app, &owner, Method::GET, &path, None).await, 404).await;
    let audit = get(&app, &owner, "/api/v1/admin/audit-log?limit=50").await;
    let text = audit.to_string();
    for action in [
        "webhook_endpoint.create",
        "webhook_endpoint.update",
        "webhook_endpoint.delete",
    ] {
        assert!(text.contains(action), "{action} audited");
    }
    assert!(!text.contains(secret));
    app.stop().await;
}

#[tokio::test]
async fn the_receiver_verifies_test_pings_before_during_and_after_a_rotation() {
    let Some(receiver) = Receiver::start() else {
        return;
    };
    let app = app_reaching_loopback().await;
    let owner = shop_with_owner(&app, "acme").await;
    let created = create(&app, &owner, &receiver.url("/ok"), json!([])).await;
    let first = created["secret"].as_str().unwrap().to_owned();
    let id = created["webhook"]["id"].as_str().unwrap().to_owned();
    receiver.secrets(&[&first]).await;

    let d = ping(&app, &owner, &id).await;
    assert_eq!(d["outcome"], "succeeded");
    assert_eq!(d["status_code"], 200);
    assert_eq!(d["attempt"], 1);
    assert_eq!(d["response_excerpt"], "ok");
    let got = receiver.received().await;
    assert_eq!(got.len(), 1);
    let r = &got[0];
    assert_eq!(r["verified"], json!([true]), "{r}");
    assert_eq!(r["headers"]["webhook-id"], d["event_id"]);
    assert_eq!(r["body"]["type"], "webhook.test");
    assert_eq!(r["body"]["data"]["endpoint_id"], id.as_str());
    assert!(r["body"]["timestamp"].is_string());
    assert!(
        r["headers"]["user-agent"]
            .as_str()
            .unwrap()
            .starts_with("storekeep/")
    );

    let rotated = call(
        &app,
        &owner,
        Method::POST,
        &format!("/api/v1/admin/webhooks/{id}/rotate-secret"),
        None,
    )
    .await;
    assert_eq!(rotated.status(), 200);
    let rotated: Value = rotated.json().await.unwrap();
    let second = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(second, first);
    assert!(rotated["webhook"]["previous_secret_expires_at"].is_string());
    receiver
        .secrets(&[&first, &second, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"])
        .await;
    let d = ping(&app, &owner, &id).await;
    assert_eq!(d["outcome"], "succeeded");
    let got = receiver.received().await;
    let r = &got[1];
    let signatures = r["headers"]["webhook-signature"].as_str().unwrap();
    assert_eq!(signatures.split(' ').count(), 2, "{signatures}");
    assert_eq!(
        r["verified"],
        json!([true, true, false]),
        "both secrets sign during the overlap, and nothing else does"
    );

    let attempts = get(
        &app,
        &owner,
        &format!("/api/v1/admin/webhooks/{id}/deliveries?limit=1"),
    )
    .await;
    assert_eq!(
        attempts["items"][0]["event_id"], d["event_id"],
        "newest first"
    );
    let cursor = attempts["next_cursor"].as_str().unwrap();
    let older = get(
        &app,
        &owner,
        &format!("/api/v1/admin/webhooks/{id}/deliveries?limit=1&after={cursor}"),
    )
    .await;
    assert_eq!(
        older["items"][0]["event_id"],
        got[0]["headers"]["webhook-id"]
    );
    assert_eq!(older["next_cursor"], Value::Null);
    app.stop().await;
}

#[tokio::test]
async fn a_failing_receiver_is_recorded_and_a_gone_one_disables_the_endpoint() {
    let Some(receiver) = Receiver::start() else {
        return;
    };
    let app = spawn_app_with(|s| {
        s.webhooks.allow_networks = vec!["127.0.0.1/32".parse().unwrap()];
        s.webhooks.timeout = std::time::Duration::from_secs(1);
    })
    .await;
    let owner = shop_with_owner(&app, "acme").await;
    let created = create(&app, &owner, &receiver.url("/status/500"), json!([])).await;
    let id = created["webhook"]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/admin/webhooks/{id}");

    let d = ping(&app, &owner, &id).await;
    assert_eq!(d["outcome"], "failed");
    assert_eq!(d["status_code"], 500);
    let excerpt = d["response_excerpt"].as_str().unwrap();
    assert!(
        excerpt.starts_with("receiver says:  broken \u{fffd}xxx"),
        "{excerpt}"
    );
    assert!(excerpt.len() <= 1024 && !excerpt.chars().any(char::is_control));
    let hook = get(&app, &owner, &path).await;
    assert!(hook["webhook"]["failing_since"].is_string());
    assert_eq!(hook["webhook"]["status"], "enabled");

    // A receiver slower than the timeout is a failed attempt too.
    let patch = json!({"webhook": {"url": receiver.url("/slow/3")}});
    let r = call(&app, &owner, Method::PATCH, &path, Some(patch)).await;
    assert_eq!(r.status(), 200);
    let d = ping(&app, &owner, &id).await;
    assert_eq!(d["outcome"], "failed");
    assert_eq!(d["error"], "timeout");
    assert_eq!(d["status_code"], Value::Null);

    // A receiver asking for time (429 with Retry-After) is retried, not
    // disabled.
    let patch = json!({"webhook": {"url": receiver.url("/retry-after/120")}});
    let r = call(&app, &owner, Method::PATCH, &path, Some(patch)).await;
    assert_eq!(r.status(), 200);
    let d = ping(&app, &owner, &id).await;
    assert_eq!(d["outcome"], "failed");
    assert_eq!(d["status_code"], 429);

    let patch = json!({"webhook": {"url": receiver.url("/gone")}});
    let r = call(&app, &owner, Method::PATCH, &path, Some(patch)).await;
    assert_eq!(r.status(), 200);
    let d = ping(&app, &owner, &id).await;
    assert_eq!(d["outcome"], "abandoned");
    assert_eq!(d["status_code"], 410);
    let hook = get(&app, &owner, &path).await;
    assert_eq!(hook["webhook"]["status"], "disabled");
    assert!(
        hook["webhook"]["disabled_reason"]
            .as_str()
            .unwrap()
            .contains("410")
    );
    let events = get(
        &app,
        &owner,
        "/api/v1/admin/events?topic=webhook_endpoint.disabled",
    )
    .await;
    assert_eq!(events["items"].as_array().unwrap().len(), 1);
    assert_eq!(events["items"][0]["payload"]["endpoint_id"], id.as_str());

    let attempts = get(&app, &owner, &format!("{path}/deliveries")).await;
    let outcomes: Vec<&str> = attempts["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["abandoned", "failed", "failed", "failed"]);
    assert_eq!(receiver.received().await.len(), 4);
    let metrics = app.get("/api/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("storekeep_webhook_deliveries_total{result=\"failed\"} 3"),
        "{metrics}"
    );
    app.stop().await;
}

#[tokio::test]
async fn private_loopback_and_link_local_destinations_are_refused() {
    let app = spawn_app().await;
    let owner = shop_with_owner(&app, "acme").await;
    for url in [
        "http://127.0.0.1:8080/hook",
        "http://10.0.0.1/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/",
        "http://localhost:8080/hook",
        "https://user:pass@93.184.216.34/",
        "http://nothing.invalid/",
    ] {
        let resp = call(
            &app,
            &owner,
            Method::POST,
            "/api/v1/admin/webhooks",
            Some(json!({"webhook": {"url": url}})),
        )
        .await;
        let body = problem(resp, 422).await;
        assert_eq!(fields(&body), ["webhook.url"], "{url}: {body}");
    }
    let listed = get(&app, &owner, "/api/v1/admin/webhooks").await;
    assert_eq!(listed["items"], json!([]), "nothing was stored");

    // A change of URL is checked the same way.
    let app_url = "http://93.184.216.34/hook";
    let created = create(&app, &owner, app_url, json!([])).await;
    let path = format!(
        "/api/v1/admin/webhooks/{}",
        created["webhook"]["id"].as_str().unwrap()
    );
    let patch = json!({"webhook": {"url": "http://192.168.1.20/hook"}});
    let body = problem(
        call(&app, &owner, Method::PATCH, &path, Some(patch)).await,
        422,
    )
    .await;
    assert_eq!(fields(&body), ["webhook.url"]);
    let kept = get(&app, &owner, &path).await;
    assert_eq!(kept["webhook"]["url"], app_url);
    app.stop().await;
}
