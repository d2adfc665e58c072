//! Jobs PostgreSQL inserts its own way: many in one statement.

use sqlx::types::Json;
use storekeep_domain::{JobId, NewJob};
use storekeep_store::rules::jobs::check_new_job;
use storekeep_store::{StoreResult, now};
use storekeep_store_sql::DbId;

use crate::Conn;
use crate::error::other;

/// `jobs` as `storekeep_store_sql::jobs::enqueue_in` inserts each (a taken
/// unique key inserts nothing, also between two of them), in one statement
/// over arrays: the outbox dispatcher's batch of jobs costs one round trip,
/// not one a job.
const INSERT_ALL: &str = "INSERT INTO jobs (id, kind, queue, tenant_id, payload, state, \
     priority, run_at, attempt, max_attempts, unique_key, created_at) \
     SELECT id, kind, queue, tenant_id, payload, 'available', priority, run_at, 0, \
     max_attempts, unique_key, $10 \
     FROM unnest($1::uuid[], $2::text[], $3::text[], $4::uuid[], $5::jsonb[], $6::int4[], \
     $7::timestamptz[], $8::int4[], $9::text[]) \
     AS j (id, kind, queue, tenant_id, payload, priority, run_at, max_attempts, unique_key) \
     ON CONFLICT (unique_key) WHERE unique_key IS NOT NULL DO NOTHING";

pub(crate) async fn enqueue_all(conn: &mut Conn, jobs: &[NewJob]) -> StoreResult<()> {
    if jobs.is_empty() {
        return Ok(());
    }
    for job in jobs {
        check_new_job(job)?;
    }
    let at = now();
    let n = jobs.len();
    let mut ids = Vec::with_capacity(n);
    let (mut kinds, mut queues) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let (mut tenants, mut payloads) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let (mut priorities, mut run_at) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let (mut attempts, mut keys) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for job in jobs {
        ids.push(DbId(JobId::new().0));
        kinds.push(job.kind.as_str());
        queues.push(job.queue.as_str());
        tenants.push(job.tenant.map(|t| t.0));
        payloads.push(Json(&job.payload));
        priorities.push(job.priority);
        run_at.push(job.first_run(at));
        attempts.push(job.attempts());
        keys.push(job.unique_key.as_deref());
    }
    sqlx::query(INSERT_ALL)
        .bind(&ids)
        .bind(&kinds)
        .bind(&queues)
        .bind(&tenants)
        .bind(&payloads)
        .bind(&priorities)
        .bind(&run_at)
        .bind(&attempts)
        .bind(&keys)
        .bind(at)
        .execute(&mut *conn)
        .await
        .map_err(other)?;
    Ok(())
}
