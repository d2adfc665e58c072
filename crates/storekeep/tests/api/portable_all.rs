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

use crate::identity::{PASSWORD, cli_operator, token};
use crate::portable::{
    BIN, assert_same_views, audit_before, build_shop, edit_manifest, get, ok, rewrite, run,
    sqlite_db, state, stderr, views,
};

const OPERATOR: &str = "ops@platform.example";

/// What an operator sees of the platform (signing in afresh: sessions do
/// not travel).
async fn platform_views(app: &TestApp) -> Vec<(String, Value)> {
    let operator = token(app, None, OPERATOR, "operator").await;
    let mut out = Vec::new();
    for path in [
        "/api/v1/platform/tenants",
        "/api/v1/platform/plans",
        "/api/v1/platform/audit-log?limit=200",
    ] {
        let req = app.request(Method::GET, path).bearer_auth(&operator);
        out.push((path.to_owned(), get(req).await));
    }
    out
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
    // Arrange: two shops, a plan of the operator's own, the default plan
    // changed, an operator; what the API answers about all of it.
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
    assert_eq!(summary["images"], 2, "{summary}");
    assert_eq!(summary["tables"]["plans"], 2, "{summary}");

    // Act: into an empty database of this pass's kind, then serve it.
    let target_db = TestDb::new().await;
    let out = ok(
        &target_db,
        &["import", "all", file.to_str().unwrap(), "--json"],
    );
    let imported: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(imported["rows"], summary["rows"], "{imported}");
    let target = spawn_app_on(target_db, |_| {}).await;

    // Assert: both shops, the platform and every chain are as they were.
    assert_same_views(&north_before, &views(&target, "north", &north).await);
    assert_same_views(&south_before, &views(&target, "south", &south).await);
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
    let resp = target
        .request(Method::POST, "/api/v1/auth/login")
        .json(&json!({"email": OPERATOR, "password": PASSWORD, "account": "operator"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "the operator signs in on the target");
    let resp = target
        .request(Method::POST, "/api/v1/auth/login")
        .json(&json!({"email": OPERATOR, "password": "not the password", "account": "operator"}))
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
    assert!(stderr(&out).contains("tenants: 1,"), "{}", stderr(&out));
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
    assert!(stderr(&out).contains("users: 1"), "{}", stderr(&out));
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
