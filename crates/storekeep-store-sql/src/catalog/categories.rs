//! Categories: a tree per shop, the same on both databases.

use std::collections::HashMap;

use sqlx::Pool;
use storekeep_domain::{AuditContext, Category, CategoryId, CategoryPatch, NewCategory, TenantId};
use storekeep_store::rules::catalog as rules;
use storekeep_store::rules::catalog_audit::AuditEvent;
use storekeep_store::{StoreResult, now};

use super::{CategoryRow, sql};
use crate::DbId;
use crate::backend::{Backend, Conn};
use crate::stmt::{Stmt, found};

pub async fn fetch<B: Backend>(
    conn: &mut Conn<B::Db>,
    tenant: TenantId,
    id: CategoryId,
) -> StoreResult<Category> {
    let stmt = Stmt::new(sql::CATEGORY_BY_ID, (DbId(tenant.0), DbId(id.0)));
    found(B::optional::<_, CategoryRow>(conn, stmt).await?, "category")
}

/// Every category's parent.
async fn tree<B: Backend>(
    conn: &mut Conn<B::Db>,
    tenant: TenantId,
) -> StoreResult<HashMap<CategoryId, Option<CategoryId>>> {
    let rows: Vec<(DbId, Option<DbId>)> =
        B::all(conn, Stmt::new(sql::CATEGORY_TREE, (DbId(tenant.0),))).await?;
    Ok(rows
        .into_iter()
        .map(|(id, parent)| (CategoryId(id.0), parent.map(|p| CategoryId(p.0))))
        .collect())
}

pub async fn create<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    new: &NewCategory,
    ctx: &AuditContext,
) -> StoreResult<Category> {
    let mut tx = B::write_tx(pool).await?;
    B::lock_tenant(&mut tx, tenant).await?;
    if let Some(parent) = new.parent_id {
        rules::known_parent(fetch::<B>(&mut tx, tenant, parent).await)?;
    }
    let id = CategoryId::new();
    let insert = sql::insert_category(DbId(id.0), DbId(tenant.0), new, now());
    B::exec_unique(&mut tx, insert, B::CATALOG_UNIQUES).await?;
    let category = fetch::<B>(&mut tx, tenant, id).await?;
    let event = AuditEvent::category_created(&category);
    B::record(&mut tx, tenant, ctx, event).await?;
    B::commit(tx).await?;
    Ok(category)
}

pub async fn list<B: Backend>(pool: &Pool<B::Db>, tenant: TenantId) -> StoreResult<Vec<Category>> {
    let mut conn = B::conn(pool).await?;
    let rows: Vec<CategoryRow> =
        B::all(&mut conn, Stmt::new(sql::CATEGORIES, (DbId(tenant.0),))).await?;
    rows.into_iter().map(Category::try_from).collect()
}

pub async fn update<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    id: CategoryId,
    patch: &CategoryPatch,
    ctx: &AuditContext,
) -> StoreResult<Category> {
    let mut tx = B::write_tx(pool).await?;
    // With the tenant locked, no other move can run between reading the
    // tree and the commit, so two moves cannot make a cycle together.
    B::lock_tenant(&mut tx, tenant).await?;
    let before = fetch::<B>(&mut tx, tenant, id).await?;
    let new = rules::patched_category(&before, patch);
    if new.parent_id.is_some() {
        rules::category_move(id, new.parent_id, &tree::<B>(&mut tx, tenant).await?)?;
    }
    let update = sql::update_category(DbId(id.0), &new, now());
    B::exec_unique(&mut tx, update, B::CATALOG_UNIQUES).await?;
    let after = fetch::<B>(&mut tx, tenant, id).await?;
    let event = AuditEvent::category_updated(&before, &after);
    B::record(&mut tx, tenant, ctx, event).await?;
    B::commit(tx).await?;
    Ok(after)
}

pub async fn delete<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    id: CategoryId,
    ctx: &AuditContext,
) -> StoreResult<()> {
    let mut tx = B::write_tx(pool).await?;
    // Serialised with creates and moves, so no subcategory appears under
    // it between the count and the delete.
    B::lock_tenant(&mut tx, tenant).await?;
    let before = fetch::<B>(&mut tx, tenant, id).await?;
    let children: i64 =
        B::scalar(&mut tx, Stmt::new(sql::CATEGORY_CHILDREN, (DbId(id.0),))).await?;
    rules::category_removable(children)?;
    B::exec(
        &mut tx,
        Stmt::new(sql::DELETE_CATEGORY, (DbId(tenant.0), DbId(id.0))),
    )
    .await?;
    B::record(&mut tx, tenant, ctx, AuditEvent::category_deleted(&before)).await?;
    B::commit(tx).await?;
    Ok(())
}
