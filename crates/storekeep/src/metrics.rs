//! Prometheus metrics, served at `/api/metrics` in the text exposition
//! format. Request metrics are labelled by route template (never by raw
//! path) so cardinality stays bounded.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};
use storekeep_store::PoolStats;

/// Every metric the server exports.
pub struct Metrics {
    registry: Registry,
    pub http_requests: IntCounterVec,
    pub http_duration: HistogramVec,
    pub http_in_flight: IntGauge,
    pub connections_open: IntGauge,
    pub connections_refused: IntCounter,
    pub connections_timed_out: IntCounterVec,
    pub rate_limited: IntCounterVec,
    pub checkouts: IntCounterVec,
    pub payments: IntCounterVec,
    cache: IntCounterVec,
    db_pool: IntGaugeVec,
    uptime: prometheus::Gauge,
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
        let rate_limited = counter_vec(
            "rate_limited_total",
            "Requests refused by a rate limit, by tier.",
            &["tier"],
        );
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
        let payments = counter_vec(
            "payment_webhooks_total",
            "Payment provider webhooks, by provider and result.",
            &["provider", "result"],
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
        for c in [
            Box::new(http_requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(http_duration.clone()),
            Box::new(http_in_flight.clone()),
            Box::new(connections_open.clone()),
            Box::new(connections_refused.clone()),
            Box::new(connections_timed_out.clone()),
            Box::new(rate_limited.clone()),
            Box::new(cache.clone()),
            Box::new(checkouts.clone()),
            Box::new(payments.clone()),
            Box::new(db_pool.clone()),
            Box::new(build_info.clone()),
            Box::new(uptime.clone()),
        ] {
            registry.register(c).expect("metric names are unique");
        }
        build_info
            .with_label_values(&[crate::VERSION, crate::GIT_REVISION])
            .set(1);
        Self {
            registry,
            http_requests,
            http_duration,
            http_in_flight,
            connections_open,
            connections_refused,
            connections_timed_out,
            rate_limited,
            checkouts,
            payments,
            cache,
            db_pool,
            uptime,
        }
    }

    pub fn cache_lookup(&self, hit: bool) {
        self.cache
            .with_label_values(&[if hit { "hit" } else { "miss" }])
            .inc();
    }

    /// Renders every metric; gauges sampled at scrape time are set first.
    pub fn render(&self, pool: PoolStats, uptime_secs: f64) -> String {
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
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .expect("encoding to memory cannot fail");
        String::from_utf8(out).expect("the text format is UTF-8")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
