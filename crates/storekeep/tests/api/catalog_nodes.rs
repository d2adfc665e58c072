//! The storefront cache across nodes: two servers sharing one PostgreSQL
//! database and one Redis see each other's catalog writes at once; a
//! single node without Redis sees its own.

use reqwest::Method;
use serde_json::{Value, json};
use storekeep::config::Secret;
use storekeep_test_support::{TestApp, on_postgres, spawn_app, spawn_app_with};

use crate::catalog_support::{
    adjust, create, patch_product, product_json, redis_url, shop, simple, store_get, titles,
};
use crate::identity::admin;

/// Reads `path` on `node` twice: a miss that fills the cache, then a hit.
async fn warm(node: &TestApp, path: &str) -> Value {
    let first = store_get(node, "acme", path).await;
    assert_eq!(first.status, 200, "{path}: {}", first.body);
    let second = store_get(node, "acme", path).await;
    assert_eq!(second.cache, "HIT", "{path} is cached on this node");
    assert_eq!(second.body, first.body);
    second.body
}

/// Every write goes through `writer`; every read through `reader`, whose
/// cache was warm just before the write.
async fn writes_show_at_once(writer: &TestApp, reader: &TestApp) {
    let (owner, _) = shop(writer, "acme", None).await;
    let mut p = product_json("Lenovo ThinkPad T480", &[("T480", 34900, 0)]);
    p["product"]["handle"] = json!("t480");
    let product = create(writer, "acme", &owner, &p).await;
    let pid = product["id"].as_str().unwrap();
    let vid = product["variants"][0]["id"].as_str().unwrap();
    let list = "/api/v1/store/products";
    let page = "/api/v1/store/products/t480";
    let search = "/api/v1/store/search?q=thinkpad";
    let in_stock = "/api/v1/store/products?in_stock=true";

    assert_eq!(titles(&warm(reader, list).await), ["Lenovo ThinkPad T480"]);
    assert_eq!(
        warm(reader, page).await["product"]["title"],
        "Lenovo ThinkPad T480"
    );
    assert_eq!(
        titles(&warm(reader, search).await),
        ["Lenovo ThinkPad T480"]
    );
    patch_product(
        writer,
        "acme",
        &owner,
        pid,
        json!({"title": "Lenovo Yoga 7"}),
    )
    .await;
    let read = store_get(reader, "acme", list).await;
    assert_eq!(
        titles(&read.body),
        ["Lenovo Yoga 7"],
        "list after a title change"
    );
    assert_eq!(read.cache, "MISS");
    let read = store_get(reader, "acme", page).await;
    assert_eq!(
        read.body["product"]["title"], "Lenovo Yoga 7",
        "page after a title change"
    );
    let read = store_get(reader, "acme", search).await;
    assert_eq!(
        titles(&read.body),
        Vec::<String>::new(),
        "search after a title change"
    );

    assert_eq!(titles(&warm(reader, in_stock).await), Vec::<String>::new());
    warm(reader, page).await;
    assert_eq!(
        adjust(writer, "acme", &owner, vid, 3, "delivery")
            .await
            .status(),
        200
    );
    let read = store_get(reader, "acme", in_stock).await;
    assert_eq!(
        titles(&read.body),
        ["Lenovo Yoga 7"],
        "in stock after an adjustment"
    );
    let read = store_get(reader, "acme", page).await;
    assert_eq!(
        read.body["product"]["variants"][0]["inventory"]["available"],
        3
    );

    warm(reader, page).await;
    warm(reader, list).await;
    let deleted = admin(
        writer,
        "acme",
        &owner,
        Method::DELETE,
        &format!("/api/v1/admin/products/{pid}"),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(deleted.status(), 204);
    assert_eq!(
        store_get(reader, "acme", page).await.status,
        404,
        "page after a delete"
    );
    assert_eq!(
        titles(&store_get(reader, "acme", list).await.body),
        Vec::<String>::new(),
        "list after a delete"
    );
}

#[tokio::test]
async fn with_redis_a_write_on_one_node_is_seen_at_once_on_the_other() {
    if !on_postgres() {
        eprintln!("skipping: two nodes share a database only on PostgreSQL");
        return;
    }
    let Some(redis) = redis_url() else { return };
    let a = spawn_app_with(|s| s.redis_url = Some(Secret::new(redis.clone()))).await;
    let shared = a.db.url.clone();
    let b = spawn_app_with(|s| {
        s.redis_url = Some(Secret::new(redis.clone()));
        s.database_url = Some(Secret::new(shared));
    })
    .await;

    writes_show_at_once(&a, &b).await;

    let detailed: Value = b
        .platform(Method::GET, "/api/health/detailed")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        detailed["rate_limiter"], "redis",
        "Redis was in use: {detailed}"
    );
    b.stop().await;
    a.stop().await;
}

#[tokio::test]
async fn without_redis_a_node_sees_its_own_writes_at_once() {
    let app = spawn_app().await;
    writes_show_at_once(&app, &app).await;
    app.stop().await;
}

#[tokio::test]
async fn when_redis_is_down_reads_bypass_the_cache_and_stay_correct() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let app = spawn_app_with(|s| {
        s.redis_url = Some(storekeep::config::Secret::new(format!(
            "redis://127.0.0.1:{port}"
        )))
    })
    .await;
    let (owner, _) = shop(&app, "acme", None).await;
    let product = simple(&app, "acme", &owner, "Dell Latitude 7490", "LAT-1", 30000).await;
    let id = product["id"].as_str().unwrap();
    let list = "/api/v1/store/products";
    for _ in 0..2 {
        let read = store_get(&app, "acme", list).await;
        assert_eq!(read.status, 200);
        assert_eq!(
            read.cache, "MISS",
            "nothing is served from a cache nobody can invalidate"
        );
        assert_eq!(titles(&read.body), ["Dell Latitude 7490"]);
    }
    patch_product(
        &app,
        "acme",
        &owner,
        id,
        json!({"title": "Dell Latitude 7480"}),
    )
    .await;
    assert_eq!(
        titles(&store_get(&app, "acme", list).await.body),
        ["Dell Latitude 7480"]
    );
    let detailed: Value = app
        .platform(Method::GET, "/api/health/detailed")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(detailed["read_cache"], "redis (unavailable: bypassed)");
    assert_eq!(detailed["media_store"], "local");
    app.stop().await;
}

#[tokio::test]
async fn with_the_cache_turned_off_every_read_goes_to_the_database() {
    let app = spawn_app_with(|s| s.cache_max_bytes = 0).await;
    let (owner, _) = shop(&app, "acme", None).await;
    simple(&app, "acme", &owner, "Dock", "DOCK-1", 100).await;
    for _ in 0..2 {
        let read = store_get(&app, "acme", "/api/v1/store/products").await;
        assert_eq!((read.status, read.cache.as_str()), (200, "MISS"));
        assert_eq!(titles(&read.body), ["Dock"]);
    }
    let detailed: Value = app
        .platform(Method::GET, "/api/health/detailed")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(detailed["read_cache"], "off");
    app.stop().await;
}
