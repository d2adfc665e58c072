//! [`PgBackend`]: what PostgreSQL does its own way in the store code both backends
//! share (`storekeep_store_sql::backend`).

use sqlx::{Pool, Postgres, Transaction};
use storekeep_domain::{AuditContext, Cart, CartId, CategoryId, DomainName, Product, TenantId};
use storekeep_store::audit::Change;
use storekeep_store::rules::platform::FIELD_NAME;
use storekeep_store::{StoreError, StoreResult};
use storekeep_store_sql::DbId;
use storekeep_store_sql::backend::{Backend, BoxFut, Conn};
use storekeep_store_sql::catalog::ProductRow;
use storekeep_store_sql::contracts::daily::DailyStatements;
use storekeep_store_sql::platform::TenantStatements;

use crate::{audit, catalog, error, tenants, users};

/// This backend, for the shared generic store code.
pub(crate) struct PgBackend;

impl Backend for PgBackend {
    type Db = Postgres;

    const CATALOG_UNIQUES: &'static [(&'static str, &'static str)] = catalog::UNIQUES;
    const ROW_LOCKS: bool = true;
    // Committed asynchronously, like the claim (`jobs::CLAIM_LOCKED`): a
    // completion lost in a PostgreSQL crash leaves its job running until
    // its lease ends, and it runs again (at least once, as documented).
    //
    // The jobs are found by id (`id = ANY(ARRAY(…))`, an init plan):
    // joined to the JSON's rows alone, PostgreSQL scanned every entry of
    // the running jobs' partial index (`jobs_leases`) and its heap pages,
    // which under load hold thousands of versions that stopped running
    // since the last vacuum — 2,371 entries and 226 buffers to complete
    // 12 jobs (1.5 ms), the largest PostgreSQL cost of a checkout load.
    //
    // Nor does it test `state`: with `state = 'running'` beside the ids,
    // the partial index's predicate matched, and while the statistics said
    // no job was running (a queue that keeps up, analysed between rushes)
    // PostgreSQL still chose that index, filtering by id (998 entries read
    // to complete 2 jobs on a copy, 0.32 ms against 0.14 ms by primary
    // key). The lease token says it alone: a claim sets a new one as the
    // job starts running, and every way out of `running` (completion,
    // snooze, failure, the rescue of an ended lease) clears it; requeue
    // and discard, which refuse running jobs, clear it too.
    const COMPLETE_MANY: &'static str = "WITH relaxed AS (SELECT set_config('synchronous_commit', 'off', true)), \
         done AS (SELECT CAST(e ->> 0 AS uuid) AS id, CAST(e ->> 1 AS uuid) AS token \
         FROM jsonb_array_elements(CAST($1 AS jsonb)) AS e) \
         UPDATE jobs SET state = 'completed', finished_at = $2, \
         lease_token = NULL, locked_until = NULL \
         FROM done \
         WHERE jobs.id = ANY(ARRAY(SELECT id FROM done)) AND jobs.id = done.id \
         AND jobs.lease_token = done.token \
         AND EXISTS (SELECT 1 FROM relaxed) \
         RETURNING jobs.id";
    const INSERT_INSTALLMENTS: &'static str = "INSERT INTO rental_installments \
         (id, tenant_id, contract_id, seq, due_date, amount) \
         SELECT CAST(e ->> 0 AS uuid), $1, $2, CAST(e ->> 1 AS integer), CAST(e ->> 2 AS date), \
         CAST(e ->> 3 AS bigint) FROM jsonb_array_elements(CAST($3 AS jsonb)) AS e";
    const PLAN_UNIQUES: &'static [(&'static str, &'static str)] = &[("plans_name_key", FIELD_NAME)];
    const TENANT_UNIQUES: &'static [(&'static str, &'static str)] = tenants::UNIQUES;
    const TENANTS: TenantStatements = tenants::STATEMENTS;
    const USER_UNIQUES: &'static [(&'static str, &'static str)] = users::UNIQUES;
    const USER_BY_EMAIL: &'static str = users::BY_EMAIL;
    const DAILY: DailyStatements = DAILY;

    fn classify(e: sqlx::Error) -> StoreError {
        error::classify(e)
    }

    fn map_unique(e: sqlx::Error, uniques: &[(&str, &'static str)]) -> StoreError {
        error::map(e, uniques)
    }

    fn write_tx(pool: &Pool<Postgres>) -> BoxFut<'_, StoreResult<Transaction<'static, Postgres>>> {
        Box::pin(crate::write_tx(pool))
    }

    fn snapshot_tx(
        pool: &Pool<Postgres>,
    ) -> BoxFut<'_, StoreResult<Transaction<'static, Postgres>>> {
        Box::pin(crate::snapshot_tx(pool))
    }

    fn lock_tenant(conn: &mut Conn<Postgres>, tenant: TenantId) -> BoxFut<'_, StoreResult<()>> {
        Box::pin(catalog::lock_tenant(conn, tenant))
    }

    fn insert_domains<'a>(
        conn: &'a mut Conn<Postgres>,
        tenant: DbId,
        domains: &'a [DomainName],
    ) -> BoxFut<'a, StoreResult<()>> {
        Box::pin(tenants::insert_domains(conn, tenant, domains))
    }

    fn enqueue_all<'a>(
        conn: &'a mut Conn<Postgres>,
        jobs: &'a [storekeep_domain::NewJob],
    ) -> BoxFut<'a, StoreResult<()>> {
        Box::pin(crate::jobs::enqueue_all(conn, jobs))
    }

    fn refresh_summary(conn: &mut Conn<Postgres>, product: DbId) -> BoxFut<'_, StoreResult<()>> {
        Box::pin(catalog::refresh_summary(conn, product))
    }

    fn fetch_cart(
        conn: &mut Conn<Postgres>,
        tenant: TenantId,
        id: CartId,
    ) -> BoxFut<'_, StoreResult<Cart>> {
        Box::pin(crate::commerce::carts::fetch_cart(conn, tenant, id))
    }

    fn assemble(
        conn: &mut Conn<Postgres>,
        rows: Vec<ProductRow>,
    ) -> BoxFut<'_, StoreResult<Vec<Product>>> {
        Box::pin(catalog::assemble(conn, rows))
    }

    fn set_tags<'a>(
        conn: &'a mut Conn<Postgres>,
        tenant: TenantId,
        product: DbId,
        tags: &'a [String],
    ) -> BoxFut<'a, StoreResult<()>> {
        Box::pin(catalog::set_tags(conn, tenant, product, tags))
    }

    fn set_categories<'a>(
        conn: &'a mut Conn<Postgres>,
        tenant: TenantId,
        product: DbId,
        categories: &'a [CategoryId],
    ) -> BoxFut<'a, StoreResult<()>> {
        Box::pin(catalog::set_categories(conn, tenant, product, categories))
    }

    fn record_change<'a>(
        conn: &'a mut Conn<Postgres>,
        ctx: &'a AuditContext,
        change: Change,
    ) -> BoxFut<'a, StoreResult<()>> {
        Box::pin(async move {
            audit::record(conn, ctx, change).await?;
            Ok(())
        })
    }

    fn record_changes<'a>(
        conn: &'a mut Conn<Postgres>,
        ctx: &'a AuditContext,
        changes: Vec<Change>,
    ) -> BoxFut<'a, StoreResult<()>> {
        Box::pin(async move {
            audit::record_many(conn, ctx, changes).await?;
            Ok(())
        })
    }
}

/// The daily pass's statements, reading a JSON array's rows with
/// `jsonb_to_recordset` (typed columns).
pub const DAILY: DailyStatements = storekeep_store_sql::daily_statements!(
    "(SELECT * FROM jsonb_to_recordset($1) AS r(id uuid, fee bigint))",
    "(SELECT id, prev::jsonb AS prev, next::jsonb AS next \
     FROM jsonb_to_recordset($1) AS r(id uuid, prev text, next text))",
    "(SELECT * FROM jsonb_to_recordset($1) AS r(id uuid, cutoff date))",
    "(SELECT * FROM jsonb_to_recordset($1) \
     AS r(id uuid, tenant_id uuid, topic text, subject text, payload jsonb))",
    "(SELECT * FROM jsonb_to_recordset($1) AS r(id uuid, kind text, queue text, \
     tenant_id uuid, payload jsonb, priority integer, max_attempts integer, unique_key text))"
);
