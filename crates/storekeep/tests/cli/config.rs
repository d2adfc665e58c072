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
    // Each cause once: the store's error says its cause and does not give
    // it again as its source.
    let line = text
        .lines()
        .find(|l| l.contains("problem: database:"))
        .unwrap();
    let parts: Vec<&str> = line.split(": ").collect();
    for (i, part) in parts.iter().enumerate() {
        assert!(!parts[i + 1..].contains(part), "{part:?} twice in {line}");
    }
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

#[tokio::test]
async fn check_config_puts_the_problems_first_and_last() {
    let db = TestDb::new().await;
    let file = db.dir.path().join("storekeep.toml");
    std::fs::write(&file, "listen = \"127.0.0.1:8080\"\n[http\nbroken").unwrap();
    let run = |explain: bool| {
        let mut cmd = storekeep_command(BIN, &db);
        cmd.args(["check-config", "--config", file.to_str().unwrap()]);
        if explain {
            cmd.arg("--explain");
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(1));
        String::from_utf8(out.stdout).unwrap()
    };

    let text = run(false);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("problem: ") && lines[0].contains("not valid TOML"),
        "{text}"
    );
    assert!(
        lines.last().unwrap().starts_with("1 problem(s) found"),
        "{text}"
    );
    assert!(lines.last().unwrap().contains("--explain"), "{text}");
    assert!(
        lines.len() <= 12,
        "no settings reference unless asked: {text}"
    );
    assert!(!text.contains("STOREKEEP_HTTP_BODY_LIMIT_BYTES"), "{text}");

    // With --explain the reference sits between the problem and its repeat.
    let text = run(true);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("problem: "), "{text}");
    assert!(text.contains("STOREKEEP_HTTP_BODY_LIMIT_BYTES"), "{text}");
    let last_problem = text.rfind("problem: ").unwrap();
    assert!(
        last_problem > text.find("STOREKEEP_HTTP_BODY_LIMIT_BYTES").unwrap(),
        "{text}"
    );
    assert!(text[last_problem..].contains("not valid TOML"), "{text}");
    assert_eq!(lines.last().unwrap(), &"1 problem(s) found", "{text}");
}
