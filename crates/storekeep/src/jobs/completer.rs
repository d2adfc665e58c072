//! [`Completer`]: saves finished jobs in batches. Every worker whose job
//! succeeded hands its (id, token) here and waits; one task writes what
//! has gathered with one statement, so a busy queue pays one durable write
//! per batch instead of one per job, and an idle one writes at once (a
//! batch is whatever arrived while the previous write ran). One batch is
//! written at a time: several in flight on PostgreSQL measured no better
//! (docs/benchmarks.md, "Background jobs").

use std::sync::Arc;

use storekeep_domain::JobId;
use storekeep_store::{Store, StoreError, StoreResult};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

/// Most jobs saved by one write.
const MAX_BATCH: usize = 256;

type Reply = oneshot::Sender<Result<bool, String>>;

#[derive(Clone)]
pub struct Completer {
    tx: mpsc::UnboundedSender<(JobId, Uuid, Reply)>,
}

impl Completer {
    /// Starts the writing task over `store`; it ends when every
    /// `Completer` clone is dropped, after writing what it was handed.
    pub fn start(store: Arc<dyn Store>) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(write_batches(store, rx));
        Self { tx }
    }

    /// Hands the job over to be marked completed if it still runs under
    /// `token` (see `JobStore::complete`); the answer comes once its batch
    /// is written. The hand-over happens now, before the answer is awaited,
    /// so the caller can free its worker in between.
    pub fn submit(
        &self,
        id: JobId,
        token: Uuid,
    ) -> impl std::future::Future<Output = StoreResult<bool>> + use<> {
        let (reply, answer) = oneshot::channel();
        let sent = self.tx.send((id, token, reply)).is_ok();
        async move {
            let stopped = || StoreError::Other("the job completer has stopped".into());
            if !sent {
                return Err(stopped());
            }
            match answer.await {
                Ok(Ok(applied)) => Ok(applied),
                Ok(Err(e)) => Err(StoreError::Other(e.into())),
                Err(_) => Err(stopped()),
            }
        }
    }
}

async fn write_batches(
    store: Arc<dyn Store>,
    mut rx: mpsc::UnboundedReceiver<(JobId, Uuid, Reply)>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        write(store.as_ref(), std::mem::take(&mut batch)).await;
    }
}

/// Writes one batch and answers each job's worker.
async fn write(store: &dyn Store, batch: Vec<(JobId, Uuid, Reply)>) {
    let done: Vec<(JobId, Uuid)> = batch.iter().map(|(id, token, _)| (*id, *token)).collect();
    match store.complete_many(&done).await {
        Ok(applied) => {
            for ((_, _, reply), applied) in batch.into_iter().zip(applied) {
                let _ = reply.send(Ok(applied));
            }
        }
        Err(e) => {
            let message = e.to_string();
            for (_, _, reply) in batch {
                let _ = reply.send(Err(message.clone()));
            }
        }
    }
}
