//! Background product imports (`product_imports`): the console's CSV upload
//! is stored, queued as a job, and the job records here how far it got,
//! batch by batch, then the row errors and `done` (or why it `failed`).
//! Written once over the [`Backend`]; a shop's list is keyset-paged newest
//! first on its `(tenant_id, id)` index (migration
//! `20261128000095_product_imports`).

use chrono::{DateTime, Utc};
use sqlx::Pool;
use sqlx::types::Json;
use storekeep_domain::{
    ImportProgress, ImportRowError, ImportStatus, NewProductImport, Page, PageRequest,
    ProductImport, ProductImportId, TenantId,
};
use storekeep_store::{StoreError, StoreResult, now};

use crate::DbId;
use crate::backend::Backend;
use crate::commerce::page_before;
use crate::stmt::Stmt;

macro_rules! select {
    () => {
        "SELECT id, tenant_id, status, format, object_key, total_rows, rows_done, created, \
         updated, not_imported, errors, failure, created_by, created_at, updated_at, finished_at \
         FROM product_imports "
    };
}

/// `$1` id, `$2` tenant, `$3` format, `$4` object key, `$5` actor, `$6` time.
const INSERT: &str = "INSERT INTO product_imports \
     (id, tenant_id, status, format, object_key, created_by, created_at, updated_at) \
     VALUES ($1, $2, 'queued', $3, $4, $5, $6, $6)";
/// `$1` tenant, `$2` id.
const ONE: &str = concat!(select!(), "WHERE tenant_id = $1 AND id = $2");
/// `$1` tenant, `$2` the page's id bound, `$3` the fetch limit.
const LIST: &str = concat!(
    select!(),
    "WHERE tenant_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3"
);
/// `$1` total rows, `$2` rows done, `$3` created, `$4` updated, `$5` not
/// imported, `$6` time, `$7` tenant, `$8` id. Only an unfinished import moves.
const PROGRESS: &str = "UPDATE product_imports SET status = 'running', total_rows = $1, \
     rows_done = $2, created = $3, updated = $4, not_imported = $5, updated_at = $6 \
     WHERE tenant_id = $7 AND id = $8 AND status IN ('queued', 'running')";
/// As [`PROGRESS`], then `$6` the row errors, `$7` time, `$8` tenant, `$9` id.
const FINISH: &str = "UPDATE product_imports SET status = 'done', total_rows = $1, \
     rows_done = $2, created = $3, updated = $4, not_imported = $5, errors = $6, \
     updated_at = $7, finished_at = $7 \
     WHERE tenant_id = $8 AND id = $9 AND status IN ('queued', 'running')";
/// `$1` message, `$2` time, `$3` tenant, `$4` id.
const FAIL: &str = "UPDATE product_imports SET status = 'failed', failure = $1, \
     updated_at = $2, finished_at = $2 \
     WHERE tenant_id = $3 AND id = $4 AND status IN ('queued', 'running')";

#[derive(sqlx::FromRow)]
struct Row {
    id: DbId,
    tenant_id: DbId,
    status: String,
    format: String,
    object_key: String,
    total_rows: Option<i64>,
    rows_done: i64,
    created: i64,
    updated: i64,
    not_imported: i64,
    errors: Json<Vec<ImportRowError>>,
    failure: Option<String>,
    created_by: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
}

impl TryFrom<Row> for ProductImport {
    type Error = StoreError;
    fn try_from(r: Row) -> StoreResult<Self> {
        Ok(Self {
            id: ProductImportId(r.id.0),
            tenant_id: TenantId(r.tenant_id.0),
            status: ImportStatus::parse(&r.status)
                .ok_or(StoreError::Invalid("unknown import status"))?,
            format: r.format,
            object_key: r.object_key,
            progress: ImportProgress {
                total_rows: r.total_rows,
                rows_done: r.rows_done,
                created: r.created,
                updated: r.updated,
                not_imported: r.not_imported,
            },
            errors: r.errors.0,
            failure: r.failure,
            created_by: r.created_by,
            created_at: r.created_at,
            updated_at: r.updated_at,
            finished_at: r.finished_at,
        })
    }
}

pub async fn create<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    new: &NewProductImport,
) -> StoreResult<ProductImport> {
    let at = now();
    let args = (
        DbId(new.id.0),
        DbId(tenant.0),
        new.format.as_str(),
        new.object_key.as_str(),
        new.created_by.as_str(),
        at,
    );
    B::exec(&mut *B::conn(pool).await?, Stmt::new(INSERT, args)).await?;
    get::<B>(pool, tenant, new.id).await
}

pub async fn get<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    id: ProductImportId,
) -> StoreResult<ProductImport> {
    let args = (DbId(tenant.0), DbId(id.0));
    let row: Option<Row> = B::optional(&mut *B::conn(pool).await?, Stmt::new(ONE, args)).await?;
    crate::stmt::found(row, "import")
}

pub async fn list<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    page: &PageRequest,
) -> StoreResult<Page<ProductImport>> {
    let args = (DbId(tenant.0), page_before(page)?, page.fetch_limit());
    let rows: Vec<Row> = B::all(&mut *B::conn(pool).await?, Stmt::new(LIST, args)).await?;
    crate::stmt::page_of(rows, page, |i: &ProductImport| i.id.0)
}

/// Records progress; `false` when the import is already finished (a late
/// or repeated job), `NotFound` when there is no such import.
pub async fn progress<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    id: ProductImportId,
    p: &ImportProgress,
) -> StoreResult<bool> {
    let args = (
        p.total_rows,
        p.rows_done,
        p.created,
        p.updated,
        p.not_imported,
        now(),
        DbId(tenant.0),
        DbId(id.0),
    );
    let n = B::exec(&mut *B::conn(pool).await?, Stmt::new(PROGRESS, args)).await?;
    moved::<B>(pool, tenant, id, n).await
}

pub async fn finish<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    id: ProductImportId,
    p: &ImportProgress,
    errors: &[ImportRowError],
) -> StoreResult<bool> {
    let args = (
        p.total_rows,
        p.rows_done,
        p.created,
        p.updated,
        p.not_imported,
        Json(errors),
        now(),
        DbId(tenant.0),
        DbId(id.0),
    );
    let n = B::exec(&mut *B::conn(pool).await?, Stmt::new(FINISH, args)).await?;
    moved::<B>(pool, tenant, id, n).await
}

pub async fn fail<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    id: ProductImportId,
    message: &str,
) -> StoreResult<bool> {
    let args = (message, now(), DbId(tenant.0), DbId(id.0));
    let n = B::exec(&mut *B::conn(pool).await?, Stmt::new(FAIL, args)).await?;
    moved::<B>(pool, tenant, id, n).await
}

/// `true` when a statement changed the import; else `false` if it exists
/// (finished already) or `NotFound`.
async fn moved<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    id: ProductImportId,
    changed: u64,
) -> StoreResult<bool> {
    if changed > 0 {
        return Ok(true);
    }
    get::<B>(pool, tenant, id).await.map(|_| false)
}
