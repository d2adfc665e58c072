//! Every setting's key, whether it is a secret, and what it means.

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
        "database.statement_timeout_ms",
        false,
        "PostgreSQL statement_timeout of the server's connections, 0 for the server's own; migrations run without it [60000]",
    ),
    (
        "database.direct_url",
        true,
        "postgres://… of PostgreSQL itself when database.url goes through a pooler (PgBouncer), for migrations, backups and their lock [database.url]",
    ),
    (
        "database.replica_url",
        true,
        "postgres://… of a streaming replica for catalog and console list reads (PostgreSQL only); the primary serves when it is down or lags [unset]",
    ),
    (
        "database.replica_max_lag_ms",
        false,
        "reads leave the replica when it lags more than this; a session that wrote reads from the primary this long [2000]",
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
        "log.queue_lines",
        false,
        "log lines waiting for stdout before new ones are dropped and counted [16384]",
    ),
    (
        "otel.endpoint",
        false,
        "OpenTelemetry collector's OTLP/HTTP base URL, e.g. http://127.0.0.1:4318; spans go to ENDPOINT/v1/traces [unset: tracing off]",
    ),
    (
        "otel.service_name",
        false,
        "the service.name resource attribute of exported spans [storekeep]",
    ),
    (
        "otel.sample_ratio",
        false,
        "share of new traces kept, 0 to 1; a caller's sampled traceparent is always followed [1.0]",
    ),
    (
        "otel.headers",
        true,
        "extra headers sent to the collector, name=value,… (e.g. authorization=Bearer TOKEN) [unset]",
    ),
    (
        "otel.queue_spans",
        false,
        "finished spans waiting for export before new ones are dropped and counted [4096]",
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
        "web.secure_cookies",
        false,
        "storefront cookies are Secure and `__Host-`-prefixed; false only for plain-HTTP development in a browser that does not treat *.localhost as secure (Safari) [true]",
    ),
    (
        "http.trusted_proxies",
        false,
        "comma-separated IPs or CIDRs whose X-Forwarded-For and X-Forwarded-Proto are believed [none]",
    ),
    (
        "redis.url",
        true,
        "redis://HOST:PORT (rediss:// for TLS, verified), for rate limits and cache invalidation shared by every node [unset: in memory, per node]",
    ),
    (
        "redis.ca_file",
        false,
        "a PEM file of the CA certificates trusted for a rediss:// Redis, instead of the system's roots (a private CA) [unset: the system's roots]",
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
        "web.public_url_scheme",
        false,
        "scheme of the storefront's absolute URLs (canonical links, sitemap, JSON-LD): http or https [http]",
    ),
    (
        "web.public_port",
        false,
        "port of the storefront's absolute URLs [unset: the scheme's own; the listen port for a localhost host]",
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
    (
        "backup.dir",
        false,
        "folder backups are written to and read from; refused inside DATA_DIR/media or holding it [DATA_DIR/backups]",
    ),
    (
        "backup.recipients",
        false,
        "age X25519 recipients (age1…, comma-separated) every backup is encrypted to [unset: a generated identity in DATA_DIR/secrets/backup-identity]",
    ),
    (
        "backup.identity_file",
        false,
        "age identity file that decrypts backups for verify and restore [unset: DATA_DIR/secrets/backup-identity]",
    ),
    (
        "backup.pg_bin_dir",
        false,
        "folder holding pg_dump and pg_restore [unset: PATH, then the newest /usr/lib/postgresql/*/bin]",
    ),
    (
        "backup.keep",
        false,
        "retention policy of backup prune and of scheduled backups: EVERY:FOR pairs, one backup per EVERY for FOR [15m:1d,1h:7d,1d:30d]",
    ),
    (
        "backup.schedule",
        false,
        "how often the job runner takes a backup, then prunes by backup.keep: a period such as 15m (at least 1m), off, or auto (15m on an SQLite database, off on PostgreSQL) [auto]",
    ),
    (
        "backup.timeout",
        false,
        "the longest a scheduled backup run (create, then prune) may take before it is stopped, its temporary files removed and the run counted as failed [unset: twice backup.schedule, at least 1h]",
    ),
    (
        "backup.s3_bucket",
        false,
        "keep backups in this S3-compatible bucket instead of backup.dir; refused if it is media.s3_bucket (on the same endpoint) [unset: backup.dir]",
    ),
    (
        "backup.s3_prefix",
        false,
        "folder in the bucket backups go to, such as storekeep/prod [unset: the bucket's top]",
    ),
    (
        "backup.s3_endpoint",
        false,
        "S3 endpoint URL of the backup bucket, for S3-compatible servers (MinIO, Ceph, ...) [unset: AWS]",
    ),
    (
        "backup.s3_region",
        false,
        "S3 region of the backup bucket [us-east-1]",
    ),
    (
        "backup.s3_access_key_id",
        false,
        "S3 access key id for the backup bucket [unset: from the environment, e.g. AWS_ACCESS_KEY_ID or an instance role]",
    ),
    (
        "backup.s3_secret_access_key",
        true,
        "S3 secret access key for the backup bucket [unset: from the environment]",
    ),
    (
        "jobs.enabled",
        false,
        "run the background job runner on this node under `serve` [true]",
    ),
    (
        "jobs.queues",
        false,
        "the queues this node works and how many of each run at once, name=N,… [default=4,email=4,webhooks=16,maintenance=1]",
    ),
    (
        "jobs.lease_secs",
        false,
        "how long a claimed job is leased before another worker may take it over; a heartbeat extends it while it runs [60]",
    ),
    (
        "jobs.poll_interval_ms",
        false,
        "how often an idle queue looks for due jobs, in milliseconds [1000]",
    ),
    (
        "jobs.max_attempts",
        false,
        "attempts before a failing job is dead-lettered [20]",
    ),
    (
        "jobs.backoff_base_secs",
        false,
        "ceiling of the first retry's delay, doubled at each retry [30]",
    ),
    (
        "jobs.backoff_max_secs",
        false,
        "largest ceiling of a retry's delay [28800]",
    ),
    (
        "jobs.retain_completed_days",
        false,
        "completed jobs are deleted after this many days [7]",
    ),
    (
        "jobs.give_way_at",
        false,
        "while this node serves this many requests at once, each queue starts jobs on a quarter of its workers (at least one); 0: never [16 on PostgreSQL, 0 on SQLite]",
    ),
    (
        "webhooks.allow_networks",
        false,
        "comma-separated CIDRs outbound webhooks may reach although private, loopback or link-local [none]",
    ),
    (
        "webhooks.timeout_secs",
        false,
        "longest an outbound webhook delivery may take, connection included [15]",
    ),
    (
        "webhooks.disable_after_hours",
        false,
        "an endpoint whose deliveries have all failed for this long is disabled [120]",
    ),
    (
        "webhooks.rotation_overlap_hours",
        false,
        "how long a rotated webhook secret keeps signing beside the new one [24]",
    ),
    (
        "mail.transport",
        false,
        "folder (write .eml files to DATA_DIR/mail/) or smtp [folder]",
    ),
    (
        "mail.smtp_url",
        true,
        "smtp://USER:PASS@HOST:PORT, or smtps:// for implicit TLS; percent-encode reserved characters [unset]",
    ),
    (
        "mail.smtp_tls",
        false,
        "starttls (required), tls (implicit) or none (loopback hosts only) [starttls for smtp://, tls for smtps://]",
    ),
    (
        "mail.smtp_ca_file",
        false,
        "PEM certificate trusted for the SMTP server besides the system's roots [unset]",
    ),
    (
        "mail.smtp_pool_size",
        false,
        "SMTP connections open at most, each reused, closed after 60 s unused [4]",
    ),
    (
        "mail.smtp_timeout_secs",
        false,
        "longest one step of an SMTP conversation may take (connect, greeting, STARTTLS, AUTH, one message) [10]",
    ),
    (
        "mail.from",
        false,
        "sender address of emails from shops without their own email_sender [no-reply@storekeep.invalid]",
    ),
];

/// Where a value came from, for messages.
pub(super) fn env_name(key: &str) -> String {
    format!("STOREKEEP_{}", key.replace('.', "_").to_ascii_uppercase())
}

pub(super) fn is_secret(key: &str) -> bool {
    KEYS.iter().any(|(k, secret, _)| *k == key && *secret)
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
