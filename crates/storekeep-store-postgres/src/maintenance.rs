//! Whole-database operations for `storekeep backup`: row counts and schema
//! version, scratch databases for verifying a dump, the migration lock,
//! and swapping a restored database in by renaming. Each opens connections
//! of its own; `pg_dump` and `pg_restore` themselves run in the caller.

use std::str::FromStr;

use sqlx::migrate::Migrate;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgConnection};
use storekeep_store::maintenance::DatabaseFacts;
use storekeep_store::{StoreError, StoreResult};

use crate::backend::PgBackend;
use crate::error;

async fn open(url: &str) -> StoreResult<PgConnection> {
    PgConnectOptions::from_str(url)
        .map_err(error::other)?
        .application_name("storekeep-backup")
        .connect()
        .await
        .map_err(error::other)
}

/// A connection to the server's `postgres` database, for creating,
/// dropping and renaming others.
async fn open_maintenance(url: &str) -> StoreResult<PgConnection> {
    PgConnectOptions::from_str(url)
        .map_err(error::other)?
        .database("postgres")
        .application_name("storekeep-backup")
        .connect()
        .await
        .map_err(error::other)
}

/// The database `url` names.
pub fn database_name(url: &str) -> StoreResult<String> {
    let options = PgConnectOptions::from_str(url).map_err(error::other)?;
    options
        .get_database()
        .map(str::to_owned)
        .ok_or(StoreError::Invalid("database.url names no database"))
}

fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The row counts, schema version and audit heads of the database at
/// `url`, read in one transaction.
pub async fn facts(url: &str) -> StoreResult<DatabaseFacts> {
    let mut conn = open(url).await?;
    sqlx::query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .execute(&mut conn)
        .await
        .map_err(error::other)?;
    let facts = read_facts(&mut conn).await?;
    sqlx::query("COMMIT")
        .execute(&mut conn)
        .await
        .map_err(error::other)?;
    conn.close().await.map_err(error::other)?;
    Ok(facts)
}

async fn read_facts(conn: &mut PgConnection) -> StoreResult<DatabaseFacts> {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(error::other)?;
    let count = async |conn: &mut PgConnection, name: &str| -> StoreResult<i64> {
        let sql = format!("SELECT COUNT(*) FROM public.{}", quoted(name));
        sqlx::query_scalar(&sql)
            .fetch_one(conn)
            .await
            .map_err(error::other)
    };
    storekeep_store_sql::maintenance::read_facts::<PgBackend>(conn, names, count).await
}

/// A read-only repeatable-read transaction whose snapshot is exported:
/// `pg_dump --snapshot` dumps exactly what [`ExportedSnapshot::facts`]
/// counts, while writers carry on.
pub struct ExportedSnapshot {
    conn: PgConnection,
    pub id: String,
}

pub async fn export_snapshot(url: &str) -> StoreResult<ExportedSnapshot> {
    let mut conn = open(url).await?;
    sqlx::query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .execute(&mut conn)
        .await
        .map_err(error::other)?;
    let id: String = sqlx::query_scalar("SELECT pg_export_snapshot()")
        .fetch_one(&mut conn)
        .await
        .map_err(error::other)?;
    Ok(ExportedSnapshot { conn, id })
}

impl ExportedSnapshot {
    /// The facts of the snapshot.
    pub async fn facts(&mut self) -> StoreResult<DatabaseFacts> {
        read_facts(&mut self.conn).await
    }

    /// Ends the transaction (call after `pg_dump` is done with it).
    pub async fn end(mut self) -> StoreResult<()> {
        sqlx::query("COMMIT")
            .execute(&mut self.conn)
            .await
            .map_err(error::other)?;
        self.conn.close().await.map_err(error::other)
    }
}

/// The newest migration this binary knows.
pub fn latest_known_migration() -> i64 {
    storekeep_store_sql::platform::known_migrations(&crate::MIGRATOR)
        .into_iter()
        .max()
        .unwrap_or(0)
}

/// Creates an empty database `name` on the server of `url` from
/// `template0`, with the encoding, collation and character classes of the
/// database `url` names (the server's defaults when that one does not
/// exist), so a restored database sorts and compares text as the one it
/// replaces.
pub async fn create_database(url: &str, name: &str) -> StoreResult<()> {
    let like = database_name(url)?;
    let mut conn = open_maintenance(url).await?;
    let row: Option<(String, String, String)> = sqlx::query_as(
        "SELECT pg_encoding_to_char(encoding)::text, datcollate::text, datctype::text \
         FROM pg_database WHERE datname = $1",
    )
    .bind(&like)
    .fetch_optional(&mut conn)
    .await
    .map_err(error::other)?;
    let mut sql = format!("CREATE DATABASE {} TEMPLATE template0", quoted(name));
    if let Some((encoding, collate, ctype)) = row {
        sql.push_str(&format!(
            " ENCODING {} LC_COLLATE {} LC_CTYPE {}",
            literal(&encoding),
            literal(&collate),
            literal(&ctype)
        ));
    }
    sqlx::query(&sql)
        .execute(&mut conn)
        .await
        .map_err(error::other)?;
    conn.close().await.map_err(error::other)
}

fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// Whether the database `url` names exists on its server.
pub async fn database_exists(url: &str) -> StoreResult<bool> {
    let name = database_name(url)?;
    let mut conn = open_maintenance(url).await?;
    let found: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&name)
            .fetch_one(&mut conn)
            .await
            .map_err(error::other)?;
    conn.close().await.map_err(error::other)?;
    Ok(found)
}

/// Drops database `name` (if it exists), closing its sessions.
pub async fn drop_database(url: &str, name: &str) -> StoreResult<()> {
    let mut conn = open_maintenance(url).await?;
    sqlx::query(&format!(
        "DROP DATABASE IF EXISTS {} WITH (FORCE)",
        quoted(name)
    ))
    .execute(&mut conn)
    .await
    .map_err(error::other)?;
    conn.close().await.map_err(error::other)
}

/// Sessions other than this command's connected to database `name`.
pub async fn other_sessions(url: &str, name: &str) -> StoreResult<i64> {
    let mut conn = open_maintenance(url).await?;
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
    )
    .bind(name)
    .fetch_one(&mut conn)
    .await
    .map_err(error::other)?;
    conn.close().await.map_err(error::other)?;
    Ok(n)
}

/// In one transaction: the database of `url` becomes `aside`, and
/// `restored` takes its name. Either both renames happen or neither
/// (PostgreSQL refuses while anyone is connected to either database).
/// With `aside` `None` (the database of `url` does not exist), `restored`
/// only takes its name.
pub async fn swap_in(url: &str, restored: &str, aside: Option<&str>) -> StoreResult<()> {
    let target = database_name(url)?;
    let mut conn = open_maintenance(url).await?;
    let mut tx = conn.begin().await.map_err(error::other)?;
    let renames = aside
        .map(|aside| {
            format!(
                "ALTER DATABASE {} RENAME TO {}",
                quoted(&target),
                quoted(aside)
            )
        })
        .into_iter()
        .chain([format!(
            "ALTER DATABASE {} RENAME TO {}",
            quoted(restored),
            quoted(&target)
        )]);
    for sql in renames {
        sqlx::query(&sql)
            .execute(&mut *tx)
            .await
            .map_err(error::other)?;
    }
    tx.commit().await.map_err(error::other)?;
    conn.close().await.map_err(error::other)
}

/// The advisory lock `migrate` takes (sqlx's, per database), held until
/// [`MigrationLock::release`]: no node migrates or starts meanwhile.
pub struct MigrationLock(PgConnection);

/// Takes the migration lock of the database of `url`, waiting for it.
pub async fn lock_migrations(url: &str) -> StoreResult<MigrationLock> {
    let mut conn = open(url).await?;
    conn.lock().await.map_err(error::other)?;
    Ok(MigrationLock(conn))
}

impl MigrationLock {
    pub async fn release(mut self) -> StoreResult<()> {
        self.0.unlock().await.map_err(error::other)?;
        self.0.close().await.map_err(error::other)
    }
}

/// The advisory lock key of scheduled backups (a constant, easy to find
/// in `pg_locks`).
pub const BACKUP_LOCK_KEY: i64 = 0x5354_4B42_4B55_5031; // "STKBKUP1"

/// A session advisory lock held for one scheduled backup run, on its own
/// connection: at most one run at a time across the cluster. Closing (or
/// losing) the connection releases it.
pub struct BackupLock(tokio::sync::Mutex<PgConnection>);

/// Takes the backup lock of the database of `url` without waiting;
/// `None`: another session (node) holds it.
pub async fn try_lock_backups(url: &str) -> StoreResult<Option<BackupLock>> {
    let mut conn = open(url).await?;
    let (got,): (bool,) = sqlx::query_as("SELECT pg_try_advisory_lock($1)")
        .bind(BACKUP_LOCK_KEY)
        .fetch_one(&mut conn)
        .await
        .map_err(error::other)?;
    if got {
        Ok(Some(BackupLock(tokio::sync::Mutex::new(conn))))
    } else {
        conn.close().await.map_err(error::other)?;
        Ok(None)
    }
}

impl BackupLock {
    /// Whether this session still holds the lock: its connection answers
    /// and `pg_locks` shows the lock granted to its backend. `false` once
    /// the session was lost (`idle_session_timeout`, a restart, the
    /// network), when another node may have taken the lock.
    pub async fn held(&self) -> bool {
        let mut conn = self.0.lock().await;
        // A bigint key is held as classid (high half), objid (low half),
        // objsubid 1.
        let held: Result<(bool,), _> = sqlx::query_as(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted
               AND pid = pg_backend_pid() AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
               AND classid = ($1 >> 32)::oid AND objid = ($1 & 4294967295)::oid AND objsubid = 1)",
        )
        .bind(BACKUP_LOCK_KEY)
        .fetch_one(&mut *conn)
        .await;
        matches!(held, Ok((true,)))
    }

    pub async fn release(self) -> StoreResult<()> {
        // Closing the session ends its advisory locks.
        self.0.into_inner().close().await.map_err(error::other)
    }
}
