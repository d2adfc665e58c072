//! Redis going away under load, as clients and probes see it. The test
//! brings its own Redis, stops it while guests browse, fill carts and
//! check out, and starts it again; then freezes it. Nothing needs Redis to
//! sell: the node degrades (per-node rate limits, no read cache) and stays
//! ready, readiness names Redis as down, and it recovers with no restart.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use storekeep::config::Secret;
use storekeep_test_support::spawn_app_with;

use crate::catalog_support::{patch_product, store_get, titles};
use crate::outage::{Answer, guest, probe};
use crate::outage_support::{
    ALLOWED, REQUEST_TIMEOUT, RedisServer, blocking, counts, done, first_with, no_order_lost,
    selling, within,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_redis_outage_degrades_limits_and_cache_keeps_selling_and_recovers_by_itself() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let url = redis.url();
    let redis = Arc::new(Mutex::new(redis));
    let app = spawn_app_with(|s| {
        s.redis_url = Some(Secret::new(url));
        s.request_timeout = REQUEST_TIMEOUT;
    })
    .await;
    let (token, product, variant) = selling(&app).await;
    // The storefront is cached through Redis before the outage.
    store_get(&app, "outage", "/api/v1/store/products").await;
    assert_eq!(
        store_get(&app, "outage", "/api/v1/store/products")
            .await
            .cache,
        "HIT"
    );

    // Act: load, an outage of ~3 s, then load again.
    let app = Arc::new(app);
    let stop = Arc::new(AtomicBool::new(false));
    let guests: Vec<_> = (0..3)
        .map(|_| tokio::spawn(guest(app.clone(), variant.clone(), stop.clone())))
        .collect();
    let prober = tokio::spawn(probe(app.clone(), stop.clone()));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let stopping = Instant::now();
    blocking(&redis, RedisServer::stop).await;
    let down = Instant::now();
    // A catalog write while Redis is away cannot bump the shop's cache
    // generation there; it succeeds, and shows afterwards (below).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sent = Instant::now();
    patch_product(
        &app,
        "outage",
        &token,
        &product,
        json!({"title": "Brass lamp"}),
    )
    .await;
    assert!(
        sent.elapsed() <= ALLOWED,
        "the write took {:?}",
        sent.elapsed()
    );
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let starting = Instant::now();
    blocking(&redis, RedisServer::start_again).await;
    let up = Instant::now();
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, Ordering::SeqCst);
    let mut answers = Vec::new();
    for g in guests {
        answers.extend(g.await.expect("guest task"));
    }
    let (readiness, detailed): (Vec<Answer>, Vec<Answer>) = prober
        .await
        .expect("probe task")
        .into_iter()
        .partition(|a| a.what == "ready");
    let slowest = answers.iter().map(|a| a.took).max();
    eprintln!(
        "answers {:?}; slowest {slowest:?}; stop took {:?}, start {:?}",
        counts(&answers),
        down - stopping,
        up - starting
    );

    // Assert: nothing needs Redis to answer, so everything succeeded, in
    // time, during the outage too.
    for a in answers.iter().chain(&readiness).chain(&detailed) {
        assert!(
            matches!(a.status, 200 | 201),
            "{} answered {} after {:?}: {}",
            a.what,
            a.status,
            a.took,
            a.body
        );
        assert!(a.took <= ALLOWED, "{} took {:?}", a.what, a.took);
    }
    for what in ["browse", "checkout"] {
        assert!(
            !within(&answers, what, down, starting).is_empty(),
            "{what} ran during the outage"
        );
    }

    // Readiness stays 200 and names Redis as down from the first probe
    // after the stop to the first after the start; detailed health says
    // how the limiter and the cache degraded, and that they came back.
    let during = within(&readiness, "ready", down, starting);
    assert!(!during.is_empty());
    for r in &during {
        assert_eq!(r.body["status"], "ready", "{}", r.body);
        assert_eq!(r.body["redis"]["ok"], false, "{}", r.body);
        assert_eq!(
            r.body["redis"]["detail"],
            "redis unreachable: rate limits are per node, the read cache is bypassed"
        );
        assert_eq!(r.body["database"]["ok"], true);
    }
    let detailed_during = within(&detailed, "detailed", down, starting);
    assert!(!detailed_during.is_empty());
    for d in detailed_during {
        assert_eq!(d.body["redis"]["ok"], false, "{}", d.body);
        assert_eq!(d.body["rate_limiter"], "memory (redis unavailable)");
        assert_eq!(d.body["read_cache"], "redis (unavailable: bypassed)");
    }
    let first_down = first_with(&readiness, stopping, "redis", false);
    let back = first_with(&readiness, up, "redis", true);
    let said_down = done(first_down).saturating_duration_since(down);
    let said_up = done(back).saturating_duration_since(up);
    eprintln!("readiness: redis down {said_down:?} after the stop, up {said_up:?} after the start");
    assert!(said_down <= ALLOWED && said_up <= ALLOWED);
    assert!(
        readiness
            .iter()
            .filter(|r| r.sent >= back.sent)
            .all(|r| r.body["redis"]["ok"] == true),
        "redis stays up in readiness once back"
    );
    let detailed_after: Vec<&Answer> = detailed.iter().filter(|d| d.sent > done(back)).collect();
    assert!(!detailed_after.is_empty());
    for d in detailed_after {
        assert_eq!(d.body["rate_limiter"], "redis", "{}", d.body);
        assert_eq!(d.body["read_cache"], "redis", "{}", d.body);
    }

    // Nothing acknowledged is lost: every order, and the rename — Redis
    // came back with the generation the storefront was cached under before
    // the outage, yet the storefront shows the new title, and caches it.
    no_order_lost(&app, &token, &answers).await;
    for _ in 0..2 {
        let read = store_get(&app, "outage", "/api/v1/store/products").await;
        assert_eq!(
            titles(&read.body),
            ["Brass lamp"],
            "after the outage ({})",
            read.cache
        );
    }
    assert_eq!(
        store_get(&app, "outage", "/api/v1/store/products")
            .await
            .cache,
        "HIT"
    );

    // A Redis that hangs (SIGSTOP) and runs again (SIGCONT): writes and
    // reads go on, in time, and caching resumes.
    blocking(&redis, RedisServer::freeze).await;
    let sent = Instant::now();
    patch_product(
        &app,
        "outage",
        &token,
        &product,
        json!({"title": "Copper lamp"}),
    )
    .await;
    assert!(
        sent.elapsed() <= ALLOWED,
        "the write took {:?}",
        sent.elapsed()
    );
    let during = store_get(&app, "outage", "/api/v1/store/products").await;
    assert_eq!(
        titles(&during.body),
        ["Copper lamp"],
        "read during the hang"
    );
    blocking(&redis, RedisServer::thaw).await;
    let thawed = Instant::now();
    loop {
        let ready: Value = app.get("/api/health/ready").await.json().await.unwrap();
        if ready["redis"]["ok"] == true {
            break;
        }
        assert!(thawed.elapsed() <= ALLOWED, "readiness still says {ready}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for _ in 0..2 {
        let read = store_get(&app, "outage", "/api/v1/store/products").await;
        assert_eq!(
            titles(&read.body),
            ["Copper lamp"],
            "after the hang ({})",
            read.cache
        );
    }
    assert_eq!(
        store_get(&app, "outage", "/api/v1/store/products")
            .await
            .cache,
        "HIT",
        "caching resumed"
    );
}
