//! `storekeep export all` / `storekeep import all` (issue 16): a platform
//! of two shops, plans, an operator and audit chains, built through the
//! API and the CLI on SQLite, is exported and imported into an empty
//! database of this pass's kind (SQLite, or PostgreSQL on the PostgreSQL
//! pass); it answers the same API bodies, ids included, every audit chain
//! verifies and the operator signs in with the same password. A target
//! that is not empty, and an archive of the other kind, are refused with
//! nothing written.

use std::path::{Path, PathBuf};

use reqwest::Method;
use serde_json::{Value, json};
use storekeep_test_support::{TestApp, TestDb, spawn_app_on, storekeep_command};

use crate::catalog_support::body;
use crate::identity::{PASSWORD, admin, cli_operator, now_unix, token, totp};
use crate::portable::{
    BIN, assert_same_views, audit_before, build_shop, edit_manifest, edit_table, get, ok, rewrite,
    row_counts, run, sqlite_db, state, stderr, views,
};

const OPERATOR: &str = "ops@platform.example";

/// What the platform API shows of the platform.
async fn platform_views(app: &TestApp) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for path in [
        "/api/v1/platform/tenants",
        "/api/v1/platform/plans",
        "/api/v1/platform/audit-log?limit=200",
    ] {
        out.push((path.to_owned(), get(app.platform(Method::GET, path)).await));
    }
    out
}

/// The credentials a shop's machines and its operator hold: an API key's
/// secret, an OAuth client's id and secret.
struct Credentials {
    api_key: String,
    client_id: String,
    client_secret: String,
}

/// An API key, an OAuth client and a custom domain for the shop `slug`,
/// made by its owner (`owner`: a session token) through the API.
async fn credentials(app: &TestApp, slug: &str, owner: &str) -> Credentials {
    let scopes = json!(["settings:read", "staff:read"]);
    let key = admin(app, slug, owner, Method::POST, "/api/v1/admin/api-keys")
        .json(&json!({"api_key": {"name": "ERP sync", "scopes": scopes}}))
        .send()
        .await
        .unwrap();
    assert_eq!(key.status(), 201);
    let key = body(key).await;
    let client = admin(
        app,
        slug,
        owner,
        Method::POST,
        "/api/v1/admin/oauth-clients",
    )
    .json(&json!({"oauth_client": {"name": "Warehouse", "scopes": scopes}}))
    .send()
    .await
    .unwrap();
    assert_eq!(client.status(), 201);
    let client = body(client).await;
    let resp = app
        .platform(Method::PATCH, &format!("/api/v1/platform/tenants/{slug}"))
        .json(&json!({"tenant": {"domains": [format!("shop.{slug}-moving.example")]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", body(resp).await);
    Credentials {
        api_key: key["secret"].as_str().unwrap().to_owned(),
        client_id: client["oauth_client"]["client_id"]
            .as_str()
            .unwrap()
            .to_owned(),
        client_secret: client["client_secret"].as_str().unwrap().to_owned(),
    }
}

/// What the shop's machines read with their credentials: the settings by
/// the API key, the staff by a token the OAuth client is granted; and the
/// shop as its custom domain addresses it.
async fn machine_views(app: &TestApp, slug: &str, creds: &Credentials) -> Vec<Value> {
    let settings = get(app
        .shop(slug, Method::GET, "/api/v1/admin/settings")
        .header("x-api-key", &creds.api_key))
    .await;
    let granted = app
        .request(Method::POST, "/api/v1/auth/oauth/token")
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", creds.client_id.as_str()),
            ("client_secret", creds.client_secret.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(granted.status(), 200, "the OAuth client is granted a token");
    let granted = body(granted).await;
    let staff = get(admin(
        app,
        slug,
        granted["access_token"].as_str().unwrap(),
        Method::GET,
        "/api/v1/admin/staff",
    ))
    .await;
    let by_domain = get(app
        .request(Method::GET, "/api/v1/store/products")
        .header("host", format!("shop.{slug}-moving.example")))
    .await;
    vec![settings, staff, by_domain]
}

/// The operator turns TOTP on; its secret and recovery codes.
async fn operator_mfa(app: &TestApp) -> (String, Vec<String>) {
    let session = token(app, None, OPERATOR, "operator").await;
    let enrol = app
        .request(Method::POST, "/api/v1/auth/mfa/totp")
        .bearer_auth(&session)
        .send()
        .await
        .unwrap();
    assert_eq!(enrol.status(), 200, "the operator enrols TOTP");
    let secret = body(enrol).await["secret"].as_str().unwrap().to_owned();
    let confirmed = app
        .request(Method::POST, "/api/v1/auth/mfa/totp/confirm")
        .bearer_auth(&session)
        .json(&json!({"code": totp(&secret, now_unix())}))
        .send()
        .await
        .unwrap();
    assert_eq!(confirmed.status(), 200);
    let codes = body(confirmed).await["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    (secret, codes)
}

/// The operator's sign-in with `extra` (a TOTP or recovery code) beside
/// the password; the status.
async fn operator_login(app: &TestApp, extra: Value) -> u16 {
    let mut login = json!({"email": OPERATOR, "password": PASSWORD, "account": "operator"});
    if let (Some(login), Some(extra)) = (login.as_object_mut(), extra.as_object()) {
        login.extend(extra.clone());
    }
    app.request(Method::POST, "/api/v1/auth/login")
        .json(&login)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// `storekeep export all` of `db` into `dir`, and its `--json` summary.
fn export_all(db: &TestDb, dir: &Path) -> (PathBuf, Value) {
    let file = dir.join("platform.tar.zst");
    let out = ok(
        db,
        &["export", "all", "-o", file.to_str().unwrap(), "--json"],
    );
    (file, serde_json::from_slice(&out.stdout).unwrap())
}

#[tokio::test]
async fn a_platform_moved_from_sqlite_answers_the_same_and_verifies_every_audit_chain() {
    // Arrange: two shops (with API keys, OAuth clients, custom domains), a
    // plan of the operator's own, the default plan changed, an operator
    // with TOTP and recovery codes; what the API answers about all of it.
    let source = spawn_app_on(sqlite_db(), |s| {
        s.webhooks.allow_networks = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    let resp = source
        .platform(Method::POST, "/api/v1/platform/plans")
        .json(&json!({"plan": {"name": "growth", "limits": {"max_products": 50000}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let resp = source
        .platform(Method::PATCH, "/api/v1/platform/plans/default")
        .json(&json!({"plan": {"limits": {"max_staff": 7}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    cli_operator(&source, OPERATOR).await;
    let north = build_shop(&source, "north").await;
    let south = build_shop(&source, "south").await;
    let resp = source
        .platform(Method::PATCH, "/api/v1/platform/tenants/south")
        .json(&json!({"tenant": {"plan": "growth"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let north_creds = credentials(&source, "north", &north.shop.token).await;
    let south_creds = credentials(&source, "south", &south.shop.token).await;
    let (secret, codes) = operator_mfa(&source).await;
    let north_machines = machine_views(&source, "north", &north_creds).await;
    let south_machines = machine_views(&source, "south", &south_creds).await;
    let north_before = views(&source, "north", &north).await;
    let south_before = views(&source, "south", &south).await;
    let platform_before = platform_views(&source).await;
    let work = tempfile::tempdir().unwrap();
    let (file, summary) = export_all(&source.db, work.path());
    source.stop().await;
    assert_eq!(
        summary["shops"].as_array().map(Vec::len),
        Some(2),
        "{summary}"
    );
    assert_eq!(
        summary["images"], 6,
        "two images, each with two variants: {summary}"
    );
    assert_eq!(summary["tables"]["plans"], 2, "{summary}");

    // Act: into an empty database of this pass's kind, then serve it.
    let target_db = TestDb::new().await;
    let out = ok(
        &target_db,
        &["import", "all", file.to_str().unwrap(), "--json"],
    );
    let imported: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(imported["shops"], summary["shops"], "{imported}");
    // What the target holds, counted afresh (not the archive's manifest),
    // is what the source held.
    assert_eq!(row_counts(&target_db), summary["tables"]);
    for table in [
        "api_keys",
        "oauth_clients",
        "tenant_domains",
        "recovery_codes",
    ] {
        assert!(
            summary["tables"][table].as_u64() > Some(0),
            "the platform built has {table}: {summary}"
        );
    }
    let target = spawn_app_on(target_db, |_| {}).await;

    // Assert: both shops, the platform and every chain are as they were.
    assert_same_views(&north_before, &views(&target, "north", &north).await);
    assert_same_views(&south_before, &views(&target, "south", &south).await);
    assert_eq!(
        north_machines,
        machine_views(&target, "north", &north_creds).await,
        "north's API key, OAuth client and domain"
    );
    assert_eq!(
        south_machines,
        machine_views(&target, "south", &south_creds).await,
        "south's API key, OAuth client and domain"
    );
    let platform_after = platform_views(&target).await;
    for ((path, was), (_, now)) in platform_before.iter().zip(&platform_after) {
        if path.starts_with("/api/v1/platform/audit-log") {
            // The operator's sign-ins on the target come after the cut.
            let cut = audit_before(was, "9999").last().unwrap()["at"]
                .as_str()
                .unwrap()
                .to_owned();
            assert!(!audit_before(was, &cut).is_empty());
            assert_eq!(audit_before(was, &cut), audit_before(now, &cut), "{path}");
        } else {
            assert_eq!(was, now, "{path} differs after the move");
        }
    }
    let plans = &platform_after[1].1;
    assert!(
        plans.to_string().contains("\"max_staff\":7"),
        "the source's default plan replaced the target's: {plans}"
    );
    let verified = ok(&target.db, &["audit", "verify"]);
    let verified = String::from_utf8_lossy(&verified.stdout).into_owned();
    assert!(verified.contains("audit log intact"), "{verified}");
    assert!(verified.contains("ok platform:"), "{verified}");
    for slug in ["north", "south"] {
        let t =
            get(target.platform(Method::GET, &format!("/api/v1/platform/tenants/{slug}"))).await;
        let id = t["tenant"]["id"].as_str().unwrap();
        assert!(verified.contains(&format!("ok {id}:")), "{id}: {verified}");
    }
    // The operator signs in with the same password and TOTP secret, or a
    // recovery code; not with the password alone.
    assert_ne!(
        operator_login(&target, json!({})).await,
        200,
        "MFA travelled"
    );
    let code = json!({"totp": totp(&secret, now_unix() + 30)});
    assert_eq!(
        operator_login(&target, code).await,
        200,
        "TOTP on the target"
    );
    let recovery = json!({"recovery_code": codes[0]});
    assert_eq!(
        operator_login(&target, recovery).await,
        200,
        "a recovery code"
    );
    let resp = target
        .request(Method::POST, "/api/v1/auth/login")
        .json(&json!({"email": OPERATOR, "password": "not the password", "account": "operator", "recovery_code": codes[1]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401, "only with the same password");
    target.stop().await;
}

#[tokio::test]
async fn a_platform_archive_goes_only_into_an_empty_installation_and_only_through_import_all() {
    // A platform of one shop on this pass's database, as both archives.
    let source = spawn_app_on(TestDb::new().await, |_| {}).await;
    crate::commerce_support::selling_shop(&source, "boxed", 1_500, 4).await;
    cli_operator(&source, OPERATOR).await;
    let work = tempfile::tempdir().unwrap();
    let (all, _) = export_all(&source.db, work.path());
    let shop = crate::portable::export(&source.db, "boxed", work.path());
    source.stop().await;

    // A target holding one shop.
    let target = spawn_app_on(TestDb::new().await, |_| {}).await;
    crate::commerce_support::selling_shop(&target, "here", 1_000, 1).await;
    let untouched = state(&target).await;
    for (args, why) in [
        (
            ["import", "all", all.to_str().unwrap()],
            "refused: this installation is not empty (",
        ),
        (
            ["import", "all", shop.to_str().unwrap()],
            "is a storekeep shop archive (written by `storekeep export shop`), not a platform archive; import it with `storekeep import shop`",
        ),
        (
            ["import", "shop", all.to_str().unwrap()],
            "is a storekeep platform archive (written by `storekeep export all`), not a shop archive; import it with `storekeep import all`",
        ),
    ] {
        let out = run(&target.db, &args);
        assert!(!out.status.success(), "{args:?} was imported");
        assert!(stderr(&out).contains(why), "{args:?}: {}", stderr(&out));
        assert_eq!(
            state(&target).await,
            untouched,
            "{args:?} changed the target"
        );
    }
    let out = run(&target.db, &["import", "all", all.to_str().unwrap()]);
    assert!(
        stderr(&out).contains("it holds rows in: ") && stderr(&out).contains(" tenants, users, "),
        "{}",
        stderr(&out)
    );
    // Other encryption keys on a target that is not empty: refused as not
    // empty, the first thing to fix.
    let out = storekeep_command(BIN, &target.db)
        .env(
            "STOREKEEP_ENCRYPTION_BLIND_INDEX_KEY",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        )
        .args(["import", "all", all.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(stderr(&out).contains("not empty"), "{}", stderr(&out));
    // A platform archive whose manifest does not list its shops.
    let forged = work.path().join("forged.tar.zst");
    rewrite(&all, &forged, |members| {
        edit_manifest(members, |m| m["shops"] = json!([]));
    });
    let out = run(&target.db, &["import", "all", forged.to_str().unwrap()]);
    assert!(
        stderr(&out).contains("are not the ones its manifest lists"),
        "{}",
        stderr(&out)
    );
    assert_eq!(state(&target).await, untouched);
    target.stop().await;

    // An installation with no shop but an operator account is not empty
    // either.
    let lone = spawn_app_on(TestDb::new().await, |_| {}).await;
    cli_operator(&lone, "other@platform.example").await;
    let out = run(&lone.db, &["import", "all", all.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("it holds rows in: users"),
        "{}",
        stderr(&out)
    );
    lone.stop().await;
    // One a server runs on, with nothing created, is: the archive goes in
    // and is served at once; a second time it is refused, the
    // installation is no longer empty.
    let served = spawn_app_on(TestDb::new().await, |_| {}).await;
    ok(&served.db, &["import", "all", all.to_str().unwrap()]);
    get(served.shop("boxed", Method::GET, "/api/v1/store/products")).await;
    let out = run(&served.db, &["import", "all", all.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("not empty"), "{}", stderr(&out));
    served.stop().await;
    // Other encryption keys: refused with the shop import's message.
    let fresh = TestDb::new().await;
    ok(&fresh, &["migrate"]);
    let out = storekeep_command(BIN, &fresh)
        .env(
            "STOREKEEP_ENCRYPTION_BLIND_INDEX_KEY",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        )
        .args(["import", "all", all.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("blind-index key"), "{}", stderr(&out));
    let chains = ok(&fresh, &["audit", "verify"]);
    assert!(
        !String::from_utf8_lossy(&chains.stdout).contains("ok platform"),
        "a refused import wrote the platform chain"
    );
}

/// A platform of a shop with one image (`boxed`), one without (`spare`)
/// and an operator, on this pass's database; `boxed`'s id and the
/// platform archive, in `work`.
async fn small_platform(work: &Path) -> (TestApp, String, PathBuf) {
    let source = spawn_app_on(TestDb::new().await, |_| {}).await;
    let shop = crate::commerce_support::selling_shop(&source, "boxed", 1_500, 4).await;
    let resp = crate::catalog_support::upload(
        &source,
        "boxed",
        &shop.token,
        &shop.product,
        &crate::catalog_support::png(4, 3),
        "image/png",
    )
    .await;
    assert_eq!(resp.status(), 201);
    crate::commerce_support::selling_shop(&source, "spare", 900, 2).await;
    cli_operator(&source, OPERATOR).await;
    let (file, summary) = export_all(&source.db, work);
    (source, shop_id(&summary, "boxed"), file)
}

/// The id of the shop `slug` in an export's summary.
fn shop_id(summary: &Value, slug: &str) -> String {
    let shops = summary["shops"].as_array().unwrap();
    let shop = shops.iter().find(|s| s["slug"] == slug).unwrap();
    shop["id"].as_str().unwrap().to_owned()
}

/// The id of the shop `slug`, as the platform API shows it.
async fn shop_id_of(app: &TestApp, slug: &str) -> String {
    let t = get(app.platform(Method::GET, &format!("/api/v1/platform/tenants/{slug}"))).await;
    t["tenant"]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn an_export_larger_than_an_archive_may_hold_stops_before_reading_the_images() {
    // A shop whose one image is 5 GiB (a sparse file: no disk used), more
    // than the 4 GiB an import reads.
    let work = tempfile::tempdir().unwrap();
    let (source, _, _) = small_platform(work.path()).await;
    let images = crate::portable::walk(&source.db.dir.path().join("media"));
    // The original (its two variants sort before it: `-` < `.`).
    let [_, _, image] = images.as_slice() else {
        panic!("one image and its two variants: {images:?}")
    };
    let file = std::fs::OpenOptions::new().write(true).open(image).unwrap();
    file.set_len(5 << 30).unwrap();
    drop(file);
    for (args, name) in [
        (vec!["export", "all"], "all.tar.zst"),
        (vec!["export", "shop", "--tenant", "boxed"], "shop.tar.zst"),
    ] {
        let out_file = work.path().join(name);
        let mut args = args.clone();
        args.extend(["-o", out_file.to_str().unwrap()]);
        let out = run(&source.db, &args);
        assert!(!out.status.success(), "{args:?} wrote an archive");
        assert!(
            stderr(&out).contains("more than the 4294967296 bytes (4 GiB) an archive may hold"),
            "{args:?}: {}",
            stderr(&out)
        );
        assert!(!out_file.exists(), "{args:?} left {}", out_file.display());
        assert!(!out_file.with_extension("partial").exists());
    }
    source.stop().await;
}

#[tokio::test]
async fn forged_platform_archives_are_refused_with_nothing_written() {
    let work = tempfile::tempdir().unwrap();
    let (source, shop_id, all) = small_platform(work.path()).await;
    let spare = shop_id_of(&source, "spare").await;
    source.stop().await;
    let target = spawn_app_on(TestDb::new().await, |_| {}).await;
    let untouched = state(&target).await;
    let elsewhere = uuid::Uuid::now_v7().to_string();
    let to_elsewhere = |rows: &mut Vec<Value>| {
        for row in rows.iter_mut().filter(|r| r["scope"] == shop_id.as_str()) {
            row["scope"] = json!(elsewhere);
        }
    };
    type Forgery<'a> = Box<dyn Fn(&mut Vec<(String, Vec<u8>)>) + 'a>;
    let forgeries: Vec<(&str, Forgery, &str)> = vec![
        (
            "the shop's audit chain under a shop the archive does not hold",
            Box::new(|m| {
                edit_table(m, "audit_log", to_elsewhere);
                edit_table(m, "audit_heads", to_elsewhere);
            }),
            "belong to none of its shops",
        ),
        (
            "an audit head that is not its chain's last entry",
            Box::new(|m| {
                edit_table(m, "audit_heads", |rows| {
                    rows[0]["hash"] = json!("0".repeat(64));
                });
            }),
            "audit heads do not match their chains' last entries",
        ),
        (
            "the built-in default plan under another name",
            Box::new(|m| {
                edit_table(m, "plans", |rows| {
                    for plan in rows.iter_mut().filter(|p| p["name"] == "default") {
                        plan["name"] = json!("basic");
                    }
                });
            }),
            "must hold the built-in `default` plan exactly once",
        ),
        (
            "boxed's image keyed under the other shop of the archive",
            Box::new(|m| {
                let mut old = String::new();
                edit_table(m, "product_images", |rows| {
                    old = rows[0]["object_key"].as_str().unwrap().to_owned();
                    rows[0]["object_key"] = json!(old.replacen(&shop_id, &spare, 1));
                });
                let new = old.replacen(&shop_id, &spare, 1);
                for (name, _) in m.iter_mut() {
                    if *name == format!("media/{old}") {
                        *name = format!("media/{new}");
                    }
                }
                edit_manifest(m, |man| {
                    let media = man["media"].as_object_mut().unwrap();
                    let entry = media.remove(&old).unwrap();
                    media.insert(new.clone(), entry);
                });
            }),
            "is not its own shop's",
        ),
    ];
    for (n, (what, forge, why)) in forgeries.iter().enumerate() {
        let forged = work.path().join(format!("forged-{n}.tar.zst"));
        rewrite(&all, &forged, |m| forge(m));
        let out = run(&target.db, &["import", "all", forged.to_str().unwrap()]);
        assert!(!out.status.success(), "{what}: imported");
        assert!(stderr(&out).contains(why), "{what}: {}", stderr(&out));
        assert_eq!(
            state(&target).await,
            untouched,
            "{what}: changed the target"
        );
    }
    // The refusals left the target empty: the genuine archive goes in.
    ok(&target.db, &["import", "all", all.to_str().unwrap()]);
    get(target.shop("boxed", Method::GET, "/api/v1/store/products")).await;
    target.stop().await;
}

#[tokio::test]
async fn a_shop_archive_forged_to_the_nil_id_is_refused_by_import_shop() {
    let work = tempfile::tempdir().unwrap();
    // `spare` has no image, whose key would be refused for its prefix.
    let (source, _, _) = small_platform(work.path()).await;
    let shop_id = shop_id_of(&source, "spare").await;
    let shop = crate::portable::export(&source.db, "spare", work.path());
    source.stop().await;
    let target = spawn_app_on(TestDb::new().await, |_| {}).await;
    let untouched = state(&target).await;
    let nil = uuid::Uuid::nil().to_string();
    let forged = work.path().join("nil.tar.zst");
    // Consistently: every row's shop id (tenant_id, the audit chain's
    // scope, the tenants row) is the nil id.
    rewrite(&shop, &forged, |m| {
        let tables: Vec<String> = m
            .iter()
            .filter_map(|(n, _)| n.strip_prefix("tables/")?.strip_suffix(".jsonl"))
            .map(str::to_owned)
            .collect();
        for table in tables {
            edit_table(m, &table, |rows| {
                for row in rows.iter_mut() {
                    *row = serde_json::from_str(&row.to_string().replace(&shop_id, &nil)).unwrap();
                }
            });
        }
        edit_manifest(m, |man| man["shop"]["id"] = json!(nil));
    });
    let out = run(&target.db, &["import", "shop", forged.to_str().unwrap()]);
    assert!(!out.status.success(), "imported");
    assert!(stderr(&out).contains("nil id"), "{}", stderr(&out));
    assert_eq!(state(&target).await, untouched);
    assert_ne!(shop_id, nil);
    target.stop().await;
}

#[tokio::test]
async fn two_imports_at_once_leave_the_winners_images_in_place() {
    let work = tempfile::tempdir().unwrap();
    let (source, _, all) = small_platform(work.path()).await;
    let images = crate::portable::walk(&source.db.dir.path().join("media"));
    let bytes: Vec<Vec<u8>> = images.iter().map(|i| std::fs::read(i).unwrap()).collect();
    source.stop().await;
    let target = TestDb::new().await;
    ok(&target, &["migrate"]);
    let runs: Vec<_> = (0..2)
        .map(|_| {
            storekeep_command(BIN, &target)
                .args(["import", "all", all.to_str().unwrap()])
                .spawn()
                .unwrap()
        })
        .collect();
    let outcomes: Vec<bool> = runs
        .into_iter()
        .map(|c| c.wait_with_output().unwrap().status.success())
        .collect();
    assert_eq!(
        outcomes.iter().filter(|ok| **ok).count(),
        1,
        "exactly one import: {outcomes:?}"
    );
    let here = crate::portable::walk(&target.dir.path().join("media"));
    assert_eq!(
        here.len(),
        3,
        "the winner's image and its two variants are in place: {here:?}"
    );
    let here_bytes: Vec<Vec<u8>> = here.iter().map(|i| std::fs::read(i).unwrap()).collect();
    assert_eq!(here_bytes, bytes);
    let app = spawn_app_on(target, |_| {}).await;
    let products = get(app.shop("boxed", Method::GET, "/api/v1/store/products")).await;
    let url = products.to_string();
    assert!(url.contains("/media/"), "{products}");
    app.stop().await;
}

#[tokio::test]
async fn import_all_refuses_rather_than_wait_behind_another_connections_lock() {
    if !storekeep_test_support::on_postgres() {
        return;
    }
    use sqlx::Connection;
    let work = tempfile::tempdir().unwrap();
    let (source, _, all) = small_platform(work.path()).await;
    source.stop().await;
    let target = TestDb::new().await;
    ok(&target, &["migrate"]);
    // A session idle in a transaction that wrote to a table.
    let mut idle = sqlx::PgConnection::connect(&target.url).await.unwrap();
    sqlx::query("BEGIN").execute(&mut idle).await.unwrap();
    sqlx::query("LOCK TABLE tenants IN ROW EXCLUSIVE MODE")
        .execute(&mut idle)
        .await
        .unwrap();
    let out = run(&target, &["import", "all", all.to_str().unwrap()]);
    assert!(!out.status.success(), "imported past the lock");
    assert!(
        stderr(&out).contains("another connection is writing to this database"),
        "{}",
        stderr(&out)
    );
    assert!(
        crate::portable::walk(&target.dir.path().join("media")).is_empty(),
        "the refused import removed its images"
    );
    sqlx::query("ROLLBACK").execute(&mut idle).await.unwrap();
    ok(&target, &["import", "all", all.to_str().unwrap()]);
}

#[tokio::test]
async fn exports_report_the_jobs_still_queued() {
    let work = tempfile::tempdir().unwrap();
    let (source, _, _) = small_platform(work.path()).await;
    let file = work.path().join("shop.tar.zst");
    let out = ok(
        &source.db,
        &[
            "export",
            "shop",
            "--tenant",
            "boxed",
            "-o",
            file.to_str().unwrap(),
            "--json",
        ],
    );
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    let pending = summary["pending_jobs"].as_i64().expect("pending_jobs");
    assert_eq!(
        pending > 0,
        stderr(&out).contains("job(s) of shop 'boxed' are still queued"),
        "{pending}: {}",
        stderr(&out)
    );
    source.stop().await;
}

/// `import` writes images with `Media::put_new`: on a local folder and on
/// the S3 test server (moto), a second write of a key is refused and the
/// first object stays as it was.
#[tokio::test]
async fn images_are_written_create_only_in_a_folder_and_on_s3() {
    let dir = tempfile::tempdir().unwrap();
    let mut stores = vec![("local", storekeep::config::MediaSettings::default())];
    if let Some((endpoint, bucket)) = crate::catalog_support::s3_env() {
        let s3 = storekeep::config::MediaSettings {
            s3_bucket: Some(bucket),
            s3_endpoint: Some(endpoint),
            s3_access_key_id: Some("test".into()),
            s3_secret_access_key: Some(storekeep::config::Secret::new("test")),
            ..Default::default()
        };
        stores.push(("s3", s3));
    }
    for (kind, settings) in stores {
        let media = storekeep::media::Media::from_settings(&settings, dir.path()).unwrap();
        let key = format!("{}/{}.png", uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
        let first = bytes::Bytes::from_static(b"first");
        assert!(media.put_new(&key, first.clone()).await.unwrap(), "{kind}");
        let second = bytes::Bytes::from_static(b"second, longer");
        assert!(
            !media.put_new(&key, second).await.unwrap(),
            "{kind}: the second write was taken"
        );
        assert_eq!(media.get(&key).await.unwrap(), Some(first), "{kind}");
        assert_eq!(media.size(&key).await.unwrap(), Some(5), "{kind}");
        media.delete(&key).await.unwrap();
        assert_eq!(media.size(&key).await.unwrap(), None, "{kind}");
    }
}
