//! `storekeep backup`, run as an operator runs it, on SQLite and
//! PostgreSQL: create → list → verify → restore; a backup taken while a
//! server takes orders restores every order acknowledged before it
//! began; damaged, truncated, wrongly keyed and too-new backups are
//! refused with the database unchanged; a live database is not replaced
//! without `--force`; prune deletes what the policy says.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use storekeep_test_support::{TestDb, storekeep_command};

use crate::BIN;
use crate::crash_support::{Api, audit_intact, call, cli, expect, serve, shop_with_owner};

/// On PostgreSQL the tests need `pg_dump` and `pg_restore`: skipped when
/// missing, unless `STOREKEEP_TEST_REQUIRE_TOOLS` is set.
pub(crate) fn tools_ready(db: &TestDb) -> bool {
    if db.is_sqlite() {
        return true;
    }
    let on_path = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("pg_dump").is_file()));
    let packaged = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .any(|e| e.path().join("bin/pg_dump").is_file());
    let found = on_path || packaged;
    if !found {
        assert!(
            std::env::var("STOREKEEP_TEST_REQUIRE_TOOLS").is_err(),
            "pg_dump is required (STOREKEEP_TEST_REQUIRE_TOOLS is set) but not installed"
        );
        eprintln!("skipping: pg_dump is not installed");
    }
    found
}

/// Runs a `storekeep` command that may fail.
fn run(db: &TestDb, args: &[&str]) -> Output {
    storekeep_command(BIN, db).args(args).output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub(crate) fn backups_dir(db: &TestDb) -> PathBuf {
    db.dir.path().join("backups")
}

/// `backup create --json`: the manifest.
fn create(db: &TestDb) -> Value {
    let out = cli(db, &["backup", "create", "--json"]);
    serde_json::from_slice(&out.stdout).expect("create --json prints the manifest")
}

/// The shops' slugs, sorted.
pub(crate) fn slugs(db: &TestDb) -> Vec<String> {
    let out = cli(db, &["tenant", "list", "--json"]);
    let mut slugs: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["slug"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    slugs.sort();
    slugs
}

#[tokio::test]
async fn a_backup_lists_verifies_and_restores_over_later_changes() {
    let db = TestDb::new().await;
    if !tools_ready(&db) {
        return;
    }
    shop_with_owner(&db);
    let image = upload_an_image(&db).await;
    let manifest = create(&db);
    let id = manifest["id"].as_str().unwrap();
    assert_eq!(manifest["format"], 1);
    let objects = manifest["media"]["objects"].as_array().unwrap();
    assert!(
        objects.contains(&json!({"key": image, "bytes": PNG.len(), "sha256": sha256_hex(PNG)})),
        "the image is referenced by its checksum: {objects:?}"
    );
    let stem = image.trim_end_matches(".png");
    assert_eq!(
        objects.len(),
        3,
        "and its two variants (1 px, PNG and WebP): {objects:?}"
    );
    assert!(
        objects
            .iter()
            .all(|o| o["key"].as_str().unwrap().starts_with(stem)),
        "{objects:?}"
    );
    assert_eq!(
        manifest["database"],
        if db.is_sqlite() { "sqlite" } else { "postgres" }
    );
    assert!(manifest["schema_version"].as_i64().unwrap() > 0);
    assert_eq!(manifest["tables"]["tenants"], 1);
    assert_eq!(manifest["archive"]["sha256"].as_str().unwrap().len(), 64);
    assert!(
        !manifest["audit_heads"].as_object().unwrap().is_empty(),
        "the audit chain heads are recorded"
    );
    let archive = backups_dir(&db).join(manifest["archive"]["file"].as_str().unwrap());
    let bytes = std::fs::read(&archive).unwrap();
    assert_eq!(
        bytes.len() as u64,
        manifest["archive"]["bytes"].as_u64().unwrap()
    );
    assert!(
        bytes.starts_with(b"age-encryption.org/v1"),
        "the archive is age-encrypted"
    );
    assert!(
        !bytes.windows(6).any(|w| w == b"crash@"),
        "nothing readable in the archive"
    );

    let listed = cli(&db, &["backup", "list", "--json"]);
    let listed: Vec<Value> = String::from_utf8_lossy(&listed.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(listed, vec![manifest.clone()]);
    let table = cli(&db, &["backup", "list"]);
    assert!(String::from_utf8_lossy(&table.stdout).contains(id));

    let verified = cli(&db, &["backup", "verify", "latest", "--json"]);
    let verified: Value = serde_json::from_slice(&verified.stdout).unwrap();
    assert_eq!(verified["id"], id);
    assert_eq!(verified["media_missing"], json!([]));
    // An image gone from the media store is reported, not hidden.
    let stored = db.dir.path().join("media").join(&image);
    std::fs::rename(&stored, db.dir.path().join("moved-image")).unwrap();
    let warned = cli(&db, &["backup", "verify", "latest", "--json"]);
    let warned_json: Value = serde_json::from_slice(&warned.stdout).unwrap();
    assert_eq!(warned_json["media_missing"], json!([image]));
    assert!(stderr(&warned).contains(&format!("media object {image} is missing")));
    std::fs::rename(db.dir.path().join("moved-image"), &stored).unwrap();

    // A change after the backup; restoring without --force is refused.
    cli(&db, &["tenant", "create", "later", "--name", "Later"]);
    let refused = run(&db, &["backup", "restore", id]);
    assert!(!refused.status.success());
    assert!(stderr(&refused).contains("--force"), "{}", stderr(&refused));
    assert_eq!(slugs(&db), ["crash", "later"], "nothing changed");

    let restored = cli(&db, &["backup", "restore", id, "--force", "--json"]);
    let restored: Value = serde_json::from_slice(&restored.stdout).unwrap();
    assert_eq!(restored["id"], id);
    assert_eq!(slugs(&db), ["crash"], "the database is the backup's");
    audit_intact(&db);
    if db.is_sqlite() {
        let aside = PathBuf::from(restored["previous"].as_str().unwrap());
        assert!(aside.is_file(), "the old database is kept aside");
    } else {
        assert!(
            restored["previous"]
                .as_str()
                .unwrap()
                .contains("pre_restore")
        );
    }
    // The restored database is one a server runs on.
    let (server, _) = serve(&db);
    let mut api = Api::new(&server);
    api.log_in().await;
    server.sigterm();
}

/// A later backup reads and hashes only media objects the previous one
/// did not list (keys are never rewritten): an object it knew keeps that
/// checksum, even if its bytes changed in place since; `verify`, which
/// reads every object, reports that one.
#[tokio::test]
async fn a_later_backup_reuses_the_checksums_of_media_it_already_listed() {
    let db = TestDb::new().await;
    if !tools_ready(&db) {
        return;
    }
    shop_with_owner(&db);
    let image = upload_an_image(&db).await;
    let first = create(&db);
    let original = first["media"]["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["key"] == image.as_str())
        .cloned()
        .unwrap();
    assert_eq!(original["sha256"], sha256_hex(PNG));
    let stored = db.dir.path().join("media").join(&image);
    let mut bytes = std::fs::read(&stored).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&stored, &bytes).unwrap();

    let second = create(&db);
    assert_ne!(second["id"], first["id"]);
    assert_eq!(
        second["media"], first["media"],
        "the first backup's checksum, not the changed bytes'"
    );
    let verified = cli(&db, &["backup", "verify", "latest", "--json"]);
    let verified: Value = serde_json::from_slice(&verified.stdout).unwrap();
    assert_eq!(verified["media_missing"], json!([image]));
}

/// A 1×1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0A, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE,
    0x42, 0x60, 0x82,
];

/// A product with one image, through the API of a server that is then
/// stopped; the image's key in the media store.
async fn upload_an_image(db: &TestDb) -> String {
    let (server, _) = serve(db);
    let mut api = Api::new(&server);
    api.log_in().await;
    let p = expect(
        api.admin(Method::POST, "/api/v1/admin/products").json(
            &json!({"product": {"title": "Pictured", "variants": [
                {"sku": "PIC-1", "price": {"amount": 100, "currency": "USD"}}
            ]}}),
        ),
        201,
        "creating a product",
    )
    .await;
    let boundary = "backup-test-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\
         Content-Type: image/png\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(PNG);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let pid = p["product"]["id"].as_str().unwrap();
    let image = expect(
        api.admin(
            Method::POST,
            &format!("/api/v1/admin/products/{pid}/images"),
        )
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body),
        201,
        "uploading an image",
    )
    .await;
    server.sigterm();
    let _ = server.wait(Duration::from_secs(30));
    let url = image["image"]["url"].as_str().unwrap();
    url.strip_prefix("/media/").unwrap().to_owned()
}

/// A guest checking out in a loop until told to stop: each acknowledged
/// order's id and when the acknowledgement arrived.
async fn buyer(api: Api, variant: String, stop: Arc<AtomicBool>) -> Vec<(String, Instant)> {
    let mut acked = Vec::new();
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let Some((201, cart)) = call(
            api.shop(Method::POST, "/api/v1/store/carts")
                .json(&json!({"items": [{"variant_id": variant, "quantity": 1}]})),
        )
        .await
        else {
            panic!("making a cart failed");
        };
        let checkout = api
            .shop(
                Method::POST,
                &format!(
                    "/api/v1/store/carts/{}/checkout",
                    cart["cart"]["id"].as_str().unwrap()
                ),
            )
            .header("x-cart-token", cart["cart"]["token"].as_str().unwrap())
            .header("idempotency-key", uuid::Uuid::now_v7().to_string())
            .json(&json!({
                "email": format!("buyer{n}@example.com"),
                "shipping_address": {
                    "name": "Ada Lovelace", "line1": "1 Analytical Way", "city": "San Francisco",
                    "region": "CA", "postal_code": "94105", "country": "US"
                },
                "shipping_method": "standard",
                "payment_provider": "manual"
            }));
        let b = expect(checkout, 201, "checkout").await;
        acked.push((
            b["order"]["id"].as_str().unwrap().to_owned(),
            Instant::now(),
        ));
    }
    acked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_under_checkout_load_restores_every_order_acknowledged_before_it() {
    let db = TestDb::new().await;
    if !tools_ready(&db) {
        return;
    }
    shop_with_owner(&db);
    let (server, _) = serve(&db);
    let mut api = Api::new(&server);
    api.log_in().await;
    expect(
        api.admin(Method::PATCH, "/api/v1/admin/settings")
            .json(&json!({"settings": {
                "currency": "USD",
                "shipping_methods": [{"code": "standard", "name": "Standard", "price": 500}],
                "payment_timeout_secs": 86_400
            }})),
        200,
        "settings",
    )
    .await;
    let p = expect(
        api.admin(Method::POST, "/api/v1/admin/products")
            .json(&json!({"product": {
                "title": "Load", "status": "active",
                "variants": [{"sku": "LOAD-1", "inventory": 1_000_000,
                              "price": {"amount": 900, "currency": "USD"}}]
            }})),
        201,
        "creating a product",
    )
    .await;
    let variant = p["product"]["variants"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let stop = Arc::new(AtomicBool::new(false));
    let buyers: Vec<_> = (0..4)
        .map(|_| tokio::spawn(buyer(api.clone(), variant.clone(), stop.clone())))
        .collect();
    tokio::time::sleep(Duration::from_millis(700)).await;
    let began = Instant::now();
    let backup_db = TestDb::at(db.url.clone());
    let data_dir = db.dir.path().to_owned();
    let manifest = tokio::task::spawn_blocking(move || {
        let out = storekeep_command(BIN, &backup_db)
            .env("STOREKEEP_DATA_DIR", &data_dir)
            .current_dir(&data_dir)
            .args(["backup", "create", "--json"])
            .output()
            .unwrap();
        assert!(out.status.success(), "backup create: {}", stderr(&out));
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    let mut acked = Vec::new();
    for b in buyers {
        acked.extend(b.await.unwrap());
    }
    let before: Vec<&String> = acked
        .iter()
        .filter(|(_, at)| *at < began)
        .map(|(id, _)| id)
        .collect();
    let after = acked.len() - before.len();
    assert!(
        !before.is_empty(),
        "orders were acknowledged before the backup"
    );
    assert!(
        after > 0,
        "the server kept taking orders once the backup began"
    );
    assert!(manifest["tables"]["orders"].as_i64().unwrap() >= before.len() as i64);

    server.sigterm();
    let _ = server.wait(Duration::from_secs(30));
    cli(&db, &["backup", "restore", "latest", "--force"]);
    audit_intact(&db);
    let (server, _) = serve(&db);
    let api = api.on(&server);
    for id in before {
        expect(
            api.admin(Method::GET, &format!("/api/v1/admin/orders/{id}")),
            200,
            "an order acknowledged before the backup",
        )
        .await;
    }
    server.sigterm();
}

/// Rewrites the manifest of backup `id` with `change`.
fn edit_manifest(db: &TestDb, id: &str, change: impl FnOnce(&mut Value)) {
    let path = backups_dir(db).join(format!("{id}.manifest.json"));
    let mut m: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    change(&mut m);
    std::fs::write(&path, serde_json::to_vec(&m).unwrap()).unwrap();
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("{:x}", sha2::Sha256::digest(bytes))
}

/// Verify and restore --force both refuse, saying `why`, and the
/// database still holds both shops.
fn refused(db: &TestDb, why: &str, extra: &[&str]) {
    for cmd in [
        &["backup", "verify", "latest"][..],
        &["backup", "restore", "latest", "--force"],
    ] {
        let args: Vec<&str> = cmd.iter().chain(extra).copied().collect();
        let out = run(db, &args);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(
            stderr(&out).contains(why),
            "{args:?}: expected '{why}' in: {}",
            stderr(&out)
        );
        assert_eq!(
            slugs(db),
            ["crash", "later"],
            "{args:?} changed the database"
        );
    }
}

#[tokio::test]
async fn damaged_truncated_wrongly_keyed_and_newer_backups_are_refused_with_nothing_changed() {
    let db = TestDb::new().await;
    if !tools_ready(&db) {
        return;
    }
    shop_with_owner(&db);
    let manifest = create(&db);
    let id = manifest["id"].as_str().unwrap().to_owned();
    cli(&db, &["tenant", "create", "later", "--name", "Later"]);
    let archive = backups_dir(&db).join(manifest["archive"]["file"].as_str().unwrap());
    let good = std::fs::read(&archive).unwrap();
    let put = |bytes: &[u8], matching_manifest: bool| {
        std::fs::write(&archive, bytes).unwrap();
        let (len, sum) = if matching_manifest {
            (bytes.len() as u64, sha256_hex(bytes))
        } else {
            (good.len() as u64, sha256_hex(&good))
        };
        edit_manifest(&db, &id, |m| {
            m["archive"]["bytes"] = json!(len);
            m["archive"]["sha256"] = json!(sum);
        });
    };

    // One byte flipped, the manifest as it was: the checksum tells.
    let mut flipped = good.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x01;
    put(&flipped, false);
    refused(&db, "altered or truncated", &[]);
    // The same with a manifest forged to match: age's authentication tells.
    put(&flipped, true);
    refused(&db, "damaged or truncated", &[]);

    // Truncated, then truncated with a matching manifest.
    let cut = &good[..good.len() - 100];
    put(cut, false);
    refused(&db, "altered or truncated", &[]);
    put(cut, true);
    refused(&db, "damaged or truncated", &[]);

    // Another identity.
    put(&good, false);
    let other = cli(&db, &["backup", "keygen"]);
    let other_file = db.dir.path().join("other-identity");
    std::fs::write(&other_file, &other.stdout).unwrap();
    refused(
        &db,
        "wrong key",
        &["--identity", other_file.to_str().unwrap()],
    );

    // A schema version from the future; then a newer format.
    edit_manifest(&db, &id, |m| {
        m["schema_version"] = json!(99_991_231_000_000_i64)
    });
    refused(&db, "newer than this storekeep", &[]);
    edit_manifest(&db, &id, |m| {
        m["schema_version"] = manifest["schema_version"].clone();
        m["format"] = json!(2);
    });
    refused(&db, "format 2", &[]);

    // Put right, it verifies.
    edit_manifest(&db, &id, |m| m["format"] = json!(1));
    cli(&db, &["backup", "verify", &id]);
}

#[tokio::test]
async fn prune_deletes_exactly_what_the_policy_lets_go() {
    let db = TestDb::new().await;
    if !tools_ready(&db) {
        return;
    }
    shop_with_owner(&db);
    const DAY: i64 = 86_400;
    let now = chrono::Utc::now().timestamp();
    let yesterday_noon = now - now.rem_euclid(DAY) - DAY + 12 * 3600;
    // Newest; older the same day (pruned); three days ago; ten days ago
    // (past the policy's week: pruned).
    let times = [
        yesterday_noon,
        yesterday_noon - 3600,
        yesterday_noon - 3 * DAY,
        yesterday_noon - 10 * DAY,
    ];
    let mut ids = Vec::new();
    for t in times {
        let id = create(&db)["id"].as_str().unwrap().to_owned();
        let at = chrono::DateTime::from_timestamp(t, 0).unwrap();
        edit_manifest(&db, &id, |m| m["created_at"] = json!(at));
        ids.push(id);
    }
    let policy = storekeep::backup::retention::parse_policy("1d:7d").unwrap();
    let kept = storekeep::backup::retention::keep(&policy, &times, now);
    assert_eq!(kept, [true, false, true, false]);

    let with_policy = |args: &[&str]| {
        let out = storekeep_command(BIN, &db)
            .env("STOREKEEP_BACKUP_KEEP", "1d:7d")
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let dry = with_policy(&["backup", "prune", "--dry-run"]);
    assert!(dry.contains(&format!("would delete {}", ids[1])), "{dry}");
    assert!(dry.contains(&format!("would delete {}", ids[3])), "{dry}");
    assert!(dry.contains("2 backup(s) would be deleted"), "{dry}");
    let files = |dir: &Path| std::fs::read_dir(dir).unwrap().count();
    assert_eq!(files(&backups_dir(&db)), 8, "a dry run deletes nothing");

    with_policy(&["backup", "prune", "--json"]);
    let left = cli(&db, &["backup", "list", "--json"]);
    let left: Vec<String> = String::from_utf8_lossy(&left.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(left, [ids[0].clone(), ids[2].clone()], "newest first");
    assert_eq!(files(&backups_dir(&db)), 4, "their archives went too");
}

/// A restore while a server still runs on the database stops before
/// changing anything: PostgreSQL refuses to rename a database with
/// sessions, and SQLite grants the exclusive lock only to a lone
/// connection.
#[tokio::test]
async fn a_restore_under_a_running_server_changes_nothing() {
    let db = TestDb::new().await;
    if !tools_ready(&db) {
        return;
    }
    shop_with_owner(&db);
    create(&db);
    cli(&db, &["tenant", "create", "later", "--name", "Later"]);
    let (server, _) = serve(&db);
    let out = run(&db, &["backup", "restore", "latest", "--force"]);
    assert!(!out.status.success());
    let why = if db.is_sqlite() {
        "another process (a running server?)"
    } else {
        "other session(s) are connected"
    };
    assert!(stderr(&out).contains(why), "{}", stderr(&out));
    assert!(stderr(&out).contains("nothing was changed"));
    assert_eq!(slugs(&db), ["crash", "later"], "nothing changed");
    let api = Api::new(&server);
    let (status, _) = call(api.shop(Method::GET, "/api/v1/store/products"))
        .await
        .unwrap();
    assert_eq!(status, 200, "the server still serves its database");
    server.sigterm();
    if db.is_sqlite() {
        let left: Vec<String> = std::fs::read_dir(db.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains("restor"))
            .collect();
        assert!(left.is_empty(), "no restore leftovers: {left:?}");
    }
}
