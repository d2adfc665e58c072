//! The webhook receiver the tests deliver to: `webhook_receiver.py`, which
//! verifies every signature with the `standardwebhooks` package from PyPI
//! (an implementation independent of storekeep's), on 127.0.0.1; killed
//! when dropped, and startable again on the same port (a receiver that
//! went away and came back).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

pub struct Receiver {
    child: Child,
    pub port: u16,
    http: reqwest::Client,
}

impl Receiver {
    /// `None` (the test skips) if Python or `standardwebhooks` is
    /// missing, unless `STOREKEEP_TEST_REQUIRE_TOOLS` is set.
    pub fn start() -> Option<Self> {
        let found = Command::new("python3")
            .args(["-c", "import standardwebhooks"])
            .output()
            .is_ok_and(|o| o.status.success());
        if !found {
            assert!(
                std::env::var("STOREKEEP_TEST_REQUIRE_TOOLS").is_err(),
                "python3 with standardwebhooks is required (STOREKEEP_TEST_REQUIRE_TOOLS is set)"
            );
            eprintln!("skipping: python3 with standardwebhooks is not installed");
            return None;
        }
        Some(Self::start_on(0))
    }

    /// On `port` (0: a free one).
    pub fn start_on(port: u16) -> Self {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/api/webhook_receiver.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(port.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting the receiver");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("reading the receiver's port");
        let port = line.trim().parse().expect("the receiver prints its port");
        Self {
            child,
            port,
            http: reqwest::Client::new(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The secrets signatures are checked against, in order.
    pub async fn secrets(&self, secrets: &[&str]) {
        let resp = self
            .http
            .put(self.url("/secrets"))
            .json(&secrets)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 204);
    }

    /// Every request received, oldest first: path, headers, body,
    /// `verified` (one flag per secret).
    pub async fn received(&self) -> Vec<Value> {
        let resp = self.http.get(self.url("/received")).send().await.unwrap();
        resp.json::<Vec<Value>>().await.unwrap()
    }

    /// Waits until `n` requests have arrived (`limit` at most).
    pub async fn wait_for(&self, n: usize, limit: Duration) -> Vec<Value> {
        let end = std::time::Instant::now() + limit;
        loop {
            let got = self.received().await;
            if got.len() >= n {
                return got;
            }
            assert!(
                std::time::Instant::now() < end,
                "{n} deliveries did not arrive within {limit:?}: {} did",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
