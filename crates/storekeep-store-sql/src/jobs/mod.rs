//! The job queue, written once over the [`Backend`]: enqueue (on its own
//! or inside a caller's open transaction, [`enqueue_in`]), claim under a
//! lease, settle with the lease's token, rescue expired leases, and the
//! operator's reads and moves.
//!
//! What the runner does in the background never holds a transaction
//! across an await: a claim is one `UPDATE … RETURNING` statement (on
//! SQLite after a plain read that finds whether anything is due, so an
//! idle poll takes no write lock; on PostgreSQL a claim that finds nothing
//! writes nothing anyway), settling is one statement conditional on the
//! lease token, a batch of successes one statement too.
//! Each is atomic on its own; on SQLite it takes the write lock only for
//! the statement, so a stalled runtime never keeps other writers waiting.
//! The only dialect difference, the claim's row locks (`FOR UPDATE SKIP
//! LOCKED` on PostgreSQL, so any number of nodes claim disjoint jobs;
//! SQLite's single writer needs none), is picked with
//! [`Backend::read_for_update`].

pub mod store;

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::Pool;
use sqlx::types::Json;
use storekeep_domain::{
    Job, JobErrorEntry, JobFilter, JobId, JobState, NewJob, Page, PageRequest, QueueStats, TenantId,
};
use storekeep_store::jobs::Failure;
use storekeep_store::rules::jobs as rules;
use storekeep_store::{StoreError, StoreResult, now, parse_cursor};
use uuid::Uuid;

use crate::DbId;
use crate::backend::{Backend, Conn};
use crate::stmt::Stmt;

macro_rules! columns {
    () => {
        "id, kind, queue, tenant_id, payload, state, priority, run_at, attempt, \
         max_attempts, lease_token, locked_until, locked_by, last_error, errors, unique_key, \
         created_at, finished_at"
    };
}

#[derive(sqlx::FromRow)]
pub struct JobRow {
    pub id: DbId,
    pub kind: String,
    pub queue: String,
    pub tenant_id: Option<DbId>,
    pub payload: Json<serde_json::Value>,
    pub state: String,
    pub priority: i32,
    pub run_at: DateTime<Utc>,
    pub attempt: i32,
    pub max_attempts: i32,
    pub lease_token: Option<DbId>,
    pub locked_until: Option<DateTime<Utc>>,
    pub locked_by: Option<String>,
    pub last_error: Option<String>,
    pub errors: Json<Vec<JobErrorEntry>>,
    pub unique_key: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl TryFrom<JobRow> for Job {
    type Error = StoreError;

    fn try_from(r: JobRow) -> StoreResult<Self> {
        let state = JobState::parse(&r.state).ok_or(StoreError::Invalid("unknown job state"))?;
        Ok(Job {
            id: JobId(r.id.0),
            kind: r.kind,
            queue: r.queue,
            tenant_id: r.tenant_id.map(|t| TenantId(t.0)),
            payload: r.payload.0,
            state,
            priority: r.priority,
            run_at: r.run_at,
            attempt: r.attempt,
            max_attempts: r.max_attempts,
            lease_token: r.lease_token.map(|t| t.0),
            locked_until: r.locked_until,
            locked_by: r.locked_by,
            last_error: r.last_error,
            errors: r.errors.0,
            unique_key: r.unique_key,
            created_at: r.created_at,
            finished_at: r.finished_at,
        })
    }
}

const INSERT: &str = "INSERT INTO jobs (id, kind, queue, tenant_id, payload, state, priority, \
     run_at, attempt, max_attempts, unique_key, created_at) \
     VALUES ($1, $2, $3, $4, $5, 'available', $6, $7, 0, $8, $9, $10) \
     ON CONFLICT (unique_key) WHERE unique_key IS NOT NULL DO NOTHING";

const BY_UNIQUE_KEY: &str = "SELECT id FROM jobs WHERE unique_key = $1";

/// Inserts `job` in the caller's open transaction (or on a plain
/// connection): visible to workers only once that transaction commits, and
/// gone with it if it rolls back. A taken unique key answers the existing
/// job's id and inserts nothing.
pub async fn enqueue_in<B: Backend>(conn: &mut Conn<B::Db>, job: &NewJob) -> StoreResult<JobId> {
    rules::check_new_job(job)?;
    let id = JobId::new();
    let at = now();
    let args = (
        DbId(id.0),
        job.kind.as_str(),
        job.queue.as_str(),
        job.tenant.map(|t| DbId(t.0)),
        Json(&job.payload),
        job.priority,
        job.first_run(at),
        job.attempts(),
        job.unique_key.as_deref(),
        at,
    );
    if B::exec(&mut *conn, Stmt::new(INSERT, args)).await? == 1 {
        return Ok(id);
    }
    let key = job.unique_key.as_deref();
    let existing: DbId = B::scalar(conn, Stmt::new(BY_UNIQUE_KEY, (key,))).await?;
    Ok(JobId(existing.0))
}

pub async fn enqueue<B: Backend>(pool: &Pool<B::Db>, job: &NewJob) -> StoreResult<JobId> {
    enqueue_in::<B>(&mut *B::conn(pool).await?, job).await
}

pub async fn enqueue_many<B: Backend>(
    pool: &Pool<B::Db>,
    jobs: &[NewJob],
) -> StoreResult<Vec<JobId>> {
    let mut tx = B::write_tx(pool).await?;
    let mut ids = Vec::with_capacity(jobs.len());
    for job in jobs {
        ids.push(enqueue_in::<B>(&mut tx, job).await?);
    }
    B::commit(tx).await?;
    Ok(ids)
}

const CLAIM: &str = concat!(
    "UPDATE jobs SET state = 'running', attempt = attempt + 1, lease_token = $4, \
     locked_until = $5, locked_by = $6 \
     WHERE state IN ('available', 'retryable') AND id IN (SELECT id FROM jobs \
     WHERE queue = $1 AND state IN ('available', 'retryable') AND run_at <= $2 \
     ORDER BY priority, run_at, id LIMIT $3) RETURNING ",
    columns!()
);

/// PostgreSQL's claim commits asynchronously (`synchronous_commit = off`
/// for its own transaction, set inside the statement so it stays one round
/// trip): if PostgreSQL itself crashes, the last fraction of a second of
/// claims may be lost, which only makes those jobs due again, as a claim
/// whose worker died would (a worker still running one learns it at its
/// next heartbeat and stops, so two runs may overlap briefly — at least
/// once). The jobs themselves were inserted durably.
/// Halving the durable commits of a job's run doubled no-op jobs/s
/// (docs/benchmarks.md, "Background jobs").
///
/// The jobs are picked by an uncorrelated `ARRAY(…)` sub-select, which
/// PostgreSQL runs once (an init plan), and updated by primary key. Under
/// `id IN (…)` the pick could be run again for each row the update scans
/// (a nested-loop semi-join, which a generic plan chose on a queue of a few
/// hundred jobs), and each run, skipping the rows the one before had
/// locked, picked more: a claim of 4 took all 408 due jobs, and a runner
/// left those beyond its free workers running until their leases ended.
/// The update does not test `state` again: the pick locked each row after
/// checking its latest version, and a second test made the generic plan
/// walk the due jobs' index instead (396 rows filtered out for 4, against
/// 24 buffers by primary key).
const CLAIM_LOCKED: &str = concat!(
    "WITH relaxed AS (SELECT set_config('synchronous_commit', 'off', true)) \
     UPDATE jobs SET state = 'running', attempt = attempt + 1, lease_token = $4, \
     locked_until = $5, locked_by = $6 \
     WHERE id = ANY(ARRAY(SELECT id FROM jobs \
     WHERE queue = $1 AND state IN ('available', 'retryable') AND run_at <= $2 \
     ORDER BY priority, run_at, id LIMIT $3 FOR UPDATE SKIP LOCKED)) \
     AND EXISTS (SELECT 1 FROM relaxed) RETURNING ",
    columns!()
);

const ANY_DUE: &str = "SELECT CAST(1 AS BIGINT) FROM jobs \
     WHERE queue = $1 AND state IN ('available', 'retryable') AND run_at <= $2 LIMIT 1";

/// The end of a lease of length `lease` taken at `at`.
pub fn lease_end(at: DateTime<Utc>, lease: Duration) -> DateTime<Utc> {
    at + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX)
}

pub async fn claim<B: Backend>(
    pool: &Pool<B::Db>,
    queue: &str,
    limit: i64,
    lease: Duration,
    worker: &str,
) -> StoreResult<Vec<Job>> {
    let at = now();
    let token = DbId(Uuid::now_v7());
    let args = (queue, at, limit, token, lease_end(at, lease), worker);
    let sql = B::read_for_update(CLAIM, CLAIM_LOCKED);
    let mut conn = B::conn(pool).await?;
    // Most polls find nothing: on SQLite, look before taking the write
    // lock. On PostgreSQL a claim that finds nothing writes nothing (no
    // transaction id, no commit to flush), so the look would only add a
    // round trip to every claim.
    if !B::ROW_LOCKS {
        let any = Stmt::new(ANY_DUE, (queue, at));
        let due: Option<i64> = B::scalar_optional(&mut conn, any).await?;
        if due.is_none() {
            return Ok(Vec::new());
        }
    }
    // One statement, atomic on its own: no lock is held across an await,
    // so a stalled runtime never keeps other writers waiting.
    let rows: Vec<JobRow> = B::all(&mut conn, Stmt::new(sql, args)).await?;
    let mut jobs = rows
        .into_iter()
        .map(Job::try_from)
        .collect::<StoreResult<Vec<_>>>()?;
    jobs.sort_by_key(|j| (j.priority, j.run_at, j.id));
    Ok(jobs)
}

const HEARTBEAT: &str = "UPDATE jobs SET locked_until = $3 \
     WHERE id = $1 AND state = 'running' AND lease_token = $2";

pub async fn heartbeat<B: Backend>(
    pool: &Pool<B::Db>,
    id: JobId,
    token: Uuid,
    until: DateTime<Utc>,
) -> StoreResult<bool> {
    let args = (DbId(id.0), DbId(token), until);
    let n = B::exec(&mut *B::conn(pool).await?, Stmt::new(HEARTBEAT, args)).await?;
    Ok(n == 1)
}

const COMPLETE: &str = "UPDATE jobs SET state = 'completed', finished_at = $3, \
     lease_token = NULL, locked_until = NULL \
     WHERE id = $1 AND state = 'running' AND lease_token = $2";

pub async fn complete<B: Backend>(pool: &Pool<B::Db>, id: JobId, token: Uuid) -> StoreResult<bool> {
    let args = (DbId(id.0), DbId(token), now());
    let n = B::exec(&mut *B::conn(pool).await?, Stmt::new(COMPLETE, args)).await?;
    Ok(n == 1)
}

/// Completes a batch with one commit (one fsync) for every job in it,
/// the way checkout's group commit shares one among orders; each job only
/// under its own lease token. One statement ([`Backend::COMPLETE_MANY`]):
/// no lock is held across an await, and the batch is one round trip. The
/// pairs go in id order, so batches written at once (PostgreSQL keeps
/// several in flight) lock their rows in one order.
pub async fn complete_many<B: Backend>(
    pool: &Pool<B::Db>,
    done: &[(JobId, Uuid)],
) -> StoreResult<Vec<bool>> {
    if done.is_empty() {
        return Ok(Vec::new());
    }
    let mut sorted = done.to_vec();
    sorted.sort_unstable();
    let pairs: Vec<[String; 2]> = sorted
        .iter()
        .map(|(id, token)| [id.0.to_string(), token.to_string()])
        .collect();
    let changed: Vec<(DbId,)> = B::all(
        &mut *B::conn(pool).await?,
        Stmt::new(B::COMPLETE_MANY, (Json(pairs), now())),
    )
    .await?;
    let changed: std::collections::HashSet<Uuid> = changed.into_iter().map(|(id,)| id.0).collect();
    Ok(done.iter().map(|(id, _)| changed.contains(&id.0)).collect())
}

const SNOOZE: &str = "UPDATE jobs SET state = 'available', run_at = $3, attempt = attempt - 1, \
     lease_token = NULL, locked_until = NULL, locked_by = NULL \
     WHERE id = $1 AND state = 'running' AND lease_token = $2 AND attempt > 0";

pub async fn snooze<B: Backend>(
    pool: &Pool<B::Db>,
    id: JobId,
    token: Uuid,
    until: DateTime<Utc>,
) -> StoreResult<bool> {
    let args = (DbId(id.0), DbId(token), until);
    let n = B::exec(&mut *B::conn(pool).await?, Stmt::new(SNOOZE, args)).await?;
    Ok(n == 1)
}

const HISTORY: &str = "SELECT attempt, errors FROM jobs \
     WHERE id = $1 AND state = 'running' AND lease_token = $2";

/// Settles a failed attempt; applies only while the job still runs under
/// the token (and, for the rescuer, `$8` — its lease — has ended).
const SETTLE_FAILURE: &str = "UPDATE jobs SET state = $3, run_at = COALESCE($4, run_at), \
     last_error = $5, errors = $6, finished_at = $7, lease_token = NULL, locked_until = NULL \
     WHERE id = $1 AND state = 'running' AND lease_token = $2 \
     AND (CAST($8 AS TEXT) IS NULL OR locked_until < $8)";

/// Records a failed attempt. The history is read, extended by the rule and
/// written back by a statement conditional on the lease token, without a
/// transaction: only the token's holder writes a running job, so nothing
/// can change the history in between, and no lock spans an await.
pub async fn fail<B: Backend>(
    pool: &Pool<B::Db>,
    id: JobId,
    token: Uuid,
    error: &str,
    failure: Failure,
) -> StoreResult<bool> {
    let mut conn = B::conn(pool).await?;
    let key = (DbId(id.0), DbId(token));
    let Some((attempt, errors)) =
        B::optional::<_, (i32, Json<Vec<JobErrorEntry>>)>(&mut conn, Stmt::new(HISTORY, key))
            .await?
    else {
        return Ok(false);
    };
    let at = now();
    let errors = rules::record_error(errors.0, attempt, at, error);
    let (state, run_at, finished) = match failure {
        Failure::RetryAt(when) => (JobState::Retryable, Some(when), None),
        Failure::Dead => (JobState::Dead, None, Some(at)),
    };
    let last = errors.last().map(|e| e.error.clone());
    let args = (
        key.0,
        key.1,
        state.as_str(),
        run_at,
        last,
        Json(errors),
        finished,
        None::<DateTime<Utc>>,
    );
    let n = B::exec(&mut conn, Stmt::new(SETTLE_FAILURE, args)).await?;
    Ok(n == 1)
}

/// How many expired leases one rescue pass settles.
const RESCUE_BATCH: i64 = 500;

const EXPIRED: &str = "SELECT id, lease_token, attempt, max_attempts, errors FROM jobs \
     WHERE state = 'running' AND locked_until < $1 ORDER BY locked_until LIMIT $2";

type Expired = (DbId, DbId, i32, i32, Json<Vec<JobErrorEntry>>);

/// Moves expired leases back (or to dead), each by a statement conditional
/// on the token it read and on the lease still being over, so a heartbeat
/// or another node's rescuer in between wins and nothing is moved twice.
pub async fn rescue<B: Backend>(pool: &Pool<B::Db>, at: DateTime<Utc>) -> StoreResult<u64> {
    let mut conn = B::conn(pool).await?;
    let expired: Vec<Expired> = B::all(&mut conn, Stmt::new(EXPIRED, (at, RESCUE_BATCH))).await?;
    let mut moved = 0;
    for (id, token, attempt, max_attempts, errors) in expired {
        let state = rules::rescued_state(attempt, max_attempts);
        let errors = rules::record_error(errors.0, attempt, at, rules::LEASE_EXPIRED);
        let finished = (state == JobState::Dead).then_some(at);
        let args = (
            id,
            token,
            state.as_str(),
            // Due again at once, in its old place in the queue.
            None::<DateTime<Utc>>,
            Some(rules::LEASE_EXPIRED),
            Json(errors),
            finished,
            Some(at),
        );
        moved += B::exec(&mut conn, Stmt::new(SETTLE_FAILURE, args)).await?;
    }
    Ok(moved)
}

/// A page of jobs, newest first, by the filters given. The usual shapes
/// (a shop's jobs, by state or not; every job, by state or not: the
/// console's lists and its "needs attention" count of dead ones) each
/// have a statement naming only their own columns, so the indexes
/// `(tenant_id, id)`, `(tenant_id, state, id)` and `(state, id)` serve
/// them and the page stops at its limit; a queue or kind filter takes
/// the general statement.
macro_rules! page {
    ($where:literal) => {
        concat!(
            "SELECT ",
            columns!(),
            " FROM jobs WHERE ",
            $where,
            " ORDER BY id DESC LIMIT "
        )
    };
}
const PAGE_ALL: &str = concat!(page!("TRUE"), "$1");
const PAGE_ALL_AFTER: &str = concat!(page!("id < $1"), "$2");
const PAGE_STATE: &str = concat!(page!("state = $1"), "$2");
const PAGE_STATE_AFTER: &str = concat!(page!("state = $1 AND id < $2"), "$3");
const PAGE_TENANT: &str = concat!(page!("tenant_id = $1"), "$2");
const PAGE_TENANT_AFTER: &str = concat!(page!("tenant_id = $1 AND id < $2"), "$3");
const PAGE_TENANT_STATE: &str = concat!(page!("tenant_id = $1 AND state = $2"), "$3");
const PAGE_TENANT_STATE_AFTER: &str =
    concat!(page!("tenant_id = $1 AND state = $2 AND id < $3"), "$4");
const PAGE: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM jobs WHERE (CAST($1 AS TEXT) IS NULL OR tenant_id = $1) \
     AND (CAST($2 AS TEXT) IS NULL OR id < $2) \
     AND (CAST($3 AS TEXT) IS NULL OR queue = $3) \
     AND (CAST($4 AS TEXT) IS NULL OR state = $4) \
     AND (CAST($5 AS TEXT) IS NULL OR kind = $5) \
     ORDER BY id DESC LIMIT $6"
);

pub async fn list<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: Option<TenantId>,
    filter: &JobFilter,
    page: &PageRequest,
) -> StoreResult<Page<Job>> {
    let before = parse_cursor(page)?.map(DbId);
    let tenant = tenant.or(filter.tenant).map(|t| DbId(t.0));
    let state = filter.state.map(JobState::as_str);
    let limit = page.fetch_limit();
    let mut conn = B::conn(pool).await?;
    let rows: Vec<JobRow> = if filter.queue.is_some() || filter.kind.is_some() {
        let args = (
            tenant,
            before,
            filter.queue.as_deref(),
            state,
            filter.kind.as_deref(),
            limit,
        );
        B::all(&mut *conn, Stmt::new(PAGE, args)).await?
    } else {
        match (tenant, state, before) {
            (None, None, None) => B::all(&mut *conn, Stmt::new(PAGE_ALL, (limit,))).await?,
            (None, None, Some(b)) => {
                B::all(&mut *conn, Stmt::new(PAGE_ALL_AFTER, (b, limit))).await?
            }
            (None, Some(s), None) => B::all(&mut *conn, Stmt::new(PAGE_STATE, (s, limit))).await?,
            (None, Some(s), Some(b)) => {
                B::all(&mut *conn, Stmt::new(PAGE_STATE_AFTER, (s, b, limit))).await?
            }
            (Some(t), None, None) => B::all(&mut *conn, Stmt::new(PAGE_TENANT, (t, limit))).await?,
            (Some(t), None, Some(b)) => {
                B::all(&mut *conn, Stmt::new(PAGE_TENANT_AFTER, (t, b, limit))).await?
            }
            (Some(t), Some(s), None) => {
                B::all(&mut *conn, Stmt::new(PAGE_TENANT_STATE, (t, s, limit))).await?
            }
            (Some(t), Some(s), Some(b)) => {
                B::all(
                    &mut *conn,
                    Stmt::new(PAGE_TENANT_STATE_AFTER, (t, s, b, limit)),
                )
                .await?
            }
        }
    };
    crate::stmt::page_of(rows, page, |j: &Job| j.id.0)
}

const ONE: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM jobs WHERE id = $1 AND (CAST($2 AS TEXT) IS NULL OR tenant_id = $2)"
);
const ONE_LOCKED: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM jobs WHERE id = $1 AND (CAST($2 AS TEXT) IS NULL OR tenant_id = $2) FOR UPDATE"
);

pub async fn get<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: Option<TenantId>,
    id: JobId,
) -> StoreResult<Job> {
    let args = (DbId(id.0), tenant.map(|t| DbId(t.0)));
    let row: Option<JobRow> = B::optional(&mut *B::conn(pool).await?, Stmt::new(ONE, args)).await?;
    crate::stmt::found(row, "job")
}

const REQUEUE: &str = "UPDATE jobs SET state = 'available', run_at = $2, attempt = 0, \
     finished_at = NULL, lease_token = NULL, locked_until = NULL WHERE id = $1";
const DISCARD: &str = "UPDATE jobs SET state = 'discarded', finished_at = $2, \
     lease_token = NULL, locked_until = NULL WHERE id = $1";

/// Moves the job after `check` accepts its current state, in one write
/// transaction (the row locked on PostgreSQL).
async fn operator_move<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: Option<TenantId>,
    id: JobId,
    check: fn(JobState) -> StoreResult<()>,
    sql: &'static str,
) -> StoreResult<Job> {
    let mut tx = B::write_tx(pool).await?;
    let key = (DbId(id.0), tenant.map(|t| DbId(t.0)));
    let read = B::read_for_update(ONE, ONE_LOCKED);
    let row: Option<JobRow> = B::optional(&mut tx, Stmt::new(read, key)).await?;
    let job: Job = crate::stmt::found(row, "job")?;
    check(job.state)?;
    B::exec(&mut tx, Stmt::new(sql, (key.0, now()))).await?;
    let row: Option<JobRow> = B::optional(&mut tx, Stmt::new(ONE, key)).await?;
    B::commit(tx).await?;
    crate::stmt::found(row, "job")
}

pub async fn retry<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: Option<TenantId>,
    id: JobId,
) -> StoreResult<Job> {
    operator_move::<B>(pool, tenant, id, rules::check_retry, REQUEUE).await
}

pub async fn discard<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: Option<TenantId>,
    id: JobId,
) -> StoreResult<Job> {
    operator_move::<B>(pool, tenant, id, rules::check_discard, DISCARD).await
}

/// Per queue, from the open states only (on SQLite through the `jobs_open`
/// partial index, on PostgreSQL through `jobs_state`: its `jobs_open` let
/// the claim read a whole backlog, migration 20261129000050): the
/// completed history is never counted.
const STATS: &str = "SELECT queue, \
     SUM(CASE WHEN state <> 'running' AND state <> 'dead' AND run_at <= $1 THEN 1 ELSE 0 END), \
     MIN(CASE WHEN state <> 'running' AND state <> 'dead' AND run_at <= $1 THEN run_at END), \
     SUM(CASE WHEN state <> 'running' AND state <> 'dead' AND run_at > $1 THEN 1 ELSE 0 END), \
     SUM(CASE WHEN state = 'running' THEN 1 ELSE 0 END), \
     SUM(CASE WHEN state = 'dead' THEN 1 ELSE 0 END) \
     FROM jobs WHERE state IN ('available', 'retryable', 'running', 'dead') \
     GROUP BY queue ORDER BY queue";

type StatsRow = (String, i64, Option<DateTime<Utc>>, i64, i64, i64);

pub async fn stats<B: Backend>(
    pool: &Pool<B::Db>,
    at: DateTime<Utc>,
) -> StoreResult<Vec<QueueStats>> {
    let rows: Vec<StatsRow> = B::all(&mut *B::conn(pool).await?, Stmt::new(STATS, (at,))).await?;
    Ok(rows
        .into_iter()
        .map(
            |(queue, ready, oldest_ready_at, scheduled, running, dead)| QueueStats {
                queue,
                ready,
                oldest_ready_at,
                scheduled,
                running,
                dead,
            },
        )
        .collect())
}

/// How many completed jobs one prune statement deletes, so pruning a long
/// history never holds the write lock for long.
const PRUNE_BATCH: i64 = 1000;

const PRUNE: &str = "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs \
     WHERE state = 'completed' AND finished_at < $1 LIMIT $2)";

pub async fn prune<B: Backend>(pool: &Pool<B::Db>, before: DateTime<Utc>) -> StoreResult<u64> {
    let mut total = 0;
    loop {
        let n = B::exec(
            &mut *B::conn(pool).await?,
            Stmt::new(PRUNE, (before, PRUNE_BATCH)),
        )
        .await?;
        total += n;
        if n < u64::try_from(PRUNE_BATCH).unwrap_or(u64::MAX) {
            return Ok(total);
        }
    }
}
