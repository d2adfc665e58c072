//! Getting the outbox's events to their destinations. The dispatcher runs
//! on every node that runs jobs: it hands each committed event to one job
//! per destination (`CommerceStore::dispatch_events`, one transaction per
//! batch, disjoint batches across nodes on PostgreSQL) and wakes this
//! node's email and webhook workers. The jobs then deliver with retries.
//!
//! Delivery is at least once: a job whose worker dies after the receiver
//! took the message, before the job was marked completed, runs again.
//! Receivers dedupe on the event id (`webhook-id`; an email's
//! `Message-ID` is derived from it too).

use std::sync::Arc;
use std::time::Duration;

use storekeep_store::rules::delivery::{EMAIL_QUEUE, WEBHOOK_QUEUE};
use tokio::sync::{Notify, watch};

use super::Services;

/// Events handed over per transaction.
const BATCH: i64 = 200;

/// How often the dispatcher looks for events when nothing woke it: events
/// committed on another node (or by a CLI command) wait at most this long.
const POLL: Duration = Duration::from_millis(250);

/// Wakes this node's dispatcher: called after a request committed events.
#[derive(Debug, Default, Clone)]
pub struct DispatchSignal(Arc<Notify>);

impl DispatchSignal {
    pub fn wake(&self) {
        self.0.notify_one();
    }
}

/// Dispatches until `stop` turns true. A store error (an outage) is
/// logged and retried with a growing pause, at most 30 s.
pub async fn dispatch_loop(services: Arc<Services>, mut stop: watch::Receiver<bool>) {
    let mut failures: u32 = 0;
    loop {
        let wait = match services.store.dispatch_events(BATCH).await {
            Ok(n) => {
                if failures > 0 {
                    tracing::info!(failed = failures, "outbox dispatch works again");
                }
                failures = 0;
                if n > 0 {
                    services.metrics.events_dispatched(n);
                    services.jobs.wake(EMAIL_QUEUE);
                    services.jobs.wake(WEBHOOK_QUEUE);
                }
                if n as i64 == BATCH {
                    continue;
                }
                POLL
            }
            Err(e) => {
                failures += 1;
                if failures == 1 || failures.is_multiple_of(20) {
                    tracing::warn!(error = %e, failed = failures, "outbox dispatch failed");
                }
                (POLL * 2u32.saturating_pow(failures.min(7))).min(Duration::from_secs(30))
            }
        };
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = services.dispatch.0.notified() => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
    }
}
