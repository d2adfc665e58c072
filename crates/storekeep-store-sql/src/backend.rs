//! [`Backend`]: what a database adds to the code both backends share, so
//! that code is written once, generic over the backend, and each backend
//! crate implements this trait once (a unit struct) with only what truly
//! differs: its transactions, locks, audit chain, error classification and
//! the few statements in its own dialect.
//!
//! sqlx's own bounds for code generic over a database (`FromRow` for the
//! database's row, `Executor` for its connection, `Encode` for every bound
//! value) would have to be spelt on every generic function. They are kept
//! here instead: [`SqlDb`], implemented for exactly `sqlx::Sqlite` and
//! `sqlx::Postgres`, runs a [`Stmt`] on a connection concretely per
//! driver, and takes rows and values that decode and bind on *both*
//! databases ([`SharedRow`], [`SharedArgs`]), bounds that name no generic
//! database, so the compiler checks them once per row type at the call.

use std::future::Future;
use std::pin::Pin;

use sqlx::pool::PoolConnection;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{Database, FromRow, Pool, Postgres, Sqlite, Transaction};
use storekeep_domain::{AuditContext, Cart, CartId, CategoryId, DomainName, Product, TenantId};
use storekeep_store::audit::Change;
use storekeep_store::{StoreError, StoreResult};

use crate::DbId;
use crate::catalog::ProductRow;
use crate::platform::TenantStatements;
use crate::stmt::{Args, Stmt};

/// A row type that decodes alike from both databases' rows.
pub trait SharedRow:
    for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin + 'static
{
}

impl<T> SharedRow for T where
    T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin + 'static
{
}

/// The values of a [`Stmt`] that bind alike on both databases.
pub trait SharedArgs<'q>: Args<'q, Sqlite> + Args<'q, Postgres> + Send + 'q {}

impl<'q, T> SharedArgs<'q> for T where T: Args<'q, Sqlite> + Args<'q, Postgres> + Send + 'q {}

/// A connection of the database `DB`: a [`Transaction`] or a
/// [`PoolConnection`] derefs to it.
pub type Conn<DB> = <DB as Database>::Connection;

mod sealed {
    pub trait Sealed {}
    impl Sealed for sqlx::Sqlite {}
    impl Sealed for sqlx::Postgres {}
}

/// What a failed statement becomes: a backend's classifier.
pub type MapErr<'a> = Box<dyn FnOnce(sqlx::Error) -> StoreError + Send + 'a>;

/// A boxed `Send` future: what [`SqlDb`] and [`Backend`] return, so that
/// generic async code holding one across an `.await` is `Send` without
/// restating their bounds.
pub type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Runs shared statements on one connection of this database, a failure
/// turned into a [`StoreError`] by the backend's `map`.
pub trait SqlDb: Database + sealed::Sealed {
    /// Runs `stmt`; the number of rows it changed.
    fn exec<'a, A: SharedArgs<'a>>(
        conn: &'a mut Conn<Self>,
        stmt: Stmt<A>,
        map: MapErr<'a>,
    ) -> BoxFut<'a, StoreResult<u64>>;

    /// The row `stmt` reads, if any.
    fn optional<'a, A: SharedArgs<'a>, O: SharedRow>(
        conn: &'a mut Conn<Self>,
        stmt: Stmt<A>,
        map: MapErr<'a>,
    ) -> BoxFut<'a, StoreResult<Option<O>>>;

    /// Every row `stmt` reads.
    fn all<'a, A: SharedArgs<'a>, O: SharedRow>(
        conn: &'a mut Conn<Self>,
        stmt: Stmt<A>,
        map: MapErr<'a>,
    ) -> BoxFut<'a, StoreResult<Vec<O>>>;

    /// A connection from `pool` (what running a statement on the pool
    /// itself does first).
    fn acquire(
        pool: &Pool<Self>,
        map: MapErr<'static>,
    ) -> BoxFut<'static, StoreResult<PoolConnection<Self>>>;

    /// Commits `tx`.
    fn commit(
        tx: Transaction<'static, Self>,
        map: MapErr<'static>,
    ) -> BoxFut<'static, StoreResult<()>>;
}

macro_rules! sql_db {
    ($db:ty) => {
        impl SqlDb for $db {
            fn exec<'a, A: SharedArgs<'a>>(
                conn: &'a mut Conn<Self>,
                stmt: Stmt<A>,
                map: MapErr<'a>,
            ) -> BoxFut<'a, StoreResult<u64>> {
                Box::pin(async move {
                    match stmt.query().execute(conn).await {
                        Ok(done) => Ok(done.rows_affected()),
                        Err(e) => Err(map(e)),
                    }
                })
            }

            fn optional<'a, A: SharedArgs<'a>, O: SharedRow>(
                conn: &'a mut Conn<Self>,
                stmt: Stmt<A>,
                map: MapErr<'a>,
            ) -> BoxFut<'a, StoreResult<Option<O>>> {
                Box::pin(async move { stmt.query_as().fetch_optional(conn).await.map_err(map) })
            }

            fn all<'a, A: SharedArgs<'a>, O: SharedRow>(
                conn: &'a mut Conn<Self>,
                stmt: Stmt<A>,
                map: MapErr<'a>,
            ) -> BoxFut<'a, StoreResult<Vec<O>>> {
                Box::pin(async move { stmt.query_as().fetch_all(conn).await.map_err(map) })
            }

            fn acquire(
                pool: &Pool<Self>,
                map: MapErr<'static>,
            ) -> BoxFut<'static, StoreResult<PoolConnection<Self>>> {
                let acquire = pool.acquire();
                Box::pin(async move { acquire.await.map_err(map) })
            }

            fn commit(
                tx: Transaction<'static, Self>,
                map: MapErr<'static>,
            ) -> BoxFut<'static, StoreResult<()>> {
                Box::pin(async move { tx.commit().await.map_err(map) })
            }
        }
    };
}

sql_db!(Sqlite);
sql_db!(Postgres);

/// One SQL backend: its database and what it does differently. Generic
/// store code calls `B::one(&mut *tx, stmt)`, `B::write_tx(pool)`,
/// `B::record(…)`; each backend crate implements this once.
pub trait Backend: Send + Sync + 'static {
    type Db: SqlDb;

    /// Unique constraints of the catalog, as this database names them in
    /// its errors, and the input field each blames.
    const CATALOG_UNIQUES: &'static [(&'static str, &'static str)];

    /// Whether a write must lock the rows it reads before changing them
    /// (`FOR UPDATE`): true on PostgreSQL, whose transactions run at READ
    /// COMMITTED; false on SQLite, whose write transaction (`BEGIN
    /// IMMEDIATE`) already serialises every writer.
    const ROW_LOCKS: bool;

    /// `locked` if this database locks rows ([`Backend::ROW_LOCKS`]),
    /// else `plain`: the two spellings of one read.
    fn read_for_update(plain: &'static str, locked: &'static str) -> &'static str {
        if Self::ROW_LOCKS { locked } else { plain }
    }

    /// Inserts `jobs` in the caller's transaction as
    /// [`crate::jobs::enqueue_in`] inserts each (a taken unique key inserts
    /// nothing), answering no ids: what the outbox dispatcher needs. A
    /// statement a job here, where SQLite's statements cost no round trip;
    /// PostgreSQL inserts the whole batch in one statement.
    fn enqueue_all<'a>(
        conn: &'a mut Conn<Self::Db>,
        jobs: &'a [storekeep_domain::NewJob],
    ) -> BoxFut<'a, StoreResult<()>>
    where
        Self: Sized,
    {
        Box::pin(async move {
            for job in jobs {
                crate::jobs::enqueue_in::<Self>(&mut *conn, job).await?;
            }
            Ok(())
        })
    }

    /// Completes a batch of jobs in one statement: `$1` is a JSON array of
    /// `[id, lease token]` pairs, `$2` the time; each job changes only while
    /// `running` under its token; answers the ids it changed. One statement,
    /// not a transaction of single-job updates: no lock is held across an
    /// await (SQLite's one writer would keep every other writer waiting
    /// whenever the runtime stalls), and on PostgreSQL the batch costs one
    /// round trip instead of one per job.
    const COMPLETE_MANY: &'static str;
    /// Writes a rental contract's installments in one statement: `$1` is
    /// the shop, `$2` the contract, `$3` a JSON array of `[id, seq, due
    /// date, amount]` (`contracts::insert_installments`).
    const INSERT_INSTALLMENTS: &'static str;

    /// The unique constraint of a taken plan name, as named in this
    /// database's errors.
    const PLAN_UNIQUES: &'static [(&'static str, &'static str)];

    /// The unique constraints a taken slug or domain violates, as named in
    /// this database's errors.
    const TENANT_UNIQUES: &'static [(&'static str, &'static str)];

    /// The tenant statements, with this dialect's domain aggregate
    /// (`crate::tenant_statements!`).
    const TENANTS: TenantStatements;

    /// Files a tenant's domains (a taken one is a `Conflict`).
    fn insert_domains<'a>(
        conn: &'a mut Conn<Self::Db>,
        tenant: DbId,
        domains: &'a [DomainName],
    ) -> BoxFut<'a, StoreResult<()>>;

    /// The unique constraints of `users` (a taken email), as named in this
    /// database's errors.
    const USER_UNIQUES: &'static [(&'static str, &'static str)];

    /// The account with email index `$3` of kind `$2` in shop `$1` (or the
    /// platform's, for a NULL shop), in this dialect's NULL-safe equality
    /// (`crate::select_users!`).
    const USER_BY_EMAIL: &'static str;

    /// The error of a failed statement: `Unavailable` for an outage.
    fn classify(e: sqlx::Error) -> StoreError;

    /// As [`Backend::classify`], but a unique violation of one of
    /// `uniques` is a `Conflict` on its field.
    fn map_unique(e: sqlx::Error, uniques: &[(&str, &'static str)]) -> StoreError;

    /// A write transaction (on SQLite `BEGIN IMMEDIATE`, which takes the
    /// database's write lock up front).
    fn write_tx(pool: &Pool<Self::Db>) -> BoxFut<'_, StoreResult<Transaction<'static, Self::Db>>>;

    /// A read-only transaction whose statements all read one snapshot (on
    /// PostgreSQL REPEATABLE READ READ ONLY; on SQLite a deferred `BEGIN`,
    /// whose first read fixes the snapshot): a view built from several
    /// statements never shows half of a write that committed between them.
    fn snapshot_tx(
        pool: &Pool<Self::Db>,
    ) -> BoxFut<'_, StoreResult<Transaction<'static, Self::Db>>>;

    /// Serialises the shop's limit checks, category tree changes and
    /// imports (a row lock on PostgreSQL; a no-op on SQLite, whose write
    /// transaction already serialises every writer).
    fn lock_tenant(conn: &mut Conn<Self::Db>, tenant: TenantId) -> BoxFut<'_, StoreResult<()>>;

    /// Recomputes a product's cheapest price and available stock (in this
    /// dialect's `max`/`greatest`).
    fn refresh_summary(conn: &mut Conn<Self::Db>, product: DbId) -> BoxFut<'_, StoreResult<()>>;

    /// Appends `change` to its audit chain, made by `ctx`, in the
    /// caller's transaction (on PostgreSQL locking the chain's head).
    fn record_change<'a>(
        conn: &'a mut Conn<Self::Db>,
        ctx: &'a AuditContext,
        change: Change,
    ) -> BoxFut<'a, StoreResult<()>>;

    /// Appends `changes`, all of one chain, in order, in the caller's
    /// transaction, reading and writing the chain's head once.
    fn record_changes<'a>(
        conn: &'a mut Conn<Self::Db>,
        ctx: &'a AuditContext,
        changes: Vec<Change>,
    ) -> BoxFut<'a, StoreResult<()>>;

    /// The daily rentals pass's set-based statements in this dialect
    /// (`crate::daily_statements!`).
    const DAILY: crate::contracts::daily::DailyStatements;

    /// Product rows made whole, in their order: their variants, images and
    /// filings read with one statement each, the products' ids bound as
    /// this database binds a list.
    fn assemble(
        conn: &mut Conn<Self::Db>,
        rows: Vec<ProductRow>,
    ) -> BoxFut<'_, StoreResult<Vec<Product>>>;

    /// Replaces a product's tags with `tags`.
    fn set_tags<'a>(
        conn: &'a mut Conn<Self::Db>,
        tenant: TenantId,
        product: DbId,
        tags: &'a [String],
    ) -> BoxFut<'a, StoreResult<()>>;

    /// Files a product under `categories`, in that order (a repeat keeps its
    /// first position), in place of its filings; a category the shop does
    /// not have is refused.
    fn set_categories<'a>(
        conn: &'a mut Conn<Self::Db>,
        tenant: TenantId,
        product: DbId,
        categories: &'a [CategoryId],
    ) -> BoxFut<'a, StoreResult<()>>;

    /// The shop's cart `id` with its lines; `NotFound` for none.
    fn fetch_cart(
        conn: &mut Conn<Self::Db>,
        tenant: TenantId,
        id: CartId,
    ) -> BoxFut<'_, StoreResult<Cart>>;

    /// A connection from `pool`, for reads outside a transaction (what
    /// running a statement on the pool itself does, without a round trip).
    fn conn(pool: &Pool<Self::Db>) -> BoxFut<'static, StoreResult<PoolConnection<Self::Db>>> {
        Self::Db::acquire(pool, Box::new(Self::classify))
    }

    /// Commits `tx`.
    fn commit(tx: Transaction<'static, Self::Db>) -> BoxFut<'static, StoreResult<()>> {
        Self::Db::commit(tx, Box::new(Self::classify))
    }

    /// Runs `stmt`; the number of rows it changed.
    fn exec<'a, A: SharedArgs<'a>>(
        conn: &'a mut Conn<Self::Db>,
        stmt: Stmt<A>,
    ) -> BoxFut<'a, StoreResult<u64>> {
        Self::Db::exec(conn, stmt, Box::new(Self::classify))
    }

    /// Runs `stmt`, a unique violation of `uniques` being a `Conflict`.
    fn exec_unique<'a, A: SharedArgs<'a>>(
        conn: &'a mut Conn<Self::Db>,
        stmt: Stmt<A>,
        uniques: &'a [(&'a str, &'static str)],
    ) -> BoxFut<'a, StoreResult<u64>> {
        Self::Db::exec(conn, stmt, Box::new(|e| Self::map_unique(e, uniques)))
    }

    /// The row `stmt` reads, if any.
    fn optional<'a, A: SharedArgs<'a>, O: SharedRow>(
        conn: &'a mut Conn<Self::Db>,
        stmt: Stmt<A>,
    ) -> BoxFut<'a, StoreResult<Option<O>>> {
        Self::Db::optional(conn, stmt, Box::new(Self::classify))
    }

    /// The one row `stmt` reads.
    fn one<'a, A: SharedArgs<'a>, O: SharedRow>(
        conn: &'a mut Conn<Self::Db>,
        stmt: Stmt<A>,
    ) -> BoxFut<'a, StoreResult<O>> {
        let row = Self::optional(conn, stmt);
        Box::pin(async move {
            row.await?
                .ok_or_else(|| Self::classify(sqlx::Error::RowNotFound))
        })
    }

    /// Every row `stmt` reads.
    fn all<'a, A: SharedArgs<'a>, O: SharedRow>(
        conn: &'a mut Conn<Self::Db>,
        stmt: Stmt<A>,
    ) -> BoxFut<'a, StoreResult<Vec<O>>> {
        Self::Db::all(conn, stmt, Box::new(Self::classify))
    }

    /// The one value `stmt` reads.
    fn scalar<'a, A: SharedArgs<'a>, O>(
        conn: &'a mut Conn<Self::Db>,
        stmt: Stmt<A>,
    ) -> BoxFut<'a, StoreResult<O>>
    where
        (O,): SharedRow,
    {
        let row = Self::one::<A, (O,)>(conn, stmt);
        Box::pin(async move { Ok(row.await?.0) })
    }

    /// The value `stmt` reads, if it reads a row.
    fn scalar_optional<'a, A: SharedArgs<'a>, O>(
        conn: &'a mut Conn<Self::Db>,
        stmt: Stmt<A>,
    ) -> BoxFut<'a, StoreResult<Option<O>>>
    where
        (O,): SharedRow,
    {
        let row = Self::optional::<A, (O,)>(conn, stmt);
        Box::pin(async move { Ok(row.await?.map(|(o,)| o)) })
    }

    /// Appends audit event `e` to the shop's chain in the caller's
    /// transaction.
    fn record<'a>(
        conn: &'a mut Conn<Self::Db>,
        tenant: TenantId,
        ctx: &'a AuditContext,
        e: storekeep_store::rules::catalog_audit::AuditEvent,
    ) -> BoxFut<'a, StoreResult<()>> {
        let change = Change {
            before: e.before,
            after: e.after,
            ..Change::new(tenant.to_string(), e.action, e.target)
        };
        Self::record_change(conn, ctx, change)
    }
}
