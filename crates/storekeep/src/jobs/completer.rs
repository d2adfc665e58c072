//! [`Completer`]: saves finished jobs in batches. Every worker whose job
//! succeeded hands its (id, token) here and waits; one task writes what
//! has gathered with one statement, so a busy queue pays one durable write
//! per batch instead of one per job, and an idle one writes at once (a
//! batch is whatever arrived while the previous write ran). On SQLite one
//! batch is written at a time (one writer); on PostgreSQL up to
//! [`WRITES_IN_FLIGHT`] at once, each on its own connection, so a commit's
//! flush does not hold back the next batch.

use std::sync::Arc;

use storekeep_domain::JobId;
use storekeep_store::{DatabaseKind, Store, StoreError, StoreResult};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};
use uuid::Uuid;

/// Most jobs saved by one write.
const MAX_BATCH: usize = 256;

/// Most batches written at once on PostgreSQL: 1 until several are
/// measured to pay (they did not, with four claims in flight).
const WRITES_IN_FLIGHT: usize = 1;

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
    let writes = match store.kind() {
        DatabaseKind::Postgres => WRITES_IN_FLIGHT,
        DatabaseKind::Sqlite => 1,
    };
    let slots = Arc::new(Semaphore::new(writes));
    loop {
        // A free slot first: what arrives meanwhile joins this batch.
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let mut batch = Vec::with_capacity(MAX_BATCH);
        if rx.recv_many(&mut batch, MAX_BATCH).await == 0 {
            return;
        }
        tokio::spawn(write(store.clone(), batch, slot));
    }
}

/// Writes one batch and answers each job's worker.
async fn write(
    store: Arc<dyn Store>,
    batch: Vec<(JobId, Uuid, Reply)>,
    _slot: OwnedSemaphorePermit,
) {
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
