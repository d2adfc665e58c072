//! The HTTP/1.1 server: an accept loop over hyper that bounds what one
//! client can hold, and drains gracefully on shutdown.
//!
//! `axum::serve` has no header timeout and no connection cap, so a client
//! that sends half a request and waits, many times over, keeps every
//! connection — and eventually every file descriptor. Here:
//! - at most `http.max_connections` are open; past that a new connection is
//!   answered `503` (with `Retry-After`) and closed at once, so the process
//!   never runs out of descriptors for its database and files, the kernel's
//!   accept queue never fills with connections nobody serves, and every
//!   client — a health probe too — learns at once rather than hanging until
//!   its own timeout;
//! - a connection waiting for a request's headers (from accept, or from the
//!   first byte of the next request on a kept-alive connection) is closed
//!   after `http.header_read_timeout_secs`;
//! - a kept-alive connection with no request is closed after
//!   `http.keep_alive_idle_secs`.
//!
//! hyper's own header timer is not used: it starts when hyper begins
//! waiting, so it cannot give an idle keep-alive connection longer than a
//! trickling header. A request being served has no deadline here; the
//! request timeout middleware bounds it.
//!
//! On shutdown the listener is dropped (new connections are refused by the
//! kernel), idle connections close, and requests in flight finish —
//! `hyper_util`'s `GracefulShutdown` tells when the last one is done.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::{Pin, pin};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore};
use tokio::time::Instant;
use tower::ServiceExt;

use crate::metrics::Metrics;

/// What bounds each connection.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_read_timeout: Duration,
    pub keep_alive_idle: Duration,
    pub max_connections: usize,
}

/// Serves `router` on `listener` until `stop` resolves, then stops
/// accepting and waits for the open connections to finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    metrics: Arc<Metrics>,
    stop: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let refusal = refusal_response();
    let mut stop = pin!(stop);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_error(e).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            metrics.connections_refused.inc();
            // Best effort, without waiting: the socket buffer is empty.
            let _ = stream.try_write(refusal.as_bytes());
            continue;
        };
        let _ = stream.set_nodelay(true);
        let watcher = graceful.watcher();
        let router = router.clone();
        let metrics = Arc::clone(&metrics);
        tokio::spawn(async move {
            metrics.connections_open.inc();
            let tracker = Arc::new(Tracker::new(limits));
            let io = TokioIo::new(Tracked {
                stream,
                tracker: Arc::clone(&tracker),
            });
            let service = hyper::service::service_fn({
                let tracker = Arc::clone(&tracker);
                move |req: Request<Incoming>| {
                    let busy = tracker.request_started();
                    let mut req = req.map(Body::new);
                    req.extensions_mut().insert(ConnectInfo(peer));
                    let response = router.clone().oneshot(req);
                    async move {
                        let response = response.await?;
                        Ok::<_, Infallible>(response.map(|body| Guarded { body, _busy: busy }))
                    }
                }
            });
            let conn = watcher.watch(http1::Builder::new().serve_connection(io, service));
            let mut conn = pin!(conn);
            // The watchdog sleeps until the armed instant; the tracker wakes
            // it early only when a deadline moves before that instant.
            let mut wake = tracker.armed();
            loop {
                tokio::select! {
                    _ = conn.as_mut() => break,
                    () = tracker.changed.notified() => {}
                    () = tokio::time::sleep_until(wake) => {}
                }
                match tracker.check(Instant::now()) {
                    Ok(next) => wake = next,
                    Err(phase) => {
                        metrics
                            .connections_timed_out
                            .with_label_values(&[phase])
                            .inc();
                        break;
                    }
                }
            }
            metrics.connections_open.dec();
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

async fn accept_error(e: io::Error) {
    if matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "accepting a connection failed; retrying in 1 s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// The whole answer to a connection over the cap, as an RFC 9457 problem.
fn refusal_response() -> String {
    let mut problem = crate::wire::problem::Problem::new(
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        "the server has as many open connections as it allows; retry shortly",
    );
    problem.instance = "connection-refused".into();
    let body = serde_json::to_string(&problem).expect("a problem serialises");
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/problem+json\r\n\
         retry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// Where a connection is, and until when it may stay there.
#[derive(Debug, Clone, Copy)]
enum Phase {
    Headers { until: Instant },
    Serving { requests: usize },
    Idle { until: Instant },
}

impl Phase {
    fn deadline(self) -> Option<Instant> {
        match self {
            Self::Headers { until } | Self::Idle { until } => Some(until),
            Self::Serving { .. } => None,
        }
    }
}

/// Where a connection stands, and when its watchdog next looks.
///
/// Every request moves a kept-alive connection through three phases;
/// waking the watchdog on each move would cost a task wake-up and a timer
/// per move. Instead the watchdog sleeps until `armed`, and a move wakes
/// it only when the new phase's deadline falls before that instant.
/// When it wakes and nothing has expired, it arms the current deadline
/// (or, while a request is served, simply looks again later).
struct Tracker {
    state: Mutex<State>,
    changed: Notify,
    limits: Limits,
}

#[derive(Debug, Clone, Copy)]
struct State {
    phase: Phase,
    armed: Instant,
}

/// `now + after`; a timeout too long to add (the settings take any number
/// of seconds) is a deadline that never comes.
fn deadline(after: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(after)
        .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 24 * 3600))
}

impl Tracker {
    fn new(limits: Limits) -> Self {
        let until = deadline(limits.header_read_timeout);
        Self {
            state: Mutex::new(State {
                phase: Phase::Headers { until },
                armed: until,
            }),
            changed: Notify::new(),
            limits,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("never poisoned")
    }

    /// Moves to `next(phase)`, waking the watchdog if the new deadline
    /// comes before the instant it sleeps until.
    fn update(&self, next: impl FnOnce(Phase) -> Option<Phase>) {
        let mut state = self.lock();
        let Some(phase) = next(state.phase) else {
            return;
        };
        state.phase = phase;
        let earlier = phase.deadline().filter(|d| *d < state.armed);
        if let Some(deadline) = earlier {
            state.armed = deadline;
        }
        drop(state);
        if earlier.is_some() {
            self.changed.notify_one();
        }
    }

    fn bytes_read(&self) {
        let timeout = self.limits.header_read_timeout;
        self.update(|phase| match phase {
            Phase::Idle { .. } => Some(Phase::Headers {
                until: deadline(timeout),
            }),
            _ => None,
        });
    }

    fn request_started(self: &Arc<Self>) -> Busy {
        self.update(|phase| {
            Some(Phase::Serving {
                requests: match phase {
                    Phase::Serving { requests } => requests + 1,
                    _ => 1,
                },
            })
        });
        Busy(Arc::clone(self))
    }

    fn request_finished(&self) {
        let idle = self.limits.keep_alive_idle;
        self.update(|phase| {
            Some(match phase {
                Phase::Serving { requests } if requests > 1 => Phase::Serving {
                    requests: requests - 1,
                },
                _ => Phase::Idle {
                    until: deadline(idle),
                },
            })
        });
    }

    /// The instant the watchdog sleeps until.
    fn armed(&self) -> Instant {
        self.lock().armed
    }

    /// Called by the watchdog when it wakes at `now`: the phase whose
    /// deadline passed, or the next instant to look.
    fn check(&self, now: Instant) -> Result<Instant, &'static str> {
        let mut state = self.lock();
        state.armed = match state.phase {
            Phase::Headers { until } if now >= until => return Err("headers"),
            Phase::Idle { until } if now >= until => return Err("idle"),
            Phase::Headers { until } | Phase::Idle { until } => until,
            // No deadline while serving (the request timeout bounds it):
            // look again after the shorter of the two limits.
            Phase::Serving { .. } => {
                now + self
                    .limits
                    .header_read_timeout
                    .min(self.limits.keep_alive_idle)
            }
        };
        Ok(state.armed)
    }

    #[cfg(test)]
    fn deadline(&self) -> Option<Instant> {
        self.lock().phase.deadline()
    }

    #[cfg(test)]
    fn expired(&self, now: Instant) -> Option<&'static str> {
        self.check(now).err()
    }
}

struct Busy(Arc<Tracker>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.request_finished();
    }
}

/// A response body that marks its request answered when hyper drops it.
struct Guarded {
    body: Body,
    _busy: Busy,
}

impl http_body::Body for Guarded {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// The socket, telling the tracker when bytes arrive.
struct Tracked {
    stream: TcpStream,
    tracker: Arc<Tracker>,
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.tracker.bytes_read();
        }
        polled
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            header_read_timeout: Duration::from_secs(10),
            keep_alive_idle: Duration::from_secs(75),
            max_connections: 1,
        }
    }

    #[test]
    fn a_connection_moves_through_headers_serving_and_idle() {
        let start = Instant::now();
        let t = Arc::new(Tracker::new(limits()));
        let secs = Duration::from_secs;
        let new_deadline = t.deadline().unwrap();
        assert!(new_deadline >= start + secs(10) && new_deadline < Instant::now() + secs(11));
        assert_eq!(t.expired(new_deadline), Some("headers"));
        assert_eq!(t.expired(new_deadline - secs(1)), None);

        let busy = t.request_started();
        assert_eq!(
            t.deadline(),
            None,
            "a request being served has no deadline here"
        );
        t.bytes_read();
        assert_eq!(t.deadline(), None, "bytes while serving change nothing");
        drop(busy);
        let idle_until = t.deadline().unwrap();
        assert!(
            idle_until >= start + secs(75),
            "idle, for the keep-alive limit"
        );
        assert_eq!(t.expired(idle_until - secs(1)), None);
        assert_eq!(t.expired(idle_until), Some("idle"));

        t.bytes_read();
        let header_until = t.deadline().unwrap();
        assert!(
            header_until < idle_until,
            "the first byte of the next request starts its header deadline"
        );
        assert_eq!(t.expired(header_until), Some("headers"));
    }
}
