//! One shop's rows, or the whole platform's, read from and written to
//! either database in a portable form (`storekeep export` /
//! `storekeep import`): each row a
//! JSON object of column → value, typed by the [`registry`]. The read and
//! the write are written once, for both drivers ([`sqlite`], [`postgres`]);
//! each backend opens the connection and the transaction around them.

pub mod registry;
mod rows;
pub mod sealed;
mod tables;

use std::collections::BTreeMap;

use storekeep_store::StoreError;

pub use registry::{DEFAULT_PLAN_ID, EXCLUDED, Kind, TABLES, Table, drift};
pub use rows::{postgres, sqlite};

/// One row: column name → portable value.
pub type Row = serde_json::Map<String, serde_json::Value>;

/// What an archive holds, which the caller says explicitly to every
/// check and write (never inferred from the rows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extent {
    /// One shop (`export shop` / `import shop`).
    Shop,
    /// The whole platform (`export all` / `import all`).
    Platform,
}

/// One shop's data: its id and slug, the schema version it was read at,
/// and the rows of each table of [`TABLES`] (every table present, maybe
/// empty). The whole platform's data (`export all`: every row of every
/// table) has the nil id and no slug: see [`ShopRows::platform`]. Which
/// of the two an archive holds is never inferred from the id: every check
/// and write is given its [`Extent`], and a shop archive with the nil id is
/// refused.
#[derive(Debug, Clone, Default)]
pub struct ShopRows {
    pub tenant_id: uuid::Uuid,
    pub slug: String,
    pub schema_version: i64,
    pub tables: BTreeMap<String, Vec<Row>>,
}

impl ShopRows {
    /// The whole platform's rows (none yet), read at `schema_version`.
    pub fn platform(schema_version: i64) -> Self {
        Self {
            schema_version,
            ..Self::default()
        }
    }
}

/// Why an import did not happen.
#[derive(Debug)]
pub enum PortableError {
    /// The archive cannot go into this database (a clash, a bad value); a
    /// sentence for the operator. Nothing was written.
    Refused(String),
    /// The database failed.
    Store(StoreError),
}

impl std::fmt::Display for PortableError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Refused(why) => f.write_str(why),
            Self::Store(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for PortableError {}

impl From<StoreError> for PortableError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

/// The rows of `table`, parents before children where the table refers
/// to itself (a category's `parent_id`), so each insert finds its parent.
pub fn parents_first(table: &str, rows: &[Row]) -> Vec<Row> {
    if table != "categories" {
        return rows.to_vec();
    }
    let mut placed = std::collections::HashSet::new();
    let mut pending: Vec<&Row> = rows.iter().collect();
    let mut out = Vec::with_capacity(rows.len());
    while !pending.is_empty() {
        let before = pending.len();
        pending.retain(|row| {
            let parent = row.get("parent_id").and_then(|v| v.as_str());
            let ready = parent.is_none_or(|p| {
                placed.contains(p)
                    || !rows
                        .iter()
                        .any(|r| r.get("id").and_then(|v| v.as_str()) == Some(p))
            });
            if ready {
                if let Some(id) = row.get("id").and_then(|v| v.as_str()) {
                    placed.insert(id.to_owned());
                }
                out.push((*row).clone());
            }
            !ready
        });
        if pending.len() == before {
            // A cycle cannot be stored; let the database refuse it.
            out.extend(pending.drain(..).cloned());
        }
    }
    out
}
