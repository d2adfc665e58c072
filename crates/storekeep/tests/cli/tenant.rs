//! `storekeep tenant …`, `plan …`, `migrate` and `seed --demo`.

use std::process::Output;

use serde_json::Value;
use storekeep_test_support::{TestDb, storekeep_command};

use crate::BIN;

fn run(db: &TestDb, args: &[&str]) -> Output {
    storekeep_command(BIN, db).args(args).output().unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn tenants_are_created_listed_shown_suspended_and_resumed_from_the_cli() {
    let db = TestDb::new().await;

    let created = run(
        &db,
        &[
            "tenant",
            "create",
            "acme",
            "--name",
            "ACME",
            "--domain",
            "shop.acme.example",
            "--currency",
            "EUR",
        ],
    );
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let tenant: Value = serde_json::from_slice(&created.stdout).unwrap();
    assert_eq!(tenant["slug"], "acme");
    assert_eq!(tenant["settings"]["currency"], "EUR");
    assert_eq!(tenant["domains"][0], "shop.acme.example");

    let list = stdout(&run(&db, &["tenant", "list"]));
    let row = list
        .lines()
        .find(|l| l.starts_with("acme"))
        .expect("acme is listed");
    assert!(
        row.contains("active") && row.contains("shop.acme.example"),
        "{row}"
    );

    let suspended = run(&db, &["tenant", "suspend", "acme"]);
    assert!(suspended.status.success());
    let shown: Value =
        serde_json::from_slice(&run(&db, &["tenant", "show", "acme"]).stdout).unwrap();
    assert_eq!(shown["status"], "suspended");

    run(&db, &["tenant", "resume", "acme"]);
    let json_lines = stdout(&run(&db, &["tenant", "list", "--json"]));
    let first: Value = serde_json::from_str(json_lines.lines().next().unwrap()).unwrap();
    assert_eq!(first["status"], "active");
}

#[tokio::test]
async fn cli_errors_are_plain_and_exit_nonzero() {
    let db = TestDb::new().await;
    run(&db, &["tenant", "create", "acme", "--name", "ACME"]);

    let dup = run(&db, &["tenant", "create", "acme", "--name", "Again"]);
    assert_eq!(dup.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&dup.stderr).contains("slug is already taken"));

    let invalid = run(&db, &["tenant", "create", "X", "--name", "Bad"]);
    assert_eq!(invalid.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&invalid.stderr).contains("slug: must be 2 to 63"));

    let missing = run(&db, &["tenant", "show", "ghost"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("tenant not found"));
}

#[tokio::test]
async fn plans_are_created_and_listed_from_the_cli() {
    let db = TestDb::new().await;

    let created = run(
        &db,
        &["plan", "create", "growth", "--max-products", "50000"],
    );
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );

    let names: Vec<String> = stdout(&run(&db, &["plan", "list"]))
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["name"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(names, ["default", "growth"]);

    // The default plan is edited like any other; limits left out stay.
    let before: Value =
        serde_json::from_str(stdout(&run(&db, &["plan", "list"])).lines().next().unwrap()).unwrap();
    let out = run(
        &db,
        &[
            "plan",
            "update",
            "default",
            "--max-staff",
            "3",
            "--auth-requests-per-minute",
            "12",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let updated: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(updated["name"], "default");
    assert_eq!(updated["limits"]["max_staff"], 3);
    assert_eq!(updated["limits"]["auth_requests_per_minute"], 12);
    assert_eq!(
        updated["limits"]["max_products"],
        before["limits"]["max_products"]
    );
    let listed: Value =
        serde_json::from_str(stdout(&run(&db, &["plan", "list"])).lines().next().unwrap()).unwrap();
    assert_eq!(listed, updated);
    // A plan created now starts from the edited default.
    let later: Value =
        serde_json::from_slice(&run(&db, &["plan", "create", "later"]).stdout).unwrap();
    assert_eq!(later["limits"]["max_staff"], 3);

    let missing = run(&db, &["plan", "update", "nope", "--max-staff", "1"]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("plan 'nope'"));
    let nothing = run(&db, &["plan", "update", "default"]);
    assert!(!nothing.status.success());
    assert!(String::from_utf8_lossy(&nothing.stderr).contains("at least one limit"));
    let negative = run(&db, &["plan", "update", "default", "--max-staff=-1"]);
    assert!(!negative.status.success());
    assert!(String::from_utf8_lossy(&negative.stderr).contains("max_staff"));
}

#[tokio::test]
async fn migrate_applies_everything_once_and_seed_demo_is_idempotent() {
    let db = TestDb::new().await;

    let first = stdout(&run(&db, &["migrate"]));
    assert!(
        first.starts_with("applied ") && !first.starts_with("applied 0 "),
        "{first}"
    );
    let second = stdout(&run(&db, &["migrate"]));
    assert!(second.starts_with("applied 0 migration(s)"), "{second}");

    for _ in 0..2 {
        let out = run(&db, &["seed", "--demo"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let list = stdout(&run(&db, &["tenant", "list", "--json"]));
    assert_eq!(list.lines().count(), 1, "one demo tenant: {list}");
}

#[tokio::test]
async fn commands_say_which_database_they_use_and_reading_ones_create_none() {
    let db = TestDb::new().await;
    // Somewhere that is not the checkout: an empty folder, no data_dir or
    // database.url configured, so the default ./data applies.
    let elsewhere = tempfile::tempdir().unwrap();
    let cli = |args: &[&str]| {
        storekeep_command(BIN, &db)
            .env_remove("STOREKEEP_DATA_DIR")
            .env_remove("STOREKEEP_DATABASE_URL")
            .current_dir(elsewhere.path())
            .args(args)
            .output()
            .unwrap()
    };
    let data = elsewhere.path().join("data");
    for args in [
        &["tenant", "list"][..],
        &["tenant", "show", "demo"],
        &["tenant", "suspend", "demo"],
        &["plan", "list"],
        &["export", "products", "--tenant", "demo"],
        &["audit", "verify"],
        &["keys", "rotate"],
    ] {
        let out = cli(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}: {stderr}");
        assert!(
            stderr.contains("there is no database at ./data/storekeep.db (data folder ./data)")
                && stderr.contains("creates none"),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("tenant not found"), "{args:?}: {stderr}");
        assert!(!data.exists(), "{args:?} created {}", data.display());
    }
    let out = cli(&["check-config"]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("note: ./data/storekeep.db does not exist yet"),
        "{text}"
    );
    assert!(!data.exists(), "check-config created {}", data.display());

    // A command that writes may start a database, and says so in one line.
    let out = cli(&["tenant", "create", "fresh", "--name", "Fresh"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        stderr.trim(),
        "storekeep: using the embedded database ./data/storekeep.db (data folder ./data) (new: created now)"
    );
    let out = cli(&["tenant", "list"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        stderr.trim(),
        "storekeep: using the embedded database ./data/storekeep.db (data folder ./data)"
    );
    assert!(stdout(&out).contains("fresh"));
}
