//! Which portable columns hold values that depend on an installation's
//! keys: values sealed with the keyring ([`SEALED`]), blind indexes
//! computed with its blind-index key ([`INDEXED`]), and keys built from a
//! blind index ([`DERIVED`]). `storekeep import shop --source-keys` walks
//! these lists to open each value with the source's keys, seal it again
//! with the target's and recompute each index (docs/export.md, "Moving a
//! shop to an installation with other keys").
//!
//! The tests below fail when a `*_sealed` or `*_index` column of the
//! registry ([`TABLES`]) is not listed here, or when a place key rotation
//! re-seals (`storekeep_store::sealed::SealedField`) is missing, so a new
//! sealed column cannot be forgotten. A value inside a JSON column cannot
//! be found by its name: the import also refuses an archive in which any
//! string still holds a sealed value the re-seal did not write.

use storekeep_store::rules::privacy::ERASED_INDEX_PREFIX;

/// A sealed value: in `column` of `table` (or, with `pointer`, at that
/// JSON pointer inside the column's document), sealed under the keyring
/// context `<context>:<the row's owner column>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sealed {
    pub table: &'static str,
    pub column: &'static str,
    /// Where in the column's JSON document the value is; `None`: the
    /// column holds it.
    pub pointer: Option<&'static str>,
    /// The keyring context's prefix (the services' `*_context` functions).
    pub context: &'static str,
    /// The column whose id completes the context.
    pub owner: &'static str,
}

impl Sealed {
    /// How reports and rotations name the place (`users.email`,
    /// `tenants.email_dkim`), as `SealedField::name` does.
    pub fn name(&self) -> String {
        match self.pointer {
            Some(_) => self.context.to_owned(),
            None => format!("{}.{}", self.table, self.column.trim_end_matches("_sealed")),
        }
    }
}

/// A blind index: `column` of `table` is the blind index for `purpose` of
/// the plaintext of the sealed column `of` in the same row, except a value
/// starting with `kept_prefix` (an erasure's marker), which is no index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Indexed {
    pub table: &'static str,
    pub column: &'static str,
    pub purpose: &'static str,
    pub of: &'static str,
    pub kept_prefix: &'static str,
}

/// A key built from a blind index: `column` of `table` is `prefix`
/// followed by the blind index that the [`INDEXED`] column `from` of the
/// `from_table` row whose `id` is this row's `row` holds (a guest's
/// coupon-cap key `email:<index>` is its order's `email_index`); other
/// values are not keyed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Derived {
    pub table: &'static str,
    pub column: &'static str,
    pub prefix: &'static str,
    /// The column naming the row the index comes from.
    pub row: &'static str,
    pub from_table: &'static str,
    pub from: &'static str,
}

const fn column(table: &'static str, column: &'static str, context: &'static str) -> Sealed {
    Sealed {
        table,
        column,
        pointer: None,
        context,
        owner: "id",
    }
}

/// Every sealed value of the portable tables.
pub const SEALED: &[Sealed] = &[
    column("users", "email_sealed", "users.email"),
    column("users", "name_sealed", "users.name"),
    column("users", "phone_sealed", "users.phone"),
    column("users", "totp_sealed", "users.totp"),
    column("users", "totp_pending_sealed", "users.totp"),
    column("orders", "email_sealed", "orders.email"),
    column("orders", "address_sealed", "orders.address"),
    column(
        "webhook_endpoints",
        "secret_sealed",
        "webhook_endpoints.secret",
    ),
    column(
        "webhook_endpoints",
        "previous_secret_sealed",
        "webhook_endpoints.secret",
    ),
    Sealed {
        table: "tenants",
        column: "settings",
        pointer: Some("/email_dkim/key_sealed"),
        context: "tenants.email_dkim",
        owner: "id",
    },
];

/// Every blind index of the portable tables.
pub const INDEXED: &[Indexed] = &[
    Indexed {
        table: "users",
        column: "email_index",
        purpose: "email",
        of: "email_sealed",
        kept_prefix: ERASED_INDEX_PREFIX,
    },
    Indexed {
        table: "orders",
        column: "email_index",
        purpose: "email",
        of: "email_sealed",
        kept_prefix: ERASED_INDEX_PREFIX,
    },
];

/// Every value built from a blind index.
pub const DERIVED: &[Derived] = &[Derived {
    table: "deal_uses",
    column: "customer_key",
    prefix: "email:",
    row: "order_id",
    from_table: "orders",
    from: "email_index",
}];

#[cfg(test)]
mod tests {
    use storekeep_store::sealed::SealedField;

    use super::*;
    use crate::portable::registry::{TABLES, Table, excluded};

    fn has_column(table: &str, column: &str) -> bool {
        Table::get(table).is_some_and(|t| t.columns.iter().any(|(c, _)| *c == column))
    }

    #[test]
    fn every_sealed_or_index_column_of_the_portable_tables_is_listed() {
        for table in TABLES {
            for (column, _) in table.columns {
                if column.ends_with("_sealed") {
                    assert!(
                        SEALED
                            .iter()
                            .any(|s| s.table == table.name && s.column == *column),
                        "{}.{column} is sealed but not in portable::sealed::SEALED: \
                         an import with --source-keys would leave it sealed with the source's key",
                        table.name
                    );
                }
                if column.ends_with("_index") {
                    assert!(
                        INDEXED
                            .iter()
                            .any(|s| s.table == table.name && s.column == *column),
                        "{}.{column} looks like a blind index but is not in portable::sealed::INDEXED",
                        table.name
                    );
                }
            }
        }
    }

    #[test]
    fn every_listed_column_exists_and_every_index_names_a_listed_sealed_column() {
        for s in SEALED {
            assert!(has_column(s.table, s.column), "{s:?}");
            assert!(has_column(s.table, s.owner), "{s:?}");
        }
        for i in INDEXED {
            assert!(has_column(i.table, i.column), "{i:?}");
            assert!(
                SEALED
                    .iter()
                    .any(|s| s.table == i.table && s.column == i.of && s.pointer.is_none()),
                "{i:?}"
            );
        }
        for d in DERIVED {
            assert!(has_column(d.table, d.column), "{d:?}");
            assert!(has_column(d.table, d.row), "{d:?}");
            assert!(
                INDEXED
                    .iter()
                    .any(|i| i.table == d.from_table && i.column == d.from),
                "{d:?}"
            );
        }
    }

    #[test]
    fn every_place_a_key_rotation_reseals_is_listed_unless_its_table_stays_behind() {
        for field in SealedField::ALL {
            let name = field.name();
            let table = name.split('.').next().unwrap_or(name);
            if excluded(table) {
                continue;
            }
            assert!(
                SEALED.iter().any(|s| s.name() == name),
                "{name} is re-sealed by `keys rotate` but not in portable::sealed::SEALED"
            );
        }
    }
}
