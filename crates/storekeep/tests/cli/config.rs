//! `storekeep check-config`.

use storekeep_test_support::{TestDb, storekeep_command};

use crate::BIN;

#[tokio::test]
async fn check_config_explains_every_problem_and_exits_nonzero() {
    let db = TestDb::new().await;
    let file = db.dir.path().join("storekeep.toml");
    std::fs::write(
        &file,
        "[http]\nrequest_timeout_secs = -3\n[shutdown]\ngrace_seconds = 5\n",
    )
    .unwrap();

    let out = storekeep_command(BIN, &db)
        .args(["check-config", "--config", file.to_str().unwrap()])
        .env("STOREKEEP_LISTEN", "not-an-address")
        .env("STOREKEEP_PLATFORM_TOKEN", "short")
        .output()
        .unwrap();

    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("http.request_timeout_secs"), "{text}");
    assert!(
        text.contains("shutdown.grace_seconds is not a known setting"),
        "{text}"
    );
    assert!(
        text.contains("STOREKEEP_LISTEN 'not-an-address' is not an address"),
        "{text}"
    );
    assert!(
        text.contains("STOREKEEP_PLATFORM_TOKEN must be at least 32 characters"),
        "{text}"
    );
    assert!(text.contains("4 problem(s) found"), "{text}");
    assert!(
        !text.contains("short\n") && !text.contains("'short'"),
        "secrets are never echoed"
    );
}

#[tokio::test]
async fn check_config_passes_a_good_configuration_and_reaches_the_database() {
    let db = TestDb::new().await;
    let token_file = db.dir.path().join("token");
    std::fs::write(&token_file, "f".repeat(48) + "\n").unwrap();

    let out = storekeep_command(BIN, &db)
        .arg("check-config")
        .env_remove("STOREKEEP_PLATFORM_TOKEN")
        .env("STOREKEEP_PLATFORM_TOKEN_FILE", &token_file)
        .output()
        .unwrap();

    let text = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{text}");
    assert!(text.contains("configuration OK"), "{text}");
    assert!(text.contains("platform_token    set"), "{text}");
    assert!(!text.contains(&"f".repeat(48)), "the token is not printed");
}

#[tokio::test]
async fn check_config_reports_an_unreachable_database() {
    let db = TestDb::new().await;

    let out = storekeep_command(BIN, &db)
        .arg("check-config")
        .env(
            "STOREKEEP_DATABASE_URL",
            "postgres://nobody@127.0.0.1:1/none",
        )
        .output()
        .unwrap();

    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("problem: database:"), "{text}");
    assert!(!text.contains("nobody@"), "the database URL is not printed");
}

/// The variable build.rs sets for the binary; `cargo run` passes it on.
fn build_script_variable() -> String {
    let script = include_str!("../../build.rs");
    let rest = script
        .split("cargo:rustc-env=")
        .nth(1)
        .expect("build.rs sets a variable");
    rest.split('=').next().unwrap().to_owned()
}

#[tokio::test]
async fn what_cargo_run_passes_on_is_not_mistaken_for_a_setting() {
    let db = TestDb::new().await;
    let name = build_script_variable();
    assert!(!name.starts_with("STOREKEEP_"), "{name}");

    // As `cargo run --bin storekeep -- check-config` runs it.
    let out = storekeep_command(BIN, &db)
        .arg("check-config")
        .env(&name, "0123456789ab")
        .output()
        .unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{all}");
    assert!(!all.contains("warning"), "{all}");

    // A real typo still warns.
    let out = storekeep_command(BIN, &db)
        .arg("check-config")
        .env("STOREKEEP_LISTN", "x")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("warning: STOREKEEP_LISTN is not a storekeep setting"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
