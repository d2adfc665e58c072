//! Product images: the records of objects already in the media store,
//! written once over the [`Backend`].

use sqlx::Pool;
use storekeep_domain::{AuditContext, ImageId, ImageVariant, NewImage, ProductImage, TenantId};
use storekeep_store::rules::catalog as rules;
use storekeep_store::rules::catalog_audit::AuditEvent;
use storekeep_store::{StoreError, StoreResult, now};

use super::products::{lock_product, touch};
use super::rows::PendingImageRow;
use super::{ImageRow, sql};
use crate::DbId;
use crate::backend::{Backend, Conn};
use crate::stmt::{Stmt, found};

async fn fetch<B: Backend>(
    conn: &mut Conn<B::Db>,
    tenant: TenantId,
    id: ImageId,
) -> StoreResult<ProductImage> {
    let stmt = Stmt::new(sql::IMAGE_BY_ID, (DbId(tenant.0), DbId(id.0)));
    found(B::optional::<_, ImageRow>(conn, stmt).await?, "image")
}

pub async fn add<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    image: &NewImage,
    storage_limit: i64,
    ctx: &AuditContext,
) -> StoreResult<ProductImage> {
    let mut tx = B::write_tx(pool).await?;
    // The tenant's lock holds the storage sum until commit.
    B::lock_tenant(&mut tx, tenant).await?;
    let product = DbId(image.product_id.0);
    lock_product::<B>(&mut tx, tenant, product).await?;
    let used: i64 = B::scalar(&mut tx, Stmt::new(sql::IMAGE_BYTES_USED, (DbId(tenant.0),))).await?;
    let variants = super::rows::variants_bytes(&image.variants);
    rules::image_room(used, image.size_bytes + variants, storage_limit)?;
    let next = Stmt::new(sql::NEXT_IMAGE_POSITION, (product,));
    let position: i64 = B::scalar(&mut tx, next).await?;
    B::exec(
        &mut tx,
        sql::insert_image(DbId(tenant.0), image, position, now()),
    )
    .await?;
    touch::<B>(&mut tx, product).await?;
    let stored = fetch::<B>(&mut tx, tenant, image.id).await?;
    B::record(&mut tx, tenant, ctx, AuditEvent::image_added(image)).await?;
    B::commit(tx).await?;
    Ok(stored)
}

pub async fn get<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    id: ImageId,
) -> StoreResult<ProductImage> {
    fetch::<B>(&mut *B::conn(pool).await?, tenant, id).await
}

pub async fn delete<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    id: ImageId,
    ctx: &AuditContext,
) -> StoreResult<ProductImage> {
    let mut tx = B::write_tx(pool).await?;
    let image = fetch::<B>(&mut tx, tenant, id).await?;
    let product = DbId(image.product_id.0);
    if B::ROW_LOCKS {
        // The product first (lock order), then the image, which a
        // concurrent delete may have removed meanwhile.
        match lock_product::<B>(&mut tx, tenant, product).await {
            Err(StoreError::NotFound(_)) => return Err(StoreError::NotFound("image")),
            r => r?,
        }
    }
    let deleted = B::exec(
        &mut tx,
        Stmt::new(sql::DELETE_IMAGE, (DbId(tenant.0), DbId(id.0))),
    )
    .await?;
    if deleted == 0 {
        return Err(StoreError::NotFound("image"));
    }
    touch::<B>(&mut tx, product).await?;
    B::record(&mut tx, tenant, ctx, AuditEvent::image_deleted(&image)).await?;
    B::commit(tx).await?;
    Ok(image)
}

/// Up to `limit` images (every shop's) whose variants were never made,
/// after `after` in id order: their shop, id and object key.
pub async fn without_variants<B: Backend>(
    pool: &Pool<B::Db>,
    after: Option<ImageId>,
    limit: i64,
) -> StoreResult<Vec<(TenantId, ImageId, String)>> {
    let after = DbId(after.map_or(uuid::Uuid::nil(), |a| a.0));
    let stmt = Stmt::new(sql::IMAGES_WITHOUT_VARIANTS, (after, limit));
    let rows = B::all::<_, PendingImageRow>(&mut *B::conn(pool).await?, stmt).await?;
    Ok(rows
        .into_iter()
        .map(|r| (TenantId(r.tenant_id.0), ImageId(r.id.0), r.object_key))
        .collect())
}

/// Records the variants of an image that has none yet; `false` when there
/// is no such image any more or its variants were recorded meanwhile.
pub async fn set_variants<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    id: ImageId,
    variants: &[ImageVariant],
) -> StoreResult<bool> {
    let mut tx = B::write_tx(pool).await?;
    let stmt = Stmt::new(
        sql::SET_IMAGE_VARIANTS,
        (
            DbId(tenant.0),
            DbId(id.0),
            super::rows::variants_json(variants),
            super::rows::variants_bytes(variants),
        ),
    );
    let changed = B::exec(&mut tx, stmt).await?;
    B::commit(tx).await?;
    Ok(changed == 1)
}
