//! Runs a shared [`Stmt`] on a pool or a transaction, a failure classified
//! by [`other`] (an outage is `Unavailable`), so call sites read as one
//! line each.

use sqlx::sqlite::SqliteRow;
use sqlx::{Executor, FromRow, Sqlite};
use storekeep_store::StoreResult;
use storekeep_store_sql::stmt::{Args, Stmt};

use crate::error::other;

/// Runs `stmt`; the number of rows it changed.
pub(crate) async fn exec<'a, A: Args<'a, Sqlite>>(
    conn: impl Executor<'a, Database = Sqlite> + 'a,
    stmt: Stmt<A>,
) -> StoreResult<u64> {
    let done = stmt.query().execute(conn).await.map_err(other)?;
    Ok(done.rows_affected())
}

/// The row `stmt` reads, if any.
pub(crate) async fn optional<'a, A, O>(
    conn: impl Executor<'a, Database = Sqlite> + 'a,
    stmt: Stmt<A>,
) -> StoreResult<Option<O>>
where
    A: Args<'a, Sqlite>,
    O: for<'r> FromRow<'r, SqliteRow> + Send + Unpin,
{
    stmt.query_as().fetch_optional(conn).await.map_err(other)
}

/// Every row `stmt` reads.
pub(crate) async fn all<'a, A, O>(
    conn: impl Executor<'a, Database = Sqlite> + 'a,
    stmt: Stmt<A>,
) -> StoreResult<Vec<O>>
where
    A: Args<'a, Sqlite>,
    O: for<'r> FromRow<'r, SqliteRow> + Send + Unpin,
{
    stmt.query_as().fetch_all(conn).await.map_err(other)
}

/// The one row `stmt` reads.
pub(crate) async fn one<'a, A, O>(
    conn: impl Executor<'a, Database = Sqlite> + 'a,
    stmt: Stmt<A>,
) -> StoreResult<O>
where
    A: Args<'a, Sqlite>,
    O: for<'r> FromRow<'r, SqliteRow> + Send + Unpin,
{
    stmt.query_as().fetch_one(conn).await.map_err(other)
}

/// The one value `stmt` reads.
pub(crate) async fn scalar<'a, A, O>(
    conn: impl Executor<'a, Database = Sqlite> + 'a,
    stmt: Stmt<A>,
) -> StoreResult<O>
where
    A: Args<'a, Sqlite>,
    (O,): for<'r> FromRow<'r, SqliteRow>,
    O: Send + Unpin,
{
    stmt.query_scalar().fetch_one(conn).await.map_err(other)
}

/// The value `stmt` reads, if it reads a row.
pub(crate) async fn scalar_optional<'a, A, O>(
    conn: impl Executor<'a, Database = Sqlite> + 'a,
    stmt: Stmt<A>,
) -> StoreResult<Option<O>>
where
    A: Args<'a, Sqlite>,
    (O,): for<'r> FromRow<'r, SqliteRow>,
    O: Send + Unpin,
{
    stmt.query_scalar()
        .fetch_optional(conn)
        .await
        .map_err(other)
}

/// The value of every row `stmt` reads.
pub(crate) async fn scalars<'a, A, O>(
    conn: impl Executor<'a, Database = Sqlite> + 'a,
    stmt: Stmt<A>,
) -> StoreResult<Vec<O>>
where
    A: Args<'a, Sqlite>,
    (O,): for<'r> FromRow<'r, SqliteRow>,
    O: Send + Unpin,
{
    stmt.query_scalar().fetch_all(conn).await.map_err(other)
}
