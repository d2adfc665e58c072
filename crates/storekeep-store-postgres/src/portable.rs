//! `storekeep export` / `storekeep import` on PostgreSQL: the connection and
//! transaction around the shared portable read and write
//! (`storekeep_store_sql::portable`). The search index is an expression index over
//! `products.search_doc`: it follows the rows. No sequences to move.

use std::str::FromStr;

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgConnection};
use storekeep_store::StoreResult;
use storekeep_store_sql::portable::{Extent, PortableError, ShopRows, TABLES, postgres};

use crate::error;

async fn open(url: &str, _read_only: bool) -> StoreResult<PgConnection> {
    PgConnectOptions::from_str(url)
        .map_err(error::other)?
        .application_name("storekeep-portable")
        .connect()
        .await
        .map_err(error::other)
}

async fn run(conn: &mut PgConnection, sql: &str) -> StoreResult<()> {
    sqlx::query(sql)
        .execute(conn)
        .await
        .map(|_| ())
        .map_err(error::other)
}

/// Every column of every table: `(table, column, declared type)`.
pub async fn columns(url: &str) -> StoreResult<Vec<(String, String, String)>> {
    let mut conn = open(url, true).await?;
    let cols = sqlx::query_as(
        "SELECT table_name::text, column_name::text, data_type::text FROM information_schema.columns \
         WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position",
    )
    .fetch_all(&mut conn)
    .await
    .map_err(error::other)?;
    conn.close().await.map_err(error::other)?;
    Ok(cols)
}

/// The shop `slug`, or the whole platform (`None`), read in one
/// transaction.
pub async fn export_shop(
    url: &str,
    slug: Option<&str>,
    progress: impl FnMut(&str, usize),
) -> Result<ShopRows, PortableError> {
    let mut conn = open(url, true).await?;
    run(&mut conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").await?;
    let shop = match slug {
        Some(slug) => postgres::read_shop(&mut conn, slug, progress).await,
        None => postgres::read_all(&mut conn, progress).await,
    };
    run(&mut conn, "COMMIT").await?;
    conn.close().await.map_err(error::other)?;
    shop
}

/// How many jobs of the shop `tenant` (all: `None`) are still to run.
pub async fn pending_jobs(url: &str, tenant: Option<uuid::Uuid>) -> StoreResult<i64> {
    let mut conn = open(url, true).await?;
    let n = postgres::pending_jobs(&mut conn, tenant).await?;
    conn.close().await.map_err(error::other)?;
    Ok(n)
}

/// The schema version and what the archive of `extent` would clash with
/// here (for the whole platform: why this database is not empty);
/// nothing written.
pub async fn check_shop(
    url: &str,
    shop: &ShopRows,
    extent: Extent,
) -> Result<(i64, Vec<String>), PortableError> {
    let mut conn = open(url, true).await?;
    let version = postgres::schema_version(&mut conn).await?;
    let clashes = postgres::clashes(&mut conn, shop, extent).await?;
    conn.close().await.map_err(error::other)?;
    Ok((version, clashes))
}

/// How long `import all` waits for the tables' lock before refusing.
const LOCK_WAIT: &str = "5s";

/// Locks every table the archive fills, for this transaction: `import all`
/// checks the database is empty, then fills it, and no other connection
/// may write a row in between (SQLite's `BEGIN IMMEDIATE` gives the
/// same). A connection that holds a table (a server's open transaction,
/// an idle session in one) is waited for at most [`LOCK_WAIT`]: then the
/// import is refused instead of blocking every writer behind it.
async fn lock_all(conn: &mut PgConnection) -> Result<(), PortableError> {
    run(conn, &format!("SET LOCAL lock_timeout = '{LOCK_WAIT}'")).await?;
    let names: Vec<String> = TABLES.iter().map(|t| format!("\"{}\"", t.name)).collect();
    let lock = format!(
        "LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE",
        names.join(", ")
    );
    match sqlx::query(&lock).execute(&mut *conn).await {
        Ok(_) => Ok(()),
        Err(sqlx::Error::Database(db)) if db.code().as_deref() == Some("55P03") => {
            Err(PortableError::Refused(format!(
                "another connection is writing to this database (its tables stayed locked for {LOCK_WAIT}): stop the servers and workers, then import again"
            )))
        }
        Err(e) => Err(PortableError::Store(error::other(e))),
    }
}

/// Writes the shop (or the whole platform: `extent`) in one transaction:
/// all of it, or nothing.
pub async fn import_shop(
    url: &str,
    shop: &ShopRows,
    extent: Extent,
    progress: impl FnMut(&str, usize),
) -> Result<(), PortableError> {
    let mut conn = open(url, false).await?;
    run(&mut conn, "BEGIN").await?;
    if extent == Extent::Platform
        && let Err(e) = lock_all(&mut conn).await
    {
        run(&mut conn, "ROLLBACK").await?;
        return Err(e);
    }
    let written = postgres::write(&mut conn, shop, extent, progress).await;
    match written {
        Ok(()) => run(&mut conn, "COMMIT").await?,
        Err(e) => {
            run(&mut conn, "ROLLBACK").await?;
            return Err(e);
        }
    }
    conn.close().await.map_err(error::other)?;
    Ok(())
}
