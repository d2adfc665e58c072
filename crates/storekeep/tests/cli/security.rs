//! `storekeep audit verify`, `storekeep keys rotate`, and what the logs of
//! a whole session of use never contain.

use std::time::Duration;

use serde_json::{Value, json};
use storekeep_test_support::{PLATFORM_TOKEN, ServerProcess, TestDb, storekeep_command};

use crate::BIN;

const PASSWORD: &str = "correct horse battery staple";

fn run(db: &TestDb, args: &[&str]) -> std::process::Output {
    storekeep_command(BIN, db).args(args).output().unwrap()
}

/// Runs SQL on the test database, as an attacker with database access would.
async fn tamper(db: &TestDb, statements: &[&str]) {
    if db.is_sqlite() {
        use sqlx::Connection;
        let mut c = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
        for s in statements {
            sqlx::query(s).execute(&mut c).await.unwrap();
        }
    } else {
        use sqlx::Connection;
        let mut c = sqlx::PgConnection::connect(&db.url).await.unwrap();
        for s in statements {
            sqlx::query(s).execute(&mut c).await.unwrap();
        }
    }
}

fn drop_guard(db: &TestDb) -> Vec<&'static str> {
    if db.is_sqlite() {
        vec![
            "DROP TRIGGER audit_log_no_update",
            "DROP TRIGGER audit_log_no_delete",
        ]
    } else {
        vec!["DROP TRIGGER audit_log_no_change ON audit_log"]
    }
}

fn audited_history(db: &TestDb) {
    for slug in ["one", "two", "three"] {
        assert!(
            run(db, &["tenant", "create", slug, "--name", slug])
                .status
                .success()
        );
    }
    assert!(run(db, &["tenant", "suspend", "two"]).status.success());
}

#[tokio::test]
async fn audit_verify_passes_an_intact_log_and_names_an_edited_entry() {
    let db = TestDb::new().await;
    audited_history(&db);

    let ok = run(&db, &["audit", "verify"]);
    let text = String::from_utf8_lossy(&ok.stdout);
    assert!(ok.status.success(), "{text}");
    assert!(text.contains("ok platform: 4 entries"), "{text}");

    // The log refuses edits outright...
    let blocked = if db.is_sqlite() {
        use sqlx::Connection;
        let mut c = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
        sqlx::query("UPDATE audit_log SET actor = 'x'")
            .execute(&mut c)
            .await
            .is_err()
    } else {
        use sqlx::Connection;
        let mut c = sqlx::PgConnection::connect(&db.url).await.unwrap();
        sqlx::query("UPDATE audit_log SET actor = 'x'")
            .execute(&mut c)
            .await
            .is_err()
    };
    assert!(blocked, "the append-only trigger refuses updates");

    // ...and when someone with database access removes the guard, the chain tells.
    let mut sql = drop_guard(&db);
    sql.push("UPDATE audit_log SET actor = 'someone-else' WHERE seq = 2");
    tamper(&db, &sql).await;
    let bad = run(&db, &["audit", "verify"]);
    let text = String::from_utf8_lossy(&bad.stdout);
    assert_eq!(bad.status.code(), Some(1), "{text}");
    assert!(text.contains("BROKEN platform: entry 2"), "{text}");
}

#[tokio::test]
async fn audit_verify_notices_removed_entries() {
    let db = TestDb::new().await;
    audited_history(&db);
    let mut sql = drop_guard(&db);
    sql.push("DELETE FROM audit_log WHERE seq = 4");
    tamper(&db, &sql).await;

    let out = run(&db, &["audit", "verify"]);

    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("removed"), "{text}");

    tamper(&db, &["DELETE FROM audit_log WHERE seq = 2"]).await;
    let out = run(&db, &["audit", "verify"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("entry 3") && text.contains("missing"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_rotate_reencrypts_so_the_old_key_can_be_dropped() {
    let db = TestDb::new().await;
    let (old_keys, index) = storekeep_test_support::TEST_KEYS;
    run(&db, &["tenant", "create", "acme", "--name", "Acme"]);
    let pw = db.dir.path().join("pw");
    std::fs::write(&pw, PASSWORD).unwrap();
    let made = run(
        &db,
        &[
            "user",
            "create",
            "--tenant",
            "acme",
            "--email",
            "owner@acme.example",
            "--password-file",
            pw.to_str().unwrap(),
        ],
    );
    assert!(made.status.success());

    // Add a new key (last = current) and re-encrypt.
    let new_key = "test2:QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8=";
    let both = format!("{old_keys},{new_key}");
    let rotated = storekeep_command(BIN, &db)
        .args(["keys", "rotate"])
        .env("STOREKEEP_ENCRYPTION_KEYS", &both)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&rotated.stdout);
    assert!(
        rotated.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&rotated.stderr)
    );
    assert!(
        text.contains("1 of 1 accounts re-encrypted under key test2"),
        "{text}"
    );

    // A node that only has the new key reads everything.
    let mut cmd = storekeep_command(BIN, &db);
    cmd.arg("serve")
        .env("STOREKEEP_ENCRYPTION_KEYS", new_key)
        .env("STOREKEEP_ENCRYPTION_BLIND_INDEX_KEY", index)
        .env("STOREKEEP_SHUTDOWN_DRAIN_SECS", "0");
    let server = ServerProcess::start(cmd);
    let client = reqwest::Client::new();
    let login: Value = client
        .post(server.url("/api/v1/auth/login"))
        .header("x-tenant", "acme")
        .json(&json!({"email": "owner@acme.example", "password": PASSWORD, "account": "staff"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().expect("login works after rotation");
    let me: Value = client
        .get(server.url("/api/v1/auth/me"))
        .header("x-tenant", "acme")
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["account"]["email"], "owner@acme.example");
}

#[tokio::test(flavor = "multi_thread")]
async fn logs_of_a_full_session_never_contain_secrets_or_emails() {
    let db = TestDb::new().await;
    let mut cmd = storekeep_command(BIN, &db);
    cmd.arg("serve")
        .env("RUST_LOG", "debug")
        .env("STOREKEEP_SHUTDOWN_DRAIN_SECS", "0");
    let server = ServerProcess::start(cmd);
    let c = reqwest::Client::new();
    let shop = |m: reqwest::Method, p: &str| c.request(m, server.url(p)).header("x-tenant", "acme");

    c.post(server.url("/api/v1/platform/tenants"))
        .bearer_auth(PLATFORM_TOKEN)
        .json(&json!({"tenant": {"slug": "acme", "name": "Acme"}}))
        .send()
        .await
        .unwrap();
    let email = "secret.person@example.com";
    shop(reqwest::Method::POST, "/api/v1/auth/register")
        .json(&json!({"account": {"email": email, "password": PASSWORD, "phone": "+1 555 0199"}}))
        .send()
        .await
        .unwrap();
    shop(reqwest::Method::POST, "/api/v1/auth/login")
        .json(&json!({"email": email, "password": "a wrong password here"}))
        .send()
        .await
        .unwrap();
    let login: Value = shop(reqwest::Method::POST, "/api/v1/auth/login")
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap().to_owned();
    let enrol: Value = shop(reqwest::Method::POST, "/api/v1/auth/mfa/totp")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let totp_secret = enrol["secret"].as_str().unwrap().to_owned();
    shop(reqwest::Method::POST, "/api/v1/auth/password-reset")
        .json(&json!({"email": email}))
        .send()
        .await
        .unwrap();
    // The reset is queued after the answer and mailed by the job runner.
    for _ in 0..200 {
        if server
            .logs()
            .iter()
            .any(|l| l.contains("email sent") && l.contains("password_reset"))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.sigterm();
    let (_, logs) = server.wait_with_logs(Duration::from_secs(30));

    let all = logs.join("\n");
    assert!(
        all.contains("\"message\":\"request\""),
        "request lines were logged"
    );
    assert!(
        all.contains("password reset queued")
            && all.contains("email sent")
            && all.contains("\"to_domain\":\"example.com\""),
        "the reset was logged (masked, the recipient's domain only)"
    );
    for secret in [
        PASSWORD,
        "a wrong password here",
        &token,
        &token[4..],
        email,
        "secret.person",
        "555 0199",
        &totp_secret,
        PLATFORM_TOKEN,
    ] {
        assert!(!all.contains(secret), "the logs contain '{secret}'");
    }
    assert!(
        all.contains("s***@example.com"),
        "emails appear only masked"
    );
}

#[tokio::test]
async fn generated_keys_rotate_with_new_key_and_accounts_still_open() {
    let db = TestDb::new().await;
    if !db.is_sqlite() {
        // Generated key files exist only for the embedded database; with
        // PostgreSQL keys must be configured (covered above).
        let out = storekeep_command(BIN, &db)
            .args(["keys", "rotate", "--new-key"])
            .env_remove("STOREKEEP_ENCRYPTION_KEYS")
            .env_remove("STOREKEEP_ENCRYPTION_BLIND_INDEX_KEY")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&out.stderr).contains("PostgreSQL"));
        return;
    }
    let generated = |args: &[&str]| {
        storekeep_command(BIN, &db)
            .args(args)
            .env_remove("STOREKEEP_ENCRYPTION_KEYS")
            .env_remove("STOREKEEP_ENCRYPTION_BLIND_INDEX_KEY")
            .output()
            .unwrap()
    };
    assert!(
        generated(&["tenant", "create", "acme", "--name", "Acme"])
            .status
            .success()
    );
    let pw = db.dir.path().join("pw");
    std::fs::write(&pw, PASSWORD).unwrap();
    let made = generated(&[
        "user",
        "create",
        "--tenant",
        "acme",
        "--email",
        "o@acme.example",
        "--password-file",
        pw.to_str().unwrap(),
    ]);
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );

    let rotated = generated(&["keys", "rotate", "--new-key"]);
    let text = String::from_utf8_lossy(&rotated.stdout);
    assert!(rotated.status.success(), "{text}");
    assert!(
        text.contains("added key") && text.contains("1 of 1 accounts re-encrypted"),
        "{text}"
    );
    let keys = std::fs::read_to_string(db.dir.path().join("secrets/encryption-keys")).unwrap();
    assert_eq!(
        keys.trim().split(',').count(),
        2,
        "the old key stays readable"
    );

    let again = generated(&["keys", "rotate"]);
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("0 of 1 accounts"),
        "idempotent"
    );
    let shown = generated(&[
        "user",
        "create",
        "--tenant",
        "acme",
        "--email",
        "o@acme.example",
        "--password-file",
        pw.to_str().unwrap(),
    ]);
    assert!(
        String::from_utf8_lossy(&shown.stderr).contains("email is already taken"),
        "the blind index still finds the email"
    );
}

#[test]
fn keys_generate_prints_a_usable_key_set() {
    let out = std::process::Command::new(BIN)
        .args(["keys", "generate"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let keys = text
        .lines()
        .find_map(|l| l.strip_prefix("STOREKEEP_ENCRYPTION_KEYS="))
        .unwrap();
    let index = text
        .lines()
        .find_map(|l| l.strip_prefix("STOREKEEP_ENCRYPTION_BLIND_INDEX_KEY="))
        .unwrap();
    let check = std::process::Command::new(BIN)
        .arg("check-config")
        .env("STOREKEEP_ENCRYPTION_KEYS", keys)
        .env("STOREKEEP_ENCRYPTION_BLIND_INDEX_KEY", index)
        .env(
            "STOREKEEP_DATA_DIR",
            std::env::temp_dir().join(format!("sk-keys-{}", std::process::id())),
        )
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&check.stdout);
    assert!(
        !report.contains("encryption"),
        "the generated keys are accepted: {report}"
    );
}
