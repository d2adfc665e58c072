//! [`ReadRouting`] and [`catalog_read!`](crate::catalog_read): where a
//! catalog read that may be stale runs (see `storekeep_store::replica`).

use storekeep_store::StoreError;
pub use storekeep_store::replica::ReadTarget;

/// What a backend's store tells [`catalog_read!`](crate::catalog_read).
/// SQLite has no replica: `replica_for_read` is always `None`.
pub trait ReadRouting {
    type Pool;

    /// The primary's pool.
    fn primary(&self) -> &Self::Pool;

    /// The replica's pool, if this read may use it now (the caller allowed
    /// stale reads, and the replica is up and within its lag bound); the
    /// store records that the read was served there.
    fn replica_for_read(&self) -> Option<&Self::Pool>;

    /// Counts a read served by `target`.
    fn read_served(&self, target: ReadTarget);

    /// A replica read failed with `e`; it is served again by the primary.
    fn replica_failed(&self, e: &StoreError);
}

/// Runs `$call` — an expression using the pool bound to `$pool` — on the
/// replica when [`ReadRouting::replica_for_read`] offers it, else on the
/// primary. A replica read that fails as an outage (`Unavailable`: refused,
/// reset, pool timeout) or a conflict with recovery (`Contended`) runs once
/// more on the primary, within the same call: the replica is never the
/// reason a read fails.
#[macro_export]
macro_rules! catalog_read {
    ($store:expr, $pool:ident => $call:expr) => {{
        use $crate::read_route::ReadRouting as _;
        let store = $store;
        match store.replica_for_read() {
            Some(replica) => {
                let result = {
                    let $pool = replica;
                    $call.await
                };
                match result {
                    Err(e) if e.is_retryable() => {
                        store.replica_failed(&e);
                        store.read_served($crate::read_route::ReadTarget::Primary);
                        let $pool = store.primary();
                        $call.await
                    }
                    other => {
                        store.read_served($crate::read_route::ReadTarget::Replica);
                        other
                    }
                }
            }
            None => {
                store.read_served($crate::read_route::ReadTarget::Primary);
                let $pool = store.primary();
                $call.await
            }
        }
    }};
}
