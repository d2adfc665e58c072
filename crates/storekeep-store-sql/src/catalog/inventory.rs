//! Stock: on-hand changes, always through the inventory ledger, written
//! once over the [`Backend`].

use sqlx::Pool;
use storekeep_domain::{
    AuditContext, InventoryAdjustment, Page, PageRequest, TenantId, Variant, VariantId,
};
use storekeep_store::rules::catalog as rules;
use storekeep_store::rules::catalog_audit::AuditEvent;
use storekeep_store::{StoreResult, now};
use uuid::Uuid;

use super::variants::{fetch, lock_variant};
use super::{LedgerRow, adjustment, sql};
use crate::DbId;
use crate::backend::{Backend, Conn};
use crate::stmt::Stmt;

/// Appends `line` to the ledger.
pub async fn write_ledger<B: Backend>(
    conn: &mut Conn<B::Db>,
    tenant: TenantId,
    line: InventoryAdjustment,
) -> StoreResult<InventoryAdjustment> {
    B::exec(conn, sql::insert_ledger(DbId(tenant.0), &line)).await?;
    Ok(line)
}

/// Adds `delta` to on-hand stock through a ledger entry, the variant row
/// locked where the database locks rows (lock 3).
pub async fn change_stock<B: Backend>(
    conn: &mut Conn<B::Db>,
    tenant: TenantId,
    variant: Uuid,
    delta: i64,
    reason: &str,
    actor: &str,
) -> StoreResult<InventoryAdjustment> {
    let stock = B::read_for_update(sql::VARIANT_STOCK, sql::VARIANT_STOCK_LOCKED);
    let (on_hand, reserved): (i64, i64) =
        B::one(&mut *conn, Stmt::new(stock, (DbId(variant),))).await?;
    let after = rules::stock_after(on_hand, reserved, delta)?;
    let set = Stmt::new(sql::SET_STOCK, (after, now(), DbId(variant)));
    B::exec(&mut *conn, set).await?;
    let line = adjustment(VariantId(variant), delta, reason, after, actor);
    write_ledger::<B>(conn, tenant, line).await
}

pub async fn adjust<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    id: VariantId,
    delta: i64,
    reason: &str,
    ctx: &AuditContext,
) -> StoreResult<(Variant, InventoryAdjustment)> {
    let mut tx = B::write_tx(pool).await?;
    let before = lock_variant::<B>(&mut tx, tenant, id).await?;
    let line = change_stock::<B>(&mut tx, tenant, id.0, delta, reason, &ctx.actor).await?;
    B::refresh_summary(&mut tx, DbId(before.product_id.0)).await?;
    let after = fetch::<B>(&mut tx, tenant, id).await?;
    let event = AuditEvent::inventory_adjusted(&before, &after, &line);
    B::record(&mut tx, tenant, ctx, event).await?;
    B::commit(tx).await?;
    Ok((after, line))
}

/// Newest first.
pub async fn ledger<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    id: VariantId,
    page: &PageRequest,
) -> StoreResult<Page<InventoryAdjustment>> {
    let mut conn = B::conn(pool).await?;
    fetch::<B>(&mut conn, tenant, id).await?;
    // Without a cursor, the largest UUID (never a v7 id) bounds nothing.
    let before = storekeep_store::parse_cursor(page)?.unwrap_or(Uuid::max());
    let args = (DbId(tenant.0), DbId(id.0), DbId(before), page.fetch_limit());
    let rows: Vec<LedgerRow> = B::all(&mut conn, Stmt::new(sql::LEDGER_PAGE, args)).await?;
    let items = rows.into_iter().map(InventoryAdjustment::from).collect();
    Ok(Page::from_rows(items, page, |a| a.id.to_string()))
}

/// `count(*)` over at most `cap` entries of the partial index
/// `variants_low_stock (tenant_id) WHERE low_stock` (migration
/// `20261129000020`; the condition is the index's, word for word, so both
/// databases use it): `tenant`'s variants with at most
/// [`LOW_STOCK_UNITS`](storekeep_store::rules::catalog::LOW_STOCK_UNITS)
/// units available.
///
/// `low_stock` is a generated column and the index names no other column
/// a reservation changes: on PostgreSQL an update of `reserved` that
/// leaves `low_stock` as it was is a HOT update (no new index entries, the
/// old version pruned on its page). The index this replaces, on
/// `(tenant_id, on_hand - reserved)`, made every stock reservation write
/// a new entry into each of the table's five indexes.
pub fn count_low_stock_upto(
    tenant: storekeep_domain::TenantId,
    cap: i64,
) -> crate::stmt::Stmt<(crate::DbId, i64)> {
    crate::stmt::Stmt::new(
        "SELECT count(*) FROM (SELECT 1 FROM variants WHERE tenant_id = $1 \
         AND low_stock LIMIT $2) AS capped",
        (crate::DbId(tenant.0), cap),
    )
}
