//! Health, readiness and the operator's detailed status.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// The state of one dependency.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Check {
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Readiness {
    /// `ready`, `not_ready` or `draining`.
    pub status: &'static str,
    pub database: Check,
    pub migrations: Check,
    /// Redis (`redis.url`), when configured. The node stays ready while it
    /// is down: rate limits fall back to per-node memory and the read
    /// cache is bypassed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redis: Option<Check>,
    /// The image store (local folder or S3 bucket). The node stays ready
    /// while it is down: only image uploads and reads through the server
    /// fail (503).
    pub media: Check,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Liveness {
    pub status: &'static str,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Summary {
    /// `ok`, `degraded` or `draining`.
    pub status: &'static str,
    pub version: &'static str,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DatabaseDetail {
    pub kind: &'static str,
    pub ok: bool,
    pub latency_ms: f64,
    pub migrations_known: usize,
    pub migrations_applied: usize,
    pub pool_open: u32,
    pub pool_idle: u32,
    pub pool_max: u32,
}

/// The backups section of `/api/health/detailed`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BackupHealth {
    /// Where backups go: a folder or `s3://BUCKET/PREFIX`.
    pub destination: String,
    /// Seconds between scheduled backups; `null`: not scheduled by
    /// storekeep (`backup.schedule`).
    pub schedule_seconds: Option<u64>,
    /// The newest good backup's id and creation time (`null`: none found).
    pub last_success_id: Option<String>,
    pub last_success_at: Option<DateTime<Utc>>,
    /// Seconds since then.
    pub age_seconds: Option<i64>,
    /// This node's failed scheduled runs since it started.
    pub failures: u64,
    /// This node's last failure (of a scheduled run, or of reading the
    /// destination), and when.
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Detailed {
    pub status: &'static str,
    pub version: &'static str,
    pub git_revision: &'static str,
    pub uptime_seconds: u64,
    pub draining: bool,
    pub database: DatabaseDetail,
    /// Redis, when configured (as in readiness).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redis: Option<Check>,
    /// The image store (as in readiness).
    pub media: Check,
    /// `memory`, `redis`, or `memory (redis unavailable)`.
    pub rate_limiter: &'static str,
    /// `memory`, `redis`, `redis (unavailable: bypassed)` or `off`.
    pub read_cache: &'static str,
    /// `local` or `s3`.
    pub media_store: &'static str,
    /// Per queue, the job runner's latest figures (read every 10 s);
    /// absent when the runner is off on this node (`jobs.enabled`) or has
    /// not read them yet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jobs: Option<Vec<storekeep_domain::QueueStats>>,
    /// The last good backup (read from the destination, so the same on
    /// every node) and this node's backup failures.
    pub backups: BackupHealth,
}
