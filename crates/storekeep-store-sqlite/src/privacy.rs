//! What an erasure (issue 16) does after its transaction on SQLite: the
//! overwritten values are gone from the database's pages (the connections
//! run with `secure_delete`, which zeroes what a write frees), but the
//! write-ahead log still holds the pages as they were; a `TRUNCATE`
//! checkpoint copies the log into the database and empties it. A reader
//! keeping an old snapshot can hold the log back: it is tried a few times,
//! then left to the next checkpoint (logged). See docs/privacy.md.

use storekeep_store::StoreResult;

use crate::SqliteStore;

/// Checkpoint attempts before giving up on emptying the log.
const CHECKPOINT_TRIES: u32 = 5;

impl SqliteStore {
    pub(crate) async fn after_erasure(&self) -> StoreResult<()> {
        for attempt in 1..=CHECKPOINT_TRIES {
            let (busy, _, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
                .fetch_one(&self.pool)
                .await
                .map_err(crate::error::other)?;
            if busy == 0 {
                return Ok(());
            }
            tokio::time::sleep(std::time::Duration::from_millis(50 * u64::from(attempt))).await;
        }
        tracing::warn!("the write-ahead log was not emptied after an erasure; a reader holds it");
        Ok(())
    }
}

storekeep_store_sql::impl_privacy_store!(SqliteStore, crate::backend::SqliteBackend);
