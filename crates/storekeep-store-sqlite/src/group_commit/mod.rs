//! Group commit for checkout, the hot write path.
//!
//! SQLite has one writer at a time and `synchronous=FULL` costs an fsync
//! per commit, so committing each checkout on its own caps throughput at
//! the disk's fsync rate. Instead every checkout is queued to one worker
//! task that takes whatever has queued up (up to [`MAX_BATCH`]) and runs it
//! as one `BEGIN IMMEDIATE` transaction with one commit (one fsync).
//!
//! Inside the batch the checkouts run one after another, each seeing the
//! claims of those before it, and anything but `Created` leaves no trace
//! (see `commerce::checkout::checkout_in`: a checkout that writes more than once does
//! so in a savepoint, rolled back if it is refused). The rows that only
//! record a created order are written for the whole batch at its end
//! (`batch.rs`). No caller hears back before the commit that
//! holds its order is durable; if `BEGIN` or `COMMIT` fails, every caller
//! in the batch gets an error (`Unavailable` if the database is: a full disk,
//! an I/O error). If the batch's rows cannot be written (one
//! order's payment reference is taken, say), its checkouts are run again one
//! transaction each, so only the bad one fails.
//!
//! Why so few statements: sqlx runs each SQLite statement on the
//! connection's own thread, a thread hand-off each way, which costs more
//! than most statements themselves. A one-line checkout costs two
//! statements (a read of its key and cart, its stock reservation); a batch
//! adds about ten (BEGIN, idempotency keys, carts, product summaries,
//! orders, lines, transitions, payments, deal uses, outbox, COMMIT).
//! Measured with the ignored `checkout_throughput` test (release build, two
//! cores, one-line orders, 20,000 checkouts): about 2,700/s with 16
//! concurrent callers, 3,700/s with 64 and 5,300/s with 256, against about
//! 1,500/s when every checkout wrote its own rows in its own savepoint.

pub(crate) mod batch;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use sqlx::{Connection, SqliteConnection, SqlitePool};
use storekeep_domain::{CheckoutOutcome, NewOrder, TenantId};
use storekeep_store::gather::{Calls, Gather, Waiting};
use storekeep_store::{BatchCounters, StoreError, StoreResult};

use self::batch::Batch;
use crate::commerce::checkout::checkout_in;

/// Most checkouts committed together.
const MAX_BATCH: usize = 256;
/// Checkouts that may wait for the worker before callers are held back.
const QUEUE: usize = 4096;

struct Checkout {
    tenant: TenantId,
    order: NewOrder,
}

/// A checkout queued to the worker, with its caller's answer to give.
type Job = Waiting<Checkout, CheckoutOutcome>;

/// The queue into the checkout worker. Cloning shares the one worker; it
/// stops when the last clone is dropped.
#[derive(Debug, Clone)]
pub(crate) struct Checkouts {
    queue: Gather<Checkout, CheckoutOutcome>,
    pub(crate) counters: Arc<BatchCounters>,
}

impl Checkouts {
    /// Runs one checkout through the worker and waits for its durable result.
    pub(crate) async fn run(
        &self,
        tenant: TenantId,
        order: NewOrder,
    ) -> StoreResult<CheckoutOutcome> {
        self.queue.call(Checkout { tenant, order }).await
    }
}

/// Starts the worker on the current tokio runtime.
pub(crate) fn start(pool: SqlitePool) -> Checkouts {
    let counters = Arc::new(BatchCounters::default());
    let task_counters = counters.clone();
    let queue = Gather::start("checkout worker", QUEUE, move |calls| {
        worker(pool.clone(), calls, task_counters.clone())
    });
    Checkouts { queue, counters }
}

/// Why a batch committed nothing.
enum Failure {
    /// The transaction itself failed (`BEGIN`, a savepoint, `COMMIT`).
    Fatal(StoreError),
    /// Writing the batch's shared rows failed: one order's rows broke a
    /// constraint, or the database failed.
    Write(StoreError),
}

/// What each caller of a batch that committed nothing is told.
fn failed(e: &StoreError) -> StoreError {
    e.for_each_caller("the checkout could not be committed")
}

async fn worker(
    pool: SqlitePool,
    mut calls: Calls<Checkout, CheckoutOutcome>,
    counters: Arc<BatchCounters>,
) {
    let mut db = Writer { pool, conn: None };
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    // Waits for at least one job, then takes every job already queued (a
    // caller that gave up is not served: nobody would learn of the order).
    while calls.next(&mut batch, MAX_BATCH).await {
        serve(&mut db, &mut batch, &counters).await;
    }
}

/// Runs the jobs as one batch and answers each (emptying `batch`).
async fn serve(db: &mut Writer, batch: &mut Vec<Job>, counters: &BatchCounters) {
    if batch.is_empty() {
        return;
    }
    match db.run(batch).await {
        Ok(results) => {
            BatchCounters::add(&counters.batches, 1);
            BatchCounters::add(&counters.batched, results.len());
            for (job, result) in batch.drain(..).zip(results) {
                job.answer(result);
            }
        }
        // The shared rows of several orders could not be written: each
        // order is retried in a transaction of its own, so one bad order
        // does not fail the others. Not when the database is unavailable:
        // that fails them all alike.
        Err(Failure::Write(e)) if batch.len() > 1 && !e.is_unavailable() => {
            BatchCounters::add(&counters.failed, 1);
            BatchCounters::add(&counters.alone, batch.len());
            tracing::warn!(error = %e, jobs = batch.len(), "checkout batch retried one by one");
            for job in batch.drain(..) {
                let result = match db.run(std::slice::from_ref(&job)).await {
                    Ok(mut results) => results.remove(0),
                    Err(Failure::Write(e)) => Err(e),
                    Err(Failure::Fatal(e)) => Err(failed(&e)),
                };
                job.answer(result);
            }
        }
        // One job: its own error (a conflict, say) is its answer.
        Err(Failure::Write(e)) if !e.is_unavailable() => {
            BatchCounters::add(&counters.failed, 1);
            if let Some(job) = batch.pop() {
                job.answer(Err(e));
            }
        }
        Err(Failure::Fatal(e) | Failure::Write(e)) => {
            BatchCounters::add(&counters.failed, 1);
            if e.is_unavailable() {
                tracing::warn!(error = %e, jobs = batch.len(), "checkout batch failed: database unavailable");
            } else {
                tracing::error!(error = %e, jobs = batch.len(), "checkout batch failed");
            }
            for job in batch.drain(..) {
                job.answer(Err(failed(&e)));
            }
        }
    }
}

/// Runs `orders` as one batch, in order, as the worker would had they
/// queued together.
#[cfg(test)]
pub(crate) async fn run_together(
    pool: &SqlitePool,
    orders: Vec<(TenantId, NewOrder)>,
) -> Vec<StoreResult<CheckoutOutcome>> {
    let mut db = Writer {
        pool: pool.clone(),
        conn: None,
    };
    let mut answers = Vec::new();
    let mut batch = Vec::new();
    for (tenant, order) in orders {
        let (job, answer) = Job::new(Checkout { tenant, order });
        batch.push(job);
        answers.push(answer);
    }
    serve(&mut db, &mut batch, &BatchCounters::default()).await;
    let mut out = Vec::new();
    for answer in answers {
        out.push(
            answer
                .await
                .expect("serve answers every checkout it is handed"),
        );
    }
    out
}

/// The worker's own connection. Always writing through the same one keeps
/// its page cache warm: SQLite drops a connection's cache whenever another
/// connection has written since its last transaction.
struct Writer {
    pool: SqlitePool,
    conn: Option<SqliteConnection>,
}

impl Writer {
    /// Runs the batch in one transaction; `Err` means nothing was committed.
    async fn run(&mut self, batch: &[Job]) -> Result<Vec<StoreResult<CheckoutOutcome>>, Failure> {
        let conn = match &mut self.conn {
            Some(conn) => conn,
            // Taken out of the pool for good; the pool may open another.
            None => self.conn.insert(
                self.pool
                    .acquire()
                    .await
                    .map_err(|e| Failure::Fatal(crate::error::other(e)))?
                    .detach(),
            ),
        };
        let result = run_batch(conn, batch).await;
        let broken = match &result {
            Err(Failure::Fatal(_)) => true,
            Err(Failure::Write(e)) => e.is_unavailable(),
            Ok(_) => false,
        };
        if broken {
            // A connection that failed mid-transaction is not trusted again.
            self.conn = None;
        }
        result
    }
}

/// Runs the batch in one transaction; `Err` means nothing was committed.
async fn run_batch(
    conn: &mut SqliteConnection,
    batch: &[Job],
) -> Result<Vec<StoreResult<CheckoutOutcome>>, Failure> {
    let mut tx = conn
        .begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(|e| Failure::Fatal(crate::error::other(e)))?;
    let mut state = Batch::default();
    let mut results = Vec::with_capacity(batch.len());
    for job in batch {
        let result = checkout_in(&mut tx, job.tenant, &job.order, &mut state)
            .await
            .map_err(Failure::Fatal)?;
        match result {
            // A database error (disk full, I/O) may have rolled the whole
            // transaction back behind our back, leaving the connection in
            // autocommit: nothing more may run on it, and nothing is
            // committed.
            Err(
                e @ (StoreError::Other(_) | StoreError::Unavailable(_) | StoreError::Contended(_)),
            ) => {
                return Err(Failure::Fatal(e));
            }
            result => results.push(result),
        }
    }
    state.write(&mut tx).await.map_err(Failure::Write)?;
    tx.commit()
        .await
        .map_err(|e| Failure::Fatal(crate::error::other(e)))?;
    Ok(results)
}
