//! The scaled-out topology on loopback, as an operator runs it (issue 19):
//! two storekeep nodes — processes of the real binary — behind nginx, on a
//! PostgreSQL of the test's own reached through PgBouncer (session pooling;
//! migrations and backups go to PostgreSQL itself, `database.direct_url`),
//! sharing Redis and an S3-compatible server (moto). Under steady mixed load through nginx (shoppers browsing and
//! checking out), each node is restarted in turn as a deploy does
//! (SIGTERM, wait for it to exit, start it again): no request fails. The
//! nodes read the catalog from a streaming replica of PostgreSQL
//! (`database.replica_url`); the replica is stopped under the same load
//! and started again: no request fails. Then PostgreSQL stops for 10 s: readiness says so within 2 s, requests get
//! 503 problems (no hang past the request timeout), readiness comes back
//! within 5 s of its return, and no acknowledged order is lost.
//!
//! Timings are asserted with slack for a busy machine (a hang or a much
//! later answer is the point); the measured figures are printed.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use reqwest::Method;
use storekeep_test_support::{
    PgServer, ServerProcess, TestDb, on_postgres, spawn_app_on, storekeep_command,
};

use crate::commerce_support::checkout_body;
use crate::outage::{Answer, orders, send};
use crate::outage_support::{
    MOTO_BUCKET, MotoServer, PgBouncer, REQUEST_TIMEOUT, RedisServer, free_port, on_path, selling,
    skip, wait_for,
};

/// `shutdown.drain_secs` of the nodes: readiness is 503 this long before
/// a node stops accepting.
const DRAIN: Duration = Duration::from_secs(2);
/// `database.acquire_timeout_ms` of the nodes.
const ACQUIRE: Duration = Duration::from_millis(1000);
/// Slack on every timing asserted: the machine is shared.
const SLACK: Duration = Duration::from_secs(3);

/// nginx in front of the nodes with the shipped proxy settings
/// (`deploy/nginx/snippets/storekeep-http.conf` and `storekeep-proxy.conf`:
/// round robin over kept-alive upstream connections, a request that could
/// not reach a node tried on the other), without the TLS server and the
/// per-address rate limits of the site file (the load comes from one
/// address).
struct Nginx {
    dir: tempfile::TempDir,
    child: Option<Child>,
    port: u16,
}

impl Nginx {
    fn start(upstreams: &[u16]) -> Option<Self> {
        let nginx = ["nginx", "/usr/sbin/nginx"]
            .into_iter()
            .find(|p| on_path(p) || std::path::Path::new(p).is_file());
        let Some(nginx) = nginx else {
            skip("nginx");
            return None;
        };
        let dir = tempfile::Builder::new()
            .prefix("storekeep-nginx-")
            .tempdir()
            .expect("a folder for nginx");
        // nginx's workers run as an unprivileged user when started as root.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        }
        let port = free_port();
        let d = dir.path().display();
        let servers: String = upstreams
            .iter()
            .map(|p| format!("    server 127.0.0.1:{p} max_fails=1 fail_timeout=2s;\n"))
            .collect();
        // The shipped proxy settings (retries, timeouts, forwarded
        // headers, kept-alive upstream connections): deploy/nginx/snippets.
        let snippets = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../deploy/nginx/snippets")
            .canonicalize()
            .expect("deploy/nginx/snippets");
        let snippets = snippets.display();
        let conf = format!(
            "daemon off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
             events {{ worker_connections 1024; }}\n\
             http {{\n  access_log off;\n\
               client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n\
               fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
               include {snippets}/storekeep-http.conf;\n\
               upstream storekeep {{\n{servers}    keepalive 32;\n  }}\n\
               server {{\n    listen 127.0.0.1:{port};\n\
                 include {snippets}/storekeep-proxy.conf;\n\
                 location / {{\n      proxy_pass http://storekeep;\n    }}\n  }}\n}}\n"
        );
        std::fs::write(dir.path().join("nginx.conf"), conf).unwrap();
        let child = Command::new(nginx)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(dir.path().join("nginx.conf"))
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting nginx");
        wait_for("nginx", Duration::from_secs(10), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        Some(Self {
            dir,
            child: Some(child),
            port,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn errors(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-QUIT", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline && matches!(child.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// How a node is started, again and again on the same port.
struct NodeSpec {
    db: TestDb,
    port: u16,
    redis: String,
    s3: String,
    replica: String,
}

impl NodeSpec {
    fn command(&self) -> Command {
        let mut cmd = storekeep_command(env!("CARGO_BIN_EXE_storekeep"), &self.db);
        cmd.arg("serve")
            .env("STOREKEEP_LISTEN", format!("127.0.0.1:{}", self.port))
            .env("STOREKEEP_REDIS_URL", &self.redis)
            .env("STOREKEEP_DATABASE_REPLICA_URL", &self.replica)
            .env("STOREKEEP_MEDIA_S3_BUCKET", MOTO_BUCKET)
            .env("STOREKEEP_MEDIA_S3_ENDPOINT", &self.s3)
            .env("STOREKEEP_MEDIA_S3_ACCESS_KEY_ID", "test")
            .env("STOREKEEP_MEDIA_S3_SECRET_ACCESS_KEY", "test")
            .env("STOREKEEP_SHUTDOWN_DRAIN_SECS", DRAIN.as_secs().to_string())
            .env("STOREKEEP_SHUTDOWN_GRACE_SECS", "10")
            .env(
                "STOREKEEP_DATABASE_ACQUIRE_TIMEOUT_MS",
                ACQUIRE.as_millis().to_string(),
            )
            .env(
                "STOREKEEP_HTTP_REQUEST_TIMEOUT_SECS",
                REQUEST_TIMEOUT.as_secs().to_string(),
            )
            .env("STOREKEEP_HTTP_TRUSTED_PROXIES", "127.0.0.1")
            .env("STOREKEEP_LOG_LEVEL", "info,storekeep::http=warn");
        cmd
    }

    fn start(&self) -> ServerProcess {
        ServerProcess::start(self.command())
    }
}

/// A shopper through the load balancer: browses, fills a cart and checks
/// out, over and over. Every answer is kept.
async fn shopper(
    front: Arc<String>,
    product: String,
    variant: String,
    stop: Arc<AtomicBool>,
) -> Vec<Answer> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let shop = |method, path: &str| {
        client
            .request(method, format!("{front}{path}"))
            .header("x-tenant", "outage")
    };
    let mut answers = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        answers.push(send("browse", shop(Method::GET, "/api/v1/store/products")).await);
        answers.push(
            send(
                "product",
                shop(Method::GET, &format!("/api/v1/store/products/{product}")),
            )
            .await,
        );
        let cart = send(
            "cart",
            shop(Method::POST, "/api/v1/store/carts")
                .json(&serde_json::json!({"items": [{"variant_id": variant, "quantity": 1}]})),
        )
        .await;
        let created = (cart.status == 201).then(|| {
            (
                cart.body["cart"]["id"].as_str().unwrap().to_owned(),
                cart.body["cart"]["token"].as_str().unwrap().to_owned(),
            )
        });
        answers.push(cart);
        let Some((id, token)) = created else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        answers.push(
            send(
                "checkout",
                shop(Method::POST, &format!("/api/v1/store/carts/{id}/checkout"))
                    .header("x-cart-token", token)
                    .header("idempotency-key", uuid::Uuid::now_v7().to_string())
                    .json(&checkout_body("shopper@example.com")),
            )
            .await,
        );
    }
    answers
}

/// A load balancer's health check of one node, every 100 ms.
async fn readiness(port: u16, stop: Arc<AtomicBool>) -> Vec<Answer> {
    let client = reqwest::Client::new();
    let mut answers = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        let req = client
            .get(format!("http://127.0.0.1:{port}/api/health/ready"))
            .timeout(Duration::from_secs(30));
        answers.push(send("ready", req).await);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    answers
}

/// Each node's metrics line `name value`, as a number.
async fn metric(port: u16, name: &str) -> f64 {
    let text = reqwest::get(format!("http://127.0.0.1:{port}/api/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in node {port}'s metrics"))
}

async fn replica_up(specs: &[NodeSpec]) -> Vec<bool> {
    let mut up = Vec::new();
    for s in specs {
        up.push(metric(s.port, "storekeep_db_replica_up").await == 1.0);
    }
    up
}

async fn replica_reads(specs: &[NodeSpec]) -> Vec<f64> {
    let mut reads = Vec::new();
    for s in specs {
        reads.push(metric(s.port, "storekeep_db_reads_total{target=\"replica\"}").await);
    }
    reads
}

fn p99(answers: &[&Answer]) -> Duration {
    let mut took: Vec<Duration> = answers.iter().map(|a| a.took).collect();
    took.sort();
    took.get((took.len() * 99 / 100).min(took.len().saturating_sub(1)))
        .copied()
        .unwrap_or_default()
}

fn describe(a: &Answer) -> String {
    format!(
        "{} {} after {:?}: {}",
        a.what,
        a.status,
        a.took,
        a.body.to_string().chars().take(300).collect::<String>()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_behind_nginx_restart_in_turn_without_a_failed_request_and_ride_out_a_postgres_outage()
 {
    // It brings its own servers, so once per suite run: in the PostgreSQL
    // pass.
    if !on_postgres() {
        eprintln!("skipping: runs when the suite runs on PostgreSQL");
        return;
    }
    let Some(bin) = PgServer::tools() else {
        return;
    };
    let (Some(redis), Some(moto)) = (RedisServer::start(), MotoServer::start()) else {
        return;
    };
    let pg = Arc::new(PgServer::start(&bin).expect("starting PostgreSQL"));
    let replica = {
        let pg = pg.clone();
        Arc::new(
            tokio::task::spawn_blocking(move || pg.start_replica())
                .await
                .unwrap()
                .expect("starting the replica"),
        )
    };

    // The shop, made through an in-process node on the same database (it
    // stays up as a third node, out of the balancer, to read the orders
    // back at the end).
    let setup = spawn_app_on(TestDb::at(pg.url()), |s| {
        s.redis_url = Some(storekeep::config::Secret::new(redis.url()));
    })
    .await;
    let (token, product, variant) = selling(&setup).await;

    let Some(bouncer) = PgBouncer::start(&pg, "session") else {
        return;
    };
    let specs: Vec<NodeSpec> = (0..2)
        .map(|_| NodeSpec {
            db: TestDb {
                direct_url: Some(pg.url()),
                ..TestDb::at(bouncer.url(&pg.url()))
            },
            port: free_port(),
            redis: redis.url(),
            s3: moto.endpoint(),
            replica: replica.url(),
        })
        .collect();
    let mut nodes: Vec<Option<ServerProcess>> = specs.iter().map(|s| Some(s.start())).collect();
    let Some(nginx) = Nginx::start(&specs.iter().map(|s| s.port).collect::<Vec<_>>()) else {
        return;
    };
    let front = Arc::new(nginx.url(""));
    let first = reqwest::get(nginx.url("/api/health/ready")).await.unwrap();
    assert_eq!(first.status(), 200, "the balancer reaches a node");

    let stop = Arc::new(AtomicBool::new(false));
    let shoppers: Vec<_> = (0..4)
        .map(|_| {
            tokio::spawn(shopper(
                front.clone(),
                product.clone(),
                variant.clone(),
                stop.clone(),
            ))
        })
        .collect();
    let probes: Vec<_> = specs
        .iter()
        .map(|s| tokio::spawn(readiness(s.port, stop.clone())))
        .collect();
    tokio::time::sleep(Duration::from_secs(2)).await;

    // --- a rolling restart: each node in turn, as a deploy does.
    let restart_from = Instant::now();
    for (i, spec) in specs.iter().enumerate() {
        let node = nodes[i].take().unwrap();
        node.sigterm();
        let status = tokio::task::spawn_blocking(move || node.wait(Duration::from_secs(30)))
            .await
            .unwrap();
        assert!(status.success(), "node {i} exits 0 after its drain");
        let started = tokio::task::spawn_blocking({
            let cmd = spec.command();
            move || ServerProcess::start(cmd)
        })
        .await
        .unwrap();
        nodes[i] = Some(started);
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let restart_to = Instant::now();
    tokio::time::sleep(Duration::from_secs(1)).await;

    // --- the replica stops (as a crash does) for 4 s, then starts again.
    let replica_reads_before = replica_reads(&specs).await;
    let replica_from = Instant::now();
    {
        let replica = replica.clone();
        tokio::task::spawn_blocking(move || {
            replica.stop_immediate().expect("stopping the replica")
        })
        .await
        .unwrap();
    }
    tokio::time::sleep(Duration::from_secs(4)).await;
    let replica_down_seen = replica_up(&specs).await;
    {
        let replica = replica.clone();
        tokio::task::spawn_blocking(move || replica.start_again().expect("starting the replica"))
            .await
            .unwrap();
    }
    let replica_restarted = Instant::now();
    let mut replica_back = None;
    while replica_restarted.elapsed() < Duration::from_secs(20) {
        if replica_up(&specs).await.iter().all(|up| *up) {
            replica_back = Some(replica_restarted.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let replica_to = Instant::now();
    let replica_reads_after = replica_reads(&specs).await;
    tokio::time::sleep(Duration::from_secs(1)).await;

    // --- PostgreSQL stops for 10 s.
    // From the moment `pg_ctl stop -m fast` is run (it returns once the
    // server is down).
    let pg_stopped = Instant::now();
    {
        let pg = pg.clone();
        tokio::task::spawn_blocking(move || pg.stop().expect("pg_ctl stop"))
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_secs(10)).await;
    let pg_back = {
        let pg = pg.clone();
        tokio::task::spawn_blocking(move || pg.start_again().expect("pg_ctl start"))
            .await
            .unwrap();
        Instant::now()
    };
    tokio::time::sleep(Duration::from_secs(8)).await;
    stop.store(true, Ordering::SeqCst);

    let mut answers = Vec::new();
    for s in shoppers {
        answers.extend(s.await.unwrap());
    }
    let probes: Vec<Vec<Answer>> = {
        let mut all = Vec::new();
        for p in probes {
            all.push(p.await.unwrap());
        }
        all
    };

    // The rolling restart: every request sent during it answered 2xx.
    let during: Vec<&Answer> = answers
        .iter()
        .filter(|a| a.sent >= restart_from && a.sent < restart_to)
        .collect();
    let failed: Vec<String> = during
        .iter()
        .filter(|a| !(200..300).contains(&a.status))
        .map(|a| describe(a))
        .collect();
    let checkouts = during.iter().filter(|a| a.what == "checkout").count();
    eprintln!(
        "rolling restart of 2 nodes: {} requests ({checkouts} checkouts) in {:?}, {} failed, p99 {:?}",
        during.len(),
        restart_to - restart_from,
        failed.len(),
        p99(&during)
    );
    assert!(checkouts > 0, "checkouts ran during the restarts");
    assert!(
        failed.is_empty(),
        "failed during the rolling restart: {failed:#?}\nnginx: {}",
        nginx.errors()
    );

    // The replica's stop: every request sent meanwhile answered 2xx, the
    // nodes saw it down, and read from it again once it was back.
    let during_replica: Vec<&Answer> = answers
        .iter()
        .filter(|a| a.sent >= replica_from && a.sent < replica_to)
        .collect();
    let failed: Vec<String> = during_replica
        .iter()
        .filter(|a| !(200..300).contains(&a.status))
        .map(|a| describe(a))
        .collect();
    let checkouts = during_replica
        .iter()
        .filter(|a| a.what == "checkout")
        .count();
    eprintln!(
        "replica stopped 4 s and started again: {} requests ({checkouts} checkouts) in {:?}, {} failed, p99 {:?}; \
         replica_up seen {replica_down_seen:?} while down, up on both nodes {replica_back:?} after its start; \
         replica reads per node {replica_reads_before:?} before, {replica_reads_after:?} after",
        during_replica.len(),
        replica_to - replica_from,
        failed.len(),
        p99(&during_replica)
    );
    assert!(
        failed.is_empty(),
        "failed while the replica was stopped: {failed:#?}\nnginx: {}",
        nginx.errors()
    );
    assert!(
        replica_down_seen.iter().all(|up| !*up),
        "both nodes saw the replica down"
    );
    assert!(replica_back.is_some(), "the nodes saw the replica back");
    // (Whether reads return to the replica within these seconds depends on
    // the response cache, on here: what the primary built while the replica
    // was down is served for cache.ttl_secs. tests/api/replica.rs, with the
    // cache off, asserts it.)

    // Before the outage, nothing failed either.
    let before: Vec<String> = answers
        .iter()
        .filter(|a| a.sent + a.took < pg_stopped && !(200..300).contains(&a.status))
        .map(describe)
        .collect();
    assert!(before.is_empty(), "failed before the outage: {before:#?}");

    // The outage: readiness 503 on each node within 2 s, back within 5 s of
    // PostgreSQL's return.
    for (i, probe) in probes.iter().enumerate() {
        let down = probe
            .iter()
            .find(|r| r.sent >= pg_stopped && r.status == 503)
            .unwrap_or_else(|| panic!("node {i}: no readiness 503 during the outage"));
        let noticed = down.sent + down.took - pg_stopped;
        let up = probe
            .iter()
            .find(|r| r.sent >= pg_back && r.status == 200)
            .unwrap_or_else(|| panic!("node {i}: readiness never came back"));
        let recovered = up.sent + up.took - pg_back;
        eprintln!(
            "node {i}: readiness 503 {noticed:?} after PostgreSQL stopped, 200 {recovered:?} after it was back"
        );
        assert!(
            noticed <= Duration::from_secs(2) + SLACK,
            "node {i}: {noticed:?}"
        );
        assert!(
            recovered <= Duration::from_secs(5) + SLACK,
            "node {i}: {recovered:?}"
        );
        let hung: Vec<String> = probe
            .iter()
            .filter(|r| r.took > ACQUIRE + SLACK)
            .map(describe)
            .collect();
        assert!(hung.is_empty(), "node {i}: slow readiness: {hung:#?}");
    }
    // Requests during the outage: answered 2xx (served without the
    // database) or 503 problem+json with Retry-After, none past the
    // request timeout.
    let outage: Vec<&Answer> = answers
        .iter()
        .filter(|a| a.sent >= pg_stopped && a.sent < pg_back)
        .collect();
    let wrong: Vec<String> = outage
        .iter()
        .filter(|a| {
            !((200..300).contains(&a.status)
                || (a.status == 503 && a.problem_json && a.retry_after.is_some()))
                || a.took > REQUEST_TIMEOUT + SLACK
        })
        .map(|a| describe(a))
        .collect();
    let refused = outage.iter().filter(|a| a.status == 503).count();
    eprintln!(
        "PostgreSQL down 10 s: {} requests, {refused} answered 503, p99 {:?}",
        outage.len(),
        p99(&outage)
    );
    assert!(refused > 0, "the outage was seen");
    assert!(
        wrong.is_empty(),
        "wrong answers during the outage: {wrong:#?}"
    );
    // Selling resumed after it.
    let resumed = answers
        .iter()
        .filter(|a| a.what == "checkout" && a.sent >= pg_back && a.status == 201)
        .count();
    assert!(resumed > 0, "checkouts succeed again after the outage");

    // No acknowledged order lost.
    let stored = orders(&setup, &token).await;
    let missing: Vec<&str> = answers
        .iter()
        .filter(|a| a.what == "checkout" && a.status == 201)
        .map(|a| a.body["order"]["id"].as_str().unwrap())
        .filter(|id| !stored.contains_key(*id))
        .collect();
    assert!(
        missing.is_empty(),
        "acknowledged orders missing: {missing:?}"
    );

    // The nodes' pools went through PgBouncer (it logs each login).
    let bounced = bouncer.log();
    assert!(
        bounced.contains("login attempt: db=postgres user=postgres"),
        "no node connected through PgBouncer: {bounced}"
    );

    for node in nodes.into_iter().flatten() {
        node.sigterm();
        let _ = tokio::task::spawn_blocking(move || node.wait(Duration::from_secs(30))).await;
    }
    setup.stop().await;
}
