//! The hash-chained audit log on SQLite. Appends run inside the caller's
//! `BEGIN IMMEDIATE` transaction, which holds SQLite's write lock, so the
//! head read here is the head the entry is appended to.

use sqlx::{SqliteConnection, SqlitePool};
use storekeep_domain::{AuditContext, AuditEntry};
use storekeep_store::audit::{GENESIS, chain_hash};
use storekeep_store::{StoreError, StoreResult, now};

#[derive(sqlx::FromRow)]
struct AuditRow {
    scope: String,
    seq: i64,
    actor: String,
    action: String,
    target: String,
    before: Option<String>,
    after: Option<String>,
    ip: Option<String>,
    request_id: Option<String>,
    at: chrono::DateTime<chrono::Utc>,
    prev_hash: String,
    hash: String,
}

impl TryFrom<AuditRow> for AuditEntry {
    type Error = StoreError;
    fn try_from(r: AuditRow) -> StoreResult<Self> {
        let json = |s: Option<String>| -> StoreResult<Option<serde_json::Value>> {
            s.map(|s| serde_json::from_str(&s).map_err(crate::error::other))
                .transpose()
        };
        Ok(AuditEntry {
            seq: r.seq,
            scope: r.scope,
            actor: r.actor,
            action: r.action,
            target: r.target,
            before: json(r.before)?,
            after: json(r.after)?,
            ip: r.ip,
            request_id: r.request_id,
            at: r.at,
            prev_hash: r.prev_hash,
            hash: r.hash,
        })
    }
}

/// Appends one entry to `scope`'s chain.
pub async fn append(
    conn: &mut SqliteConnection,
    scope: &str,
    ctx: &AuditContext,
    action: &str,
    target: &str,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> StoreResult<AuditEntry> {
    let head: Option<(i64, String)> =
        sqlx::query_as("SELECT seq, hash FROM audit_heads WHERE scope = ?")
            .bind(scope)
            .fetch_optional(&mut *conn)
            .await
            .map_err(crate::error::other)?;
    let (seq, prev_hash) = head.map_or((1, GENESIS.to_owned()), |(s, h)| (s + 1, h));
    let mut entry = AuditEntry {
        seq,
        scope: scope.to_owned(),
        actor: ctx.actor.clone(),
        action: action.to_owned(),
        target: target.to_owned(),
        before,
        after,
        ip: ctx.ip.clone(),
        request_id: ctx.request_id.clone(),
        at: now(),
        prev_hash,
        hash: String::new(),
    };
    entry.hash = chain_hash(&entry);
    sqlx::query(
        "INSERT INTO audit_log (scope, seq, actor, action, target, before, after, ip, request_id, at, prev_hash, hash) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&entry.scope)
    .bind(entry.seq)
    .bind(&entry.actor)
    .bind(&entry.action)
    .bind(&entry.target)
    .bind(entry.before.as_ref().map(|v| v.to_string()))
    .bind(entry.after.as_ref().map(|v| v.to_string()))
    .bind(&entry.ip)
    .bind(&entry.request_id)
    .bind(entry.at)
    .bind(&entry.prev_hash)
    .bind(&entry.hash)
    .execute(&mut *conn)
    .await
    .map_err(crate::error::other)?;
    sqlx::query(
        "INSERT INTO audit_heads (scope, seq, hash) VALUES (?, ?, ?) \
         ON CONFLICT (scope) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
    )
    .bind(&entry.scope)
    .bind(entry.seq)
    .bind(&entry.hash)
    .execute(&mut *conn)
    .await
    .map_err(crate::error::other)?;
    Ok(entry)
}

const COLUMNS: &str =
    "scope, seq, actor, action, target, before, after, ip, request_id, at, prev_hash, hash";

pub async fn list(
    pool: &SqlitePool,
    scope: &str,
    before: Option<i64>,
    limit: i64,
) -> StoreResult<Vec<AuditEntry>> {
    let rows: Vec<AuditRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM audit_log WHERE scope = ? AND seq < ? ORDER BY seq DESC LIMIT ?"
    ))
    .bind(scope)
    .bind(before.unwrap_or(i64::MAX))
    .bind(limit)
    .fetch_all(pool)
    .await
    .map_err(crate::error::other)?;
    rows.into_iter().map(AuditEntry::try_from).collect()
}

pub async fn chain(
    pool: &SqlitePool,
    scope: &str,
    after: i64,
    limit: i64,
) -> StoreResult<Vec<AuditEntry>> {
    let rows: Vec<AuditRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM audit_log WHERE scope = ? AND seq > ? ORDER BY seq LIMIT ?"
    ))
    .bind(scope)
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await
    .map_err(crate::error::other)?;
    rows.into_iter().map(AuditEntry::try_from).collect()
}

pub async fn head(pool: &SqlitePool, scope: &str) -> StoreResult<Option<(i64, String)>> {
    sqlx::query_as("SELECT seq, hash FROM audit_heads WHERE scope = ?")
        .bind(scope)
        .fetch_optional(pool)
        .await
        .map_err(crate::error::other)
}

pub async fn scopes(pool: &SqlitePool) -> StoreResult<Vec<String>> {
    sqlx::query_scalar("SELECT scope FROM audit_heads ORDER BY scope")
        .fetch_all(pool)
        .await
        .map_err(crate::error::other)
}
