//! What the crash tests share (`crash.rs`, `crash_import.rs`): a shop on
//! an unmetered plan with its owner, made with the CLI; `storekeep serve`
//! as a child process on the test's database; the shop's API on whichever
//! server is running; `storekeep audit verify`.

use std::process::Output;
use std::time::{Duration, Instant};

use reqwest::{Method, RequestBuilder};
use serde_json::{Value, json};
use storekeep_test_support::{ServerProcess, TestDb, storekeep_command};

use crate::BIN;

pub const SLUG: &str = "crash";
pub const OWNER: &str = "owner@crash.example";
pub const PASSWORD: &str = "correct horse battery staple";

/// The run's seed: `STOREKEEP_TEST_CRASH_SEED`, or the clock's.
pub fn seed() -> u64 {
    std::env::var("STOREKEEP_TEST_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("after 1970")
                .subsec_nanos()
                .into()
        })
}

/// Runs a `storekeep` command on `db` and returns its output, asserting it
/// succeeded.
pub fn cli(db: &TestDb, args: &[&str]) -> Output {
    let out = storekeep_command(BIN, db).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "storekeep {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A plan with no practical rate limit, the shop on it, and its owner.
pub fn shop_with_owner(db: &TestDb) {
    let lots = "6000000";
    cli(
        db,
        &[
            "plan",
            "create",
            "crash",
            "--api-requests-per-minute",
            lots,
            "--admin-requests-per-minute",
            lots,
            "--max-products",
            lots,
        ],
    );
    cli(
        db,
        &[
            "tenant", "create", SLUG, "--name", "Crash", "--plan", "crash",
        ],
    );
    let pw = db.dir.path().join("owner-password");
    std::fs::write(&pw, format!("{PASSWORD}\n")).unwrap();
    cli(
        db,
        &[
            "user",
            "create",
            "--tenant",
            SLUG,
            "--email",
            OWNER,
            "--role",
            "owner",
            "--password-file",
            pw.to_str().unwrap(),
        ],
    );
}

/// `storekeep serve` on `db`, and how long it took to be ready.
pub fn serve(db: &TestDb) -> (ServerProcess, Duration) {
    let mut cmd = storekeep_command(BIN, db);
    cmd.arg("serve").env("STOREKEEP_SHUTDOWN_DRAIN_SECS", "0");
    let started = Instant::now();
    let server = ServerProcess::start(cmd);
    (server, started.elapsed())
}

/// `storekeep audit verify` exits 0 and says the log is intact.
pub fn audit_intact(db: &TestDb) {
    let out = cli(db, &["audit", "verify"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("audit log intact"), "{text}");
}

/// The shop's API on the current server.
#[derive(Clone)]
pub struct Api {
    pub client: reqwest::Client,
    pub base: String,
    pub token: String,
}

impl Api {
    pub fn new(server: &ServerProcess) -> Self {
        Self {
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
            base: server.url(""),
            token: String::new(),
        }
    }

    /// The same client and credentials on a restarted server.
    pub fn on(&self, server: &ServerProcess) -> Self {
        Self {
            base: server.url(""),
            ..self.clone()
        }
    }

    pub fn shop(&self, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.base))
            .header("x-tenant", SLUG)
    }

    pub fn admin(&self, method: Method, path: &str) -> RequestBuilder {
        self.shop(method, path).bearer_auth(&self.token)
    }

    /// Logs the owner in.
    pub async fn log_in(&mut self) {
        let (status, b) = call(
            self.shop(Method::POST, "/api/v1/auth/login")
                .json(&json!({"email": OWNER, "password": PASSWORD, "account": "staff"})),
        )
        .await
        .expect("the server answers");
        assert_eq!(status, 200, "login: {b}");
        self.token = b["token"].as_str().unwrap().to_owned();
    }
}

/// Sends a request: its status and JSON body, or `None` when no whole
/// answer came (the server died before or while answering).
pub async fn call(req: RequestBuilder) -> Option<(u16, Value)> {
    let resp = req.send().await.ok()?;
    let status = resp.status().as_u16();
    let text = resp.text().await.ok()?;
    Some((
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    ))
}

/// A call that must answer `want`; its body.
pub async fn expect(req: RequestBuilder, want: u16, what: &str) -> Value {
    let (status, b) = call(req)
        .await
        .unwrap_or_else(|| panic!("{what}: no answer"));
    assert_eq!(status, want, "{what}: {b}");
    b
}
