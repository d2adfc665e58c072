//! PostgreSQL's own client programs, `pg_dump` and `pg_restore`: found in
//! `backup.pg_bin_dir`, on PATH, or in the newest
//! `/usr/lib/postgresql/*/bin`. The password travels in `PGPASSWORD`,
//! never on the command line.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

/// The path of `tool`, or an error naming it and where it was looked for.
pub fn find(tool: &str, bin_dir: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(dir) = bin_dir {
        let path = dir.join(tool);
        if path.is_file() {
            return Ok(path);
        }
        bail!(
            "{tool} is not in backup.pg_bin_dir ({}); install PostgreSQL's client programs there or fix the setting",
            dir.display()
        );
    }
    if let Some(paths) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&paths) {
            let path = dir.join(tool);
            if path.is_file() {
                return Ok(path);
            }
        }
    }
    let newest = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.path().join("bin").join(tool))
        .filter(|p| p.is_file())
        .max_by_key(|p| {
            p.ancestors()
                .nth(2)
                .and_then(|v| v.file_name())
                .and_then(|v| v.to_str())
                .and_then(|v| v.parse::<u32>().ok())
                .unwrap_or(0)
        });
    newest.with_context(|| {
        format!(
            "{tool} was not found (not on PATH nor in /usr/lib/postgresql/*/bin): install PostgreSQL's client programs \
             (Debian: apt-get install postgresql-client) or set backup.pg_bin_dir"
        )
    })
}

/// `tool` with the connection of `url` in its environment (`PGHOST`,
/// `PGPORT`, `PGUSER`, `PGPASSWORD`, `PGDATABASE`, and TLS: `sslmode`,
/// `sslrootcert`, `sslcert`, `sslkey`, in libpq's spelling or sqlx's
/// `ssl-mode`, `ssl-root-cert`/`ssl-ca`, `ssl-cert`, `ssl-key`), so the
/// tool connects as the server does.
pub fn command(tool: &Path, url: &str) -> anyhow::Result<Command> {
    let parsed = url::Url::parse(url).context("database.url is not a URL")?;
    let mut cmd = Command::new(tool);
    if let Some(host) = parsed.host_str() {
        cmd.env("PGHOST", host.trim_start_matches('[').trim_end_matches(']'));
    }
    if let Some(port) = parsed.port() {
        cmd.env("PGPORT", port.to_string());
    }
    if !parsed.username().is_empty() {
        cmd.env("PGUSER", decode(parsed.username()));
    }
    if let Some(pw) = parsed.password() {
        cmd.env("PGPASSWORD", decode(pw));
    }
    let db = parsed.path().trim_start_matches('/');
    if !db.is_empty() {
        cmd.env("PGDATABASE", decode(db));
    }
    for (k, v) in parsed.query_pairs() {
        match k.as_ref() {
            "sslmode" | "ssl-mode" => cmd.env("PGSSLMODE", v.as_ref()),
            "sslrootcert" | "ssl-root-cert" | "ssl-ca" => cmd.env("PGSSLROOTCERT", v.as_ref()),
            "sslcert" | "ssl-cert" => cmd.env("PGSSLCERT", v.as_ref()),
            "sslkey" | "ssl-key" => cmd.env("PGSSLKEY", v.as_ref()),
            "host" => cmd.env("PGHOST", v.as_ref()),
            _ => &mut cmd,
        };
    }
    Ok(cmd)
}

fn decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Runs `cmd` to its end; an error holds what it wrote on stderr.
pub fn run(mut cmd: Command, what: &str) -> anyhow::Result<()> {
    let out = cmd.output().with_context(|| format!("starting {what}"))?;
    check(out, what)
}

/// Runs a tool that writes its output on stdout, without blocking the
/// runtime; an error holds what it wrote on stderr. The output goes
/// through a pipe into the existing file `into` (created private by the
/// caller). The tool is killed if the future is dropped (a scheduled run
/// past `backup.timeout`), so a hung `pg_dump` does not outlive its run. Should this process die (`kill -9`, a crash,
/// the machine's OOM killer), the pipe closes and the tool dies at its
/// next write (`SIGPIPE`), instead of dumping on alone into a folder the
/// next run removes.
pub async fn run_killable_into(mut cmd: Command, what: &str, into: &Path) -> anyhow::Result<()> {
    use std::io::{Read, Seek, Write};
    let mut stderr = tempfile::tempfile().context("creating a file for the tool's errors")?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(into)
        .with_context(|| format!("opening {}", into.display()))?;
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(stderr.try_clone()?);
    let mut child = KillOnDrop(cmd.spawn().with_context(|| format!("starting {what}"))?);
    let mut out = child.0.stdout.take().context("the tool's stdout")?;
    // Ends when the tool closes its stdout: it ended, or was killed (by
    // `KillOnDrop` when this future is dropped).
    let copied = tokio::task::spawn_blocking(move || {
        std::io::copy(&mut out, &mut file)?;
        file.flush()?;
        file.sync_all()
    })
    .await?;
    let status = loop {
        if let Some(status) = child.0.try_wait()? {
            break status;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    let mut errors = Vec::new();
    stderr.rewind()?;
    stderr.read_to_end(&mut errors)?;
    let ended = check(
        std::process::Output {
            status,
            stdout: Vec::new(),
            stderr: errors,
        },
        what,
    );
    // A failed copy (a full disk) comes first: the tool then dies of
    // SIGPIPE, which says nothing of the cause.
    match copied.with_context(|| format!("writing {what}'s output to {}", into.display())) {
        Ok(()) => ended,
        Err(e) => match ended {
            Ok(()) => Err(e),
            Err(tool) => Err(anyhow::anyhow!("{e:#}; {tool:#}")),
        },
    }
}

/// Kills the child (and reaps it) unless it has ended.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

fn check(out: std::process::Output, what: &str) -> anyhow::Result<()> {
    if !out.status.success() {
        bail!(
            "{what} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}
