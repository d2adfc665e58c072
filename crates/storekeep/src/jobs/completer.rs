//! [`Completer`]: saves finished jobs in batches. Every worker whose job
//! succeeded hands its (id, token) here and waits; a [`Batcher`] writes
//! what has gathered with one statement (`JobStore::complete_many`), so a
//! busy queue pays one durable write per batch instead of one per job.
//! One batch is written at a time: several in flight on PostgreSQL
//! measured no better (docs/benchmarks.md, "Background jobs").

use std::sync::Arc;

use storekeep_domain::JobId;
use storekeep_store::{Store, StoreError, StoreResult};
use uuid::Uuid;

use crate::batch::Batcher;

#[derive(Clone)]
pub struct Completer(Batcher<(JobId, Uuid), bool>);

impl Completer {
    /// Writes through `store`.
    pub fn start(store: Arc<dyn Store>) -> Self {
        Self(Batcher::new(move |done: Vec<(JobId, Uuid)>| {
            let store = store.clone();
            async move {
                match store.complete_many(&done).await {
                    Ok(applied) => applied.into_iter().map(Ok).collect(),
                    Err(e) => vec![Err(e.to_string()); done.len()],
                }
            }
        }))
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
        let saved = self.0.submit((id, token));
        async move { saved.await.map_err(|e| StoreError::Other(e.into())) }
    }
}
