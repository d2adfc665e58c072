//! Product images: the records of objects already in the media store.

use storekeep_domain::{AuditContext, ImageId, NewImage, ProductImage, TenantId};
use storekeep_store::rules::catalog as rules;
use storekeep_store::rules::catalog_audit::AuditEvent;
use storekeep_store::{StoreError, StoreResult, now};
use storekeep_store_sql::DbId;
use storekeep_store_sql::catalog::{ImageRow, sql};

use super::products::{lock_product, touch};
use super::{Conn, Pool, lock_tenant, record};
use crate::error::other;
use crate::run::RUN;
use crate::write_tx;
use storekeep_store_sql::stmt::Stmt;

async fn fetch(conn: &mut Conn, tenant: TenantId, id: ImageId) -> StoreResult<ProductImage> {
    let row: Option<ImageRow> = RUN
        .optional(
            &mut *conn,
            Stmt::new(sql::IMAGE_BY_ID, (DbId(tenant.0), DbId(id.0))),
        )
        .await?;
    row.ok_or(StoreError::NotFound("image"))?.try_into()
}

pub(super) async fn add(
    pool: &Pool,
    tenant: TenantId,
    image: &NewImage,
    storage_limit: i64,
    ctx: &AuditContext,
) -> StoreResult<ProductImage> {
    let mut tx = write_tx(pool).await?;
    // The tenant's lock holds the storage sum until commit.
    lock_tenant(&mut tx, tenant).await?;
    let product = DbId(image.product_id.0);
    lock_product(&mut tx, tenant, product).await?;
    let used: i64 = sqlx::query_scalar(
        "SELECT coalesce(sum(size_bytes), 0) FROM product_images WHERE tenant_id = $1",
    )
    .bind(DbId(tenant.0))
    .fetch_one(&mut *tx)
    .await
    .map_err(other)?;
    rules::image_room(used, image.size_bytes, storage_limit)?;
    let position: i64 = RUN
        .scalar(&mut *tx, Stmt::new(sql::NEXT_IMAGE_POSITION, (product,)))
        .await?;
    sql::insert_image(DbId(tenant.0), image, position, now())
        .execute(&mut *tx)
        .await
        .map_err(other)?;
    touch(&mut tx, product).await?;
    let stored = fetch(&mut tx, tenant, image.id).await?;
    record(&mut tx, tenant, ctx, AuditEvent::image_added(image)).await?;
    tx.commit().await.map_err(other)?;
    Ok(stored)
}

pub(super) async fn get(pool: &Pool, tenant: TenantId, id: ImageId) -> StoreResult<ProductImage> {
    let mut conn = pool.acquire().await.map_err(other)?;
    fetch(&mut conn, tenant, id).await
}

pub(super) async fn delete(
    pool: &Pool,
    tenant: TenantId,
    id: ImageId,
    ctx: &AuditContext,
) -> StoreResult<ProductImage> {
    let mut tx = write_tx(pool).await?;
    let image = fetch(&mut tx, tenant, id).await?;
    RUN.exec(&mut *tx, Stmt::new(sql::DELETE_IMAGE, (DbId(id.0),)))
        .await?;
    touch(&mut tx, DbId(image.product_id.0)).await?;
    record(&mut tx, tenant, ctx, AuditEvent::image_deleted(&image)).await?;
    tx.commit().await.map_err(other)?;
    Ok(image)
}
