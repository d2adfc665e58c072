//! The hash-chained audit log on PostgreSQL. Appenders lock the chain's
//! row in `audit_heads` (`FOR UPDATE`), so concurrent appends to one chain
//! queue and get consecutive numbers; different chains don't contend.

use crate::{Conn, Pool};
use storekeep_domain::{AuditContext, AuditEntry};
use storekeep_store::audit::{Change, GENESIS, link_all};
use storekeep_store::{StoreResult, now};
use storekeep_store_sql::platform::{
    AUDIT_CHAIN, AUDIT_PAGE, AuditRow, INSERT_AUDIT, audit_values,
};
use storekeep_store_sql::stmt::Stmt;

use crate::error::other;
use crate::run::RUN;

/// Appends `change` to its chain, made by `ctx`.
pub async fn record(
    conn: &mut Conn,
    ctx: &AuditContext,
    change: Change,
) -> StoreResult<AuditEntry> {
    let mut entries = record_many(conn, ctx, vec![change]).await?;
    Ok(entries.pop().expect("one change makes one entry"))
}

/// Appends `changes`, all of one chain (the first's scope), in order: the
/// head is locked, read and written once, whatever their number.
pub async fn record_many(
    conn: &mut Conn,
    ctx: &AuditContext,
    changes: Vec<Change>,
) -> StoreResult<Vec<AuditEntry>> {
    let Some(scope) = changes.first().map(|c| c.scope.clone()) else {
        return Ok(Vec::new());
    };
    // A chain's head row exists (at seq 0) before anyone locks it.
    Stmt::new(
        "INSERT INTO audit_heads (scope, seq, hash) VALUES ($1, 0, $2) ON CONFLICT (scope) DO NOTHING",
        (&scope, GENESIS),
    )
    .query()
    .execute(&mut *conn)
    .await
    .map_err(other)?;
    let head: Option<(i64, String)> = Stmt::new(
        "SELECT seq, hash FROM audit_heads WHERE scope = $1 FOR UPDATE",
        (&scope,),
    )
    .query_as()
    .fetch_optional(&mut *conn)
    .await
    .map_err(other)?;
    debug_assert!(
        changes.iter().all(|c| c.scope == scope),
        "one chain per call"
    );
    let entries = link_all(head, changes, ctx, now());
    for entry in &entries {
        RUN.exec(&mut *conn, Stmt::new(INSERT_AUDIT, audit_values(entry)))
            .await?;
    }
    let last = entries.last().expect("at least one entry");
    let (seq, hash) = (last.seq, &last.hash);
    Stmt::new(
        "UPDATE audit_heads SET seq = $2, hash = $3 WHERE scope = $1",
        (&scope, seq, hash),
    )
    .query()
    .execute(&mut *conn)
    .await
    .map_err(other)?;
    Ok(entries)
}

/// Appends one entry to `scope`'s chain.
pub async fn append(
    conn: &mut Conn,
    scope: &str,
    ctx: &AuditContext,
    action: &str,
    target: &str,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> StoreResult<AuditEntry> {
    let change = Change {
        before,
        after,
        ..Change::new(scope, action, target)
    };
    record(conn, ctx, change).await
}

pub async fn list(
    pool: &Pool,
    scope: &str,
    before: Option<i64>,
    limit: i64,
) -> StoreResult<Vec<AuditEntry>> {
    let rows: Vec<AuditRow> = RUN
        .all(
            pool,
            Stmt::new(AUDIT_PAGE, (scope, before.unwrap_or(i64::MAX), limit)),
        )
        .await?;
    Ok(rows.into_iter().map(AuditEntry::from).collect())
}

pub async fn chain(
    pool: &Pool,
    scope: &str,
    after: i64,
    limit: i64,
) -> StoreResult<Vec<AuditEntry>> {
    let rows: Vec<AuditRow> = RUN
        .all(pool, Stmt::new(AUDIT_CHAIN, (scope, after, limit)))
        .await?;
    Ok(rows.into_iter().map(AuditEntry::from).collect())
}

/// Seq 0 is a chain locked once but never appended to (its appender
/// rolled back): no head yet.
pub async fn head(pool: &Pool, scope: &str) -> StoreResult<Option<(i64, String)>> {
    Stmt::new(
        "SELECT seq, hash FROM audit_heads WHERE scope = $1 AND seq > 0",
        (scope,),
    )
    .query_as()
    .fetch_optional(pool)
    .await
    .map_err(other)
}

pub async fn scopes(pool: &Pool) -> StoreResult<Vec<String>> {
    RUN.scalars(
        pool,
        Stmt::new(
            "SELECT scope FROM audit_heads WHERE seq > 0 ORDER BY scope",
            (),
        ),
    )
    .await
}
