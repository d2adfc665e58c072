//! The reads before a checkout, gathered (issue 19).
//!
//! Every checkout (and every view of a cart) first reads the cart with
//! its variants' prices and the shop's live deals
//! (`CommerceStore::cart_to_price`), outside any transaction. Alone, that is one statement per checkout: in the
//! 64-client rush it was about half of all the statements PostgreSQL ran,
//! each paying its round trip, its set-up and a backend woken on a busy
//! machine. So each node queues these reads to one task, which takes
//! whatever has queued (up to [`MAX_READS`]) and reads it with one
//! statement (`carts::to_price`), at most [`IN_FLIGHT`] statements at a
//! time: an idle node reads each cart at once, a busy one a batch per
//! statement. The reads are the same rows with the same snapshot rules
//! (each statement sees what was committed when it started, which is
//! after its caller asked), so nothing a caller could see changes.
//!
//! A statement that fails answers each of its reads with its error (a
//! database unavailable is a 503 for every one), and a row that does not
//! decode fails only its own read. Nothing waits much longer than alone:
//! a read that has queued past the pool's acquire timeout is answered
//! unavailable without a statement (so an outage does not build a queue
//! behind the two statements in flight), and a statement is abandoned
//! (its connection dropped) past the acquire timeout plus the statement
//! timeout, so a connection that hangs cannot hold the node's reads.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use sqlx::{FromRow, Row};
use storekeep_domain::{CartId, TenantId};
use storekeep_store::{BatchCounters, CartToPrice, PoolConfig, StoreError, StoreResult};
use tokio::sync::{Semaphore, mpsc, oneshot};
use uuid::Uuid;

use super::carts::{CartToPriceRow, to_price};
use crate::error::other;

/// Most reads in one statement.
const MAX_READS: usize = 128;
/// Statements in flight at once: enough that a slow one does not hold
/// the next batch back, few enough that the reads gather.
const IN_FLIGHT: usize = 2;
/// Reads that may wait for the task before callers are held back.
const QUEUE: usize = 4096;
/// A statement's bound beyond the pool's acquire timeout when the pool
/// sets no statement timeout.
const UNBOUNDED_STATEMENT: Duration = Duration::from_secs(30);

/// How long a read may wait for a statement, and a statement for its
/// answer.
#[derive(Clone, Copy)]
struct Limits {
    queued: Duration,
    statement: Duration,
}

struct Read {
    queued: Instant,
    tenant: TenantId,
    cart: CartId,
    at: DateTime<Utc>,
    reply: oneshot::Sender<StoreResult<CartToPrice>>,
}

/// The queue into the node's reading task. Cloning shares the task; it
/// stops when the last clone is dropped.
#[derive(Debug, Clone)]
pub(crate) struct ToPriceReads {
    queue: mpsc::Sender<Read>,
}

impl ToPriceReads {
    /// Starts the task on the current tokio runtime, for a pool of
    /// `config`, counting its reads and statements in `counters` (the
    /// node's checkout figures).
    pub(crate) fn start(pool: PgPool, config: PoolConfig, counters: Arc<BatchCounters>) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        let limits = Limits {
            queued: config.acquire_timeout,
            statement: config.acquire_timeout
                + config.statement_timeout.unwrap_or(UNBOUNDED_STATEMENT),
        };
        tokio::spawn(reader(pool, rx, limits, counters));
        Self { queue: tx }
    }

    /// Shop `tenant`'s cart `cart` to price at `at`, its variants and the
    /// deals live then; `NotFound` if the shop has no such cart.
    pub(crate) async fn read(
        &self,
        tenant: TenantId,
        cart: CartId,
        at: DateTime<Utc>,
    ) -> StoreResult<CartToPrice> {
        let (reply, answer) = oneshot::channel();
        let read = Read {
            queued: Instant::now(),
            tenant,
            cart,
            at,
            reply,
        };
        self.queue.send(read).await.map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }
}

fn gone() -> StoreError {
    StoreError::Other("the cart reading task has stopped".into())
}

async fn reader(
    pool: PgPool,
    mut rx: mpsc::Receiver<Read>,
    limits: Limits,
    counters: Arc<BatchCounters>,
) {
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    let mut reads = Vec::with_capacity(MAX_READS);
    loop {
        // A slot first, then whatever has queued while every slot was busy.
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        if rx.recv_many(&mut reads, MAX_READS).await == 0 {
            return;
        }
        let mut batch = Vec::with_capacity(reads.len());
        for read in reads.drain(..) {
            if read.reply.is_closed() {
                // Its caller gave up (the request was cancelled).
            } else if read.queued.elapsed() > limits.queued {
                let _ = read.reply.send(Err(StoreError::unavailable(
                    "no statement was free to read the cart in time",
                )));
            } else {
                batch.push(read);
            }
        }
        let (pool, counters) = (pool.clone(), counters.clone());
        tokio::spawn(async move {
            answer(&pool, batch, limits.statement, &counters).await;
            drop(slot);
        });
    }
}

/// Reads `batch` with one statement and answers each caller.
async fn answer(pool: &PgPool, batch: Vec<Read>, bound: Duration, counters: &BatchCounters) {
    if batch.is_empty() {
        return;
    }
    let read = tokio::time::timeout(bound, read_all(pool, &batch)).await;
    match read.unwrap_or_else(|_| {
        Err(StoreError::unavailable(
            "the cart read did not answer in time",
        ))
    }) {
        Ok(found) => {
            BatchCounters::add(&counters.cart_read_statements, 1);
            BatchCounters::add(&counters.cart_reads, found.len());
            for (read, row) in batch.into_iter().zip(found) {
                let _ = read.reply.send(row);
            }
        }
        // The statement failed for all its reads alike.
        Err(e) => {
            tracing::warn!(error = %e, reads = batch.len(), "a batch of cart reads failed");
            let unavailable = e.is_unavailable();
            let cause = match e {
                StoreError::Unavailable(cause) | StoreError::Other(cause) => cause.to_string(),
                e => e.to_string(),
            };
            for read in batch {
                let e = if unavailable {
                    StoreError::unavailable(cause.clone())
                } else {
                    StoreError::Other(cause.clone().into())
                };
                let _ = read.reply.send(Err(e));
            }
        }
    }
}

/// One answer per read of `batch`, in its order: its cart, `NotFound`,
/// or the error of its own row (a row that does not decode fails only
/// its own read); `Err` if the statement failed.
async fn read_all(pool: &PgPool, batch: &[Read]) -> StoreResult<Vec<StoreResult<CartToPrice>>> {
    let tenants: Vec<Uuid> = batch.iter().map(|r| r.tenant.0).collect();
    let carts: Vec<Uuid> = batch.iter().map(|r| r.cart.0).collect();
    let at: Vec<DateTime<Utc>> = batch.iter().map(|r| r.at).collect();
    let rows = to_price(pool, &tenants, &carts, &at).await?;
    let mut found: Vec<StoreResult<CartToPrice>> = batch
        .iter()
        .map(|_| Err(StoreError::NotFound("cart")))
        .collect();
    for row in rows {
        let n: i64 = row.try_get("n").map_err(other)?;
        let slot = usize::try_from(n - 1)
            .ok()
            .and_then(|i| found.get_mut(i))
            .ok_or_else(|| StoreError::Other(format!("cart read {n} of {}", batch.len()).into()))?;
        *slot = CartToPriceRow::from_row(&row)
            .map_err(other)
            .and_then(CartToPriceRow::into_read);
    }
    Ok(found)
}
