//! Backups to an S3-compatible bucket (moto under `scripts/test`) and
//! backups scheduled by the job runner, on SQLite and PostgreSQL: create →
//! list → verify → restore → prune against the bucket; a scheduled run
//! through `storekeep serve` takes a backup and prunes exactly what the
//! policy lets go, and `/api/metrics` and `/api/health/detailed` show the
//! new backup's time; a failing run is counted and its error shown.

use std::process::Command;
use std::time::{Duration, Instant};

use object_store::ObjectStore;
use object_store::path::Path as ObjectPath;
use serde_json::{Value, json};
use storekeep_test_support::{PLATFORM_TOKEN, ServerProcess, TestDb, storekeep_command};

use crate::BIN;
use crate::backup::{backups_dir, tools_ready};
use crate::crash_support::{cli, shop_with_owner};

/// `(endpoint, bucket)` of the S3 test server, or `None` (skip) unless
/// tools are required.
fn s3_env() -> Option<(String, String)> {
    let get = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    match (
        get("STOREKEEP_TEST_S3_ENDPOINT"),
        get("STOREKEEP_TEST_S3_BUCKET"),
    ) {
        (Some(e), Some(b)) => Some((e.trim_end_matches('/').to_owned(), b)),
        _ => {
            assert!(
                std::env::var("STOREKEEP_TEST_REQUIRE_TOOLS").is_err(),
                "STOREKEEP_TEST_S3_ENDPOINT is required when STOREKEEP_TEST_REQUIRE_TOOLS is set"
            );
            eprintln!("skipping: no STOREKEEP_TEST_S3_ENDPOINT");
            None
        }
    }
}

/// A bucket folder of its own for one test, and the settings that send
/// backups there.
struct Folder {
    endpoint: String,
    bucket: String,
    prefix: String,
}

impl Folder {
    fn new(endpoint: String, bucket: String) -> Self {
        Self {
            endpoint,
            bucket,
            prefix: format!("backups/{}", uuid::Uuid::now_v7()),
        }
    }

    fn command(&self, db: &TestDb) -> Command {
        let mut c = storekeep_command(BIN, db);
        c.env("STOREKEEP_BACKUP_S3_BUCKET", &self.bucket)
            .env("STOREKEEP_BACKUP_S3_ENDPOINT", &self.endpoint)
            .env("STOREKEEP_BACKUP_S3_PREFIX", &self.prefix)
            .env("STOREKEEP_BACKUP_S3_ACCESS_KEY_ID", "test")
            .env("STOREKEEP_BACKUP_S3_SECRET_ACCESS_KEY", "test");
        c
    }

    fn run(&self, db: &TestDb, args: &[&str]) -> String {
        let out = self.command(db).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "storekeep {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The bucket as the test sees it, apart from storekeep.
    fn store(&self) -> impl ObjectStore {
        storekeep::media::s3_builder(&storekeep::media::S3Access {
            bucket: &self.bucket,
            region: "us-east-1",
            endpoint: Some(&self.endpoint),
            access_key_id: Some("test"),
            secret_access_key: Some("test"),
        })
        .build()
        .unwrap()
    }

    fn path(&self, name: &str) -> ObjectPath {
        ObjectPath::from(format!("{}/{name}", self.prefix))
    }

    /// Every object name in the folder, sorted.
    async fn names(&self) -> Vec<String> {
        let listed = self
            .store()
            .list_with_delimiter(Some(&ObjectPath::from(self.prefix.as_str())))
            .await
            .unwrap();
        let mut names: Vec<String> = listed
            .objects
            .into_iter()
            .map(|o| o.location.filename().unwrap().to_owned())
            .collect();
        names.sort();
        names
    }
}

fn lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn slugs(db: &TestDb) -> Vec<String> {
    let out = cli(db, &["tenant", "list", "--json"]);
    let mut slugs: Vec<String> = lines(&String::from_utf8_lossy(&out.stdout))
        .iter()
        .map(|t| t["slug"].as_str().unwrap().to_owned())
        .collect();
    slugs.sort();
    slugs
}

#[tokio::test]
async fn backups_to_s3_list_verify_restore_and_prune() {
    let db = TestDb::new().await;
    let Some((endpoint, bucket)) = s3_env() else {
        return;
    };
    if !tools_ready(&db) {
        return;
    }
    let s3 = Folder::new(endpoint, bucket);
    shop_with_owner(&db);
    let old: Value = serde_json::from_str(&s3.run(&db, &["backup", "create", "--json"])).unwrap();
    let new: Value = serde_json::from_str(&s3.run(&db, &["backup", "create", "--json"])).unwrap();
    let (old_id, new_id) = (old["id"].as_str().unwrap(), new["id"].as_str().unwrap());
    let archive = new["archive"]["file"].as_str().unwrap();

    // Both files of each backup are in the bucket folder, none on disk.
    let mut want = vec![
        old["archive"]["file"].as_str().unwrap().to_owned(),
        format!("{old_id}.manifest.json"),
        archive.to_owned(),
        format!("{new_id}.manifest.json"),
    ];
    want.sort();
    assert_eq!(s3.names().await, want);
    assert!(
        !backups_dir(&db).exists() || std::fs::read_dir(backups_dir(&db)).unwrap().count() == 0,
        "nothing in the local backup folder"
    );
    let stored = s3
        .store()
        .get(&s3.path(archive))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(
        stored.len() as u64,
        new["archive"]["bytes"].as_u64().unwrap()
    );
    assert!(stored.starts_with(b"age-encryption.org/v1"), "encrypted");

    let listed = lines(&s3.run(&db, &["backup", "list", "--json"]));
    assert_eq!(listed, vec![new.clone(), old.clone()], "newest first");

    let verified: Value =
        serde_json::from_str(&s3.run(&db, &["backup", "verify", "latest", "--json"])).unwrap();
    assert_eq!(verified["id"], new_id);

    // A change after the backup, then the bucket's backup restored over it.
    cli(&db, &["tenant", "create", "later", "--name", "Later"]);
    assert_eq!(slugs(&db), ["crash", "later"]);
    let restored: Value =
        serde_json::from_str(&s3.run(&db, &["backup", "restore", new_id, "--force", "--json"]))
            .unwrap();
    assert_eq!(restored["id"], new_id);
    assert_eq!(slugs(&db), ["crash"], "the database is the backup's");
    let tmp = db.dir.path().join("tmp");
    let left: Vec<_> = std::fs::read_dir(&tmp)
        .map(|d| d.filter_map(Result::ok).map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(
        left.is_empty(),
        "no download left in {}: {left:?}",
        tmp.display()
    );

    // The older one made ten days old: a policy of a week prunes it,
    // archive and manifest, and keeps the newer.
    let manifest = s3.path(&format!("{old_id}.manifest.json"));
    let mut edited = old.clone();
    edited["created_at"] = json!(chrono::Utc::now() - chrono::Duration::days(10));
    s3.store()
        .put(&manifest, serde_json::to_vec(&edited).unwrap().into())
        .await
        .unwrap();
    let mut prune = s3.command(&db);
    let out = prune
        .env("STOREKEEP_BACKUP_KEEP", "1d:7d")
        .args(["backup", "prune", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let gone = lines(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(gone.len(), 1);
    assert_eq!(gone[0]["id"], old_id);
    let mut want = vec![archive.to_owned(), format!("{new_id}.manifest.json")];
    want.sort();
    assert_eq!(s3.names().await, want, "both files of the old backup went");

    // A name from an edited manifest never reaches the bucket as a path.
    let mut evil = new.clone();
    evil["archive"]["file"] = json!("../../media/x");
    s3.store()
        .put(
            &s3.path(&format!("{new_id}.manifest.json")),
            serde_json::to_vec(&evil).unwrap().into(),
        )
        .await
        .unwrap();
    let out = s3
        .command(&db)
        .args(["backup", "verify", new_id])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no backup"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The server's `/api/health/detailed` body.
pub(crate) async fn detailed(server: &ServerProcess) -> Value {
    reqwest::Client::new()
        .get(server.url("/api/health/detailed"))
        .bearer_auth(PLATFORM_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// One sample's value in `/api/metrics`.
pub(crate) async fn metric(server: &ServerProcess, name: &str) -> Option<f64> {
    let text = reqwest::get(server.url("/api/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

/// Waits (a minute at most) until `done` holds of the detailed health.
async fn until(server: &ServerProcess, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let d = detailed(server).await;
        if done(&d) {
            return d;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: {d:#}\n{:?}",
            server.logs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub(crate) fn backup_ids(db: &TestDb) -> Vec<String> {
    let out = cli(db, &["backup", "list", "--json"]);
    lines(&String::from_utf8_lossy(&out.stdout))
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_scheduled_backup_prunes_what_the_policy_says_and_reports_its_age() {
    let db = TestDb::new().await;
    if !tools_ready(&db) {
        return;
    }
    shop_with_owner(&db);
    const DAY: i64 = 86_400;
    let now = chrono::Utc::now().timestamp();
    let yesterday_noon = now - now.rem_euclid(DAY) - DAY + 12 * 3600;
    // Taken earlier by hand, then dated: yesterday noon; an hour before
    // (same day: pruned); three days ago; ten days ago (past the week).
    let dated = [
        yesterday_noon,
        yesterday_noon - 3600,
        yesterday_noon - 3 * DAY,
        yesterday_noon - 10 * DAY,
    ];
    let mut ids = Vec::new();
    for t in dated {
        let out = cli(&db, &["backup", "create", "--json"]);
        let id = serde_json::from_slice::<Value>(&out.stdout).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let path = backups_dir(&db).join(format!("{id}.manifest.json"));
        let mut m: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        m["created_at"] = json!(chrono::DateTime::from_timestamp(t, 0).unwrap());
        std::fs::write(&path, serde_json::to_vec(&m).unwrap()).unwrap();
        ids.push(id);
    }

    let started = chrono::Utc::now();
    let mut cmd = storekeep_command(BIN, &db);
    cmd.arg("serve")
        .env("STOREKEEP_SHUTDOWN_DRAIN_SECS", "0")
        .env("STOREKEEP_BACKUP_SCHEDULE", "1h")
        .env("STOREKEEP_BACKUP_KEEP", "1d:7d")
        .env("STOREKEEP_JOBS_POLL_INTERVAL_MS", "100");
    let server = ServerProcess::start(cmd);
    // The first period's run starts with the server.
    let d = until(&server, "the scheduled backup", |d| {
        d["backups"]["last_success_at"]
            .as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .is_some_and(|t| t.with_timezone(&chrono::Utc) >= started)
    })
    .await;
    let backups = &d["backups"];
    assert_eq!(backups["schedule_seconds"], 3600);
    assert_eq!(backups["failures"], 0);
    assert_eq!(backups["last_error"], Value::Null);
    assert!(backups["age_seconds"].as_i64().unwrap() < 600, "{backups}");
    assert_eq!(
        backups["destination"],
        backups_dir(&db).display().to_string()
    );
    let new_id = backups["last_success_id"].as_str().unwrap().to_owned();
    let new_at =
        chrono::DateTime::parse_from_rfc3339(backups["last_success_at"].as_str().unwrap()).unwrap();
    assert_eq!(
        metric(&server, "storekeep_backup_last_success_timestamp_seconds").await,
        Some(new_at.timestamp() as f64)
    );
    assert_eq!(
        metric(&server, "storekeep_backup_failures_total{stage=\"create\"}").await,
        Some(0.0)
    );
    assert_eq!(
        metric(&server, "storekeep_backup_failures_total{stage=\"prune\"}").await,
        Some(0.0)
    );

    // Prune follows the create in the same job: the policy's own answer.
    let mut times = vec![new_at.timestamp()];
    times.extend(dated);
    let policy = storekeep::backup::retention::parse_policy("1d:7d").unwrap();
    let kept = storekeep::backup::retention::keep(&policy, &times, chrono::Utc::now().timestamp());
    assert_eq!(kept, [true, true, false, true, false]);
    let want = vec![new_id.clone(), ids[0].clone(), ids[2].clone()];
    let deadline = Instant::now() + Duration::from_secs(60);
    while backup_ids(&db) != want {
        assert!(
            Instant::now() < deadline,
            "left: {:?}, want {want:?}\n{:?}",
            backup_ids(&db),
            server.logs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let files = std::fs::read_dir(backups_dir(&db)).unwrap().count();
    assert_eq!(files, 6, "three archives and their manifests, nothing else");
    server.sigterm();
}

#[tokio::test]
async fn a_failing_scheduled_backup_is_counted_and_its_error_shown() {
    let db = TestDb::new().await;
    if !tools_ready(&db) {
        return;
    }
    // A destination that cannot be created: under a file.
    let file = db.dir.path().join("not-a-folder");
    std::fs::write(&file, b"").unwrap();
    let mut cmd = storekeep_command(BIN, &db);
    cmd.arg("serve")
        .env("STOREKEEP_SHUTDOWN_DRAIN_SECS", "0")
        .env("STOREKEEP_BACKUP_SCHEDULE", "1h")
        .env("STOREKEEP_BACKUP_DIR", file.join("backups"))
        .env("STOREKEEP_JOBS_POLL_INTERVAL_MS", "100");
    let server = ServerProcess::start(cmd);
    let d = until(&server, "the failed run", |d| d["backups"]["failures"] == 1).await;
    let backups = &d["backups"];
    assert_eq!(backups["last_success_at"], Value::Null);
    assert!(
        backups["last_error"]
            .as_str()
            .unwrap()
            .contains("not-a-folder"),
        "{backups}"
    );
    assert_eq!(
        metric(&server, "storekeep_backup_failures_total{stage=\"create\"}").await,
        Some(1.0)
    );
    assert_eq!(
        metric(&server, "storekeep_backup_last_success_timestamp_seconds").await,
        Some(0.0),
        "no good backup: the alert's age is since the epoch"
    );
    assert!(
        server
            .logs()
            .iter()
            .any(|l| l.contains("scheduled backup failed")),
        "the failure is logged"
    );
    server.sigterm();
}

/// A session of the test's own on the PostgreSQL database of `db`.
pub(crate) async fn pg_session(db: &TestDb) -> sqlx::PgConnection {
    use sqlx::Connection;
    sqlx::PgConnection::connect(&db.url).await.unwrap()
}

/// On PostgreSQL a run waits for no other node: while another session
/// (here: the test, standing in for another node's run) holds the backup
/// lock, the scheduled run is skipped and counted, and takes no backup.
/// (SQLite's lock file, and `backup create` by hand: `backup_runs.rs`.)
#[tokio::test]
async fn a_scheduled_run_is_skipped_while_another_nodes_run_holds_the_lock() {
    let db = TestDb::new().await;
    if db.is_sqlite() || !tools_ready(&db) {
        return;
    }
    let mut other = pg_session(&db).await;
    let (got,): (bool,) = sqlx::query_as("SELECT pg_try_advisory_lock($1)")
        .bind(storekeep_store_postgres::maintenance::BACKUP_LOCK_KEY)
        .fetch_one(&mut other)
        .await
        .unwrap();
    assert!(got);
    let mut cmd = storekeep_command(BIN, &db);
    cmd.arg("serve")
        .env("STOREKEEP_SHUTDOWN_DRAIN_SECS", "0")
        .env("STOREKEEP_BACKUP_SCHEDULE", "1h")
        .env("STOREKEEP_JOBS_POLL_INTERVAL_MS", "100");
    let server = ServerProcess::start(cmd);
    let deadline = Instant::now() + Duration::from_secs(60);
    while metric(&server, "storekeep_backup_skipped_runs_total").await != Some(1.0) {
        assert!(Instant::now() < deadline, "no skip: {:?}", server.logs());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let d = detailed(&server).await;
    assert_eq!(d["backups"]["failures"], 0, "{d:#}");
    assert_eq!(d["backups"]["last_success_at"], Value::Null, "{d:#}");
    assert!(backup_ids(&db).is_empty(), "the skipped run took no backup");
    assert!(
        server
            .logs()
            .iter()
            .any(|l| l.contains("scheduled backup skipped: another backup is running")),
        "the skip is logged"
    );
    server.sigterm();
}

/// A hung run is stopped at `backup.timeout`: counted as failed with the
/// reason, its `pg_dump` killed, its plain dump folder removed. (On
/// PostgreSQL, where a stand-in `pg_dump` that never ends can be set in
/// `backup.pg_bin_dir`; an SQLite snapshot cannot be made to hang.)
#[tokio::test]
async fn a_hung_scheduled_run_is_stopped_at_the_timeout_and_cleaned_up() {
    let db = TestDb::new().await;
    if db.is_sqlite() || !tools_ready(&db) {
        return;
    }
    let bin = db.dir.path().join("fake-bin");
    std::fs::create_dir(&bin).unwrap();
    let pid_file = db.dir.path().join("pg_dump.pid");
    let script = bin.join("pg_dump");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho $$ > '{}'\nexec sleep 600\n",
            pid_file.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut cmd = storekeep_command(BIN, &db);
    cmd.arg("serve")
        .env("STOREKEEP_SHUTDOWN_DRAIN_SECS", "0")
        .env("STOREKEEP_BACKUP_SCHEDULE", "1h")
        .env("STOREKEEP_BACKUP_TIMEOUT", "10s")
        .env("STOREKEEP_BACKUP_PG_BIN_DIR", &bin)
        .env("STOREKEEP_JOBS_POLL_INTERVAL_MS", "100");
    let server = ServerProcess::start(cmd);
    let d = until(&server, "the stopped run", |d| {
        d["backups"]["failures"] == 1
    })
    .await;
    let error = d["backups"]["last_error"].as_str().unwrap();
    assert!(error.contains("backup.timeout (10s)"), "{error}");
    assert_eq!(
        metric(&server, "storekeep_backup_failures_total{stage=\"create\"}").await,
        Some(1.0)
    );
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    assert!(
        !std::path::Path::new(&format!("/proc/{}", pid.trim())).exists(),
        "the hung pg_dump ({}) was killed and reaped",
        pid.trim()
    );
    let left: Vec<_> = std::fs::read_dir(db.dir.path().join("tmp"))
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".backup-"))
        .collect();
    assert!(left.is_empty(), "plain dump folders left: {left:?}");
    assert!(backup_ids(&db).is_empty());
    server.sigterm();
}

/// A node with the schedule off still runs a `backup.run` it claims
/// (every node works `default`): here the scheduled node enqueues the
/// period's run but works no `default` queue, so only the unscheduled
/// node can take it; it takes the backup instead of failing the job.
#[tokio::test]
async fn a_node_with_the_schedule_off_runs_a_scheduled_backup_it_claims() {
    let db = TestDb::new().await;
    if !tools_ready(&db) {
        return;
    }
    shop_with_owner(&db);
    let mut cmd = storekeep_command(BIN, &db);
    cmd.arg("serve")
        .env("STOREKEEP_SHUTDOWN_DRAIN_SECS", "0")
        .env("STOREKEEP_BACKUP_SCHEDULE", "1h")
        .env("STOREKEEP_JOBS_QUEUES", "email=1")
        .env("STOREKEEP_JOBS_POLL_INTERVAL_MS", "100");
    let scheduler = ServerProcess::start(cmd);
    let mut cmd = storekeep_command(BIN, &db);
    cmd.arg("serve")
        .env("STOREKEEP_SHUTDOWN_DRAIN_SECS", "0")
        .env("STOREKEEP_BACKUP_SCHEDULE", "off")
        .env("STOREKEEP_JOBS_POLL_INTERVAL_MS", "100");
    let worker = ServerProcess::start(cmd);
    let d = until(&worker, "the run on the unscheduled node", |d| {
        d["backups"]["last_success_id"].is_string()
    })
    .await;
    assert_eq!(d["backups"]["schedule_seconds"], Value::Null, "{d:#}");
    assert_eq!(d["backups"]["failures"], 0, "{d:#}");
    // Its warning (no backup.recipients) is a line of the JSON log.
    assert!(
        worker.logs().iter().any(|l| {
            serde_json::from_str::<Value>(l).is_ok_and(|j| {
                j["level"] == "WARN"
                    && j["message"]
                        .as_str()
                        .is_some_and(|m| m.starts_with("backup.recipients is unset"))
            })
        }),
        "{:?}",
        worker.logs()
    );
    assert_eq!(
        backup_ids(&db),
        [d["backups"]["last_success_id"].as_str().unwrap()]
    );
    // The job ends completed (its outcome is recorded in batches: wait).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let out = cli(&db, &["jobs", "list", "--kind", "backup.run", "--json"]);
        let jobs = lines(&String::from_utf8_lossy(&out.stdout));
        assert_eq!(jobs.len(), 1, "one run for the period: {jobs:?}");
        if jobs[0]["state"] == "completed" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{:#}\n{:?}",
            jobs[0],
            worker.logs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    worker.sigterm();
    scheduler.sigterm();
}
