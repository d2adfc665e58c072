//! The portable schema: every table `storekeep export` carries, in the
//! order `storekeep import` writes them (a row's references first), each
//! column with its portable type, and which rows belong to one shop. The
//! tables that must not travel are listed in [`EXCLUDED`] with the
//! reason. [`drift`] compares this registry with a database's real schema,
//! so a migration that adds a table or a column fails the portable tests
//! (and refuses exports) until the registry knows it.

use self::Kind::{Bool, Date, Int, Json, Text, Time, Uuid};
use self::Scope::{Chain, Shop, Where};
pub use super::tables::TABLES;

/// A column's type in the archive, whatever the database stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A hyphenated uuid string (SQLite TEXT, PostgreSQL `uuid`).
    Uuid,
    /// A string.
    Text,
    /// A 64-bit integer (SQLite INTEGER, PostgreSQL `bigint` or `integer`).
    Int,
    /// `true`/`false` (SQLite INTEGER 0/1, PostgreSQL `boolean`).
    Bool,
    /// An RFC 3339 UTC instant, as precise as stored (SQLite TEXT,
    /// PostgreSQL `timestamptz`, microseconds).
    Time,
    /// A calendar date `YYYY-MM-DD` (SQLite TEXT, PostgreSQL `date`).
    Date,
    /// A JSON value (SQLite TEXT, PostgreSQL `jsonb`).
    Json,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Uuid => "uuid",
            Text => "text",
            Int => "int",
            Bool => "bool",
            Time => "timestamp",
            Date => "date",
            Json => "json",
        }
    }

    /// Whether a column declared `declared` (SQLite's declared type, or
    /// PostgreSQL's `information_schema.columns.data_type`) stores this.
    pub fn matches(self, declared: &str) -> bool {
        let declared = declared.to_ascii_lowercase();
        match self {
            Uuid => matches!(declared.as_str(), "uuid" | "text"),
            Text => declared == "text",
            Int | Bool if declared == "integer" => true,
            Int => declared == "bigint",
            Bool => declared == "boolean",
            Time => matches!(declared.as_str(), "timestamp with time zone" | "text"),
            Date => matches!(declared.as_str(), "date" | "text"),
            Json => matches!(declared.as_str(), "jsonb" | "text"),
        }
    }
}

/// Which rows of a table belong to the shop being exported (`$1` is its
/// id).
#[derive(Debug, Clone, Copy)]
pub enum Scope {
    /// `tenant_id = $1`.
    Shop,
    /// A condition of its own on `$1` (rows reached through a parent).
    Where(&'static str),
    /// The shop's audit chain: `scope = $1` with the id as text.
    Chain,
}

/// One table of the portable schema.
#[derive(Debug)]
pub struct Table {
    pub name: &'static str,
    pub scope: Scope,
    /// The columns a deterministic export orders rows by.
    pub order: &'static str,
    pub columns: &'static [(&'static str, Kind)],
}

impl Table {
    pub fn get(name: &str) -> Option<&'static Table> {
        TABLES.iter().find(|t| t.name == name)
    }

    /// The condition selecting one shop's rows.
    pub fn filter(&self) -> &'static str {
        match self.scope {
            Shop => "tenant_id = $1",
            Where(cond) => cond,
            Chain => "scope = $1",
        }
    }
}

/// The id of the built-in `default` plan, which the first migration
/// inserts in every database (the same id everywhere).
pub const DEFAULT_PLAN_ID: &str = "00000000-0000-7000-8000-000000000001";

/// Tables that stay behind, and why.
pub const EXCLUDED: &[(&str, &str)] = &[
    (
        "order_sales_slots",
        "counters the store keeps from the orders (triggers): the import rebuilds them as it writes the orders",
    ),
    (
        "sessions",
        "sign-ins belong to the installation that issued them; people sign in again",
    ),
    (
        "access_tokens",
        "OAuth access tokens are short-lived; clients (oauth_clients) travel and ask for new ones",
    ),
    (
        "password_resets",
        "reset links are short-lived and single-use; a reset is asked for again",
    ),
    (
        "sign_in_challenges",
        "a sign-in's pending code step lives five minutes; people sign in again",
    ),
    (
        "login_throttle",
        "rate-limit state of the source's sign-in attempts",
    ),
    (
        "idempotency_keys",
        "replay protection of requests retried within minutes; a move is a maintenance window",
    ),
    (
        "jobs",
        "the source's queue (leases, workers); drain it before exporting (`storekeep jobs`)",
    ),
    ("_sqlx_migrations", "each database's own migration history"),
    (
        "product_imports",
        "progress of the source's background CSV imports, whose files live in its own object store; the products they made travel",
    ),
    (
        "product_search",
        "SQLite's FTS5 index (and its product_search_* shadow tables), filled by triggers on insert",
    ),
];

/// Columns a backend adds that do not travel: SQLite's integer key of
/// `products` for its FTS index, assigned again on insert, and the
/// generated column `variants.low_stock` (computed from `on_hand` and
/// `reserved`; PostgreSQL lists it among the columns, SQLite's
/// `pragma_table_info` does not).
pub const LOCAL_COLUMNS: &[(&str, &str)] = &[("products", "rid"), ("variants", "low_stock")];

/// Whether `table` is one of [`EXCLUDED`] (SQLite's FTS shadow tables
/// count as the index's).
pub fn excluded(table: &str) -> bool {
    EXCLUDED.iter().any(|(name, _)| *name == table) || table.starts_with("product_search_")
}

/// What differs between the registry and a database's real columns
/// (`(table, column, declared type)`); empty when they agree.
pub fn drift(actual: &[(String, String, String)]) -> Vec<String> {
    let mut problems = Vec::new();
    for (table, column, declared) in actual {
        if excluded(table) || LOCAL_COLUMNS.iter().any(|(t, c)| t == table && c == column) {
            continue;
        }
        let Some(known) = Table::get(table) else {
            if !problems
                .iter()
                .any(|p: &String| p.contains(&format!("table {table} ")))
            {
                problems.push(format!(
                    "table {table} is neither exported nor listed as excluded"
                ));
            }
            continue;
        };
        match known.columns.iter().find(|(name, _)| name == column) {
            None => problems.push(format!("column {table}.{column} is not in the registry")),
            Some((_, kind)) if !kind.matches(declared) => problems.push(format!(
                "column {table}.{column} is {declared}, the registry says {}",
                kind.name()
            )),
            Some(_) => {}
        }
    }
    for table in TABLES {
        for (column, _) in table.columns {
            if !actual
                .iter()
                .any(|(t, c, _)| t == table.name && c == column)
            {
                problems.push(format!(
                    "column {}.{column} of the registry is not in the database",
                    table.name
                ));
            }
        }
    }
    problems
}
