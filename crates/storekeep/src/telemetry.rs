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
//!
//! The one line per request is the hottest log line by far. In the JSON
//! format it is written by [`access`] straight into the same queue, in the
//! very shape `tracing`'s JSON formatter gives every other line (so log
//! pipelines see one format), without going through the formatter's
//! field visitors: on the live probe the formatter was a fifth of the
//! server's CPU time. The level filter still applies to it (target
//! `storekeep::http`, level INFO).

use std::cell::RefCell;
use std::io::Write;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::config::{LogFormat, Settings};

static DROPPED: AtomicU64 = AtomicU64::new(0);

/// The queue request lines go to directly (JSON format only).
static ACCESS: OnceLock<QueuedStdout> = OnceLock::new();

/// How long the writer naps after writing, so that under load it writes
/// many lines per call and senders seldom have to wake it.
const WRITER_NAP: Duration = Duration::from_millis(2);

/// Log lines dropped since start because the queue was full.
pub fn dropped_lines() -> u64 {
    DROPPED.load(Ordering::Relaxed)
}

/// Installs the global subscriber. Call once, at start-up, and keep the
/// guard until the process ends: dropping it writes what is queued.
#[must_use = "dropping the guard stops the log writer"]
pub fn init(settings: &Settings) -> LogGuard {
    let (writer, guard) = QueuedStdout::start(settings.log_queue_lines);
    if settings.log_format == LogFormat::Json {
        let _ = ACCESS.set(writer.clone());
    }
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
        drop(out);
        batch.clear();
        if stop {
            return;
        }
        std::thread::sleep(WRITER_NAP);
    }
}

impl QueuedStdout {
    fn send(&self, line: Vec<u8>) {
        match self.queue.try_send(line) {
            Ok(()) | Err(TrySendError::Disconnected(_)) => {}
            Err(TrySendError::Full(_)) => {
                DROPPED.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// The facts of one answered request, for its log line.
pub struct AccessLine<'a> {
    pub request_id: &'a str,
    pub tenant: &'a str,
    pub method: &'a str,
    pub route: &'a str,
    pub status: u16,
    pub latency_ms: f64,
    /// The request span's trace id, when tracing is on.
    pub trace_id: Option<opentelemetry::trace::TraceId>,
}

/// Logs one answered request (target `storekeep::http`, level INFO).
pub fn access(line: &AccessLine<'_>) {
    if !tracing::enabled!(target: "storekeep::http", tracing::Level::INFO) {
        return;
    }
    let Some(queue) = ACCESS.get() else {
        tracing::info!(
            target: "storekeep::http",
            request_id = line.request_id, tenant = line.tenant, method = line.method,
            route = line.route, status = line.status, latency_ms = line.latency_ms,
            trace_id = line.trace_id.map(tracing::field::display), "request"
        );
        return;
    };
    queue.send(access_json(line, SystemTime::now()));
}

/// The line as `tracing`'s JSON formatter writes it (flattened fields,
/// RFC 3339 time in microseconds, `target` last).
fn access_json(line: &AccessLine<'_>, now: SystemTime) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"{\"timestamp\":\"");
    timestamp(now, &mut out);
    out.extend_from_slice(b"\",\"level\":\"INFO\",\"message\":\"request\"");
    for (name, value) in [
        ("request_id", line.request_id),
        ("tenant", line.tenant),
        ("method", line.method),
        ("route", line.route),
    ] {
        out.extend_from_slice(b",\"");
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"\":");
        // Strings are escaped as JSON; writing to a Vec cannot fail.
        let _ = serde_json::to_writer(&mut out, value);
    }
    out.extend_from_slice(b",\"status\":");
    let _ = serde_json::to_writer(&mut out, &line.status);
    out.extend_from_slice(b",\"latency_ms\":");
    let _ = serde_json::to_writer(&mut out, &line.latency_ms);
    if let Some(trace_id) = line.trace_id {
        let _ = write!(out, ",\"trace_id\":\"{trace_id}\"");
    }
    out.extend_from_slice(b",\"target\":\"storekeep::http\"}\n");
    out
}

/// `2026-11-21T22:22:58.117243Z`: the date and time to the second are
/// formatted once a second per thread, the microseconds every time.
fn timestamp(now: SystemTime, out: &mut Vec<u8>) {
    thread_local! {
        static SECOND: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
    }
    let since = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    SECOND.with_borrow_mut(|(second, text)| {
        if *second != since.as_secs() {
            *second = since.as_secs();
            let at = chrono::DateTime::<chrono::Utc>::from(now);
            *text = at.format("%Y-%m-%dT%H:%M:%S").to_string();
        }
        out.extend_from_slice(text.as_bytes());
    });
    let micros = since.subsec_micros();
    let _ = write!(out, ".{micros:06}Z");
}

impl<'a> MakeWriter<'a> for QueuedStdout {
    type Writer = Line<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        Line(self)
    }
}

/// One event's text (the formatter writes a whole line at once).
struct Line<'a>(&'a QueuedStdout);

impl Write for Line<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if !buf.is_empty() {
            self.0.send(buf.to_vec());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_line_has_the_formatters_shape() {
        let line = AccessLine {
            request_id: "abc-1",
            tenant: "demo",
            method: "GET",
            route: "/api/v1/store/products/{id}",
            status: 200,
            latency_ms: 0.25,
            trace_id: None,
        };
        let at = SystemTime::UNIX_EPOCH + Duration::from_micros(1_795_000_000_000_042);
        let text = String::from_utf8(access_json(&line, at)).unwrap();
        assert_eq!(
            text,
            "{\"timestamp\":\"2026-11-18T11:06:40.000042Z\",\"level\":\"INFO\",\"message\":\"request\",\
             \"request_id\":\"abc-1\",\"tenant\":\"demo\",\"method\":\"GET\",\
             \"route\":\"/api/v1/store/products/{id}\",\"status\":200,\"latency_ms\":0.25,\
             \"target\":\"storekeep::http\"}\n"
        );
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed["status"], 200);
    }
}
