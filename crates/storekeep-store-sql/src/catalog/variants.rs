//! Variants: what is sold, with a SKU, options, a price and stock, written
//! once over the [`Backend`].

use sqlx::Pool;
use storekeep_domain::{
    AuditContext, NewVariant, ProductId, TenantId, Variant, VariantId, VariantPatch,
};
use storekeep_store::rules::catalog as rules;
use storekeep_store::rules::catalog_audit::AuditEvent;
use storekeep_store::{StoreError, StoreResult, now};

use super::inventory::write_ledger;
use super::products::{lock_product, touch};
use super::{VariantRow, adjustment, sql};
use crate::DbId;
use crate::backend::{Backend, Conn};
use crate::stmt::{Stmt, found};

pub async fn fetch<B: Backend>(
    conn: &mut Conn<B::Db>,
    tenant: TenantId,
    id: VariantId,
) -> StoreResult<Variant> {
    let stmt = Stmt::new(sql::VARIANT_BY_ID, (DbId(tenant.0), DbId(id.0)));
    found(B::optional::<_, VariantRow>(conn, stmt).await?, "variant")
}

/// The variant as it is now, for a change. Where the database locks rows,
/// its product is locked first (lock 2; a variant never changes product);
/// on SQLite the write transaction already holds the database's lock.
pub async fn lock_variant<B: Backend>(
    conn: &mut Conn<B::Db>,
    tenant: TenantId,
    id: VariantId,
) -> StoreResult<Variant> {
    if B::ROW_LOCKS {
        let stmt = Stmt::new(sql::VARIANT_PRODUCT, (DbId(tenant.0), DbId(id.0)));
        let product: Option<DbId> = B::scalar_optional(&mut *conn, stmt).await?;
        let product = product.ok_or(StoreError::NotFound("variant"))?;
        match lock_product::<B>(conn, tenant, product).await {
            Err(StoreError::NotFound(_)) => return Err(StoreError::NotFound("variant")),
            r => r?,
        }
    }
    fetch::<B>(conn, tenant, id).await
}

pub async fn variant_count<B: Backend>(conn: &mut Conn<B::Db>, product: DbId) -> StoreResult<i64> {
    B::scalar(conn, Stmt::new(sql::VARIANT_COUNT, (product,))).await
}

/// Inserts a variant at the end of the product's list, its initial stock
/// recorded in the ledger with `reason`.
pub async fn insert_variant<B: Backend>(
    conn: &mut Conn<B::Db>,
    tenant: TenantId,
    product: DbId,
    v: &NewVariant,
    actor: &str,
    reason: &str,
) -> StoreResult<VariantId> {
    let id = VariantId::new();
    let next = Stmt::new(sql::NEXT_VARIANT_POSITION, (product,));
    let position: i64 = B::scalar(&mut *conn, next).await?;
    let insert = sql::insert_variant((DbId(id.0), DbId(tenant.0), product), v, position, now());
    B::exec_unique(&mut *conn, insert, B::CATALOG_UNIQUES).await?;
    if v.on_hand != 0 {
        let line = adjustment(id, v.on_hand, reason, v.on_hand, actor);
        write_ledger::<B>(conn, tenant, line).await?;
    }
    Ok(id)
}

/// Writes a variant's descriptive fields (not its stock).
pub async fn write_variant<B: Backend>(
    conn: &mut Conn<B::Db>,
    id: DbId,
    v: &NewVariant,
) -> StoreResult<()> {
    B::exec_unique(conn, sql::update_variant(id, v, now()), B::CATALOG_UNIQUES).await?;
    Ok(())
}

pub async fn add<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    product: ProductId,
    new: &NewVariant,
    ctx: &AuditContext,
) -> StoreResult<Variant> {
    let mut tx = B::write_tx(pool).await?;
    let key = DbId(product.0);
    lock_product::<B>(&mut tx, tenant, key).await?;
    rules::variant_room(variant_count::<B>(&mut tx, key).await?)?;
    let id = insert_variant::<B>(&mut tx, tenant, key, new, &ctx.actor, "initial").await?;
    B::refresh_summary(&mut tx, key).await?;
    touch::<B>(&mut tx, key).await?;
    let variant = fetch::<B>(&mut tx, tenant, id).await?;
    B::record(&mut tx, tenant, ctx, AuditEvent::variant_created(&variant)).await?;
    B::commit(tx).await?;
    Ok(variant)
}

pub async fn update<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    id: VariantId,
    patch: &VariantPatch,
    ctx: &AuditContext,
) -> StoreResult<Variant> {
    let mut tx = B::write_tx(pool).await?;
    let before = lock_variant::<B>(&mut tx, tenant, id).await?;
    let product = DbId(before.product_id.0);
    let new = rules::patched_variant(&before, patch);
    write_variant::<B>(&mut tx, DbId(id.0), &new).await?;
    B::refresh_summary(&mut tx, product).await?;
    touch::<B>(&mut tx, product).await?;
    let after = fetch::<B>(&mut tx, tenant, id).await?;
    let event = AuditEvent::variant_updated(&before, &after);
    B::record(&mut tx, tenant, ctx, event).await?;
    B::commit(tx).await?;
    Ok(after)
}

pub async fn delete<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    id: VariantId,
    ctx: &AuditContext,
) -> StoreResult<()> {
    let mut tx = B::write_tx(pool).await?;
    let before = lock_variant::<B>(&mut tx, tenant, id).await?;
    let product = DbId(before.product_id.0);
    let count = variant_count::<B>(&mut tx, product).await?;
    rules::variant_removable(count, before.inventory.reserved)?;
    crate::rental_guard::variant_deletable::<B>(&mut tx, tenant, id).await?;
    B::exec(
        &mut tx,
        Stmt::new(sql::DELETE_VARIANT, (DbId(tenant.0), DbId(id.0))),
    )
    .await?;
    B::refresh_summary(&mut tx, product).await?;
    B::record(&mut tx, tenant, ctx, AuditEvent::variant_deleted(&before)).await?;
    B::commit(tx).await?;
    Ok(())
}
