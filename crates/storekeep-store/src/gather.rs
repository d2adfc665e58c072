//! [`Gather`]: callers' calls queued to one task that serves them
//! together. Each caller queues its request and waits for its own answer;
//! the task takes whatever has queued (at least one call, at most as many
//! as it asks for), leaves out the callers that gave up, and answers each
//! of the others. Both backends' checkout batches and PostgreSQL's cart
//! reads are such a task; what they do with a group is their own.
//!
//! (The app's `storekeep::batch::Batcher`, for jobs' completions and webhook
//! attempts, is not one: it answers `String` errors, starts lazily so it
//! can be built outside a runtime, and has no bound on its queue.)

use std::fmt;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot};

use crate::{StoreError, StoreResult};

/// A queued call: its request, and the way back to the caller waiting for
/// its answer. It reads as its request.
pub struct Waiting<T, R> {
    request: T,
    reply: oneshot::Sender<StoreResult<R>>,
}

impl<T, R> Waiting<T, R> {
    /// A call outside any queue (to serve it the way the task would), and
    /// the answer to await.
    pub fn new(request: T) -> (Self, oneshot::Receiver<StoreResult<R>>) {
        let (reply, answer) = oneshot::channel();
        (Self { request, reply }, answer)
    }

    /// Whether its caller has given up (its request was cancelled): nobody
    /// would learn what serving it did.
    pub fn abandoned(&self) -> bool {
        self.reply.is_closed()
    }

    /// Answers the caller; nothing happens if it has given up.
    pub fn answer(self, result: StoreResult<R>) {
        let _ = self.reply.send(result);
    }
}

impl<T, R> Deref for Waiting<T, R> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.request
    }
}

impl<T, R> DerefMut for Waiting<T, R> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.request
    }
}

/// The queue into a task serving calls of request `T` and answer `R`.
/// Cloning shares the task; its [`Calls`] run dry once every clone is
/// dropped.
pub struct Gather<T, R> {
    queue: mpsc::Sender<Waiting<T, R>>,
    /// What the task is, for the error of a caller that finds it stopped.
    name: &'static str,
}

impl<T, R> Clone for Gather<T, R> {
    fn clone(&self) -> Self {
        Self {
            queue: self.queue.clone(),
            name: self.name,
        }
    }
}

impl<T, R> fmt::Debug for Gather<T, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gather").field("name", &self.name).finish()
    }
}

impl<T: Send + 'static, R: Send + 'static> Gather<T, R> {
    /// Spawns `serve` on the current tokio runtime with the serving end of
    /// a queue of `capacity` calls (a caller beyond it waits for room).
    /// `name` says what failed if a caller finds the task gone ("the
    /// {name} has stopped") or its call dropped unanswered.
    ///
    /// A `serve` that panics is started again on the same queue: the calls
    /// it held are answered with an error, and those still queued, and
    /// every later one, are served. One bug hit by one call must not leave
    /// the node refusing every checkout until it restarts.
    pub fn start<F>(
        name: &'static str,
        capacity: usize,
        mut serve: impl FnMut(Calls<T, R>) -> F + Send + 'static,
    ) -> Self
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let (queue, rx) = mpsc::channel(capacity);
        let home = Arc::new(Mutex::new(Some(rx)));
        tokio::spawn(async move {
            // `Calls` puts the receiver back here when it is dropped, as
            // it is when `serve` unwinds.
            while let Some(rx) = home.lock().ok().and_then(|mut rx| rx.take()) {
                let calls = Calls {
                    rx,
                    home: home.clone(),
                };
                match tokio::spawn(serve(calls)).await {
                    Err(e) if e.is_panic() => {
                        let panic = e.into_panic();
                        let said = panic
                            .downcast_ref::<&str>()
                            .copied()
                            .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
                            .unwrap_or("(no message)");
                        tracing::error!(
                            task = name,
                            panic = said,
                            "the {name} panicked; it starts again"
                        );
                    }
                    // Done (its queue closed), or cancelled with the runtime.
                    _ => return,
                }
            }
        });
        Self { queue, name }
    }

    /// Queues `request` and waits for its answer.
    pub async fn call(&self, request: T) -> StoreResult<R> {
        let (waiting, answer) = Waiting::new(request);
        self.queue.send(waiting).await.map_err(|_| self.gone())?;
        // Dropped unanswered: the task panicked while serving it (and
        // serves on), or ended.
        answer.await.map_err(|_| {
            StoreError::Other(format!("the {} ended this call without an answer", self.name).into())
        })?
    }

    fn gone(&self) -> StoreError {
        StoreError::Other(format!("the {} has stopped", self.name).into())
    }
}

/// Where a [`Calls`] keeps its receiver while no task holds it.
type Home<T, R> = Arc<Mutex<Option<mpsc::Receiver<Waiting<T, R>>>>>;

/// The serving end of a [`Gather`]: its calls, in groups.
pub struct Calls<T, R> {
    rx: mpsc::Receiver<Waiting<T, R>>,
    /// Where the receiver goes back when this is dropped, for the task
    /// started again after a panic.
    home: Home<T, R>,
}

impl<T, R> Drop for Calls<T, R> {
    fn drop(&mut self) {
        let (_, closed) = mpsc::channel(1);
        let rx = std::mem::replace(&mut self.rx, closed);
        if let Ok(mut home) = self.home.lock() {
            *home = Some(rx);
        }
    }
}

impl<T, R> Calls<T, R> {
    /// Waits for a call, then appends it and every call already queued,
    /// `max` at most, to `group`, leaving out those whose callers gave up
    /// (the calls `group` held are kept as they are); `false` once the
    /// queue is closed and empty (its every [`Gather`] dropped). A caller
    /// that gives up after this is still served.
    pub async fn next(&mut self, group: &mut Vec<Waiting<T, R>>, max: usize) -> bool {
        debug_assert!(max > 0, "a group of at most 0 calls");
        let before = group.len();
        loop {
            if self.rx.recv_many(group, max).await == 0 {
                return false;
            }
            let new = group.split_off(before);
            group.extend(new.into_iter().filter(|call| !call.abandoned()));
            if group.len() > before {
                return true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn calls_queued_together_are_served_as_one_group_each_answered_by_its_own() {
        let (first_in, first_seen) = oneshot::channel::<()>();
        let (go, gate) = oneshot::channel::<()>();
        let groups = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = groups.clone();
        let (mut first_in, mut gate) = (Some(first_in), Some(gate));
        let g: Gather<u32, u32> =
            Gather::start("doubler", 16, move |mut calls: Calls<u32, u32>| {
                let (mut first_in, mut gate, seen) = (first_in.take(), gate.take(), seen.clone());
                async move {
                    let mut group = Vec::new();
                    while calls.next(&mut group, 8).await {
                        // Holds the first group until the rest have queued.
                        if let Some(tx) = first_in.take() {
                            let _ = tx.send(());
                            let _ = gate.take().expect("one gate").await;
                        }
                        seen.lock()
                            .unwrap()
                            .push(group.iter().map(|c| **c).collect::<Vec<_>>());
                        for call in group.drain(..) {
                            let n = *call;
                            call.answer(if n == 7 {
                                Err(StoreError::NotFound("seven"))
                            } else {
                                Ok(n * 2)
                            });
                        }
                    }
                }
            });
        let first = tokio::spawn({
            let g = g.clone();
            async move { g.call(1).await }
        });
        first_seen.await.unwrap();
        let rest: Vec<_> = (2..=11)
            .map(|n| {
                let g = g.clone();
                tokio::spawn(async move { g.call(n).await })
            })
            .collect();
        // Every one of them queued before the first group is answered.
        tokio::time::sleep(Duration::from_millis(50)).await;
        // One caller gives up while it waits: it is left out of its group.
        let cancelled = tokio::spawn({
            let g = g.clone();
            async move { g.call(100).await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        cancelled.abort();
        let _ = cancelled.await;
        go.send(()).unwrap();
        assert_eq!(first.await.unwrap().unwrap(), 2);
        let mut answers = Vec::new();
        for call in rest {
            answers.push(call.await.unwrap());
        }
        assert!(matches!(answers[5], Err(StoreError::NotFound("seven"))));
        assert_eq!(answers[0].as_ref().unwrap(), &4);
        assert_eq!(answers[9].as_ref().unwrap(), &22);
        let groups = groups.lock().unwrap().clone();
        // The first alone; then the ten that queued meanwhile, at most
        // eight a group, in their order; 100 in none.
        assert_eq!(groups[0], vec![1]);
        assert_eq!(groups.concat(), (1..=11).collect::<Vec<_>>());
        assert_eq!(groups[1].len(), 8);
    }

    #[tokio::test]
    async fn a_caller_of_a_stopped_task_is_told_what_stopped() {
        // The task ends before a call is queued...
        let g: Gather<u32, u32> = Gather::start("test worker", 4, |_calls| async {});
        tokio::time::sleep(Duration::from_millis(20)).await;
        let err = g.call(1).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "database error: the test worker has stopped"
        );
        // ...or after taking one it never answers.
        let g: Gather<u32, u32> =
            Gather::start("test worker", 4, |mut calls: Calls<u32, u32>| async move {
                let mut group = Vec::new();
                calls.next(&mut group, 4).await;
            });
        let err = g.call(1).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "database error: the test worker ended this call without an answer"
        );
        // Its queue closed with it.
        tokio::time::sleep(Duration::from_millis(20)).await;
        let err = g.call(2).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "database error: the test worker has stopped"
        );
    }

    #[tokio::test]
    async fn a_task_that_panics_starts_again_and_serves_the_calls_still_queued() {
        let (held, holding) = oneshot::channel::<()>();
        let (go, gate) = oneshot::channel::<()>();
        let mut held = Some(held);
        let mut gate = Some(gate);
        let starts = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let started = starts.clone();
        let g: Gather<u32, u32> =
            Gather::start("test worker", 8, move |mut calls: Calls<u32, u32>| {
                started.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let (held, gate) = (held.take(), gate.take());
                async move {
                    let mut group = Vec::new();
                    while calls.next(&mut group, 1).await {
                        let call = group.pop().expect("one call");
                        if *call == 0 {
                            // Holds the poison until two more calls queued.
                            let _ = held.expect("the first start").send(());
                            let _ = gate.expect("the first start").await;
                            panic!("a bug hit by call 0");
                        }
                        let n = *call;
                        call.answer(Ok(n * 10));
                    }
                }
            });
        let poison = tokio::spawn({
            let g = g.clone();
            async move { g.call(0).await }
        });
        holding.await.unwrap();
        let queued: Vec<_> = [1, 2]
            .map(|n| {
                let g = g.clone();
                tokio::spawn(async move { g.call(n).await })
            })
            .into_iter()
            .collect();
        tokio::time::sleep(Duration::from_millis(20)).await;
        go.send(()).unwrap();
        // The call it panicked on is told so; nothing is left hanging.
        assert_eq!(
            poison.await.unwrap().unwrap_err().to_string(),
            "database error: the test worker ended this call without an answer"
        );
        // The calls queued behind it, and a later one, are served by the
        // task started again on the same queue.
        for (call, n) in queued.into_iter().zip([1, 2]) {
            assert_eq!(call.await.unwrap().unwrap(), n * 10);
        }
        assert_eq!(g.call(3).await.unwrap(), 30);
        assert_eq!(starts.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn calls_a_group_already_holds_are_kept_and_new_ones_appended() {
        let g: Gather<u32, u32> =
            Gather::start("test worker", 8, |mut calls: Calls<u32, u32>| async move {
                let mut group = Vec::new();
                assert!(calls.next(&mut group, 1).await);
                // The first call's caller gives up while it is held here: it
                // stays in the group; only new calls are filtered.
                tokio::time::sleep(Duration::from_millis(50)).await;
                assert!(group[0].abandoned());
                assert!(calls.next(&mut group, 8).await);
                let seen: Vec<u32> = group.iter().map(|c| **c).collect();
                assert_eq!(seen, vec![1, 2, 3]);
                for call in group {
                    let n = *call;
                    call.answer(Ok(n));
                }
            });
        let first = tokio::spawn({
            let g = g.clone();
            async move { g.call(1).await }
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        first.abort();
        let (two, three) = (g.call(2), g.call(3));
        let (two, three) = tokio::join!(two, three);
        assert_eq!((two.unwrap(), three.unwrap()), (2, 3));
    }
}
