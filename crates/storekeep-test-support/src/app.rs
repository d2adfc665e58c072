//! A real server on a random loopback port, in this test's process.

use std::net::SocketAddr;

use reqwest::{Method, RequestBuilder, Response};
use serde_json::Value;
use storekeep::app::AppState;
use storekeep::config::{PaymentSettings, Secret, Settings};
use storekeep::startup::{Application, Stop};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::TestDb;

/// Fixed PII keys of test servers: `(encryption.keys, blind_index_key)`.
pub const TEST_KEYS: (&str, &str) = (
    "test1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
    "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=",
);

/// The platform token every test server accepts.
pub const PLATFORM_TOKEN: &str = "test-platform-token-0123456789abcdef0123";

pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub db: TestDb,
    pub state: AppState,
    stop: Option<oneshot::Sender<Stop>>,
    handle: Option<JoinHandle<anyhow::Result<()>>>,
}

/// Starts a server with the test defaults.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts a server after `configure` adjusts the test defaults.
pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_on(TestDb::new().await, configure).await
}

/// Starts a server on `db` after `configure` adjusts the test defaults.
pub async fn spawn_app_on(db: TestDb, configure: impl FnOnce(&mut Settings)) -> TestApp {
    storekeep::telemetry::init_for_test();
    let mut settings = Settings {
        listen: "127.0.0.1:0".parse().expect("valid address"),
        data_dir: db.dir.path().to_path_buf(),
        database_url: Some(Secret::new(db.url.clone())),
        database_max_connections: 5,
        platform_token: Some(Secret::new(PLATFORM_TOKEN)),
        drain: std::time::Duration::ZERO,
        encryption_keys: Some(Secret::new(TEST_KEYS.0)),
        blind_index_key: Some(Secret::new(TEST_KEYS.1)),
        // The suite exercises the simulated processor; each shop that uses
        // it still has to accept it (a shop accepts `manual` only by default).
        payments: PaymentSettings {
            test_enabled: true,
            ..PaymentSettings::default()
        },
        ..Settings::default()
    };
    // Scheduled backups (on by default on SQLite) only where a test asks.
    settings.backup.schedule = storekeep::config::Schedule::Off;
    if let Some(direct) = &db.direct_url {
        settings.database_direct_url = Some(Secret::new(direct.clone()));
    }
    configure(&mut settings);
    let store = storekeep::db::connect_and_migrate(&settings)
        .await
        .expect("connecting to the test database");
    let app = Application::build(settings, store)
        .await
        .expect("binding a port");
    let addr = app.local_addr();
    let state = app.state();
    let (tx, rx) = oneshot::channel();
    let handle = tokio::spawn(app.run_until(async move { rx.await.unwrap_or(Stop::Immediate) }));
    TestApp {
        addr,
        client: reqwest::Client::new(),
        db,
        state,
        stop: Some(tx),
        handle: Some(handle),
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// The value of a series in `/api/metrics` now: `name`, with its labels
    /// as exported if it has any (`x{queue="email"}`); panics if it is not
    /// exported.
    pub async fn metric(&self, name: &str) -> f64 {
        let text = self
            .client
            .get(self.url("/api/metrics"))
            .send()
            .await
            .expect("GET /api/metrics")
            .text()
            .await
            .expect("the metrics' text");
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse::<f64>().ok())
            .unwrap_or_else(|| panic!("{name} missing from /api/metrics"))
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, self.url(path))
    }

    pub async fn get(&self, path: &str) -> Response {
        self.request(Method::GET, path)
            .send()
            .await
            .expect("request sent")
    }

    /// A request with the platform token.
    pub fn platform(&self, method: Method, path: &str) -> RequestBuilder {
        self.request(method, path).bearer_auth(PLATFORM_TOKEN)
    }

    /// A request addressed to a shop by the `X-Tenant` header.
    pub fn shop(&self, slug: &str, method: Method, path: &str) -> RequestBuilder {
        self.request(method, path).header("x-tenant", slug)
    }

    /// Creates a tenant through the platform API and returns its JSON.
    pub async fn create_tenant(&self, slug: &str, extra: Value) -> Value {
        let mut tenant = serde_json::json!({ "slug": slug, "name": format!("Shop {slug}") });
        if let (Some(t), Value::Object(more)) = (tenant.as_object_mut(), extra) {
            t.extend(more);
        }
        let resp = self
            .platform(Method::POST, "/api/v1/platform/tenants")
            .json(&serde_json::json!({ "tenant": tenant }))
            .send()
            .await
            .expect("request sent");
        assert_eq!(resp.status(), 201, "creating tenant {slug}");
        resp.json::<Value>().await.expect("JSON body")["tenant"].clone()
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(Stop::Immediate);
        }
        if let Some(h) = self.handle.take() {
            h.await.expect("server task").expect("server ran cleanly");
        }
    }
}

/// Asserts a problem+json response and returns its body.
pub async fn problem(resp: Response, status: u16) -> Value {
    assert_eq!(resp.status(), status, "status");
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert_eq!(ct, "application/problem+json");
    let request_id = resp
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body: Value = resp.json().await.expect("problem JSON");
    assert_eq!(body["status"], status);
    assert_eq!(
        body["instance"],
        request_id.as_str(),
        "instance is the request id"
    );
    assert!(body["title"].is_string() && body["detail"].is_string() && body["type"].is_string());
    body
}
