//! TLS to PostgreSQL and Redis, as a managed database and cache demand it
//! (RDS's `rds.force_ssl`, ElastiCache's transit encryption): servers of
//! the test's own that refuse plain connections, with certificates from a
//! test CA. `storekeep` connects with the certificate verified when asked
//! (`sslmode=verify-full` and `sslrootcert=` in `database.url`;
//! `rediss://` with `redis.ca_file`), refuses a server whose certificate
//! it cannot trust, and its backups (`pg_dump`) take the same options.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use sqlx::Connection;
use sqlx::postgres::PgConnection;
use storekeep_test_support::{PgServer, TestDb, on_postgres, storekeep_command, tool_available};

use crate::BIN;
use crate::crash_support::{Api, call, cli, expect, serve, shop_with_owner};
use crate::email_support::test_ca;

fn check_config(db: &TestDb, env: &[(&str, &str)]) -> (Output, String) {
    let mut cmd = storekeep_command(BIN, db);
    cmd.arg("check-config");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    (out, text)
}

#[tokio::test]
async fn postgres_forcing_tls_is_reached_verified_and_an_untrusted_one_is_refused() {
    // It brings its own server, so once per suite run: in the PostgreSQL pass.
    if !on_postgres() {
        eprintln!("skipping: runs when the suite runs on PostgreSQL");
        return;
    }
    let Some(bin) = PgServer::tools() else {
        return;
    };
    let certs = tempfile::tempdir().unwrap();
    let (ca, leaf, key) = test_ca(certs.path());
    let pg = PgServer::start_tls(&bin, &leaf, &key).unwrap_or_else(|e| panic!("{e:#}"));
    let base = pg.url();
    let with = |query: &str| TestDb::at(format!("{base}?{query}"));
    let verified = format!("sslmode=verify-full&sslrootcert={}", ca.display());

    // Without TLS the server refuses the connection, and says why.
    let (out, text) = check_config(&with("sslmode=disable"), &[]);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("no encryption"), "{text}");

    // A server whose certificate another CA signed is refused by storekeep.
    let others = tempfile::tempdir().unwrap();
    let (other_ca, _, _) = test_ca(others.path());
    let (out, text) = check_config(
        &with(&format!(
            "sslmode=verify-full&sslrootcert={}",
            other_ca.display()
        )),
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("problem: database:") && text.contains("certificate"),
        "{text}"
    );

    // Verified: migrate, a shop, a server taking an order.
    let db = with(&verified);
    let (out, text) = check_config(&db, &[]);
    assert!(out.status.success(), "{text}");
    cli(&db, &["migrate"]);
    shop_with_owner(&db);
    let (server, _) = serve(&db);
    let mut api = Api::new(&server);
    api.log_in().await;
    an_order(&api).await;

    // Every connection of the server's pool is encrypted.
    let mut admin = PgConnection::connect(&format!("{base}?{verified}"))
        .await
        .expect("connecting over TLS");
    let (encrypted, plain, version): (i64, i64, Option<String>) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE s.ssl), count(*) FILTER (WHERE NOT s.ssl), \
                max(s.version) \
         FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) \
         WHERE a.backend_type = 'client backend' AND a.pid <> pg_backend_pid()",
    )
    .fetch_one(&mut admin)
    .await
    .unwrap();
    assert!(encrypted >= 1, "the server holds encrypted connections");
    assert_eq!(plain, 0, "no connection is in plain text");
    let version = version.unwrap_or_default();
    assert!(
        version == "TLSv1.3" || version == "TLSv1.2",
        "negotiated {version}"
    );
    server.sigterm();
    server.wait(Duration::from_secs(30));

    // A backup (pg_dump, given the URL's TLS options) holds the order.
    let dumped = cli(&db, &["backup", "create", "--json"]);
    let manifest: Value = serde_json::from_slice(&dumped.stdout).unwrap();
    assert_eq!(manifest["database"], "postgres", "{manifest}");
    assert_eq!(manifest["tables"]["orders"], 1, "{manifest}");
    cli(&db, &["backup", "verify", "latest"]);

    // `sslmode=require` (what a managed database's URL carries when its CA
    // bundle is not at hand): encrypted, the certificate not checked.
    let (out, text) = check_config(&with("sslmode=require"), &[]);
    assert!(out.status.success(), "{text}");
}

/// Shop settings, a product and a guest's order of it; the order's id.
async fn an_order(api: &Api) -> String {
    expect(
        api.admin(Method::PATCH, "/api/v1/admin/settings")
            .json(&json!({"settings": {
                "currency": "USD",
                "shipping_methods": [{"code": "standard", "name": "Standard", "price": 500}]
            }})),
        200,
        "settings",
    )
    .await;
    let product = expect(
        api.admin(Method::POST, "/api/v1/admin/products")
            .json(&json!({"product": {
                "title": "Lamp", "status": "active",
                "variants": [{"sku": "LAMP", "inventory": 5,
                              "price": {"amount": 1200, "currency": "USD"}}]
            }})),
        201,
        "creating a product",
    )
    .await;
    let variant = &product["product"]["variants"][0]["id"];
    let cart = expect(
        api.shop(Method::POST, "/api/v1/store/carts")
            .json(&json!({"items": [{"variant_id": variant, "quantity": 1}]})),
        201,
        "a cart",
    )
    .await;
    let cart = &cart["cart"];
    let (status, body) = call(
        api.shop(
            Method::POST,
            &format!(
                "/api/v1/store/carts/{}/checkout",
                cart["id"].as_str().unwrap()
            ),
        )
        .header("x-cart-token", cart["token"].as_str().unwrap())
        .header("idempotency-key", "tls-order-1")
        .json(&json!({
            "email": "guest@example.com",
            "shipping_address": {"name": "Ada Lovelace", "line1": "1 Analytical Way",
                "city": "San Francisco", "region": "CA", "postal_code": "94105",
                "country": "US"},
            "shipping_method": "standard",
            "payment_provider": "manual"
        })),
    )
    .await
    .expect("the server answers");
    assert_eq!(status, 201, "{body}");
    body["order"]["id"].as_str().unwrap().to_owned()
}

/// A Redis of the test's own that speaks only TLS (`--port 0`), with
/// `cert`/`key`; killed when dropped.
struct TlsRedis {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl TlsRedis {
    fn start(ca: &Path, cert: &Path, key: &Path) -> Option<Self> {
        if !(tool_available("redis-server") && tool_available("redis-cli")) {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("redis-server")
            .args(["--port", "0", "--tls-port", &port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", ""])
            .arg("--tls-cert-file")
            .arg(cert)
            .arg("--tls-key-file")
            .arg(key)
            .arg("--tls-ca-cert-file")
            .arg(ca)
            .args(["--tls-auth-clients", "no"])
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting redis-server");
        let redis = Self {
            child,
            port,
            _dir: dir,
        };
        let started = Instant::now();
        while redis.cli(ca, &["PING"]).trim() != "PONG" {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "redis-server did not answer over TLS"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(redis)
    }

    fn url(&self) -> String {
        format!("rediss://127.0.0.1:{}", self.port)
    }

    /// `redis-cli` over TLS, trusting `ca`: its stdout.
    fn cli(&self, ca: &Path, args: &[&str]) -> String {
        let out = Command::new("redis-cli")
            .args(["--tls", "-h", "127.0.0.1", "-p", &self.port.to_string()])
            .arg("--cacert")
            .arg(ca)
            .args(args)
            .output()
            .expect("running redis-cli");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for TlsRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn redis_over_tls_is_trusted_through_its_ca_file_and_refused_without_it() {
    // Redis does not depend on the database: once per suite run.
    if on_postgres() {
        eprintln!("skipping: runs when the suite runs on SQLite");
        return;
    }
    let certs = tempfile::tempdir().unwrap();
    let (ca, leaf, key) = test_ca(certs.path());
    let Some(redis) = TlsRedis::start(&ca, &leaf, &key) else {
        return;
    };
    let db = TestDb::new().await;
    let url = redis.url();
    let ca_file: PathBuf = ca.clone();
    let ca_text = ca_file.to_str().unwrap();

    // The system's roots do not hold the test CA: check-config says so.
    let (out, text) = check_config(&db, &[("STOREKEEP_REDIS_URL", &url)]);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("problem: redis:") && text.contains("certificate"),
        "{text}"
    );
    // A CA file for a plain redis:// URL, and one that is not PEM.
    let (out, text) = check_config(
        &db,
        &[
            ("STOREKEEP_REDIS_URL", "redis://127.0.0.1:6379"),
            ("STOREKEEP_REDIS_CA_FILE", ca_text),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("redis.ca_file is trusted for a TLS connection to Redis"),
        "{text}"
    );
    let not_pem = certs.path().join("ca.key");
    let (out, text) = check_config(
        &db,
        &[
            ("STOREKEEP_REDIS_URL", &url),
            ("STOREKEEP_REDIS_CA_FILE", not_pem.to_str().unwrap()),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("holds no PEM certificate"), "{text}");

    // With the CA file: check-config passes, and a server keeps its rate
    // limits and the catalog's cache generation in that Redis.
    let env = [
        ("STOREKEEP_REDIS_URL", url.as_str()),
        ("STOREKEEP_REDIS_CA_FILE", ca_text),
    ];
    let (out, text) = check_config(&db, &env);
    assert!(out.status.success(), "{text}");
    cli(&db, &["migrate"]);
    shop_with_owner(&db);
    let mut cmd = storekeep_command(BIN, &db);
    cmd.arg("serve").env("STOREKEEP_SHUTDOWN_DRAIN_SECS", "0");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let server = storekeep_test_support::ServerProcess::start(cmd);
    let mut api = Api::new(&server);
    api.log_in().await;
    an_order(&api).await;
    let ready: Value = reqwest::get(server.url("/api/health/ready"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["redis"]["ok"], true, "{ready}");
    let keys = redis.cli(&ca, &["--scan", "--pattern", "storekeep:*"]);
    assert!(
        keys.contains("storekeep:rl:"),
        "rate limits in Redis: {keys}"
    );
    assert!(
        keys.contains("storekeep:catalog-gen:"),
        "the catalog's generation in Redis: {keys}"
    );
}
