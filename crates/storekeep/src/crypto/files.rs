//! Secret files: written readable by their owner only.

use std::path::Path;

/// Writes a secret file readable only by its owner (mode 0600 on Unix).
#[cfg(unix)]
pub fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?;
    writeln!(f, "{contents}")?;
    Ok(())
}

/// Writes a secret file (no file modes on this platform).
#[cfg(not(unix))]
pub fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    std::fs::write(path, format!("{contents}\n"))?;
    Ok(())
}
