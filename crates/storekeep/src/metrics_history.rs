//! The last hour of this node's own metrics, minute by minute, for the
//! operators' console charts — read from the same Prometheus counters and
//! histogram `/api/metrics` exports, with no external service.
//!
//! A sampler ([`run`], started with the server) reads the cumulative
//! totals once a minute and keeps the last [`KEEP`] samples; a minute's
//! figures are the difference of two samples, and the minute in progress
//! is the live totals minus the last sample. p99 latency is estimated from
//! the histogram's buckets as Prometheus's `histogram_quantile` does (the
//! upper bound of the bucket the 99th percentile falls in, interpolated
//! linearly inside it).

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use prometheus::core::Collector;

use crate::metrics::Metrics;

/// Samples kept: an hour of minutes and the one before it.
pub const KEEP: usize = 61;
/// How often the sampler reads the totals.
pub const EVERY: Duration = Duration::from_secs(60);

/// Cumulative totals at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Totals {
    pub requests: u64,
    /// Answers with a 5xx status.
    pub errors: u64,
    /// Cumulative counts per bucket upper bound of the request-duration
    /// histogram (all routes), the last being `+Inf`.
    pub buckets: Vec<(f64, u64)>,
    /// Orders placed (checkouts that created one).
    pub orders: u64,
}

/// One minute's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct Minute {
    /// When the minute ended (or now, for the minute in progress).
    pub at: DateTime<Utc>,
    pub requests: u64,
    pub errors: u64,
    /// The estimated 99th percentile of request durations, in milliseconds;
    /// `None` in a minute without requests.
    pub p99_ms: Option<f64>,
    pub orders: u64,
}

/// The kept samples.
#[derive(Debug, Default)]
pub struct History {
    samples: Mutex<VecDeque<(DateTime<Utc>, Totals)>>,
}

impl History {
    /// Keeps `totals` as read at `at`, dropping the oldest past [`KEEP`].
    pub fn record(&self, at: DateTime<Utc>, totals: Totals) {
        let mut s = self.samples.lock().unwrap_or_else(|p| p.into_inner());
        s.push_back((at, totals));
        while s.len() > KEEP {
            s.pop_front();
        }
    }

    /// The minutes between the kept samples, oldest first, then the minute
    /// in progress (`now`, `live`).
    pub fn minutes(&self, now: DateTime<Utc>, live: &Totals) -> Vec<Minute> {
        let s = self.samples.lock().unwrap_or_else(|p| p.into_inner());
        let mut out: Vec<Minute> = s
            .iter()
            .zip(s.iter().skip(1))
            .map(|((_, a), (at, b))| minute(*at, a, b))
            .collect();
        if let Some((_, last)) = s.back() {
            out.push(minute(now, last, live));
        }
        out
    }
}

fn minute(at: DateTime<Utc>, from: &Totals, to: &Totals) -> Minute {
    let buckets: Vec<(f64, u64)> = to
        .buckets
        .iter()
        .map(|(le, n)| {
            let before = from
                .buckets
                .iter()
                .find(|(l, _)| l == le)
                .map_or(0, |(_, c)| *c);
            (*le, n.saturating_sub(before))
        })
        .collect();
    Minute {
        at,
        requests: to.requests.saturating_sub(from.requests),
        errors: to.errors.saturating_sub(from.errors),
        p99_ms: quantile(0.99, &buckets).map(|s| s * 1000.0),
        orders: to.orders.saturating_sub(from.orders),
    }
}

/// `histogram_quantile(q, …)` over cumulative `buckets` (upper bound,
/// count), the last `+Inf`: the bucket the rank falls in, interpolated
/// linearly between its bounds; in the `+Inf` bucket, the highest finite
/// bound. `None` without observations.
pub fn quantile(q: f64, buckets: &[(f64, u64)]) -> Option<f64> {
    let total = buckets.last()?.1;
    if total == 0 {
        return None;
    }
    let rank = q * total as f64;
    let mut lower = (0.0, 0u64);
    for &(le, count) in buckets {
        if count as f64 >= rank {
            if le.is_infinite() {
                return Some(lower.0);
            }
            let in_bucket = (count - lower.1) as f64;
            if in_bucket == 0.0 {
                return Some(le);
            }
            return Some(lower.0 + (le - lower.0) * (rank - lower.1 as f64) / in_bucket);
        }
        lower = (le, count);
    }
    Some(lower.0)
}

/// The totals now, from the exported metrics.
pub fn totals(metrics: &Metrics) -> Totals {
    let mut t = Totals::default();
    for family in metrics.http_requests_family().collect() {
        for m in family.get_metric() {
            let n = m.get_counter().get_value() as u64;
            t.requests += n;
            let server_error = m
                .get_label()
                .iter()
                .any(|l| l.name() == "status" && l.value().starts_with('5'));
            if server_error {
                t.errors += n;
            }
        }
    }
    for family in metrics.http_duration_family().collect() {
        for m in family.get_metric() {
            let h = m.get_histogram();
            let mut add = |le: f64, n: u64| match t.buckets.iter_mut().find(|(l, _)| *l == le) {
                Some((_, c)) => *c += n,
                None => t.buckets.push((le, n)),
            };
            for b in h.get_bucket() {
                add(b.upper_bound(), b.cumulative_count());
            }
            add(f64::INFINITY, h.get_sample_count());
        }
    }
    t.buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    t.orders = metrics.checkouts.with_label_values(&["created"]).get();
    t
}

/// The sampler: one sample now, then one a minute until `stop` turns true.
pub async fn run(metrics: std::sync::Arc<Metrics>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => metrics.history.record(Utc::now(), totals(&metrics)),
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quantile_is_prometheus_histogram_quantile() {
        assert_eq!(quantile(0.99, &[(0.1, 0), (f64::INFINITY, 0)]), None);
        // 100 observations, all in (0.01, 0.025]: p99 at 99 % of the way.
        let b = [(0.01, 0), (0.025, 100), (f64::INFINITY, 100)];
        let q = quantile(0.99, &b).unwrap();
        assert!((q - (0.01 + 0.015 * 0.99)).abs() < 1e-9, "{q}");
        // The rank past the last finite bound: that bound.
        let b = [(0.01, 50), (0.025, 60), (f64::INFINITY, 100)];
        assert_eq!(quantile(0.99, &b), Some(0.025));
    }

    #[test]
    fn a_minute_is_the_difference_of_two_samples_and_the_last_is_in_progress() {
        let h = History::default();
        let t0 = Utc::now() - chrono::Duration::minutes(2);
        let a = Totals {
            requests: 10,
            errors: 1,
            buckets: vec![(0.01, 10), (f64::INFINITY, 10)],
            orders: 2,
        };
        let b = Totals {
            requests: 30,
            errors: 1,
            buckets: vec![(0.01, 25), (f64::INFINITY, 30)],
            orders: 5,
        };
        h.record(t0, a.clone());
        h.record(t0 + chrono::Duration::minutes(1), b.clone());
        let live = Totals {
            requests: 31,
            ..b.clone()
        };
        let m = h.minutes(Utc::now(), &live);
        assert_eq!(m.len(), 2);
        assert_eq!((m[0].requests, m[0].errors, m[0].orders), (20, 0, 3));
        assert_eq!(
            m[0].p99_ms,
            Some(10.0),
            "5 of 20 past the last finite bound"
        );
        assert_eq!(m[1].requests, 1);
        for i in 0..KEEP + 5 {
            h.record(t0 + chrono::Duration::minutes(i as i64), b.clone());
        }
        assert_eq!(h.minutes(Utc::now(), &b).len(), KEEP);
    }
}
