//! The test harness. Every test gets its own database — a SQLite file in a
//! temporary folder, or, when `STOREKEEP_TEST_DATABASE_URL` names a
//! PostgreSQL server, a fresh database created on it — so the one suite
//! runs unchanged against both backends.

mod app;
mod db;
mod pg;
mod process;

pub use app::{
    PLATFORM_TOKEN, TEST_KEYS, TestApp, problem, spawn_app, spawn_app_on, spawn_app_with,
};
pub use db::TestDb;
pub use pg::PgServer;
pub use process::{ServerProcess, storekeep_command};

/// Is the suite running against PostgreSQL?
pub fn on_postgres() -> bool {
    std::env::var("STOREKEEP_TEST_DATABASE_URL").is_ok_and(|v| !v.is_empty())
}

/// Tests that need an external tool (promtool) skip when it is missing,
/// unless `STOREKEEP_TEST_REQUIRE_TOOLS=1` (set by `scripts/test` and CI),
/// where a missing tool fails the test.
pub fn tool_available(name: &str) -> bool {
    let found = std::process::Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var("STOREKEEP_TEST_REQUIRE_TOOLS").is_err(),
            "{name} is required (STOREKEEP_TEST_REQUIRE_TOOLS is set) but not installed"
        );
        eprintln!("skipping: {name} is not installed");
    }
    found
}

/// Runs `futs` together on the calling task (all in flight at once) and
/// returns their outputs in order.
pub async fn join_all<F: std::future::Future>(futs: Vec<F>) -> Vec<F::Output> {
    let mut pinned: Vec<_> = futs.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = (0..pinned.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in pinned.iter_mut().enumerate() {
            if outputs[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => outputs[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs
        .into_iter()
        .map(|o| o.expect("every future finished"))
        .collect()
}
