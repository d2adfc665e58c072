//! The archive file: a tar stream compressed with zstd, holding
//! `manifest.json` first, then `tables/<table>.jsonl` (one JSON object per
//! row) and `media/<object key>`. Readable with
//! `tar --zstd -xf shop.tar.zst`.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::Path;

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};

/// The zstd level: fast, and most of the size gain.
const ZSTD_LEVEL: i32 = 3;

/// The most an archive's members may hold in all, read into memory: an
/// import refuses more, so an export stops before writing more
/// ([`require_within_cap`]).
pub const MAX_TOTAL_BYTES: u64 = 4 << 30;

/// The largest `manifest.json` read.
const MAX_MANIFEST_BYTES: u64 = 64 << 20;

pub fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// Writes `members` (path, bytes), in order, to `path` as tar + zstd: to
/// `<path>.partial` first, renamed once complete and synced, so a killed
/// export never leaves a file that looks whole.
pub fn write(path: &Path, members: &[(String, &[u8])]) -> anyhow::Result<u64> {
    let partial = path.with_extension("partial");
    let written = write_to(path, &partial, members);
    if written.is_err() {
        // A failed export leaves nothing behind (a missing file is fine).
        let _ = std::fs::remove_file(&partial);
    }
    written
}

fn write_to(path: &Path, partial: &Path, members: &[(String, &[u8])]) -> anyhow::Result<u64> {
    let file = File::create(partial).with_context(|| format!("creating {}", partial.display()))?;
    let zstd = zstd::Encoder::new(BufWriter::new(file), ZSTD_LEVEL)?;
    let mut tar = tar::Builder::new(zstd);
    for (name, bytes) in members {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o600);
        header.set_mtime(0);
        header.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut header, name, *bytes)
            .with_context(|| format!("writing {name} into the archive"))?;
    }
    let zstd = tar.into_inner()?;
    let mut out = zstd.finish()?;
    out.flush()?;
    let file = out.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    let size = file.metadata()?.len();
    drop(file);
    std::fs::rename(partial, path)
        .with_context(|| format!("renaming {} to {}", partial.display(), path.display()))?;
    Ok(size)
}

/// Refuses `total` bytes of members (tables and images, the manifest
/// aside) above [`MAX_TOTAL_BYTES`], naming the cap; `what` says what was
/// counted so far.
pub fn require_within_cap(total: u64, what: &str) -> anyhow::Result<()> {
    if total > MAX_TOTAL_BYTES {
        bail!(
            "refused: {what} come to {total} bytes, more than the {MAX_TOTAL_BYTES} bytes (4 GiB) an archive may hold in all (an import refuses a larger one); nothing was written. Move the shops one at a time with `storekeep export shop`, or copy the database and the image store instead (docs/export.md)"
        );
    }
    Ok(())
}

/// Reads the archive at `path`: `manifest.json`, which must come first
/// (at most [`MAX_MANIFEST_BYTES`]), then the members `listing` (given the
/// manifest's bytes) names with their declared sizes (`None`: not
/// declared). A member the manifest does not list, listed twice, or of
/// another size than declared is refused before it is read; the members
/// together may not exceed [`MAX_TOTAL_BYTES`]. Nothing is allocated from a
/// tar header's size. Returns the manifest's bytes and path → bytes.
#[allow(clippy::type_complexity)]
pub fn read(
    path: &Path,
    listing: impl FnOnce(&[u8]) -> anyhow::Result<BTreeMap<String, Option<u64>>>,
) -> anyhow::Result<(Vec<u8>, BTreeMap<String, Vec<u8>>)> {
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let zstd = zstd::Decoder::new(file)
        .with_context(|| format!("{} is not a storekeep archive", path.display()))?;
    let mut tar = tar::Archive::new(zstd);
    let mut entries = tar
        .entries()
        .with_context(|| format!("{} is not a storekeep archive", path.display()))?;
    let damaged = || format!("{} is damaged (tar + zstd)", path.display());
    let mut first = entries
        .next()
        .with_context(|| format!("{} holds no manifest.json", path.display()))?
        .with_context(damaged)?;
    if first.path()?.to_string_lossy() != "manifest.json" {
        bail!(
            "{} is not a storekeep archive (manifest.json is not its first member)",
            path.display()
        );
    }
    let manifest = read_member(&mut first, "manifest.json", MAX_MANIFEST_BYTES, path)?;
    let mut expected = listing(&manifest)?;
    let mut members = BTreeMap::new();
    let mut total: u64 = 0;
    for entry in entries {
        let mut entry = entry.with_context(damaged)?;
        let name = entry.path()?.to_string_lossy().into_owned();
        let Some(declared) = expected.remove(&name) else {
            bail!(
                "refused: the archive holds {name}, which its manifest does not list (or lists once)"
            );
        };
        let size = entry.header().size()?;
        if declared.is_some_and(|d| d != size) {
            bail!("refused: {name} is not the size the manifest declares");
        }
        total = total.saturating_add(size);
        if total > MAX_TOTAL_BYTES {
            bail!("refused: the archive's members exceed {MAX_TOTAL_BYTES} bytes in all");
        }
        let bytes = read_member(&mut entry, &name, size, path)?;
        members.insert(name, bytes);
    }
    Ok((manifest, members))
}

/// At most `limit` bytes of `entry`, refused if it holds more.
fn read_member(
    entry: &mut impl Read,
    name: &str,
    limit: u64,
    path: &Path,
) -> anyhow::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    entry
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .with_context(|| format!("{} is damaged: reading {name}", path.display()))?;
    if bytes.len() as u64 > limit {
        bail!("refused: {name} in the archive is larger than {limit} bytes");
    }
    Ok(bytes)
}
