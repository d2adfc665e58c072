//! A connection pooler between a node and PostgreSQL (issue 19). One in
//! transaction mode that loses prepared statements — Debian's PgBouncer
//! 1.18 — is refused as `serve` starts, with the reason and the way out,
//! before any request could fail on it (or run another client's
//! statement), and so is one in statement mode; the same PgBouncer in
//! session mode is used.

use std::process::Output;
use std::time::{Duration, Instant};

use storekeep_test_support::{PgServer, ServerProcess, TestDb, on_postgres, storekeep_command};

use crate::outage_support::PgBouncer;

const BIN: &str = env!("CARGO_BIN_EXE_storekeep");

/// `storekeep serve` on `db` run to its exit (killed after a minute), its
/// output in files (a pipe nobody reads would stall it).
fn serve_to_exit(db: &TestDb) -> Output {
    let (out, err) = (
        db.dir.path().join("serve.out"),
        db.dir.path().join("serve.err"),
    );
    let mut child = storekeep_command(BIN, db)
        .arg("serve")
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .expect("spawning storekeep");
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for storekeep") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "storekeep serve neither refused nor exited within a minute: {}",
                std::fs::read_to_string(&out).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Output {
        status,
        stdout: std::fs::read(&out).unwrap(),
        stderr: std::fs::read(&err).unwrap(),
    }
}

/// Three server connections opened behind the pooler at `url`, idle in
/// its pool after: the check's statement then finds one to run on without
/// waiting for PostgreSQL to start a backend (which a busy machine could
/// stretch past the check's wait).
async fn warm(url: &str) {
    use sqlx::Connection;
    let mut conns = Vec::new();
    for _ in 0..3 {
        let mut conn = sqlx::PgConnection::connect(url)
            .await
            .expect("through the pooler");
        sqlx::Executor::execute(&mut conn, "BEGIN").await.unwrap();
        conns.push(conn);
    }
    for mut conn in conns {
        sqlx::Executor::execute(&mut conn, "COMMIT").await.unwrap();
        conn.close().await.unwrap();
    }
}

/// `serve` on `db` refused before it served (`how` it was reached, for
/// the message): what it said.
async fn refused(db: TestDb, how: &str) -> String {
    let out = tokio::task::spawn_blocking(move || serve_to_exit(&db))
        .await
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "serve ran through {how}: {said}");
    assert!(
        !said.contains("storekeep is ready"),
        "it never served: {said}"
    );
    said
}

#[tokio::test]
async fn a_pooler_in_transaction_mode_that_loses_prepared_statements_is_refused_as_serve_starts() {
    // It brings its own servers, so once per suite run: in the PostgreSQL
    // pass.
    if !on_postgres() {
        eprintln!("skipping: runs when the suite runs on PostgreSQL");
        return;
    }
    let Some(bin) = PgServer::tools() else {
        return;
    };
    let pg = PgServer::start(&bin).expect("starting PostgreSQL");
    // Migrations go to PostgreSQL itself, as docs/deploy.md says for any
    // pooler.
    let through = |bouncer: &PgBouncer| TestDb {
        direct_url: Some(pg.url()),
        ..TestDb::at(bouncer.url(&pg.url()))
    };

    let Some(transaction) = PgBouncer::start(&pg, "transaction") else {
        return;
    };
    warm(&transaction.url(&pg.url())).await;
    let said = refused(through(&transaction), "transaction pooling").await;
    // Once: the store's error carries its cause in its own words, not
    // again as a source.
    assert_eq!(
        said.matches("connection pooler in transaction mode that loses prepared statements")
            .count(),
        1,
        "the reason, once: {said}"
    );
    // PgBouncer's own words for the lost statement, and the way out.
    assert!(
        said.contains("prepared statement") && said.contains("does not exist"),
        "the evidence: {said}"
    );
    assert!(
        said.contains("pool_mode = session") && said.contains("max_prepared_statements"),
        "the way out: {said}"
    );
    drop(transaction);

    // Statement mode refuses the transactions storekeep runs, and hands
    // each statement to any server: refused too.
    let Some(statement) = PgBouncer::start(&pg, "statement") else {
        return;
    };
    let said = refused(through(&statement), "statement pooling").await;
    assert!(
        said.contains("pooler in statement mode, which refuses transactions")
            && said.contains("not allowed in statement pooling mode")
            && said.contains("pool_mode = session"),
        "the reason: {said}"
    );
    drop(statement);

    // The same PgBouncer in session mode keeps each node's server
    // connection: the node starts and is ready through it.
    let Some(session) = PgBouncer::start(&pg, "session") else {
        return;
    };
    let db = through(&session);
    let mut cmd = storekeep_command(BIN, &db);
    cmd.arg("serve");
    let node = tokio::task::spawn_blocking(move || ServerProcess::start(cmd))
        .await
        .unwrap();
    let ready = reqwest::get(node.url("/api/health/ready")).await.unwrap();
    assert_eq!(ready.status(), 200, "ready through session pooling");
    assert!(
        session.log().contains("login attempt"),
        "the node connected through PgBouncer: {}",
        session.log()
    );
    node.sigterm();
    let status = tokio::task::spawn_blocking(move || node.wait(Duration::from_secs(30)))
        .await
        .unwrap();
    assert!(status.success(), "a clean stop: {status:?}");
}

#[tokio::test]
async fn a_database_with_no_connection_to_spare_for_the_check_is_still_used() {
    if !on_postgres() {
        eprintln!("skipping: runs when the suite runs on PostgreSQL");
        return;
    }
    let Some(bin) = PgServer::tools() else {
        return;
    };
    // A small server, filled with connections of the test's own but one:
    // the store's pool gets that one and the check none.
    let pg = PgServer::start_with(
        &bin,
        "max_connections = 5\nsuperuser_reserved_connections = 0",
        &[],
    )
    .expect("starting PostgreSQL");
    let connect = || <sqlx::PgConnection as sqlx::Connection>::connect(&pg.url());
    let mut held = Vec::new();
    while let Ok(conn) = connect().await {
        held.push(conn);
        assert!(held.len() < 200, "the server takes no end of connections");
    }
    held.pop();
    let pool = storekeep_store::PoolConfig {
        max_connections: 1,
        ..Default::default()
    };
    let store = storekeep_store_postgres::PgStore::connect(&pg.url(), pool)
        .await
        .expect("the store connects though the check could not");
    // It answers on its pool (`ping` would need a connection of its own).
    storekeep_store::Store::migration_status(&store)
        .await
        .expect("and answers");
    // The server is full again: the pool holds the last connection.
    assert!(connect().await.is_err(), "no connection left");
    drop(held);
}
