//! Product images: checked, written to the media store, then recorded; an
//! object the store does not record is removed again.

use bytes::Bytes;
use storekeep_domain::{
    AuditContext, ImageId, NewImage, ProductId, ProductImage, Tenant, ValidationErrors,
};

use crate::media;
use crate::services::{ServiceError, ServiceResult, Services};

/// An uploaded image as the request carried it.
pub struct Upload {
    pub bytes: Bytes,
    /// The content type the part declared.
    pub declared: Option<String>,
    pub alt: String,
}

/// Checks the upload (size, format matching the declared type, pixel
/// count), writes it to the media store and records it, within the plan's
/// storage limit.
pub async fn upload(
    svc: &Services,
    tenant: &Tenant,
    product_id: ProductId,
    upload: Upload,
    audit: &AuditContext,
) -> ServiceResult<ProductImage> {
    let Upload {
        bytes,
        declared,
        alt,
    } = upload;
    if bytes.len() > svc.settings.media.max_image_bytes {
        return Err(ServiceError::TooLarge);
    }
    let inspected = media::inspect(
        &bytes,
        declared.as_deref(),
        svc.settings.media.max_image_pixels,
    )
    .map_err(|m| ValidationErrors::single("file", m))?;
    // The product must exist before anything is written to storage.
    svc.store.product(tenant.id, product_id).await?;
    let image_id = ImageId::new();
    let key = media::object_key(tenant.id, image_id, inspected.extension);
    let size = bytes.len() as i64;
    svc.media.put(&key, bytes).await?;
    let new = NewImage {
        id: image_id,
        product_id,
        key: key.clone(),
        content_type: inspected.content_type.to_owned(),
        width: inspected.width,
        height: inspected.height,
        size_bytes: size,
        alt,
    };
    let stored = svc
        .store
        .add_image(tenant.id, &new, tenant.limits.storage_bytes, audit)
        .await;
    let mut image = match stored {
        Ok(image) => image,
        Err(e) => {
            // Not recorded: the object must not linger.
            if let Err(d) = svc.media.delete(&key).await {
                tracing::warn!(error = %d, key, "could not remove an unrecorded image object");
            }
            return Err(e.into());
        }
    };
    image.url = svc.media.url(&image.key);
    Ok(image)
}

/// Forgets the image, then removes its object (a failure there is logged).
pub async fn delete(
    svc: &Services,
    tenant: &Tenant,
    id: ImageId,
    audit: &AuditContext,
) -> ServiceResult<()> {
    let image = svc.store.delete_image(tenant.id, id, audit).await?;
    if let Err(e) = svc.media.delete(&image.key).await {
        tracing::warn!(error = %e, key = image.key, "could not delete an image object");
    }
    Ok(())
}
