//! OpenTelemetry traces, exported over OTLP/HTTP (protobuf) when
//! `otel.endpoint` is set, and off otherwise.
//!
//! Spans: one server span per HTTP request (`observe`), one per store call
//! (`crate::db::TracedStore`, installed only when tracing is on), one per
//! job run (`jobs::runner`). An incoming W3C `traceparent` is continued.
//!
//! The OpenTelemetry API is used directly rather than through `tracing`
//! (`tracing-opentelemetry`): when tracing is off, [`tracer`] is one atomic
//! load that answers `None`, and no span, context or attribute is made —
//! the request path costs what it cost before (docs/benchmarks.md).
//!
//! Export runs on the SDK's batch thread, never on a request: finished
//! spans wait in a bounded queue (`otel.queue_spans`); past it a span is
//! dropped, and so is a batch the collector refused or did not take in
//! time. Both are counted: `storekeep_otel_spans_dropped_total`. The
//! exporter's HTTP client is the tree's own `reqwest` (blocking, on the
//! batch thread), with a 5 s timeout, so a down or slow collector delays
//! only the batch thread. Shutdown flushes what is queued, bounded.

use std::collections::HashMap;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use opentelemetry::Context;
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::{SpanKind, TraceContextExt, Tracer as _, TracerProvider as _};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, Sampler, SdkTracer, SdkTracerProvider, SpanData,
    SpanExporter, SpanProcessor,
};

use crate::config::OtelSettings;

pub use opentelemetry::trace::{Span, Status};
pub use opentelemetry::{KeyValue, trace::FutureExt};

static TRACER: OnceLock<SdkTracer> = OnceLock::new();
static DROPPED: AtomicU64 = AtomicU64::new(0);
/// Spans handed to the batch processor and not yet taken by the exporter.
static PENDING: AtomicUsize = AtomicUsize::new(0);

/// How long one export may take before its batch is dropped.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(5);

/// The tracer, when tracing is on.
#[inline]
pub fn tracer() -> Option<&'static SdkTracer> {
    TRACER.get()
}

/// Spans dropped since start: the queue was full or the collector did not
/// take them.
pub fn dropped_spans() -> u64 {
    DROPPED.load(Ordering::Relaxed)
}

/// Starts the exporter if `otel.endpoint` is set; keep the guard until the
/// server has stopped: dropping it flushes what is queued.
pub fn init(settings: &OtelSettings) -> anyhow::Result<Option<TraceGuard>> {
    let Some(endpoint) = &settings.endpoint else {
        return Ok(None);
    };
    let headers: HashMap<String, String> = settings.header_pairs().into_iter().collect();
    // reqwest's blocking client runs its own runtime thread and must not
    // be built or dropped on a runtime thread: build it on a plain thread.
    let client = std::thread::spawn(|| {
        reqwest::blocking::Client::builder()
            .timeout(EXPORT_TIMEOUT)
            .build()
    })
    .join()
    .map_err(|_| anyhow::anyhow!("building the OTLP HTTP client panicked"))?
    .context("building the OTLP HTTP client")?;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(BlockingClient(client))
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(format!("{endpoint}/v1/traces"))
        .with_timeout(EXPORT_TIMEOUT)
        .with_headers(headers)
        .build()
        .context("building the OTLP span exporter")?;
    let queue = settings.queue_spans;
    let batch = BatchSpanProcessor::builder(Counting(exporter))
        .with_batch_config(
            BatchConfigBuilder::default()
                // Room beyond our own bound, so the SDK never drops uncounted.
                .with_max_queue_size(queue * 2)
                .with_max_export_batch_size(512)
                .with_scheduled_delay(Duration::from_secs(1))
                .build(),
        )
        .build();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(Bounded {
            inner: batch,
            queue,
        })
        .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
            settings.sample_ratio,
        ))))
        .with_resource(
            Resource::builder_empty()
                .with_service_name(settings.service_name.clone())
                .with_attribute(KeyValue::new("service.version", crate::VERSION))
                .build(),
        )
        .build();
    let _ = TRACER.set(provider.tracer("storekeep"));
    Ok(Some(TraceGuard { provider }))
}

/// Flushes and stops the exporter when dropped (bounded by the export
/// timeout), off the async runtime's worker.
pub struct TraceGuard {
    provider: SdkTracerProvider,
}

impl TraceGuard {
    /// Exports what is queued and stops the batch thread.
    pub fn shutdown(self) {
        let provider = self.provider.clone();
        drop(self);
        let _ = std::thread::spawn(move || {
            let _ = provider.shutdown_with_timeout(EXPORT_TIMEOUT + Duration::from_secs(1));
        })
        .join();
    }
}

/// Reads the W3C `traceparent`/`tracestate` of a request.
struct Headers<'a>(&'a axum::http::HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(axum::http::HeaderName::as_str).collect()
    }
}

/// The server span of a request (named by its method until the route is
/// known), continuing the caller's trace if it sent a valid `traceparent`.
pub fn start_request(
    tracer: &SdkTracer,
    headers: &axum::http::HeaderMap,
    method: &str,
    request_id: &str,
) -> Context {
    let parent = if headers.contains_key("traceparent") {
        TraceContextPropagator::new().extract(&Headers(headers))
    } else {
        Context::new()
    };
    let span = tracer
        .span_builder(method.to_owned())
        .with_kind(SpanKind::Server)
        .with_attributes([
            KeyValue::new("http.request.method", method.to_owned()),
            KeyValue::new("request_id", request_id.to_owned()),
        ])
        .start_with_context(tracer, &parent);
    parent.with_span(span)
}

/// The span of one job run (a root span: the enqueuing request's trace
/// is not carried in the job).
pub fn start_job(tracer: &SdkTracer, job: &storekeep_domain::Job) -> Context {
    let span = tracer
        .span_builder(format!("job {}", job.kind))
        .with_kind(SpanKind::Consumer)
        .with_attributes([
            KeyValue::new("job.kind", job.kind.clone()),
            KeyValue::new("job.queue", job.queue.clone()),
            KeyValue::new("job.attempt", i64::from(job.attempt)),
            KeyValue::new("job.id", job.id.to_string()),
        ])
        .start_with_context(tracer, &Context::new());
    Context::new().with_span(span)
}

/// Records a job run's outcome (`completed`, `retried`, `dead`,
/// `snoozed`, `lease_lost`, `unsaved`) and ends its span.
pub fn end_job(cx: &Context, outcome: &'static str) {
    let span = cx.span();
    span.set_attribute(KeyValue::new("job.outcome", outcome));
    if matches!(outcome, "dead" | "retried" | "unsaved") {
        span.set_status(Status::error(outcome));
    }
    span.end();
}

/// A client span for one store call, child of the current span (none
/// outside a request or job: store calls alone would be noise).
pub fn start_store_call(tracer: &SdkTracer, operation: &'static str) -> Option<Context> {
    let cx = Context::current();
    if !cx.has_active_span() {
        return None;
    }
    let span = tracer
        .span_builder(operation)
        .with_kind(SpanKind::Client)
        .with_attributes([
            KeyValue::new("db.operation.name", operation),
            KeyValue::new("code.namespace", "storekeep_store::Store"),
        ])
        .start_with_context(tracer, &cx);
    Some(cx.with_span(span))
}

/// Runs one store call in its span (see `crate::traced_store`); an error
/// marks the span failed with the error's text.
pub async fn store_call<T>(
    operation: &'static str,
    call: impl std::future::Future<Output = storekeep_store::StoreResult<T>> + Send,
) -> storekeep_store::StoreResult<T> {
    let Some(cx) = tracer().and_then(|t| start_store_call(t, operation)) else {
        return call.await;
    };
    let result = FutureExt::with_context(call, cx.clone()).await;
    let span = cx.span();
    if let Err(e) = &result {
        span.set_status(Status::error(e.to_string()));
    }
    span.end();
    result
}

/// [`store_call`] for a call that cannot fail.
pub async fn store_call_plain<T>(
    operation: &'static str,
    call: impl std::future::Future<Output = T> + Send,
) -> T {
    let Some(cx) = tracer().and_then(|t| start_store_call(t, operation)) else {
        return call.await;
    };
    let out = FutureExt::with_context(call, cx.clone()).await;
    cx.span().end();
    out
}

/// Counts spans in flight to the batch processor and drops (and counts)
/// those beyond `queue`, so a down collector never grows memory and every
/// lost span shows in the metric.
#[derive(Debug)]
struct Bounded {
    inner: BatchSpanProcessor,
    queue: usize,
}

impl SpanProcessor for Bounded {
    fn on_start(&self, span: &mut opentelemetry_sdk::trace::Span, cx: &Context) {
        self.inner.on_start(span, cx);
    }

    fn on_end(&self, span: SpanData) {
        if PENDING.fetch_add(1, Ordering::Relaxed) >= self.queue {
            PENDING.fetch_sub(1, Ordering::Relaxed);
            DROPPED.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.inner.on_end(span);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// Counts the spans of a batch the collector did not take.
#[derive(Debug)]
struct Counting<E>(E);

impl<E: SpanExporter> SpanExporter for Counting<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let n = batch.len();
        let _ = PENDING.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |p| {
            Some(p.saturating_sub(n))
        });
        let result = self.0.export(batch).await;
        if result.is_err() {
            DROPPED.fetch_add(n as u64, Ordering::Relaxed);
        }
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.0.set_resource(resource);
    }
}

/// The exporter's HTTP client: the tree's `reqwest`, blocking (the SDK's
/// batch thread is not a Tokio runtime).
#[derive(Debug)]
struct BlockingClient(reqwest::blocking::Client);

#[async_trait::async_trait]
impl opentelemetry_http::HttpClient for BlockingClient {
    async fn send_bytes(
        &self,
        request: axum::http::Request<bytes::Bytes>,
    ) -> Result<axum::http::Response<bytes::Bytes>, opentelemetry_http::HttpError> {
        let (parts, body) = request.into_parts();
        let mut req = self.0.request(parts.method, parts.uri.to_string());
        for (name, value) in &parts.headers {
            req = req.header(name, value);
        }
        let response = req.body(body.to_vec()).send()?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes()?;
        let mut out = axum::http::Response::builder().status(status);
        if let Some(h) = out.headers_mut() {
            *h = headers;
        }
        Ok(out.body(body)?)
    }
}

/// The trace id of the current request's span, for its log line.
pub fn trace_id(cx: &Context) -> opentelemetry::trace::TraceId {
    cx.span().span_context().trace_id()
}

/// `storekeep_otel_spans_dropped_total`, read from [`dropped_spans`] when
/// `/api/metrics` is scraped.
pub struct DroppedSpans {
    counter: prometheus::IntCounter,
}

impl DroppedSpans {
    pub fn new() -> Self {
        Self {
            counter: prometheus::IntCounter::new(
                "otel_spans_dropped_total",
                "Trace spans dropped: the export queue was full or the collector did not take them.",
            )
            .expect("valid metric"),
        }
    }
}

impl Default for DroppedSpans {
    fn default() -> Self {
        Self::new()
    }
}

impl prometheus::core::Collector for DroppedSpans {
    fn desc(&self) -> Vec<&prometheus::core::Desc> {
        self.counter.desc()
    }

    fn collect(&self) -> Vec<prometheus::proto::MetricFamily> {
        let dropped = dropped_spans();
        self.counter
            .inc_by(dropped.saturating_sub(self.counter.get()));
        self.counter.collect()
    }
}
