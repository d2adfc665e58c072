//! A database outage as clients and probes see it. PostgreSQL of the test's
//! own is stopped as an operator stops it (`pg_ctl stop -m fast`) and
//! started again while guests browse, fill carts and check out, and a
//! probe polls readiness. (A full disk on SQLite: `tests/cli/outage.rs`.)

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use reqwest::{Method, RequestBuilder};
use serde_json::{Value, json};
use storekeep_test_support::{PgServer, TestApp, TestDb, on_postgres, spawn_app_on};

use crate::catalog_support::{body, create, create_plan, product_json, shop};
use crate::commerce_support::{checkout_body, set_settings, settings};
use crate::identity::admin;

/// `database.acquire_timeout_ms` of the server under test.
const BOUND: Duration = Duration::from_millis(1000);
/// What the assertions allow for an answer that the bound governs: twice
/// the bound and slack for a busy machine (timings are not the point; a
/// 503 after the old 10 s pool wait, or a hang, is).
const ALLOWED: Duration = Duration::from_millis(2 * 1000 + 3000);

/// One answer the load got.
#[derive(Debug, Clone)]
pub struct Answer {
    pub what: &'static str,
    pub sent: Instant,
    pub took: Duration,
    /// 0 when no HTTP answer came at all.
    pub status: u16,
    pub problem_json: bool,
    pub retry_after: Option<String>,
    pub body: Value,
}

pub async fn send(what: &'static str, req: RequestBuilder) -> Answer {
    let sent = Instant::now();
    let (status, problem_json, retry_after, body) = match req.send().await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            let header = |name: &str| {
                resp.headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            };
            let problem_json =
                header("content-type").as_deref() == Some("application/problem+json");
            let retry_after = header("retry-after");
            let text = resp.text().await.unwrap_or_default();
            let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
            (status, problem_json, retry_after, body)
        }
        Err(e) => (0, false, None, Value::String(e.to_string())),
    };
    Answer {
        what,
        sent,
        took: sent.elapsed(),
        status,
        problem_json,
        retry_after,
        body,
    }
}

/// A guest who browses, fills a cart and checks out, over and over.
pub async fn guest(app: Arc<TestApp>, variant: String, stop: Arc<AtomicBool>) -> Vec<Answer> {
    let mut answers = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        let shop = |method, path: &str| {
            app.shop("outage", method, path)
                .timeout(Duration::from_secs(30))
        };
        answers.push(send("browse", shop(Method::GET, "/api/v1/store/products")).await);
        let cart = send(
            "cart",
            shop(Method::POST, "/api/v1/store/carts")
                .json(&json!({"items": [{"variant_id": variant, "quantity": 1}]})),
        )
        .await;
        let created = (cart.status == 201).then(|| {
            (
                cart.body["cart"]["id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                cart.body["cart"]["token"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        });
        answers.push(cart);
        let Some((id, token)) = created else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let path = format!("/api/v1/store/carts/{id}/checkout");
        answers.push(
            send(
                "checkout",
                shop(Method::POST, &path)
                    .header("x-cart-token", token)
                    .header("idempotency-key", uuid::Uuid::now_v7().to_string())
                    .json(&checkout_body("guest@example.com")),
            )
            .await,
        );
    }
    answers
}

/// A member of staff who keeps looking at the orders (a session to look
/// up, a permission to check).
pub async fn staff(app: Arc<TestApp>, token: String, stop: Arc<AtomicBool>) -> Vec<Answer> {
    let mut answers = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        let req = admin(
            &app,
            "outage",
            &token,
            Method::GET,
            "/api/v1/admin/orders?limit=5",
        )
        .timeout(Duration::from_secs(30));
        answers.push(send("staff", req).await);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    answers
}

/// Polls readiness as a load balancer does, every 100 ms, and the
/// operator's detailed health.
pub async fn probe(app: Arc<TestApp>, stop: Arc<AtomicBool>) -> Vec<Answer> {
    let mut answers = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        let req = app
            .request(Method::GET, "/api/health/ready")
            .timeout(Duration::from_secs(30));
        answers.push(send("ready", req).await);
        let req = app
            .platform(Method::GET, "/api/health/detailed")
            .timeout(Duration::from_secs(30));
        answers.push(send("detailed", req).await);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    answers
}

/// Every order of the shop: id → status.
pub async fn orders(app: &TestApp, token: &str) -> HashMap<String, String> {
    let mut all = HashMap::new();
    let mut after = String::new();
    loop {
        let path = format!("/api/v1/admin/orders?limit=200{after}");
        let resp = admin(app, "outage", token, Method::GET, &path)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "listing orders");
        let page = body(resp).await;
        for o in page["items"].as_array().unwrap() {
            all.insert(
                o["id"].as_str().unwrap().to_owned(),
                o["status"].as_str().unwrap().to_owned(),
            );
        }
        match page["next_cursor"].as_str() {
            Some(c) => after = format!("&after={c}"),
            None => return all,
        }
    }
}

async fn blocking(pg: &Arc<PgServer>, f: fn(&PgServer) -> anyhow::Result<()>) {
    let pg = pg.clone();
    tokio::task::spawn_blocking(move || f(&pg))
        .await
        .expect("pg_ctl task")
        .expect("pg_ctl");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_postgres_outage_is_a_quick_503_readiness_follows_and_no_acknowledged_order_is_lost() {
    // It brings its own server, so once per suite run is enough: in the
    // PostgreSQL pass.
    if !on_postgres() {
        eprintln!("skipping: runs when the suite runs on PostgreSQL");
        return;
    }
    let Some(bin) = PgServer::tools() else {
        return;
    };
    let pg = Arc::new(PgServer::start(&bin).expect("starting PostgreSQL"));
    let app = spawn_app_on(TestDb::at(pg.url()), |s| {
        s.database_acquire_timeout = BOUND;
        s.order_expiry_interval = Duration::from_secs(1);
    })
    .await;
    create_plan(
        &app,
        "unmetered",
        json!({"api_requests_per_minute": 6_000_000, "admin_requests_per_minute": 6_000_000}),
    )
    .await;
    let (token, _) = shop(&app, "outage", Some("unmetered")).await;
    // Unpaid orders expire 3 s after checkout, so those placed before the
    // outage fall due during it.
    set_settings(&app, "outage", &token, &settings(3)).await;
    let product = create(
        &app,
        "outage",
        &token,
        &product_json("Desk lamp", &[("LAMP-1", 1500, 1_000_000)]),
    )
    .await;
    let variant = product["variants"][0]["id"].as_str().unwrap().to_owned();

    // Act: load, then an outage of ~4 s, then load again.
    let app = Arc::new(app);
    let stop = Arc::new(AtomicBool::new(false));
    let guests: Vec<_> = (0..4)
        .map(|_| tokio::spawn(guest(app.clone(), variant.clone(), stop.clone())))
        .collect();
    let clerk = tokio::spawn(staff(app.clone(), token.clone(), stop.clone()));
    let prober = tokio::spawn(probe(app.clone(), stop.clone()));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let stopping = Instant::now();
    blocking(&pg, PgServer::stop).await;
    let down = Instant::now();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let starting = Instant::now();
    blocking(&pg, PgServer::start_again).await;
    let up = Instant::now();
    tokio::time::sleep(Duration::from_secs(4)).await;
    stop.store(true, Ordering::SeqCst);
    let mut answers = Vec::new();
    for g in guests {
        answers.extend(g.await.expect("guest task"));
    }
    answers.extend(clerk.await.expect("staff task"));
    let (readiness, detailed): (Vec<Answer>, Vec<Answer>) = prober
        .await
        .expect("probe task")
        .into_iter()
        .partition(|a| a.what == "ready");

    let mut counts: HashMap<(&str, u16), usize> = HashMap::new();
    for a in answers.iter().chain(&readiness).chain(&detailed) {
        *counts.entry((a.what, a.status)).or_default() += 1;
    }
    let slowest_503 = answers
        .iter()
        .filter(|a| a.status == 503)
        .map(|a| a.took)
        .max();
    eprintln!(
        "answers {counts:?}; slowest 503 {slowest_503:?}; stop took {:?}, start {:?}",
        down - stopping,
        up - starting
    );

    // Assert: no 500, no hang; every outage answer a prompt 503 problem.
    for a in answers.iter().chain(&readiness).chain(&detailed) {
        assert!(
            matches!(a.status, 200 | 201 | 503),
            "{} answered {} after {:?}: {}",
            a.what,
            a.status,
            a.took,
            a.body
        );
    }
    let outage_answers: Vec<&Answer> = answers.iter().filter(|a| a.status == 503).collect();
    for a in &outage_answers {
        assert!(a.problem_json, "{} 503 is a problem: {}", a.what, a.body);
        assert!(a.retry_after.is_some(), "{} 503 has Retry-After", a.what);
        assert_eq!(a.body["status"], 503);
        assert!(
            a.took <= ALLOWED,
            "{} took {:?} to answer 503 (bound {BOUND:?})",
            a.what,
            a.took
        );
    }
    // Carts and staff pages need the database: every one asked for while
    // it was down (and not just before it came back) was refused.
    for what in ["cart", "staff"] {
        let during: Vec<u16> = answers
            .iter()
            .filter(|a| a.what == what && a.sent >= down && a.sent + a.took < starting)
            .map(|a| a.status)
            .collect();
        assert!(!during.is_empty(), "{what}: the load ran during the outage");
        assert!(
            during.iter().all(|s| *s == 503),
            "{what} during the outage: {during:?}"
        );
    }
    let before = |what| {
        answers
            .iter()
            .any(|a| a.what == what && a.status == 201 && a.sent + a.took < stopping)
    };
    let after = |what| {
        answers
            .iter()
            .any(|a| a.what == what && a.status == 201 && a.sent > up)
    };
    assert!(
        before("checkout") && after("checkout"),
        "checkouts succeed before and after"
    );

    // Readiness: 503 naming the database within a few seconds of the stop,
    // 200 again within a few seconds of the start, each probe prompt; the
    // detailed health as prompt and as truthful.
    for r in readiness.iter().chain(&detailed) {
        assert!(r.took <= ALLOWED, "{} took {:?}", r.what, r.took);
    }
    let detailed_during: Vec<&Answer> = detailed
        .iter()
        .filter(|a| a.sent >= down && a.sent + a.took < starting)
        .collect();
    assert!(!detailed_during.is_empty());
    for d in detailed_during {
        assert_eq!(d.status, 503, "{}", d.body);
        assert_eq!(d.body["database"]["ok"], false, "{}", d.body);
    }
    let first_down = readiness
        .iter()
        .find(|r| r.sent >= stopping && r.status == 503)
        .expect("readiness turned 503 during the outage");
    let back = readiness
        .iter()
        .find(|r| r.sent >= up && r.status == 200)
        .expect("readiness turned 200 after the restart");
    let said_down = (first_down.sent + first_down.took).saturating_duration_since(down);
    let said_up = (back.sent + back.took).saturating_duration_since(up);
    eprintln!("readiness: 503 {said_down:?} after the stop, 200 {said_up:?} after the start");
    assert!(
        said_down <= ALLOWED,
        "readiness said 503 {said_down:?} after the stop"
    );
    assert!(
        said_up <= ALLOWED,
        "readiness said 200 {said_up:?} after the start"
    );
    assert_eq!(first_down.body["status"], "not_ready");
    assert_eq!(first_down.body["database"]["ok"], false);
    assert_eq!(
        first_down.body["database"]["detail"],
        "database unreachable"
    );
    assert!(
        readiness
            .iter()
            .filter(|r| r.sent >= back.sent)
            .all(|r| r.status == 200),
        "readiness stays 200 once back"
    );

    // Nothing acknowledged is lost; the expiry sweep outlived the outage
    // and cancelled what fell due during it.
    let acknowledged: Vec<(&Answer, String)> = answers
        .iter()
        .filter(|a| a.what == "checkout" && a.status == 201)
        .map(|a| (a, a.body["order"]["id"].as_str().unwrap().to_owned()))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let stored = orders(&app, &token).await;
        let missing: Vec<&String> = acknowledged
            .iter()
            .map(|(_, id)| id)
            .filter(|id| !stored.contains_key(*id))
            .collect();
        assert!(
            missing.is_empty(),
            "acknowledged orders missing: {missing:?}"
        );
        let due: HashSet<&String> = acknowledged
            .iter()
            .filter(|(a, _)| a.sent + a.took < stopping)
            .map(|(_, id)| id)
            .collect();
        let uncancelled = due.iter().filter(|id| stored[**id] != "cancelled").count();
        if uncancelled == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{uncancelled} orders past their deadline before the outage are still not cancelled"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
