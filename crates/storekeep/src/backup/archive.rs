//! An archive is the database dump, compressed with zstd and encrypted
//! with age to X25519 recipients. Sealing and opening stream through
//! fixed buffers (memory does not grow with the database) and hash as
//! they go: the SHA-256 of the plain dump and of the archive file.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::Path;
use std::str::FromStr;

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};

/// The zstd level: fast, and most of the size gain.
const ZSTD_LEVEL: i32 = 3;

/// A byte count and SHA-256 (hex) of a stream.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Digested {
    pub bytes: u64,
    pub sha256: String,
}

/// A writer (or reader) that hashes and counts what passes through it.
struct Hashing<T> {
    inner: T,
    hash: Sha256,
    bytes: u64,
}

impl<T> Hashing<T> {
    fn new(inner: T) -> Self {
        Self {
            inner,
            hash: Sha256::new(),
            bytes: 0,
        }
    }

    fn digest(self) -> (T, Digested) {
        let d = Digested {
            bytes: self.bytes,
            sha256: format!("{:x}", self.hash.finalize()),
        };
        (self.inner, d)
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

/// A new folder in `parent` that only the owner can enter (0700): plain
/// dumps are staged in one.
pub fn private_tempdir(parent: &Path, prefix: &str) -> io::Result<tempfile::TempDir> {
    use std::os::unix::fs::PermissionsExt;
    tempfile::Builder::new()
        .prefix(prefix)
        .permissions(std::fs::Permissions::from_mode(0o700))
        .tempdir_in(parent)
}

/// Creates (or empties) `path` readable by its owner only (0600): a plain
/// dump is never readable by others, whatever the umask.
pub fn create_private(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
}

/// The SHA-256 and size of a file.
pub fn digest_file(path: &Path) -> anyhow::Result<Digested> {
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut reader = Hashing::new(BufReader::new(file));
    io::copy(&mut reader, &mut io::sink())?;
    Ok(reader.digest().1)
}

/// Parses `age1…` recipients (already checked by the configuration).
pub fn recipients(list: &[String]) -> anyhow::Result<Vec<age::x25519::Recipient>> {
    list.iter()
        .map(|r| {
            age::x25519::Recipient::from_str(r)
                .map_err(|e| anyhow::anyhow!("'{r}' is not an age recipient: {e}"))
        })
        .collect()
}

/// The X25519 identities (`AGE-SECRET-KEY-1…` lines; `#` comments) of an
/// identity file.
pub fn identities(path: &Path) -> anyhow::Result<Vec<age::x25519::Identity>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the identity file {}", path.display()))?;
    let ids: Vec<age::x25519::Identity> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            age::x25519::Identity::from_str(l).map_err(|_| {
                anyhow::anyhow!(
                    "{} holds a line that is not an age identity (AGE-SECRET-KEY-1…)",
                    path.display()
                )
            })
        })
        .collect::<anyhow::Result<_>>()?;
    if ids.is_empty() {
        bail!("{} holds no age identity", path.display());
    }
    Ok(ids)
}

/// Compresses and encrypts `plain` into `sealed`; `progress` hears of the
/// plain bytes read. Answers the digests of the plain input and of the
/// archive.
pub fn seal(
    plain: &Path,
    sealed: &Path,
    recipients: &[age::x25519::Recipient],
    progress: &dyn Fn(u64),
) -> anyhow::Result<(Digested, Digested)> {
    let encryptor =
        age::Encryptor::with_recipients(recipients.iter().map(|r| r as &dyn age::Recipient))
            .context("no recipient to encrypt the backup to")?;
    let input = File::open(plain).with_context(|| format!("opening {}", plain.display()))?;
    let output = File::create(sealed).with_context(|| format!("creating {}", sealed.display()))?;
    let hashed_out = Hashing::new(BufWriter::new(output));
    let encrypted = encryptor.wrap_output(hashed_out)?;
    let mut compressed = zstd::stream::Encoder::new(encrypted, ZSTD_LEVEL)?;
    let mut reader = Hashing::new(BufReader::new(input));
    copy_with_progress(&mut reader, &mut compressed, progress)?;
    let encrypted = compressed.finish()?;
    let hashed_out = encrypted.finish()?;
    let (buffered, archive) = hashed_out.digest();
    let file = buffered
        .into_inner()
        .map_err(io::IntoInnerError::into_error)?;
    file.sync_all()?;
    Ok((reader.digest().1, archive))
}

/// Why an archive could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(
        "the identity does not open this backup (it was encrypted to other recipients): wrong key"
    )]
    WrongKey,
    #[error("the backup is damaged or truncated: {0}")]
    Damaged(String),
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Decrypts and decompresses `sealed` into `plain`; answers the plain
/// digest.
pub fn open(
    sealed: &Path,
    plain: &Path,
    identities: &[age::x25519::Identity],
    progress: &dyn Fn(u64),
) -> Result<Digested, OpenError> {
    let input = BufReader::new(File::open(sealed)?);
    let decryptor =
        age::Decryptor::new(input).map_err(|e| OpenError::Damaged(format!("age header: {e}")))?;
    let reader = decryptor
        .decrypt(identities.iter().map(|i| i as &dyn age::Identity))
        .map_err(|e| match e {
            age::DecryptError::NoMatchingKeys => OpenError::WrongKey,
            other => OpenError::Damaged(other.to_string()),
        })?;
    let mut decompressed =
        zstd::stream::Decoder::new(reader).map_err(|e| OpenError::Damaged(e.to_string()))?;
    let output = create_private(plain)?;
    let mut writer = Hashing::new(BufWriter::new(output));
    copy_with_progress(&mut decompressed, &mut writer, progress)
        .map_err(|e| OpenError::Damaged(e.to_string()))?;
    writer.flush()?;
    let (buffered, digest) = writer.digest();
    buffered
        .into_inner()
        .map_err(io::IntoInnerError::into_error)?
        .sync_all()?;
    Ok(digest)
}

fn copy_with_progress(
    from: &mut impl Read,
    to: &mut impl Write,
    progress: &dyn Fn(u64),
) -> io::Result<u64> {
    let mut buf = vec![0u8; 256 * 1024];
    let mut total = 0u64;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        to.write_all(&buf[..n])?;
        total += n as u64;
        progress(total);
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    /// Whatever the umask lets through, a staging folder is the owner's
    /// alone and a plain dump opened from an archive is 0600.
    #[test]
    fn staging_folders_and_plain_dumps_are_private() {
        let parent = tempfile::tempdir().unwrap();
        let dir = private_tempdir(parent.path(), ".staging-").unwrap();
        assert_eq!(mode(dir.path()), 0o700);
        let plain = dir.path().join("plain");
        std::fs::write(&plain, b"not a secret, but a dump").unwrap();
        let id = age::x25519::Identity::generate();
        let sealed = dir.path().join("sealed");
        seal(&plain, &sealed, &[id.to_public()], &|_| {}).unwrap();
        let opened = dir.path().join("opened");
        open(&sealed, &opened, &[id], &|_| {}).unwrap();
        assert_eq!(mode(&opened), 0o600);
        assert_eq!(std::fs::read(&opened).unwrap(), b"not a secret, but a dump");
        let made = dir.path().join("made");
        create_private(&made).unwrap();
        assert_eq!(mode(&made), 0o600);
    }
}
