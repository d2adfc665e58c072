//! Refuses a connection pooler that would hand a prepared statement to the
//! wrong server connection.
//!
//! sqlx prepares every statement under a name of its own connection
//! (`sqlx_s_1`, `sqlx_s_2`, …) and reuses it. A pooler in transaction mode
//! (PgBouncer's `pool_mode = transaction`) gives a client connection a
//! different server connection from one transaction to the next; unless it
//! keeps the client's prepared statements itself (PgBouncer 1.21 or later
//! with `max_prepared_statements` above 0, the default from 1.24), a name
//! prepared on one server is then missing on the next ("prepared statement
//! sqlx_s_1 does not exist"), or, worse, names another client's statement
//! there, which would run with this node's values. PgBouncer 1.18,
//! Debian 12's, is such a pooler.
//!
//! So before the pool is used, [`check`] opens two connections of its own
//! (sqlx's statement cache on, whatever the URL says) and watches which
//! server process answers each:
//! - if they never share one, nothing pools per transaction: done;
//! - if they do, it prepares a statement on one connection in a read-only
//!   transaction (so the server that holds it is known, and a statement of
//!   anyone else's it meets cannot write), holds a server with a
//!   transaction on the other connection (a pooler that hands out the
//!   most recently used server first would give back the same one), and
//!   runs the statement again in a read-only transaction until it runs on
//!   another server. Missing there, or answering as another statement
//!   would (its text carries a number of this check's own, so a
//!   `sqlx_s_1` left by anyone else answers differently), the pooler
//!   loses prepared statements and the node refuses to start; answering
//!   right, the pooler keeps them.
//!
//! A pooler in statement mode, which refuses the transaction, is refused
//! too. Only that is evidence. Anything else — the statement never landing
//! on another server, a pooler with one server (the run waits past
//! [`WAIT`]), the pooler's own errors (its `query_wait_timeout`), no two
//! connections to spare, the whole check past [`BOUND`] — leaves it
//! untold: a warning, and the node starts.

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{Connection, Executor, Row};
use storekeep_store::{StoreError, StoreResult};

/// Rounds of each step before the check gives up telling.
const TRIES: usize = 4;
/// How long the statement on the pinned-away connection may wait for a
/// server.
const WAIT: Duration = Duration::from_millis(1500);
/// How long the whole check may take (`check-config` gives connecting to
/// the database 5 s in all).
const BOUND: Duration = Duration::from_secs(3);

/// What the check found.
enum Pooling {
    /// Each connection keeps its server process: PostgreSQL itself, or a
    /// pooler in session mode.
    PerSession,
    /// A pooler in transaction mode that kept a prepared statement across
    /// a change of server.
    KeepsStatements,
    /// A pooler whose keeping of prepared statements could not be told.
    Untold,
}

/// What a step of the probe found out.
enum Found {
    Pooling(Pooling),
    /// The evidence that prepared statements are lost.
    Lost(String),
    /// A pooler in statement mode's refusal of a transaction.
    Refuses(String),
}

/// Checks the pooling between this node and PostgreSQL at `options`;
/// `Err` with the evidence if it loses prepared statements (or refuses
/// transactions). Untold, it warns once, with the check's own failure if
/// that is why.
pub(crate) async fn check(options: &PgConnectOptions) -> StoreResult<()> {
    let (found, failure) = match tokio::time::timeout(BOUND, run(options)).await {
        Ok(Ok(found)) => (found, None),
        Ok(Err(e)) => (Found::Pooling(Pooling::Untold), Some(e.to_string())),
        Err(_) => (
            Found::Pooling(Pooling::Untold),
            Some(format!("no answer within {BOUND:?}")),
        ),
    };
    match found {
        Found::Pooling(Pooling::PerSession) => Ok(()),
        Found::Pooling(Pooling::KeepsStatements) => {
            tracing::info!(
                "the database URL goes through a connection pooler in transaction mode that \
                 keeps prepared statements"
            );
            Ok(())
        }
        Found::Pooling(Pooling::Untold) => {
            tracing::warn!(
                failure = failure.as_deref(),
                "whether the database URL goes through a connection pooler that keeps prepared \
                 statements could not be told; behind one in transaction mode storekeep needs it \
                 to (PgBouncer 1.21 or later with max_prepared_statements above 0, or pool_mode \
                 = session; docs/deploy.md, \"The scaled topology\")"
            );
            Ok(())
        }
        Found::Refuses(refusal) => Err(StoreError::Other(
            format!(
                "the database URL goes through a connection pooler in statement mode, which \
                 refuses transactions ({refusal}); storekeep runs transactions and prepares its \
                 statements. Use pool_mode = session (docs/deploy.md, \"The scaled topology\")"
            )
            .into(),
        )),
        Found::Lost(evidence) => Err(StoreError::Other(
            format!(
                "the database URL goes through a connection pooler in transaction mode that \
                 loses prepared statements (a statement prepared on one server connection was \
                 not there on the next: {evidence}). storekeep prepares its statements and would \
                 fail, or run another client's statement. Use pool_mode = session, or PgBouncer \
                 1.21 or later with max_prepared_statements above 0 (docs/deploy.md, \"The \
                 scaled topology\")"
            )
            .into(),
        )),
    }
}

/// The probe on two connections of its own (not the pool's).
async fn run(options: &PgConnectOptions) -> Result<Found, sqlx::Error> {
    // With sqlx's statement cache on, whatever the URL says
    // (`statement-cache-capacity=0` would make every run prepare again
    // and hide the loss).
    let options = options.clone().statement_cache_capacity(100);
    let mut a = PgConnection::connect_with(&options).await?;
    let mut b = match PgConnection::connect_with(&options).await {
        Ok(b) => b,
        Err(e) => {
            let _ = a.close().await;
            return Err(e);
        }
    };
    let found = probe(&mut a, &mut b).await;
    // Closing them is tidiness only.
    let _ = a.close().await;
    let _ = b.close().await;
    found
}

/// The server process answering `conn` now, asked in the simple protocol
/// (no prepared statement).
async fn server(conn: &mut PgConnection) -> Result<i32, sqlx::Error> {
    conn.fetch_one("SELECT pg_backend_pid()").await?.try_get(0)
}

/// Runs `sql`, a prepared statement sqlx names on `conn` and reuses.
async fn prepared(conn: &mut PgConnection, sql: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(sql).bind(1_i64).fetch_one(conn).await
}

async fn probe(a: &mut PgConnection, b: &mut PgConnection) -> Result<Found, sqlx::Error> {
    let mut shared = false;
    for _ in 0..TRIES {
        // Separate sessions never share a server process. A pooler in
        // transaction mode hands the one `a` just released to `b` (it
        // takes the most recently used first), or, taking them in turn,
        // gives `a` another for its next statements.
        let first = server(a).await?;
        shared =
            server(b).await? == first || server(a).await? != first || server(a).await? != first;
        if shared {
            break;
        }
    }
    if !shared {
        return Ok(Found::Pooling(Pooling::PerSession));
    }
    // A number of this check's own in the statement's text: a statement
    // of the same name left on a server by anyone else (an earlier check
    // included) answers another number.
    let nonce = (uuid::Uuid::now_v7().as_u128() % 1_000_000_000) as i64;
    let sql = format!("SELECT $1::int8 + {nonce}");
    let right = nonce + 1;
    // Prepared once, in a transaction: `used` is the server that has it.
    let (first, used) = match read_only_run(a, &sql).await {
        // A pooler in statement mode refuses transactions, and hands each
        // statement to any server.
        Err(sqlx::Error::Database(db)) if db.message().contains("statement pooling") => {
            return Ok(Found::Refuses(db.message().to_owned()));
        }
        run => run?,
    };
    if let Some(found) = judged(first, right)? {
        return Ok(found);
    }
    let Some(used) = used else {
        return Ok(Found::Pooling(Pooling::Untold));
    };
    for _ in 0..TRIES {
        // A server held by `b` is not `a`'s to run on: a pooler that
        // hands out the most recently used one first would otherwise give
        // `a` the statement's own server again.
        let pin = b.begin().await?;
        let again = tokio::time::timeout(WAIT, read_only_run(a, &sql)).await;
        let _ = pin.rollback().await;
        let Ok(again) = again else {
            return Ok(Found::Pooling(Pooling::Untold));
        };
        let (run, at) = again?;
        if let Some(found) = judged(run, right)? {
            return Ok(found);
        }
        if at.is_some_and(|at| at != used) {
            return Ok(Found::Pooling(Pooling::KeepsStatements));
        }
        // It ran where it was prepared: nothing told yet.
    }
    Ok(Found::Pooling(Pooling::Untold))
}

/// One run of the statement on `conn`, in a read-only transaction (a
/// statement of anyone else's it meets cannot write), and the server it
/// ran on if it answered.
async fn read_only_run(
    conn: &mut PgConnection,
    sql: &str,
) -> Result<(Result<i64, sqlx::Error>, Option<i32>), sqlx::Error> {
    let mut tx = conn.begin_with("BEGIN READ ONLY").await?;
    let run = prepared(&mut tx, sql).await;
    let at = match run {
        Ok(_) => Some(server(&mut tx).await?),
        Err(_) => None,
    };
    // Now, not when the next statement goes (as dropping it would): the
    // pooler frees the server only then. (A prepared statement outlives
    // the transaction it was prepared in.)
    tx.rollback().await?;
    Ok((run, at))
}

/// A run of the statement judged: `Some(Lost)` on evidence, `None` if it
/// answered right, `Untold` for a failure that proves nothing (the
/// pooler's own errors, a server going away).
fn judged(run: Result<i64, sqlx::Error>, right: i64) -> Result<Option<Found>, sqlx::Error> {
    let untold = Ok(Some(Found::Pooling(Pooling::Untold)));
    match run {
        Ok(answer) if answer == right => Ok(None),
        Ok(answer) => Ok(Some(Found::Lost(format!(
            "another statement of the same name answered {answer}, not {right}"
        )))),
        Err(sqlx::Error::Database(db)) => {
            let code = db.code().unwrap_or_default();
            // Gone (26000), taken (42P05), another statement's
            // parameters (08P01, "bind message supplies …"), or another
            // statement that writes (25006, in the read-only transaction).
            if code == "26000"
                || code == "42P05"
                || code == "25006"
                || (code == "08P01" && db.message().starts_with("bind message"))
            {
                Ok(Some(Found::Lost(db.message().to_owned())))
            } else {
                untold
            }
        }
        // Another statement's columns.
        Err(e @ (sqlx::Error::ColumnDecode { .. } | sqlx::Error::ColumnNotFound(_))) => {
            Ok(Some(Found::Lost(e.to_string())))
        }
        Err(e @ (sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::Protocol(_))) => Err(e),
        Err(_) => untold,
    }
}
