//! Stock: on-hand changes, always through the inventory ledger.

use storekeep_domain::{
    AuditContext, InventoryAdjustment, Page, PageRequest, TenantId, Variant, VariantId,
};
use storekeep_store::rules::catalog as rules;
use storekeep_store::rules::catalog_audit::AuditEvent;
use storekeep_store::{StoreResult, now};
use storekeep_store_sql::DbId;
use storekeep_store_sql::catalog::{LedgerRow, adjustment, sql};
use uuid::Uuid;

use super::products::refresh_summary;
use super::variants::{fetch, lock_variant};
use super::{Conn, Pool, record};
use crate::error::other;
use crate::run::RUN;
use crate::write_tx;
use storekeep_store_sql::stmt::Stmt;

/// Appends `line` to the ledger.
pub(super) async fn write_ledger(
    conn: &mut Conn,
    tenant: TenantId,
    line: InventoryAdjustment,
) -> StoreResult<InventoryAdjustment> {
    sql::insert_ledger(DbId(tenant.0), &line)
        .execute(&mut *conn)
        .await
        .map_err(other)?;
    Ok(line)
}

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
    write_ledger(conn, tenant, line).await
}

/// Adds `delta` to on-hand stock through a ledger entry.
pub(super) async fn change_stock(
    conn: &mut Conn,
    tenant: TenantId,
    variant: Uuid,
    delta: i64,
    reason: &str,
    actor: &str,
) -> StoreResult<InventoryAdjustment> {
    let (on_hand, reserved): (i64, i64) = RUN
        .one(
            &mut *conn,
            Stmt::new(
                "SELECT on_hand, reserved FROM variants WHERE id = $1",
                (DbId(variant),),
            ),
        )
        .await?;
    let after = rules::stock_after(on_hand, reserved, delta)?;
    RUN.exec(
        &mut *conn,
        Stmt::new(sql::SET_STOCK, (after, now(), DbId(variant))),
    )
    .await?;
    let line = adjustment(VariantId(variant), delta, reason, after, actor);
    write_ledger(conn, tenant, line).await
}

pub(super) async fn adjust(
    pool: &Pool,
    tenant: TenantId,
    id: VariantId,
    delta: i64,
    reason: &str,
    ctx: &AuditContext,
) -> StoreResult<(Variant, InventoryAdjustment)> {
    let mut tx = write_tx(pool).await?;
    let before = lock_variant(&mut tx, tenant, id).await?;
    let line = change_stock(&mut tx, tenant, id.0, delta, reason, &ctx.actor).await?;
    refresh_summary(&mut tx, DbId(before.product_id.0)).await?;
    let after = fetch(&mut tx, tenant, id).await?;
    record(
        &mut tx,
        tenant,
        ctx,
        AuditEvent::inventory_adjusted(&before, &after, &line),
    )
    .await?;
    tx.commit().await.map_err(other)?;
    Ok((after, line))
}

/// Newest first.
pub(super) async fn ledger(
    pool: &Pool,
    tenant: TenantId,
    id: VariantId,
    page: &PageRequest,
) -> StoreResult<Page<InventoryAdjustment>> {
    let mut conn = pool.acquire().await.map_err(other)?;
    fetch(&mut conn, tenant, id).await?;
    // Without a cursor, the largest UUID (never a v7 id) bounds nothing.
    let before = storekeep_store::parse_cursor(page)?.unwrap_or(Uuid::max());
    let rows: Vec<LedgerRow> = RUN
        .all(
            &mut *conn,
            Stmt::new(
                sql::LEDGER_PAGE,
                (DbId(tenant.0), DbId(id.0), DbId(before), page.fetch_limit()),
            ),
        )
        .await?;
    let items = rows.into_iter().map(InventoryAdjustment::from).collect();
    Ok(Page::from_rows(items, page, |a| a.id.to_string()))
}
