//! A PostgreSQL server of the test's own, to stop, restart and break
//! without touching the one the rest of the suite shares.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::{Context, bail};

/// A throwaway PostgreSQL cluster (`initdb` into a temporary folder) on a
/// free loopback port. As root it runs as the unprivileged
/// `storekeep-test` user, as `scripts/test` does. Dropping it stops the
/// server at once and removes its files.
pub struct PgServer {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    as_user: Option<&'static str>,
}

/// The unprivileged user PostgreSQL runs as when the tests run as root.
const PG_USER: &str = "storekeep-test";

impl PgServer {
    /// The folder of PostgreSQL's server programs (`initdb`, `pg_ctl`), or
    /// `None` to skip the test: like [`crate::tool_available`], a missing
    /// PostgreSQL fails instead when `STOREKEEP_TEST_REQUIRE_TOOLS` is set.
    pub fn tools() -> Option<PathBuf> {
        let found = std::fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .map(|e| e.path().join("bin"))
            .filter(|bin| bin.join("initdb").is_file() && bin.join("pg_ctl").is_file())
            .max_by_key(|bin| version_of(bin));
        let found = found.or_else(|| {
            // Elsewhere (Homebrew, other distributions) the programs are on PATH.
            Command::new("sh")
                .args(["-c", "command -v pg_ctl"])
                .output()
                .ok()
                .filter(|o| o.status.success())
                .and_then(|o| {
                    let path = PathBuf::from(String::from_utf8_lossy(&o.stdout).trim());
                    path.parent().map(Path::to_path_buf)
                })
                .filter(|bin| bin.join("initdb").is_file())
        });
        if found.is_none() {
            assert!(
                std::env::var("STOREKEEP_TEST_REQUIRE_TOOLS").is_err(),
                "PostgreSQL (initdb, pg_ctl) is required (STOREKEEP_TEST_REQUIRE_TOOLS is set) but not installed"
            );
            eprintln!("skipping: PostgreSQL (initdb, pg_ctl) is not installed");
        }
        found
    }

    /// Creates a cluster with the programs in `bin` and starts it.
    pub fn start(bin: &Path) -> anyhow::Result<Self> {
        Self::start_with(bin, "", &[])
    }

    /// Like [`PgServer::start`], with `conf` appended to the cluster's
    /// `postgresql.conf` before the first start. `{dir}` in it stands for
    /// the cluster's folder (which holds `data`); `folders` are made in it
    /// first, owned by the server's user (a WAL archive, say).
    pub fn start_with(bin: &Path, conf: &str, folders: &[&str]) -> anyhow::Result<Self> {
        let server = Self::init(bin, conf, folders)?;
        server.start_again()?;
        Ok(server)
    }

    /// Like [`PgServer::start`], serving TLS with `cert` and `key` (PEM)
    /// and refusing every TCP connection without it (`pg_hba.conf`:
    /// `hostssl` trusted, `hostnossl` rejected), as a managed PostgreSQL
    /// that forces SSL does. Connect with `?sslmode=require` or stricter.
    pub fn start_tls(bin: &Path, cert: &Path, key: &Path) -> anyhow::Result<Self> {
        let conf = "ssl = on\n\
                    ssl_cert_file = '{dir}/tls/server.pem'\n\
                    ssl_key_file = '{dir}/tls/server.key'";
        let server = Self::init(bin, conf, &["tls"])?;
        let tls = server.dir.path().join("tls");
        for (from, to) in [(cert, "server.pem"), (key, "server.key")] {
            let path = tls.join(to);
            std::fs::copy(from, &path).with_context(|| format!("copying {}", from.display()))?;
            // PostgreSQL refuses a key others can read.
            std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
            if server.as_user.is_some() {
                std::os::unix::fs::chown(&path, Some(user_id(PG_USER)?), None)
                    .with_context(|| format!("handing {to} to the PostgreSQL user"))?;
            }
        }
        std::fs::write(
            server.dir.path().join("data/pg_hba.conf"),
            "local all all trust\n\
             hostssl all all 127.0.0.1/32 trust\n\
             hostssl replication all 127.0.0.1/32 trust\n\
             hostnossl all all 0.0.0.0/0 reject\n",
        )
        .context("writing pg_hba.conf")?;
        server.start_again()?;
        Ok(server)
    }

    /// initdb, `folders`, `conf`: a cluster ready for its first start.
    fn init(bin: &Path, conf: &str, folders: &[&str]) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("storekeep-pg-")
            .tempdir()
            .context("creating the cluster's folder")?;
        let as_user = if is_root() {
            ensure_user()?;
            let owner = user_id(PG_USER)?;
            std::os::unix::fs::chown(dir.path(), Some(owner), None)
                .context("handing the cluster's folder to the PostgreSQL user")?;
            Some(PG_USER)
        } else {
            None
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .context("finding a free port")?
            .port();
        let server = Self {
            bin: bin.to_path_buf(),
            dir,
            port,
            as_user,
        };
        let data = server.data_dir();
        server.run(
            "initdb",
            &["-D", &data, "-U", "postgres", "-A", "trust", "--no-sync"],
        )?;
        for folder in folders {
            let path = server.dir.path().join(folder);
            std::fs::create_dir_all(&path).with_context(|| format!("creating {folder}"))?;
            if server.as_user.is_some() {
                std::os::unix::fs::chown(&path, Some(user_id(PG_USER)?), None)
                    .with_context(|| format!("handing {folder} to the PostgreSQL user"))?;
            }
        }
        if !conf.is_empty() {
            let conf = conf.replace("{dir}", &server.dir().display().to_string());
            let path = server.dir.path().join("data/postgresql.conf");
            let mut text = std::fs::read_to_string(&path).context("reading postgresql.conf")?;
            text.push('\n');
            text.push_str(&conf);
            text.push('\n');
            std::fs::write(&path, text).context("writing postgresql.conf")?;
        }
        Ok(server)
    }

    /// `postgres://postgres@127.0.0.1:PORT/postgres`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server as an operator's `pg_ctl stop -m fast` does: open
    /// transactions are rolled back, clients disconnected. Returns once
    /// it is down.
    pub fn stop(&self) -> anyhow::Result<()> {
        let data = self.data_dir();
        self.run("pg_ctl", &["-D", &data, "-m", "fast", "-w", "stop"])?;
        Ok(())
    }

    /// Starts the (stopped) server on the same port and data; returns once
    /// it accepts connections.
    pub fn start_again(&self) -> anyhow::Result<()> {
        let data = self.data_dir();
        let log = self.dir.path().join("postgres.log");
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {} -c fsync=off -c max_connections=100",
            self.port,
            self.dir.path().display()
        );
        self.run(
            "pg_ctl",
            &[
                "-D",
                &data,
                "-l",
                &log.display().to_string(),
                "-w",
                "-o",
                &options,
                "start",
            ],
        )?;
        Ok(())
    }

    /// Stops the server as a crash does (`pg_ctl stop -m immediate`):
    /// connections reset, no shutdown checkpoint. Returns once it is down.
    pub fn stop_immediate(&self) -> anyhow::Result<()> {
        let data = self.data_dir();
        self.run("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"])?;
        Ok(())
    }

    /// A streaming replica of this server, as an operator makes one:
    /// `pg_basebackup -R -X stream` (a fast checkpoint) into a cluster
    /// folder of its own, started on a free loopback port as a hot
    /// standby. initdb's `pg_hba.conf` trusts replication connections
    /// from 127.0.0.1, and `wal_level=replica` and `max_wal_senders` are
    /// PostgreSQL's defaults. Dropping it stops it and removes its files.
    pub fn start_replica(&self) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("storekeep-pg-replica-")
            .tempdir()
            .context("creating the replica's folder")?;
        if self.as_user.is_some() {
            std::os::unix::fs::chown(dir.path(), Some(user_id(PG_USER)?), None)
                .context("handing the replica's folder to the PostgreSQL user")?;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .context("finding a free port")?
            .port();
        let replica = Self {
            bin: self.bin.clone(),
            dir,
            port,
            as_user: self.as_user,
        };
        let data = replica.data_dir();
        let primary_port = self.port.to_string();
        replica.run(
            "pg_basebackup",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &primary_port,
                "-U",
                "postgres",
                "-D",
                &data,
                "-R",
                "-X",
                "stream",
                "-c",
                "fast",
                "--no-sync",
            ],
        )?;
        replica.start_again()?;
        Ok(replica)
    }

    /// Stops and starts the server.
    pub fn restart(&self) -> anyhow::Result<()> {
        self.stop()?;
        self.start_again()
    }

    /// The cluster's folder: `data` (the data directory) and whatever the
    /// test keeps beside it; writable by the server's user.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The data directory (`{dir}/data`).
    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Runs `program` (a path, or a name on PATH) as the server's user, as
    /// an operator runs PostgreSQL's tools and shell steps on its files
    /// (`pg_basebackup` is `bin().join("pg_basebackup")`). Fails with the
    /// output when it exits non-zero.
    pub fn run_as_owner(&self, program: &Path, args: &[&str]) -> anyhow::Result<Output> {
        let mut cmd = match self.as_user {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(program);
                c
            }
            None => Command::new(program),
        };
        let output = cmd
            .args(args)
            .output()
            .with_context(|| format!("running {}", program.display()))?;
        if !output.status.success() {
            bail!(
                "{} {} failed ({}): {}{}",
                program.display(),
                args.join(" "),
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr),
            );
        }
        Ok(output)
    }

    /// As root, the uid and gid of the unprivileged user the server runs
    /// as, for a helper that must run as it too (PgBouncer refuses root);
    /// `None` when the tests do not run as root.
    pub fn owner_ids(&self) -> anyhow::Result<Option<(u32, u32)>> {
        match self.as_user {
            Some(user) => Ok(Some((id_of("-u", user)?, id_of("-g", user)?))),
            None => Ok(None),
        }
    }

    /// The folder of PostgreSQL's programs this server runs with.
    pub fn bin(&self) -> &Path {
        &self.bin
    }

    /// The server's log so far, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("postgres.log")).unwrap_or_default()
    }

    fn data_dir(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    /// Runs one of PostgreSQL's programs (as the PostgreSQL user if root);
    /// a failure carries the server's log.
    fn run(&self, program: &str, args: &[&str]) -> anyhow::Result<Output> {
        self.run_as_owner(&self.bin.join(program), args)
            .map_err(|e| anyhow::anyhow!("{e:#}\n{}", self.log()))
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let data = self.data_dir();
        let _ = self.run("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"]);
    }
}

/// `/usr/lib/postgresql/15/bin` → 15, for picking the newest.
fn version_of(bin: &Path) -> u32 {
    bin.parent()
        .and_then(Path::file_name)
        .and_then(|v| v.to_str())
        .and_then(|v| v.split('.').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

fn user_id(name: &str) -> anyhow::Result<u32> {
    id_of("-u", name)
}

/// `id -u NAME` or `id -g NAME`.
fn id_of(flag: &str, name: &str) -> anyhow::Result<u32> {
    let out = Command::new("id")
        .args([flag, name])
        .output()
        .context("running id")?;
    if !out.status.success() {
        bail!("no user {name}");
    }
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .context("parsing a user id")
}

/// Creates the PostgreSQL user as `scripts/test` does, if missing.
fn ensure_user() -> anyhow::Result<()> {
    if user_id(PG_USER).is_ok() {
        return Ok(());
    }
    let status = Command::new("useradd")
        .args([
            "--system",
            "--no-create-home",
            "--shell",
            "/usr/sbin/nologin",
            PG_USER,
        ])
        .status()
        .context("running useradd")?;
    // Another test may have created it meanwhile.
    if !status.success() && user_id(PG_USER).is_err() {
        bail!("could not create the user {PG_USER}");
    }
    Ok(())
}
