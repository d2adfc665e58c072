//! `storekeep export` / `storekeep import` on SQLite: the connection and
//! transaction around the shared portable read and write
//! (`storekeep_store_sql::portable`). Products get a new `rid` on insert,
//! and the FTS triggers index them as they arrive.

use std::str::FromStr;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, SqliteConnection};
use storekeep_store::StoreResult;
use storekeep_store_sql::portable::{Extent, PortableError, ShopRows, sqlite};

use crate::error;

async fn open(url: &str, read_only: bool) -> StoreResult<SqliteConnection> {
    SqliteConnectOptions::from_str(url)
        .map_err(error::other)?
        .read_only(read_only)
        .foreign_keys(true)
        .busy_timeout(std::time::Duration::from_secs(30))
        .connect()
        .await
        .map_err(error::other)
}

async fn run(conn: &mut SqliteConnection, sql: &str) -> StoreResult<()> {
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
        "SELECT m.name, p.name, p.type FROM sqlite_master m JOIN pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' ORDER BY m.name, p.cid",
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
    run(&mut conn, "BEGIN").await?;
    let shop = match slug {
        Some(slug) => sqlite::read_shop(&mut conn, slug, progress).await,
        None => sqlite::read_all(&mut conn, progress).await,
    };
    run(&mut conn, "COMMIT").await?;
    conn.close().await.map_err(error::other)?;
    shop
}

/// How many jobs of the shop `tenant` (all: `None`) are still to run.
pub async fn pending_jobs(url: &str, tenant: Option<uuid::Uuid>) -> StoreResult<i64> {
    let mut conn = open(url, true).await?;
    let n = sqlite::pending_jobs(&mut conn, tenant).await?;
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
    let version = sqlite::schema_version(&mut conn).await?;
    let clashes = sqlite::clashes(&mut conn, shop, extent).await?;
    conn.close().await.map_err(error::other)?;
    Ok((version, clashes))
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
    run(&mut conn, "BEGIN IMMEDIATE").await?;
    let written = sqlite::write(&mut conn, shop, extent, progress).await;
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
