//! Product images: checked, their variants made (see `media::variants`),
//! the original and its variants written to the media store, then recorded;
//! objects the store does not record are removed again.

use bytes::Bytes;
use storekeep_domain::{
    AuditContext, ImageId, ImageVariant, NewImage, ProductId, ProductImage, Tenant,
    ValidationErrors,
};
use storekeep_store::{Store, StoreError};

use crate::media::variants::{self, VariantError};
use crate::media::{self, Media, MediaError};
use crate::services::{ServiceError, ServiceResult, Services};

/// An uploaded image as the request carried it.
pub struct Upload {
    pub bytes: Bytes,
    /// The content type the part declared.
    pub declared: Option<String>,
    pub alt: String,
}

/// Checks the upload (size, format matching the declared type, pixel
/// count), makes its variants, writes it and them to the media store and
/// records it, within the plan's storage limit (the original's bytes and
/// its variants' count).
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
    let max_pixels = svc.settings.media.max_image_pixels;
    let inspected = media::inspect(&bytes, declared.as_deref(), max_pixels)
        .map_err(|m| ValidationErrors::single("file", m))?;
    // The product must exist before any work or any write.
    svc.store.product(tenant.id, product_id).await?;
    let made = variants::make_bounded(bytes.clone(), max_pixels)
        .await
        .map_err(refusal)?;
    let image_id = ImageId::new();
    let key = media::object_key(tenant.id, image_id, inspected.extension);
    let size = bytes.len() as i64;
    // The original and its variants are written at once, so an upload
    // waits for one write, not one per object.
    let (variants, mut objects) = plan_variants(&key, made);
    objects.push((key.clone(), bytes));
    if let Err((e, written)) = put_all(&svc.media, objects).await {
        remove(&svc.media, written.iter().map(String::as_str)).await;
        return Err(e.into());
    }
    let new = NewImage {
        id: image_id,
        product_id,
        key: key.clone(),
        content_type: inspected.content_type.to_owned(),
        width: inspected.width,
        height: inspected.height,
        size_bytes: size,
        alt,
        variants,
    };
    let stored = svc
        .store
        .add_image(tenant.id, &new, tenant.limits.storage_bytes, audit)
        .await;
    let mut image = match stored {
        Ok(image) => image,
        Err(e) => {
            // Not recorded: no object may linger.
            remove(&svc.media, object_keys_of_new(&new)).await;
            return Err(e.into());
        }
    };
    with_urls(&svc.media, &mut image);
    Ok(image)
}

/// An image the decoder refuses is the upload's fault (422); an encoder
/// failing is the server's.
fn refusal(e: VariantError) -> ServiceError {
    match e {
        VariantError::TooLarge(m) => {
            ValidationErrors::single("file", format!("the image is too large to process: {m}"))
                .into()
        }
        VariantError::Undecodable(m) => {
            ValidationErrors::single("file", format!("the image's data is damaged: {m}")).into()
        }
        e @ VariantError::Encode(_) => ServiceError::Store(StoreError::other(e)),
    }
}

fn object_keys_of_new(new: &NewImage) -> impl Iterator<Item = &str> {
    std::iter::once(new.key.as_str()).chain(new.variants.iter().map(|v| v.key.as_str()))
}

/// The variants' records (keys derived from `key`) and the objects to write.
fn plan_variants(
    key: &str,
    made: Vec<variants::Made>,
) -> (Vec<ImageVariant>, Vec<(String, Bytes)>) {
    made.into_iter()
        .map(|m| {
            let vkey = media::variant_key(key, m.width, m.content_type);
            let record = ImageVariant {
                key: vkey.clone(),
                url: String::new(),
                width: m.width,
                height: m.height,
                content_type: m.content_type.to_owned(),
                size_bytes: m.bytes.len() as i64,
            };
            (record, (vkey, Bytes::from(m.bytes)))
        })
        .unzip()
}

/// Writes the objects concurrently; on failure, the first error and the
/// keys that were written (for the caller to remove).
async fn put_all(
    media: &Media,
    objects: Vec<(String, Bytes)>,
) -> Result<(), (MediaError, Vec<String>)> {
    let mut writes = tokio::task::JoinSet::new();
    for (key, bytes) in objects {
        let media = media.clone();
        writes.spawn(async move {
            let result = media.put(&key, bytes).await;
            (key, result)
        });
    }
    let (mut written, mut failure) = (Vec::new(), None);
    while let Some(joined) = writes.join_next().await {
        match joined {
            Ok((key, Ok(()))) => written.push(key),
            Ok((_, Err(e))) => {
                failure.get_or_insert(e);
            }
            Err(e) => {
                failure.get_or_insert(MediaError::Other(object_store::Error::Generic {
                    store: "media",
                    source: Box::new(e),
                }));
            }
        }
    }
    failure.map_or(Ok(()), |e| Err((e, written)))
}

/// Removes objects, logging (not failing on) any that cannot be.
async fn remove(media: &Media, keys: impl Iterator<Item = &str>) {
    for key in keys {
        if let Err(e) = media.delete(key).await {
            tracing::warn!(error = %e, key, "could not remove an image object");
        }
    }
}

/// Removes an image's object and its variants' (after its row is gone).
pub async fn remove_objects(media: &Media, image: &ProductImage) {
    remove(
        media,
        std::iter::once(image.key.as_str()).chain(image.variants.iter().map(|v| v.key.as_str())),
    )
    .await;
}

/// Fills in the image's and its variants' URLs, which depend on
/// configuration, not on the data.
pub fn with_urls(media: &Media, image: &mut ProductImage) {
    image.url = media.url(&image.key);
    for v in &mut image.variants {
        v.url = media.url(&v.key);
    }
}

/// Forgets the image, then removes its objects (a failure there is logged).
pub async fn delete(
    svc: &Services,
    tenant: &Tenant,
    id: ImageId,
    audit: &AuditContext,
) -> ServiceResult<()> {
    let image = svc.store.delete_image(tenant.id, id, audit).await?;
    remove_objects(&svc.media, &image).await;
    Ok(())
}

/// What [`backfill`] did.
#[derive(Debug, Default, serde::Serialize)]
pub struct Backfilled {
    /// Images that got their variants.
    pub made: u64,
    /// Images recorded with no variants: a GIF, or data that does not
    /// decode (the original is served as it is).
    pub none_possible: u64,
    /// Images whose original object is missing from the media store, left
    /// as they were (a later run tries again).
    pub missing: u64,
    /// Images deleted, or completed by another run, while this one worked
    /// (its objects removed again).
    pub raced: u64,
}

/// Makes the variants of every image that has none recorded (uploaded
/// before variants existed), shop by shop in id order, one image at a
/// time; safe to run again or beside another run: an image is recorded
/// once, and what a losing run wrote is removed. Stops at the first
/// failure of the media store or the database (run it again).
pub async fn backfill(
    store: &dyn Store,
    media: &Media,
    max_pixels: u64,
) -> anyhow::Result<Backfilled> {
    const BATCH: i64 = 100;
    let mut out = Backfilled::default();
    let mut after = None;
    loop {
        let batch = store.images_without_variants(after, BATCH).await?;
        let Some((_, last, _)) = batch.last() else {
            return Ok(out);
        };
        after = Some(*last);
        for (tenant, id, key) in batch {
            let Some(bytes) = media.get(&key).await? else {
                tracing::warn!(
                    key,
                    "backfill: the image's object is missing; no variants made"
                );
                out.missing += 1;
                continue;
            };
            let made = match variants::make_bounded(bytes, max_pixels).await {
                Ok(made) => made,
                Err(e @ (VariantError::TooLarge(_) | VariantError::Undecodable(_))) => {
                    tracing::warn!(key, error = %e, "backfill: no variants can be made of this image");
                    Vec::new()
                }
                Err(e) => return Err(e.into()),
            };
            let (variants, objects) = plan_variants(&key, made);
            if let Err((e, written)) = put_all(media, objects).await {
                remove(media, written.iter().map(String::as_str)).await;
                return Err(e.into());
            }
            if store.set_image_variants(tenant, id, &variants).await? {
                if variants.is_empty() {
                    out.none_possible += 1;
                } else {
                    out.made += 1;
                }
            } else {
                // Deleted meanwhile, or recorded by another run: ours go.
                // (Keys are derived, so another run's are the same objects
                // only if it recorded them; then its row names them.)
                if let Err(StoreError::NotFound(_)) = store.image(tenant, id).await {
                    remove(media, variants.iter().map(|v| v.key.as_str())).await;
                }
                out.raced += 1;
            }
        }
    }
}
