//! Maps PostgreSQL errors to `StoreError` by constraint name.

use storekeep_store::StoreError;

/// `uniques` pairs a constraint name with the input field to blame.
pub fn map(e: sqlx::Error, uniques: &[(&str, &'static str)]) -> StoreError {
    if let sqlx::Error::Database(db) = &e
        && db.is_unique_violation()
        && let Some(constraint) = db.constraint()
    {
        for (name, field) in uniques {
            if constraint == *name {
                return StoreError::Conflict { field };
            }
        }
    }
    StoreError::other(e)
}
