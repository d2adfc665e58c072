//! kill -9 during a bulk import: first the `storekeep import products`
//! process, then the server during `POST /api/v1/admin/imports/products`.
//! Rows are committed in batches (`IMPORT_BATCH`, 500), each row on its
//! own atomically, with the batch's audit entry: after a kill exactly the
//! rows of the committed batches are there, each complete and as the file
//! says, the audit log names those batches and verifies, and importing the
//! file again finishes the rest (products matched by handle, variants by
//! SKU) until the catalog is the file.

use std::collections::{BTreeMap, HashSet};
use std::process::Stdio;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::Method;
use storekeep_test_support::{TestDb, storekeep_command};

use crate::BIN;
use crate::crash_support::{Api, audit_intact, call, cli, seed, serve, shop_with_owner};

/// Rows the store commits together (`storekeep_store::catalog::IMPORT_BATCH`).
const BATCH: usize = 500;
/// Batches in the file: room to kill after the first or second, and again
/// a batch later, before the end.
const BATCHES: usize = 6;
const ROWS: usize = BATCHES * BATCH;
const COLUMNS: [&str; 13] = [
    "handle",
    "title",
    "description",
    "status",
    "tags",
    "categories",
    "sku",
    "variant_title",
    "options",
    "price",
    "compare_at_price",
    "currency",
    "inventory",
];

/// The file: products of one to three variants (one row each), every
/// column filled as an export writes it, so a complete import exports as
/// exactly these rows.
fn file_rows() -> Vec<Vec<String>> {
    let sizes = ["Small", "Medium", "Large"];
    let mut rows = Vec::new();
    let mut product = 0;
    while rows.len() < ROWS {
        product += 1;
        let variants = (1 + product % 3).min(ROWS - rows.len());
        for (v, size) in sizes.iter().enumerate().take(variants) {
            let price = 1_000 + product as i64 * 10 + v as i64;
            rows.push(vec![
                format!("crash-{product:05}"),
                format!("Crash product {product}"),
                format!("Imported while the process is killed, number {product}."),
                ["active", "draft"][product % 2].to_owned(),
                "bulk|crash".to_owned(),
                String::new(),
                format!("CRASH-{product:05}-{v}"),
                (*size).to_owned(),
                format!("Size={size}"),
                price.to_string(),
                if product % 4 == 0 {
                    (price + 500).to_string()
                } else {
                    String::new()
                },
                "USD".to_owned(),
                ((product * 7 + v) % 50).to_string(),
            ]);
        }
    }
    rows
}

fn to_csv(rows: &[Vec<String>]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(COLUMNS).unwrap();
    for r in rows {
        w.write_record(r).unwrap();
    }
    w.into_inner().unwrap()
}

/// The catalog as `storekeep export products` writes it: SKU → row.
fn exported(db: &TestDb) -> BTreeMap<String, Vec<String>> {
    let path = db.dir.path().join("export.csv");
    cli(
        db,
        &[
            "export",
            "products",
            "--tenant",
            "crash",
            "--format",
            "csv",
            "-o",
            path.to_str().unwrap(),
        ],
    );
    let mut reader = csv::Reader::from_path(&path).unwrap();
    assert_eq!(
        reader.headers().unwrap(),
        &csv::StringRecord::from(COLUMNS.to_vec())
    );
    reader
        .records()
        .map(|r| {
            let r: Vec<String> = r.unwrap().iter().map(str::to_owned).collect();
            (r[6].clone(), r)
        })
        .collect()
}

/// Checks that the catalog holds exactly the file's first whole batches,
/// each row complete and as written; returns how many batches.
fn committed_batches(db: &TestDb, rows: &[Vec<String>], what: &str) -> usize {
    let catalog = exported(db);
    let present = catalog.len();
    assert_eq!(
        present % BATCH,
        0,
        "{what}: {present} rows, not whole batches"
    );
    for (i, row) in rows.iter().enumerate() {
        match catalog.get(&row[6]) {
            Some(found) => assert_eq!(found, row, "{what}: row {} as the file says", i + 2),
            None => assert!(
                i >= present,
                "{what}: row {} of a committed batch is missing",
                i + 2
            ),
        }
    }
    present / BATCH
}

/// Import batches the shop's audit log records (newest first).
async fn import_entries(api: &Api) -> Option<Vec<String>> {
    let (status, b) = call(api.admin(Method::GET, "/api/v1/admin/audit-log?limit=100")).await?;
    assert_eq!(status, 200, "audit log: {b}");
    Some(
        b["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == "product.import")
            .map(|e| e["target"].as_str().unwrap_or_default().to_owned())
            .collect(),
    )
}

/// Polls the audit log until it records `count` import batches.
async fn wait_for_batches(api: &Api, count: usize, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if import_entries(api).await.unwrap_or_default().len() >= count {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: batch {count} never committed"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The audit log names each committed batch once: lines 2–501, 502–1001…
async fn audit_names_batches(api: &Api, runs: &[usize], what: &str) {
    let mut entries = import_entries(api).await.expect("the server answers");
    entries.reverse();
    let expected: Vec<String> = runs
        .iter()
        .flat_map(|&n| (0..n).map(|b| format!("lines:{}-{}", b * BATCH + 2, (b + 1) * BATCH + 1)))
        .collect();
    assert_eq!(entries, expected, "{what}: the audit log's import entries");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_during_a_csv_import_leaves_whole_rows_and_a_rerun_finishes_it() {
    let seed = seed();
    eprintln!("crash import: seed {seed} (STOREKEEP_TEST_CRASH_SEED={seed} replays it)");
    let mut rng = StdRng::seed_from_u64(seed);
    let began = Instant::now();
    let db = TestDb::new().await;
    shop_with_owner(&db);
    let rows = file_rows();
    let file = db.dir.path().join("products.csv");
    std::fs::write(&file, to_csv(&rows)).unwrap();
    let (server, _) = serve(&db);
    let mut api = Api::new(&server);
    api.log_in().await;

    // 1. The CLI import is killed after its first or second batch.
    let after = rng.random_range(1..=2);
    let mut import = storekeep_command(BIN, &db)
        .args(["import", "products", "--tenant", "crash"])
        .arg(&file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    wait_for_batches(&api, after, "CLI import").await;
    tokio::time::sleep(Duration::from_millis(rng.random_range(0..100))).await;
    import.kill().unwrap();
    let killed_after = started.elapsed();
    let status = import.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9),
        "the import was still running when killed"
    );
    let first = committed_batches(&db, &rows, "after killing the CLI import");
    assert!(
        (after..BATCHES - 2).contains(&first),
        "killed mid-way: {first} of {BATCHES} batches"
    );
    audit_names_batches(&api, &[first], "after killing the CLI import").await;
    audit_intact(&db);
    eprintln!(
        "crash-figures import=cli killed_after_ms={} batches_committed={first}/{BATCHES}",
        killed_after.as_millis()
    );

    // 2. The file again through the API; the server is killed once the
    // import has committed one batch more than the CLI did.
    let body = std::fs::read(&file).unwrap();
    let request = api
        .admin(Method::POST, "/api/v1/admin/imports/products")
        .header("content-type", "text/csv")
        .body(body);
    let upload = tokio::spawn(call(request));
    let started = Instant::now();
    wait_for_batches(&api, first + first + 1, "HTTP import").await;
    tokio::time::sleep(Duration::from_millis(rng.random_range(0..100))).await;
    let killed_after = started.elapsed();
    let signal = tokio::task::spawn_blocking(move || server.kill9())
        .await
        .unwrap();
    assert_eq!(signal, Some(9), "the server was running until killed");
    assert!(
        upload.await.unwrap().is_none(),
        "the import was cut short: no answer"
    );
    let (server, ready_in) = serve(&db);
    api = api.on(&server);
    let second = committed_batches(&db, &rows, "after killing the server");
    assert!(
        (first + 1..BATCHES).contains(&second),
        "killed mid-way: {second} of {BATCHES} batches"
    );
    audit_names_batches(&api, &[first, second], "after killing the server").await;
    audit_intact(&db);
    eprintln!(
        "crash-figures import=http killed_after_ms={} batches_committed={second}/{BATCHES} \
         ready_after_restart_ms={}",
        killed_after.as_millis(),
        ready_in.as_millis()
    );

    // 3. Importing the file again finishes it: the products not yet there
    // are created, the rest updated, and the catalog is the file.
    let present: HashSet<String> = exported(&db).values().map(|r| r[0].clone()).collect();
    let missing = rows
        .iter()
        .map(|r| &r[0])
        .collect::<HashSet<_>>()
        .into_iter()
        .filter(|h| !present.contains(*h))
        .count();
    let out = cli(
        &db,
        &[
            "import",
            "products",
            "--tenant",
            "crash",
            file.to_str().unwrap(),
        ],
    );
    let summary = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        summary.trim(),
        format!("{missing} created, {} updated, 0 failed", ROWS - missing),
        "the re-run"
    );
    assert_eq!(committed_batches(&db, &rows, "after the re-run"), BATCHES);
    audit_names_batches(&api, &[first, second, BATCHES], "after the re-run").await;
    audit_intact(&db);
    eprintln!(
        "crash-figures import=done wall_s={:.1} seed={seed}",
        began.elapsed().as_secs_f64()
    );
}
