//! Settings: code defaults, then an optional TOML file, then `STOREKEEP_*`
//! environment variables, then command-line flags — later sources win.
//!
//! Every key is listed once in [`KEYS`] with its documentation. A key's
//! environment variable is `STOREKEEP_` plus its dotted path in upper case
//! with dots as underscores (`http.request_timeout_secs` →
//! `STOREKEEP_HTTP_REQUEST_TIMEOUT_SECS`). Secret keys also accept a
//! `_FILE` variant (`STOREKEEP_PLATFORM_TOKEN_FILE`, or `platform_token_file`
//! in TOML) naming a file that holds the value.
//!
//! Loading never stops at the first problem: [`load`] returns every problem
//! so `storekeep check-config` can explain them all at once.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use storekeep_domain::DomainName;

/// A value that must never be printed or logged.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// How log lines are written to stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object per line (the default; what log pipelines want).
    Json,
    /// Human-readable lines for a terminal.
    Pretty,
}

/// Key path, whether it is a secret, and what it means (default in brackets).
pub const KEYS: &[(&str, bool, &str)] = &[
    (
        "listen",
        false,
        "address and port to serve HTTP on [127.0.0.1:8080]",
    ),
    (
        "data_dir",
        false,
        "folder for the embedded database and local files [./data]",
    ),
    (
        "database.url",
        true,
        "sqlite://PATH or postgres://USER:PASS@HOST/DB [sqlite://DATA_DIR/storekeep.db]",
    ),
    (
        "database.max_connections",
        false,
        "connection pool size [10]",
    ),
    (
        "database.acquire_timeout_ms",
        false,
        "longest a request waits for a database connection before a 503 answer; also bounds the readiness check [2000]",
    ),
    (
        "base_domain",
        false,
        "tenants are served on {slug}.BASE_DOMAIN when set [unset]",
    ),
    (
        "platform_token",
        true,
        "bearer token for /api/v1/platform/* and /api/health/detailed, at least 32 characters [unset: platform API refuses every request]",
    ),
    ("log.format", false, "json or pretty [json]"),
    (
        "log.level",
        false,
        "a tracing filter such as info or storekeep=debug,info; RUST_LOG overrides [info]",
    ),
    (
        "http.request_timeout_secs",
        false,
        "longest a request may take before a 503 answer [30]",
    ),
    (
        "http.body_limit_bytes",
        false,
        "largest request body accepted [1048576]",
    ),
    (
        "http.header_read_timeout_secs",
        false,
        "a connection that has not sent a request's headers this long after connecting (or after the first byte of its next request) is closed [10]",
    ),
    (
        "http.keep_alive_idle_secs",
        false,
        "a kept-alive connection with no request this long is closed; keep it above a load balancer's idle timeout [75]",
    ),
    (
        "http.max_connections",
        false,
        "most connections open at once; more are answered 503 and closed [1000, or three quarters of the open-file limit if lower]",
    ),
    (
        "shutdown.drain_secs",
        false,
        "after SIGTERM, seconds to keep serving with readiness false so load balancers move away [5]",
    ),
    (
        "shutdown.grace_secs",
        false,
        "after the drain, longest wait for in-flight requests before exiting [30]",
    ),
    (
        "encryption.keys",
        true,
        "PII encryption keys, id:base64(32 bytes)[,id:key...], oldest first; the last encrypts [SQLite: generated into DATA_DIR/secrets; PostgreSQL: required]",
    ),
    (
        "encryption.blind_index_key",
        true,
        "base64 32-byte key of the email look-up index; never change it [as encryption.keys]",
    ),
    (
        "auth.session_ttl_hours",
        false,
        "longest a login session lives [720]",
    ),
    (
        "auth.session_idle_hours",
        false,
        "a session unused this long ends [72]",
    ),
    (
        "http.trusted_proxies",
        false,
        "comma-separated IPs or CIDRs whose X-Forwarded-For and X-Forwarded-Proto are believed [none]",
    ),
    (
        "redis.url",
        true,
        "redis://HOST:PORT, for rate limits and cache invalidation shared by every node [unset: in memory, per node]",
    ),
    (
        "cache.max_bytes",
        false,
        "memory for cached storefront responses, in bytes; 0 turns the cache off [67108864]",
    ),
    (
        "cache.ttl_secs",
        false,
        "the longest a cached storefront response is served, in seconds [60]",
    ),
    (
        "media.max_image_bytes",
        false,
        "largest image upload accepted, in bytes [10485760]",
    ),
    (
        "media.max_image_pixels",
        false,
        "most pixels (width × height) an uploaded image may have [40000000]",
    ),
    (
        "media.public_base_url",
        false,
        "URL prefix for image links, e.g. a CDN in front of the bucket [unset: storekeep serves /media/...]",
    ),
    (
        "media.s3_bucket",
        false,
        "store images in this S3-compatible bucket [unset: DATA_DIR/media on local disk]",
    ),
    (
        "media.s3_endpoint",
        false,
        "S3 endpoint URL, for S3-compatible servers (MinIO, Ceph, ...) [unset: AWS]",
    ),
    ("media.s3_region", false, "S3 region [us-east-1]"),
    (
        "media.s3_access_key_id",
        false,
        "S3 access key id [unset: from the environment, e.g. AWS_ACCESS_KEY_ID or an instance role]",
    ),
    (
        "media.s3_secret_access_key",
        true,
        "S3 secret access key [unset: from the environment]",
    ),
    (
        "orders.expiry_interval_secs",
        false,
        "how often each node cancels unpaid orders past their payment deadline, in seconds [10]",
    ),
    (
        "payments.test_enabled",
        false,
        "offer the simulated `test` payment provider, which pays orders by itself; for demos and tests only (`serve --demo` turns it on) [false]",
    ),
    (
        "payments.test_webhook_secret",
        true,
        "HMAC key the `test` payment provider signs its webhooks with; set the same on every node [unset: random per process]",
    ),
    (
        "payments.test_callback_url",
        false,
        "base URL the `test` provider's simulated processor posts webhooks to [unset: this node's own address]",
    ),
    (
        "payments.test_delay_ms",
        false,
        "how long the `test` provider's simulated processor waits before confirming or declining [200]",
    ),
];

/// The server's whole configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: Option<Secret>,
    pub database_max_connections: u32,
    /// How long a request waits for a pooled connection before it is
    /// answered 503; also bounds the readiness check's own round trip.
    pub database_acquire_timeout: Duration,
    pub base_domain: Option<DomainName>,
    pub platform_token: Option<Secret>,
    pub log_format: LogFormat,
    pub log_level: String,
    pub request_timeout: Duration,
    pub body_limit_bytes: usize,
    pub header_read_timeout: Duration,
    pub keep_alive_idle: Duration,
    /// `None`: 1,000, or three quarters of the open-file limit if lower.
    pub max_connections: Option<usize>,
    pub drain: Duration,
    pub grace: Duration,
    pub encryption_keys: Option<Secret>,
    pub blind_index_key: Option<Secret>,
    pub session_ttl: Duration,
    pub session_idle: Duration,
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub redis_url: Option<Secret>,
    pub cache_max_bytes: u64,
    pub cache_ttl: Duration,
    pub media: MediaSettings,
    pub order_expiry_interval: Duration,
    pub payments: PaymentSettings,
}

/// The payment providers' settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentSettings {
    /// Whether the simulated `test` provider is offered at all.
    pub test_enabled: bool,
    pub test_webhook_secret: Option<Secret>,
    pub test_callback_url: Option<String>,
    pub test_delay: Duration,
}

impl Default for PaymentSettings {
    fn default() -> Self {
        Self {
            test_enabled: false,
            test_webhook_secret: None,
            test_callback_url: None,
            test_delay: Duration::from_millis(200),
        }
    }
}

/// Where product images are stored and how they are linked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaSettings {
    pub max_image_bytes: usize,
    pub max_image_pixels: u64,
    pub public_base_url: Option<String>,
    pub s3_bucket: Option<String>,
    pub s3_endpoint: Option<String>,
    pub s3_region: String,
    pub s3_access_key_id: Option<String>,
    pub s3_secret_access_key: Option<Secret>,
}

impl Default for MediaSettings {
    fn default() -> Self {
        Self {
            max_image_bytes: 10 * 1024 * 1024,
            max_image_pixels: 40_000_000,
            public_base_url: None,
            s3_bucket: None,
            s3_endpoint: None,
            s3_region: "us-east-1".into(),
            s3_access_key_id: None,
            s3_secret_access_key: None,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./data"),
            database_url: None,
            database_max_connections: 10,
            database_acquire_timeout: Duration::from_secs(2),
            base_domain: None,
            platform_token: None,
            log_format: LogFormat::Json,
            log_level: "info".into(),
            request_timeout: Duration::from_secs(30),
            body_limit_bytes: 1024 * 1024,
            header_read_timeout: Duration::from_secs(10),
            keep_alive_idle: Duration::from_secs(75),
            max_connections: None,
            drain: Duration::from_secs(5),
            grace: Duration::from_secs(30),
            encryption_keys: None,
            blind_index_key: None,
            session_ttl: Duration::from_secs(720 * 3600),
            session_idle: Duration::from_secs(72 * 3600),
            trusted_proxies: Vec::new(),
            redis_url: None,
            cache_max_bytes: 64 * 1024 * 1024,
            cache_ttl: Duration::from_secs(60),
            media: MediaSettings::default(),
            order_expiry_interval: Duration::from_secs(10),
            payments: PaymentSettings::default(),
        }
    }
}

/// The minimum length of the platform token.
pub const MIN_TOKEN_LEN: usize = 32;

impl Settings {
    /// The connection cap in force: the configured one, or 1,000 lowered to
    /// three quarters of the process's open-file limit, so the database,
    /// logs and files keep descriptors when clients hold every connection.
    pub fn max_connections(&self) -> usize {
        self.max_connections.unwrap_or_else(|| {
            open_file_limit().map_or(1000, |limit| 1000.min(limit / 4 * 3).max(1))
        })
    }

    /// The database URL in force: the configured one or the embedded default.
    pub fn database_url(&self) -> Secret {
        self.database_url.clone().unwrap_or_else(|| {
            Secret::new(format!(
                "sqlite://{}",
                self.data_dir.join("storekeep.db").display()
            ))
        })
    }

    /// The PII keyring in force (`crypto::keyring::load`): the configured
    /// keys, or keys generated once into `DATA_DIR/secrets/` for the
    /// embedded database.
    pub fn load_keyring(&self) -> anyhow::Result<crate::crypto::Keyring> {
        let configured = match (&self.encryption_keys, &self.blind_index_key) {
            (Some(k), Some(i)) => Some((k.expose(), i.expose())),
            _ => None,
        };
        let embedded = self.database_url().expose().starts_with("sqlite:");
        crate::crypto::keyring::load(configured, embedded, &self.data_dir)
    }

    /// Sets one key from its textual value (from a file or the environment).
    fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        match key {
            "listen" => self.listen = parse(value, "an address such as 127.0.0.1:8080")?,
            "data_dir" => self.data_dir = PathBuf::from(non_empty(value)?),
            "database.url" => {
                let url = non_empty(value)?;
                if !(url.starts_with("sqlite:")
                    || url.starts_with("postgres://")
                    || url.starts_with("postgresql://"))
                {
                    return Err("must start with sqlite:, postgres:// or postgresql://".into());
                }
                self.database_url = Some(Secret::new(url));
            }
            "database.max_connections" => {
                self.database_max_connections = parse_positive(value)?;
            }
            "database.acquire_timeout_ms" => {
                self.database_acquire_timeout = Duration::from_millis(parse_positive(value)?);
            }
            "base_domain" => {
                self.base_domain = if value.trim().is_empty() {
                    None
                } else {
                    Some(DomainName::parse(value)?)
                }
            }
            "platform_token" => {
                let token = value.trim();
                if token.len() < MIN_TOKEN_LEN {
                    return Err(format!(
                        "must be at least {MIN_TOKEN_LEN} characters (try: openssl rand -hex 32)"
                    ));
                }
                self.platform_token = Some(Secret::new(token));
            }
            "log.format" => {
                self.log_format = match value.trim() {
                    "json" => LogFormat::Json,
                    "pretty" => LogFormat::Pretty,
                    _ => return Err("must be json or pretty".into()),
                }
            }
            "log.level" => {
                tracing_subscriber::EnvFilter::try_new(value)
                    .map_err(|e| format!("is not a valid filter: {e}"))?;
                self.log_level = value.to_owned();
            }
            "http.request_timeout_secs" => {
                self.request_timeout = Duration::from_secs(parse_positive(value)?);
            }
            "http.body_limit_bytes" => self.body_limit_bytes = parse_positive(value)?,
            "http.header_read_timeout_secs" => {
                self.header_read_timeout = Duration::from_secs(parse_positive(value)?);
            }
            "http.keep_alive_idle_secs" => {
                self.keep_alive_idle = Duration::from_secs(parse_positive(value)?);
            }
            "http.max_connections" => self.max_connections = Some(parse_positive(value)?),
            "shutdown.drain_secs" => {
                self.drain = Duration::from_secs(parse(value, "a whole number of seconds")?);
            }
            "shutdown.grace_secs" => {
                self.grace = Duration::from_secs(parse_positive(value)?);
            }
            "encryption.keys" => {
                self.encryption_keys = Some(Secret::new(non_empty(value)?));
            }
            "encryption.blind_index_key" => {
                self.blind_index_key = Some(Secret::new(non_empty(value)?));
            }
            "auth.session_ttl_hours" => {
                self.session_ttl = Duration::from_secs(3600 * parse_positive::<u64>(value)?);
            }
            "auth.session_idle_hours" => {
                self.session_idle = Duration::from_secs(3600 * parse_positive::<u64>(value)?);
            }
            "http.trusted_proxies" => {
                self.trusted_proxies = value
                    .split(',')
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .map(|v| {
                        v.parse::<ipnet::IpNet>()
                            .or_else(|_| v.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                            .map_err(|_| format!("'{v}' is not an IP address or CIDR"))
                    })
                    .collect::<Result<_, _>>()?;
            }
            "redis.url" => {
                let url = non_empty(value)?;
                if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
                    return Err("must start with redis:// or rediss://".into());
                }
                self.redis_url = Some(Secret::new(url));
            }
            "cache.max_bytes" => self.cache_max_bytes = parse(value, "a whole number of bytes")?,
            "cache.ttl_secs" => self.cache_ttl = Duration::from_secs(parse_positive(value)?),
            "media.max_image_bytes" => self.media.max_image_bytes = parse_positive(value)?,
            "media.max_image_pixels" => self.media.max_image_pixels = parse_positive(value)?,
            "media.public_base_url" => {
                let url = non_empty(value)?;
                if !(url.starts_with("https://") || url.starts_with("http://")) {
                    return Err("must start with https:// or http://".into());
                }
                self.media.public_base_url = Some(url.trim_end_matches('/').to_owned());
            }
            "media.s3_bucket" => self.media.s3_bucket = Some(non_empty(value)?),
            "media.s3_endpoint" => {
                let url = non_empty(value)?;
                if !(url.starts_with("https://") || url.starts_with("http://")) {
                    return Err("must start with https:// or http://".into());
                }
                self.media.s3_endpoint = Some(url);
            }
            "media.s3_region" => self.media.s3_region = non_empty(value)?,
            "orders.expiry_interval_secs" => {
                self.order_expiry_interval = Duration::from_secs(parse_positive(value)?);
            }
            "payments.test_enabled" => {
                self.payments.test_enabled = match value.trim() {
                    "true" => true,
                    "false" => false,
                    _ => return Err(format!("'{value}' is not true or false")),
                }
            }
            "payments.test_webhook_secret" => {
                let secret = non_empty(value)?;
                if secret.len() < 16 {
                    return Err("must be at least 16 characters".into());
                }
                self.payments.test_webhook_secret = Some(Secret::new(secret));
            }
            "payments.test_callback_url" => {
                let url = non_empty(value)?;
                if !(url.starts_with("https://") || url.starts_with("http://")) {
                    return Err("must start with https:// or http://".into());
                }
                self.payments.test_callback_url = Some(url.trim_end_matches('/').to_owned());
            }
            "payments.test_delay_ms" => {
                self.payments.test_delay =
                    Duration::from_millis(parse(value, "a whole number of milliseconds")?);
            }
            "media.s3_access_key_id" => self.media.s3_access_key_id = Some(non_empty(value)?),
            "media.s3_secret_access_key" => {
                self.media.s3_secret_access_key = Some(Secret::new(non_empty(value)?));
            }
            _ => return Err("is not a known setting".into()),
        }
        Ok(())
    }
}

/// The soft limit on open files (`ulimit -n`), where the system tells it.
pub fn open_file_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.trim_start_matches("Max open files")
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn non_empty(value: &str) -> Result<String, String> {
    let v = value.trim();
    if v.is_empty() {
        Err("must not be empty".into())
    } else {
        Ok(v.to_owned())
    }
}

fn parse<T: std::str::FromStr>(value: &str, what: &str) -> Result<T, String> {
    value
        .trim()
        .parse()
        .map_err(|_| format!("'{value}' is not {what}"))
}

fn parse_positive<T: std::str::FromStr + PartialOrd + Default>(value: &str) -> Result<T, String> {
    let n: T = parse(value, "a whole number")?;
    if n <= T::default() {
        return Err("must be greater than zero".into());
    }
    Ok(n)
}

/// Where a value came from, for messages.
fn env_name(key: &str) -> String {
    format!("STOREKEEP_{}", key.replace('.', "_").to_ascii_uppercase())
}

fn is_secret(key: &str) -> bool {
    KEYS.iter().any(|(k, secret, _)| *k == key && *secret)
}

/// Reads a secret from the file a `*_file` key names; a trailing newline
/// (as `echo` writes) is dropped.
fn read_secret_file(path: &str) -> Result<String, String> {
    let text = std::fs::read_to_string(path.trim())
        .map_err(|e| format!("cannot read secret file '{}': {e}", path.trim()))?;
    Ok(text.trim_end_matches(['\n', '\r']).to_owned())
}

/// The result of loading: the settings if there was no problem, every
/// problem otherwise, and warnings either way.
#[derive(Debug)]
pub struct Loaded {
    pub settings: Result<Settings, Vec<String>>,
    pub warnings: Vec<String>,
}

/// Loads settings from defaults, `file` and `env` (pass `std::env::vars()`).
pub fn load(file: Option<&Path>, env: impl IntoIterator<Item = (String, String)>) -> Loaded {
    let mut settings = Settings::default();
    let mut problems = Vec::new();
    let mut warnings = Vec::new();

    if let Some(path) = file {
        match std::fs::read_to_string(path) {
            Err(e) => problems.push(format!("{}: cannot read: {e}", path.display())),
            Ok(text) => match text.parse::<toml::Table>() {
                Err(e) => problems.push(format!("{}: not valid TOML: {e}", path.display())),
                Ok(table) => {
                    let mut flat = Vec::new();
                    flatten("", &table, &mut flat);
                    for (key, value) in flat {
                        let source = format!("{}: {key}", path.display());
                        match value {
                            Ok(v) => apply(&mut settings, &key, &v, &source, &mut problems),
                            Err(m) => problems.push(format!("{source} {m}")),
                        }
                    }
                }
            },
        }
    }

    let mut env: Vec<(String, String)> = env
        .into_iter()
        .filter(|(k, _)| k.starts_with("STOREKEEP_"))
        .collect();
    env.sort();
    for (name, value) in env {
        if name == "STOREKEEP_CONFIG" || name.starts_with("STOREKEEP_TEST_") {
            continue;
        }
        let key = KEYS.iter().map(|(k, _, _)| *k).find(|k| {
            env_name(k) == name || (is_secret(k) && format!("{}_FILE", env_name(k)) == name)
        });
        match key {
            Some(k) if name.ends_with("_FILE") && env_name(k) != name => {
                apply(
                    &mut settings,
                    &format!("{k}_file"),
                    &value,
                    &name,
                    &mut problems,
                );
            }
            Some(k) => apply(&mut settings, k, &value, &name, &mut problems),
            None => warnings.push(format!("{name} is not a storekeep setting and is ignored")),
        }
    }

    match (&settings.encryption_keys, &settings.blind_index_key) {
        (Some(k), Some(i)) => {
            if let Err(m) = crate::crypto::Keyring::parse(k.expose(), i.expose()) {
                problems.push(format!("encryption: {m}"));
            }
        }
        (None, None) => {}
        _ => problems
            .push("encryption.keys and encryption.blind_index_key must be set together".into()),
    }

    Loaded {
        settings: if problems.is_empty() {
            Ok(settings)
        } else {
            Err(problems)
        },
        warnings,
    }
}

/// Sets `key` (or, for `secret_file`, the secret it points at) and records
/// a problem naming `source` if the value is refused.
fn apply(
    settings: &mut Settings,
    key: &str,
    value: &str,
    source: &str,
    problems: &mut Vec<String>,
) {
    let result = match key.strip_suffix("_file") {
        Some(base) if is_secret(base) => {
            read_secret_file(value).and_then(|secret| settings.set(base, &secret))
        }
        _ => settings.set(key, value),
    };
    if let Err(message) = result {
        // Never echo a secret's value back.
        problems.push(format!("{source} {message}"));
    }
}

/// Turns nested TOML tables into dotted keys with textual values.
fn flatten(prefix: &str, table: &toml::Table, out: &mut Vec<(String, Result<String, String>)>) {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        let value = match v {
            toml::Value::Table(t) => {
                flatten(&key, t, out);
                continue;
            }
            toml::Value::String(s) => Ok(s.clone()),
            toml::Value::Integer(i) => Ok(i.to_string()),
            toml::Value::Boolean(b) => Ok(b.to_string()),
            toml::Value::Float(f) => Ok(f.to_string()),
            _ => Err("must be a string, number or boolean".to_owned()),
        };
        out.push((key, value));
    }
}

/// Problems that only show when acting on the settings: the data folder
/// must be writable for the embedded database. Creates nothing: a folder
/// that does not exist yet is fine if the nearest existing folder above it
/// is writable (`serve` creates it).
pub fn check_environment(settings: &Settings) -> Vec<String> {
    let mut problems = Vec::new();
    if settings.database_url.is_none() || settings.database_url().expose().starts_with("sqlite:") {
        let dir = &settings.data_dir;
        let existing = dir
            .ancestors()
            .map(|d| {
                if d.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    d
                }
            })
            .find(|d| d.exists())
            .unwrap_or(Path::new("."));
        let probe = existing.join(format!(".storekeep-write-check-{}", std::process::id()));
        let writable = std::fs::write(&probe, b"ok").and_then(|()| std::fs::remove_file(&probe));
        if let Err(e) = writable {
            problems.push(format!(
                "data_dir '{}' is not a writable folder ('{}': {e})",
                dir.display(),
                existing.display()
            ));
        }
    }
    if settings.encryption_keys.is_none()
        && !settings.database_url().expose().starts_with("sqlite:")
    {
        problems.push(
            "encryption.keys and encryption.blind_index_key are required with PostgreSQL: every node must use the same keys (generate with `storekeep keys generate`)"
                .into(),
        );
    }
    if settings.platform_token.is_none() {
        problems.push(
            "platform_token is not set: the platform API and /api/health/detailed refuse every request (set STOREKEEP_PLATFORM_TOKEN or STOREKEEP_PLATFORM_TOKEN_FILE)"
                .into(),
        );
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn every_setting_is_documented_in_keys() {
        let s = Settings::default();
        let defaults = format!("{s:?}");
        // Each field of Settings is reachable through at least one key.
        for field in [
            "listen",
            "data_dir",
            "database_url",
            "database_max_connections",
            "database_acquire_timeout",
            "base_domain",
            "platform_token",
            "log_format",
            "log_level",
            "request_timeout",
            "body_limit_bytes",
            "drain",
            "grace",
            "encryption_keys",
            "blind_index_key",
            "session_ttl",
            "session_idle",
            "trusted_proxies",
            "redis_url",
        ] {
            assert!(defaults.contains(field), "{field} is not a Settings field");
        }
        for key in [
            "encryption.keys",
            "encryption.blind_index_key",
            "auth.session_ttl_hours",
            "auth.session_idle_hours",
            "http.trusted_proxies",
            "redis.url",
        ] {
            assert!(
                KEYS.iter().any(|(k, _, _)| *k == key),
                "{key} missing from KEYS"
            );
        }
    }

    #[test]
    fn every_documented_key_has_an_environment_variable_that_is_accepted() {
        for (key, _, _) in KEYS {
            let mut s = Settings::default();
            let err = s.set(key, "").err().unwrap_or_default();
            assert_ne!(
                err, "is not a known setting",
                "{key} is documented but not handled"
            );
        }
    }

    #[test]
    fn environment_overrides_the_file_and_every_problem_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("storekeep.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:9000\"\n[http]\nrequest_timeout_secs = 0\nbody_limit_bytes = 10\n",
        )
        .unwrap();
        let loaded = load(
            Some(&file),
            env(&[
                ("STOREKEEP_LISTEN", "nonsense"),
                ("STOREKEEP_HTTP_BODY_LIMIT_BYTES", "20"),
            ]),
        );
        let problems = loaded.settings.unwrap_err();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("http.request_timeout_secs must be greater than zero"));
        assert!(problems[1].contains("STOREKEEP_LISTEN 'nonsense' is not an address"));
    }

    #[test]
    fn secrets_come_from_files_and_never_print() {
        let dir = tempfile::tempdir().unwrap();
        let token = dir.path().join("token");
        std::fs::write(&token, format!("{}\n", "t".repeat(40))).unwrap();
        let loaded = load(
            None,
            env(&[("STOREKEEP_PLATFORM_TOKEN_FILE", token.to_str().unwrap())]),
        );
        let settings = loaded.settings.unwrap();
        assert_eq!(
            settings.platform_token.as_ref().unwrap().expose(),
            "t".repeat(40)
        );
        assert!(!format!("{settings:?}").contains("tttt"));
    }

    #[test]
    fn unknown_variables_are_warned_about_not_fatal() {
        let loaded = load(None, env(&[("STOREKEEP_LISTN", "x")]));
        assert!(loaded.settings.is_ok());
        assert_eq!(loaded.warnings.len(), 1);
    }
}

#[cfg(test)]
mod doc_tests {
    use super::*;

    /// docs/configuration.md and .env.example name every setting.
    #[test]
    fn every_key_is_documented() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
        let docs = std::fs::read_to_string(format!("{root}/docs/configuration.md")).unwrap();
        let example = std::fs::read_to_string(format!("{root}/.env.example")).unwrap();
        for (key, _, _) in KEYS {
            let env = env_name(key);
            assert!(
                docs.contains(&format!("`{key}`")),
                "{key} missing from docs/configuration.md"
            );
            assert!(
                docs.contains(&env),
                "{env} missing from docs/configuration.md"
            );
            assert!(example.contains(&env), "{env} missing from .env.example");
        }
    }
}
