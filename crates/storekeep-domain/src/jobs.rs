//! Background jobs: what is enqueued ([`NewJob`]), what a job row holds
//! ([`Job`]), its states ([`JobState`]) and the per-queue figures the
//! runner reports ([`QueueStats`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{JobId, TenantId};

/// Where a job is in its life. A scheduled job is `Available` with a
/// `run_at` in the future.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting to run at `run_at`.
    Available,
    /// Claimed by a worker, whose lease ends at `locked_until`.
    Running,
    /// Failed, waiting to run again at `run_at`.
    Retryable,
    /// Ran to completion.
    Completed,
    /// Failed for good (out of attempts, or a permanent error): a dead
    /// letter, kept until an operator retries or discards it.
    Dead,
    /// Given up by an operator.
    Discarded,
}

impl JobState {
    pub const ALL: [JobState; 6] = [
        Self::Available,
        Self::Running,
        Self::Retryable,
        Self::Completed,
        Self::Dead,
        Self::Discarded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Available => "available",
            Self::Running => "running",
            Self::Retryable => "retryable",
            Self::Completed => "completed",
            Self::Dead => "dead",
            Self::Discarded => "discarded",
        }
    }

    /// The state named `s`, if any.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == s)
    }
}

impl std::fmt::Display for JobState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A job to enqueue. `NewJob::new(kind, payload)` fills the defaults:
/// queue `default`, priority 0, due now, the default attempts, no unique
/// key.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    /// The handler's name (`email.send`, `webhook.deliver`…).
    pub kind: String,
    /// The queue whose workers run it.
    pub queue: String,
    /// The shop it belongs to, if any (staff see their shop's jobs).
    pub tenant: Option<TenantId>,
    pub payload: serde_json::Value,
    /// Smaller runs first.
    pub priority: i32,
    /// When it may run first; `None` is now.
    pub run_at: Option<DateTime<Utc>>,
    /// Runs before it is dead-lettered (at least 1); `None` is the
    /// runner's configured default (`jobs.max_attempts`).
    pub max_attempts: Option<i32>,
    /// At most one job ever holds a key: enqueueing a second job with the
    /// same key does nothing and answers the first one's id.
    pub unique_key: Option<String>,
}

impl NewJob {
    /// The default number of attempts (`jobs.max_attempts`' default).
    pub const DEFAULT_MAX_ATTEMPTS: i32 = 20;

    pub fn new(kind: impl Into<String>, payload: serde_json::Value) -> Self {
        Self {
            kind: kind.into(),
            queue: "default".to_owned(),
            tenant: None,
            payload,
            priority: 0,
            run_at: None,
            max_attempts: None,
            unique_key: None,
        }
    }

    /// When it may run first, enqueued at `at`: `run_at`, or `at`.
    pub fn first_run(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        self.run_at.unwrap_or(at)
    }

    /// Its runs before it is dead-lettered: `max_attempts`, or
    /// [`DEFAULT_MAX_ATTEMPTS`](Self::DEFAULT_MAX_ATTEMPTS).
    pub fn attempts(&self) -> i32 {
        self.max_attempts.unwrap_or(Self::DEFAULT_MAX_ATTEMPTS)
    }

    pub fn queue(mut self, queue: impl Into<String>) -> Self {
        self.queue = queue.into();
        self
    }

    pub fn tenant(mut self, tenant: TenantId) -> Self {
        self.tenant = Some(tenant);
        self
    }

    pub fn priority(mut self, priority: i32) -> Self {
        self.priority = priority;
        self
    }

    pub fn run_at(mut self, at: DateTime<Utc>) -> Self {
        self.run_at = Some(at);
        self
    }

    pub fn max_attempts(mut self, n: i32) -> Self {
        self.max_attempts = Some(n);
        self
    }

    pub fn unique_key(mut self, key: impl Into<String>) -> Self {
        self.unique_key = Some(key.into());
        self
    }
}

/// One failed attempt, kept in a job's bounded error history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct JobErrorEntry {
    pub attempt: i32,
    pub at: DateTime<Utc>,
    pub error: String,
}

/// A job row.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Job {
    pub id: JobId,
    pub kind: String,
    pub queue: String,
    pub tenant_id: Option<TenantId>,
    pub payload: serde_json::Value,
    pub state: JobState,
    pub priority: i32,
    pub run_at: DateTime<Utc>,
    /// Attempts started so far (the running one included).
    pub attempt: i32,
    pub max_attempts: i32,
    /// Changes at each claim: only the worker holding it may settle the
    /// job. Never shown outside the runner.
    #[serde(skip)]
    pub lease_token: Option<uuid::Uuid>,
    pub locked_until: Option<DateTime<Utc>>,
    pub locked_by: Option<String>,
    pub last_error: Option<String>,
    pub errors: Vec<JobErrorEntry>,
    pub unique_key: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// Which jobs a list shows; every field narrows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobFilter {
    pub queue: Option<String>,
    pub state: Option<JobState>,
    pub kind: Option<String>,
    pub tenant: Option<TenantId>,
}

/// A queue's figures, read without counting its completed history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct QueueStats {
    pub queue: String,
    /// Jobs due now, waiting for a worker.
    pub ready: i64,
    /// When the oldest of them became due.
    pub oldest_ready_at: Option<DateTime<Utc>>,
    /// Jobs waiting for a later time.
    pub scheduled: i64,
    pub running: i64,
    pub dead: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_parses_back_from_its_name() {
        for state in JobState::ALL {
            assert_eq!(JobState::parse(state.as_str()), Some(state));
        }
        assert_eq!(JobState::parse("sleeping"), None);
    }
}
