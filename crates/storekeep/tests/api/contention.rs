//! A transaction PostgreSQL rolls back to break a deadlock is answered as a
//! retryable 503 problem, not a 500, and leaves nothing written; the same
//! request then passes. (SQLite serialises writers with `BEGIN IMMEDIATE`:
//! no deadlock to provoke there.)

use std::time::Duration;

use reqwest::Method;
use serde_json::json;
use sqlx::{Connection, PgConnection};
use storekeep_test_support::spawn_app;

use crate::catalog_support::{body, create, patch_product, product_json, shop};
use crate::commerce_support::{cart_req, cart_with, checkout_body, selling_shop, stock};
use crate::identity::admin;

/// Waits until some other session of the database waits for a lock.
async fn someone_waits_for_a_lock(conn: &mut PgConnection) {
    for _ in 0..300 {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid() \
             AND datname = current_database()",
        )
        .fetch_one(&mut *conn)
        .await
        .unwrap();
        if waiting > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the request never waited for the lock the test holds");
}

#[tokio::test]
async fn a_deadlock_victim_is_a_retryable_503_and_writes_nothing() {
    let app = std::sync::Arc::new(spawn_app().await);
    if app.db.is_sqlite() {
        eprintln!("skipped: PostgreSQL only (SQLite writers never deadlock)");
        return;
    }
    let (owner, tenant) = shop(&app, "jam", None).await;
    let product = create(
        &app,
        "jam",
        &owner,
        &product_json("Jar", &[("JAR-1", 500, 3)]),
    )
    .await;
    let id = product["id"].as_str().unwrap().to_owned();
    let scope = tenant["id"].as_str().unwrap().to_owned();

    // The test's own session holds the shop's audit chain head (the last
    // lock a product edit takes); its deadlock check waits longer than the
    // server's, so the server's transaction is the one PostgreSQL rolls back.
    let mut holder = PgConnection::connect(&app.db.url).await.unwrap();
    sqlx::query("SET deadlock_timeout = '60s'")
        .execute(&mut holder)
        .await
        .unwrap();
    sqlx::query("BEGIN").execute(&mut holder).await.unwrap();
    sqlx::query("SELECT seq FROM audit_heads WHERE scope = $1 FOR UPDATE")
        .bind(&scope)
        .fetch_one(&mut holder)
        .await
        .unwrap();

    // The edit locks the product, then waits for the audit head.
    let patch = {
        let app = app.clone();
        let (owner, path) = (owner.clone(), format!("/api/v1/admin/products/{id}"));
        tokio::spawn(async move {
            admin(&app, "jam", &owner, Method::PATCH, &path)
                .json(&json!({"product": {"title": "Renamed"}}))
                .timeout(Duration::from_secs(60))
                .send()
                .await
                .unwrap()
        })
    };
    let mut watcher = PgConnection::connect(&app.db.url).await.unwrap();
    someone_waits_for_a_lock(&mut watcher).await;
    // Asking for the product's row closes the cycle.
    let product_lock =
        sqlx::query("SELECT id FROM products WHERE CAST(id AS TEXT) = $1 FOR UPDATE")
            .bind(&id)
            .fetch_one(&mut holder);
    let (answer, locked) = tokio::join!(patch, product_lock);
    locked.expect("the test's session gets the product once the server's rolls back");
    sqlx::query("ROLLBACK").execute(&mut holder).await.unwrap();

    let answer = answer.unwrap();
    assert_eq!(answer.status(), 503, "a deadlock victim is retryable");
    let retry_after = answer.headers().get("retry-after").cloned();
    let content_type = answer.headers().get("content-type").cloned();
    let problem = body(answer).await;
    assert!(retry_after.is_some(), "Retry-After is set: {problem}");
    assert_eq!(
        content_type.unwrap(),
        "application/problem+json",
        "{problem}"
    );
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("nothing was written"),
        "{problem}"
    );
    let read = admin(
        &app,
        "jam",
        &owner,
        Method::GET,
        &format!("/api/v1/admin/products/{id}"),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(
        body(read).await["product"]["title"],
        "Jar",
        "nothing written"
    );

    // Retried, the same edit passes.
    let patched = patch_product(&app, "jam", &owner, &id, json!({"title": "Renamed"})).await;
    assert_eq!(patched["title"], "Renamed");
}

/// A PostgreSQL checkout batch (`commerce/batch.rs`) waits for a row lock
/// at most its lock timeout: while a product is held for long (an import,
/// a refund), the node's other checkouts still complete, and the one that
/// needs the product runs alone, waits, and completes once it is free.
#[tokio::test]
async fn a_held_product_stalls_its_own_checkout_not_the_nodes_batches() {
    let app = spawn_app().await;
    if app.db.is_sqlite() {
        eprintln!("skipped: PostgreSQL only (SQLite's writer holds no row locks)");
        return;
    }
    let held = selling_shop(&app, "hold", 800, 5).await;
    let other = create(
        &app,
        "hold",
        &held.token,
        &product_json("Dock", &[("HOLD-DOCK", 300, 5)]),
    )
    .await;
    let other_variant = other["variants"][0]["id"].as_str().unwrap().to_owned();
    let (held_cart, held_token) = cart_with(&app, "hold", &[(&held.variant, 1)]).await;
    let (free_cart, free_token) = cart_with(&app, "hold", &[(&other_variant, 1)]).await;
    let failures = "storekeep_checkout_batch_failures_total";
    let failed_before = app.metric(failures).await;

    let mut holder = PgConnection::connect(&app.db.url).await.unwrap();
    sqlx::query("BEGIN").execute(&mut holder).await.unwrap();
    sqlx::query("SELECT id FROM products WHERE CAST(id AS TEXT) = $1 FOR UPDATE")
        .bind(&held.product)
        .fetch_one(&mut holder)
        .await
        .unwrap();

    let checkout = |cart: String, token: String, key: &'static str| {
        let request = cart_req(
            &app,
            "hold",
            &token,
            Method::POST,
            &format!("/api/v1/store/carts/{cart}/checkout"),
        )
        .header("idempotency-key", key)
        .timeout(Duration::from_secs(120))
        .json(&checkout_body("hold@example.com"));
        tokio::spawn(async move { request.send().await.unwrap() })
    };
    let stalled = checkout(held_cart, held_token, "held");
    let mut watcher = PgConnection::connect(&app.db.url).await.unwrap();
    someone_waits_for_a_lock(&mut watcher).await;
    // The batch waiting for the held product gives up after its lock
    // timeout; this checkout completes while the product is still held.
    let free = checkout(free_cart, free_token, "free").await.unwrap();
    assert_eq!(free.status(), 201, "{}", body(free).await);
    assert!(
        !stalled.is_finished(),
        "the held product's checkout waits for it"
    );
    assert_eq!(app.metric(failures).await - failed_before, 1.0);

    sqlx::query("ROLLBACK").execute(&mut holder).await.unwrap();
    let done = stalled.await.unwrap();
    assert_eq!(done.status(), 201, "{}", body(done).await);
    assert_eq!(stock(&app, &held).await, (5, 1));
}
