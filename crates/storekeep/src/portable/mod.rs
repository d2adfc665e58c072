//! `storekeep export shop` and `storekeep import shop`: one shop moved
//! between installations and databases (SQLite ↔ PostgreSQL) as a
//! portable archive (`archive.rs`): every row of the shop's tables as
//! JSON lines typed by the registry (`storekeep_store_sql::portable`), its
//! images, and a manifest that promises each file's row count and SHA-256.
//! `storekeep export all` / `import all` move the whole platform (every
//! row of every table, all shops' images) the same way, into an empty
//! installation only ([`Extent`]).
//! Ids, hashes and sealed values travel unchanged, so the audit chain
//! verifies on the target and the API answers alike. See docs/export.md.

pub mod archive;
pub mod reseal;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use storekeep_store::StoreResult;
pub use storekeep_store_sql::portable::Extent;
use storekeep_store_sql::portable::{self, DEFAULT_PLAN_ID, PortableError, Row, ShopRows, TABLES};

use crate::config::Settings;
use crate::crypto::Keyring;
use crate::media::Media;

/// What the manifest's `format` says of one shop's archive.
pub const FORMAT: &str = "storekeep-shop";
/// What the manifest's `format` says of the whole platform's archive.
pub const PLATFORM_FORMAT: &str = "storekeep-platform";
/// The archive layout this version writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// The manifest's `format` of an archive of `extent` (one shop, or the
/// whole platform).
pub fn format_of(extent: Extent) -> &'static str {
    match extent {
        Extent::Shop => FORMAT,
        Extent::Platform => PLATFORM_FORMAT,
    }
}

fn name_of(extent: Extent) -> &'static str {
    match extent {
        Extent::Shop => "shop",
        Extent::Platform => "platform",
    }
}

/// The subcommand of `export` / `import` for this kind of archive.
fn command_of(extent: Extent) -> &'static str {
    match extent {
        Extent::Shop => "shop",
        Extent::Platform => "all",
    }
}

/// `manifest.json`: what the archive holds and promises.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub format_version: u32,
    pub storekeep_version: String,
    /// `sqlite` or `postgres`.
    pub source_database: String,
    /// The newest migration of the source; the target must be at it.
    pub schema_version: i64,
    pub created_at: DateTime<Utc>,
    /// The shop of a shop archive (`format` `storekeep-shop`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shop: Option<ShopRef>,
    /// Every shop of a platform archive (`format` `storekeep-platform`),
    /// as its `tenants` rows name them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shops: Vec<ShopRef>,
    /// `tables/<name>.jsonl`: rows, SHA-256 and columns.
    pub tables: BTreeMap<String, TableEntry>,
    /// `media/<key>`: each image object.
    pub media: BTreeMap<String, MediaEntry>,
    /// The ids of the keys the shop's sealed values are sealed with: the
    /// target's keyring must hold them.
    pub sealed_key_ids: BTreeSet<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShopRef {
    pub id: uuid::Uuid,
    pub slug: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TableEntry {
    pub rows: u64,
    pub sha256: String,
    pub columns: Vec<String>,
    /// The file's size; archives written before it was recorded lack it
    /// (their table files are then bounded by the archive's total cap).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MediaEntry {
    pub bytes: u64,
    pub sha256: String,
}

/// A step done, for a progress bar: a table's rows or one image; or, for
/// the summary, what a re-seal (`--source-keys`) changed.
pub enum Step<'a> {
    Table(&'a str, usize),
    Media(&'a str),
    Resealed(reseal::Resealed),
}

/// The configured database, by backend.
enum Db {
    Sqlite(String),
    Postgres(String),
}

impl Db {
    fn of(settings: &Settings) -> Self {
        let url = settings.database_session_url().expose().to_owned();
        if url.starts_with("sqlite:") {
            Self::Sqlite(url)
        } else {
            Self::Postgres(url)
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "sqlite",
            Self::Postgres(_) => "postgres",
        }
    }

    async fn columns(&self) -> StoreResult<Vec<(String, String, String)>> {
        match self {
            Self::Sqlite(url) => storekeep_store_sqlite::portable::columns(url).await,
            Self::Postgres(url) => storekeep_store_postgres::portable::columns(url).await,
        }
    }

    /// Refuses when this database's tables are not what the registry
    /// knows (a newer or older schema than this binary's).
    async fn require_known_schema(&self) -> anyhow::Result<()> {
        let problems = portable::drift(&self.columns().await?);
        if !problems.is_empty() {
            bail!(
                "this database's schema is not the one this storekeep version moves:\n  - {}",
                problems.join("\n  - ")
            );
        }
        Ok(())
    }

    /// The shop `slug`'s rows, or every row (`None`).
    async fn export(
        &self,
        slug: Option<&str>,
        progress: impl FnMut(&str, usize),
    ) -> Result<ShopRows, PortableError> {
        match self {
            Self::Sqlite(url) => {
                storekeep_store_sqlite::portable::export_shop(url, slug, progress).await
            }
            Self::Postgres(url) => {
                storekeep_store_postgres::portable::export_shop(url, slug, progress).await
            }
        }
    }

    /// How many jobs of the shop `tenant` (every job: `None`) are still
    /// to run.
    async fn pending_jobs(&self, tenant: Option<uuid::Uuid>) -> StoreResult<i64> {
        match self {
            Self::Sqlite(url) => storekeep_store_sqlite::portable::pending_jobs(url, tenant).await,
            Self::Postgres(url) => {
                storekeep_store_postgres::portable::pending_jobs(url, tenant).await
            }
        }
    }

    async fn check(
        &self,
        shop: &ShopRows,
        extent: Extent,
    ) -> Result<(i64, Vec<String>), PortableError> {
        match self {
            Self::Sqlite(url) => {
                storekeep_store_sqlite::portable::check_shop(url, shop, extent).await
            }
            Self::Postgres(url) => {
                storekeep_store_postgres::portable::check_shop(url, shop, extent).await
            }
        }
    }

    async fn import(
        &self,
        shop: &ShopRows,
        extent: Extent,
        progress: impl FnMut(&str, usize),
    ) -> Result<(), PortableError> {
        match self {
            Self::Sqlite(url) => {
                storekeep_store_sqlite::portable::import_shop(url, shop, extent, progress).await
            }
            Self::Postgres(url) => {
                storekeep_store_postgres::portable::import_shop(url, shop, extent, progress).await
            }
        }
    }
}

fn refused(e: PortableError) -> anyhow::Error {
    match e {
        PortableError::Refused(why) => anyhow::anyhow!("refused: {why}"),
        PortableError::Store(e) => anyhow::Error::new(e).context("the database failed"),
    }
}

fn string<'r>(row: &'r Row, column: &str) -> Option<&'r str> {
    row.get(column).and_then(|v| v.as_str())
}

/// The key ids of every sealed value (`*_sealed` columns) of the shop.
fn sealed_key_ids(shop: &ShopRows) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for rows in shop.tables.values() {
        for row in rows {
            for (column, value) in row {
                if column.ends_with("_sealed")
                    && let Some(kid) = value.as_str().and_then(Keyring::key_id_of)
                {
                    ids.insert(kid.to_owned());
                }
            }
        }
    }
    ids
}

/// The `(id, slug)` of every `tenants` row.
fn tenant_refs(shop: &ShopRows) -> Vec<ShopRef> {
    shop.tables
        .get("tenants")
        .into_iter()
        .flatten()
        .filter_map(|row| {
            Some(ShopRef {
                id: uuid::Uuid::parse_str(string(row, "id")?).ok()?,
                slug: string(row, "slug")?.to_owned(),
            })
        })
        .collect()
}

/// The image objects the shop's rows name: each image's, and its
/// variants' (they travel with the archive, so an import needs no decoding).
fn media_keys(shop: &ShopRows) -> BTreeSet<String> {
    shop.tables
        .get("product_images")
        .into_iter()
        .flatten()
        .flat_map(row_media_keys)
        .collect()
}

/// The object keys one `product_images` row names: the original's, then
/// those in its `variants` list (JSON text; `''` when none were made).
fn row_media_keys(row: &Row) -> Vec<String> {
    let mut keys: Vec<String> = string(row, "object_key")
        .map(str::to_owned)
        .into_iter()
        .collect();
    if let Some(Ok(serde_json::Value::Array(list))) = string(row, "variants")
        .filter(|v| !v.is_empty())
        .map(serde_json::from_str::<serde_json::Value>)
    {
        keys.extend(
            list.iter()
                .filter_map(|v| v.get("key").and_then(|k| k.as_str()).map(str::to_owned)),
        );
    }
    keys
}

/// What an export wrote.
pub struct Exported {
    pub manifest: Manifest,
    /// The archive's size in bytes.
    pub bytes: u64,
    /// Jobs of what was exported still queued (the queue does not travel:
    /// their work is not in the archive until they run).
    pub pending_jobs: i64,
}

/// Writes the shop `slug` of the configured database, with its images,
/// to the archive `out` (which must not exist).
pub async fn export_shop(
    settings: &Settings,
    slug: &str,
    out: &Path,
    progress: impl FnMut(Step<'_>),
) -> anyhow::Result<Exported> {
    export(settings, Some(slug), out, progress).await
}

/// Writes the whole platform (every row of every table the registry
/// carries, every shop's images) to the archive `out` (which must not
/// exist).
pub async fn export_all(
    settings: &Settings,
    out: &Path,
    progress: impl FnMut(Step<'_>),
) -> anyhow::Result<Exported> {
    export(settings, None, out, progress).await
}

async fn export(
    settings: &Settings,
    slug: Option<&str>,
    out: &Path,
    mut progress: impl FnMut(Step<'_>),
) -> anyhow::Result<Exported> {
    if out.exists() {
        bail!(
            "{} exists; name a new file or remove it first",
            out.display()
        );
    }
    let db = Db::of(settings);
    db.require_known_schema().await?;
    let shop = db
        .export(slug, |table, n| progress(Step::Table(table, n)))
        .await
        .map_err(refused)?;
    let extent = match slug {
        Some(_) => Extent::Shop,
        None => Extent::Platform,
    };
    let mut manifest = Manifest {
        format: format_of(extent).into(),
        format_version: FORMAT_VERSION,
        storekeep_version: env!("CARGO_PKG_VERSION").into(),
        source_database: db.name().into(),
        schema_version: shop.schema_version,
        created_at: storekeep_store::now(),
        shop: (extent == Extent::Shop).then(|| ShopRef {
            id: shop.tenant_id,
            slug: shop.slug.clone(),
        }),
        shops: match extent {
            Extent::Shop => Vec::new(),
            Extent::Platform => tenant_refs(&shop),
        },
        tables: BTreeMap::new(),
        media: BTreeMap::new(),
        sealed_key_ids: sealed_key_ids(&shop),
    };
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut total: u64 = 0;
    for table in TABLES {
        let rows = shop.tables.get(table.name).map_or(&[][..], Vec::as_slice);
        let mut text = Vec::new();
        for row in rows {
            serde_json::to_writer(&mut text, row)?;
            text.push(b'\n');
        }
        total = total.saturating_add(text.len() as u64);
        manifest.tables.insert(
            table.name.to_owned(),
            TableEntry {
                rows: rows.len() as u64,
                sha256: archive::sha256_hex(&text),
                bytes: Some(text.len() as u64),
                columns: table.columns.iter().map(|(c, _)| (*c).to_owned()).collect(),
            },
        );
        files.push((format!("tables/{}.jsonl", table.name), text));
    }
    archive::require_within_cap(total, "the tables")?;
    // The images are sized from their metadata before any is read, so a
    // platform too large to import is refused before gigabytes are read.
    let media = Media::from_settings(&settings.media, &settings.data_dir)?;
    let keys = media_keys(&shop);
    let mut sized = total;
    for key in &keys {
        let size = media
            .size(key)
            .await
            .with_context(|| format!("sizing image {key} in the image store"))?
            .with_context(|| format!("image {key} is missing from the image store"))?;
        sized = sized.saturating_add(size);
    }
    archive::require_within_cap(sized, "the tables and images")?;
    let mut objects = Vec::new();
    for key in keys {
        let bytes = media
            .get(&key)
            .await
            .with_context(|| format!("reading image {key} from the image store"))?
            .with_context(|| format!("image {key} is missing from the image store"))?;
        // An image replaced since it was sized counts as read.
        total = total.saturating_add(bytes.len() as u64);
        archive::require_within_cap(total, "the tables and images")?;
        progress(Step::Media(&key));
        manifest.media.insert(
            key.clone(),
            MediaEntry {
                bytes: bytes.len() as u64,
                sha256: archive::sha256_hex(&bytes),
            },
        );
        objects.push((key, bytes));
    }
    let pending_jobs = db
        .pending_jobs((extent == Extent::Shop).then_some(shop.tenant_id))
        .await?;
    let manifest_bytes = serde_json::to_vec_pretty(&manifest)?;
    let mut members: Vec<(String, &[u8])> = vec![("manifest.json".into(), &manifest_bytes)];
    members.extend(files.iter().map(|(n, b)| (n.clone(), b.as_slice())));
    members.extend(
        objects
            .iter()
            .map(|(k, b)| (format!("media/{k}"), b.as_ref())),
    );
    let bytes = archive::write(out, &members)?;
    Ok(Exported {
        manifest,
        bytes,
        pending_jobs,
    })
}

/// An archive read and checked against its manifest: every table file's
/// row count and SHA-256, every image's, nothing missing or extra.
pub struct Checked {
    pub manifest: Manifest,
    pub shop: ShopRows,
    pub media: Vec<(String, Vec<u8>)>,
}

/// The archive's manifest, refused when it is not a storekeep archive of
/// this extent and format version.
fn parse_manifest(file: &Path, bytes: &[u8], extent: Extent) -> anyhow::Result<Manifest> {
    let head: serde_json::Value = serde_json::from_slice(bytes)
        .with_context(|| format!("{}: manifest.json is not JSON", file.display()))?;
    let format = head.get("format").and_then(|v| v.as_str());
    if format != Some(format_of(extent)) {
        let other = [Extent::Shop, Extent::Platform]
            .into_iter()
            .find(|e| Some(format_of(*e)) == format);
        if let Some(other) = other {
            bail!(
                "refused: {} is a storekeep {} archive (written by `storekeep export {}`), not a {} archive; import it with `storekeep import {}`",
                file.display(),
                name_of(other),
                command_of(other),
                name_of(extent),
                command_of(other)
            );
        }
        bail!(
            "{} is not a storekeep {} archive",
            file.display(),
            name_of(extent)
        );
    }
    let version = head.get("format_version").and_then(|v| v.as_u64());
    if version != Some(u64::from(FORMAT_VERSION)) {
        bail!(
            "refused: {} is archive format {}, this storekeep reads format {FORMAT_VERSION} (use the storekeep version that wrote it)",
            file.display(),
            version.map_or_else(|| "?".to_owned(), |v| v.to_string())
        );
    }
    let manifest: Manifest = serde_json::from_value(head)
        .with_context(|| format!("{}: manifest.json is malformed", file.display()))?;
    Ok(manifest)
}

/// Reads the shop archive at `file` and checks it against its manifest
/// and this binary's format and registry (nothing touches a database).
pub fn read_archive(file: &Path) -> anyhow::Result<Checked> {
    read_archive_of(file, Extent::Shop)
}

/// [`read_archive`] for an archive of `extent`.
pub fn read_archive_of(file: &Path, extent: Extent) -> anyhow::Result<Checked> {
    let mut parsed = None;
    let (_, mut members) = archive::read(file, |bytes| {
        let listed = parse_manifest(file, bytes, extent)?;
        let tables = listed
            .tables
            .iter()
            .map(|(name, e)| (format!("tables/{name}.jsonl"), e.bytes));
        let media = listed
            .media
            .iter()
            .map(|(key, e)| (format!("media/{key}"), Some(e.bytes)));
        let all = tables.chain(media).collect();
        parsed = Some(listed);
        Ok(all)
    })?;
    let manifest: Manifest = parsed.context("the archive's manifest was not read")?;
    let mut shop = match (extent, &manifest.shop) {
        (Extent::Shop, Some(named)) if named.id.is_nil() => {
            bail!("refused: the shop archive's manifest names a shop with the nil id")
        }
        (Extent::Shop, Some(named)) => ShopRows {
            tenant_id: named.id,
            slug: named.slug.clone(),
            schema_version: manifest.schema_version,
            tables: BTreeMap::new(),
        },
        (Extent::Shop, None) => bail!("refused: the shop archive's manifest names no shop"),
        (Extent::Platform, _) => ShopRows::platform(manifest.schema_version),
    };
    let known: BTreeSet<&str> = TABLES.iter().map(|t| t.name).collect();
    let listed: BTreeSet<&str> = manifest.tables.keys().map(String::as_str).collect();
    if known != listed {
        bail!(
            "refused: the archive's tables are not this version's (missing: {:?}, unknown: {:?})",
            known.difference(&listed).collect::<Vec<_>>(),
            listed.difference(&known).collect::<Vec<_>>()
        );
    }
    for table in TABLES {
        let entry = &manifest.tables[table.name];
        let columns: Vec<&str> = table.columns.iter().map(|(c, _)| *c).collect();
        if entry.columns != columns {
            bail!(
                "refused: the archive's columns of {} are not this version's",
                table.name
            );
        }
        let path = format!("tables/{}.jsonl", table.name);
        let bytes = members
            .remove(&path)
            .with_context(|| format!("refused: the archive lacks {path}"))?;
        if archive::sha256_hex(&bytes) != entry.sha256 {
            bail!("refused: {path} does not match the manifest's SHA-256 (damaged or edited)");
        }
        let text =
            std::str::from_utf8(&bytes).with_context(|| format!("refused: {path} is not UTF-8"))?;
        let rows = text
            .lines()
            .enumerate()
            .map(|(n, line)| {
                serde_json::from_str::<Row>(line)
                    .with_context(|| format!("refused: {path} line {}: not a JSON object", n + 1))
            })
            .collect::<anyhow::Result<Vec<Row>>>()?;
        if rows.len() as u64 != entry.rows {
            bail!(
                "refused: {path} holds {} rows, the manifest says {}",
                rows.len(),
                entry.rows
            );
        }
        shop.tables.insert(table.name.to_owned(), rows);
    }
    if extent == Extent::Platform {
        require_default_plan(&shop)?;
    }
    // Each image belongs to the shop of the row that names it.
    for row in shop.tables.get("product_images").into_iter().flatten() {
        let (Some(tenant), Some(key)) = (string(row, "tenant_id"), string(row, "object_key"))
        else {
            bail!("refused: a product_images row lacks its tenant_id or object_key");
        };
        if let Some(v) = string(row, "variants").filter(|v| !v.is_empty())
            && serde_json::from_str::<Vec<storekeep_store_sql::catalog::rows::StoredVariant>>(v)
                .is_err()
        {
            bail!("refused: image {key}'s variants list is not one storekeep writes");
        }
        for key in std::iter::once(key.to_owned()).chain(row_media_keys(row)) {
            if !key.starts_with(&format!("{tenant}/")) {
                bail!("refused: image key {key} is not its own shop's ({tenant})");
            }
        }
    }
    let wanted = media_keys(&shop);
    let listed: BTreeSet<String> = manifest.media.keys().cloned().collect();
    if wanted != listed {
        bail!("refused: the archive's images are not the ones its products name");
    }
    // The images' prefix is a shop's own id, taken from the tenants rows:
    // a shop archive's one row must be the shop the manifest names, a
    // platform archive's rows the shops it lists.
    let tenants = tenant_refs(&shop);
    let rows = shop.tables.get("tenants").map_or(0, Vec::len);
    match &manifest.shop {
        Some(named) if extent == Extent::Shop => {
            if rows != 1 || tenants != [named.clone()] {
                bail!(
                    "refused: the archive must hold exactly one shop, the one its manifest names ({} '{}')",
                    named.id,
                    named.slug
                );
            }
        }
        _ => {
            if rows != tenants.len() || tenants != manifest.shops {
                bail!(
                    "refused: the archive's shops (tenants rows) are not the ones its manifest lists"
                );
            }
        }
    }
    let prefixes: Vec<String> = tenants.iter().map(|t| format!("{}/", t.id)).collect();
    let mut media = Vec::new();
    for (key, entry) in &manifest.media {
        if !prefixes.iter().any(|p| key.starts_with(p))
            || key.split('/').any(|part| part.is_empty() || part == "..")
        {
            bail!("refused: image key {key} is not one of the archive's shops'");
        }
        let bytes = members
            .remove(&format!("media/{key}"))
            .with_context(|| format!("refused: the archive lacks media/{key}"))?;
        if bytes.len() as u64 != entry.bytes || archive::sha256_hex(&bytes) != entry.sha256 {
            bail!("refused: media/{key} does not match the manifest's SHA-256");
        }
        media.push((key.clone(), bytes));
    }
    Ok(Checked {
        manifest,
        shop,
        media,
    })
}

/// Refuses a platform archive unless its plans hold the built-in
/// `default` plan, once, by its id and name: it replaces the one the
/// target's migrations made, which every new shop is put on.
fn require_default_plan(all: &ShopRows) -> anyhow::Result<()> {
    let plans = all.tables.get("plans").map_or(&[][..], Vec::as_slice);
    let by_id: Vec<&Row> = plans
        .iter()
        .filter(|p| string(p, "id") == Some(DEFAULT_PLAN_ID))
        .collect();
    let by_name = plans
        .iter()
        .filter(|p| string(p, "name") == Some("default"))
        .count();
    match by_id.as_slice() {
        [plan] if string(plan, "name") == Some("default") && by_name == 1 => Ok(()),
        _ => bail!(
            "refused: the archive's plans must hold the built-in `default` plan exactly once, with its id {DEFAULT_PLAN_ID} and the name `default`"
        ),
    }
}

/// Why the keys must already agree, for every key refusal.
const SAME_KEYS: &str = "the target must already run with the source's encryption keys and blind-index key \
     (e.g. an installation moving its own shop between SQLite and PostgreSQL); installing the source's keys \
     here is only safe on an EMPTY target (on one with shops it breaks every existing account's sign-in); \
     to move a shop into an installation with other keys, give the source's keys with --source-keys \
     (they re-seal the shop's data with this installation's keys)";

/// The sealed values an import opens to prove the keys: (table, column,
/// the sealing context's prefix; the row's id completes it).
const PROBES: &[(&str, &str, &str)] = &[
    ("users", "email_sealed", "users.email"),
    ("orders", "email_sealed", "orders.email"),
    ("orders", "address_sealed", "orders.address"),
    (
        "webhook_endpoints",
        "secret_sealed",
        "webhook_endpoints.secret",
    ),
];

/// Refuses when `keyring` lacks a key the shop's rows are sealed with
/// (read from the rows, not the manifest), cannot open one value per key
/// id among [`PROBES`], or gives other blind indexes: the target must
/// already have the source's keys.
fn require_same_keys(keyring: &Keyring, checked: &Checked) -> anyhow::Result<()> {
    let known: BTreeSet<&str> = keyring.key_ids().into_iter().collect();
    let missing: Vec<String> = sealed_key_ids(&checked.shop)
        .into_iter()
        .filter(|k| !known.contains(k.as_str()))
        .collect();
    if !missing.is_empty() {
        bail!(
            "refused: the archive's personal data is sealed with key(s) {missing:?}, which this installation's keyring lacks: {SAME_KEYS}"
        );
    }
    let mut opened = BTreeSet::new();
    for (table, column, context) in PROBES {
        for row in checked.shop.tables.get(*table).into_iter().flatten() {
            let (Some(id), Some(sealed)) = (string(row, "id"), string(row, column)) else {
                continue;
            };
            let Some(kid) = Keyring::key_id_of(sealed) else {
                continue;
            };
            if !opened.insert(kid.to_owned()) {
                continue;
            }
            keyring.open(sealed, &format!("{context}:{id}")).map_err(|e| {
                anyhow::anyhow!(
                    "refused: this installation's encryption keys cannot open the archive's {table}.{column} (key {kid}, {e:?}): {SAME_KEYS}"
                )
            })?;
        }
    }
    let users = checked.shop.tables.get("users").into_iter().flatten();
    if let Some(user) = users.into_iter().next() {
        let (Some(id), Some(sealed), Some(index)) = (
            string(user, "id"),
            string(user, "email_sealed"),
            string(user, "email_index"),
        ) else {
            bail!("refused: the archive's first account lacks its id or email");
        };
        let email = keyring
            .open(sealed, &format!("users.email:{id}"))
            .map_err(|e| {
                anyhow::anyhow!(
                    "refused: this installation's encryption keys cannot open the archive's sealed data ({e:?}): {SAME_KEYS}"
                )
            })?;
        if keyring.blind_index("email", &email) != index {
            bail!(
                "refused: this installation's blind-index key is not the source's (nobody could sign in): {SAME_KEYS}"
            );
        }
    }
    Ok(())
}

/// Imports the archive at `file` into the configured database (already
/// migrated): refused, with nothing written, when the archive is damaged,
/// of another format or schema version, sealed with other keys, or
/// clashes with a shop here; otherwise its images go to the image store
/// and its rows in one transaction (images removed again if that fails).
/// With `source_keys` (the exporting installation's), the rows are
/// re-sealed with this installation's keys first (`reseal.rs`) instead of
/// requiring the same keys.
pub async fn import_shop(
    settings: &Settings,
    file: &Path,
    source_keys: Option<&Keyring>,
    progress: impl FnMut(Step<'_>),
) -> anyhow::Result<Manifest> {
    import(settings, file, Extent::Shop, source_keys, progress).await
}

/// Imports the platform archive at `file` into the configured database
/// (already migrated), which must be empty: refused, with nothing
/// written, as [`import_shop`] refuses, and when this installation holds
/// any row an archive carries (a shop, an account, a plan other than the
/// built-in `default`, an audit entry…). There is no re-seal: an empty
/// installation can simply run with the source's keys.
pub async fn import_all(
    settings: &Settings,
    file: &Path,
    progress: impl FnMut(Step<'_>),
) -> anyhow::Result<Manifest> {
    import(settings, file, Extent::Platform, None, progress).await
}

async fn import(
    settings: &Settings,
    file: &Path,
    extent: Extent,
    source_keys: Option<&Keyring>,
    mut progress: impl FnMut(Step<'_>),
) -> anyhow::Result<Manifest> {
    let mut checked = read_archive_of(file, extent)?;
    let db = Db::of(settings);
    db.require_known_schema().await?;
    let (version, clashes) = db.check(&checked.shop, extent).await.map_err(refused)?;
    let theirs = checked.manifest.schema_version;
    if theirs > version {
        bail!(
            "refused: the archive's schema ({theirs}) is newer than this database's ({version}); import it with a storekeep at least as new as the one that wrote it"
        );
    }
    if theirs < version {
        bail!(
            "refused: the archive's schema ({theirs}) is older than this database's ({version}); export it again with this storekeep version (it migrates the source first)"
        );
    }
    // What is here comes first: a target that is not empty (or holds the
    // shop) is refused as such, whatever its keys.
    if !clashes.is_empty() {
        bail!("refused: {}", clashes.join("; "));
    }
    let keyring = settings.load_keyring()?;
    match source_keys {
        None => require_same_keys(&keyring, &checked)?,
        Some(source) => progress(Step::Resealed(reseal::reseal(
            source,
            &keyring,
            &mut checked.shop,
        )?)),
    }
    let media = Media::from_settings(&settings.media, &settings.data_dir)?;
    for (key, _) in &checked.media {
        let here = media
            .size(key)
            .await
            .with_context(|| format!("looking for image {key} in the image store"))?;
        if here.is_some() {
            bail!(
                "refused: the image store already holds {key}; an import never overwrites an image"
            );
        }
    }
    // Images are written create-only: one another writer (a second
    // import running at once) wrote in between is refused, not
    // overwritten, and only the images this import created are removed
    // if it fails.
    let mut written = Vec::new();
    let mut outcome = Ok(());
    for (key, bytes) in &checked.media {
        match media.put_new(key, bytes::Bytes::from(bytes.clone())).await {
            Ok(true) => {}
            Ok(false) => {
                outcome = Err(anyhow::anyhow!(
                    "refused: the image store already holds {key} (another import running at once?); an import never overwrites an image"
                ));
                break;
            }
            Err(e) => {
                outcome = Err(anyhow::Error::new(e)
                    .context(format!("writing image {key} to the image store")));
                break;
            }
        }
        written.push(key.clone());
        progress(Step::Media(key));
    }
    if outcome.is_ok() {
        outcome = db
            .import(&checked.shop, extent, |table, n| {
                progress(Step::Table(table, n))
            })
            .await
            .map_err(refused);
    }
    if let Err(e) = outcome {
        for key in &written {
            if let Err(cleanup) = media.delete(key).await {
                tracing::warn!(key, error = %cleanup, "could not remove an imported image after the import failed");
            }
        }
        return Err(e);
    }
    Ok(checked.manifest)
}
