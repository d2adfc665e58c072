//! `storekeep export shop` / `storekeep import shop` (issue 16): a shop
//! built through the API on SQLite is exported and imported into this
//! pass's database (SQLite, or PostgreSQL on the PostgreSQL pass), which
//! already holds another shop; the moved shop answers the same API bodies,
//! ids included, its audit chain verifies, and the other shop is
//! untouched. Clashing, damaged, newer and wrongly keyed archives are
//! refused with nothing written (that test moves a shop between two
//! databases of the pass's own kind).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Output;

use reqwest::Method;
use serde_json::{Value, json};
use storekeep_test_support::{TestApp, TestDb, spawn_app_on, storekeep_command};

use crate::catalog_support::{body, create, png, product_json, upload};
use crate::commerce_support::{
    Shop, cart_req, cart_with, checkout, checkout_body, create_deal, selling_shop,
};
use crate::console_support::todays_sales_row;
use crate::identity::{admin, customer_token, register, token};
use crate::web_support::serve_at_base;

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_storekeep");
const CUSTOMER: &str = "ada@moving.example";

/// A SQLite database in a folder of its own, whatever this pass's
/// database is: the source of every move.
pub(crate) fn sqlite_db() -> TestDb {
    let mut db = TestDb::at("sqlite:");
    db.url = format!("sqlite://{}", db.dir.path().join("storekeep.db").display());
    db
}

pub(crate) fn run(db: &TestDb, args: &[&str]) -> Output {
    storekeep_command(BIN, db).args(args).output().unwrap()
}

pub(crate) fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub(crate) fn ok(db: &TestDb, args: &[&str]) -> Output {
    let out = run(db, args);
    assert!(out.status.success(), "storekeep {args:?}: {}", stderr(&out));
    out
}

pub(crate) async fn get(req: reqwest::RequestBuilder) -> Value {
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let url = resp.url().to_string();
    let b = body(resp).await;
    assert_eq!(status, 200, "{url}: {b}");
    b
}

/// What the test built: the shop's ids.
pub(crate) struct Built {
    pub(crate) shop: Shop,
    laptop: String,
    orders: Vec<String>,
    contract: String,
}

/// A shop with two products (one with an image, one of two variants), a
/// coupon, a webhook endpoint, a customer with an order, a paid guest
/// order and a paid rental contract, all made through the API.
pub(crate) async fn build_shop(app: &TestApp, slug: &str) -> Built {
    let shop = selling_shop(app, slug, 2_500, 50).await;
    let resp = upload(
        app,
        slug,
        &shop.token,
        &shop.product,
        &png(4, 3),
        "image/png",
    )
    .await;
    assert_eq!(resp.status(), 201, "{}", body(resp).await);
    let laptop = create(
        app,
        slug,
        &shop.token,
        &product_json("Laptop stand", &[("MV-S", 4_000, 5), ("MV-L", 6_000, 5)]),
    )
    .await;
    create_deal(
        app,
        &shop,
        json!({"name": "Movers", "percent_off": 10, "applies_to": "order", "code": "move10"}),
    )
    .await;
    let hook = admin(app, slug, &shop.token, Method::POST, "/api/v1/admin/webhooks")
        .json(&json!({"webhook": {"url": "http://127.0.0.1:9/hook", "description": "ERP", "events": ["order.refunded"]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(hook.status(), 201, "{}", body(hook).await);
    assert_eq!(register(app, slug, CUSTOMER).await.status(), 201);
    let customer = customer_token(app, slug, CUSTOMER).await;
    let mut orders = Vec::new();
    // The customer's order, left awaiting payment.
    let (cart, cart_token) = cart_with(app, slug, &[(&shop.variant, 2)]).await;
    let resp = cart_req(
        app,
        slug,
        &cart_token,
        Method::POST,
        &format!("/api/v1/store/carts/{cart}/checkout"),
    )
    .bearer_auth(&customer)
    .header("idempotency-key", uuid::Uuid::now_v7().to_string())
    .json(&checkout_body(CUSTOMER))
    .send()
    .await
    .unwrap();
    let b = body(resp).await;
    orders.push(
        b["order"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{b}"))
            .to_owned(),
    );
    // A guest's order with the coupon, paid.
    let (cart, cart_token) = cart_with(app, slug, &[(&shop.variant, 1)]).await;
    let resp = cart_req(
        app,
        slug,
        &cart_token,
        Method::PATCH,
        &format!("/api/v1/store/carts/{cart}"),
    )
    .json(&json!({"coupon_code": "MOVE10"}))
    .send()
    .await
    .unwrap();
    assert_eq!(resp.status(), 200, "{}", body(resp).await);
    let resp = checkout(
        app,
        slug,
        &cart,
        &cart_token,
        "guest-1",
        &checkout_body("guest@example.com"),
    )
    .await;
    let b = body(resp).await;
    let paid = b["order"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{b}"))
        .to_owned();
    let resp = admin(
        app,
        slug,
        &shop.token,
        Method::POST,
        &format!("/api/v1/admin/orders/{paid}/mark-paid"),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(resp.status(), 200, "{}", body(resp).await);
    orders.push(paid);
    let variant = laptop["variants"][1]["id"].as_str().unwrap();
    let contract =
        crate::rentals_contract_support::seed_contract(app, slug, &shop.token, &customer, variant)
            .await;
    Built {
        shop,
        laptop: laptop["id"].as_str().unwrap().to_owned(),
        orders,
        contract,
    }
}

/// The API's answers about the shop, path by path, as a visitor, the
/// owner and the customer see them (each signing in afresh: sessions do
/// not travel).
pub(crate) async fn views(app: &TestApp, slug: &str, built: &Built) -> Vec<(String, Value)> {
    let owner = token(app, Some(slug), &format!("owner@{slug}.example"), "staff").await;
    let customer = customer_token(app, slug, CUSTOMER).await;
    let s = &built.shop;
    let mut out = Vec::new();
    for path in [
        "/api/v1/store/products".to_owned(),
        format!("/api/v1/store/products/{}", s.product),
        format!("/api/v1/store/products/{}", built.laptop),
        "/api/v1/store/search?q=thinkpad".to_owned(),
        "/api/v1/store/search?q=stand".to_owned(),
    ] {
        out.push((path.clone(), get(app.shop(slug, Method::GET, &path)).await));
    }
    let mut admin_paths = vec![
        "/api/v1/admin/products".to_owned(),
        format!("/api/v1/admin/products/{}", s.product),
        "/api/v1/admin/orders".to_owned(),
        "/api/v1/admin/deals".to_owned(),
        "/api/v1/admin/webhooks".to_owned(),
        "/api/v1/admin/settings".to_owned(),
        "/api/v1/admin/rental-contracts".to_owned(),
        format!("/api/v1/admin/rental-contracts/{}", built.contract),
        format!("/api/v1/admin/rental-contracts/{}/buyout", built.contract),
    ];
    admin_paths.extend(
        built
            .orders
            .iter()
            .map(|o| format!("/api/v1/admin/orders/{o}")),
    );
    for path in admin_paths {
        out.push((
            path.clone(),
            get(admin(app, slug, &owner, Method::GET, &path)).await,
        ));
    }
    let mine = get(app
        .shop(slug, Method::GET, "/api/v1/store/orders")
        .bearer_auth(&customer))
    .await;
    out.push(("customer: /api/v1/store/orders".into(), mine));
    // The image, byte for byte.
    let product = &out
        .iter()
        .find(|(p, _)| p.starts_with("/api/v1/admin/products/"))
        .unwrap()
        .1;
    let url = product["product"]["images"][0]["url"]
        .as_str()
        .unwrap_or_else(|| panic!("an image: {product}"));
    let bytes = app.get(url).await.bytes().await.unwrap();
    out.push((url.to_owned(), json!(bytes.to_vec())));
    // The audit log as it stood before anyone signed in on this server.
    let log = get(admin(
        app,
        slug,
        &owner,
        Method::GET,
        "/api/v1/admin/audit-log?limit=200",
    ))
    .await;
    out.push(("/api/v1/admin/audit-log".into(), log));
    out
}

/// The entries of an audit-log page made before the moment `cut` (an
/// entry's `at`), oldest first: sign-ins on the target come after.
pub(crate) fn audit_before(log: &Value, cut: &str) -> Vec<Value> {
    let mut entries: Vec<Value> = log["items"]
        .as_array()
        .unwrap_or_else(|| panic!("an audit page: {log}"))
        .iter()
        .filter(|e| e["at"].as_str().is_some_and(|at| at <= cut))
        .cloned()
        .collect();
    entries.sort_by_key(|e| e["seq"].as_i64());
    entries
}

/// Asserts two [`views`] of a shop are alike, ids included; of the audit
/// log, the entries made before `before` was taken (the sign-ins of
/// `views` on the target come after).
pub(crate) fn assert_same_views(before: &[(String, Value)], after: &[(String, Value)]) {
    assert_eq!(before.len(), after.len());
    for ((path, was), (_, now)) in before.iter().zip(after) {
        if path == "/api/v1/admin/audit-log" {
            let cut = audit_before(was, "9999").last().unwrap()["at"]
                .as_str()
                .unwrap()
                .to_owned();
            assert_eq!(audit_before(was, &cut), audit_before(now, &cut), "{path}");
            assert!(!audit_before(was, &cut).is_empty());
        } else {
            assert_eq!(was, now, "{path} differs after the move");
        }
    }
}

/// The export of `slug` from `db`, written into `dir`.
pub(crate) fn export(db: &TestDb, slug: &str, dir: &Path) -> PathBuf {
    let file = dir.join(format!("{slug}.tar.zst"));
    let out = ok(
        db,
        &[
            "export",
            "shop",
            "--tenant",
            slug,
            "-o",
            file.to_str().unwrap(),
            "--json",
        ],
    );
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["shop"]["slug"], slug, "{summary}");
    file
}

#[tokio::test]
async fn a_shop_moved_from_sqlite_answers_the_same_and_verifies_its_audit_chain() {
    // Arrange: the shop on SQLite, and what its API answers there.
    let source = spawn_app_on(sqlite_db(), |s| {
        s.webhooks.allow_networks = vec!["127.0.0.1/32".parse().unwrap()];
        serve_at_base(s);
    })
    .await;
    let built = build_shop(&source, "moving").await;
    let before = views(&source, "moving", &built).await;
    // The sales counters stay behind (portable::registry::EXCLUDED): the
    // import's inserts of the orders rebuild them.
    let sales = todays_sales_row(&source, "moving").await;
    assert!(
        sales.contains("data-orders-today>3<"),
        "the customer's, the coupon's and the rental's orders: {sales}"
    );
    let work = tempfile::tempdir().unwrap();
    let file = export(&source.db, "moving", work.path());
    source.stop().await;

    // The target (this pass's database) already holds another shop.
    let target = spawn_app_on(TestDb::new().await, serve_at_base).await;
    let other = selling_shop(&target, "staying", 1_000, 3).await;
    let staying = |app: &TestApp| {
        let req = app.shop("staying", Method::GET, "/api/v1/store/products");
        async move { get(req).await }
    };
    let other_before = staying(&target).await;

    // Act
    let out = ok(
        &target.db,
        &["import", "shop", file.to_str().unwrap(), "--json"],
    );

    // Assert: every answer alike, ids included.
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["shop"]["slug"], "moving");
    assert_eq!(
        summary["images"], 3,
        "the image and its two variants: {summary}"
    );
    let after = views(&target, "moving", &built).await;
    assert_same_views(&before, &after);
    assert_eq!(todays_sales_row(&target, "moving").await, sales);
    let found = &after
        .iter()
        .find(|(p, _)| p == "/api/v1/store/search?q=thinkpad")
        .unwrap()
        .1;
    assert_eq!(
        found["items"].as_array().map(Vec::len),
        Some(1),
        "search works: {found}"
    );
    let chains = ok(&target.db, &["audit", "verify"]);
    assert!(String::from_utf8_lossy(&chains.stdout).contains("audit log intact"));
    assert_eq!(
        staying(&target).await,
        other_before,
        "the other shop is untouched"
    );
    assert_eq!(other.slug, "staying");
    target.stop().await;
}

/// The archive's members, to edit one and write them back.
pub(crate) fn members(file: &Path) -> Vec<(String, Vec<u8>)> {
    let raw = std::fs::read(file).unwrap();
    let tar = zstd::decode_all(&raw[..]).unwrap();
    let mut archive = tar::Archive::new(&tar[..]);
    let mut out = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        out.push((name, bytes));
    }
    out
}

pub(crate) fn rewrite(file: &Path, to: &Path, edit: impl FnOnce(&mut Vec<(String, Vec<u8>)>)) {
    let mut all = members(file);
    edit(&mut all);
    let mut tar = tar::Builder::new(Vec::new());
    for (name, bytes) in &all {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o600);
        tar.append_data(&mut header, name, &bytes[..]).unwrap();
    }
    let tar = tar.into_inner().unwrap();
    std::fs::write(to, zstd::encode_all(&tar[..], 3).unwrap()).unwrap();
}

pub(crate) fn edit_manifest(all: &mut [(String, Vec<u8>)], change: impl FnOnce(&mut Value)) {
    let m = all.iter_mut().find(|(n, _)| n == "manifest.json").unwrap();
    let mut manifest: Value = serde_json::from_slice(&m.1).unwrap();
    change(&mut manifest);
    m.1 = serde_json::to_vec(&manifest).unwrap();
}

/// Edits the rows of `table` and promises the edit in the manifest (its
/// row count and SHA-256), as a forger would.
pub(crate) fn edit_table(
    all: &mut [(String, Vec<u8>)],
    table: &str,
    change: impl FnOnce(&mut Vec<Value>),
) {
    let name = format!("tables/{table}.jsonl");
    let t = all.iter_mut().find(|(n, _)| *n == name).unwrap();
    let mut rows: Vec<Value> = String::from_utf8(t.1.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    change(&mut rows);
    t.1 = rows
        .iter()
        .map(|r| format!("{r}\n"))
        .collect::<String>()
        .into_bytes();
    let (count, size) = (rows.len(), t.1.len());
    let sha = storekeep::portable::archive::sha256_hex(&t.1);
    edit_manifest(all, |m| {
        m["tables"][table]["rows"] = json!(count);
        m["tables"][table]["sha256"] = json!(sha);
        m["tables"][table]["bytes"] = json!(size);
    });
}

/// Everything the target holds that an import would change: the shops
/// and the platform's audit log as the API shows them, the image files,
/// and the row count of every table an archive carries (users, plans,
/// API keys, orders…), as `storekeep export all --json` counts them.
pub(crate) async fn state(app: &TestApp) -> Value {
    let tenants = get(app.platform(Method::GET, "/api/v1/platform/tenants")).await;
    let audit = get(app.platform(Method::GET, "/api/v1/platform/audit-log")).await;
    let media = walk(&app.db.dir.path().join("media"));
    json!({"tenants": tenants, "audit": audit, "media": media, "rows": row_counts(&app.db)})
}

/// Every table's row count, by `storekeep export all --json`.
pub(crate) fn row_counts(db: &TestDb) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("count.tar.zst");
    let out = ok(
        db,
        &["export", "all", "-o", file.to_str().unwrap(), "--json"],
    );
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    summary["tables"].clone()
}

pub(crate) fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.path().is_dir() {
                out.extend(walk(&e.path()));
            } else {
                out.push(e.path().display().to_string());
            }
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn clashing_damaged_newer_and_wrongly_keyed_archives_are_refused_with_nothing_written() {
    // The source is this pass's database: SQLite → SQLite, or PostgreSQL
    // → PostgreSQL.
    let source = spawn_app_on(TestDb::new().await, |_| {}).await;
    let shop = selling_shop(&source, "boxed", 1_500, 4).await;
    let resp = upload(
        &source,
        "boxed",
        &shop.token,
        &shop.product,
        &png(2, 2),
        "image/png",
    )
    .await;
    assert_eq!(resp.status(), 201);
    let work = tempfile::tempdir().unwrap();
    let file = export(&source.db, "boxed", work.path());
    let listed = get(source.shop("boxed", Method::GET, "/api/v1/store/products")).await;
    source.stop().await;
    let target = spawn_app_on(TestDb::new().await, |_| {}).await;
    selling_shop(&target, "here", 1_000, 1).await;
    let path = |name: &str| work.path().join(name);

    // A damaged table file, a newer format, a newer schema: refused even
    // before the shop exists here.
    rewrite(&file, &path("tampered.tar.zst"), |all| {
        let t = all
            .iter_mut()
            .find(|(n, _)| n == "tables/products.jsonl")
            .unwrap();
        t.1 = String::from_utf8(t.1.clone())
            .unwrap()
            .replace("Refurbished", "Factory-new") // same size
            .into_bytes();
    });
    rewrite(&file, &path("format.tar.zst"), |all| {
        edit_manifest(all, |m| m["format_version"] = json!(2));
    });
    rewrite(&file, &path("schema.tar.zst"), |all| {
        edit_manifest(all, |m| {
            m["schema_version"] = json!(m["schema_version"].as_i64().unwrap() + 1)
        });
    });
    rewrite(&file, &path("extra.tar.zst"), |all| {
        all.push(("tables/extra.jsonl".into(), vec![b'x'; 1 << 20]));
    });
    let untouched = state(&target).await;
    for (name, why) in [
        ("extra.tar.zst", "which its manifest does not list"),
        ("tampered.tar.zst", "does not match the manifest's SHA-256"),
        ("format.tar.zst", "archive format 2"),
        ("schema.tar.zst", "is newer than this database's"),
    ] {
        let out = run(
            &target.db,
            &["import", "shop", path(name).to_str().unwrap()],
        );
        assert!(!out.status.success(), "{name} was imported");
        assert!(stderr(&out).contains(why), "{name}: {}", stderr(&out));
        assert_eq!(state(&target).await, untouched, "{name} changed the target");
    }

    // Other encryption keys: the shop's sealed data could not be opened.
    let out = storekeep_command(BIN, &target.db)
        .env(
            "STOREKEEP_ENCRYPTION_KEYS",
            "other1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        )
        .args(["import", "shop", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("keyring lacks"), "{}", stderr(&out));
    let out = storekeep_command(BIN, &target.db)
        .env(
            "STOREKEEP_ENCRYPTION_BLIND_INDEX_KEY",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        )
        .args(["import", "shop", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("blind-index key"), "{}", stderr(&out));
    assert_eq!(
        state(&target).await,
        untouched,
        "a wrongly keyed import changed the target"
    );

    // The archive itself goes in once; a second time it clashes.
    ok(&target.db, &["import", "shop", file.to_str().unwrap()]);
    let imported = state(&target).await;
    assert_ne!(imported, untouched);
    let moved = get(target.shop("boxed", Method::GET, "/api/v1/store/products")).await;
    assert_eq!(moved, listed);
    let chains = ok(&target.db, &["audit", "verify"]);
    assert!(String::from_utf8_lossy(&chains.stdout).contains("audit log intact"));
    let out = run(&target.db, &["import", "shop", file.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("the slug 'boxed' is taken"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        state(&target).await,
        imported,
        "a refused import changed the target"
    );
    target.stop().await;
}

/// Every column of this pass's database, as the portable registry sees it.
async fn columns(db: &TestDb) -> Vec<(String, String, String)> {
    if db.is_sqlite() {
        storekeep_store_sqlite::portable::columns(&db.url)
            .await
            .unwrap()
    } else {
        storekeep_store_postgres::portable::columns(&db.url)
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn the_portable_registry_knows_every_table_and_column_of_the_schema() {
    let db = TestDb::new().await;
    ok(&db, &["migrate"]);
    let problems = storekeep_store_sql::portable::drift(&columns(&db).await);
    assert!(
        problems.is_empty(),
        "the registry is stale:\n{}",
        problems.join("\n")
    );

    // A migration adding a column or a table makes it fail.
    let statements = [
        "ALTER TABLE products ADD COLUMN subtitle TEXT",
        "CREATE TABLE loyalty_points (id TEXT PRIMARY KEY, points BIGINT)",
    ];
    if db.is_sqlite() {
        let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&db.url)
            .await
            .unwrap();
        for s in statements {
            sqlx::query(s).execute(&mut conn).await.unwrap();
        }
    } else {
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&db.url)
            .await
            .unwrap();
        for s in statements {
            sqlx::query(s).execute(&mut conn).await.unwrap();
        }
    }
    let problems = storekeep_store_sql::portable::drift(&columns(&db).await);
    assert!(
        problems.iter().any(|p| p.contains("products.subtitle")),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("loyalty_points")),
        "{problems:?}"
    );
    // An export refuses rather than leave data behind unseen.
    let out = run(
        &db,
        &[
            "export",
            "shop",
            "--tenant",
            "none",
            "-o",
            db.dir.path().join("x.tar.zst").to_str().unwrap(),
        ],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("products.subtitle"),
        "{}",
        stderr(&out)
    );
}
/// A forged archive (its manifest's SHA-256 recomputed) that reaches into
/// another shop here is refused, with nothing written.
#[tokio::test]
async fn archives_forged_to_reach_another_shop_are_refused_with_nothing_written() {
    let source = spawn_app_on(TestDb::new().await, |_| {}).await;
    selling_shop(&source, "forged", 1_500, 4).await;
    let work = tempfile::tempdir().unwrap();
    let file = export(&source.db, "forged", work.path());
    source.stop().await;
    let target = spawn_app_on(TestDb::new().await, |_| {}).await;
    selling_shop(&target, "victim", 1_000, 1).await;
    let victim = get(target.platform(Method::GET, "/api/v1/platform/tenants/victim")).await;
    let victim_id = victim["tenant"]["id"].as_str().unwrap().to_owned();
    let path = |name: &str| work.path().join(name);

    // An admin API key for the victim shop, and audit entries on the
    // platform's chain.
    rewrite(&file, &path("key.tar.zst"), |all| {
        edit_table(all, "api_keys", |rows| {
            rows.push(json!({
                "id": "0b9c7a52-2f4e-4c55-9d1e-3f0c2a7b8e11",
                "tenant_id": victim_id,
                "name": "planted",
                "prefix": "sk_planted",
                "key_hash": "0000000000000000000000000000000000000000000000000000000000000000",
                "scopes": "admin",
                "created_by": "forger",
                "created_at": "2026-01-01T00:00:00Z",
                "last_used_at": null,
                "revoked_at": null,
            }));
        });
    });
    rewrite(&file, &path("platform.tar.zst"), |all| {
        edit_table(all, "audit_log", |rows| {
            for row in rows.iter_mut() {
                row["scope"] = json!("platform");
                row["seq"] = json!(row["seq"].as_i64().unwrap() + 1_000_000);
            }
        });
    });
    let untouched = state(&target).await;
    for name in ["key.tar.zst", "platform.tar.zst"] {
        let out = run(
            &target.db,
            &["import", "shop", path(name).to_str().unwrap()],
        );
        assert!(!out.status.success(), "{name} was imported");
        assert!(
            stderr(&out).contains("rows that are not the shop's own"),
            "{name}: {}",
            stderr(&out)
        );
        assert_eq!(state(&target).await, untouched, "{name} changed the target");
    }
    target.stop().await;
}

/// An archive whose image is another shop's existing image is refused,
/// and that image is unchanged.
#[tokio::test]
async fn an_archive_naming_another_shops_image_is_refused_and_the_image_unchanged() {
    let source = spawn_app_on(TestDb::new().await, |_| {}).await;
    let shop = selling_shop(&source, "pictured", 1_500, 4).await;
    let resp = upload(
        &source,
        "pictured",
        &shop.token,
        &shop.product,
        &png(2, 2),
        "image/png",
    )
    .await;
    assert_eq!(resp.status(), 201);
    let work = tempfile::tempdir().unwrap();
    let file = export(&source.db, "pictured", work.path());
    source.stop().await;
    let target = spawn_app_on(TestDb::new().await, |_| {}).await;
    let victim = selling_shop(&target, "victim", 1_000, 1).await;
    let resp = upload(
        &target,
        "victim",
        &victim.token,
        &victim.product,
        &png(3, 3),
        "image/png",
    )
    .await;
    assert_eq!(resp.status(), 201);
    let root = target.db.dir.path().join("media");
    let image = walk(&root).pop().expect("the victim's image is stored");
    let victim_key = Path::new(&image)
        .strip_prefix(&root)
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let victim_bytes = std::fs::read(&image).unwrap();

    let forged = work.path().join("image.tar.zst");
    rewrite(&file, &forged, |all| {
        let mut ours = String::new();
        edit_table(all, "product_images", |rows| {
            ours = rows[0]["object_key"].as_str().unwrap().to_owned();
            rows[0]["object_key"] = json!(victim_key);
        });
        edit_manifest(all, |m| {
            let entry = m["media"][&ours].take();
            m["media"].as_object_mut().unwrap().remove(&ours);
            m["media"][&victim_key] = entry;
        });
        let member = all
            .iter_mut()
            .find(|(n, _)| *n == format!("media/{ours}"))
            .unwrap();
        member.0 = format!("media/{victim_key}");
    });
    let untouched = state(&target).await;
    let out = run(&target.db, &["import", "shop", forged.to_str().unwrap()]);
    assert!(!out.status.success(), "the forged archive was imported");
    assert!(
        stderr(&out).contains(&format!("image key {victim_key} is not its own shop's")),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        state(&target).await,
        untouched,
        "the import changed the target"
    );
    assert_eq!(
        std::fs::read(&image).unwrap(),
        victim_bytes,
        "the victim's image changed"
    );
    target.stop().await;
}
