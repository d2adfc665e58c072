//! Everything that wraps a request from the outside: the request id, the
//! rendering of problem responses, metrics, and one log line per request.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

use storekeep_domain::Tenant;

use crate::app::AppState;
use crate::http::error::{ErrorCause, PendingProblem};
use crate::wire::problem::Problem;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Per-request facts that inner layers fill in for the log line.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub request_id: Arc<str>,
    /// The client's address: the peer, or — behind a trusted proxy — the
    /// nearest untrusted address in `X-Forwarded-For`.
    pub client_ip: Option<std::net::IpAddr>,
    /// Whether the client reached us over HTTPS (said by a trusted proxy).
    pub https: bool,
    learned: Arc<Learned>,
}

/// What inner layers learn about a request, for its log line and metrics.
#[derive(Debug, Default)]
struct Learned {
    tenant: OnceLock<Arc<Tenant>>,
    /// The matched route template (`/api/v1/platform/tenants/{slug}`).
    route: OnceLock<MatchedPath>,
}

impl RequestContext {
    pub fn set_tenant(&self, tenant: &Arc<Tenant>) {
        let _ = self.learned.tenant.set(Arc::clone(tenant));
    }
}

/// Runs inside routing (a `MapRequest` route layer: no boxing, no clone
/// of the route), where `MatchedPath` is known, and notes it for `observe`.
pub fn record_route(req: Request) -> Request {
    if let (Some(ctx), Some(route)) = (
        req.extensions().get::<RequestContext>(),
        req.extensions().get::<MatchedPath>(),
    ) {
        let _ = ctx.learned.route.set(route.clone());
    }
    req
}

/// A client's request id is kept if it is short printable ASCII; otherwise
/// a new one is made, so logs can never be polluted through this header.
fn request_id(req: &Request) -> Arc<str> {
    req.headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 128
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.:/+=".contains(&b))
        })
        .map_or_else(fresh_request_id, Arc::from)
}

/// A new UUIDv7 request id: the wall clock (read without a system call)
/// and 74 random bits from the thread's own generator, so making one
/// takes neither a `getrandom` call nor the process-wide lock
/// `Uuid::now_v7` takes to keep ids strictly ordered — request ids only
/// need to be unique and roughly time-ordered.
fn fresh_request_id() -> Arc<str> {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let id = uuid::Builder::from_unix_timestamp_millis(millis, &rand::random()).into_uuid();
    Arc::from(
        &*id.hyphenated()
            .encode_lower(&mut uuid::Uuid::encode_buffer()),
    )
}

/// Decrements the in-flight gauge even when the client goes away and the
/// request future is dropped.
struct InFlight<'a>(&'a prometheus::IntGauge);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}

pub async fn observe(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let start = Instant::now();
    let id = request_id(&req);
    let (client_ip, https) = client_origin(&req, &state.services.settings.trusted_proxies);
    let ctx = RequestContext {
        request_id: id.clone(),
        client_ip,
        https,
        learned: Arc::default(),
    };
    req.extensions_mut().insert(ctx.clone());
    let method = req.method().clone();

    // Tracing off: one atomic load, nothing else.
    let trace = crate::traces::tracer()
        .map(|t| crate::traces::start_request(t, req.headers(), method.as_str(), &id));

    state.services.metrics.http_in_flight.inc();
    let guard = InFlight(&state.services.metrics.http_in_flight);
    let inner = super::limits::run(&state, req, next);
    let mut response = match &trace {
        None => inner.await,
        Some(cx) => crate::traces::FutureExt::with_context(inner, cx.clone()).await,
    };
    drop(guard);

    render_problem(&mut response, &id);
    super::security::headers(&mut response, ctx.https);
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, v);
    }
    // A draining node closes each connection after its answer, so a load
    // balancer holds no idle kept-alive connection to it when it stops
    // accepting (one it reused then would fail a request the node never
    // read).
    if state.is_draining() {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }

    let route = ctx
        .learned
        .route
        .get()
        .map_or("unmatched", MatchedPath::as_str);
    let status = response.status();
    let elapsed = start.elapsed();
    state
        .services
        .metrics
        .request_done(&method, route, status, elapsed);

    let tenant = ctx.learned.tenant.get().map_or("", |t| t.slug.as_str());
    let latency_ms = elapsed.as_secs_f64() * 1000.0;
    let trace_id = trace.as_ref().map(|cx| {
        end_request_span(cx, method.as_str(), route, status, tenant);
        crate::traces::trace_id(cx)
    });
    match response.extensions().get::<ErrorCause>() {
        // An outage of a dependency, not a fault of this server.
        Some(ErrorCause(cause)) if status == StatusCode::SERVICE_UNAVAILABLE => tracing::warn!(
            target: "storekeep::http",
            request_id = %id, tenant, method = %method, route, status = status.as_u16(),
            latency_ms, error = %cause, "request failed: dependency unavailable"
        ),
        Some(ErrorCause(cause)) => tracing::error!(
            target: "storekeep::http",
            request_id = %id, tenant, method = %method, route, status = status.as_u16(),
            latency_ms, error = %cause, "request failed"
        ),
        None => crate::telemetry::access(&crate::telemetry::AccessLine {
            request_id: &id,
            tenant,
            method: method.as_str(),
            route,
            status: status.as_u16(),
            latency_ms,
            trace_id,
        }),
    }
    response
}

/// Names the request's server span by its route template (never the raw
/// path, which holds ids), records the outcome and ends it.
fn end_request_span(
    cx: &opentelemetry::Context,
    method: &str,
    route: &str,
    status: StatusCode,
    tenant: &str,
) {
    use crate::traces::{KeyValue, Status};
    use opentelemetry::trace::TraceContextExt;
    let span = cx.span();
    span.update_name(format!("{method} {route}"));
    span.set_attribute(KeyValue::new("http.route", route.to_owned()));
    span.set_attribute(KeyValue::new(
        "http.response.status_code",
        i64::from(status.as_u16()),
    ));
    if !tenant.is_empty() {
        span.set_attribute(KeyValue::new("tenant", tenant.to_owned()));
    }
    if status.is_server_error() {
        span.set_status(Status::error(status.as_str().to_owned()));
    }
    span.end();
}

/// Writes the body of a pending problem, or turns a bare error response
/// from a lower layer into one, with the request id as `instance`.
fn render_problem(response: &mut Response, request_id: &str) {
    let status = response.status();
    let mut problem = match response.extensions_mut().remove::<PendingProblem>() {
        Some(PendingProblem(p)) => p,
        None if status.is_client_error() || status.is_server_error() => {
            let content_type = response
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            // Health checks answer 503 with their own JSON body; keep it.
            if content_type.starts_with("application/json")
                || content_type.starts_with("application/problem+json")
                // The storefront's error pages (`web::WebError`), marked as
                // such: any other HTML error becomes a problem.
                || response
                    .extensions()
                    .get::<crate::web::respond::StorefrontPage>()
                    .is_some()
            {
                return;
            }
            Problem::new(status, default_detail(status))
        }
        None => return,
    };
    problem.instance = request_id.to_owned();
    let body = serde_json::to_vec(&problem).expect("a problem always serialises");
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    headers.remove(header::CONTENT_LENGTH);
    *response.body_mut() = Body::from(body);
}

fn default_detail(status: StatusCode) -> &'static str {
    match status {
        StatusCode::NOT_FOUND => "there is nothing at this path",
        StatusCode::METHOD_NOT_ALLOWED => "this path does not accept that method",
        StatusCode::PAYLOAD_TOO_LARGE => "the request body is larger than this server accepts",
        StatusCode::REQUEST_TIMEOUT => "the request took too long to arrive",
        _ => "the request could not be answered",
    }
}

/// The client address and scheme. Forwarding headers are believed only
/// from a trusted proxy, and `X-Forwarded-For` is read from the right,
/// skipping trusted hops, so a client cannot pick its own address.
fn client_origin(req: &Request, trusted: &[ipnet::IpNet]) -> (Option<std::net::IpAddr>, bool) {
    let peer = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    let Some(peer) = peer else {
        return (None, false);
    };
    let is_trusted = |ip: &std::net::IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return (Some(peer), false);
    }
    let header = |name: &str| {
        req.headers()
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join(",")
    };
    let forwarded = header("x-forwarded-for");
    let client = forwarded
        .split(',')
        .rev()
        .filter_map(|a| a.trim().parse::<std::net::IpAddr>().ok())
        .find(|ip| !is_trusted(ip))
        .unwrap_or(peer);
    // The value the nearest (trusted) proxy wrote is the last one.
    let https = header("x-forwarded-proto")
        .split(',')
        .next_back()
        .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"));
    (Some(client), https)
}
