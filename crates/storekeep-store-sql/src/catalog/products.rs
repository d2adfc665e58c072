//! What the products' code of both backends shares: the product lock and
//! the touch of its update time, written once over the [`Backend`].

use storekeep_domain::TenantId;
use storekeep_store::{StoreError, StoreResult, now};

use super::sql;
use crate::DbId;
use crate::backend::{Backend, Conn};
use crate::stmt::Stmt;

/// Lock 2 on PostgreSQL (`FOR UPDATE`); on SQLite, whose write transaction
/// already holds the database's lock, only the check that the product
/// exists in the shop.
pub async fn lock_product<B: Backend>(
    conn: &mut Conn<B::Db>,
    tenant: TenantId,
    id: DbId,
) -> StoreResult<()> {
    let by_id = B::read_for_update(sql::PRODUCT_EXISTS, sql::PRODUCT_EXISTS_LOCKED);
    let found: Option<DbId> =
        B::scalar_optional(conn, Stmt::new(by_id, (DbId(tenant.0), id))).await?;
    found.map(|_| ()).ok_or(StoreError::NotFound("product"))
}

/// Marks a product changed now.
pub async fn touch<B: Backend>(conn: &mut Conn<B::Db>, product: DbId) -> StoreResult<()> {
    B::exec(conn, Stmt::new(sql::TOUCH_PRODUCT, (now(), product))).await?;
    Ok(())
}
