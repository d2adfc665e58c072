//! Maps PostgreSQL errors to `StoreError` by constraint name and SQLSTATE.
//!
//! Every `sqlx` error goes through [`other`] (or [`map`]), never straight to
//! `StoreError::other` (clippy refuses it in this crate), so a server that
//! is down, restarting, unreachable or out of resources is always
//! `StoreError::Unavailable` (a 503), never a 500.

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
/// the pool (timed out, closed), the connection (I/O, TLS) and the SQLSTATEs
/// of [`unavailable_state`]; `Contended` for a transaction rolled back to
/// resolve a conflict with another (40P01 deadlock victim, 40001
/// serialization failure).
pub fn classify(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &e
        && db.code().is_some_and(|c| contended_state(&c))
    {
        return StoreError::Contended(Box::new(e));
    }
    let unavailable = match &e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_) => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|c| unavailable_state(&c)),
        _ => false,
    };
    if unavailable {
        StoreError::unavailable(e)
    } else {
        StoreError::Other(Box::new(e))
    }
}

/// SQLSTATEs that mean the server cannot serve now but may shortly: class
/// 08 (connection exception), class 53 (insufficient resources: disk full,
/// out of memory, too many connections), 57P01–57P03 (shut down by an
/// administrator, crash recovery, cannot connect now), 57014 (cancelled,
/// as by `statement_timeout`), 58000 and 58030 (system and I/O errors) and
/// 25006 (a read-only transaction: a standby, or the primary refusing
/// writes).
fn unavailable_state(code: &str) -> bool {
    code.starts_with("08")
        || code.starts_with("53")
        || matches!(
            code,
            "57P01" | "57P02" | "57P03" | "57014" | "58000" | "58030" | "25006"
        )
}

/// SQLSTATEs of a transaction the server rolled back because it collided
/// with a concurrent one: nothing was written, and running it again may pass.
fn contended_state(code: &str) -> bool {
    matches!(code, "40P01" | "40001")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outages_are_unavailable_and_faults_are_not() {
        for state in [
            "08006", "08001", "53100", "53300", "57P01", "57P03", "25006",
        ] {
            assert!(unavailable_state(state), "{state}");
        }
        for state in ["23505", "23503", "42P01", "40001", "22001"] {
            assert!(!unavailable_state(state), "{state}");
        }
        for state in ["40P01", "40001"] {
            assert!(contended_state(state), "{state}");
        }
        for state in ["40000", "40003", "23505", "57014"] {
            assert!(!contended_state(state), "{state}");
        }
        assert!(classify(sqlx::Error::PoolTimedOut).is_unavailable());
        assert!(classify(sqlx::Error::PoolClosed).is_unavailable());
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        assert!(other(sqlx::Error::Io(reset)).is_unavailable());
        assert!(!other(sqlx::Error::RowNotFound).is_unavailable());
        assert!(!other(std::fmt::Error).is_unavailable());
    }
}
