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

mod backup;
mod jobs;
mod keys;
pub mod load;

pub use backup::{AUTO_PERIOD, BackupSettings, DEFAULT_KEEP, Schedule};
pub use jobs::{DEFAULT_QUEUES, JobSettings};

pub use keys::KEYS;
pub use load::{Loaded, load};

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
    /// PostgreSQL itself when `database.url` goes through a connection
    /// pooler (PgBouncer): migrations, `pg_dump`/`pg_restore` and the
    /// backup lock use it. Unset: `database.url`.
    pub database_direct_url: Option<Secret>,
    /// `statement_timeout` of the server's connections (PostgreSQL), `None`
    /// for the server's own. Migrations run without it.
    pub database_statement_timeout: Option<Duration>,
    /// A streaming replica of PostgreSQL for catalog and console reads
    /// that tolerate staleness (see docs/operations.md, "Read replica").
    pub database_replica_url: Option<Secret>,
    /// Reads leave the replica when it lags more than this, and a session
    /// that wrote reads from the primary for this long.
    pub database_replica_max_lag: Duration,
    pub base_domain: Option<DomainName>,
    pub platform_token: Option<Secret>,
    pub log_format: LogFormat,
    pub log_level: String,
    /// Log lines that may wait for stdout; past it lines are dropped (and
    /// counted) rather than requests made to wait.
    pub log_queue_lines: usize,
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
    /// Storefront cookies are `Secure` and `__Host-`-prefixed
    /// (`web.secure_cookies`); off only for plain-HTTP development.
    pub secure_cookies: bool,
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub redis_url: Option<Secret>,
    /// A PEM file trusted for a `rediss://` Redis instead of the system's
    /// roots (`redis.ca_file`; a private CA).
    pub redis_ca_file: Option<PathBuf>,
    pub cache_max_bytes: u64,
    pub cache_ttl: Duration,
    /// The scheme of the storefront's absolute URLs (canonical links,
    /// sitemap, JSON-LD): `http` or `https`.
    pub web_public_scheme: String,
    /// The port of those URLs; `None`: the scheme's own, except the listen
    /// port for a `localhost` host (development).
    pub web_public_port: Option<u16>,
    pub media: MediaSettings,
    pub order_expiry_interval: Duration,
    pub payments: PaymentSettings,
    pub jobs: JobSettings,
    pub backup: BackupSettings,
    pub webhooks: WebhookSettings,
    pub mail: MailSettings,
    pub otel: OtelSettings,
}

/// OpenTelemetry traces over OTLP/HTTP (`otel.*`); off unless
/// `otel.endpoint` is set (see `crate::traces`).
#[derive(Debug, Clone)]
pub struct OtelSettings {
    /// The collector's OTLP/HTTP base URL (`http://collector:4318`); spans
    /// go to `ENDPOINT/v1/traces`. `None`: tracing is off.
    pub endpoint: Option<String>,
    pub service_name: String,
    /// Parent-based: a sampled caller's trace is always kept, a root trace
    /// with this probability.
    pub sample_ratio: f64,
    /// Extra request headers for the collector (`name=value,…`), secret.
    pub headers: Option<Secret>,
    /// Finished spans waiting for export; past it spans are dropped and
    /// counted.
    pub queue_spans: usize,
}

impl Default for OtelSettings {
    fn default() -> Self {
        Self {
            endpoint: None,
            service_name: "storekeep".into(),
            sample_ratio: 1.0,
            headers: None,
            queue_spans: 4096,
        }
    }
}

impl OtelSettings {
    /// `otel.headers` as (name, value) pairs; each pair was checked when set.
    pub fn header_pairs(&self) -> Vec<(String, String)> {
        self.headers
            .as_ref()
            .map(|h| parse_otel_headers(h.expose()).unwrap_or_default())
            .unwrap_or_default()
    }
}

/// `name=value,name=value` (values may be percent-free text without commas).
fn parse_otel_headers(value: &str) -> Result<Vec<(String, String)>, String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (name, v) = pair
                .split_once('=')
                .ok_or_else(|| "must be name=value pairs separated by commas".to_owned())?;
            let (name, v) = (name.trim(), v.trim());
            if axum::http::HeaderName::from_bytes(name.as_bytes()).is_err()
                || axum::http::HeaderValue::from_str(v).is_err()
            {
                return Err(
                    "must be name=value pairs of valid HTTP header names and values".into(),
                );
            }
            Ok((name.to_owned(), v.to_owned()))
        })
        .collect()
}

/// Outbound webhook delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSettings {
    /// Networks reachable although private, loopback or link-local.
    pub allow_networks: Vec<ipnet::IpNet>,
    pub timeout: Duration,
    pub disable_after: Duration,
    pub rotation_overlap: Duration,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            allow_networks: Vec::new(),
            timeout: Duration::from_secs(15),
            disable_after: Duration::from_secs(120 * 3600),
            rotation_overlap: Duration::from_secs(24 * 3600),
        }
    }
}

/// How outgoing email leaves the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailTransport {
    /// `.eml` files in `DATA_DIR/mail/` (development).
    Folder,
    /// An SMTP server (`mail.smtp_url`).
    Smtp,
}

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// STARTTLS, required: a server that does not offer it gets no mail.
    Starttls,
    /// Implicit TLS from the first byte (`smtps://`, port 465).
    Tls,
    /// No TLS; only towards a loopback host.
    None,
}

/// The `mail.*` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailSettings {
    pub transport: MailTransport,
    pub smtp_url: Option<Secret>,
    /// `None`: by the URL's scheme (STARTTLS for `smtp://`, TLS for `smtps://`).
    pub smtp_tls: Option<SmtpTls>,
    /// A PEM certificate trusted besides the system's roots.
    pub smtp_ca_file: Option<PathBuf>,
    pub smtp_pool_size: u32,
    pub smtp_timeout: Duration,
    /// The platform's sender address, for shops without their own.
    pub from: String,
}

impl Default for MailSettings {
    fn default() -> Self {
        Self {
            transport: MailTransport::Folder,
            smtp_url: None,
            smtp_tls: None,
            smtp_ca_file: None,
            smtp_pool_size: 4,
            smtp_timeout: Duration::from_secs(10),
            from: "no-reply@storekeep.invalid".into(),
        }
    }
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
            database_direct_url: None,
            database_statement_timeout: Some(Duration::from_secs(60)),
            database_replica_url: None,
            database_replica_max_lag: Duration::from_millis(2000),
            base_domain: None,
            platform_token: None,
            log_format: LogFormat::Json,
            log_level: "info".into(),
            log_queue_lines: 16_384,
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
            secure_cookies: true,
            trusted_proxies: Vec::new(),
            redis_url: None,
            redis_ca_file: None,
            cache_max_bytes: 64 * 1024 * 1024,
            cache_ttl: Duration::from_secs(60),
            web_public_scheme: "http".into(),
            web_public_port: None,
            media: MediaSettings::default(),
            order_expiry_interval: Duration::from_secs(10),
            payments: PaymentSettings::default(),
            jobs: JobSettings::default(),
            backup: BackupSettings::default(),
            webhooks: WebhookSettings::default(),
            mail: MailSettings::default(),
            otel: OtelSettings::default(),
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

    /// The database for what needs a session of its own (migrations,
    /// backups, their lock): `database.direct_url`, else the database URL
    /// in force.
    pub fn database_session_url(&self) -> Secret {
        self.database_direct_url
            .clone()
            .unwrap_or_else(|| self.database_url())
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
            "database.direct_url" => {
                let url = non_empty(value)?;
                if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                    return Err("must start with postgres:// or postgresql://".into());
                }
                self.database_direct_url = Some(Secret::new(url));
            }
            "database.replica_url" => {
                let url = non_empty(value)?;
                if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                    return Err("must start with postgres:// or postgresql://".into());
                }
                self.database_replica_url = Some(Secret::new(url));
            }
            "database.replica_max_lag_ms" => {
                self.database_replica_max_lag = Duration::from_millis(parse_positive(value)?);
            }
            "database.statement_timeout_ms" => {
                let ms: u64 = parse(value, "a number of milliseconds (0: the server's own)")?;
                self.database_statement_timeout = (ms > 0).then(|| Duration::from_millis(ms));
            }
            "base_domain" => {
                self.base_domain = if value.trim().is_empty() {
                    None
                } else if value.trim().eq_ignore_ascii_case("localhost") {
                    Some(DomainName::localhost())
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
            "log.queue_lines" => self.log_queue_lines = parse_positive(value)?,
            "otel.endpoint" => {
                let v = value.trim();
                self.otel.endpoint = if v.is_empty() {
                    None
                } else {
                    let url = url::Url::parse(v).map_err(|e| format!("'{v}' is not a URL: {e}"))?;
                    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
                        return Err(format!(
                            "'{v}' must be an http:// or https:// URL such as http://127.0.0.1:4318"
                        ));
                    }
                    Some(v.trim_end_matches('/').to_owned())
                };
            }
            "otel.service_name" => self.otel.service_name = non_empty(value)?,
            "otel.sample_ratio" => {
                let ratio: f64 = value
                    .trim()
                    .parse()
                    .map_err(|_| format!("'{value}' is not a number from 0 to 1"))?;
                if !(0.0..=1.0).contains(&ratio) {
                    return Err(format!("'{value}' is not a number from 0 to 1"));
                }
                self.otel.sample_ratio = ratio;
            }
            "otel.headers" => {
                parse_otel_headers(value)?;
                self.otel.headers = Some(Secret::new(value.trim()));
            }
            "otel.queue_spans" => self.otel.queue_spans = parse_positive(value)?,
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
            "auth.session_ttl_hours" => self.session_ttl = parse_session_hours(value)?,
            "auth.session_idle_hours" => self.session_idle = parse_session_hours(value)?,
            "web.secure_cookies" => {
                self.secure_cookies = match value.trim() {
                    "true" => true,
                    "false" => false,
                    _ => return Err(format!("'{value}' is not true or false")),
                }
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
            "redis.ca_file" => self.redis_ca_file = Some(PathBuf::from(non_empty(value)?)),
            "cache.max_bytes" => self.cache_max_bytes = parse(value, "a whole number of bytes")?,
            "cache.ttl_secs" => self.cache_ttl = Duration::from_secs(parse_positive(value)?),
            "web.public_url_scheme" => {
                let v = value.trim().to_ascii_lowercase();
                if v != "http" && v != "https" {
                    return Err("must be http or https".into());
                }
                self.web_public_scheme = v;
            }
            "web.public_port" => {
                self.web_public_port = if value.trim().is_empty() {
                    None
                } else {
                    Some(parse_positive(value)?)
                };
            }
            "orders.expiry_interval_secs" => {
                self.order_expiry_interval = Duration::from_secs(parse_positive(value)?);
            }
            _ if key.starts_with("media.") => self.set_media(key, value)?,
            _ if key.starts_with("payments.") => self.set_payments(key, value)?,
            _ if key.starts_with("jobs.") => self.jobs.set(key, value)?,
            _ if key.starts_with("backup.") => self.backup.set(key, value)?,
            _ if key.starts_with("webhooks.") => self.set_webhooks(key, value)?,
            _ if key.starts_with("mail.") => self.set_mail(key, value)?,
            _ => return Err("is not a known setting".into()),
        }
        Ok(())
    }

    /// The `media.*` settings.
    fn set_webhooks(&mut self, key: &str, value: &str) -> Result<(), String> {
        match key {
            "webhooks.allow_networks" => {
                self.webhooks.allow_networks = parse_networks(value)?;
            }
            "webhooks.timeout_secs" => {
                self.webhooks.timeout = Duration::from_secs(parse_positive(value)?);
            }
            "webhooks.disable_after_hours" => self.webhooks.disable_after = parse_hours(value)?,
            "webhooks.rotation_overlap_hours" => {
                self.webhooks.rotation_overlap = parse_hours(value)?;
            }
            _ => return Err("is not a known setting".into()),
        }
        Ok(())
    }

    fn set_media(&mut self, key: &str, value: &str) -> Result<(), String> {
        match key {
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
            "media.s3_access_key_id" => self.media.s3_access_key_id = Some(non_empty(value)?),
            "media.s3_secret_access_key" => {
                self.media.s3_secret_access_key = Some(Secret::new(non_empty(value)?));
            }

            _ => return Err("is not a known setting".into()),
        }
        Ok(())
    }

    /// The `payments.*` settings.
    fn set_payments(&mut self, key: &str, value: &str) -> Result<(), String> {
        match key {
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
            _ => return Err("is not a known setting".into()),
        }
        Ok(())
    }
}

impl Settings {
    /// The `mail.*` settings.
    fn set_mail(&mut self, key: &str, value: &str) -> Result<(), String> {
        let mail = &mut self.mail;
        match key {
            "mail.transport" => {
                mail.transport = match value.trim() {
                    "folder" => MailTransport::Folder,
                    "smtp" => MailTransport::Smtp,
                    _ => return Err(format!("'{value}' is not folder or smtp")),
                }
            }
            "mail.smtp_url" => {
                let url = non_empty(value)?;
                if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
                    return Err("must start with smtp:// or smtps://".into());
                }
                mail.smtp_url = Some(Secret::new(url));
            }
            "mail.smtp_tls" => {
                mail.smtp_tls = Some(match value.trim() {
                    "starttls" => SmtpTls::Starttls,
                    "tls" => SmtpTls::Tls,
                    "none" => SmtpTls::None,
                    _ => return Err(format!("'{value}' is not starttls, tls or none")),
                });
            }
            "mail.smtp_ca_file" => mail.smtp_ca_file = Some(PathBuf::from(non_empty(value)?)),
            "mail.smtp_pool_size" => mail.smtp_pool_size = parse_positive(value)?,
            "mail.smtp_timeout_secs" => {
                mail.smtp_timeout = Duration::from_secs(parse_positive(value)?);
            }
            "mail.from" => {
                let from = non_empty(value)?;
                if !from.contains('@')
                    || from.contains(|c: char| c.is_whitespace() || "<>,;\"".contains(c))
                {
                    return Err("must be an email address such as no-reply@example.com".into());
                }
                mail.from = from;
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

/// Comma-separated IP addresses or CIDRs.
fn parse_networks(value: &str) -> Result<Vec<ipnet::IpNet>, String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|v| {
            v.parse::<ipnet::IpNet>()
                .or_else(|_| v.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| format!("'{v}' is not an IP address or CIDR"))
        })
        .collect()
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

/// A positive whole number of hours; one too large to count in seconds is
/// refused rather than wrapped.
fn parse_hours(value: &str) -> Result<Duration, String> {
    parse_positive::<u64>(value)?
        .checked_mul(3600)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("'{}' hours is too long", value.trim()))
}

/// The longest session the server issues: a year. A longer setting is
/// refused rather than quietly replaced by something else.
const MAX_SESSION_HOURS: u64 = 8_760;

fn parse_session_hours(value: &str) -> Result<Duration, String> {
    let hours = parse_positive::<u64>(value)?;
    if hours > MAX_SESSION_HOURS {
        return Err(format!(
            "'{}' hours is too long (at most {MAX_SESSION_HOURS}, one year)",
            value.trim()
        ));
    }
    Ok(Duration::from_secs(hours * 3600))
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
