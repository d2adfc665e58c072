//! Product images, kept through one object-storage interface
//! (`object_store`): a local folder (`DATA_DIR/media`) by default, an
//! S3-compatible bucket when `media.s3_bucket` is set. The database holds
//! only each image's key and metadata.
//!
//! Uploads are checked by their bytes, not their name: the format is read
//! from the header (JPEG, PNG, WebP, GIF), must match the declared content
//! type, and its dimensions are read without decoding the image.

pub mod variants;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use object_store::path::Path as ObjectPath;
use object_store::{BackoffConfig, ClientOptions, ObjectStore, RetryConfig};

use crate::config::MediaSettings;

/// Formats accepted for product images, with their content types.
const FORMATS: &[(imagesize::ImageType, &str)] = &[
    (imagesize::ImageType::Jpeg, "image/jpeg"),
    (imagesize::ImageType::Png, "image/png"),
    (imagesize::ImageType::Webp, "image/webp"),
    (imagesize::ImageType::Gif, "image/gif"),
];

/// Largest width or height accepted.
pub const MAX_DIMENSION: usize = 20_000;

/// How long a connection to the bucket may take to open.
pub(crate) const S3_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Retries of a failed S3 request: a few, quickly, so that a bucket that
/// refuses connections (down, restarting) is reported within a couple of
/// seconds instead of after the client's default three minutes.
const S3_RETRIES: usize = 3;
const S3_RETRY_WINDOW: Duration = Duration::from_secs(3);

/// The object store failed.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// It did not answer, or answered that it cannot serve now (refused
    /// or timed-out connections, 5xx): worth retrying later.
    #[error("the image store is not answering")]
    Unavailable(#[source] object_store::Error),
    /// Anything else (denied credentials, a broken configuration).
    #[error("the image store failed")]
    Other(#[source] object_store::Error),
}

impl From<object_store::Error> for MediaError {
    fn from(e: object_store::Error) -> Self {
        use object_store::Error as E;
        match e {
            // The S3 client reports transport failures and 5xx answers (after
            // its retries) as `Generic`; a local folder reports I/O errors so.
            E::Generic { .. } => Self::Unavailable(e),
            other => Self::Other(other),
        }
    }
}

pub type MediaResult<T> = Result<T, MediaError>;

#[derive(Clone)]
pub struct Media {
    store: Arc<dyn ObjectStore>,
    public_base_url: Option<String>,
    kind: &'static str,
    /// The last readiness probe and when it ran.
    checked: Arc<CheckMemo>,
}

/// How long a readiness probe's answer is reused: readiness needs no
/// credential, so callers must not be able to turn it into object-store
/// traffic (one probe a second per node, however often it is asked).
const CHECK_REUSE: Duration = Duration::from_secs(1);

/// The last answer of a probe, reused for [`CHECK_REUSE`]; concurrent
/// callers wait for the one probe in flight.
#[derive(Default)]
struct CheckMemo(tokio::sync::Mutex<Option<(std::time::Instant, Result<(), String>)>>);

impl CheckMemo {
    async fn get<F>(&self, probe: F) -> Result<(), String>
    where
        F: std::future::Future<Output = Result<(), String>>,
    {
        let mut last = self.0.lock().await;
        if let Some((at, answer)) = last.as_ref()
            && at.elapsed() < CHECK_REUSE
        {
            return answer.clone();
        }
        let answer = probe.await;
        *last = Some((std::time::Instant::now(), answer.clone()));
        answer
    }
}

/// What an upload turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspected {
    pub content_type: &'static str,
    pub extension: &'static str,
    pub width: u32,
    pub height: u32,
}

/// Reads format and dimensions from an upload's bytes; `declared` is the
/// content type the client sent, if any. More than `max_pixels` in all is
/// refused: a small compressed file can decode to gigabytes in a browser.
pub fn inspect(bytes: &[u8], declared: Option<&str>, max_pixels: u64) -> Result<Inspected, String> {
    let kind = imagesize::image_type(bytes)
        .map_err(|_| "the file is not an image this shop accepts (JPEG, PNG, WebP or GIF)")?;
    let (_, content_type) = FORMATS
        .iter()
        .find(|(t, _)| *t == kind)
        .ok_or("the file is not an image this shop accepts (JPEG, PNG, WebP or GIF)".to_owned())?;
    if let Some(declared) = declared {
        let declared = declared.split(';').next().unwrap_or("").trim();
        if !declared.eq_ignore_ascii_case(content_type) {
            return Err(format!(
                "the file is {content_type}, but was sent as {declared}"
            ));
        }
    }
    let size = imagesize::blob_size(bytes).map_err(|_| "the image's header is damaged")?;
    if size.width == 0
        || size.height == 0
        || size.width > MAX_DIMENSION
        || size.height > MAX_DIMENSION
    {
        return Err(format!(
            "image dimensions must be 1 to {MAX_DIMENSION} pixels on each side"
        ));
    }
    let pixels = size.width as u64 * size.height as u64;
    if pixels > max_pixels {
        return Err(format!(
            "the image is {} × {} = {pixels} pixels; at most {max_pixels} are accepted",
            size.width, size.height
        ));
    }
    let extension = content_type.trim_start_matches("image/");
    Ok(Inspected {
        content_type,
        extension: if extension == "jpeg" {
            "jpg"
        } else {
            extension
        },
        width: size.width as u32,
        height: size.height as u32,
    })
}

impl Media {
    pub fn from_settings(settings: &MediaSettings, data_dir: &Path) -> anyhow::Result<Self> {
        let (store, kind): (Arc<dyn ObjectStore>, _) = match &settings.s3_bucket {
            Some(bucket) => {
                let builder = s3_builder(&S3Access {
                    bucket,
                    region: &settings.s3_region,
                    endpoint: settings.s3_endpoint.as_deref(),
                    access_key_id: settings.s3_access_key_id.as_deref(),
                    secret_access_key: settings.s3_secret_access_key.as_ref().map(|s| s.expose()),
                })
                .with_retry(RetryConfig {
                    backoff: BackoffConfig {
                        init_backoff: Duration::from_millis(100),
                        max_backoff: Duration::from_secs(1),
                        base: 2.0,
                    },
                    max_retries: S3_RETRIES,
                    retry_timeout: S3_RETRY_WINDOW,
                });
                (Arc::new(builder.build()?), "s3")
            }
            None => {
                let dir = data_dir.join("media");
                std::fs::create_dir_all(&dir)?;
                (
                    Arc::new(object_store::local::LocalFileSystem::new_with_prefix(&dir)?),
                    "local",
                )
            }
        };
        Ok(Self {
            store,
            public_base_url: settings.public_base_url.clone(),
            kind,
            checked: Arc::default(),
        })
    }

    /// `local` or `s3`.
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// `scheme://host[:port]` of the configured public base URL, if images
    /// are served from another origin (the storefront's CSP allows it).
    pub fn public_origin(&self) -> Option<String> {
        let base = self.public_base_url.as_deref()?;
        let (scheme, rest) = base.split_once("://")?;
        let host = rest.split('/').next().unwrap_or(rest);
        (!host.is_empty()).then(|| format!("{scheme}://{host}"))
    }

    /// The link clients fetch an image by.
    pub fn url(&self, key: &str) -> String {
        match &self.public_base_url {
            Some(base) => format!("{base}/{key}"),
            None => format!("/media/{key}"),
        }
    }

    pub async fn put(&self, key: &str, bytes: Bytes) -> MediaResult<()> {
        self.store
            .put(&ObjectPath::from(key), bytes.into())
            .await
            .map(|_| ())
            .map_err(MediaError::from)
    }

    /// Writes a new object: `Ok(false)`, with nothing written, when the
    /// key is taken (create-only: a local folder links the file in only
    /// if the name is free; S3 sends `If-None-Match: *`). Two writers of
    /// one key: exactly one gets `Ok(true)`.
    pub async fn put_new(&self, key: &str, bytes: Bytes) -> MediaResult<bool> {
        let opts = object_store::PutOptions {
            mode: object_store::PutMode::Create,
            ..Default::default()
        };
        match self
            .store
            .put_opts(&ObjectPath::from(key), bytes.into(), opts)
            .await
        {
            Ok(_) => Ok(true),
            Err(object_store::Error::AlreadyExists { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// The object's size in bytes (its metadata only), or `None` when
    /// there is no such object.
    pub async fn size(&self, key: &str) -> MediaResult<Option<u64>> {
        match self.store.head(&ObjectPath::from(key)).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The object's bytes, or `None` when there is no such object.
    pub async fn get(&self, key: &str) -> MediaResult<Option<Bytes>> {
        match self.store.get(&ObjectPath::from(key)).await {
            Ok(r) => Ok(Some(r.bytes().await?)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes an object; a missing one is not an error.
    pub async fn delete(&self, key: &str) -> MediaResult<()> {
        match self.store.delete(&ObjectPath::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Every object's key and size (keys are `{tenant}/{file}`: two
    /// levels, listed a folder at a time).
    pub async fn inventory(&self) -> MediaResult<Vec<(String, u64)>> {
        let mut found = Vec::new();
        let top = self.store.list_with_delimiter(None).await?;
        let mut listings = vec![top.objects];
        for prefix in top.common_prefixes {
            listings.push(self.store.list_with_delimiter(Some(&prefix)).await?.objects);
        }
        for meta in listings.into_iter().flatten() {
            found.push((meta.location.to_string(), meta.size));
        }
        found.sort();
        Ok(found)
    }

    /// Every key under the folder `prefix` (`imports`), at any depth.
    pub async fn keys_under(&self, prefix: &str) -> MediaResult<Vec<String>> {
        let mut found = Vec::new();
        let mut folders = vec![ObjectPath::from(prefix)];
        while let Some(folder) = folders.pop() {
            let listing = self.store.list_with_delimiter(Some(&folder)).await?;
            found.extend(listing.objects.into_iter().map(|m| m.location.to_string()));
            folders.extend(listing.common_prefixes);
        }
        found.sort();
        Ok(found)
    }

    /// One round trip to the store for readiness: the metadata of a key
    /// that is never written ("not found" is the healthy answer), at most
    /// `bound`; `Err` says why not. Answers are reused for a second.
    pub async fn check(&self, bound: Duration) -> Result<(), String> {
        self.checked
            .get(async {
                let probe = ObjectPath::from("storekeep-health-check");
                match tokio::time::timeout(bound, self.store.head(&probe)).await {
                    Ok(Ok(_) | Err(object_store::Error::NotFound { .. })) => Ok(()),
                    Ok(Err(e)) => Err(e.to_string()),
                    Err(_) => Err(format!("no answer within {} ms", bound.as_millis())),
                }
            })
            .await
    }
}

/// Where an S3-compatible bucket is and how to sign in to it (the
/// `media.s3_*` or `backup.s3_*` settings).
pub struct S3Access<'a> {
    pub bucket: &'a str,
    pub region: &'a str,
    /// A URL for S3-compatible servers (path-style requests; plain HTTP
    /// allowed only when it says `http://`, as for a loopback test server).
    pub endpoint: Option<&'a str>,
    /// Unset: from the environment (`AWS_ACCESS_KEY_ID`, an instance role).
    pub access_key_id: Option<&'a str>,
    pub secret_access_key: Option<&'a str>,
}

/// A client builder for the bucket `access` names (credentials from the
/// environment unless given), with a short connect timeout; the caller
/// chooses its retries.
pub fn s3_builder(access: &S3Access<'_>) -> object_store::aws::AmazonS3Builder {
    let mut builder = object_store::aws::AmazonS3Builder::from_env()
        .with_bucket_name(access.bucket)
        .with_region(access.region)
        .with_client_options(ClientOptions::new().with_connect_timeout(S3_CONNECT_TIMEOUT));
    if let Some(endpoint) = access.endpoint {
        builder = builder
            .with_endpoint(endpoint)
            .with_allow_http(endpoint.starts_with("http://"))
            .with_virtual_hosted_style_request(false);
    }
    if let Some(id) = access.access_key_id {
        builder = builder.with_access_key_id(id);
    }
    if let Some(secret) = access.secret_access_key {
        builder = builder.with_secret_access_key(secret);
    }
    builder
}

/// Keys are `{tenant}/{image id}.{ext}`: unguessable, and never made from
/// anything the client sent.
pub fn object_key(
    tenant: storekeep_domain::TenantId,
    image: storekeep_domain::ImageId,
    ext: &str,
) -> String {
    format!("{tenant}/{image}.{ext}")
}

/// A variant's key: its image's key with `-{width}` before the extension
/// of the variant's format — `{tenant}/{image id}-480.webp` for the 480 px
/// WebP of `{tenant}/{image id}.jpg`. Derived, so unguessable too, and
/// removed with the image.
pub fn variant_key(image_key: &str, width: u32, content_type: &str) -> String {
    let stem = image_key
        .rsplit_once('.')
        .map_or(image_key, |(stem, _)| stem);
    format!("{stem}-{width}.{}", extension_of(content_type))
}

/// The longest key [`object_key`] or [`variant_key`] makes: two hyphenated
/// UUIDs, a slash, a width of at most five digits after a hyphen, a dot
/// and an extension.
const MAX_KEY_LEN: usize = 36 + 1 + 36 + 6 + 1 + 4;

/// The content type of a key [`object_key`] or [`variant_key`] made, or
/// `None` for any other string: only the exact spelling they write
/// (lower-case hyphenated UUIDs, a width without leading zero, a known
/// extension, nothing after it) passes. Checked before a key from a URL
/// reaches the object store, so no other path touches storage.
pub fn content_type_of(key: &str) -> Option<&'static str> {
    if key.len() > MAX_KEY_LEN {
        return None;
    }
    let (tenant, file) = key.split_once('/')?;
    let (name, ext) = file.split_once('.')?;
    // A UUID is 36 characters; a variant's width follows it.
    let (id, width) = match name.get(36..) {
        Some("") => (name, None),
        Some(rest) => (&name[..36], Some(rest.strip_prefix('-')?)),
        None => return None,
    };
    if let Some(width) = width
        && (width.is_empty()
            || width.len() > 5
            || width.starts_with('0')
            || !width.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let tenant = uuid::Uuid::parse_str(tenant).ok()?;
    let id = uuid::Uuid::parse_str(id).ok()?;
    let content_type = FORMATS
        .iter()
        .map(|(_, ct)| *ct)
        .find(|ct| extension_of(ct) == ext)?;
    let width = width.map_or(String::new(), |w| format!("-{w}"));
    (format!("{}/{}{width}.{ext}", tenant.hyphenated(), id.hyphenated()) == key)
        .then_some(content_type)
}

fn extension_of(content_type: &str) -> &str {
    match content_type.trim_start_matches("image/") {
        "jpeg" => "jpg",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn readiness_probes_run_at_most_once_a_second_and_concurrent_callers_share_one() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let memo = Arc::new(CheckMemo::default());
        let probes = Arc::new(AtomicUsize::new(0));
        let ask = |answer: Result<(), String>| {
            let (memo, probes) = (memo.clone(), probes.clone());
            tokio::spawn(async move {
                memo.get(async {
                    probes.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    answer
                })
                .await
            })
        };
        let callers: Vec<_> = (0..20).map(|_| ask(Err("down".into()))).collect();
        for c in callers {
            assert_eq!(
                c.await.unwrap(),
                Err("down".into()),
                "the one probe's answer"
            );
        }
        assert_eq!(probes.load(Ordering::SeqCst), 1, "one probe for 20 callers");
        tokio::time::sleep(CHECK_REUSE).await;
        assert_eq!(
            ask(Ok(())).await.unwrap(),
            Ok(()),
            "a second later: asked again"
        );
        assert_eq!(probes.load(Ordering::SeqCst), 2);
    }

    /// A 3×2 PNG header is enough for the format and dimensions.
    fn png(width: u32, height: u32) -> Vec<u8> {
        let mut b = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13];
        b.extend_from_slice(b"IHDR");
        b.extend_from_slice(&width.to_be_bytes());
        b.extend_from_slice(&height.to_be_bytes());
        b.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
        b
    }

    #[test]
    fn images_are_recognised_by_their_bytes() {
        let cap = 40_000_000;
        let i = inspect(&png(3, 2), Some("image/png"), cap).unwrap();
        assert_eq!((i.content_type, i.width, i.height), ("image/png", 3, 2));
        assert!(inspect(&png(3, 2), Some("image/jpeg"), cap).is_err());
        assert!(inspect(b"GIF? no, text", None, cap).is_err());
        assert!(inspect(&png(0, 2), None, cap).is_err());
        // Total pixels count, not each side.
        assert!(inspect(&png(20_000, 20_000), None, cap).is_err());
        assert!(inspect(&png(8_000, 5_000), None, cap).is_ok());
        assert!(inspect(&png(8_000, 5_001), None, cap).is_err());
    }

    #[test]
    fn only_generated_keys_are_accepted() {
        let key = object_key(
            storekeep_domain::TenantId::new(),
            storekeep_domain::ImageId::new(),
            "png",
        );
        assert_eq!(content_type_of(&key), Some("image/png"));
        assert_eq!(
            content_type_of(&key.replace(".png", ".jpg")),
            Some("image/jpeg")
        );
        assert_eq!(content_type_of("../etc/passwd"), None);
        let variant = variant_key(&key, 480, "image/webp");
        assert!(variant.ends_with("-480.webp"), "{variant}");
        assert_eq!(content_type_of(&variant), Some("image/webp"));
        assert_eq!(
            content_type_of(&variant_key(&key, 160, "image/jpeg")),
            Some("image/jpeg")
        );
        for bad in [
            "-0480.webp",
            "-.webp",
            "-48a.webp",
            "-123456.webp",
            "_480.webp",
            "-480-1.webp",
        ] {
            let other = key.replace(".png", bad);
            assert_eq!(content_type_of(&other), None, "{other}");
        }
        assert_eq!(content_type_of(&key.replace(".png", ".html")), None);
        for other in [
            format!("{key}/x"),
            format!("{key}.png"),
            key.to_uppercase().replace(".PNG", ".png"),
            key.replace('-', ""),
            format!("{{{}", key.replacen('/', "}/", 1)),
            format!("{}{key}", "a/".repeat(2000)),
        ] {
            assert_eq!(content_type_of(&other), None, "{other}");
        }
    }
}
