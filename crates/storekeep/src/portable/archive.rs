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

/// The largest archive member read into memory (a table file or an image).
const MAX_MEMBER_BYTES: u64 = 4 << 30;

pub fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// Writes `members` (path, bytes), in order, to `path` as tar + zstd: to
/// `<path>.partial` first, renamed once complete and synced, so a killed
/// export never leaves a file that looks whole.
pub fn write(path: &Path, members: &[(String, &[u8])]) -> anyhow::Result<u64> {
    let partial = path.with_extension("partial");
    let file = File::create(&partial).with_context(|| format!("creating {}", partial.display()))?;
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
    std::fs::rename(&partial, path)
        .with_context(|| format!("renaming {} to {}", partial.display(), path.display()))?;
    Ok(size)
}

/// Every member of the archive at `path`: path → bytes.
pub fn read(path: &Path) -> anyhow::Result<BTreeMap<String, Vec<u8>>> {
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let zstd = zstd::Decoder::new(file)
        .with_context(|| format!("{} is not a storekeep archive", path.display()))?;
    let mut tar = tar::Archive::new(zstd);
    let mut members = BTreeMap::new();
    let entries = tar
        .entries()
        .with_context(|| format!("{} is not a storekeep archive", path.display()))?;
    for entry in entries {
        let mut entry =
            entry.with_context(|| format!("{} is damaged (tar + zstd)", path.display()))?;
        if entry.header().entry_type() != tar::EntryType::Regular {
            continue;
        }
        let name = entry.path()?.to_string_lossy().into_owned();
        let size = entry.header().size()?;
        if size > MAX_MEMBER_BYTES {
            bail!("{name} in the archive is larger than {MAX_MEMBER_BYTES} bytes");
        }
        let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        entry
            .read_to_end(&mut bytes)
            .with_context(|| format!("{} is damaged: reading {name}", path.display()))?;
        members.insert(name, bytes);
    }
    Ok(members)
}
