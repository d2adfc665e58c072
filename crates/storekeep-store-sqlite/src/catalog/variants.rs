//! Variants: what is sold, with a SKU, options, a price and stock.

use storekeep_domain::{
    AuditContext, NewVariant, ProductId, TenantId, Variant, VariantId, VariantPatch,
};
use storekeep_store::rules::catalog as rules;
use storekeep_store::rules::catalog_audit::AuditEvent;
use storekeep_store::{StoreError, StoreResult, now};
use storekeep_store_sql::DbId;
use storekeep_store_sql::catalog::{VariantRow, adjustment, sql};

use super::inventory::write_ledger;
use super::products::refresh_summary;
use super::{Conn, Pool, map_err, record};
use crate::backend::SqliteBackend as B;
use crate::error::other;
use crate::run::RUN;
use crate::write_tx;
use storekeep_store_sql::catalog::products::{lock_product, touch};
use storekeep_store_sql::stmt::Stmt;

pub(super) async fn fetch(
    conn: &mut Conn,
    tenant: TenantId,
    id: VariantId,
) -> StoreResult<Variant> {
    let row: Option<VariantRow> = RUN
        .optional(
            &mut *conn,
            Stmt::new(sql::VARIANT_BY_ID, (DbId(tenant.0), DbId(id.0))),
        )
        .await?;
    row.ok_or(StoreError::NotFound("variant"))?.try_into()
}

/// The variant as it is now. The write transaction already holds the
/// database's lock, so nothing else is locked.
pub(super) async fn lock_variant(
    conn: &mut Conn,
    tenant: TenantId,
    id: VariantId,
) -> StoreResult<Variant> {
    fetch(conn, tenant, id).await
}

pub(super) async fn variant_count(conn: &mut Conn, product: DbId) -> StoreResult<i64> {
    RUN.scalar(&mut *conn, Stmt::new(sql::VARIANT_COUNT, (product,)))
        .await
}

/// Inserts a variant at the end of the product's list, its initial stock
/// recorded in the ledger with `reason`.
pub(super) async fn insert_variant(
    conn: &mut Conn,
    tenant: TenantId,
    product: DbId,
    v: &NewVariant,
    actor: &str,
    reason: &str,
) -> StoreResult<VariantId> {
    let id = VariantId::new();
    let position: i64 = RUN
        .scalar(
            &mut *conn,
            Stmt::new(sql::NEXT_VARIANT_POSITION, (product,)),
        )
        .await?;
    sql::insert_variant((DbId(id.0), DbId(tenant.0), product), v, position, now())
        .execute(&mut *conn)
        .await
        .map_err(map_err)?;
    if v.on_hand != 0 {
        let line = adjustment(id, v.on_hand, reason, v.on_hand, actor);
        write_ledger(conn, tenant, line).await?;
    }
    Ok(id)
}

/// Writes a variant's descriptive fields (not its stock).
pub(super) async fn write_variant(conn: &mut Conn, id: DbId, v: &NewVariant) -> StoreResult<()> {
    sql::update_variant(id, v, now())
        .execute(&mut *conn)
        .await
        .map_err(map_err)?;
    Ok(())
}

pub(super) async fn add(
    pool: &Pool,
    tenant: TenantId,
    product: ProductId,
    new: &NewVariant,
    ctx: &AuditContext,
) -> StoreResult<Variant> {
    let mut tx = write_tx(pool).await?;
    let key = DbId(product.0);
    lock_product::<B>(&mut tx, tenant, key).await?;
    rules::variant_room(variant_count(&mut tx, key).await?)?;
    let id = insert_variant(&mut tx, tenant, key, new, &ctx.actor, "initial").await?;
    refresh_summary(&mut tx, key).await?;
    touch::<B>(&mut tx, key).await?;
    let variant = fetch(&mut tx, tenant, id).await?;
    record(&mut tx, tenant, ctx, AuditEvent::variant_created(&variant)).await?;
    tx.commit().await.map_err(other)?;
    Ok(variant)
}

pub(super) async fn update(
    pool: &Pool,
    tenant: TenantId,
    id: VariantId,
    patch: &VariantPatch,
    ctx: &AuditContext,
) -> StoreResult<Variant> {
    let mut tx = write_tx(pool).await?;
    let before = lock_variant(&mut tx, tenant, id).await?;
    let product = DbId(before.product_id.0);
    write_variant(&mut tx, DbId(id.0), &rules::patched_variant(&before, patch)).await?;
    refresh_summary(&mut tx, product).await?;
    touch::<B>(&mut tx, product).await?;
    let after = fetch(&mut tx, tenant, id).await?;
    record(
        &mut tx,
        tenant,
        ctx,
        AuditEvent::variant_updated(&before, &after),
    )
    .await?;
    tx.commit().await.map_err(other)?;
    Ok(after)
}

pub(super) async fn delete(
    pool: &Pool,
    tenant: TenantId,
    id: VariantId,
    ctx: &AuditContext,
) -> StoreResult<()> {
    let mut tx = write_tx(pool).await?;
    let before = lock_variant(&mut tx, tenant, id).await?;
    let product = DbId(before.product_id.0);
    let count = variant_count(&mut tx, product).await?;
    rules::variant_removable(count, before.inventory.reserved)?;
    RUN.exec(&mut *tx, Stmt::new(sql::DELETE_VARIANT, (DbId(id.0),)))
        .await?;
    refresh_summary(&mut tx, product).await?;
    record(&mut tx, tenant, ctx, AuditEvent::variant_deleted(&before)).await?;
    tx.commit().await.map_err(other)?;
    Ok(())
}
