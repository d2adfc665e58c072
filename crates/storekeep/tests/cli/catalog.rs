//! `storekeep import products`, `export products` and `seed --demo`'s
//! catalog, as an operator runs them.

use std::process::Output;

use storekeep_test_support::{TestDb, storekeep_command};

use crate::BIN;

fn run(db: &TestDb, args: &[&str]) -> Output {
    storekeep_command(BIN, db).args(args).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn create_shop(db: &TestDb, slug: &str) {
    let out = run(db, &["tenant", "create", slug, "--name", slug]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

fn export(db: &TestDb, slug: &str, format: &str) -> String {
    let out = run(
        db,
        &["export", "products", "--tenant", slug, "--format", format],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
}

#[tokio::test]
async fn an_import_with_bad_rows_imports_the_good_ones_and_names_the_bad_lines() {
    let db = TestDb::new().await;
    create_shop(&db, "acme");
    let file = db.dir.path().join("products.csv");
    std::fs::write(
        &file,
        "handle,title,sku,price,inventory,options,tags\n\
         dock-1,USB-C Dock,DOCK-1,8900,4,Color=Black,docks|usb-c\n\
         dock-1,USB-C Dock,DOCK-1-GREY,8900,2,Color=Grey,docks|usb-c\n\
         bad-price,Broken,BAD-1,12.50,1,,\n\
         mouse,Mouse,MOUSE-1,1900,,,\n\
         ,No handle,NOH-1,100,1,,\n",
    )
    .unwrap();
    let out = run(
        &db,
        &[
            "import",
            "products",
            "--tenant",
            "acme",
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "some rows failed: exit 1");
    let stderr = text(&out.stderr);
    assert!(stderr.contains("line 4: price"), "{stderr}");
    assert!(stderr.contains("line 6: handle"), "{stderr}");
    assert!(
        !stderr.contains("line 2") && !stderr.contains("line 5"),
        "{stderr}"
    );
    // Rows 2 and 3 are the same product: one created, one updated.
    assert!(
        text(&out.stdout).contains("2 created, 1 updated, 2 failed"),
        "{}",
        text(&out.stdout)
    );

    let csv = export(&db, "acme", "csv");
    let mut lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines.remove(0),
        "handle,title,description,status,tags,categories,sku,variant_title,options,price,compare_at_price,currency,inventory"
    );
    lines.sort_unstable();
    assert_eq!(
        lines,
        [
            "dock-1,USB-C Dock,,draft,docks|usb-c,,DOCK-1,Black,Color=Black,8900,,USD,4",
            "dock-1,USB-C Dock,,draft,docks|usb-c,,DOCK-1-GREY,Grey,Color=Grey,8900,,USD,2",
            "mouse,Mouse,,draft,,,MOUSE-1,Default,,1900,,USD,0",
        ]
    );
}

#[tokio::test]
async fn import_json_prints_the_report_for_machines_and_keeps_the_exit_code() {
    let db = TestDb::new().await;
    create_shop(&db, "acme");
    let file = db.dir.path().join("products.csv");
    std::fs::write(
        &file,
        "handle,title,sku,price,inventory\n\
         lamp,Lamp,LAMP-1,2500,3\n\
         bad-price,Broken,BAD-1,12.50,1\n\
         lamp,Lamp,LAMP-2,2700,1\n\
         desk,Desk,DESK-1,19900,1\n",
    )
    .unwrap();
    let import = |file: &std::path::Path| {
        run(
            &db,
            &[
                "import",
                "products",
                "--tenant",
                "acme",
                "--json",
                file.to_str().unwrap(),
            ],
        )
    };
    let out = import(&file);
    assert_eq!(out.status.code(), Some(1), "a row failed: exit 1");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is one JSON document ({e}): {}", text(&out.stdout)));
    assert_eq!(
        report,
        serde_json::json!({
            "created": 2,
            "updated": 1,
            "failed": 1,
            "errors": [{
                "line": 3,
                "message": "price: '12.50' is not a whole number of minor units (34900 for 349.00)",
            }],
        })
    );
    assert!(
        !text(&out.stderr).contains("line 3"),
        "the errors are in the report, not repeated on stderr: {}",
        text(&out.stderr)
    );

    // A clean file: exit 0, every row counted.
    let clean = db.dir.path().join("clean.csv");
    std::fs::write(&clean, "handle,title,sku,price\nlamp,Lamp,LAMP-1,2600\n").unwrap();
    let out = import(&clean);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report,
        serde_json::json!({"created": 0, "updated": 1, "failed": 0, "errors": []})
    );
}

#[tokio::test]
async fn an_export_imports_into_another_shop_unchanged_in_both_formats() {
    let db = TestDb::new().await;
    for slug in ["src", "csvcopy", "jsoncopy"] {
        create_shop(&db, slug);
    }
    let file = db.dir.path().join("in.jsonl");
    std::fs::write(
        &file,
        concat!(
            r#"{"handle":"t480","title":"ThinkPad T480","description":"14\", i5","status":"active","tags":["lenovo"],"variants":[{"sku":"T480-8","options":{"RAM":"8 GB"},"price":{"amount":34900,"currency":"USD"},"compare_at_price":{"amount":39900,"currency":"USD"},"inventory":3},{"sku":"T480-16","options":{"RAM":"16 GB"},"price":{"amount":39900,"currency":"USD"}}]}"#,
            "\n",
            r#"{"handle":"x1","title":"X1 Carbon, \"Gen 6\"","status":"archived","variants":[{"sku":"X1-6","price":{"amount":59900,"currency":"USD"},"inventory":1}]}"#,
            "\n"
        ),
    )
    .unwrap();
    let out = run(
        &db,
        &[
            "import",
            "products",
            "--tenant",
            "src",
            file.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));

    for (format, copy) in [("csv", "csvcopy"), ("jsonl", "jsoncopy")] {
        let exported = export(&db, "src", format);
        let path = db.dir.path().join(format!("export.{format}"));
        std::fs::write(&path, &exported).unwrap();
        let out = run(
            &db,
            &[
                "import",
                "products",
                "--tenant",
                copy,
                path.to_str().unwrap(),
            ],
        );
        assert!(out.status.success(), "{format}: {}", text(&out.stderr));
        for check in ["csv", "jsonl"] {
            assert_eq!(
                export(&db, copy, check),
                export(&db, "src", check),
                "{format} copy, compared as {check}"
            );
        }
    }
}

#[tokio::test]
async fn seed_demo_fills_the_demo_shop_with_the_same_thousand_products_every_time() {
    let first = TestDb::new().await;
    let second = TestDb::new().await;
    for db in [&first, &second] {
        let out = run(db, &["seed", "--demo"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(
            text(&out.stdout).contains("1000 products (1000 created now)"),
            "{}",
            text(&out.stdout)
        );
    }
    let again = run(&first, &["seed", "--demo"]);
    assert!(
        text(&again.stdout).contains("1000 products (0 created now)"),
        "seeding twice changes nothing: {}",
        text(&again.stdout)
    );
    let a = export(&first, "demo", "csv");
    assert_eq!(a, export(&second, "demo", "csv"), "deterministic");
    let rows = a.lines().count() - 1;
    assert!(rows >= 1_000, "one row per variant: {rows}");
    for kind in ["ThinkPad", "iPhone", "Monitor", "Dock"] {
        assert!(a.contains(kind), "the demo sells {kind}s");
    }
}

#[tokio::test]
async fn what_an_import_leaves_out_stays_and_bad_rows_stay_their_own_problem() {
    let db = TestDb::new().await;
    create_shop(&db, "acme");
    let import = |name: &str, contents: &[u8]| {
        let path = db.dir.path().join(name);
        std::fs::write(&path, contents).unwrap();
        run(
            &db,
            &[
                "import",
                "products",
                "--tenant",
                "acme",
                path.to_str().unwrap(),
            ],
        )
    };
    let first = import(
        "full.csv",
        b"handle,title,status,sku,price,inventory\n\
          dock,USB-C Dock,active,DOCK-1,8900,4\n\
          mouse,Mouse,active,MOUSE-1,1900,2\n",
    );
    assert!(first.status.success(), "{}", text(&first.stderr));

    // A price update without status or stock columns changes only prices;
    // a row with invalid UTF-8 fails alone, the rows after it still count.
    let mut prices = b"handle,title,sku,price\ndock,USB-C Dock,DOCK-1,7900\n".to_vec();
    prices.extend_from_slice(b"caf\xe9,Caf\xe9,CAFE-1,100\n");
    prices.extend_from_slice(b"mouse,Mouse,MOUSE-1,1500\n");
    let second = import("prices.csv", &prices);
    assert_eq!(second.status.code(), Some(1));
    let stderr = text(&second.stderr);
    assert!(stderr.contains("line 3:"), "{stderr}");
    assert!(
        text(&second.stdout).contains("0 created, 2 updated, 1 failed"),
        "{}",
        text(&second.stdout)
    );
    let csv = export(&db, "acme", "csv");
    assert!(
        csv.contains("dock,USB-C Dock,,active,,,DOCK-1,Default,,7900,,USD,4"),
        "{csv}"
    );
    assert!(
        csv.contains("mouse,Mouse,,active,,,MOUSE-1,Default,,1500,,USD,2"),
        "{csv}"
    );

    // One product line with more variants than a product may have.
    let variants: Vec<String> = (0..101)
        .map(|i| format!(r#"{{"sku":"V-{i}","price":{{"amount":100,"currency":"USD"}}}}"#))
        .collect();
    let line = format!(
        r#"{{"handle":"many","title":"Many","variants":[{}]}}"#,
        variants.join(",")
    );
    let third = import("many.jsonl", format!("{line}\n").as_bytes());
    assert_eq!(third.status.code(), Some(1));
    assert!(
        text(&third.stderr).contains("line 1: variants: at most 100 variants"),
        "{}",
        text(&third.stderr)
    );
    assert!(!export(&db, "acme", "csv").contains("many,"));
}

#[tokio::test]
async fn formula_cells_leave_the_cli_export_inert_and_come_back_unchanged() {
    let db = TestDb::new().await;
    for slug in ["src", "copy"] {
        create_shop(&db, slug);
    }
    let file = db.dir.path().join("in.jsonl");
    std::fs::write(
        &file,
        concat!(
            r#"{"handle":"bait","title":"=HYPERLINK(\"http://evil.example\")","description":"@SUM(A1:A9)","status":"active","tags":["+1","-1"],"variants":[{"sku":"B-1","title":"'=not a formula","options":{"=x":"y"},"price":{"amount":100,"currency":"USD"},"inventory":1}]}"#,
            "\n",
        ),
    )
    .unwrap();
    let out = run(
        &db,
        &[
            "import",
            "products",
            "--tenant",
            "src",
            file.to_str().unwrap(),
        ],
    );
    // An option name may not contain '=': that row is refused, and says so.
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("line 1: variants[0].options"),
        "{}",
        text(&out.stderr)
    );
    std::fs::write(
        &file,
        text(&std::fs::read(&file).unwrap()).replace("\"=x\"", "\"@x\""),
    )
    .unwrap();
    let out = run(
        &db,
        &[
            "import",
            "products",
            "--tenant",
            "src",
            file.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));

    let csv = export(&db, "src", "csv");
    let row = csv.lines().nth(1).unwrap();
    assert!(
        row.starts_with("bait,\"'=HYPERLINK(\"\"http://evil.example\"\")\",'@SUM(A1:A9),active,'+1|-1,,B-1,''=not a formula,'@x=y,100,,USD,1"),
        "{row}"
    );
    let path = db.dir.path().join("export.csv");
    std::fs::write(&path, &csv).unwrap();
    let out = run(
        &db,
        &[
            "import",
            "products",
            "--tenant",
            "copy",
            path.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(export(&db, "copy", "jsonl"), export(&db, "src", "jsonl"));
    assert_eq!(export(&db, "copy", "csv"), csv);
}
