//! Backups that meet each other or die: one backup at a time whoever
//! takes it (the server's schedule or `storekeep backup create` by hand),
//! and a `create` killed midway leaves nothing listed, nothing that grows
//! run after run, the previous backup good and the database as it was.
//! On SQLite and PostgreSQL; the overlaps are made certain by holding the
//! lock from the test or by stopping (`SIGSTOP`) a `create` once its
//! plain dump is being written.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use storekeep_test_support::{ServerProcess, TestDb, storekeep_command};

use crate::BIN;
use crate::backup::{backups_dir, tools_ready};
use crate::backup_s3::{backup_ids, metric, pg_session};
use crate::crash_support::{cli, shop_with_owner};

/// Rows of random bytes (so that nothing compresses them away) making the
/// database this many MiB bigger: a `create` takes long enough to be
/// caught midway.
const FILLER_MIB: u32 = 16;

async fn fill(db: &TestDb) {
    use sqlx::Connection;
    if db.is_sqlite() {
        let mut conn = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
        sqlx::raw_sql(&format!(
            "CREATE TABLE filler (id INTEGER PRIMARY KEY, b BLOB NOT NULL);
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {FILLER_MIB})
             INSERT INTO filler (b) SELECT randomblob(1048576) FROM n;"
        ))
        .execute(&mut conn)
        .await
        .unwrap();
        conn.close().await.unwrap();
    } else {
        let mut conn = pg_session(db).await;
        // 32 768 MD5s of 16 random bytes each: 1 MiB a row.
        sqlx::raw_sql(&format!(
            "CREATE TABLE filler (id serial PRIMARY KEY, b bytea NOT NULL);
             ALTER TABLE filler ALTER COLUMN b SET STORAGE EXTERNAL;
             INSERT INTO filler (b)
             SELECT (SELECT string_agg(decode(md5(random()::text || r || g), 'hex'), ''::bytea)
                     FROM generate_series(1, 65536) g)
             FROM generate_series(1, {FILLER_MIB}) r;"
        ))
        .execute(&mut conn)
        .await
        .unwrap();
        conn.close().await.unwrap();
    }
}

/// `storekeep backup create --json` started as a child (`env`: more
/// settings).
fn start_create(db: &TestDb, env: &[(&str, &Path)]) -> Child {
    storekeep_command(BIN, db)
        .envs(env.iter().copied())
        .args(["backup", "create", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The plain dump folders (`.backup-create-…`) in `DATA_DIR/tmp`.
fn dump_folders(db: &TestDb) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(db.dir.path().join("tmp"))
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(".backup-create-")
        })
        .map(|e| e.path())
        .collect();
    found.sort();
    found
}

/// Waits until the running `create` has written `at_least` bytes of its
/// plain dump (it holds the backup lock from before its folder exists),
/// failing if it ends first; the folder. Folders there before (`old`) are
/// not its own.
fn until_dumping(db: &TestDb, create: &mut Child, at_least: u64, old: &[PathBuf]) -> PathBuf {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(dir) = dump_folders(db).into_iter().find(|d| {
            !old.contains(d) && std::fs::metadata(d.join("dump")).is_ok_and(|m| m.len() >= at_least)
        }) {
            return dir;
        }
        if let Some(status) = create.try_wait().unwrap() {
            panic!("the backup ended ({status}) before it was caught writing its dump");
        }
        assert!(Instant::now() < deadline, "no plain dump appeared");
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .unwrap();
    assert!(ok.success(), "kill {sig} {pid}");
}

/// The path of the real `pg_dump`, as `backup::pg_tools` finds it.
fn real_pg_dump() -> PathBuf {
    let on_path = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join("pg_dump"))
            .find(|p| p.is_file())
    });
    on_path.unwrap_or_else(|| {
        let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.path().join("bin/pg_dump"))
            .filter(|p| p.is_file())
            .collect();
        found.sort_by_key(|p| {
            p.ancestors()
                .nth(2)
                .and_then(|v| v.file_name()?.to_str()?.parse::<u32>().ok())
        });
        found.pop().expect("pg_dump")
    })
}

/// A `backup.pg_bin_dir` whose `pg_dump` records its pid in `pid_file`,
/// then is the real one.
fn recording_pg_dump(db: &TestDb, pid_file: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let bin = db.dir.path().join("recording-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let script = bin.join("pg_dump");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho $$ > '{}'\nexec '{}' \"$@\"\n",
            pid_file.display(),
            real_pg_dump().display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

/// Whether process `pid` is gone (or a zombie nobody reaped yet).
fn gone(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z')),
    }
}

/// The lock a run takes, held by the test standing in for another run.
enum Held {
    File(std::fs::File),
    Session(sqlx::PgConnection),
}

impl Held {
    async fn release(self) {
        use sqlx::Connection;
        match self {
            Self::File(file) => file.unlock().unwrap(),
            Self::Session(session) => session.close().await.unwrap(),
        }
    }
}

async fn hold_the_backup_lock(db: &TestDb) -> Held {
    if db.is_sqlite() {
        let tmp = db.dir.path().join("tmp");
        std::fs::create_dir_all(&tmp).unwrap();
        let file = std::fs::File::create(tmp.join("backup.lock")).unwrap();
        file.try_lock().unwrap();
        Held::File(file)
    } else {
        let mut session = pg_session(db).await;
        let (got,): (bool,) = sqlx::query_as("SELECT pg_try_advisory_lock($1)")
            .bind(storekeep_store_postgres::maintenance::BACKUP_LOCK_KEY)
            .fetch_one(&mut session)
            .await
            .unwrap();
        assert!(got);
        Held::Session(session)
    }
}

/// A server taking a backup every hour (the first at once).
fn scheduled_server(db: &TestDb) -> ServerProcess {
    let mut cmd = storekeep_command(BIN, db);
    cmd.arg("serve")
        .env("STOREKEEP_SHUTDOWN_DRAIN_SECS", "0")
        .env("STOREKEEP_BACKUP_SCHEDULE", "1h")
        .env("STOREKEEP_JOBS_POLL_INTERVAL_MS", "100");
    ServerProcess::start(cmd)
}

/// Waits (a minute at most) for the server's scheduled run to be skipped.
async fn until_skipped(server: &ServerProcess) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while metric(server, "storekeep_backup_skipped_runs_total").await != Some(1.0) {
        assert!(Instant::now() < deadline, "no skip: {:?}", server.logs());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The line is written before the count goes up, but reaches the
    // test through the thread reading the server's output, which may lag.
    let skip = "scheduled backup skipped: another backup is running";
    let logs = server.logs_until(Duration::from_secs(10), |l| l.contains(skip));
    assert!(
        logs.iter().any(|l| l.contains(skip)),
        "the skip is logged: {logs:?}"
    );
}

/// While another run holds the backup lock (the test, here), a backup by
/// hand is refused, saying so, and writes nothing; the server's scheduled
/// run is skipped and counted. Once the lock is free, both work.
#[tokio::test]
async fn a_backup_by_hand_is_refused_and_a_scheduled_one_skipped_while_another_runs() {
    let db = TestDb::new().await;
    if !tools_ready(&db) {
        return;
    }
    shop_with_owner(&db);
    let held = hold_the_backup_lock(&db).await;

    let out = storekeep_command(BIN, &db)
        .args(["backup", "create"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("another backup is running"), "{said}");
    assert!(
        backup_ids(&db).is_empty(),
        "the refused run wrote no backup"
    );
    assert!(dump_folders(&db).is_empty(), "nor any plain dump");

    let server = scheduled_server(&db);
    until_skipped(&server).await;
    assert!(backup_ids(&db).is_empty(), "the skipped run took no backup");
    server.sigterm();

    held.release().await;
    let out = cli(&db, &["backup", "create", "--json"]);
    let made: Value = serde_json::from_slice(&out.stdout).unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("WARN backup.recipients is unset"),
        "the command's warnings on stderr: {said}"
    );
    cli(&db, &["backup", "verify", made["id"].as_str().unwrap()]);
    assert!(
        !db.dir.path().join("tmp/backup.lock").exists(),
        "the lock file goes with its run"
    );
}

/// A real overlap: a `create` by hand, stopped while it writes its dump,
/// holds the lock; the server's scheduled run meanwhile is skipped; the
/// `create`, continued, finishes and its backup verifies.
#[tokio::test]
async fn a_scheduled_run_is_skipped_while_a_backup_by_hand_runs_and_that_one_verifies() {
    let db = TestDb::new().await;
    if !tools_ready(&db) {
        return;
    }
    shop_with_owner(&db);
    fill(&db).await;
    let mut create = start_create(&db, &[]);
    until_dumping(&db, &mut create, 1, &[]);
    signal(create.id(), "-STOP");
    assert!(create.try_wait().unwrap().is_none(), "stopped midway");

    let server = scheduled_server(&db);
    until_skipped(&server).await;

    signal(create.id(), "-CONT");
    let out = create.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let made: Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = made["id"].as_str().unwrap();
    assert_eq!(backup_ids(&db), [id], "one backup: the one by hand");
    cli(&db, &["backup", "verify", id]);
    server.sigterm();
}

/// A `create` killed (`SIGKILL`) while it writes its plain dump: its
/// folder with the partial dump is left in `DATA_DIR/tmp`, nothing is
/// listed, and on PostgreSQL its `pg_dump` dies with it. The next killed
/// run removes the first one's leftovers (at most one run's are ever
/// left), the previous backup still verifies, and the next `create`
/// succeeds, removes the leftovers and backs up the same, unchanged,
/// database.
#[tokio::test]
async fn a_backup_killed_midway_leaves_nothing_listed_and_the_next_one_cleans_up() {
    let db = TestDb::new().await;
    if !tools_ready(&db) {
        return;
    }
    shop_with_owner(&db);
    fill(&db).await;
    let out = cli(&db, &["backup", "create", "--json"]);
    let first: Value = serde_json::from_slice(&out.stdout).unwrap();
    let first_id = first["id"].as_str().unwrap();

    let pid_file = db.dir.path().join("pg_dump.pid");
    let bin = (!db.is_sqlite()).then(|| recording_pg_dump(&db, &pid_file));
    let kill_midway = || {
        let _ = std::fs::remove_file(&pid_file);
        let env: Vec<(&str, &Path)> = bin
            .iter()
            .map(|b| ("STOREKEEP_BACKUP_PG_BIN_DIR", b.as_path()))
            .collect();
        let mut create = start_create(&db, &env);
        let folder = until_dumping(&db, &mut create, 1 << 20, &dump_folders(&db));
        create.kill().unwrap();
        create.wait().unwrap();
        if bin.is_some() {
            let pid = std::fs::read_to_string(&pid_file).unwrap();
            let pid = pid.trim();
            let deadline = Instant::now() + Duration::from_secs(60);
            while !gone(pid) {
                assert!(
                    Instant::now() < deadline,
                    "pg_dump ({pid}) outlives the killed backup"
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        folder
    };

    let left = kill_midway();
    assert_eq!(
        dump_folders(&db),
        std::slice::from_ref(&left),
        "the killed run's dump folder"
    );
    // Partial, and stays so: no `pg_dump` went on writing it alone.
    let partial = std::fs::metadata(left.join("dump")).unwrap().len();
    assert!(
        partial < first["dump"]["bytes"].as_u64().unwrap(),
        "{partial} bytes: the whole dump"
    );
    assert_eq!(backup_ids(&db), [first_id], "nothing more is listed");

    let again = kill_midway();
    assert_eq!(
        dump_folders(&db),
        [again],
        "the second killed run removed the first one's leftovers"
    );
    assert_eq!(backup_ids(&db), [first_id]);

    cli(&db, &["backup", "verify", first_id]);

    let out = cli(&db, &["backup", "create", "--json"]);
    let next: Value = serde_json::from_slice(&out.stdout).unwrap();
    let next_id = next["id"].as_str().unwrap();
    assert_eq!(backup_ids(&db), [next_id, first_id]);
    assert!(dump_folders(&db).is_empty(), "no plain dump left");
    let tmp: Vec<_> = std::fs::read_dir(db.dir.path().join("tmp"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(tmp.is_empty(), "nothing left in DATA_DIR/tmp: {tmp:?}");
    let mut in_backups: Vec<String> = std::fs::read_dir(backups_dir(&db))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    in_backups.sort();
    let mut whole: Vec<String> = [&first, &next]
        .iter()
        .flat_map(|m| {
            [
                m["archive"]["file"].as_str().unwrap().to_owned(),
                format!("{}.manifest.json", m["id"].as_str().unwrap()),
            ]
        })
        .collect();
    whole.sort();
    assert_eq!(in_backups, whole, "two whole backups and nothing else");
    assert_eq!(next["tables"], first["tables"], "the database is unchanged");
    assert_eq!(next["audit_heads"], first["audit_heads"]);
}

/// PostgreSQL: a `create` whose lock session ends midway (here
/// terminated, as `idle_session_timeout`, a restart or the network would)
/// fails, saying the lock was lost, and publishes nothing: another node
/// may have taken the lock meanwhile.
#[tokio::test]
async fn a_backup_whose_postgres_lock_is_lost_midway_fails_and_lists_nothing() {
    let db = TestDb::new().await;
    if db.is_sqlite() || !tools_ready(&db) {
        return;
    }
    shop_with_owner(&db);
    fill(&db).await;
    let mut create = start_create(&db, &[]);
    until_dumping(&db, &mut create, 1, &[]);
    signal(create.id(), "-STOP");
    let mut session = pg_session(&db).await;
    // BACKUP_LOCK_KEY "STKBKUP1": classid "STKB", objid "KUP1"; in this
    // test's database only (the cluster is shared with other tests).
    let (ended,): (i64,) = sqlx::query_as(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_locks
         WHERE locktype = 'advisory' AND granted
           AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
           AND classid = x'53544B42'::bigint::oid AND objid = x'4B555031'::bigint::oid",
    )
    .fetch_one(&mut session)
    .await
    .unwrap();
    assert_eq!(ended, 1, "the run's lock session was found");
    signal(create.id(), "-CONT");
    let out = create.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the run fails");
    assert!(said.contains("the backup lock was lost"), "{said}");
    assert!(backup_ids(&db).is_empty(), "nothing is listed");
}
