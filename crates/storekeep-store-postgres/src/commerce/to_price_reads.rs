//! The reads before a checkout, gathered (issue 19).
//!
//! Every checkout (and every view of a cart) first reads the cart with
//! its variants' prices and the shop's live deals
//! (`CommerceStore::cart_to_price`), outside any transaction. Alone, that
//! is one statement per checkout: in the 64-client rush it was about half
//! of all the statements PostgreSQL ran, each paying its round trip, its
//! set-up and a backend woken on a busy machine. So each node queues
//! these reads to one task, which takes whatever has queued (up to
//! [`MAX_READS`]) and reads it with one statement (`carts::to_price`), at
//! most [`IN_FLIGHT`] statements at a time: an idle node reads each cart
//! at once, a busy one a batch per statement. The reads are the same rows
//! with the same snapshot rules (each statement sees what was committed
//! when it started, which is after its caller asked), so nothing a caller
//! could see changes.
//!
//! Failures:
//! - a statement that fails answers each of its reads with its error (a
//!   database unavailable is a 503 for every one); a row that does not
//!   decode fails only its own read (but for its place in the batch, `n`,
//!   without which no read can be told it);
//! - a statement waits for a connection as long as the pool's acquire
//!   timeout, and then at most the statement timeout (plus a second) for
//!   its rows, or [`DEFAULT_STATEMENT_BOUND`] without one: past that its
//!   connection is closed, not returned to the pool, so a connection that
//!   hangs cannot hold the node's reads or a pool slot;
//! - while the database is known to be unavailable (the last statement
//!   failed so), a read that was queued before that failure is answered
//!   unavailable at once instead of waiting for a statement of its own, so
//!   an outage does not build a queue behind the two statements in flight:
//!   a read's 503 comes within about twice the acquire timeout.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use sqlx::{FromRow, Row};
use storekeep_domain::{CartId, TenantId};
use storekeep_store::gather::{Calls, Gather, Waiting};
use storekeep_store::{BatchCounters, CartToPrice, PoolConfig, StoreError, StoreResult};
use tokio::sync::Semaphore;
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
/// How long a statement may take to answer when the pool sets no
/// statement timeout.
const DEFAULT_STATEMENT_BOUND: Duration = Duration::from_secs(30);
/// Beyond the statement timeout, for PostgreSQL's own cancel to arrive.
const CANCEL_MARGIN: Duration = Duration::from_secs(1);

/// What the statements in flight share: how long one may take, and when
/// the last one found the database unavailable (`None` once one has
/// answered since).
struct Shared {
    bound: Duration,
    down_since: std::sync::Mutex<Option<Instant>>,
    counters: Arc<BatchCounters>,
}

impl Shared {
    fn down_since(&self) -> Option<Instant> {
        *self.down_since.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set_down(&self, down: bool) {
        *self.down_since.lock().unwrap_or_else(|e| e.into_inner()) = down.then(Instant::now);
    }
}

struct ToPrice {
    /// When it was queued, to tell it waited through an outage.
    queued: Instant,
    tenant: TenantId,
    cart: CartId,
    at: DateTime<Utc>,
}

/// A read queued to the task, with its caller's answer to give.
type Read = Waiting<ToPrice, CartToPrice>;

/// The queue into the node's reading task. Cloning shares the task; it
/// stops when the last clone is dropped.
#[derive(Debug, Clone)]
pub(crate) struct ToPriceReads {
    queue: Gather<ToPrice, CartToPrice>,
}

impl ToPriceReads {
    /// Starts the task on the current tokio runtime, for a pool of
    /// `config`, counting its reads and statements in `counters` (the
    /// node's checkout figures).
    pub(crate) fn start(pool: PgPool, config: PoolConfig, counters: Arc<BatchCounters>) -> Self {
        let shared = Arc::new(Shared {
            bound: config
                .statement_timeout
                .map_or(DEFAULT_STATEMENT_BOUND, |t| t + CANCEL_MARGIN),
            down_since: std::sync::Mutex::new(None),
            counters,
        });
        let queue = Gather::start("cart reading task", QUEUE, move |calls| {
            reader(pool.clone(), calls, shared.clone())
        });
        Self { queue }
    }

    /// Shop `tenant`'s cart `cart` to price at `at`, its variants and the
    /// deals live then; `NotFound` if the shop has no such cart.
    pub(crate) async fn read(
        &self,
        tenant: TenantId,
        cart: CartId,
        at: DateTime<Utc>,
    ) -> StoreResult<CartToPrice> {
        let read = ToPrice {
            queued: Instant::now(),
            tenant,
            cart,
            at,
        };
        self.queue.call(read).await
    }
}

async fn reader(pool: PgPool, mut calls: Calls<ToPrice, CartToPrice>, shared: Arc<Shared>) {
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    let mut reads = Vec::with_capacity(MAX_READS);
    loop {
        // A slot first, then whatever has queued while every slot was busy.
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        // Without the reads whose callers gave up.
        if !calls.next(&mut reads, MAX_READS).await {
            return;
        }
        let down_since = shared.down_since();
        let mut batch = Vec::with_capacity(reads.len());
        for read in reads.drain(..) {
            if down_since.is_some_and(|down| read.queued < down) {
                read.answer(Err(StoreError::unavailable(
                    "the database was unavailable while the cart read waited",
                )));
            } else {
                batch.push(read);
            }
        }
        if batch.is_empty() {
            continue;
        }
        let (pool, shared) = (pool.clone(), shared.clone());
        tokio::spawn(async move {
            answer(&pool, batch, &shared).await;
            drop(slot);
        });
    }
}

/// Reads `batch` with one statement and answers each caller.
async fn answer(pool: &PgPool, batch: Vec<Read>, shared: &Shared) {
    match read_all(pool, &batch, shared.bound).await {
        Ok(found) => {
            shared.set_down(false);
            BatchCounters::add(&shared.counters.cart_read_statements, 1);
            BatchCounters::add(&shared.counters.cart_reads, found.len());
            for (read, row) in batch.into_iter().zip(found) {
                read.answer(row);
            }
        }
        // The statement failed for all its reads alike.
        Err(e) => {
            tracing::warn!(error = %e, reads = batch.len(), "a batch of cart reads failed");
            shared.set_down(e.is_unavailable());
            for read in batch {
                read.answer(Err(e.for_each_caller("the cart could not be read")));
            }
        }
    }
}

/// One answer per read of `batch`, in its order: its cart, `NotFound`,
/// or the error of its own row; `Err` if the statement failed, took
/// longer than `bound` (its connection then closed), or returned a row
/// without its place.
async fn read_all(
    pool: &PgPool,
    batch: &[Read],
    bound: Duration,
) -> StoreResult<Vec<StoreResult<CartToPrice>>> {
    let tenants: Vec<Uuid> = batch.iter().map(|r| r.tenant.0).collect();
    let carts: Vec<Uuid> = batch.iter().map(|r| r.cart.0).collect();
    let at: Vec<DateTime<Utc>> = batch.iter().map(|r| r.at).collect();
    let mut conn = pool.acquire().await.map_err(other)?;
    let rows = match tokio::time::timeout(bound, to_price(&mut conn, &tenants, &carts, &at)).await {
        Ok(rows) => rows?,
        Err(_) => {
            // Its answer may still come: the connection cannot serve again.
            drop(conn.detach());
            return Err(StoreError::unavailable(
                "the cart read did not answer in time",
            ));
        }
    };
    let mut found: Vec<StoreResult<CartToPrice>> = batch
        .iter()
        .map(|_| Err(StoreError::NotFound("cart")))
        .collect();
    for row in rows {
        let n: i64 = row.try_get("n").map_err(other)?;
        let slot = n
            .checked_sub(1)
            .and_then(|i| usize::try_from(i).ok())
            .and_then(|i| found.get_mut(i))
            .ok_or_else(|| StoreError::Other(format!("cart read {n} of {}", batch.len()).into()))?;
        *slot = CartToPriceRow::from_row(&row)
            .map_err(other)
            .and_then(CartToPriceRow::into_read);
    }
    Ok(found)
}
