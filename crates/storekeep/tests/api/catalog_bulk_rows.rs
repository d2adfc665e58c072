//! Bulk import, row by row inside a batch: rows that only create are
//! written together, the others alone, and either way a bad row fails on
//! its own line, leaves nothing of itself and keeps nothing else from
//! landing — including when the batch's multi-row write itself fails.

use std::collections::BTreeMap;

use reqwest::Method;
use serde_json::{Value, json};
use storekeep_test_support::{TestApp, spawn_app};

use crate::catalog_support::{body, create_category, create_plan, shop, store_get, titles};
use crate::identity::admin;
use crate::rentals_contract_support::sql;

/// One JSON line: a product with `variants` as `(sku, price, inventory)`.
fn line(handle: &str, title: &str, categories: &[&str], variants: &[(&str, i64, i64)]) -> String {
    json!({
        "handle": handle,
        "title": title,
        "status": "active",
        "tags": ["sale", "new"],
        "categories": categories,
        "variants": variants
            .iter()
            .map(|(sku, price, inventory)| json!({
                "sku": sku,
                "price": {"amount": price, "currency": "USD"},
                "inventory": inventory,
            }))
            .collect::<Vec<_>>(),
    })
    .to_string()
}

/// Imports JSON lines and returns the 200 report.
async fn import(app: &TestApp, slug: &str, token: &str, lines: &[String]) -> Value {
    let resp = admin(
        app,
        slug,
        token,
        Method::POST,
        "/api/v1/admin/imports/products",
    )
    .header("content-type", "application/x-ndjson")
    .body(lines.join("\n") + "\n")
    .send()
    .await
    .unwrap();
    let status = resp.status();
    let report = body(resp).await;
    assert_eq!(status, 200, "import: {report}");
    report
}

fn summary(report: &Value) -> (u64, u64, u64, Vec<(u64, String)>) {
    let errors = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["line"].as_u64().unwrap(),
                e["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    (
        report["created"].as_u64().unwrap(),
        report["updated"].as_u64().unwrap(),
        report["failed"].as_u64().unwrap(),
        errors,
    )
}

/// Every product of the shop through the admin API, by handle.
async fn catalog(app: &TestApp, slug: &str, token: &str) -> BTreeMap<String, Value> {
    let page = body(
        admin(
            app,
            slug,
            token,
            Method::GET,
            "/api/v1/admin/products?limit=100",
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert!(page["next_cursor"].is_null(), "one page is all: {page}");
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["handle"].as_str().unwrap().to_owned(), p.clone()))
        .collect()
}

/// `(sku, on hand)` of a product's variants, in their order.
fn variants(p: &Value) -> Vec<(String, i64)> {
    p["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["sku"].as_str().unwrap().to_owned(),
                v["inventory"]["on_hand"].as_i64().unwrap(),
            )
        })
        .collect()
}

/// `(delta, reason, on hand after)` of a variant's ledger, newest first.
async fn ledger(app: &TestApp, slug: &str, token: &str, v: &Value) -> Vec<(i64, String, i64)> {
    let path = format!(
        "/api/v1/admin/variants/{}/inventory",
        v["id"].as_str().unwrap()
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

#[tokio::test]
async fn bad_rows_in_the_middle_of_a_batch_fail_alone_on_their_lines_and_leave_nothing() {
    let app = spawn_app().await;
    let (owner, _) = shop(&app, "acme", None).await;
    let laptops = create_category(&app, "acme", &owner, json!({"name": "Laptops"})).await;
    let first = import(
        &app,
        "acme",
        &owner,
        &[line("old", "Old thing", &[], &[("OLD-1", 500, 1)])],
    )
    .await;
    assert_eq!(summary(&first).0, 1, "{first}");

    let report = import(
        &app,
        "acme",
        &owner,
        &[
            // 1: new, two variants, filed and tagged.
            line(
                "n1",
                "Nimbus laptop",
                &["laptops", "laptops"],
                &[("N1-A", 1200, 3), ("N1-B", 900, 0)],
            ),
            // 2: new, but its second SKU is another product's.
            line("n2", "Second", &[], &[("N2-A", 100, 4), ("OLD-1", 100, 1)]),
            // 3: new, filed under a category the shop does not have.
            line("n3", "Third", &["nowhere"], &[("N3-A", 100, 1)]),
            // 4: an update of the product imported before.
            line("old", "Old thing, renamed", &[], &[("OLD-1", 500, 9)]),
            // 5 and 6: the same new handle twice; the second updates it.
            line("n5", "Fifth", &[], &[("N5-A", 100, 2)]),
            line("n5", "Fifth, again", &[], &[("N5-A", 150, 2)]),
            // 7: new.
            line("n7", "Zephyr tablet", &["laptops"], &[("N7-A", 700, 5)]),
        ],
    )
    .await;
    let (created, updated, failed, errors) = summary(&report);
    assert_eq!((created, updated, failed), (3, 2, 2), "{report}");
    assert_eq!(errors.len(), 2, "{report}");
    assert_eq!(errors[0].0, 2);
    assert!(errors[0].1.contains("sku"), "{}", errors[0].1);
    assert_eq!(errors[1].0, 3);
    assert!(errors[1].1.contains("category"), "{}", errors[1].1);

    let products = catalog(&app, "acme", &owner).await;
    let handles: Vec<&str> = products.keys().map(String::as_str).collect();
    assert_eq!(handles, ["n1", "n5", "n7", "old"], "nothing of n2 or n3");
    let all_skus: Vec<String> = products
        .values()
        .flat_map(|p| variants(p).into_iter().map(|(sku, _)| sku))
        .collect();
    assert!(
        !all_skus.iter().any(|s| s == "N2-A" || s == "N3-A"),
        "a failed row's variants stay out: {all_skus:?}"
    );

    let n1 = &products["n1"];
    assert_eq!(
        variants(n1),
        [("N1-A".to_owned(), 3), ("N1-B".to_owned(), 0)]
    );
    assert_eq!(n1["tags"], json!(["sale", "new"]));
    assert_eq!(n1["categories"], json!([laptops["id"]]));
    assert_eq!(
        ledger(&app, "acme", &owner, &n1["variants"][0]).await,
        [(3, "import".to_owned(), 3)]
    );
    assert!(
        ledger(&app, "acme", &owner, &n1["variants"][1])
            .await
            .is_empty()
    );
    assert_eq!(products["n5"]["title"], "Fifth, again");
    assert_eq!(products["n5"]["variants"][0]["price"]["amount"], 150);
    assert_eq!(products["old"]["title"], "Old thing, renamed");
    assert_eq!(
        ledger(&app, "acme", &owner, &products["old"]["variants"][0]).await,
        [(8, "import".to_owned(), 9), (1, "import".to_owned(), 1)]
    );

    // The summary columns lists sort and filter on, and the search index.
    let cheap_first = store_get(&app, "acme", "/api/v1/store/products?sort=price_asc").await;
    assert_eq!(
        titles(&cheap_first.body),
        [
            "Fifth, again",
            "Old thing, renamed",
            "Zephyr tablet",
            "Nimbus laptop"
        ],
        "n1 is priced by its cheapest variant"
    );
    let found = store_get(&app, "acme", "/api/v1/store/search?q=zephyr").await;
    assert_eq!(titles(&found.body), ["Zephyr tablet"]);
    let filed = store_get(&app, "acme", "/api/v1/store/products?category=laptops").await;
    let mut filed = titles(&filed.body);
    filed.sort();
    assert_eq!(filed, ["Nimbus laptop", "Zephyr tablet"]);
    app.stop().await;
}

#[tokio::test]
async fn new_rows_past_the_plan_fail_on_their_lines_while_updates_go_on() {
    let app = spawn_app().await;
    create_plan(&app, "tiny", json!({"max_products": 3})).await;
    let (owner, _) = shop(&app, "acme", Some("tiny")).await;
    import(
        &app,
        "acme",
        &owner,
        &[line("old", "Old", &[], &[("OLD-1", 500, 1)])],
    )
    .await;
    let report = import(
        &app,
        "acme",
        &owner,
        &[
            line("a", "A", &[], &[("A-1", 100, 1)]),
            line("old", "Old, renamed", &[], &[("OLD-1", 500, 1)]),
            line("b", "B", &[], &[("B-1", 100, 1)]),
            line("c", "C", &[], &[("C-1", 100, 1)]),
            line("d", "D", &[], &[("D-1", 100, 1)]),
        ],
    )
    .await;
    let (created, updated, failed, errors) = summary(&report);
    assert_eq!((created, updated, failed), (2, 1, 2), "{report}");
    let lines: Vec<u64> = errors.iter().map(|(l, _)| *l).collect();
    assert_eq!(lines, [4, 5]);
    for (_, message) in &errors {
        assert!(
            message.contains("plan allows no more products"),
            "{message}"
        );
    }
    let products = catalog(&app, "acme", &owner).await;
    let handles: Vec<&str> = products.keys().map(String::as_str).collect();
    assert_eq!(handles, ["a", "b", "old"]);
    app.stop().await;
}

#[tokio::test]
async fn when_a_batch_cannot_be_written_together_its_rows_run_alone_and_only_the_bad_one_fails() {
    let app = spawn_app().await;
    let (owner, _) = shop(&app, "acme", None).await;
    // A database that refuses one SKU: the batch's multi-row insert of
    // variants fails as a whole, as it would if a concurrent writer took a
    // SKU the batch read as free.
    let refuse = if app.db.is_sqlite() {
        vec![
            "CREATE TRIGGER refuse_boom BEFORE INSERT ON variants WHEN NEW.sku = 'BOOM-1' \
             BEGIN SELECT RAISE(ABORT, 'refused for the test'); END"
                .to_owned(),
        ]
    } else {
        vec![
            "CREATE FUNCTION refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
             IF NEW.sku = 'BOOM-1' THEN RAISE EXCEPTION 'refused for the test'; END IF; \
             RETURN NEW; END $$"
                .to_owned(),
            "CREATE TRIGGER refuse_boom BEFORE INSERT ON variants FOR EACH ROW \
             EXECUTE FUNCTION refuse_boom()"
                .to_owned(),
        ]
    };
    sql(&app, &refuse).await;

    let report = import(
        &app,
        "acme",
        &owner,
        &[
            line("p1", "P1", &[], &[("P1-A", 100, 1)]),
            line("p2", "P2", &[], &[("P2-A", 100, 2)]),
            line(
                "boom",
                "Boom",
                &[],
                &[("BOOM-0", 100, 3), ("BOOM-1", 100, 3)],
            ),
            line("p4", "P4", &[], &[("P4-A", 100, 4)]),
        ],
    )
    .await;
    let (created, updated, failed, errors) = summary(&report);
    assert_eq!((created, updated, failed), (3, 0, 1), "{report}");
    assert_eq!(errors[0].0, 3);
    assert!(
        errors[0].1.contains("could not be stored"),
        "{}",
        errors[0].1
    );
    let products = catalog(&app, "acme", &owner).await;
    let handles: Vec<&str> = products.keys().map(String::as_str).collect();
    assert_eq!(handles, ["p1", "p2", "p4"], "nothing of the refused row");
    assert_eq!(variants(&products["p4"]), [("P4-A".to_owned(), 4)]);
    app.stop().await;
}
