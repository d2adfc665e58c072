//! The job runner's Prometheus metrics: runs by kind and result, run
//! durations, per-queue gauges refreshed from the store's figures on an
//! interval (never per scrape), and the workers each of this node's queues
//! may use now, set by the queue's loop.

use std::time::Duration;

use chrono::{DateTime, Utc};
use prometheus::{
    HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
};
use storekeep_domain::QueueStats;

pub struct JobMetrics {
    runs: IntCounterVec,
    duration: HistogramVec,
    ready: IntGaugeVec,
    oldest: IntGaugeVec,
    dead: IntGaugeVec,
    workers: IntGaugeVec,
}

impl JobMetrics {
    /// The job metrics, registered in `registry`.
    pub fn register(registry: &Registry) -> Self {
        let gauge = |name: &str, help: &str| {
            IntGaugeVec::new(Opts::new(name, help), &["queue"]).expect("valid metric")
        };
        let runs = IntCounterVec::new(
            Opts::new(
                "jobs_runs_total",
                "Job attempts finished, by kind and result (completed, retried, dead; snoozed: put back unrun, not an attempt).",
            ),
            &["kind", "result"],
        )
        .expect("valid metric");
        let duration = HistogramVec::new(
            HistogramOpts::new("job_run_duration_seconds", "Time a job's handler ran.").buckets(
                vec![0.001, 0.005, 0.025, 0.1, 0.25, 1.0, 2.5, 10.0, 30.0, 120.0],
            ),
            &["kind"],
        )
        .expect("valid metric");
        let ready = gauge(
            "jobs_ready",
            "Jobs due now and waiting for a worker, by queue.",
        );
        let oldest = gauge(
            "jobs_oldest_ready_seconds",
            "How long the oldest due job of a queue has waited.",
        );
        let dead = gauge("jobs_dead", "Dead-lettered jobs, by queue.");
        let workers = gauge(
            "jobs_workers_allowed",
            "Workers a queue of this node may start jobs on now: its concurrency, or a quarter of it while the node gives way to requests (jobs.give_way_at).",
        );
        for c in [
            Box::new(runs.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(duration.clone()),
            Box::new(ready.clone()),
            Box::new(oldest.clone()),
            Box::new(dead.clone()),
            Box::new(workers.clone()),
        ] {
            registry.register(c).expect("metric names are unique");
        }
        Self {
            runs,
            duration,
            ready,
            oldest,
            dead,
            workers,
        }
    }

    /// The gauge of how many workers `queue` may start jobs on now.
    pub fn workers(&self, queue: &str) -> IntGauge {
        self.workers.with_label_values(&[queue])
    }

    /// Counts one finished attempt of `kind`.
    pub fn run(&self, kind: &str, result: &str, took: Duration) {
        self.runs.with_label_values(&[kind, result]).inc();
        self.duration
            .with_label_values(&[kind])
            .observe(took.as_secs_f64());
    }

    /// Sets the queue gauges from `stats` read at `at`; `queues` this node
    /// works that have no open job read zero.
    pub fn queues(&self, queues: &[(String, usize)], stats: &[QueueStats], at: DateTime<Utc>) {
        for (q, _) in queues {
            for g in [&self.ready, &self.oldest, &self.dead] {
                g.with_label_values(&[q.as_str()]).set(0);
            }
        }
        for s in stats {
            let q = s.queue.as_str();
            self.ready.with_label_values(&[q]).set(s.ready);
            self.dead.with_label_values(&[q]).set(s.dead);
            let age = s
                .oldest_ready_at
                .map_or(0, |t| (at - t).num_seconds().max(0));
            self.oldest.with_label_values(&[q]).set(age);
        }
    }
}
