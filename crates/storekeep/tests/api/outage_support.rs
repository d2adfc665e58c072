//! A Redis and an S3-compatible server (moto) of the test's own, to stop
//! and start again under load without touching the ones the rest of the
//! suite shares (`scripts/test` starts those; they are never stopped).

use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A free loopback port (bound, read and released).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("finding a free port")
        .port()
}

/// Is `program` on PATH? If not the test skips, or fails when
/// `STOREKEEP_TEST_REQUIRE_TOOLS` is set.
fn on_path(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn skip(what: &str) {
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
fn wait_for(what: &str, limit: Duration, mut ready: impl FnMut() -> bool) {
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
