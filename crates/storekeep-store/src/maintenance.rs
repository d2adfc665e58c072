//! What a backup records about a database, read the same way on both
//! backends (`storekeep_store_sql::maintenance::read_facts`, given each
//! backend's table list and row count).

use std::collections::BTreeMap;

/// Statements both dialects accept verbatim.
pub const AUDIT_HEADS: &str =
    "SELECT scope, seq, hash FROM audit_heads WHERE seq > 0 ORDER BY scope";
pub const SCHEMA_VERSION: &str = "SELECT MAX(version) FROM _sqlx_migrations WHERE success";

/// A database's contents in brief: what a backup's manifest promises and
/// a verification compares.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DatabaseFacts {
    /// The newest migration applied, `None` for a database never migrated.
    pub schema_version: Option<i64>,
    /// Rows per table.
    pub tables: BTreeMap<String, i64>,
    /// Each audit chain's head: its last sequence number and hash.
    pub audit_heads: BTreeMap<String, AuditHead>,
}

/// The last entry of one audit chain.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuditHead {
    pub seq: i64,
    pub hash: String,
}
