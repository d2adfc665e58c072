//! `storekeep jobs list|show|retry|discard`: an operator finds a dead job,
//! reads why it died, retries it; wrong ids and wrong states are refused
//! in plain words with exit code 1.

use std::process::Output;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use storekeep_domain::NewJob;
use storekeep_store::jobs::Failure;
use storekeep_store::{PoolConfig, Store};
use storekeep_test_support::{TestDb, storekeep_command};

use crate::BIN;

fn run(db: &TestDb, args: &[&str]) -> Output {
    storekeep_command(BIN, db).args(args).output().unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

async fn store(db: &TestDb) -> Arc<dyn Store> {
    if db.is_sqlite() {
        Arc::new(
            storekeep_store_sqlite::SqliteStore::connect(&db.url, PoolConfig::default())
                .await
                .unwrap(),
        )
    } else {
        Arc::new(
            storekeep_store_postgres::PgStore::connect(&db.url, PoolConfig::default())
                .await
                .unwrap(),
        )
    }
}

#[tokio::test]
async fn an_operator_finds_a_dead_job_reads_why_and_retries_it() {
    let db = TestDb::new().await;
    assert!(run(&db, &["migrate"]).status.success());
    // A job whose only attempt failed for good, as a worker leaves it.
    let s = store(&db).await;
    let id = s
        .enqueue(
            &NewJob::new("email.send", serde_json::json!({}))
                .queue("email")
                .max_attempts(3),
        )
        .await
        .unwrap();
    let claimed = s
        .claim("email", 1, Duration::from_secs(60), "node-1")
        .await
        .unwrap();
    let token = claimed[0].lease_token.unwrap();
    assert!(
        s.fail(id, token, "550 mailbox unavailable", Failure::Dead)
            .await
            .unwrap()
    );
    s.close().await;
    let id = id.to_string();

    let listed = run(&db, &["jobs", "list", "--state", "dead"]);
    assert!(listed.status.success(), "{}", stderr(&listed));
    let row = stdout(&listed)
        .lines()
        .find(|l| l.starts_with(&id))
        .map(str::to_owned)
        .expect("the dead job is listed");
    assert!(
        row.contains("dead")
            && row.contains("email.send")
            && row.contains("550 mailbox unavailable"),
        "{row}"
    );
    assert!(!stdout(&run(&db, &["jobs", "list", "--state", "completed"])).contains(&id));

    let shown: Value = serde_json::from_slice(&run(&db, &["jobs", "show", &id]).stdout).unwrap();
    assert_eq!(shown["state"], "dead");
    assert_eq!(shown["errors"][0]["error"], "550 mailbox unavailable");
    assert_eq!(shown["locked_by"], "node-1");

    let retried = run(&db, &["jobs", "retry", &id]);
    assert!(retried.status.success(), "{}", stderr(&retried));
    assert!(stdout(&retried).contains("is available again"));
    let json = stdout(&run(&db, &["jobs", "list", "--json", "--queue", "email"]));
    let job: Value = serde_json::from_str(json.lines().next().unwrap()).unwrap();
    assert_eq!(
        (job["state"].as_str(), job["attempt"].as_i64()),
        (Some("available"), Some(0))
    );

    // Wrong state, wrong id, unknown job: exit 1 and a plain reason.
    let again = run(&db, &["jobs", "retry", &id]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        stderr(&again).contains("only a dead, discarded or retryable job can be retried"),
        "{}",
        stderr(&again)
    );
    let bad = run(&db, &["jobs", "show", "not-an-id"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        stderr(&bad).contains("'not-an-id' is not a job id"),
        "{}",
        stderr(&bad)
    );
    let unknown = run(&db, &["jobs", "discard", &uuid::Uuid::now_v7().to_string()]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(
        stderr(&unknown).contains("job not found"),
        "{}",
        stderr(&unknown)
    );
    let bad_state = run(&db, &["jobs", "list", "--state", "sleeping"]);
    assert_eq!(bad_state.status.code(), Some(1));
    assert!(stderr(&bad_state).contains("state must be one of"));

    let discarded = run(&db, &["jobs", "discard", &id]);
    assert!(discarded.status.success(), "{}", stderr(&discarded));
    assert!(stdout(&discarded).contains("is discarded"));
}
