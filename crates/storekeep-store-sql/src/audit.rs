//! The filtered audit listing (`Store::search_audit`), written once for
//! both databases.
//!
//! Every filter stays on an index, whatever the chain's size (migration
//! `20261128000093_audit_filters`):
//!
//! - an actor walks `audit_log_actor (scope, actor, seq)` and an action
//!   `audit_log_action (scope, action, seq)` backwards from `before`: the
//!   index's order is the listing's, so no sort, and each row read is one
//!   shown (with both set, the planner walks one and checks the other);
//! - a time span `[from, to)` becomes a `seq` range: within a chain the
//!   time of an entry grows with its `seq` (each entry is appended under
//!   the chain's lock, stamped then), so the first entry at or after
//!   `from` is the lowest `seq` shown and the first at or after `to` the
//!   first one past the end; each bound is one probe of
//!   `audit_log_at (scope, at, seq)`, never a scan of the times.
//!
//! An action prefix (`order.`) is not offered: its rows lie in many
//! `(action, seq)` runs, so listing them newest first needs a sort of
//! every match.

use sqlx::Pool;
use storekeep_domain::{AuditEntry, AuditFilter};
use storekeep_store::StoreResult;

use crate::backend::{Backend, Conn};
use crate::platform::AuditRow;
use crate::stmt::Stmt;

/// The listing with `$extra` conditions: scope `$1`, `seq` in `[$3, $2)`,
/// newest first, at most `$4`.
macro_rules! audit_search {
    ($extra:literal) => {
        concat!(
            "SELECT scope, seq, actor, action, target, before, after, ip, \
             request_id, at, prev_hash, hash FROM audit_log \
             WHERE scope = $1 AND seq < $2 AND seq >= $3",
            $extra,
            " ORDER BY seq DESC LIMIT $4"
        )
    };
}

const ANY: &str = audit_search!("");
const BY_ACTOR: &str = audit_search!(" AND actor = $5");
const BY_ACTION: &str = audit_search!(" AND action = $5");
const BY_BOTH: &str = audit_search!(" AND actor = $5 AND action = $6");

/// The `seq` of scope `$1`'s first entry at or after `$2`.
const FIRST_AT_OR_AFTER: &str =
    "SELECT seq FROM audit_log WHERE scope = $1 AND at >= $2 ORDER BY at, seq LIMIT 1";

/// The first `seq` at or after `at` in `scope`, if any entry is that late.
async fn first_at_or_after<B: Backend>(
    conn: &mut Conn<B::Db>,
    scope: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> StoreResult<Option<i64>> {
    let row: Option<(i64,)> = B::optional(conn, Stmt::new(FIRST_AT_OR_AFTER, (scope, at))).await?;
    Ok(row.map(|r| r.0))
}

/// Entries of `scope` with `seq < before` that `filter` lets through,
/// newest first, at most `limit`; the span's bounds and the page are read
/// in one snapshot.
pub async fn search<B: Backend>(
    pool: &Pool<B::Db>,
    scope: &str,
    filter: &AuditFilter,
    before: Option<i64>,
    limit: i64,
) -> StoreResult<Vec<AuditEntry>> {
    let mut tx = B::snapshot_tx(pool).await?;
    let low = match filter.from {
        None => Some(0),
        Some(from) => first_at_or_after::<B>(&mut tx, scope, from).await?,
    };
    let high = match filter.to {
        None => None,
        Some(to) => first_at_or_after::<B>(&mut tx, scope, to).await?,
    };
    let high = high.unwrap_or(i64::MAX).min(before.unwrap_or(i64::MAX));
    // Nothing at or after `from`: nothing to show.
    let Some(low) = low.filter(|l| *l < high) else {
        B::commit(tx).await?;
        return Ok(Vec::new());
    };
    let (actor, action) = (filter.actor.as_deref(), filter.action.as_deref());
    let rows: Vec<AuditRow> = match (actor, action) {
        (None, None) => B::all(&mut tx, Stmt::new(ANY, (scope, high, low, limit))).await?,
        (Some(actor), None) => {
            let stmt = Stmt::new(BY_ACTOR, (scope, high, low, limit, actor));
            B::all(&mut tx, stmt).await?
        }
        (None, Some(action)) => {
            let stmt = Stmt::new(BY_ACTION, (scope, high, low, limit, action));
            B::all(&mut tx, stmt).await?
        }
        (Some(actor), Some(action)) => {
            let stmt = Stmt::new(BY_BOTH, (scope, high, low, limit, actor, action));
            B::all(&mut tx, stmt).await?
        }
    };
    B::commit(tx).await?;
    Ok(rows.into_iter().map(AuditEntry::from).collect())
}
