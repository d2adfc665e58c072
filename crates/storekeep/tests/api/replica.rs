//! The read replica (`database.replica_url`, issue 19), driven over HTTP
//! as users drive it, against a PostgreSQL primary of the test's own and a
//! real streaming replica of it (`pg_basebackup -R -X stream`) on
//! loopback: read-your-writes for the session that wrote, other sessions
//! served by the replica, reads moving to the primary when the replica
//! lags past the bound or stops — without a failed request — and back.
//! They run in the PostgreSQL pass of the suite (they bring their own
//! servers).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::Value;
use storekeep_test_support::{PgServer, TestApp, TestDb, on_postgres, spawn_app_on};

use crate::catalog_support::{create, product_json};
use crate::outage::{Answer, send};

/// `database.replica_max_lag_ms` of these nodes.
const MAX_LAG: Duration = Duration::from_millis(2000);
const TENANT: &str = "outage";

struct Setup {
    app: TestApp,
    /// Kept running until the test ends.
    _primary: Arc<PgServer>,
    replica: Arc<PgServer>,
    token: String,
    product: String,
    variant: String,
}

/// A primary, its streaming replica, a node reading from both (the
/// response cache off, so every read reaches the database), and a shop
/// selling one product. `None` to skip (SQLite pass, no PostgreSQL).
async fn setup() -> Option<Setup> {
    if !on_postgres() {
        eprintln!("skipping: runs when the suite runs on PostgreSQL");
        return None;
    }
    let bin = PgServer::tools()?;
    let primary = Arc::new(PgServer::start(&bin).expect("starting PostgreSQL"));
    let replica = {
        let primary = primary.clone();
        tokio::task::spawn_blocking(move || primary.start_replica())
            .await
            .unwrap()
            .expect("starting the replica")
    };
    let replica = Arc::new(replica);
    let replica_url = replica.url();
    let app = spawn_app_on(TestDb::at(primary.url()), |s| {
        s.database_replica_url = Some(storekeep::config::Secret::new(replica_url));
        s.database_replica_max_lag = MAX_LAG;
        s.cache_max_bytes = 0;
    })
    .await;
    let (token, product, variant) = crate::outage_support::selling(&app).await;
    let setup = Setup {
        app,
        _primary: primary,
        replica,
        token,
        product,
        variant,
    };
    setup
        .wait_until(
            "the replica is up and caught up",
            Duration::from_secs(30),
            |m| m.up == 1.0 && m.lag == 0.0,
        )
        .await;
    Some(setup)
}

/// The replica's series of `/api/metrics`.
#[derive(Debug, Clone, Copy)]
struct Figures {
    up: f64,
    lag: f64,
    replica_reads: f64,
    primary_reads: f64,
    fallbacks: f64,
}

impl Setup {
    async fn figures(&self) -> Figures {
        let text = self.app.get("/api/metrics").await.text().await.unwrap();
        let value = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse::<f64>().ok())
                .unwrap_or_else(|| panic!("no {name} in the metrics"))
        };
        Figures {
            up: value("storekeep_db_replica_up"),
            lag: value("storekeep_db_replica_lag_seconds"),
            replica_reads: value("storekeep_db_reads_total{target=\"replica\"}"),
            primary_reads: value("storekeep_db_reads_total{target=\"primary\"}"),
            fallbacks: value("storekeep_db_replica_fallbacks_total"),
        }
    }

    async fn wait_until(
        &self,
        what: &str,
        limit: Duration,
        done: impl Fn(&Figures) -> bool,
    ) -> Duration {
        let from = Instant::now();
        loop {
            let f = self.figures().await;
            if done(&f) {
                return from.elapsed();
            }
            assert!(
                from.elapsed() < limit,
                "{what}: not within {limit:?}: {f:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A shopper's read, without a credential or cookie.
    async fn guest_product(&self, id: &str) -> reqwest::Response {
        self.app
            .shop(TENANT, Method::GET, &format!("/api/v1/store/products/{id}"))
            .send()
            .await
            .unwrap()
    }

    /// Runs `sql` on the replica.
    async fn on_replica(&self, sql: &str) {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&self.replica.url())
            .await
            .expect("connecting to the replica");
        sqlx::query(sql)
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    async fn new_product(&self, title: &str, sku: &str) -> String {
        let p = create(
            &self.app,
            TENANT,
            &self.token,
            &product_json(title, &[(sku, 900, 10)]),
        )
        .await;
        p["id"].as_str().unwrap().to_owned()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replica_a_writer_reads_its_own_write_at_once_while_other_sessions_read_the_paused_replica()
{
    let Some(s) = setup().await else {
        return;
    };
    // Replay stops: the replica keeps the catalog as it is now.
    s.on_replica("SELECT pg_wal_replay_pause()").await;
    let before = s.figures().await;
    let written = Instant::now();
    let id = s.new_product("Paused mug", "MUG-PAUSED").await;

    // The staff session that wrote reads it at once (its credential wrote
    // within the bound: the primary serves it).
    let own = s
        .app
        .shop(TENANT, Method::GET, &format!("/api/v1/admin/products/{id}"))
        .bearer_auth(&s.token)
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), 200, "the writer reads its own write");
    let own_store = s
        .app
        .shop(TENANT, Method::GET, &format!("/api/v1/store/products/{id}"))
        .bearer_auth(&s.token)
        .send()
        .await
        .unwrap();
    assert_eq!(own_store.status(), 200, "through the storefront API too");

    // Another session is served by the replica, which has not replayed the
    // product: it is not there yet (it is on the primary).
    let other = s.guest_product(&id).await;
    let other_status = other.status();
    let elapsed = written.elapsed();
    assert!(
        elapsed < MAX_LAG,
        "the checks ran within the bound ({elapsed:?}); a slower machine proves nothing"
    );
    assert_eq!(
        other_status, 404,
        "another session reads the paused replica's catalog"
    );
    let old = s.guest_product(&s.product).await;
    assert_eq!(old.status(), 200, "which has the older product");

    // A browser that wrote (a cart) carries the sk_wrote cookie and reads
    // the primary: it sees the new product.
    let cart = s
        .app
        .shop(TENANT, Method::POST, "/api/v1/store/carts")
        .json(&serde_json::json!({"items": [{"variant_id": s.variant, "quantity": 1}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(cart.status(), 201);
    let cookie = cart
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("sk_wrote="))
        .expect("a write sets the sk_wrote cookie")
        .to_owned();
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Lax")
            && cookie.contains("Max-Age=2"),
        "{cookie}"
    );
    let pair = cookie.split(';').next().unwrap();
    let with_cookie = s
        .app
        .shop(TENANT, Method::GET, &format!("/api/v1/store/products/{id}"))
        .header("cookie", pair)
        .send()
        .await
        .unwrap();
    assert_eq!(
        with_cookie.status(),
        200,
        "the browser that wrote reads the primary"
    );

    let after = s.figures().await;
    eprintln!(
        "paused replica: other session 404 {:?} after the write; reads replica +{} primary +{}",
        elapsed,
        after.replica_reads - before.replica_reads,
        after.primary_reads - before.primary_reads
    );
    assert!(
        after.replica_reads >= before.replica_reads + 2.0,
        "{before:?} → {after:?}"
    );
    assert!(
        after.primary_reads >= before.primary_reads + 3.0,
        "{before:?} → {after:?}"
    );
    s.on_replica("SELECT pg_wal_replay_resume()").await;
    s.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replica_metrics_the_dashboard_and_alerts_query_are_exported() {
    use crate::deploy_kit::{REPLICA_ONLY, exported, metric_names, queries};
    let Some(setup) = setup().await else {
        return;
    };
    // (setup() has read every replica series already, reads by target
    // included: they exist from the start.)
    let text = setup.app.get("/api/metrics").await.text().await.unwrap();
    let exported = exported(&text);
    // Every name deploy_kit leaves to this node is exported here…
    for name in REPLICA_ONLY {
        assert!(
            exported.contains(*name),
            "{name} (REPLICA_ONLY) is not exported by a node with a replica"
        );
    }
    // …and each of them is queried by the dashboard or a rule (deploy_kit
    // checks every other queried name against a node without a replica).
    let queried: BTreeSet<String> = queries()
        .iter()
        .flat_map(|(_, expr)| metric_names(expr))
        .filter(|name| REPLICA_ONLY.contains(&name.as_str()))
        .collect();
    assert_eq!(
        queried,
        REPLICA_ONLY
            .iter()
            .map(|n| n.to_string())
            .collect::<BTreeSet<_>>(),
        "each replica-only name is queried by the dashboard or a rule"
    );
    setup.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replica_lagging_past_the_bound_sends_reads_to_the_primary_until_it_catches_up() {
    let Some(s) = setup().await else {
        return;
    };
    s.on_replica("SELECT pg_wal_replay_pause()").await;
    let id = s.new_product("Lagging lamp", "LAMP-LAG").await;
    let waited = s
        .wait_until("the lag passes the bound", Duration::from_secs(15), |f| {
            f.lag > MAX_LAG.as_secs_f64()
        })
        .await;
    let lagging = s.figures().await;
    assert_eq!(lagging.up, 1.0, "a paused replica is up, only late");
    let before = lagging;
    let read = s.guest_product(&id).await;
    assert_eq!(
        read.status(),
        200,
        "past the bound, another session reads the primary and sees the product"
    );
    let after = s.figures().await;
    assert_eq!(after.replica_reads, before.replica_reads, "{after:?}");
    assert!(after.primary_reads > before.primary_reads, "{after:?}");

    s.on_replica("SELECT pg_wal_replay_resume()").await;
    let caught_up = s
        .wait_until("the replica catches up", Duration::from_secs(15), |f| {
            f.up == 1.0 && f.lag == 0.0
        })
        .await;
    let before = s.figures().await;
    for _ in 0..5 {
        assert_eq!(s.guest_product(&id).await.status(), 200);
    }
    let after = s.figures().await;
    eprintln!(
        "lag past {MAX_LAG:?} seen {waited:?} after the pause (lag {:.2} s); caught up {caught_up:?} after resuming",
        lagging.lag
    );
    assert!(
        after.replica_reads >= before.replica_reads + 5.0,
        "back on the replica: {before:?} → {after:?}"
    );
    s.app.stop().await;
}

/// A shopper browsing the catalog as fast as answers come.
async fn browser(app: Arc<String>, product: String, stop: Arc<AtomicBool>) -> Vec<Answer> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let mut answers = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        for path in [
            "/api/v1/store/products".to_owned(),
            format!("/api/v1/store/products/{product}"),
        ] {
            let req = client
                .get(format!("{app}{path}"))
                .header("x-tenant", TENANT);
            answers.push(send("browse", req).await);
        }
    }
    answers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replica_stopped_under_load_costs_no_failed_read_and_readiness_stays_ready() {
    let Some(s) = setup().await else {
        return;
    };
    let stop = Arc::new(AtomicBool::new(false));
    let base = Arc::new(s.app.url(""));
    let load: Vec<_> = (0..4)
        .map(|_| tokio::spawn(browser(base.clone(), s.product.clone(), stop.clone())))
        .collect();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = s.figures().await;

    let stopped_at = Instant::now();
    {
        let replica = s.replica.clone();
        tokio::task::spawn_blocking(move || {
            replica.stop_immediate().expect("stopping the replica")
        })
        .await
        .unwrap();
    }
    let noticed = s
        .wait_until("replica_up 0", Duration::from_secs(5), |f| f.up == 0.0)
        .await;
    let ready = s.app.get("/api/health/ready").await;
    let ready_status = ready.status();
    let ready_body: Value = ready.json().await.unwrap();
    assert_eq!(
        ready_status, 200,
        "the primary serves: still ready: {ready_body}"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let down = s.figures().await;
    let down_window = (stopped_at, Instant::now());

    {
        let replica = s.replica.clone();
        tokio::task::spawn_blocking(move || replica.start_again().expect("starting the replica"))
            .await
            .unwrap();
    }
    let back = s
        .wait_until("the replica is back", Duration::from_secs(20), |f| {
            f.up == 1.0 && f.lag == 0.0
        })
        .await;
    let returned = s
        .wait_until("reads return to the replica", Duration::from_secs(5), |f| {
            f.replica_reads > down.replica_reads + 10.0
        })
        .await;
    stop.store(true, Ordering::SeqCst);
    let mut answers = Vec::new();
    for l in load {
        answers.extend(l.await.unwrap());
    }
    let after = s.figures().await;

    let failed: Vec<String> = answers
        .iter()
        .filter(|a| a.status != 200)
        .map(|a| format!("{} after {:?}: {}", a.status, a.took, a.body))
        .collect();
    let during: Vec<&Answer> = answers
        .iter()
        .filter(|a| a.sent >= down_window.0 && a.sent < down_window.1)
        .collect();
    let mut took: Vec<Duration> = during.iter().map(|a| a.took).collect();
    took.sort();
    let p99 = took.get(took.len() * 99 / 100).copied().unwrap_or_default();
    let slowest = took.last().copied().unwrap_or_default();
    eprintln!(
        "replica stopped under load: {} reads in all, {} while it was down (p99 {p99:?}, slowest {slowest:?}), {} failed; \
         replica_up 0 {noticed:?} after the stop, {} reads retried on the primary; \
         back {back:?} after its start, reads on it again {returned:?} later",
        answers.len(),
        during.len(),
        failed.len(),
        after.fallbacks - before.fallbacks,
    );
    assert!(!during.is_empty(), "reads ran while the replica was down");
    assert!(failed.is_empty(), "failed reads: {failed:#?}");
    assert!(
        down.primary_reads > before.primary_reads,
        "the primary served while the replica was down"
    );
    s.app.stop().await;
}
