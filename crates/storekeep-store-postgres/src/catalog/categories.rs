//! Categories: a tree per shop.

use std::collections::HashMap;

use storekeep_domain::{AuditContext, Category, CategoryId, CategoryPatch, NewCategory, TenantId};
use storekeep_store::rules::catalog as rules;
use storekeep_store::rules::catalog_audit::AuditEvent;
use storekeep_store::{StoreError, StoreResult, now};
use storekeep_store_sql::DbId;
use storekeep_store_sql::catalog::{CategoryRow, sql};

use super::{Conn, Pool, lock_tenant, map_err, record};
use crate::error::other;
use crate::run::RUN;
use crate::write_tx;
use storekeep_store_sql::stmt::Stmt;

pub(super) async fn fetch(
    conn: &mut Conn,
    tenant: TenantId,
    id: CategoryId,
) -> StoreResult<Category> {
    let row: Option<CategoryRow> = RUN
        .optional(
            &mut *conn,
            Stmt::new(sql::CATEGORY_BY_ID, (DbId(tenant.0), DbId(id.0))),
        )
        .await?;
    row.ok_or(StoreError::NotFound("category"))?.try_into()
}

/// Every category's parent.
async fn tree(
    conn: &mut Conn,
    tenant: TenantId,
) -> StoreResult<HashMap<CategoryId, Option<CategoryId>>> {
    let rows: Vec<(DbId, Option<DbId>)> = RUN
        .all(&mut *conn, Stmt::new(sql::CATEGORY_TREE, (DbId(tenant.0),)))
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, parent)| (CategoryId(id.0), parent.map(|p| CategoryId(p.0))))
        .collect())
}

pub(super) async fn create(
    pool: &Pool,
    tenant: TenantId,
    new: &NewCategory,
    ctx: &AuditContext,
) -> StoreResult<Category> {
    let mut tx = write_tx(pool).await?;
    lock_tenant(&mut tx, tenant).await?;
    if let Some(parent) = new.parent_id {
        rules::known_parent(fetch(&mut tx, tenant, parent).await)?;
    }
    let id = CategoryId::new();
    sql::insert_category(DbId(id.0), DbId(tenant.0), new, now())
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
    let category = fetch(&mut tx, tenant, id).await?;
    record(
        &mut tx,
        tenant,
        ctx,
        AuditEvent::category_created(&category),
    )
    .await?;
    tx.commit().await.map_err(other)?;
    Ok(category)
}

pub(super) async fn list(pool: &Pool, tenant: TenantId) -> StoreResult<Vec<Category>> {
    let rows: Vec<CategoryRow> = RUN
        .all(pool, Stmt::new(sql::CATEGORIES, (DbId(tenant.0),)))
        .await?;
    rows.into_iter().map(Category::try_from).collect()
}

pub(super) async fn update(
    pool: &Pool,
    tenant: TenantId,
    id: CategoryId,
    patch: &CategoryPatch,
    ctx: &AuditContext,
) -> StoreResult<Category> {
    let mut tx = write_tx(pool).await?;
    // With the tenant locked, no other move can run between reading the
    // tree and the commit, so two moves cannot make a cycle together.
    lock_tenant(&mut tx, tenant).await?;
    let before = fetch(&mut tx, tenant, id).await?;
    let new = rules::patched_category(&before, patch);
    if new.parent_id.is_some() {
        rules::category_move(id, new.parent_id, &tree(&mut tx, tenant).await?)?;
    }
    sql::update_category(DbId(id.0), &new, now())
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
    let after = fetch(&mut tx, tenant, id).await?;
    record(
        &mut tx,
        tenant,
        ctx,
        AuditEvent::category_updated(&before, &after),
    )
    .await?;
    tx.commit().await.map_err(other)?;
    Ok(after)
}

pub(super) async fn delete(
    pool: &Pool,
    tenant: TenantId,
    id: CategoryId,
    ctx: &AuditContext,
) -> StoreResult<()> {
    let mut tx = write_tx(pool).await?;
    // Serialised with creates and moves, so no subcategory appears under
    // it between the count and the delete.
    lock_tenant(&mut tx, tenant).await?;
    let before = fetch(&mut tx, tenant, id).await?;
    let children: i64 = RUN
        .scalar(&mut *tx, Stmt::new(sql::CATEGORY_CHILDREN, (DbId(id.0),)))
        .await?;
    rules::category_removable(children)?;
    RUN.exec(&mut *tx, Stmt::new(sql::DELETE_CATEGORY, (DbId(id.0),)))
        .await?;
    record(&mut tx, tenant, ctx, AuditEvent::category_deleted(&before)).await?;
    tx.commit().await.map_err(other)?;
    Ok(())
}
