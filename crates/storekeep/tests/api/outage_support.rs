//! What the Redis and image-store outage tests share: a Redis and an
//! S3-compatible server (moto) of the test's own, to stop and start again
//! under load without touching the ones the rest of the suite shares
//! (`scripts/test` starts those; they are never stopped), a selling shop,
//! and ways to look at the answers the load got.

use std::collections::HashMap;
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use storekeep_test_support::{PgServer, TestApp};

use crate::catalog_support::{create, create_plan, product_json};
use crate::commerce_support::{set_settings, settings};
use crate::identity::{PASSWORD, cli_staff, login_as};
use crate::outage::{Answer, orders};

/// A free loopback port (bound, read and released).
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("finding a free port")
        .port()
}

/// Is `program` on PATH? If not the test skips, or fails when
/// `STOREKEEP_TEST_REQUIRE_TOOLS` is set.
pub(crate) fn on_path(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

pub(crate) fn skip(what: &str) {
    assert!(
        std::env::var("STOREKEEP_TEST_REQUIRE_TOOLS").is_err(),
        "{what} is required (STOREKEEP_TEST_REQUIRE_TOOLS is set) but not installed"
    );
    eprintln!("skipping: {what} is not installed");
}

/// Sends `signal` (`STOP`, `CONT`, `TERM`) to a child.
fn signal(child: &Child, signal: &str) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(child.id().to_string())
        .status()
        .expect("running kill");
    assert!(status.success(), "kill -{signal} {}", child.id());
}

/// Stops a child for good: TERM, then KILL if it lingers; waits for it.
fn end(child: &mut Child) {
    if matches!(child.try_wait(), Ok(Some(_))) {
        return;
    }
    signal(child, "CONT");
    signal(child, "TERM");
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Waits until `ready` says yes, or panics after `limit` naming `what`.
pub(crate) fn wait_for(what: &str, limit: Duration, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !ready() {
        assert!(
            Instant::now() < deadline,
            "{what} did not start in {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// A throwaway `redis-server` on a free loopback port that keeps its data
/// across a restart (an append-only file in a temporary folder, as a
/// production Redis would). Dropping it stops it.
pub struct RedisServer {
    port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts one, or `None` (skip) when `redis-server` is not installed.
    pub fn start() -> Option<Self> {
        if !on_path("redis-server") {
            skip("redis-server");
            return None;
        }
        let mut server = Self {
            port: free_port(),
            dir: tempfile::Builder::new()
                .prefix("storekeep-redis-")
                .tempdir()
                .expect("a folder for Redis"),
            child: None,
        };
        server.start_again();
        Some(server)
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts the (stopped) server on the same port and data; returns once
    /// it answers PING.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "Redis is already running");
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", ""])
            .args(["--appendonly", "yes", "--appendfsync", "always"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting redis-server");
        self.child = Some(child);
        let port = self.port;
        wait_for("redis-server", Duration::from_secs(10), || ping(port));
    }

    /// Freezes the process (SIGSTOP): connections stay open, nothing
    /// answers, and the data stays — a hung Redis, or a network cut.
    pub fn freeze(&mut self) {
        signal(self.child.as_ref().expect("Redis is running"), "STOP");
    }

    /// Lets a frozen process run again (SIGCONT).
    pub fn thaw(&mut self) {
        signal(self.child.as_ref().expect("Redis is running"), "CONT");
    }

    /// Stops the server as an operator's `systemctl stop` does (SIGTERM;
    /// clients are disconnected); returns once it has exited.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            end(&mut child);
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One `PING` over a plain TCP connection.
fn ping(port: u16) -> bool {
    use std::io::{Read, Write};
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let mut reply = [0u8; 7];
    stream.write_all(b"PING\r\n").is_ok()
        && stream.read_exact(&mut reply).is_ok()
        && &reply == b"+PONG\r\n"
}

/// A throwaway S3-compatible server (moto) on a free loopback port, with
/// one bucket. moto keeps objects in memory: a stopped-and-restarted moto
/// comes back empty (the bucket is made again), a frozen-and-continued one
/// (SIGSTOP/SIGCONT) keeps them. Dropping it stops it.
pub struct MotoServer {
    port: u16,
    child: Option<Child>,
}

pub const MOTO_BUCKET: &str = "outage";

impl MotoServer {
    /// Starts one, or `None` (skip) when moto is not installed.
    pub fn start() -> Option<Self> {
        let installed = on_path("moto_server")
            || Command::new("python3")
                .args(["-c", "import moto.server"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
        if !installed {
            skip("moto (moto_server)");
            return None;
        }
        let mut server = Self {
            port: free_port(),
            child: None,
        };
        server.start_again();
        Some(server)
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Starts the (stopped) server on the same port and makes the bucket;
    /// returns once it answers.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "moto is already running");
        let port = self.port.to_string();
        let mut cmd = if on_path("moto_server") {
            Command::new("moto_server")
        } else {
            let mut c = Command::new("python3");
            c.args(["-m", "moto.server"]);
            c
        };
        let child = cmd
            .args(["-H", "127.0.0.1", "-p", &port])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting moto");
        self.child = Some(child);
        let bucket = format!("{}/{MOTO_BUCKET}", self.endpoint());
        wait_for("moto", Duration::from_secs(30), || {
            // A blocking client: this runs on a blocking thread.
            Command::new("curl")
                .args(["-fsS", "-o", "/dev/null", "-X", "PUT", &bucket])
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        });
    }

    /// Stops the process for good (SIGTERM): connections are refused.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            end(&mut child);
        }
    }

    /// Freezes the process (SIGSTOP): the port stays open and the kernel
    /// still accepts connections, but nothing answers — a hung server.
    pub fn freeze(&self) {
        signal(self.child.as_ref().expect("moto is running"), "STOP");
    }

    /// Lets a frozen process run again (SIGCONT).
    pub fn thaw(&self) {
        signal(self.child.as_ref().expect("moto is running"), "CONT");
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        self.stop();
    }
}

// --- the load and its answers

/// `http.request_timeout_secs` of the servers under test.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// What every answer must come within: the request timeout and slack for
/// a busy machine (a hang is the point, not timings).
pub const ALLOWED: Duration = Duration::from_secs(5 + 3);

/// A shop on an unmetered plan (every request still goes through the rate
/// limiter) that sells one product; returns the owner's token, the
/// product's id and its variant's id.
pub async fn selling(app: &TestApp) -> (String, String, String) {
    create_plan(
        app,
        "unmetered",
        json!({"api_requests_per_minute": 6_000_000, "admin_requests_per_minute": 6_000_000}),
    )
    .await;
    app.create_tenant("outage", json!({"plan": "unmetered"}))
        .await;
    let email = "owner@outage.example";
    cli_staff(app, "outage", email, "owner").await;
    let token = owner_login(app, email).await;
    set_settings(app, "outage", &token, &settings(1800)).await;
    let product = create(
        app,
        "outage",
        &token,
        &product_json("Desk lamp", &[("LAMP-1", 1500, 1_000_000)]),
    )
    .await;
    (
        token,
        product["id"].as_str().unwrap().to_owned(),
        product["variants"][0]["id"].as_str().unwrap().to_owned(),
    )
}

/// Logs the owner in. Hashing a password takes long on a busy machine in
/// a debug build, and these servers have a short request timeout: a 503
/// is retried, as a client would.
pub async fn owner_login(app: &TestApp, email: &str) -> String {
    let body = json!({"email": email, "password": PASSWORD, "account": "staff"});
    for _ in 0..10 {
        let resp = login_as(app, Some("outage"), body.clone()).await;
        if resp.status() == 503 {
            tokio::time::sleep(Duration::from_millis(500)).await;
            continue;
        }
        assert_eq!(resp.status(), 200, "login of {email}");
        return resp.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_owned();
    }
    panic!("the owner could not log in within ten tries");
}

/// Runs `f` on a blocking thread (the servers' helpers wait by sleeping).
pub async fn blocking<T: Send + 'static>(
    server: &Arc<Mutex<T>>,
    f: impl FnOnce(&mut T) + Send + 'static,
) {
    let server = server.clone();
    tokio::task::spawn_blocking(move || f(&mut server.lock().unwrap()))
        .await
        .expect("server helper");
}

/// Answers sent at or after `from` and finished before `to`.
pub fn within<'a>(
    answers: &'a [Answer],
    what: &str,
    from: Instant,
    to: Instant,
) -> Vec<&'a Answer> {
    answers
        .iter()
        .filter(|a| a.what == what && a.sent >= from && a.sent + a.took < to)
        .collect()
}

/// When an answer arrived.
pub fn done(a: &Answer) -> Instant {
    a.sent + a.took
}

pub fn counts(answers: &[Answer]) -> HashMap<(&'static str, u16), usize> {
    let mut counts = HashMap::new();
    for a in answers {
        *counts.entry((a.what, a.status)).or_default() += 1;
    }
    counts
}

/// Every acknowledged checkout's order is stored.
pub async fn no_order_lost(app: &TestApp, token: &str, answers: &[Answer]) {
    let stored = orders(app, token).await;
    let acknowledged: Vec<&str> = answers
        .iter()
        .filter(|a| a.what == "checkout" && a.status == 201)
        .map(|a| a.body["order"]["id"].as_str().unwrap())
        .collect();
    assert!(!acknowledged.is_empty());
    let missing: Vec<&&str> = acknowledged
        .iter()
        .filter(|id| !stored.contains_key(**id))
        .collect();
    assert!(
        missing.is_empty(),
        "acknowledged orders missing: {missing:?}"
    );
}

/// Readiness probes from `from` on: the first whose `field` check reads
/// `ok`, and when it arrived.
pub fn first_with<'a>(probes: &'a [Answer], from: Instant, field: &str, ok: bool) -> &'a Answer {
    probes
        .iter()
        .find(|r| r.sent >= from && r.body[field]["ok"] == ok)
        .unwrap_or_else(|| panic!("no probe after the change said {field}.ok = {ok}"))
}

/// PgBouncer in front of PostgreSQL, as docs/deploy.md configures it for
/// the nodes: `pool_mode` `session` (Debian 12's 1.18 loses prepared
/// statements in `transaction` mode, see there), `extra_float_digits`
/// ignored (sqlx sends it), and short connect retries so that a PostgreSQL
/// back from an outage is used again within a second. In `transaction`
/// mode it keeps no prepared statements whatever its version (a 1.21 or
/// later gets `max_prepared_statements = 0`; 1.24 keeps 200 by default):
/// the pooler the nodes must refuse. It runs as the unprivileged user
/// PostgreSQL runs as (it refuses root).
pub struct PgBouncer {
    dir: tempfile::TempDir,
    child: Option<Child>,
    port: u16,
}

impl PgBouncer {
    pub fn start(pg: &PgServer, pool_mode: &str) -> Option<Self> {
        let program = ["pgbouncer", "/usr/sbin/pgbouncer"]
            .into_iter()
            .find(|p| on_path(p) || std::path::Path::new(p).is_file());
        let Some(program) = program else {
            skip("pgbouncer");
            return None;
        };
        let dir = tempfile::Builder::new()
            .prefix("storekeep-pgbouncer-")
            .tempdir()
            .expect("a folder for PgBouncer");
        let port = free_port();
        let d = dir.path().display();
        let keeps_none = if pool_mode == "transaction" && version(program) >= (1, 21) {
            "max_prepared_statements = 0\n"
        } else {
            ""
        };
        std::fs::write(dir.path().join("userlist.txt"), "\"postgres\" \"\"\n").unwrap();
        std::fs::write(
            dir.path().join("pgbouncer.ini"),
            format!(
                "[databases]\n* = host=127.0.0.1 port={pg}\n\
                 [pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n\
                 auth_type = trust\nauth_file = {d}/userlist.txt\n\
                 pool_mode = {pool_mode}\nmax_client_conn = 200\ndefault_pool_size = 40\n\
                 ignore_startup_parameters = extra_float_digits\n\
                 server_login_retry = 1\nserver_connect_timeout = 3\nquery_wait_timeout = 5\n\
                 logfile = {d}/pgbouncer.log\npidfile = {d}/pgbouncer.pid\n{keeps_none}",
                pg = pg.port()
            ),
        )
        .unwrap();
        let mut cmd = Command::new(program);
        if let Some((uid, gid)) = pg.owner_ids().expect("the PostgreSQL user's ids") {
            // Switched to in the child itself (no `runuser` between, which
            // would outlive a kill), so killing the child stops PgBouncer.
            for path in [
                dir.path().to_owned(),
                dir.path().join("userlist.txt"),
                dir.path().join("pgbouncer.ini"),
            ] {
                std::os::unix::fs::chown(&path, Some(uid), Some(gid)).expect("chown");
            }
            std::os::unix::process::CommandExt::uid(&mut cmd, uid);
            std::os::unix::process::CommandExt::gid(&mut cmd, gid);
        }
        let child = cmd
            .arg(dir.path().join("pgbouncer.ini"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting pgbouncer");
        // Owned first, so a failed wait still stops it (on drop).
        let mut bouncer = Self {
            dir,
            child: Some(child),
            port,
        };
        wait_for("pgbouncer", Duration::from_secs(10), || {
            // Its own listener, not another's on a port taken meanwhile.
            let child = bouncer.child.as_mut().expect("the child");
            assert!(
                matches!(child.try_wait(), Ok(None)),
                "pgbouncer exited: {}",
                std::fs::read_to_string(bouncer.dir.path().join("pgbouncer.log"))
                    .unwrap_or_default()
            );
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        Some(bouncer)
    }

    /// The database `url` names, through PgBouncer.
    pub fn url(&self, url: &str) -> String {
        let (_, rest) = url.split_once('@').expect("a URL with a user");
        let (_, db) = rest.split_once('/').expect("a URL with a database");
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("pgbouncer.log")).unwrap_or_default()
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `pgbouncer --version`'s major and minor ("PgBouncer 1.18.0").
fn version(program: &str) -> (u32, u32) {
    let out = Command::new(program)
        .arg("--version")
        .output()
        .expect("pgbouncer --version");
    let text = String::from_utf8_lossy(&out.stdout);
    let number = text
        .split_whitespace()
        .nth(1)
        .unwrap_or_else(|| panic!("a version in {text:?}"));
    let parse = |part: Option<&str>| {
        part.and_then(|p| p.parse::<u32>().ok())
            .unwrap_or_else(|| panic!("a version in {text:?}"))
    };
    let mut parts = number.split('.');
    (parse(parts.next()), parse(parts.next()))
}
