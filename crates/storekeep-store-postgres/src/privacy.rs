//! What an erasure (issue 16) does after its transaction on PostgreSQL:
//! nothing. The old row versions stay as dead tuples until vacuum reclaims
//! them (autovacuum, usually within minutes); no query can read them. See
//! docs/privacy.md.

use storekeep_store::StoreResult;

use crate::PgStore;

impl PgStore {
    pub(crate) async fn after_erasure(&self) -> StoreResult<()> {
        Ok(())
    }
}

storekeep_store_sql::impl_privacy_store!(PgStore, crate::backend::PgBackend);
