//! Whole-database operations for `storekeep backup`: a consistent copy of
//! a live database, its tables' row counts and schema version, and
//! SQLite's own integrity checks. Each opens one connection of its own.

use std::path::Path;
use std::str::FromStr;

use sqlx::sqlite::{SqliteConnectOptions, SqliteLockingMode};
use sqlx::{ConnectOptions, Connection, SqliteConnection};
use storekeep_store::StoreResult;
use storekeep_store::maintenance::DatabaseFacts;

use crate::backend::SqliteBackend;
use crate::error;

async fn open(url: &str, read_only: bool) -> StoreResult<SqliteConnection> {
    SqliteConnectOptions::from_str(url)
        .map_err(error::other)?
        .read_only(read_only)
        .busy_timeout(std::time::Duration::from_secs(30))
        .connect()
        .await
        .map_err(error::other)
}

/// Writes a consistent snapshot of the database at `url` to `dest` (which
/// must not exist, or be empty) with `VACUUM INTO`: one read transaction, so writers
/// carry on and the copy holds exactly the transactions committed before
/// it began.
pub async fn vacuum_into(url: &str, dest: &Path) -> StoreResult<()> {
    let mut conn = open(url, true).await?;
    let dest = dest.to_str().ok_or_else(|| {
        storekeep_store::StoreError::Invalid("the snapshot path is not valid UTF-8")
    })?;
    sqlx::query("VACUUM INTO ?")
        .bind(dest)
        .execute(&mut conn)
        .await
        .map_err(error::other)?;
    conn.close().await.map_err(error::other)
}

/// The row counts, schema version and audit heads of the database at
/// `url`, read in one transaction.
pub async fn facts(url: &str) -> StoreResult<DatabaseFacts> {
    let mut conn = open(url, true).await?;
    let mut tx = conn.begin().await.map_err(error::other)?;
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .fetch_all(&mut *tx)
    .await
    .map_err(error::other)?;
    let count = async |conn: &mut SqliteConnection, name: &str| -> StoreResult<i64> {
        let sql = format!("SELECT COUNT(*) FROM \"{}\"", name.replace('"', "\"\""));
        sqlx::query_scalar(&sql)
            .fetch_one(conn)
            .await
            .map_err(error::other)
    };
    let facts =
        storekeep_store_sql::maintenance::read_facts::<SqliteBackend>(&mut tx, names, count)
            .await?;
    tx.commit().await.map_err(error::other)?;
    conn.close().await.map_err(error::other)?;
    Ok(facts)
}

/// The newest migration this binary knows.
pub fn latest_known_migration() -> i64 {
    storekeep_store_sql::platform::known_migrations(&crate::MIGRATOR)
        .into_iter()
        .max()
        .unwrap_or(0)
}

/// What `PRAGMA integrity_check` and `PRAGMA foreign_key_check` report;
/// empty when the file is sound.
pub async fn integrity_problems(url: &str) -> StoreResult<Vec<String>> {
    let mut conn = open(url, true).await?;
    let mut problems: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(&mut conn)
        .await
        .map_err(error::other)?
        .into_iter()
        .filter(|line: &String| line != "ok")
        .map(|line| format!("integrity_check: {line}"))
        .collect();
    let rows: Vec<(String, Option<i64>, String)> =
        sqlx::query_as("SELECT \"table\", rowid, parent FROM pragma_foreign_key_check")
            .fetch_all(&mut conn)
            .await
            .map_err(error::other)?;
    problems.extend(rows.into_iter().map(|(table, rowid, parent)| {
        format!(
            "foreign_key_check: row {} of {table} refers to a missing {parent}",
            rowid.map_or_else(|| "?".to_owned(), |r| r.to_string())
        )
    }));
    conn.close().await.map_err(error::other)?;
    Ok(problems)
}

/// `Some(why)` when another connection (a running server, another
/// command) has the database open; see [`Exclusive::take`]. The lock is
/// released at once.
pub async fn in_use(url: &str) -> StoreResult<Option<String>> {
    match Exclusive::take(url).await? {
        Ok(held) => {
            held.release().await?;
            Ok(None)
        }
        Err(why) => Ok(Some(why)),
    }
}

/// A connection holding the database's exclusive lock: while it lives no
/// other connection can read or write the database.
pub struct Exclusive(SqliteConnection);

impl Exclusive {
    /// The exclusive lock, or `Err(why)` when another connection (a
    /// running server, another command) has the database open. In WAL mode
    /// every open connection holds a shared lock on the file, so the lock
    /// is granted only to a connection that is alone; the locking mode
    /// EXCLUSIVE keeps it until [`Exclusive::release`].
    pub async fn take(url: &str) -> StoreResult<Result<Self, String>> {
        let mut conn = SqliteConnectOptions::from_str(url)
            .map_err(error::other)?
            .locking_mode(SqliteLockingMode::Exclusive)
            .busy_timeout(std::time::Duration::from_secs(1))
            .connect()
            .await
            .map_err(error::other)?;
        match sqlx::query("BEGIN EXCLUSIVE").execute(&mut conn).await {
            Ok(_) => {
                sqlx::query("COMMIT")
                    .execute(&mut conn)
                    .await
                    .map_err(error::other)?;
                Ok(Ok(Self(conn)))
            }
            Err(e) => {
                let why = e.to_string();
                conn.close().await.map_err(error::other)?;
                Ok(Err(why))
            }
        }
    }

    /// Moves every page of the write-ahead log into the main file and
    /// empties the log (`wal_checkpoint(TRUNCATE)`): the main file alone
    /// then holds the whole database.
    pub async fn checkpoint(&mut self) -> StoreResult<()> {
        let (busy, _, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
            .fetch_one(&mut self.0)
            .await
            .map_err(error::other)?;
        if busy != 0 {
            return Err(storekeep_store::StoreError::Invalid(
                "the write-ahead log could not be checkpointed: another connection is busy",
            ));
        }
        Ok(())
    }

    /// Closes the connection, which releases the lock.
    pub async fn release(self) -> StoreResult<()> {
        self.0.close().await.map_err(error::other)
    }
}
