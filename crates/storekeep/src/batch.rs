//! [`Batcher`]: many callers' small writes gathered into one. Each caller
//! hands its item over and waits; one task writes whatever has gathered
//! with one call (one commit, one fsync), so a busy path pays one durable
//! write per batch instead of one per item, and an idle one writes at once
//! (a batch is whatever arrived while the previous write ran). One batch
//! is written at a time. Used for jobs' completions (`jobs::completer`)
//! and webhook attempts (`services::webhooks::deliver`).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};

use tokio::sync::{mpsc, oneshot};

/// Most items written by one call.
pub const MAX_BATCH: usize = 256;

type Reply<R> = oneshot::Sender<Result<R, String>>;
type Sender<T, R> = mpsc::UnboundedSender<(T, Reply<R>)>;
type Write<T, R> = Arc<
    dyn Fn(Vec<T>) -> Pin<Box<dyn Future<Output = Vec<Result<R, String>>> + Send>> + Send + Sync,
>;

/// Gathers items of type `T` and writes them with one call, answering
/// each caller with its item's result `R`. Cheap to clone; the writing
/// task starts with the first item (so it can be built outside a
/// runtime) and ends when every clone is dropped, after writing what it
/// was handed.
pub struct Batcher<T, R> {
    write: Write<T, R>,
    tx: Arc<OnceLock<Sender<T, R>>>,
}

impl<T, R> Clone for Batcher<T, R> {
    fn clone(&self) -> Self {
        Self {
            write: self.write.clone(),
            tx: self.tx.clone(),
        }
    }
}

impl<T: Send + 'static, R: Send + 'static> Batcher<T, R> {
    /// `write` gets a batch and answers one result per item, in order (a
    /// missing answer is an error for its caller).
    pub fn new<F, Fut>(write: F) -> Self
    where
        F: Fn(Vec<T>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Vec<Result<R, String>>> + Send + 'static,
    {
        Self {
            write: Arc::new(move |batch| Box::pin(write(batch))),
            tx: Arc::new(OnceLock::new()),
        }
    }

    /// Hands `item` over now (so the caller may free what it holds before
    /// awaiting); the answer comes once its batch is written.
    pub fn submit(&self, item: T) -> impl Future<Output = Result<R, String>> + use<T, R> {
        let (reply, answer) = oneshot::channel();
        let tx = self.tx.get_or_init(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(write_batches(self.write.clone(), rx));
            tx
        });
        let sent = tx.send((item, reply)).is_ok();
        async move {
            let stopped = || "the batch writer has stopped".to_owned();
            if !sent {
                return Err(stopped());
            }
            answer.await.unwrap_or_else(|_| Err(stopped()))
        }
    }
}

async fn write_batches<T: Send + 'static, R: Send + 'static>(
    write: Write<T, R>,
    mut rx: mpsc::UnboundedReceiver<(T, Reply<R>)>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (items, replies): (Vec<T>, Vec<Reply<R>>) =
            std::mem::take(&mut batch).into_iter().unzip();
        // A task of its own, so a panicking write fails its batch only and
        // the writer goes on with the next.
        let mut results = match tokio::spawn(write(items)).await {
            Ok(results) => results,
            Err(e) => {
                tracing::error!(error = %e, "a batch write failed");
                Vec::new()
            }
        }
        .into_iter();
        for reply in replies {
            let result = results
                .next()
                .unwrap_or_else(|| Err("the batch write gave no answer for this item".into()));
            let _ = reply.send(result);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[tokio::test]
    async fn callers_waiting_together_share_one_write_and_each_gets_its_answer() {
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let seen = sizes.clone();
        let b: Batcher<u32, u32> = Batcher::new(move |items: Vec<u32>| {
            seen.lock().unwrap().push(items.len());
            async move {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                items
                    .into_iter()
                    .map(|i| {
                        if i == 7 {
                            Err("seven".into())
                        } else {
                            Ok(i * 10)
                        }
                    })
                    .collect()
            }
        });
        let first = b.submit(1);
        // Handed over while the first batch is written: one batch together.
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let rest: Vec<_> = (2..=9).map(|i| b.submit(i)).collect();
        assert_eq!(first.await, Ok(10));
        let mut answers = Vec::new();
        for answer in rest {
            answers.push(answer.await);
        }
        assert_eq!(answers[5], Err("seven".to_owned()));
        assert_eq!(answers[7], Ok(90));
        assert_eq!(*sizes.lock().unwrap(), vec![1, 8]);
    }

    #[tokio::test]
    async fn a_write_that_panics_fails_its_batch_and_the_next_batch_is_written() {
        let b: Batcher<u32, u32> = Batcher::new(|items: Vec<u32>| async move {
            assert!(!items.contains(&0), "a write that panics");
            items.into_iter().map(Ok).collect()
        });
        assert!(b.submit(0).await.is_err());
        assert_eq!(b.submit(5).await, Ok(5));
    }

    #[tokio::test]
    async fn a_short_answer_is_an_error_for_the_items_left_without_one() {
        let b: Batcher<u32, u32> =
            Batcher::new(|items: Vec<u32>| async move { vec![Ok(items[0])] });
        let (x, y) = (b.submit(1), b.submit(2));
        assert_eq!(x.await, Ok(1));
        assert!(y.await.is_err());
    }
}
