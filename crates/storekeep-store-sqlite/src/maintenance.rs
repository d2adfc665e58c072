//! Whole-database operations for `storekeep backup`: a consistent copy of
//! a live database, its tables' row counts and schema version, and
//! SQLite's own integrity checks. Each opens one connection of its own.

use std::path::Path;
use std::str::FromStr;

use sqlx::sqlite::{SqliteConnectOptions, SqliteLockingMode};
use sqlx::{ConnectOptions, Connection, SqliteConnection};
use storekeep_store::StoreResult;
use storekeep_store::maintenance::{AUDIT_HEADS, AuditHead, DatabaseFacts, SCHEMA_VERSION};

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
/// must not exist) with `VACUUM INTO`: one read transaction, so writers
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
    let mut facts = DatabaseFacts::default();
    for name in &names {
        let sql = format!("SELECT COUNT(*) FROM \"{}\"", name.replace('"', "\"\""));
        let n: i64 = sqlx::query_scalar(&sql)
            .fetch_one(&mut *tx)
            .await
            .map_err(error::other)?;
        facts.tables.insert(name.clone(), n);
    }
    if facts.tables.contains_key("_sqlx_migrations") {
        facts.schema_version = sqlx::query_scalar(SCHEMA_VERSION)
            .fetch_one(&mut *tx)
            .await
            .map_err(error::other)?;
    }
    if facts.tables.contains_key("audit_heads") {
        let heads: Vec<(String, i64, String)> = sqlx::query_as(AUDIT_HEADS)
            .fetch_all(&mut *tx)
            .await
            .map_err(error::other)?;
        facts.audit_heads = heads
            .into_iter()
            .map(|(scope, seq, hash)| (scope, AuditHead { seq, hash }))
            .collect();
    }
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
/// command) has the database open. In WAL mode every open connection holds
/// a shared lock on the file, so an exclusive lock is granted only to a
/// connection that is alone; it is released at once.
pub async fn in_use(url: &str) -> StoreResult<Option<String>> {
    let mut conn = SqliteConnectOptions::from_str(url)
        .map_err(error::other)?
        .locking_mode(SqliteLockingMode::Exclusive)
        .busy_timeout(std::time::Duration::from_secs(1))
        .connect()
        .await
        .map_err(error::other)?;
    let verdict = match sqlx::query("BEGIN EXCLUSIVE").execute(&mut conn).await {
        Ok(_) => {
            sqlx::query("COMMIT")
                .execute(&mut conn)
                .await
                .map_err(error::other)?;
            None
        }
        Err(e) => Some(e.to_string()),
    };
    conn.close().await.map_err(error::other)?;
    Ok(verdict)
}
