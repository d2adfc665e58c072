//! Logging: structured JSON lines on stdout by default, one per request
//! (written by the HTTP middleware), with `RUST_LOG` overriding the
//! configured level.
//!
//! Lines are written off the request path: a request formats its line and
//! hands it to a queue; one writer thread drains the queue and writes
//! everything waiting with one `write` call. When stdout cannot keep up
//! and the queue is full, a line is dropped rather than a request made to
//! wait — and counted: `storekeep_log_lines_dropped_total` on
//! `/api/metrics`, and a warning on stderr when the writer closes.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::thread::JoinHandle;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::config::{LogFormat, Settings};

static DROPPED: AtomicU64 = AtomicU64::new(0);

/// Log lines dropped since start because the queue was full.
pub fn dropped_lines() -> u64 {
    DROPPED.load(Ordering::Relaxed)
}

/// Installs the global subscriber. Call once, at start-up, and keep the
/// guard until the process ends: dropping it writes what is queued.
#[must_use = "dropping the guard stops the log writer"]
pub fn init(settings: &Settings) -> LogGuard {
    let (writer, guard) = QueuedStdout::start(settings.log_queue_lines);
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&settings.log_level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    let result = match settings.log_format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
    // A second init (tests) keeps the first subscriber.
    let _ = result;
    guard
}

/// For tests: captured by the test harness, idempotent.
pub fn init_for_test() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
        )
        .with_test_writer()
        .try_init();
}

/// Hands each formatted line to the writer thread.
#[derive(Clone)]
struct QueuedStdout {
    queue: SyncSender<Vec<u8>>,
}

impl QueuedStdout {
    fn start(capacity: usize) -> (Self, LogGuard) {
        let (queue, lines) = mpsc::sync_channel(capacity);
        let thread = std::thread::Builder::new()
            .name("log-writer".into())
            .spawn(move || write_lines(&lines))
            .expect("starting the log writer thread");
        let writer = Self { queue };
        let guard = LogGuard {
            writer: Some(writer.clone()),
            thread: Some(thread),
        };
        (writer, guard)
    }
}

/// Writes lines as they come, everything waiting in one call.
fn write_lines(lines: &Receiver<Vec<u8>>) {
    let stdout = std::io::stdout();
    let mut batch = Vec::with_capacity(64 * 1024);
    while let Ok(first) = lines.recv() {
        // An empty message is the guard asking to stop.
        let mut stop = first.is_empty();
        batch.extend_from_slice(&first);
        while batch.len() < 1 << 20 {
            match lines.try_recv() {
                Ok(line) if line.is_empty() => stop = true,
                Ok(line) => batch.extend_from_slice(&line),
                Err(_) => break,
            }
        }
        let mut out = stdout.lock();
        // Nowhere left to report a failed stdout; the line is lost.
        let _ = out.write_all(&batch).and_then(|()| out.flush());
        batch.clear();
        if stop {
            return;
        }
    }
}

impl<'a> MakeWriter<'a> for QueuedStdout {
    type Writer = Line<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        Line(&self.queue)
    }
}

/// One event's text (the formatter writes a whole line at once).
struct Line<'a>(&'a SyncSender<Vec<u8>>);

impl Write for Line<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        match self.0.try_send(buf.to_vec()) {
            Ok(()) | Err(TrySendError::Disconnected(_)) => {}
            Err(TrySendError::Full(_)) => {
                DROPPED.fetch_add(1, Ordering::Relaxed);
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Stops the writer thread after it has written everything queued.
pub struct LogGuard {
    writer: Option<QueuedStdout>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        if let Some(writer) = self.writer.take() {
            // Waits for room: the lines before it are written first.
            let _ = writer.queue.send(Vec::new());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        let dropped = dropped_lines();
        if dropped > 0 {
            eprintln!("storekeep: {dropped} log lines were dropped because stdout did not keep up");
        }
    }
}
