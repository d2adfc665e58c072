//! The storefront in a real browser: the `storekeep` binary serves two
//! seeded shops, and a spec under `tests/browser/` (Node, playwright-core
//! driving the system Chromium, axe-core) browses them at
//! `{slug}.localhost:PORT`. The spec's exit status is the verdict; its
//! output (each case, and where the screenshots went) is shown here.
//!
//! Skipped with a message when node, a Chromium or `tests/browser`'s
//! `node_modules` is missing, unless `STOREKEEP_TEST_REQUIRE_TOOLS` is set
//! (`scripts/test`, which installs all three, and CI).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;
use storekeep_test_support::{
    ServerProcess, TestDb, on_postgres, storekeep_command, tool_available,
};

use crate::BIN;

/// A spec that has not finished by then is killed and fails.
const SPEC_LIMIT: Duration = Duration::from_secs(300);

/// `tests/browser` at the repository root.
fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/browser")
}

/// Skips (or, when tools are required, fails) with `why` unless `found`.
fn present(found: bool, why: &str) -> bool {
    if !found {
        assert!(
            std::env::var("STOREKEEP_TEST_REQUIRE_TOOLS").is_err(),
            "{why} (STOREKEEP_TEST_REQUIRE_TOOLS is set; scripts/test installs it)"
        );
        eprintln!("skipping: {why}");
    }
    found
}

/// node, a Chromium where `tests/browser/lib.mjs` looks for one, and the
/// spec's packages (`npm ci` in `tests/browser`).
fn browser_available() -> bool {
    if !tool_available("node") {
        return false;
    }
    let chromium = std::env::var("CHROME_PATH")
        .ok()
        .into_iter()
        .chain(
            [
                "/usr/bin/chromium",
                "/usr/bin/chromium-browser",
                "/usr/bin/google-chrome",
            ]
            .map(String::from),
        )
        .any(|p| Path::new(&p).exists());
    present(
        chromium,
        "no Chromium is installed (apt-get install chromium)",
    ) && present(
        browser_dir().join("node_modules/playwright-core").exists()
            && browser_dir().join("node_modules/axe-core").exists(),
        "tests/browser has no node_modules (npm ci in tests/browser)",
    )
}

/// A shop the spec browses: its slug, its name, the products only it sells.
struct Shop {
    slug: &'static str,
    name: &'static str,
    products: &'static [&'static str],
}

const SHOPS: &[Shop] = &[
    Shop {
        slug: "alpha",
        name: "Alpha Audio",
        products: &["Studio Headphones", "Desk Speaker"],
    },
    Shop {
        slug: "beta",
        name: "Beta Books",
        products: &["Garden Atlas", "Poetry Collection"],
    },
];

fn cli(db: &TestDb, args: &[&str]) {
    let out = storekeep_command(BIN, db).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "storekeep {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The two shops, each at `{slug}.localhost` and with its own products,
/// made with the CLI as an operator would.
fn seed(db: &TestDb) {
    for shop in SHOPS {
        let domain = format!("{}.localhost", shop.slug);
        cli(
            db,
            &[
                "tenant", "create", shop.slug, "--name", shop.name, "--domain", &domain,
            ],
        );
        let mut csv = String::from("handle,title,sku,price,inventory\n");
        for (i, title) in shop.products.iter().enumerate() {
            let handle = title.to_lowercase().replace(' ', "-");
            csv.push_str(&format!(
                "{handle},{title},{}-{i},{},10\n",
                shop.slug.to_uppercase(),
                1999 + 1000 * i
            ));
        }
        let file = db.dir.path().join(format!("{}.csv", shop.slug));
        std::fs::write(&file, csv).unwrap();
        cli(
            db,
            &[
                "import",
                "products",
                "--tenant",
                shop.slug,
                file.to_str().unwrap(),
            ],
        );
    }
}

/// Where the spec writes its screenshots: one folder per database, under
/// the Cargo target folder.
fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target
        .join("browser-screenshots")
        .join(if on_postgres() { "postgres" } else { "sqlite" })
}

/// Runs `node tests/browser/<spec>` against `server` and fails, showing
/// the spec's output, unless it exits 0.
fn run_spec(spec: &str, server: &ServerProcess, db: &TestDb) {
    let shops: Vec<_> = SHOPS
        .iter()
        .map(|s| json!({"slug": s.slug, "name": s.name, "products": s.products}))
        .collect();
    let log = db.dir.path().join(format!("{spec}.log"));
    let out = File::create(&log).unwrap();
    let mut child = Command::new("node")
        .arg(spec)
        .current_dir(browser_dir())
        .env("STOREKEEP_BROWSER_PORT", server.addr.port().to_string())
        .env(
            "STOREKEEP_BROWSER_SHOPS",
            serde_json::to_string(&shops).unwrap(),
        )
        .env("STOREKEEP_BROWSER_SCREENSHOTS", screenshot_dir())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .expect("starting node");
    let deadline = Instant::now() + SPEC_LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let output = std::fs::read_to_string(&log).unwrap_or_default();
    println!("node {spec}:\n{output}");
    match status {
        Some(s) => assert!(s.success(), "node {spec} failed ({s}):\n{output}"),
        None => panic!("node {spec} did not finish within {SPEC_LIMIT:?}:\n{output}"),
    }
}

fn serve(db: &TestDb) -> ServerProcess {
    let mut cmd = storekeep_command(BIN, db);
    cmd.arg("serve").env("STOREKEEP_SHUTDOWN_DRAIN_SECS", "0");
    ServerProcess::start(cmd)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_browser_harness_catches_what_it_promises_and_reaches_each_shop_by_host_name() {
    if !browser_available() {
        return;
    }
    let db = TestDb::new().await;
    seed(&db);
    let server = serve(&db);
    run_spec("harness.mjs", &server, &db);
}
