//! Refuses a connection pooler that would hand a prepared statement to the
//! wrong server connection.
//!
//! sqlx prepares every statement under a name of its own connection
//! (`sqlx_s_1`, `sqlx_s_2`, …) and reuses it. A pooler in transaction mode
//! (PgBouncer's `pool_mode = transaction`) gives a client connection a
//! different server connection from one transaction to the next; unless it
//! keeps the client's prepared statements itself (PgBouncer 1.21 or later
//! with `max_prepared_statements`), a name prepared on one server is then
//! missing on the next ("prepared statement sqlx_s_1 does not exist"), or,
//! worse, names another client's statement there, which would run with
//! this node's values. PgBouncer 1.18, Debian 12's, is such a pooler.
//!
//! So before the pool is used, [`check`] opens two connections of its own
//! and watches which server process answers each:
//! - if they never share one, nothing pools per transaction: done;
//! - if they do, it runs a prepared statement on one connection, pins that
//!   server with a transaction on the other, and runs the statement again:
//!   the pooler must hand it to another server. If it fails there, the
//!   pooler loses prepared statements and the node refuses to start; if
//!   it runs, the pooler keeps them.
//!
//! A server pinned in vain (the pooler chose another for the transaction)
//! is tried again a few times; if the pinning never lands, the second run
//! waits past [`WAIT`] (a pool of one server), or the check itself fails
//! (no two connections to spare), it cannot tell, logs a warning and lets
//! the node start: it refuses only on evidence.

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{Connection, Executor, Row};
use storekeep_store::{StoreError, StoreResult};

/// Rounds of each step before the check gives up telling.
const TRIES: usize = 4;
/// How long the statement on the pinned-away connection may wait for a
/// server.
const WAIT: Duration = Duration::from_secs(5);

/// What the check found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Pooling {
    /// Each connection keeps its server process: PostgreSQL itself, or a
    /// pooler in session mode.
    PerSession,
    /// A pooler in transaction mode that kept a prepared statement across
    /// a change of server.
    KeepsStatements,
    /// A pooler in transaction mode whose keeping of prepared statements
    /// could not be told.
    Untold,
}

/// Checks the pooling between this node and PostgreSQL at `options`;
/// `Err` with the reason if it loses prepared statements. A check that
/// fails otherwise (no connection to spare among `max_connections`, the
/// database gone meanwhile) is `Untold`, with a warning: the pool itself
/// has connected, and only evidence refuses a node.
pub(crate) async fn check(options: &PgConnectOptions) -> StoreResult<Pooling> {
    let found = match connect_two(options).await {
        Ok((mut a, mut b)) => {
            let found = probe(&mut a, &mut b).await;
            // The probe's connections are its own; closing them is
            // tidiness only.
            let _ = a.close().await;
            let _ = b.close().await;
            found
        }
        Err(e) => Err(e),
    };
    match found {
        Ok(Ok(Pooling::Untold)) => {
            tracing::warn!(
                "the database URL goes through a connection pooler in transaction mode, and \
                 whether it keeps prepared statements could not be told; storekeep needs it \
                 to (PgBouncer 1.21 or later with max_prepared_statements, or pool_mode = \
                 session; docs/deploy.md)"
            );
            Ok(Pooling::Untold)
        }
        Ok(Ok(pooling)) => Ok(pooling),
        Err(e) => {
            tracing::warn!(
                error = %e,
                "could not check whether the database URL goes through a connection pooler \
                 that loses prepared statements"
            );
            Ok(Pooling::Untold)
        }
        Ok(Err(lost)) => Err(StoreError::Other(
            format!(
                "the database URL goes through a connection pooler in transaction mode that \
                 loses prepared statements (a statement prepared on one server connection was \
                 gone on the next: {lost}). storekeep prepares its statements and would fail, or \
                 run another client's statement. Use pool_mode = session, or PgBouncer 1.21 or \
                 later with max_prepared_statements > 0 (docs/deploy.md, \"PgBouncer\")"
            )
            .into(),
        )),
    }
}

/// The probe's two connections, of its own (not the pool's).
async fn connect_two(
    options: &PgConnectOptions,
) -> Result<(PgConnection, PgConnection), sqlx::Error> {
    let a = PgConnection::connect_with(options).await?;
    match PgConnection::connect_with(options).await {
        Ok(b) => Ok((a, b)),
        Err(e) => {
            let _ = a.close().await;
            Err(e)
        }
    }
}

/// The server process answering `conn` now, asked in the simple protocol
/// (no prepared statement).
async fn server(conn: &mut PgConnection) -> Result<i32, sqlx::Error> {
    conn.fetch_one("SELECT pg_backend_pid()").await?.try_get(0)
}

/// A prepared statement, named by sqlx on `conn` and reused on each run.
async fn prepared(conn: &mut PgConnection) -> Result<i32, sqlx::Error> {
    sqlx::query_scalar("SELECT $1::int4 + 1")
        .bind(1_i32)
        .fetch_one(conn)
        .await
}

/// `Ok(Err(what))` when a prepared statement was lost, `Err` when the
/// database failed otherwise.
async fn probe(
    a: &mut PgConnection,
    b: &mut PgConnection,
) -> Result<Result<Pooling, String>, sqlx::Error> {
    let mut shared = false;
    for _ in 0..TRIES {
        let first = server(a).await?;
        // Separate sessions never share a server process; a pooler in
        // transaction mode hands the one `a` just released to `b` (it
        // takes the most recently used first).
        shared = server(b).await? == first || server(a).await? != first;
        if shared {
            break;
        }
    }
    if !shared {
        return Ok(Ok(Pooling::PerSession));
    }
    for _ in 0..TRIES {
        // Its two round trips (prepare, then run) may already land on two
        // servers.
        if let Err(e) = prepared(a).await {
            return lost_or(e);
        }
        let used = server(a).await?;
        let mut pin = b.begin().await?;
        if server(&mut pin).await? != used {
            pin.rollback().await?;
            continue;
        }
        // `used` is `b`'s until it rolls back: the statement runs elsewhere.
        let again = tokio::time::timeout(WAIT, prepared(a)).await;
        pin.rollback().await?;
        return match again {
            Ok(Ok(_)) => Ok(Ok(Pooling::KeepsStatements)),
            Ok(Err(e)) => lost_or(e),
            Err(_) => Ok(Ok(Pooling::Untold)),
        };
    }
    Ok(Ok(Pooling::Untold))
}

/// A database's refusal of a prepared statement is the evidence; any other
/// failure is the database's.
fn lost_or(e: sqlx::Error) -> Result<Result<Pooling, String>, sqlx::Error> {
    match e {
        sqlx::Error::Database(db) => Ok(Err(db.message().to_owned())),
        e => Err(e),
    }
}
