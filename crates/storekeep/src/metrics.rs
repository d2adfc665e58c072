//! Prometheus metrics, served at `/api/metrics` in the text exposition
//! format. Request metrics are labelled by route template (never by raw
//! path) so cardinality stays bounded.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use axum::http::{Method, StatusCode};
use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};
use storekeep_store::PoolStats;

/// Every metric the server exports.
pub struct Metrics {
    registry: Registry,
    http_requests: IntCounterVec,
    http_duration: HistogramVec,
    /// Each (method, route, status)'s counter and histogram, looked up
    /// without a lock once seen (see [`Metrics::request_done`]).
    series: ArcSwap<HashMap<u64, Vec<Series>, Fixed>>,
    series_added: Mutex<()>,
    /// Log lines the log writer could not keep up with (read from
    /// `telemetry` at scrape time).
    log_lines_dropped: IntCounter,
    pub http_in_flight: IntGauge,
    /// 1 when `/api/health/ready` would answer 200, else 0 (set at each
    /// scrape by the same probe).
    pub ready: IntGauge,
    pub connections_open: IntGauge,
    pub connections_refused: IntCounter,
    pub connections_timed_out: IntCounterVec,
    pub rate_limited: IntCounterVec,
    pub checkouts: IntCounterVec,
    pub payments: IntCounterVec,
    /// Emails by template and result (sent, rejected, failed).
    pub emails: IntCounterVec,
    cache: IntCounterVec,
    db_pool: IntGaugeVec,
    uptime: prometheus::Gauge,
    /// The job runner's runs and queue gauges.
    pub jobs: crate::jobs::metrics::JobMetrics,
    /// Outbox events handed to their destinations' jobs.
    outbox_dispatched: IntCounter,
    /// Outbound webhook attempts, by result (succeeded, failed,
    /// abandoned).
    pub webhook_deliveries: IntCounterVec,
    pub webhook_duration: Histogram,
    /// The newest good backup's creation time (Unix seconds, 0: none
    /// found), read from the destination (`backup::watch`).
    pub backup_last_success: IntGauge,
    /// This node's failed scheduled backup runs, by `stage`: `create`
    /// (no new backup; what `BackupFailing` alerts on) or `prune`.
    pub backup_failures: IntCounterVec,
    /// Scheduled backup runs this node skipped: another run was still
    /// going (on this node, or on another node of a PostgreSQL cluster).
    pub backup_skips: IntCounter,
    /// The last hour of the totals above, minute by minute (the console's
    /// charts; sampled by `metrics_history::run`).
    pub history: crate::metrics_history::History,
}

fn counter_vec(name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric")
}

fn gauge_vec(name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    IntGaugeVec::new(Opts::new(name, help), labels).expect("valid metric")
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new_custom(Some("storekeep".into()), None)
            .expect("the prefix is a valid metric name");
        let http_requests = counter_vec(
            "http_requests_total",
            "HTTP requests answered, by route and status.",
            &["method", "route", "status"],
        );
        let http_duration = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "Time from request received to response headers sent.",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                10.0,
            ]),
            &["method", "route"],
        )
        .expect("valid metric");
        let http_in_flight =
            IntGauge::new("http_requests_in_flight", "HTTP requests being served now.")
                .expect("valid metric");
        let ready = IntGauge::new(
            "ready",
            "1 when this node is ready (/api/health/ready answers 200), 0 when not; probed at each scrape.",
        )
        .expect("valid metric");
        let connections_open = IntGauge::new(
            "http_connections_open",
            "HTTP connections open now (at most http.max_connections).",
        )
        .expect("valid metric");
        let connections_refused = IntCounter::new(
            "http_connections_refused_total",
            "Connections answered 503 and closed because http.max_connections were open.",
        )
        .expect("valid metric");
        let connections_timed_out = counter_vec(
            "http_connections_timed_out_total",
            "Connections closed by the server, by what they were waiting for: headers \
                 (http.header_read_timeout_secs) or idle (http.keep_alive_idle_secs).",
            &["phase"],
        );
        for phase in ["headers", "idle"] {
            connections_timed_out.with_label_values(&[phase]);
        }
        let log_lines_dropped = IntCounter::new(
            "log_lines_dropped_total",
            "Log lines dropped because stdout did not keep up (the writer's queue was full).",
        )
        .expect("valid metric");
        let rate_limited = counter_vec(
            "rate_limited_total",
            "Requests refused by a rate limit, by tier.",
            &["tier"],
        );
        // Known label values start at zero, so the first event shows in
        // increase() and the alert rules and dashboard always find the
        // series (deploy/prometheus/rules, deploy/grafana).
        for tier in ["api", "auth", "search", "admin"] {
            rate_limited.with_label_values(&[tier]);
        }
        let cache = counter_vec(
            "cache_lookups_total",
            "Storefront read-cache lookups, by result (hit, miss).",
            &["result"],
        );
        let checkouts = counter_vec(
            "checkouts_total",
            "Checkouts, by result (created, replayed, short_of_stock, key_reused, conflict).",
            &["result"],
        );
        for result in [
            "created",
            "replayed",
            "short_of_stock",
            "key_reused",
            "conflict",
        ] {
            checkouts.with_label_values(&[result]);
        }
        let payments = counter_vec(
            "payment_webhooks_total",
            "Payment provider webhooks, by provider and result.",
            &["provider", "result"],
        );
        let emails = counter_vec(
            "emails_total",
            "Emails by template and result: sent, rejected (for good, a 5xx answer or a malformed message), failed (for now).",
            &["template", "result"],
        );
        let db_pool = gauge_vec(
            "db_pool_connections",
            "Database pool connections by state (open, idle, max).",
            &["state"],
        );
        let build_info = gauge_vec(
            "build_info",
            "Always 1; labels carry the version and git revision.",
            &["version", "revision"],
        );
        let uptime = prometheus::Gauge::new("uptime_seconds", "Seconds since the process started.")
            .expect("valid metric");
        let webhook_deliveries = counter_vec(
            "webhook_deliveries_total",
            "Outbound webhook delivery attempts, by result (succeeded, failed, abandoned).",
            &["result"],
        );
        for result in ["succeeded", "failed", "abandoned"] {
            webhook_deliveries.with_label_values(&[result]);
        }
        let webhook_duration = Histogram::with_opts(
            HistogramOpts::new(
                "webhook_delivery_duration_seconds",
                "Time from sending an outbound webhook to its answer (or failure).",
            )
            .buckets(vec![
                0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0,
            ]),
        )
        .expect("valid metric");
        let backup_last_success = IntGauge::new(
            "backup_last_success_timestamp_seconds",
            "Creation time of the newest good backup at the destination (Unix seconds; 0: none found).",
        )
        .expect("valid metric");
        let backup_failures = counter_vec(
            "backup_failures_total",
            "Scheduled backup runs that failed on this node, by stage: create (no new backup) or prune.",
            &["stage"],
        );
        for stage in ["create", "prune"] {
            backup_failures.with_label_values(&[stage]);
        }
        let backup_skips = IntCounter::new(
            "backup_skipped_runs_total",
            "Scheduled backup runs skipped on this node because another run was still going.",
        )
        .expect("valid metric");
        for c in [
            Box::new(http_requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(http_duration.clone()),
            Box::new(http_in_flight.clone()),
            Box::new(ready.clone()),
            Box::new(connections_open.clone()),
            Box::new(connections_refused.clone()),
            Box::new(connections_timed_out.clone()),
            Box::new(rate_limited.clone()),
            Box::new(log_lines_dropped.clone()),
            Box::new(cache.clone()),
            Box::new(checkouts.clone()),
            Box::new(payments.clone()),
            Box::new(emails.clone()),
            Box::new(db_pool.clone()),
            Box::new(build_info.clone()),
            Box::new(uptime.clone()),
            Box::new(webhook_deliveries.clone()),
            Box::new(webhook_duration.clone()),
            Box::new(backup_last_success.clone()),
            Box::new(backup_failures.clone()),
            Box::new(backup_skips.clone()),
        ] {
            registry.register(c).expect("metric names are unique");
        }
        let jobs = crate::jobs::metrics::JobMetrics::register(&registry);
        // Traces: spans the OTLP exporter dropped (read from `traces` at scrape).
        registry
            .register(Box::new(crate::traces::DroppedSpans::new()))
            .expect("metric names are unique");
        let outbox_dispatched = IntCounter::new(
            "outbox_events_dispatched_total",
            "Outbox events handed to their email and webhook jobs by this node.",
        )
        .expect("valid metric");
        registry
            .register(Box::new(outbox_dispatched.clone()))
            .expect("metric names are unique");
        build_info
            .with_label_values(&[crate::VERSION, crate::GIT_REVISION])
            .set(1);
        Self {
            registry,
            http_requests,
            http_duration,
            series: ArcSwap::default(),
            series_added: Mutex::new(()),
            log_lines_dropped,
            http_in_flight,
            ready,
            connections_open,
            connections_refused,
            connections_timed_out,
            rate_limited,
            checkouts,
            payments,
            emails,
            cache,
            db_pool,
            uptime,
            jobs,
            outbox_dispatched,
            webhook_deliveries,
            webhook_duration,
            backup_last_success,
            backup_failures,
            backup_skips,
            history: Default::default(),
        }
    }

    /// The request counter family (for `metrics_history`).
    pub fn http_requests_family(&self) -> &IntCounterVec {
        &self.http_requests
    }

    /// The request-duration histogram family (for `metrics_history`).
    pub fn http_duration_family(&self) -> &HistogramVec {
        &self.http_duration
    }

    /// Counts events the dispatcher handed over.
    pub fn events_dispatched(&self, n: usize) {
        self.outbox_dispatched.inc_by(n as u64);
    }

    /// Counts one answered request and records how long it took. The
    /// series of a (method, route, status) seen before is found in a
    /// snapshot map read without a lock; only a new combination takes the
    /// registry's lock, once. Routes are templates and statuses few, so
    /// the map stays small.
    pub fn request_done(&self, method: &Method, route: &str, status: StatusCode, took: Duration) {
        let key = Fixed::default().hash_one((method.as_str(), route, status.as_u16()));
        let found = self.series.load().get(&key).and_then(|all| {
            all.iter()
                .find(|s| s.is(method, route, status))
                .map(|s| (s.requests.clone(), s.duration.clone()))
        });
        let (requests, duration) =
            found.unwrap_or_else(|| self.add_series(key, method, route, status));
        requests.inc();
        duration.observe(took.as_secs_f64());
    }

    fn add_series(
        &self,
        key: u64,
        method: &Method,
        route: &str,
        status: StatusCode,
    ) -> (IntCounter, Histogram) {
        let series = Series {
            method: method.clone(),
            route: route.into(),
            status,
            requests: self.http_requests.with_label_values(&[
                method.as_str(),
                route,
                status.as_str(),
            ]),
            duration: self
                .http_duration
                .with_label_values(&[method.as_str(), route]),
        };
        let found = (series.requests.clone(), series.duration.clone());
        let _one_writer = self.series_added.lock().expect("never poisoned");
        let mut map = HashMap::clone(&self.series.load());
        let all = map.entry(key).or_default();
        if !all.iter().any(|s| s.is(method, route, status)) {
            all.push(series);
        }
        self.series.store(Arc::new(map));
        found
    }

    pub fn cache_lookup(&self, hit: bool) {
        self.cache
            .with_label_values(&[if hit { "hit" } else { "miss" }])
            .inc();
    }

    /// Renders every metric; gauges sampled at scrape time are set first.
    pub fn render(
        &self,
        pool: PoolStats,
        replica: Option<storekeep_store::replica::ReplicaStatus>,
        batches: Option<&storekeep_store::BatchCounters>,
        uptime_secs: f64,
    ) -> String {
        self.db_pool
            .with_label_values(&["open"])
            .set(i64::from(pool.size));
        self.db_pool
            .with_label_values(&["idle"])
            .set(i64::from(pool.idle));
        self.db_pool
            .with_label_values(&["max"])
            .set(i64::from(pool.max));
        self.uptime.set(uptime_secs);
        let dropped = crate::telemetry::dropped_lines();
        self.log_lines_dropped
            .inc_by(dropped.saturating_sub(self.log_lines_dropped.get()));
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .expect("encoding to memory cannot fail");
        let mut text = String::from_utf8(out).expect("the text format is UTF-8");
        if let Some(r) = replica {
            replica_text(&mut text, &r);
        }
        if let Some(b) = batches {
            batch_text(&mut text, b);
        }
        text
    }
}

/// The store's checkout batches, read from the store at each scrape.
fn batch_text(out: &mut String, b: &storekeep_store::BatchCounters) {
    use std::fmt::Write as _;
    use storekeep_store::BatchCounters as C;
    let _ = write!(
        out,
        "# HELP storekeep_checkout_batches_total Checkout batches committed (one transaction each).\n\
         # TYPE storekeep_checkout_batches_total counter\n\
         storekeep_checkout_batches_total {}\n\
         # HELP storekeep_checkout_batched_total Checkouts a batch answered (PostgreSQL: its orders; SQLite: also those it refused).\n\
         # TYPE storekeep_checkout_batched_total counter\n\
         storekeep_checkout_batched_total {}\n\
         # HELP storekeep_checkout_alone_total Checkouts a batch set aside to run in a transaction of their own.\n\
         # TYPE storekeep_checkout_alone_total counter\n\
         storekeep_checkout_alone_total {}\n\
         # HELP storekeep_checkout_batch_failures_total Checkout batches that failed and committed nothing.\n\
         # TYPE storekeep_checkout_batch_failures_total counter\n\
         storekeep_checkout_batch_failures_total {}\n\
         # HELP storekeep_cart_reads_total Carts read to price by statements that answered (PostgreSQL: before each checkout or cart view; 0 on SQLite).\n\
         # TYPE storekeep_cart_reads_total counter\n\
         storekeep_cart_reads_total {}\n\
         # HELP storekeep_cart_read_statements_total Statements that read those carts, several at once when a node reads at once (PostgreSQL; 0 on SQLite).\n\
         # TYPE storekeep_cart_read_statements_total counter\n\
         storekeep_cart_read_statements_total {}\n",
        C::get(&b.batches),
        C::get(&b.batched),
        C::get(&b.alone),
        C::get(&b.failed),
        C::get(&b.cart_reads),
        C::get(&b.cart_read_statements),
    );
}

/// The read replica's series, read from the store at each scrape (only
/// with `database.replica_url`).
fn replica_text(out: &mut String, r: &storekeep_store::replica::ReplicaStatus) {
    use std::fmt::Write as _;
    let lag = r.lag.map_or(f64::NAN, |l| l.as_secs_f64());
    let _ = write!(
        out,
        "# HELP storekeep_db_replica_up 1 when the read replica answers and is still a replica (in recovery), else 0.\n\
         # TYPE storekeep_db_replica_up gauge\n\
         storekeep_db_replica_up {}\n\
         # HELP storekeep_db_replica_lag_seconds How long ago the primary stood where the replica has replayed to (0: caught up; NaN: not measured).\n\
         # TYPE storekeep_db_replica_lag_seconds gauge\n\
         storekeep_db_replica_lag_seconds {lag}\n\
         # HELP storekeep_db_replica_max_lag_seconds database.replica_max_lag_ms: past it catalog reads go to the primary.\n\
         # TYPE storekeep_db_replica_max_lag_seconds gauge\n\
         storekeep_db_replica_max_lag_seconds {}\n\
         # HELP storekeep_db_reads_total Catalog reads that may use the replica, by where they were served.\n\
         # TYPE storekeep_db_reads_total counter\n\
         storekeep_db_reads_total{{target=\"replica\"}} {}\n\
         storekeep_db_reads_total{{target=\"primary\"}} {}\n\
         # HELP storekeep_db_replica_fallbacks_total Replica reads that failed and were served again by the primary.\n\
         # TYPE storekeep_db_replica_fallbacks_total counter\n\
         storekeep_db_replica_fallbacks_total {}\n",
        u8::from(r.up),
        r.max_lag.as_secs_f64(),
        r.reads_replica,
        r.reads_primary,
        r.fallbacks,
    );
}

/// A hasher with fixed keys: the series map's keys are built from route
/// templates and status codes the server chose, never from client input.
type Fixed = BuildHasherDefault<DefaultHasher>;

#[derive(Clone)]
struct Series {
    method: Method,
    route: Box<str>,
    status: StatusCode,
    requests: IntCounter,
    duration: Histogram,
}

impl Series {
    fn is(&self, method: &Method, route: &str, status: StatusCode) -> bool {
        self.status == status && self.method == method && &*self.route == route
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
