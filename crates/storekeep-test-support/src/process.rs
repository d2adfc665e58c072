//! The `storekeep` binary as a child process, for what only a real process
//! shows: signals, exit codes, restarts, log lines on stdout.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::{PLATFORM_TOKEN, TestDb};

/// `storekeep` with a clean environment pointing at `db` and its folder.
/// `bin` is `env!("CARGO_BIN_EXE_storekeep")` of the calling test.
pub fn storekeep_command(bin: &str, db: &TestDb) -> Command {
    let mut cmd = Command::new(bin);
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("STOREKEEP_") || k == "RUST_LOG") {
        cmd.env_remove(k);
    }
    cmd.env("STOREKEEP_DATABASE_URL", &db.url)
        .env("STOREKEEP_DATA_DIR", db.dir.path())
        .env("STOREKEEP_PLATFORM_TOKEN", PLATFORM_TOKEN)
        .env("STOREKEEP_LISTEN", "127.0.0.1:0")
        .env("STOREKEEP_ENCRYPTION_KEYS", crate::TEST_KEYS.0)
        .env("STOREKEEP_ENCRYPTION_BLIND_INDEX_KEY", crate::TEST_KEYS.1)
        // Scheduled backups (on by default on SQLite) only where a test
        // asks.
        .env("STOREKEEP_BACKUP_SCHEDULE", "off")
        .current_dir(db.dir.path());
    if let Some(direct) = &db.direct_url {
        cmd.env("STOREKEEP_DATABASE_DIRECT_URL", direct);
    }
    cmd
}

/// A running `storekeep serve`.
pub struct ServerProcess {
    child: Child,
    pub addr: SocketAddr,
    lines: Arc<Mutex<Vec<String>>>,
    /// The thread copying stdout into `lines`; it ends when the process's
    /// stdout closes (at exit).
    reader: Option<std::thread::JoinHandle<()>>,
    /// While set, the reader stops reading: the pipe fills, as it does
    /// when a log collector stalls.
    stalled: Arc<AtomicBool>,
}

impl ServerProcess {
    /// Spawns `cmd` (which should run `serve`) and waits until it logs that
    /// it is ready, learning the port it bound from that line.
    pub fn start(mut cmd: Command) -> Self {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawning storekeep");
        let stdout = child.stdout.take().expect("piped stdout");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel::<String>();
        let sink = lines.clone();
        let stalled = Arc::new(AtomicBool::new(false));
        let stall = stalled.clone();
        let reader = std::thread::spawn(move || {
            let mut stdout = BufReader::with_capacity(256, stdout);
            let mut line = String::new();
            loop {
                while stall.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(10));
                }
                line.clear();
                match stdout.read_line(&mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let line = line.trim_end_matches('\n').to_owned();
                        sink.lock().expect("log lock").push(line.clone());
                        let _ = tx.send(line);
                    }
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let addr = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match rx.recv_timeout(left) {
                Ok(l) => l,
                Err(_) => {
                    let _ = child.kill();
                    panic!(
                        "storekeep did not become ready; output: {:?}",
                        lines.lock().expect("log lock")
                    );
                }
            };
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line)
                && v["message"] == "storekeep is ready"
            {
                break v["address"]
                    .as_str()
                    .and_then(|a| a.parse().ok())
                    .expect("ready line carries the address");
            }
        };
        Self {
            child,
            addr,
            lines,
            reader: Some(reader),
            stalled,
        }
    }

    /// Stops (`true`) or resumes (`false`) reading the server's stdout, as
    /// a stalled or recovered log collector would.
    pub fn stall_stdout(&self, stalled: bool) {
        self.stalled.store(stalled, Ordering::SeqCst);
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM, as an orchestrator does before replacing a node.
    pub fn sigterm(&self) {
        let ok = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("running kill")
            .success();
        assert!(ok, "kill -TERM failed");
    }

    /// Kills the process with SIGKILL (`kill -9`: no drain, no flush, no
    /// destructor runs), as a crashed node or the kernel's OOM killer ends
    /// it, and reaps it. Returns the signal that ended it (9, unless it had
    /// already exited on its own, which the caller should treat as a fault).
    pub fn kill9(mut self) -> Option<i32> {
        use std::os::unix::process::ExitStatusExt;
        // `Child::kill` is SIGKILL on Unix, sent at once (no `kill` process
        // to spawn first, so the moment is the one the caller chose).
        self.child.kill().expect("sending SIGKILL");
        let status = self.child.wait().expect("reaping storekeep");
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        status.signal()
    }

    /// Waits for the process to exit, killing it after `limit`.
    pub fn wait(mut self, limit: Duration) -> ExitStatus {
        // A stalled pipe would keep the server from writing its last lines.
        self.stall_stdout(false);
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("waiting for storekeep") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("storekeep did not exit within {limit:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for the process to exit (killing it after `limit`) and
    /// returns every line it wrote to stdout, including the last ones:
    /// `logs()` right after a request may miss lines still in the pipe.
    pub fn wait_with_logs(mut self, limit: Duration) -> (ExitStatus, Vec<String>) {
        let reader = self.reader.take();
        let lines = self.lines.clone();
        let status = self.wait(limit);
        if let Some(reader) = reader {
            let _ = reader.join();
        }
        let logs = lines.lock().expect("log lock").clone();
        (status, logs)
    }

    /// Polls stdout until some line satisfies `found` (or `limit` passes)
    /// and returns every line so far: lines written before a response
    /// reach the pipe's reader a moment later.
    pub fn logs_until(&self, limit: Duration, found: impl Fn(&str) -> bool) -> Vec<String> {
        let deadline = Instant::now() + limit;
        loop {
            let logs = self.logs();
            if logs.iter().any(|l| found(l)) || Instant::now() > deadline {
                return logs;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Every stdout line so far.
    pub fn logs(&self) -> Vec<String> {
        self.lines.lock().expect("log lock").clone()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
