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
            loop {
                let deadline = tracker.deadline();
                tokio::select! {
                    _ = conn.as_mut() => break,
                    () = tracker.changed.notified() => {}
                    () = sleep_until(deadline) => {
                        if let Some(phase) = tracker.expired(Instant::now()) {
                            metrics.connections_timed_out.with_label_values(&[phase]).inc();
                            break;
                        }
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

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Errors of one connection (reset before accept) are skipped; anything
/// else, such as running out of descriptors, is logged and waited out.
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
    /// Waiting for a request's headers (or its first byte, on a new connection).
    Headers { until: Instant },
    /// Answering `requests` requests.
    Serving { requests: usize },
    /// Kept alive between requests, no byte of the next one yet.
    Idle { until: Instant },
}

struct Tracker {
    phase: Mutex<Phase>,
    changed: Notify,
    limits: Limits,
}

impl Tracker {
    fn new(limits: Limits) -> Self {
        Self {
            phase: Mutex::new(Phase::Headers {
                until: Instant::now() + limits.header_read_timeout,
            }),
            changed: Notify::new(),
            limits,
        }
    }

    fn set(&self, phase: Phase) {
        *self.phase.lock().expect("never poisoned") = phase;
        self.changed.notify_one();
    }

    fn get(&self) -> Phase {
        *self.phase.lock().expect("never poisoned")
    }

    /// Bytes arrived: on an idle connection, the next request has begun.
    fn bytes_read(&self) {
        if let Phase::Idle { .. } = self.get() {
            self.set(Phase::Headers {
                until: Instant::now() + self.limits.header_read_timeout,
            });
        }
    }

    fn request_started(self: &Arc<Self>) -> Busy {
        let requests = match self.get() {
            Phase::Serving { requests } => requests + 1,
            _ => 1,
        };
        self.set(Phase::Serving { requests });
        Busy(Arc::clone(self))
    }

    fn request_finished(&self) {
        let next = match self.get() {
            Phase::Serving { requests } if requests > 1 => Phase::Serving {
                requests: requests - 1,
            },
            _ => Phase::Idle {
                until: Instant::now() + self.limits.keep_alive_idle,
            },
        };
        self.set(next);
    }

    fn deadline(&self) -> Option<Instant> {
        match self.get() {
            Phase::Headers { until } | Phase::Idle { until } => Some(until),
            Phase::Serving { .. } => None,
        }
    }

    /// The metric label of the deadline missed at `now`, if one was.
    fn expired(&self, now: Instant) -> Option<&'static str> {
        match self.get() {
            Phase::Headers { until } if now >= until => Some("headers"),
            Phase::Idle { until } if now >= until => Some("idle"),
            _ => None,
        }
    }
}

/// A request being answered; dropped when its response body is done.
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
