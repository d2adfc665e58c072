//! [`Runner`]: runs a [`Stmt`] on one database's pool or transaction and
//! turns a failure into a [`StoreError`] with the classifier the backend
//! hands it (its `error::classify`, which makes an outage `Unavailable`),
//! so a backend's call sites read as one line each.

use std::marker::PhantomData;

use sqlx::postgres::PgQueryResult;
use sqlx::sqlite::SqliteQueryResult;
use sqlx::{Database, Executor, FromRow, IntoArguments};
use storekeep_store::{StoreError, StoreResult};

use crate::stmt::{Args, Stmt};

/// The number of rows a statement changed, on either database.
pub trait RowsAffected {
    fn rows_affected(&self) -> u64;
}

impl RowsAffected for SqliteQueryResult {
    fn rows_affected(&self) -> u64 {
        SqliteQueryResult::rows_affected(self)
    }
}

impl RowsAffected for PgQueryResult {
    fn rows_affected(&self) -> u64 {
        PgQueryResult::rows_affected(self)
    }
}

/// Runs statements on database `DB`, classifying errors with `classify`.
pub struct Runner<DB> {
    classify: fn(sqlx::Error) -> StoreError,
    db: PhantomData<fn() -> DB>,
}

impl<DB> Runner<DB>
where
    DB: Database,
    DB::QueryResult: RowsAffected,
    for<'a> DB::Arguments<'a>: IntoArguments<'a, DB>,
{
    pub const fn new(classify: fn(sqlx::Error) -> StoreError) -> Self {
        Self {
            classify,
            db: PhantomData,
        }
    }

    /// Runs `stmt`; the number of rows it changed.
    pub async fn exec<'a, A: Args<'a, DB>>(
        &self,
        conn: impl Executor<'a, Database = DB> + 'a,
        stmt: Stmt<A>,
    ) -> StoreResult<u64> {
        let done = stmt.query().execute(conn).await.map_err(self.classify)?;
        Ok(done.rows_affected())
    }

    /// The row `stmt` reads, if any.
    pub async fn optional<'a, A, O>(
        &self,
        conn: impl Executor<'a, Database = DB> + 'a,
        stmt: Stmt<A>,
    ) -> StoreResult<Option<O>>
    where
        A: Args<'a, DB>,
        O: for<'r> FromRow<'r, DB::Row> + Send + Unpin,
    {
        let query = stmt.query_as();
        query.fetch_optional(conn).await.map_err(self.classify)
    }

    /// The one row `stmt` reads.
    pub async fn one<'a, A, O>(
        &self,
        conn: impl Executor<'a, Database = DB> + 'a,
        stmt: Stmt<A>,
    ) -> StoreResult<O>
    where
        A: Args<'a, DB>,
        O: for<'r> FromRow<'r, DB::Row> + Send + Unpin,
    {
        let query = stmt.query_as();
        query.fetch_one(conn).await.map_err(self.classify)
    }

    /// Every row `stmt` reads.
    pub async fn all<'a, A, O>(
        &self,
        conn: impl Executor<'a, Database = DB> + 'a,
        stmt: Stmt<A>,
    ) -> StoreResult<Vec<O>>
    where
        A: Args<'a, DB>,
        O: for<'r> FromRow<'r, DB::Row> + Send + Unpin,
    {
        let query = stmt.query_as();
        query.fetch_all(conn).await.map_err(self.classify)
    }

    /// The one value `stmt` reads.
    pub async fn scalar<'a, A, O>(
        &self,
        conn: impl Executor<'a, Database = DB> + 'a,
        stmt: Stmt<A>,
    ) -> StoreResult<O>
    where
        A: Args<'a, DB>,
        (O,): for<'r> FromRow<'r, DB::Row>,
        O: Send + Unpin,
    {
        let query = stmt.query_scalar();
        query.fetch_one(conn).await.map_err(self.classify)
    }

    /// The value `stmt` reads, if it reads a row.
    pub async fn scalar_optional<'a, A, O>(
        &self,
        conn: impl Executor<'a, Database = DB> + 'a,
        stmt: Stmt<A>,
    ) -> StoreResult<Option<O>>
    where
        A: Args<'a, DB>,
        (O,): for<'r> FromRow<'r, DB::Row>,
        O: Send + Unpin,
    {
        let query = stmt.query_scalar();
        query.fetch_optional(conn).await.map_err(self.classify)
    }

    /// The value of every row `stmt` reads.
    pub async fn scalars<'a, A, O>(
        &self,
        conn: impl Executor<'a, Database = DB> + 'a,
        stmt: Stmt<A>,
    ) -> StoreResult<Vec<O>>
    where
        A: Args<'a, DB>,
        (O,): for<'r> FromRow<'r, DB::Row>,
        O: Send + Unpin,
    {
        let query = stmt.query_scalar();
        query.fetch_all(conn).await.map_err(self.classify)
    }
}
