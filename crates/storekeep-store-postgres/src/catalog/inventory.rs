//! The ledger entry of a stock change the commerce code has made. The rest
//! of stock is written once in `storekeep_store_sql::catalog::inventory`.

use storekeep_domain::{InventoryAdjustment, TenantId, VariantId};
use storekeep_store::StoreResult;
use storekeep_store_sql::catalog::adjustment;
use storekeep_store_sql::catalog::inventory::write_ledger;
use uuid::Uuid;

use super::Conn;
use crate::backend::PgBackend;

/// Records a stock change the caller has made to `variant` in the ledger.
pub(crate) async fn record_ledger(
    conn: &mut Conn,
    tenant: TenantId,
    variant: Uuid,
    delta: i64,
    reason: &str,
    on_hand_after: i64,
    actor: &str,
) -> StoreResult<InventoryAdjustment> {
    let line = adjustment(VariantId(variant), delta, reason, on_hand_after, actor);
    write_ledger::<PgBackend>(conn, tenant, line).await
}
