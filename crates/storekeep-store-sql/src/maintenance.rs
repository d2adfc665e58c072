//! What a backup records about a database, read once for both backends:
//! each backend lists its tables and counts one table's rows (the only
//! dialect-specific parts), this reads the rest.

use std::collections::BTreeMap;

use storekeep_store::StoreResult;
use storekeep_store::maintenance::{AUDIT_HEADS, AuditHead, DatabaseFacts, SCHEMA_VERSION};

use crate::backend::{Backend, Conn};
use crate::stmt::Stmt;

/// The row count of each of `tables` (by `count`), the schema version and
/// the audit heads, all read on `conn` (the caller's read transaction, so
/// they describe one moment).
pub async fn read_facts<B: Backend>(
    conn: &mut Conn<B::Db>,
    tables: Vec<String>,
    count: impl AsyncFn(&mut Conn<B::Db>, &str) -> StoreResult<i64>,
) -> StoreResult<DatabaseFacts> {
    let mut counts = BTreeMap::new();
    for name in tables {
        let n = count(&mut *conn, &name).await?;
        counts.insert(name, n);
    }
    let mut facts = DatabaseFacts {
        tables: counts,
        ..DatabaseFacts::default()
    };
    if facts.tables.contains_key("_sqlx_migrations") {
        facts.schema_version = B::scalar(&mut *conn, Stmt::new(SCHEMA_VERSION, ())).await?;
    }
    if facts.tables.contains_key("audit_heads") {
        let heads: Vec<(String, i64, String)> =
            B::all(&mut *conn, Stmt::new(AUDIT_HEADS, ())).await?;
        facts.audit_heads = heads
            .into_iter()
            .map(|(scope, seq, hash)| (scope, AuditHead { seq, hash }))
            .collect();
    }
    Ok(facts)
}
