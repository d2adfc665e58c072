//! Maps SQLite errors to `StoreError`. SQLite reports no constraint names,
//! so unique violations are recognised by the `table.column` in the message.
//!
//! Every `sqlx` error goes through [`other`] (or [`map`]), never straight to
//! `StoreError::other` (clippy refuses it in this crate), so an I/O failure,
//! a full or read-only disk or a pool that cannot hand out a connection is
//! always `StoreError::Unavailable` (a 503), never a 500.

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
    classify(e)
}

/// Wraps any error; a `sqlx::Error` is classified as [`classify`] does.
pub fn other(e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(e);
    match boxed.downcast::<sqlx::Error>() {
        Ok(e) => classify(*e),
        Err(boxed) => StoreError::Other(boxed),
    }
}

/// `Unavailable` for failures of the database rather than of the request:
/// the pool (timed out, closed), I/O, a crashed connection thread, and the
/// SQLite result codes of a sick disk or a held lock.
pub fn classify(e: sqlx::Error) -> StoreError {
    let unavailable = match &e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db
            .code()
            .and_then(|c| c.parse::<i32>().ok())
            .is_some_and(unavailable_code),
        _ => false,
    };
    if unavailable {
        StoreError::unavailable(e)
    } else {
        StoreError::Other(Box::new(e))
    }
}

/// SQLite (extended) result codes that mean the database cannot serve now
/// but may later: `BUSY` (the lock was held past `busy_timeout`), `NOMEM`,
/// `READONLY` (a read-only file or file system), `IOERR` (every extended
/// kind: a failed read, write or fsync), `FULL` (disk or quota full),
/// `CANTOPEN` and `PROTOCOL` (a WAL lock race).
fn unavailable_code(code: i32) -> bool {
    const BUSY: i32 = 5;
    const NOMEM: i32 = 7;
    const READONLY: i32 = 8;
    const IOERR: i32 = 10;
    const FULL: i32 = 13;
    const CANTOPEN: i32 = 14;
    const PROTOCOL: i32 = 15;
    matches!(
        code & 0xff,
        BUSY | NOMEM | READONLY | IOERR | FULL | CANTOPEN | PROTOCOL
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outages_are_unavailable_and_faults_are_not() {
        // BUSY, IOERR_WRITE, IOERR_FSYNC, FULL, READONLY, READONLY_DBMOVED, CANTOPEN
        for code in [5, 778, 1034, 13, 8, 1032, 14] {
            assert!(unavailable_code(code), "{code}");
        }
        // CONSTRAINT_UNIQUE, CONSTRAINT_FOREIGNKEY, CORRUPT, ERROR, NOTADB
        for code in [2067, 787, 11, 1, 26] {
            assert!(!unavailable_code(code), "{code}");
        }
        assert!(classify(sqlx::Error::PoolTimedOut).is_unavailable());
        assert!(classify(sqlx::Error::WorkerCrashed).is_unavailable());
        assert!(!other(sqlx::Error::RowNotFound).is_unavailable());
        assert!(!other(std::fmt::Error).is_unavailable());
    }
}
