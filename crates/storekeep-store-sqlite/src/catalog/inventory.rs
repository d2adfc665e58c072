//! The ledger entry of a stock change the commerce code has made (its
//! variant a hyphenated id here). The rest of stock is written once in
//! `storekeep_store_sql::catalog::inventory`.

use storekeep_domain::{InventoryAdjustment, TenantId, VariantId};
use storekeep_store::StoreResult;
use storekeep_store_sql::catalog::adjustment;
use storekeep_store_sql::catalog::inventory::write_ledger;

use super::Conn;
use crate::backend::SqliteBackend;
use crate::error::other;

/// Records a stock change the caller has made to `variant` (a hyphenated
/// id) in the ledger.
pub(crate) async fn record_ledger(
    conn: &mut Conn,
    tenant: TenantId,
    variant: &str,
    delta: i64,
    reason: &str,
    on_hand_after: i64,
    actor: &str,
) -> StoreResult<InventoryAdjustment> {
    let variant = VariantId(variant.parse().map_err(other)?);
    let line = adjustment(variant, delta, reason, on_hand_after, actor);
    write_ledger::<SqliteBackend>(conn, tenant, line).await
}
