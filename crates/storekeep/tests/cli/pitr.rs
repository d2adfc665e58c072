//! PostgreSQL point-in-time recovery, step by step as
//! docs/runbooks/restore.md ("Runbook: PostgreSQL point-in-time recovery")
//! gives it, on a server of the test's own with storekeep's data: WAL
//! archiving with the runbook's `archive_command`, a base backup with its
//! `pg_basebackup` line, more writes, a noted time, more writes, then the
//! recovery to that time. What was committed before the time is there,
//! what came after is not, and the audit chains verify.

use std::path::Path;
use std::time::{Duration, Instant};

use sqlx::Connection;
use sqlx::postgres::PgConnection;
use storekeep_test_support::{PgServer, TestDb, on_postgres};

use crate::backup::slugs;
use crate::crash_support::{audit_intact, cli, shop_with_owner};

/// The runbook's settings, with the archive in the test's folder.
const ARCHIVING: &str = "wal_level = replica
archive_mode = on
archive_command = 'test ! -f {dir}/wal-archive/%f && cp %p {dir}/wal-archive/%f'";

async fn connect(pg: &PgServer) -> PgConnection {
    PgConnection::connect(&pg.url())
        .await
        .expect("connecting to the test's PostgreSQL")
}

fn tenant(db: &TestDb, slug: &str) {
    cli(
        db,
        &["tenant", "create", slug, "--name", slug, "--plan", "crash"],
    );
}

/// Closes the current WAL segment and waits until the archive holds it.
async fn archive_current_segment(pg: &PgServer) {
    let mut conn = connect(pg).await;
    let segment: String = sqlx::query_scalar("SELECT pg_walfile_name(pg_switch_wal())")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let file = pg.dir().join("wal-archive").join(&segment);
    let started = Instant::now();
    while !file.is_file() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "segment {segment} was not archived: {}",
            pg.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn as_owner(pg: &PgServer, program: &str, args: &[&str]) {
    pg.run_as_owner(Path::new(program), args)
        .unwrap_or_else(|e| panic!("{e:#}"));
}

#[tokio::test]
async fn a_base_backup_and_the_wal_archive_recover_to_a_moment() {
    // It brings its own server, so once per suite run: in the PostgreSQL pass.
    if !on_postgres() {
        eprintln!("skipping: runs when the suite runs on PostgreSQL");
        return;
    }
    let Some(bin) = PgServer::tools() else {
        return;
    };
    let pg = PgServer::start_with(&bin, ARCHIVING, &["wal-archive"]).expect("starting PostgreSQL");
    let db = TestDb::at(pg.url());
    shop_with_owner(&db);

    // A base backup while the server runs (the runbook's line).
    let base = pg.dir().join("base");
    let port = pg.port().to_string();
    let base_arg = base.display().to_string();
    let basebackup = pg.bin().join("pg_basebackup");
    pg.run_as_owner(
        &basebackup,
        &[
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-U",
            "postgres",
            "-D",
            &base_arg,
            "-Ft",
            "-z",
            "-X",
            "stream",
            "-c",
            "fast",
        ],
    )
    .unwrap_or_else(|e| panic!("{e:#}"));
    assert!(base.join("base.tar.gz").is_file() && base.join("pg_wal.tar.gz").is_file());

    // Written after the base backup, before the target: only the archived
    // WAL can bring it back.
    tenant(&db, "before-target");
    let target: String = sqlx::query_scalar(
        "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'",
    )
    .fetch_one(&mut connect(&pg).await)
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    // The damage: written after the target.
    tenant(&db, "after-target");
    assert_eq!(slugs(&db), ["after-target", "before-target", "crash"]);
    archive_current_segment(&pg).await;

    // Recover (runbook steps 2–6).
    pg.stop().unwrap();
    let data = pg.data();
    std::fs::rename(&data, pg.dir().join("data.before-pitr")).unwrap();
    let data_arg = data.display().to_string();
    as_owner(&pg, "install", &["-d", "-m", "700", &data_arg]);
    let tarball = |name: &str| base.join(name).display().to_string();
    as_owner(
        &pg,
        "tar",
        &["-xzf", &tarball("base.tar.gz"), "-C", &data_arg],
    );
    let wal = data.join("pg_wal").display().to_string();
    as_owner(&pg, "tar", &["-xzf", &tarball("pg_wal.tar.gz"), "-C", &wal]);
    let archive = pg.dir().join("wal-archive").display().to_string();
    let recovery = format!(
        "restore_command = 'cp {archive}/%f %p'\nrecovery_target_time = '{target}'\nrecovery_target_action = 'promote'\n"
    );
    let auto_conf = data.join("postgresql.auto.conf");
    let mut conf = std::fs::read_to_string(&auto_conf).unwrap();
    conf.push_str(&recovery);
    std::fs::write(&auto_conf, conf).unwrap();
    as_owner(
        &pg,
        "touch",
        &[&data.join("recovery.signal").display().to_string()],
    );
    pg.start_again().unwrap();
    let started = Instant::now();
    loop {
        let in_recovery: bool = sqlx::query_scalar("SELECT pg_is_in_recovery()")
            .fetch_one(&mut connect(&pg).await)
            .await
            .unwrap();
        if !in_recovery {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "recovery did not finish: {}",
            pg.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let log = pg.log();
    assert!(
        log.contains("recovery stopping before commit"),
        "recovery stopped at the target, not at the end of the WAL: {log}"
    );

    // Step 7: the recovery settings go, and a restart does not recover again.
    let mut conn = connect(&pg).await;
    for setting in [
        "restore_command",
        "recovery_target_time",
        "recovery_target_action",
    ] {
        sqlx::query(&format!("ALTER SYSTEM RESET {setting}"))
            .execute(&mut conn)
            .await
            .unwrap();
    }
    drop(conn);
    pg.restart().unwrap();

    // Step 8: what came before the target is there, the rest is not, and
    // the audit chains verify; the database takes writes again.
    assert_eq!(slugs(&db), ["before-target", "crash"]);
    audit_intact(&db);
    tenant(&db, "after-recovery");
    assert_eq!(slugs(&db), ["after-recovery", "before-target", "crash"]);
    audit_intact(&db);
}
