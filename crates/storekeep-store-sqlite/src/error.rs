//! Maps SQLite errors to `StoreError`. SQLite reports no constraint names,
//! so unique violations are recognised by the `table.column` in the message.

use storekeep_store::StoreError;

/// `uniques` pairs a `table.column` as SQLite names it with the input field
/// to blame.
pub fn map(e: sqlx::Error, uniques: &[(&str, &'static str)]) -> StoreError {
    if let sqlx::Error::Database(db) = &e
        && db.is_unique_violation()
    {
        let message = db.message();
        for (column, field) in uniques {
            if message.contains(column) {
                return StoreError::Conflict { field };
            }
        }
    }
    StoreError::other(e)
}
