//! Bulk import (CSV and JSON lines) and export through the admin API:
//! per-row reports with line numbers, idempotent re-imports, stock through
//! the ledger, export → import round trips, and a 50,000-row file.

use std::collections::BTreeMap;
use std::time::Instant;

use reqwest::Method;
use serde_json::{Value, json};
use storekeep_test_support::{TestApp, problem, spawn_app};

use crate::catalog_support::{
    body, create, create_category, create_plan, money, shop, simple, store_get, titles,
};
use crate::identity::admin;

async fn import(
    app: &TestApp,
    slug: &str,
    token: &str,
    content_type: &str,
    file: impl Into<String>,
) -> reqwest::Response {
    admin(
        app,
        slug,
        token,
        Method::POST,
        "/api/v1/admin/imports/products",
    )
    .header("content-type", content_type)
    .body(file.into())
    .send()
    .await
    .unwrap()
}

/// Imports and returns the 200 report.
async fn import_ok(
    app: &TestApp,
    slug: &str,
    token: &str,
    content_type: &str,
    file: impl Into<String>,
) -> Value {
    let resp = import(app, slug, token, content_type, file).await;
    let status = resp.status();
    let report = body(resp).await;
    assert_eq!(status, 200, "import: {report}");
    report
}

/// `(line, message)` of a report's errors.
fn errors(report: &Value) -> Vec<(u64, String)> {
    report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["line"].as_u64().unwrap(),
                e["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn counts(report: &Value) -> (u64, u64, u64) {
    (
        report["created"].as_u64().unwrap(),
        report["updated"].as_u64().unwrap(),
        report["failed"].as_u64().unwrap(),
    )
}

/// Every product of a shop through the admin API, by handle.
async fn catalog(app: &TestApp, slug: &str, token: &str) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            Some(c) => format!("/api/v1/admin/products?limit=200&after={c}"),
            None => "/api/v1/admin/products?limit=200".to_owned(),
        };
        let page = body(
            admin(app, slug, token, Method::GET, &path)
                .send()
                .await
                .unwrap(),
        )
        .await;
        for p in page["items"].as_array().unwrap() {
            out.insert(p["handle"].as_str().unwrap().to_owned(), p.clone());
        }
        match page["next_cursor"].as_str() {
            Some(c) => after = Some(c.to_owned()),
            None => return out,
        }
    }
}

async fn ledger(
    app: &TestApp,
    slug: &str,
    token: &str,
    variant: &Value,
) -> Vec<(i64, String, i64)> {
    let path = format!(
        "/api/v1/admin/variants/{}/inventory",
        variant["id"].as_str().unwrap()
    );
    body(
        admin(app, slug, token, Method::GET, &path)
            .send()
            .await
            .unwrap(),
    )
    .await["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["delta"].as_i64().unwrap(),
                e["reason"].as_str().unwrap().to_owned(),
                e["on_hand_after"].as_i64().unwrap(),
            )
        })
        .collect()
}

const HEADER: &str = "handle,title,description,status,tags,categories,sku,price,inventory";

fn first_file() -> String {
    [
        HEADER,
        "good-one,Good one,First good row,active,sale|New,laptops,GOOD-1,1999,5",
        "bad-price,Bad price,,active,,,BAD-1,12.50,1",
        "good-two,Good two,,draft,,,GOOD-2,2500,0",
        "unknown-category,Unknown category,,active,,nowhere,BAD-2,100,1",
        "taken-sku,Taken SKU,,active,,,TAKEN-1,100,1",
        "bad-status,Bad status,,published,,,BAD-3,100,1",
        "no-title,,,active,,,BAD-4,100,1",
        "good-three,Good three,\"Two lines,\nwith \"\"quotes\"\"\",active,,,GOOD-3,300,2",
        "good-four,Good four,,active,,laptops,GOOD-4,400,0",
    ]
    .join("\n")
        + "\n"
}

/// The lines (1 = the header) of `first_file`'s bad rows and a word each
/// message must contain. good-three's description spans lines 9 and 10.
const FIRST_FILE_ERRORS: &[(u64, &str)] = &[
    (3, "price"),
    (5, "category"),
    (6, "sku"),
    (7, "status"),
    (8, "title"),
];

fn assert_first_file_errors(report: &Value) {
    let found = errors(report);
    let lines: Vec<u64> = found.iter().map(|(l, _)| *l).collect();
    let expected: Vec<u64> = FIRST_FILE_ERRORS.iter().map(|(l, _)| *l).collect();
    assert_eq!(lines, expected, "{report}");
    for ((_, message), (line, word)) in found.iter().zip(FIRST_FILE_ERRORS) {
        assert!(
            message.contains(word),
            "line {line}: '{message}' should mention {word}"
        );
    }
}

#[tokio::test]
async fn a_csv_import_reports_bad_rows_by_line_and_imports_the_rest() {
    let app = spawn_app().await;
    let (owner, _) = shop(&app, "acme", None).await;
    let laptops = create_category(&app, "acme", &owner, json!({"name": "Laptops"})).await;
    let existing = simple(&app, "acme", &owner, "Existing", "TAKEN-1", 100).await;

    let report = import_ok(&app, "acme", &owner, "text/csv", first_file()).await;
    assert_eq!(counts(&report), (4, 0, 5), "{report}");
    assert_first_file_errors(&report);

    let all = catalog(&app, "acme", &owner).await;
    assert_eq!(
        all.keys().collect::<Vec<_>>(),
        [
            "existing",
            "good-four",
            "good-one",
            "good-three",
            "good-two"
        ],
        "bad rows left nothing behind"
    );
    let one = &all["good-one"];
    assert_eq!(one["title"], "Good one");
    assert_eq!(one["description"], "First good row");
    assert_eq!(one["status"], "active");
    assert_eq!(one["tags"], json!(["sale", "new"]));
    assert_eq!(one["categories"], json!([laptops["id"]]));
    let v = &one["variants"][0];
    assert_eq!(
        (&v["sku"], &v["title"], &v["price"]),
        (&json!("GOOD-1"), &json!("Default"), &money(1999))
    );
    assert_eq!(
        v["inventory"],
        json!({"on_hand": 5, "reserved": 0, "available": 5})
    );
    assert_eq!(
        ledger(&app, "acme", &owner, v).await,
        [(5, "import".to_owned(), 5)]
    );
    assert_eq!(all["good-two"]["status"], "draft");
    assert_eq!(
        all["good-three"]["description"],
        "Two lines,\nwith \"quotes\""
    );
    assert_eq!(all["existing"], existing, "the SKU's owner is untouched");
    let shown = store_get(&app, "acme", "/api/v1/store/products/good-one").await;
    assert_eq!(shown.status, 200);
    assert_eq!(
        shown.body["product"]["variants"][0]["inventory"]["available"],
        5
    );

    // The same file again updates, creates nothing and fails the same rows.
    let again = import_ok(&app, "acme", &owner, "text/csv", first_file()).await;
    assert_eq!(counts(&again), (0, 4, 5), "{again}");
    assert_first_file_errors(&again);
    let after = catalog(&app, "acme", &owner).await;
    assert_eq!(after.len(), 5);
    for handle in ["good-one", "good-two", "good-three", "good-four"] {
        assert_eq!(after[handle]["id"], all[handle]["id"]);
        assert_eq!(
            after[handle]["variants"], all[handle]["variants"],
            "{handle}"
        );
    }
    assert_eq!(
        ledger(&app, "acme", &owner, &after["good-one"]["variants"][0])
            .await
            .len(),
        1,
        "unchanged stock adds no ledger entry"
    );

    // Changed stock goes through the ledger; variants not in the file stay.
    let third = "handle,title,sku,price,inventory\n\
                 good-one,Good one v2,GOOD-1,2199,8\n\
                 good-one,Good one v2,GOOD-1B,2299,1\n\
                 good-two,Good two,GOOD-2B,2600,0\n";
    let report = import_ok(&app, "acme", &owner, "text/csv; charset=utf-8", third).await;
    assert_eq!(counts(&report), (0, 3, 0), "{report}");
    let now = catalog(&app, "acme", &owner).await;
    let one = &now["good-one"];
    assert_eq!(one["title"], "Good one v2");
    let skus: Vec<(&str, i64, i64)> = one["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["sku"].as_str().unwrap(),
                v["price"]["amount"].as_i64().unwrap(),
                v["inventory"]["on_hand"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(skus, [("GOOD-1", 2199, 8), ("GOOD-1B", 2299, 1)]);
    assert_eq!(
        ledger(&app, "acme", &owner, &one["variants"][0]).await,
        [(3, "import".to_owned(), 8), (5, "import".to_owned(), 5)]
    );
    let two_skus: Vec<&str> = now["good-two"]["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["sku"].as_str().unwrap())
        .collect();
    assert_eq!(
        two_skus,
        ["GOOD-2", "GOOD-2B"],
        "variants not in the file are kept"
    );

    let log = body(
        admin(&app, "acme", &owner, Method::GET, "/api/v1/admin/audit-log")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(log["items"][0]["action"], "product.import");
    assert!(
        log["items"][0]["actor"]
            .as_str()
            .unwrap()
            .starts_with("staff:")
    );
    app.stop().await;
}

#[tokio::test]
async fn a_csv_row_priced_in_another_currency_is_refused() {
    let app = spawn_app().await;
    let (owner, _) = shop(&app, "acme", None).await;
    let file = "handle,title,sku,price,currency\n\
                dollars,Dollars,USD-1,100,USD\n\
                euros,Euros,EUR-1,100,EUR\n\
                default,Default currency,DEF-1,100,\n";

    let report = import_ok(&app, "acme", &owner, "text/csv", file).await;
    assert_eq!(counts(&report), (2, 0, 1), "{report}");
    let found = errors(&report);
    assert_eq!(found.len(), 1, "{report}");
    assert_eq!(found[0].0, 3);
    assert!(
        found[0].1.contains("currency") || found[0].1.contains("USD"),
        "{report}"
    );
    let all = catalog(&app, "acme", &owner).await;
    assert!(
        !all.contains_key("euros"),
        "no product priced in EUR in a USD shop"
    );
    for p in all.values() {
        assert_eq!(p["variants"][0]["price"]["currency"], "USD");
    }
    app.stop().await;
}

#[tokio::test]
async fn json_lines_import_and_report_bad_lines() {
    let app = spawn_app().await;
    let (owner, _) = shop(&app, "acme", None).await;
    let kitchen = create_category(&app, "acme", &owner, json!({"name": "Kitchen"})).await;
    let lines = [
        json!({"handle": "mug", "title": "Mug", "status": "active", "tags": ["ceramic"],
               "categories": ["kitchen"],
               "variants": [
                   {"sku": "MUG-1", "price": money(1200), "inventory": 3},
                   {"sku": "MUG-2", "title": "Big mug", "options": {"Size": "L"},
                    "price": money(1500), "compare_at_price": money(1800)}]})
        .to_string(),
        String::new(),
        "this is not JSON".to_owned(),
        json!({"handle": "cup", "title": "Cup",
               "variants": [{"sku": "CUP-1", "price": {"amount": 100, "currency": "EUR"}}]})
        .to_string(),
        json!({"handle": "bowl", "title": "Bowl", "variants": []}).to_string(),
        json!({"handle": "plate", "title": "Plate", "colour": "white",
               "variants": [{"sku": "PLATE-1", "price": money(800)}]})
        .to_string(),
        json!({"handle": "plate", "title": "Plate",
               "variants": [{"sku": "PLATE-1", "price": money(800)}]})
        .to_string(),
    ];
    let report = import_ok(
        &app,
        "acme",
        &owner,
        "application/x-ndjson",
        lines.join("\n"),
    )
    .await;
    assert_eq!(counts(&report), (2, 0, 4), "{report}");
    let found = errors(&report);
    assert_eq!(
        found.iter().map(|(l, _)| *l).collect::<Vec<_>>(),
        [3, 4, 5, 6],
        "{report}"
    );
    assert!(found[1].1.contains("USD"), "{report}");
    assert!(found[2].1.contains("variant"), "{report}");
    assert!(found[3].1.contains("colour"), "{report}");

    let all = catalog(&app, "acme", &owner).await;
    assert_eq!(all.keys().collect::<Vec<_>>(), ["mug", "plate"]);
    let mug = &all["mug"];
    assert_eq!(mug["status"], "active");
    assert_eq!(mug["categories"], json!([kitchen["id"]]));
    assert_eq!(mug["variants"][1]["title"], "Big mug");
    assert_eq!(mug["variants"][1]["options"], json!({"Size": "L"}));
    assert_eq!(mug["variants"][1]["compare_at_price"], money(1800));
    assert_eq!(
        ledger(&app, "acme", &owner, &mug["variants"][0]).await,
        [(3, "import".to_owned(), 3)]
    );
    app.stop().await;
}

#[tokio::test]
async fn unusable_files_are_refused_whole() {
    let app = spawn_app().await;
    let (owner, _) = shop(&app, "acme", None).await;

    let typo = import(
        &app,
        "acme",
        &owner,
        "text/csv",
        "handle,titel,sku,price\nx,X,X-1,100\n",
    )
    .await;
    let p = problem(typo, 422).await;
    assert!(
        p["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("titel"),
        "{p}"
    );
    let missing = import(
        &app,
        "acme",
        &owner,
        "text/csv",
        "handle,title,price\nx,X,100\n",
    )
    .await;
    let p = problem(missing, 422).await;
    assert!(
        p["errors"][0]["message"].as_str().unwrap().contains("sku"),
        "{p}"
    );
    for ct in ["application/json", "text/plain"] {
        let wrong = import(
            &app,
            "acme",
            &owner,
            ct,
            "handle,title,sku,price\nx,X,X-1,100\n",
        )
        .await;
        problem(wrong, 415).await;
    }
    let none = admin(
        &app,
        "acme",
        &owner,
        Method::POST,
        "/api/v1/admin/imports/products",
    )
    .body("handle,title,sku,price\nx,X,X-1,100\n")
    .send()
    .await
    .unwrap();
    problem(none, 415).await;
    assert!(
        catalog(&app, "acme", &owner).await.is_empty(),
        "nothing imported"
    );

    let bad_format = admin(
        &app,
        "acme",
        &owner,
        Method::GET,
        "/api/v1/admin/exports/products?format=xml",
    )
    .send()
    .await
    .unwrap();
    problem(bad_format, 400).await;
    app.stop().await;
}

/// What an export must carry over: everything but ids and times, with
/// categories by handle.
fn portable(p: &Value, categories: &BTreeMap<String, String>) -> Value {
    json!({
        "handle": p["handle"], "title": p["title"], "description": p["description"],
        "status": p["status"], "tags": p["tags"],
        "categories": p["categories"].as_array().unwrap().iter()
            .map(|c| categories[c.as_str().unwrap()].clone()).collect::<Vec<_>>(),
        "variants": p["variants"].as_array().unwrap().iter().map(|v| json!({
            "sku": v["sku"], "title": v["title"], "options": v["options"], "price": v["price"],
            "compare_at_price": v["compare_at_price"], "on_hand": v["inventory"]["on_hand"],
        })).collect::<Vec<_>>(),
    })
}

async fn portable_catalog(app: &TestApp, slug: &str, token: &str) -> BTreeMap<String, Value> {
    let cats = body(
        admin(app, slug, token, Method::GET, "/api/v1/admin/categories")
            .send()
            .await
            .unwrap(),
    )
    .await;
    let by_id: BTreeMap<String, String> = cats["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_owned(),
                c["handle"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    catalog(app, slug, token)
        .await
        .into_iter()
        .map(|(h, p)| (h, portable(&p, &by_id)))
        .collect()
}

async fn export(app: &TestApp, slug: &str, token: &str, format: &str) -> (String, String) {
    let resp = admin(
        app,
        slug,
        token,
        Method::GET,
        &format!("/api/v1/admin/exports/products?format={format}"),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
    let ct = resp.headers()["content-type"].to_str().unwrap().to_owned();
    (ct, resp.text().await.unwrap())
}

#[tokio::test]
async fn an_export_imports_into_another_shop_unchanged() {
    let app = spawn_app().await;
    let (owner, _) = shop(&app, "acme", None).await;
    for name in ["Laptops", "Sale"] {
        create_category(&app, "acme", &owner, json!({"name": name})).await;
    }
    let cats = body(
        admin(
            &app,
            "acme",
            &owner,
            Method::GET,
            "/api/v1/admin/categories",
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    let cat_ids: Vec<Value> = cats["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].clone())
        .collect();
    let laptop = create(
        &app,
        "acme",
        &owner,
        &json!({"product": {
            "title": "Lenovo ThinkPad T480", "status": "active",
            "description": "Refurbished.\nComes with a charger, \"as new\".",
            "tags": ["laptop", "refurbished"], "categories": cat_ids,
            "variants": [
                {"sku": "T480-8", "options": {"RAM": "8 GB", "Storage": "256 GB"},
                 "price": money(34900), "compare_at_price": money(39900), "inventory": 3},
                {"sku": "T480-16", "title": "Maxed out", "options": {"RAM": "16 GB", "Storage": "1 TB"},
                 "price": money(45900)},
            ],
        }}),
    )
    .await;
    create(
        &app,
        "acme",
        &owner,
        &json!({"product": {"title": "Desk, lamp", "handle": "desk-lamp", "status": "draft",
                            "description": "Say \"hello\"; it's bright.",
                            "variants": [{"sku": "LAMP/1", "price": money(2500), "inventory": 7}]}}),
    )
    .await;
    create(
        &app,
        "acme",
        &owner,
        &json!({"product": {"title": "Old thing", "status": "archived",
                            "variants": [{"sku": "OLD_1", "price": money(0)}]}}),
    )
    .await;
    let vid = laptop["variants"][1]["id"].as_str().unwrap();
    let adjusted = admin(
        &app,
        "acme",
        &owner,
        Method::POST,
        &format!("/api/v1/admin/variants/{vid}/inventory"),
    )
    .json(&json!({"delta": 4, "reason": "found in the back"}))
    .send()
    .await
    .unwrap();
    assert_eq!(adjusted.status(), 200);
    let original = portable_catalog(&app, "acme", &owner).await;
    assert_eq!(original.len(), 3);

    for (format, expected_ct, import_ct) in [
        ("csv", "text/csv", "text/csv"),
        ("jsonl", "application/x-ndjson", "application/x-ndjson"),
    ] {
        let (ct, file) = export(&app, "acme", &owner, format).await;
        assert!(ct.starts_with(expected_ct), "{ct}");
        let slug = format!("copy-{format}");
        let (copy_owner, _) = shop(&app, &slug, None).await;
        for name in ["Laptops", "Sale"] {
            create_category(&app, &slug, &copy_owner, json!({"name": name})).await;
        }
        let report = import_ok(&app, &slug, &copy_owner, import_ct, file.clone()).await;
        assert_eq!(report["failed"], 0, "{format}: {report}");
        let copy = portable_catalog(&app, &slug, &copy_owner).await;
        assert_eq!(copy, original, "{format} round trip");

        // Importing the export back into the shop it came from changes nothing.
        let back = import_ok(&app, "acme", &owner, import_ct, file).await;
        assert_eq!(
            (back["created"].as_u64(), back["failed"].as_u64()),
            (Some(0), Some(0)),
            "{back}"
        );
        assert_eq!(portable_catalog(&app, "acme", &owner).await, original);
    }
    let (_, default) = export(&app, "acme", &owner, "csv").await;
    let no_format = admin(
        &app,
        "acme",
        &owner,
        Method::GET,
        "/api/v1/admin/exports/products",
    )
    .send()
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    assert_eq!(no_format, default, "CSV is the default");
    app.stop().await;
}

#[tokio::test]
async fn option_values_with_a_pipe_survive_a_csv_round_trip() {
    let app = spawn_app().await;
    let (owner, _) = shop(&app, "acme", None).await;
    let resp = admin(&app, "acme", &owner, Method::POST, "/api/v1/admin/products")
        .json(&json!({"product": {"title": "Two-tone mug", "status": "active",
                                  "variants": [{"sku": "MUG-BW", "options": {"Colour": "Black | White"},
                                                "price": money(1500)}]}}))
        .send()
        .await
        .unwrap();
    if resp.status() == 422 {
        // Refusing such values up front also keeps the export promise.
        return app.stop().await;
    }
    assert_eq!(resp.status(), 201);
    let original = portable_catalog(&app, "acme", &owner).await;
    let (_, file) = export(&app, "acme", &owner, "csv").await;
    let (copy_owner, _) = shop(&app, "copy", None).await;
    let report = import_ok(&app, "copy", &copy_owner, "text/csv", file).await;
    assert_eq!(counts(&report), (1, 0, 0), "{report}");
    assert_eq!(portable_catalog(&app, "copy", &copy_owner).await, original);
    app.stop().await;
}

#[tokio::test]
async fn fifty_thousand_rows_import_with_each_failure_on_its_line() {
    const ROWS: usize = 50_000;
    let app = spawn_app().await;
    create_plan(&app, "bulk", json!({"max_products": 100_000})).await;
    let (owner, _) = shop(&app, "acme", Some("bulk")).await;
    create_category(&app, "acme", &owner, json!({"name": "Widgets"})).await;

    // 50 bad rows spread through the file, five kinds of failure: three
    // caught while reading, two only when the row meets the database.
    let bad: BTreeMap<usize, (usize, &str)> = (0..50)
        .map(|k| {
            (
                k * 1000 + 137 + k * 7,
                (
                    k % 5,
                    ["price", "status", "title", "category", "sku"][k % 5],
                ),
            )
        })
        .collect();
    let mut file = String::from("handle,title,status,tags,categories,sku,price,inventory\n");
    for i in 0..ROWS {
        let (title, status, category, sku, price) = match bad.get(&i).map(|(kind, _)| *kind) {
            Some(0) => (
                format!("Widget r{i:05} blue"),
                "active",
                "widgets",
                format!("SKU-{i:05}"),
                "1x".to_owned(),
            ),
            Some(1) => (
                format!("Widget r{i:05} blue"),
                "live",
                "widgets",
                format!("SKU-{i:05}"),
                "100".to_owned(),
            ),
            Some(2) => (
                String::new(),
                "active",
                "widgets",
                format!("SKU-{i:05}"),
                "100".to_owned(),
            ),
            Some(3) => (
                format!("Widget r{i:05} blue"),
                "active",
                "gizmos",
                format!("SKU-{i:05}"),
                "100".to_owned(),
            ),
            Some(_) => (
                format!("Widget r{i:05} blue"),
                "active",
                "widgets",
                "SKU-00000".to_owned(),
                "100".to_owned(),
            ),
            None => (
                format!("Widget r{i:05} blue"),
                "active",
                "widgets",
                format!("SKU-{i:05}"),
                (100 + i % 500).to_string(),
            ),
        };
        file.push_str(&format!(
            "item-{i:05},{title},{status},bulk,{category},{sku},{price},{}\n",
            i % 5
        ));
    }

    let started = Instant::now();
    let report = import_ok(&app, "acme", &owner, "text/csv", file).await;
    let took = started.elapsed();
    eprintln!(
        "50,000-row CSV import on {}: {took:.1?}",
        if app.db.is_sqlite() {
            "SQLite"
        } else {
            "PostgreSQL"
        }
    );
    assert_eq!(counts(&report), (49_950, 0, 50), "{}", report["errors"]);
    let found = errors(&report);
    assert_eq!(found.len(), 50);
    for ((line, message), (row, (_, word))) in found.iter().zip(&bad) {
        assert_eq!(*line, *row as u64 + 2, "row {row} is on line {}", row + 2);
        assert!(
            message.contains(word),
            "line {line}: '{message}' should mention {word}"
        );
    }

    let first = body(
        admin(
            &app,
            "acme",
            &owner,
            Method::GET,
            "/api/v1/admin/products?limit=1",
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(first["items"][0]["handle"], "item-49999");
    assert!(first["next_cursor"].is_string());

    let found = store_get(&app, "acme", "/api/v1/store/search?q=r40000").await;
    assert_eq!(found.status, 200);
    assert_eq!(titles(&found.body), ["Widget r40000 blue"]);
    assert_eq!(found.body["items"][0]["variants"][0]["sku"], "SKU-40000");
    let failed_row = bad.keys().find(|r| **r > 40_000).unwrap();
    assert_eq!(
        store_get(
            &app,
            "acme",
            &format!("/api/v1/store/products/item-{failed_row:05}")
        )
        .await
        .status,
        404,
        "a failed row left nothing behind"
    );
    let next = store_get(
        &app,
        "acme",
        &format!("/api/v1/store/products/item-{:05}", failed_row + 1),
    )
    .await;
    assert_eq!(next.status, 200);
    assert_eq!(
        next.body["product"]["variants"][0]["inventory"]["on_hand"],
        ((failed_row + 1) % 5) as i64
    );

    let started = Instant::now();
    let (_, exported) = export(&app, "acme", &owner, "csv").await;
    eprintln!("exporting 49,950 products: {:.1?}", started.elapsed());
    assert_eq!(
        exported.lines().count(),
        1 + 49_950,
        "every product exported once"
    );
    app.stop().await;
}

#[tokio::test]
async fn imports_and_exports_stay_within_their_shop() {
    let app = spawn_app().await;
    let (acme, _) = shop(&app, "acme", None).await;
    let (other, _) = shop(&app, "other", None).await;
    create_category(
        &app,
        "acme",
        &acme,
        json!({"name": "Only at Acme", "handle": "acme-only"}),
    )
    .await;
    let mut widget = crate::catalog_support::product_json("Widget", &[("W-1", 500, 4)]);
    widget["product"]["handle"] = json!("widget");
    let original = create(&app, "acme", &acme, &widget).await;

    let file = "handle,title,categories,sku,price,inventory\n\
                widget,Other's widget,,W-1,900,1\n\
                gadget,Gadget,acme-only,G-1,100,1\n";
    let report = import_ok(&app, "other", &other, "text/csv", file).await;
    assert_eq!(counts(&report), (1, 0, 1), "{report}");
    assert_eq!(errors(&report)[0].0, 3, "Acme's category is unknown here");

    let acme_now = catalog(&app, "acme", &acme).await;
    assert_eq!(acme_now["widget"], original, "Acme's product is untouched");
    let other_now = catalog(&app, "other", &other).await;
    assert_eq!(other_now.keys().collect::<Vec<_>>(), ["widget"]);
    assert_eq!(other_now["widget"]["title"], "Other's widget");

    let (_, exported) = export(&app, "other", &other, "jsonl").await;
    assert_eq!(exported.lines().count(), 1);
    assert!(
        exported.contains("Other's widget") && !exported.contains("\"Widget\""),
        "{exported}"
    );
    app.stop().await;
}
