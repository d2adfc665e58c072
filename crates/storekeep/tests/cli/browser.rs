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

use serde_json::{Value, json};
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

/// A shop the spec browses: its slug, the name and colour its storefront
/// shows, a category, and its products `(title, price in cents, in the
/// category)`, which no other shop sells.
struct Shop {
    slug: &'static str,
    name: &'static str,
    color: &'static str,
    category: (&'static str, &'static str),
    /// A word some of its product titles hold.
    search: &'static str,
    terms: &'static str,
    products: &'static [(&'static str, i64, bool)],
}

const SHOPS: &[Shop] = &[
    Shop {
        slug: "alpha",
        name: "Alpha Audio",
        color: "#7a1f1f",
        category: ("headphones", "Headphones"),
        search: "headphones",
        terms: "Alpha Audio sells to adults only.",
        products: &[
            ("Studio Headphones", 4999, true),
            ("Travel Headphones", 2999, true),
            ("Wireless Headphones", 8999, true),
            ("Desk Speaker", 1999, false),
        ],
    },
    Shop {
        slug: "beta",
        name: "Beta Books",
        color: "#14532d",
        category: ("atlases", "Atlases"),
        search: "atlas",
        terms: "Beta Books ships within the EU.",
        products: &[
            ("Garden Atlas", 2500, true),
            ("Star Atlas", 4500, true),
            ("Ocean Atlas", 3500, true),
            ("Poetry Collection", 1500, false),
        ],
    },
];

const PASSWORD: &str = "correct horse battery staple";

fn cli(db: &TestDb, args: &[&str]) {
    let out = storekeep_command(BIN, db).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "storekeep {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The shops and their owners, made with the CLI as an operator would.
fn create_shops(db: &TestDb) {
    let pw = db.dir.path().join("owner-password");
    std::fs::write(&pw, format!("{PASSWORD}\n")).unwrap();
    for shop in SHOPS {
        cli(db, &["tenant", "create", shop.slug, "--name", shop.name]);
        let email = format!("owner@{}.example", shop.slug);
        cli(
            db,
            &[
                "user",
                "create",
                "--tenant",
                shop.slug,
                "--email",
                &email,
                "--password-file",
                pw.to_str().unwrap(),
            ],
        );
    }
}

/// Sends `body` as the shop's owner and answers the response's JSON,
/// asserting `status`.
async fn call(
    client: &reqwest::Client,
    server: &ServerProcess,
    slug: &str,
    token: Option<&str>,
    (method, path, status): (reqwest::Method, &str, u16),
    body: Value,
) -> Value {
    let mut req = client
        .request(method, server.url(path))
        .header("x-tenant", slug)
        .json(&body);
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    let resp = req.send().await.unwrap();
    let got = resp.status().as_u16();
    let answer: Value = resp.json().await.unwrap_or(Value::Null);
    assert_eq!(got, status, "{path}: {answer}");
    answer
}

/// Each shop's branding, terms, shipping, payment providers, category and
/// products, through the admin API as its owner would; answers what the
/// spec is told about them.
async fn furnish(server: &ServerProcess) -> Vec<Value> {
    use reqwest::Method;
    let client = reqwest::Client::new();
    let mut out = Vec::new();
    for shop in SHOPS {
        let email = format!("owner@{}.example", shop.slug);
        let login = call(
            &client,
            server,
            shop.slug,
            None,
            (Method::POST, "/api/v1/auth/login", 200),
            json!({"email": email, "password": PASSWORD, "account": "staff"}),
        )
        .await;
        let token = login["token"].as_str().unwrap().to_owned();
        let token = Some(token.as_str());
        call(
            &client,
            server,
            shop.slug,
            token,
            (Method::PATCH, "/api/v1/admin/settings", 200),
            json!({"settings": {
                "storefront": {"name": shop.name, "primary_color": shop.color, "terms": shop.terms},
                "shipping_methods": [{"code": "standard", "name": "Standard", "price": 500}],
                "payment_providers": ["manual", "test"],
            }}),
        )
        .await;
        let (handle, name) = shop.category;
        let category = call(
            &client,
            server,
            shop.slug,
            token,
            (Method::POST, "/api/v1/admin/categories", 201),
            json!({"category": {"handle": handle, "name": name}}),
        )
        .await;
        let mut products = Vec::new();
        for (i, (title, cents, in_category)) in shop.products.iter().enumerate() {
            let categories = if *in_category {
                json!([category["category"]["id"]])
            } else {
                json!([])
            };
            let created = call(
                &client,
                server,
                shop.slug,
                token,
                (Method::POST, "/api/v1/admin/products", 201),
                json!({"product": {
                    "title": title, "status": "active", "categories": categories,
                    "variants": [{"sku": format!("{}-{i}", shop.slug), "inventory": 5,
                                  "price": {"amount": cents, "currency": "USD"}}],
                }}),
            )
            .await;
            products.push(json!({
                "title": title,
                "handle": created["product"]["handle"],
                "cents": cents,
                "price": format!("${}.{:02}", cents / 100, cents % 100),
                "in_category": in_category,
            }));
        }
        out.push(json!({
            "slug": shop.slug, "name": shop.name, "color": shop.color,
            "category": {"handle": handle, "name": name},
            "search": shop.search, "terms": shop.terms, "products": products,
        }));
    }
    out
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

/// Runs `node tests/browser/<spec>` against `server`, telling it about
/// `shops`, and fails, showing the spec's output, unless it exits 0.
fn run_spec(spec: &str, server: &ServerProcess, db: &TestDb, shops: &[Value]) {
    run_spec_with(spec, server, db, shops, &[]);
}

/// [`run_spec`] with more environment for the spec.
fn run_spec_with(
    spec: &str,
    server: &ServerProcess,
    db: &TestDb,
    shops: &[Value],
    extra: &[(&str, String)],
) {
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
        .envs(extra.iter().map(|(k, v)| (*k, v.as_str())))
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

/// The binary serving every shop at `{slug}.localhost:PORT`, with the
/// simulated `test` payment provider on.
fn serve(db: &TestDb) -> ServerProcess {
    let mut cmd = storekeep_command(BIN, db);
    cmd.arg("serve")
        .env("STOREKEEP_BASE_DOMAIN", "localhost")
        .env("STOREKEEP_PAYMENTS_TEST_ENABLED", "true")
        .env("STOREKEEP_SHUTDOWN_DRAIN_SECS", "0");
    ServerProcess::start(cmd)
}

/// Two furnished shops served, and what the specs are told about them.
async fn two_shops() -> (TestDb, ServerProcess, Vec<Value>) {
    let db = TestDb::new().await;
    create_shops(&db);
    let server = serve(&db);
    let shops = furnish(&server).await;
    (db, server, shops)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_browser_harness_catches_what_it_promises_and_reaches_each_shop_by_host_name() {
    if !browser_available() {
        return;
    }
    let (db, server, shops) = two_shops().await;
    run_spec("harness.mjs", &server, &db, &shops);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_guest_browses_two_shops_by_host_name_with_and_without_javascript() {
    if !browser_available() {
        return;
    }
    let (db, server, shops) = two_shops().await;
    run_spec("browse.mjs", &server, &db, &shops);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_guest_buys_two_items_with_the_test_provider_with_and_without_javascript() {
    if !browser_available() {
        return;
    }
    let (db, server, shops) = two_shops().await;
    run_spec("checkout.mjs", &server, &db, &shops);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_customer_uses_the_account_security_and_privacy_pages_with_and_without_javascript() {
    if !browser_available() {
        return;
    }
    let (db, server, shops) = two_shops().await;
    run_spec("account.mjs", &server, &db, &shops);
}

/// The first shop also sells — and rents — a laptop: 1,200.00, 3 in stock,
/// on a rent-to-own plan of 12 × 60.00 with a 10 % deposit, made through
/// the admin API as its owner would; the spec is told its handle, title,
/// plan and term (`shops[0].rental`).
async fn furnish_rental(server: &ServerProcess, shops: &mut [Value]) {
    use reqwest::Method;
    let client = reqwest::Client::new();
    let slug = SHOPS[0].slug;
    let login = call(
        &client,
        server,
        slug,
        None,
        (Method::POST, "/api/v1/auth/login", 200),
        json!({"email": format!("owner@{slug}.example"), "password": PASSWORD, "account": "staff"}),
    )
    .await;
    let token = login["token"].as_str().map(str::to_owned);
    let token = token.as_deref();
    let laptop = call(
        &client,
        server,
        slug,
        token,
        (Method::POST, "/api/v1/admin/products", 201),
        json!({"product": {
            "title": "Refurbished Laptop", "status": "active",
            "variants": [{"sku": format!("{slug}-laptop"), "inventory": 3,
                          "price": {"amount": 120_000, "currency": "USD"}}],
        }}),
    )
    .await;
    let plan = "Own it in a year";
    call(
        &client,
        server,
        slug,
        token,
        (Method::POST, "/api/v1/admin/rental-plans", 201),
        json!({"rental_plan": {
            "variant_id": laptop["product"]["variants"][0]["id"], "name": plan,
            "kind": "rent_to_own", "term": 12, "min_term": 6, "max_term": 24,
            "price_per_period": {"amount": 6_000, "currency": "USD"},
            "deposit": {"type": "percent", "bps": 1_000},
            "late_fee": {"type": "fixed", "amount": 1_500, "grace_days": 5},
            "buyout": {"type": "cash_price_minus_rent", "bps": 5_000},
            "extension_allowed": true, "maintainer": "shop", "default_after_days": 30
        }}),
    )
    .await;
    shops[0]["rental"] = json!({
        "handle": laptop["product"]["handle"],
        "title": "Refurbished Laptop",
        "plan": plan,
        "term": 12,
    });
}

#[tokio::test(flavor = "multi_thread")]
async fn a_customer_rents_a_laptop_sees_the_schedule_and_pays_an_installment() {
    if !browser_available() {
        return;
    }
    let (db, server, mut shops) = two_shops().await;
    furnish_rental(&server, &mut shops).await;
    run_spec("rent.mjs", &server, &db, &shops);
}

/// The console's people: a platform operator and a viewer of the first
/// shop, made with the CLI as an operator would (the owner exists).
fn console_people(db: &TestDb) -> Value {
    let pw = db.dir.path().join("owner-password");
    let operator = "ops@platform.example";
    cli(
        db,
        &[
            "user",
            "create",
            "--platform",
            "--email",
            operator,
            "--password-file",
            pw.to_str().unwrap(),
        ],
    );
    let viewer = format!("viewer@{}.example", SHOPS[0].slug);
    cli(
        db,
        &[
            "user",
            "create",
            "--tenant",
            SHOPS[0].slug,
            "--email",
            &viewer,
            "--role",
            "viewer",
            "--password-file",
            pw.to_str().unwrap(),
        ],
    );
    json!({"operator": operator, "viewer": viewer, "password": PASSWORD})
}

#[tokio::test(flavor = "multi_thread")]
async fn staff_and_operators_do_their_daily_work_in_the_console() {
    if !browser_available() {
        return;
    }
    let (db, server, mut shops) = two_shops().await;
    furnish_rental(&server, &mut shops).await;
    let people = console_people(&db);
    run_spec_with(
        "console.mjs",
        &server,
        &db,
        &shops,
        &[("STOREKEEP_BROWSER_CONSOLE", people.to_string())],
    );
}
