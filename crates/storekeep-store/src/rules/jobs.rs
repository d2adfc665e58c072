//! The rules of the job queue both backends apply: the bounded error
//! history, which states an operator may retry or discard, and the
//! messages refusals carry.

use chrono::{DateTime, Utc};
use storekeep_domain::{JobErrorEntry, JobState, NewJob};

use crate::{StoreError, StoreResult};

/// How many failed attempts a job's error history keeps (the newest).
pub const MAX_JOB_ERRORS: usize = 10;

/// The longest error message kept, in characters.
pub const MAX_ERROR_CHARS: usize = 2000;

/// `history` with attempt `attempt`'s `error` appended, the oldest dropped
/// beyond [`MAX_JOB_ERRORS`], the message cut at [`MAX_ERROR_CHARS`].
pub fn record_error(
    mut history: Vec<JobErrorEntry>,
    attempt: i32,
    at: DateTime<Utc>,
    error: &str,
) -> Vec<JobErrorEntry> {
    history.push(JobErrorEntry {
        attempt,
        at,
        error: error.chars().take(MAX_ERROR_CHARS).collect(),
    });
    if history.len() > MAX_JOB_ERRORS {
        history.drain(..history.len() - MAX_JOB_ERRORS);
    }
    history
}

/// The error recorded when a worker's lease ended before it settled its
/// job (the worker died, hung or lost the database).
pub const LEASE_EXPIRED: &str = "the worker's lease expired before the job finished";

/// The longest kind, queue or unique key, in bytes.
pub const MAX_NAME_LEN: usize = 200;

/// Refuses a job no worker could run: an empty or overlong kind or queue,
/// an overlong unique key, or fewer than one attempt.
pub fn check_new_job(job: &NewJob) -> StoreResult<()> {
    let name_ok = |s: &str| !s.is_empty() && s.len() <= MAX_NAME_LEN;
    if !name_ok(&job.kind) {
        return Err(StoreError::Invalid("a job's kind must be 1 to 200 bytes"));
    }
    if !name_ok(&job.queue) {
        return Err(StoreError::Invalid("a job's queue must be 1 to 200 bytes"));
    }
    if job.unique_key.as_deref().is_some_and(|k| !name_ok(k)) {
        return Err(StoreError::Invalid(
            "a job's unique key must be 1 to 200 bytes",
        ));
    }
    if job.max_attempts.is_some_and(|n| n < 1) {
        return Err(StoreError::Invalid("a job needs at least one attempt"));
    }
    Ok(())
}

pub const RETRY_REFUSED: &str = "only a dead, discarded or retryable job can be retried";
pub const DISCARD_REFUSED: &str = "only a waiting, retryable or dead job can be discarded";

/// Whether an operator may make a job in `state` run again now.
pub fn check_retry(state: JobState) -> StoreResult<()> {
    match state {
        JobState::Dead | JobState::Discarded | JobState::Retryable => Ok(()),
        _ => Err(StoreError::Invalid(RETRY_REFUSED)),
    }
}

/// Whether an operator may give up a job in `state` (a running one is
/// left to its worker, a finished one is history).
pub fn check_discard(state: JobState) -> StoreResult<()> {
    match state {
        JobState::Available | JobState::Retryable | JobState::Dead => Ok(()),
        _ => Err(StoreError::Invalid(DISCARD_REFUSED)),
    }
}

/// The state a job whose lease expired moves to: dead when it has used
/// its attempts, else retryable.
pub fn rescued_state(attempt: i32, max_attempts: i32) -> JobState {
    if attempt >= max_attempts {
        JobState::Dead
    } else {
        JobState::Retryable
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_history_keeps_the_newest_entries() {
        let at = Utc::now();
        let mut history = Vec::new();
        for attempt in 1..=15 {
            history = record_error(history, attempt, at, &format!("failure {attempt}"));
        }
        assert_eq!(history.len(), MAX_JOB_ERRORS);
        assert_eq!(history[0].attempt, 6);
        assert_eq!(history[9].error, "failure 15");
        let long = "x".repeat(MAX_ERROR_CHARS + 50);
        let cut = record_error(Vec::new(), 1, at, &long);
        assert_eq!(cut[0].error.len(), MAX_ERROR_CHARS);
    }

    #[test]
    fn only_failed_or_given_up_jobs_can_be_retried() {
        assert!(check_retry(JobState::Dead).is_ok());
        assert!(check_retry(JobState::Discarded).is_ok());
        assert!(check_retry(JobState::Retryable).is_ok());
        assert!(check_retry(JobState::Completed).is_err());
        assert!(check_retry(JobState::Running).is_err());
        assert!(check_discard(JobState::Completed).is_err());
        assert!(check_discard(JobState::Running).is_err());
        assert!(check_discard(JobState::Dead).is_ok());
    }

    #[test]
    fn an_expired_lease_with_attempts_left_is_retried() {
        assert_eq!(rescued_state(3, 20), JobState::Retryable);
        assert_eq!(rescued_state(20, 20), JobState::Dead);
    }
}
