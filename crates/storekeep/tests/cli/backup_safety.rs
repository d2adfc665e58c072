//! `storekeep backup` and the files around it: plain dumps stay private
//! and local whatever the umask, and an edited manifest cannot make a
//! command touch a file outside the backup folder.

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use storekeep_test_support::{ServerProcess, TestDb, storekeep_command};

use crate::BIN;
use crate::backup::{backups_dir, tools_ready};
use crate::backup_s3::metric;
use crate::crash_support::{cli, shop_with_owner};

/// `storekeep ARGS` under umask 000, so only the modes the code sets
/// itself keep what it writes private; it must succeed.
fn open_umask(db: &TestDb, args: &[&str]) -> Output {
    let base = storekeep_command(BIN, db);
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("umask 000 && exec \"$0\" \"$@\"")
        .arg(BIN)
        .args(args)
        .current_dir(db.dir.path());
    for (k, v) in base.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "storekeep {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn names(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// The plain dump is staged in `DATA_DIR/tmp` (0700), not in `backup.dir`
/// (a network mount or synced folder, maybe), and nothing plain is left
/// anywhere once `create` and `verify` are done.
#[tokio::test]
async fn plain_dumps_stay_in_a_private_local_folder() {
    let db = TestDb::new().await;
    if !tools_ready(&db) {
        return;
    }
    shop_with_owner(&db);
    let out = open_umask(&db, &["backup", "create", "--json"]);
    let manifest: Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = manifest["id"].as_str().unwrap();
    let sealed_only = BTreeSet::from([
        format!("{id}.manifest.json"),
        manifest["archive"]["file"].as_str().unwrap().to_owned(),
    ]);
    assert_eq!(names(&backups_dir(&db)), sealed_only);
    let tmp = db.dir.path().join("tmp");
    assert_eq!(mode(&tmp), 0o700, "the local staging folder is private");
    assert!(names(&tmp).is_empty(), "no plain dump left after create");

    open_umask(&db, &["backup", "verify", "latest"]);
    assert_eq!(names(&backups_dir(&db)), sealed_only);
    assert_eq!(mode(&tmp), 0o700);
    assert!(names(&tmp).is_empty(), "no plain dump left after verify");
}

/// Manifests edited to name a file outside the backup folder (through
/// `../`, an absolute path or an id that is not one) are skipped with a
/// warning: an old date makes prune pick them, and it deletes nothing of
/// theirs; the files they name survive.
#[tokio::test]
async fn prune_never_deletes_a_file_an_edited_manifest_names() {
    let db = TestDb::new().await;
    if !tools_ready(&db) {
        return;
    }
    shop_with_owner(&db);
    let out = open_umask(&db, &["backup", "create", "--json"]);
    let real: Value = serde_json::from_slice(&out.stdout).unwrap();
    let dir = backups_dir(&db);
    let victim = db.dir.path().join("victim.db");
    std::fs::write(&victim, b"live data").unwrap();
    // `../victim.manifest.json` is where an id of `../victim` leads.
    let victim_by_id = db.dir.path().join("victim.manifest.json");
    std::fs::write(&victim_by_id, b"live data").unwrap();
    let plant = |file: &str, id: &str, archive: &str| {
        let mut m = real.clone();
        m["id"] = id.into();
        m["created_at"] = "2020-01-01T00:00:00Z".into();
        m["archive"]["file"] = archive.into();
        std::fs::write(dir.join(file), serde_json::to_vec(&m).unwrap()).unwrap();
    };
    let valid_id = "20200101T000000000Z";
    plant(
        &format!("{valid_id}.manifest.json"),
        valid_id,
        "../victim.db",
    );
    plant(
        "20200101T000000001Z.manifest.json",
        "20200101T000000001Z",
        victim.to_str().unwrap(),
    );
    plant("planted.manifest.json", "../victim", "../victim.db");

    let out = open_umask(&db, &["backup", "list", "--json"]);
    let listed: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        listed,
        std::slice::from_ref(&real),
        "only the real backup is listed"
    );
    let warnings = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(warnings.matches("is skipped").count(), 3, "{warnings}");

    let out = open_umask(&db, &["backup", "prune", "--json"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).trim().is_empty(),
        "nothing to prune: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(std::fs::read(&victim).unwrap(), b"live data");
    assert_eq!(std::fs::read(&victim_by_id).unwrap(), b"live data");
    if db.is_sqlite() {
        assert!(db.dir.path().join("storekeep.db").is_file());
    }
    assert_eq!(names(&dir).len(), 5, "the planted manifests stay, skipped");
}

/// SQLite: the restored file takes the database's place in one rename;
/// the old database, checkpointed first, is whole on its own aside (no
/// `-wal` or `-shm` beside it), and no old log is left beside the new one.
#[tokio::test]
async fn an_sqlite_restore_keeps_a_whole_old_database_aside() {
    let db = TestDb::new().await;
    if !db.is_sqlite() {
        return;
    }
    shop_with_owner(&db);
    open_umask(&db, &["backup", "create"]);
    cli(&db, &["tenant", "create", "later", "--name", "Later"]);
    let out = open_umask(&db, &["backup", "restore", "latest", "--force", "--json"]);
    let restored: Value = serde_json::from_slice(&out.stdout).unwrap();
    let aside = restored["previous"].as_str().unwrap().to_owned();
    let left = names(db.dir.path());
    assert!(
        !left.iter().any(|n| n.starts_with("storekeep.db.")
            && (n.ends_with("-wal") || n.ends_with("-shm") || n.contains("restoring"))),
        "nothing but the old file beside the database: {left:?}"
    );
    assert_eq!(tenants(&db, None), ["crash"], "the backup's database");
    assert_eq!(
        tenants(&db, Some(&format!("sqlite://{aside}"))),
        ["crash", "later"],
        "the old database, whole, aside"
    );
}

/// The shops' slugs in the database (`url`: another database).
fn tenants(db: &TestDb, url: Option<&str>) -> Vec<String> {
    let mut cmd = storekeep_command(BIN, db);
    if let Some(url) = url {
        cmd.env("STOREKEEP_DATABASE_URL", url);
    }
    let out = cmd.args(["tenant", "list", "--json"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
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

/// SQLite: the restored file gets the old database's mode and (when the
/// restore may change it, as root) its owner and group, so the server's
/// user can still open it.
#[tokio::test]
async fn an_sqlite_restore_keeps_the_database_owner_and_mode() {
    use std::os::unix::fs::MetadataExt;
    let db = TestDb::new().await;
    if !db.is_sqlite() {
        return;
    }
    shop_with_owner(&db);
    open_umask(&db, &["backup", "create"]);
    let file = db.dir.path().join("storekeep.db");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
    let as_root = std::fs::metadata(&file).unwrap().uid() == 0;
    if as_root {
        std::os::unix::fs::chown(&file, Some(4321), Some(4322)).unwrap();
    }
    open_umask(&db, &["backup", "restore", "latest", "--force"]);
    let now = std::fs::metadata(&file).unwrap();
    assert_eq!(now.permissions().mode() & 0o777, 0o640);
    if as_root {
        assert_eq!((now.uid(), now.gid()), (4321, 4322));
    }
    assert_eq!(tenants(&db, None), ["crash"]);
}

/// PostgreSQL disaster recovery: restoring into a database that does not
/// exist yet creates it from the backup (nothing to keep aside).
#[tokio::test]
async fn a_postgres_restore_into_a_missing_database_creates_it() {
    let db = TestDb::new().await;
    if db.is_sqlite() || !tools_ready(&db) {
        return;
    }
    shop_with_owner(&db);
    open_umask(&db, &["backup", "create"]);
    let mut url = url::Url::parse(&db.url).unwrap();
    let name = format!("{}_dr", url.path().trim_start_matches('/'));
    url.set_path(&format!("/{name}"));
    let out = storekeep_command(BIN, &db)
        .env("STOREKEEP_DATABASE_URL", url.as_str())
        .args(["backup", "restore", "latest", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let restored: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(restored["previous"], Value::Null, "nothing was replaced");
    assert_eq!(tenants(&db, Some(url.as_str())), ["crash"]);
}

/// `storekeep ARGS` with extra settings `env`, expected to fail (exit
/// 1): what it said, stdout (`check-config`) and stderr.
fn refused(db: &TestDb, env: &[(&str, &str)], args: &[&str]) -> String {
    let mut cmd = storekeep_command(BIN, db);
    cmd.envs(env.iter().copied()).args(args);
    let out = cmd.output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(1), "storekeep {args:?}: {said}");
    said
}

/// `storekeep ARGS` with extra settings `env`, expected to succeed:
/// what it wrote on stderr.
fn warned(db: &TestDb, env: &[(&str, &str)], args: &[&str]) -> String {
    let out = storekeep_command(BIN, db)
        .envs(env.iter().copied())
        .args(args)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "storekeep {args:?}: {said}");
    said
}

/// A server with extra settings `env` taking a backup every hour (the
/// first at once): it starts, and that run fails, counted, saying `why`.
async fn serve_fails_its_backups(db: &TestDb, env: &[(&str, &str)], why: &str) {
    let mut cmd = storekeep_command(BIN, db);
    cmd.envs(env.iter().copied())
        .arg("serve")
        .env("STOREKEEP_SHUTDOWN_DRAIN_SECS", "0")
        .env("STOREKEEP_BACKUP_SCHEDULE", "1h")
        .env("STOREKEEP_JOBS_POLL_INTERVAL_MS", "100");
    let server = ServerProcess::start(cmd);
    let failures = "storekeep_backup_failures_total{stage=\"create\"}";
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while metric(&server, failures).await != Some(1.0) {
        assert!(
            std::time::Instant::now() < deadline,
            "no failed run: {:?}",
            server.logs()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let logs = server.logs_until(std::time::Duration::from_secs(5), |l| {
        l.contains("scheduled backup failed") && l.contains(why)
    });
    assert!(
        logs.iter()
            .any(|l| l.contains("scheduled backup failed") && l.contains(why)),
        "the failure says why: {logs:?}"
    );
}

/// A backup folder inside the media folder is refused by `backup create`
/// (and so by the server's scheduled runs, which fail and are counted)
/// and reported by `check-config`, naming both settings, and nothing is
/// written; `serve` still starts and the other backup commands run with
/// a warning, so that backups taken before an upgrade can be moved.
#[tokio::test]
async fn a_backup_folder_inside_the_media_folder_is_refused_by_create_only() {
    let db = TestDb::new().await;
    shop_with_owner(&db);
    let media = db.dir.path().join("media");
    let word = "is inside the media folder";
    for dir in [media.join("backups"), media.clone()] {
        let env = [("STOREKEEP_BACKUP_DIR", dir.to_str().unwrap())];
        for args in [&["backup", "create"][..], &["check-config"]] {
            let said = refused(&db, &env, args);
            assert!(
                said.contains("backup.dir")
                    && said.contains("data_dir/media")
                    && said.contains(word),
                "storekeep {args:?} with backup.dir {}: {said}",
                dir.display()
            );
        }
        for args in [&["backup", "list"][..], &["backup", "prune"]] {
            let said = warned(&db, &env, args);
            assert!(
                said.contains("warning") && said.contains(word),
                "storekeep {args:?} with backup.dir {}: {said}",
                dir.display()
            );
        }
    }
    serve_fails_its_backups(
        &db,
        &[(
            "STOREKEEP_BACKUP_DIR",
            media.join("backups").to_str().unwrap(),
        )],
        word,
    )
    .await;
    assert!(
        !media.join("backups").exists()
            || !media.join("backups").read_dir().unwrap().any(|e| e
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".manifest.json")),
        "no backup was written"
    );
    // A folder beside the media folder, or holding it (backup listing and
    // cleanup never look into subfolders), is fine.
    for fine in [
        db.dir.path().join("media-backups"),
        db.dir.path().to_path_buf(),
    ] {
        let out = storekeep_command(BIN, &db)
            .env("STOREKEEP_BACKUP_DIR", &fine)
            .args(["backup", "create"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}: {}",
            fine.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The media bucket as the backup bucket is refused by `backup create`
/// and `check-config`, whatever the backup prefix (the media store fills
/// its whole bucket); refused before any request, so no S3 server is
/// needed (`list` only warns: see the folder case above). Another bucket, or the
/// same name on another server, is fine.
#[tokio::test]
async fn the_media_bucket_as_the_backup_bucket_is_refused_by_create() {
    let db = TestDb::new().await;
    shop_with_owner(&db);
    let bucket = [
        ("STOREKEEP_MEDIA_S3_BUCKET", "shop"),
        ("STOREKEEP_MEDIA_S3_ENDPOINT", "http://127.0.0.1:9"),
        ("STOREKEEP_BACKUP_S3_BUCKET", "shop"),
        ("STOREKEEP_BACKUP_S3_ENDPOINT", "http://127.0.0.1:9/"),
    ];
    for prefix in [None, Some("backups/prod")] {
        let mut env = bucket.to_vec();
        if let Some(p) = prefix {
            env.push(("STOREKEEP_BACKUP_S3_PREFIX", p));
        }
        let said = refused(&db, &env, &["backup", "create"]);
        assert!(
            said.contains("backup.s3_bucket 'shop' is also media.s3_bucket"),
            "{said}"
        );
        if let Some(p) = prefix {
            assert!(said.contains(&format!("backup.s3_prefix '{p}'")), "{said}");
        }
    }
    let said = refused(&db, &bucket, &["check-config"]);
    assert!(said.contains("media.s3_bucket"), "{said}");
    // Another bucket, or the same name on another server, passes.
    for (key, value) in [
        ("STOREKEEP_BACKUP_S3_BUCKET", "shop-backups"),
        ("STOREKEEP_BACKUP_S3_ENDPOINT", "http://127.0.0.2:9"),
    ] {
        let mut env = bucket.to_vec();
        env.retain(|(k, _)| *k != key);
        env.push((key, value));
        let out = storekeep_command(BIN, &db)
            .envs(env.iter().copied())
            .arg("check-config")
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && said.contains("configuration OK"),
            "{said}"
        );
    }
}
