//! The storefront catalog: what guests see, filters, sorts, cursors (also
//! while products are being added), search ranking, tenant isolation and
//! the read cache.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use reqwest::Method;
use serde_json::{Value, json};
use storekeep_test_support::{TestApp, problem, spawn_app};
use tokio::sync::Notify;

use crate::catalog_support::{
    adjust, all_pages, body, create, create_category, ids, money, patch_product, png, product_json,
    shop, simple, store_get, titles, upload,
};
use crate::identity::admin;

fn with_status(title: &str, sku: &str, status: &str) -> Value {
    json!({"product": {"title": title, "status": status,
                       "variants": [{"sku": sku, "price": money(1000), "inventory": 1}]}})
}

#[tokio::test]
async fn only_active_products_are_on_the_storefront() {
    let app = spawn_app().await;
    let (owner, _) = shop(&app, "acme", None).await;
    let active = create(
        &app,
        "acme",
        &owner,
        &with_status("On sale", "A-1", "active"),
    )
    .await;
    let draft = create(
        &app,
        "acme",
        &owner,
        &with_status("Coming soon", "D-1", "draft"),
    )
    .await;
    let archived = create(
        &app,
        "acme",
        &owner,
        &with_status("Retired", "R-1", "archived"),
    )
    .await;

    let list = store_get(&app, "acme", "/api/v1/store/products").await;
    assert_eq!(list.status, 200);
    assert_eq!(titles(&list.body), ["On sale"]);
    assert_eq!(list.body["next_cursor"], Value::Null);
    let shown = &list.body["items"][0];
    assert_eq!(shown["id"], active["id"]);
    assert_eq!(shown["variants"], active["variants"]);

    for key in ["id", "handle"] {
        let by = |p: &Value| format!("/api/v1/store/products/{}", p[key].as_str().unwrap());
        let found = store_get(&app, "acme", &by(&active)).await;
        assert_eq!(found.status, 200, "active by {key}");
        assert_eq!(found.body["product"]["id"], active["id"]);
        for hidden in [&draft, &archived] {
            let resp = app
                .shop("acme", Method::GET, &by(hidden))
                .send()
                .await
                .unwrap();
            problem(resp, 404).await;
        }
    }
    let unknown = app
        .shop("acme", Method::GET, "/api/v1/store/products/no-such-thing")
        .send()
        .await
        .unwrap();
    problem(unknown, 404).await;

    // Archiving takes a product off the storefront; activating puts it on.
    let aid = active["id"].as_str().unwrap();
    let did = draft["id"].as_str().unwrap();
    patch_product(&app, "acme", &owner, aid, json!({"status": "archived"})).await;
    patch_product(&app, "acme", &owner, did, json!({"status": "active"})).await;
    let list = store_get(&app, "acme", "/api/v1/store/products").await;
    assert_eq!(titles(&list.body), ["Coming soon"]);
    assert_eq!(
        store_get(&app, "acme", &format!("/api/v1/store/products/{aid}"))
            .await
            .status,
        404
    );
    app.stop().await;
}

#[tokio::test]
async fn filters_select_by_category_tree_tag_price_and_stock() {
    let app = spawn_app().await;
    let (owner, _) = shop(&app, "acme", None).await;
    let electronics = create_category(&app, "acme", &owner, json!({"name": "Electronics"})).await;
    let laptops = create_category(
        &app,
        "acme",
        &owner,
        json!({"name": "Laptops", "parent_id": electronics["id"]}),
    )
    .await;
    let business = create_category(
        &app,
        "acme",
        &owner,
        json!({"name": "Business", "parent_id": laptops["id"]}),
    )
    .await;
    let product = |title: &str, cats: Vec<&Value>, tags: &[&str], variants: &[(&str, i64, i64)]| {
        let mut p = product_json(title, variants);
        p["product"]["categories"] =
            json!(cats.iter().map(|c| c["id"].clone()).collect::<Vec<_>>());
        p["product"]["tags"] = json!(tags);
        p
    };
    create(
        &app,
        "acme",
        &owner,
        &product(
            "Alpha laptop",
            vec![&business],
            &["sale"],
            &[("A-1", 500, 3), ("A-2", 5000, 0)],
        ),
    )
    .await;
    create(
        &app,
        "acme",
        &owner,
        &product(
            "Bravo phone",
            vec![&electronics],
            &["new"],
            &[("B-1", 800, 0)],
        ),
    )
    .await;
    create(
        &app,
        "acme",
        &owner,
        &product(
            "Charlie mug",
            vec![],
            &["Sale", "kitchen"],
            &[("C-1", 1500, 2)],
        ),
    )
    .await;
    create(
        &app,
        "acme",
        &owner,
        &product("Delta case", vec![&laptops], &[], &[("D-1", 3000, 0)]),
    )
    .await;
    let mut hidden = product("Echo draft", vec![&business], &["sale"], &[("E-1", 600, 9)]);
    hidden["product"]["status"] = json!("draft");
    create(&app, "acme", &owner, &hidden).await;

    let tree = store_get(&app, "acme", "/api/v1/store/categories").await;
    let links: Vec<(&str, &Value)> = tree.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["handle"].as_str().unwrap(), &c["parent_id"]))
        .collect();
    assert_eq!(
        links,
        [
            ("business", &laptops["id"]),
            ("electronics", &Value::Null),
            ("laptops", &electronics["id"]),
        ],
        "the tree, flat, linked by parent_id"
    );

    let eid = electronics["id"].as_str().unwrap();
    let cases: Vec<(String, Vec<&str>)> = vec![
        (
            String::new(),
            vec!["Delta case", "Charlie mug", "Bravo phone", "Alpha laptop"],
        ),
        (
            "category=electronics".into(),
            vec!["Delta case", "Bravo phone", "Alpha laptop"],
        ),
        (
            format!("category={eid}"),
            vec!["Delta case", "Bravo phone", "Alpha laptop"],
        ),
        (
            "category=laptops".into(),
            vec!["Delta case", "Alpha laptop"],
        ),
        ("category=business".into(), vec!["Alpha laptop"]),
        ("category=nowhere".into(), vec![]),
        ("tag=sale".into(), vec!["Charlie mug", "Alpha laptop"]),
        ("tag=SALE".into(), vec!["Charlie mug", "Alpha laptop"]),
        ("tag=kitchen".into(), vec!["Charlie mug"]),
        (
            "min_price=1000&max_price=6000".into(),
            vec!["Delta case", "Charlie mug", "Alpha laptop"],
        ),
        ("max_price=600".into(), vec!["Alpha laptop"]),
        ("min_price=4000".into(), vec!["Alpha laptop"]),
        ("min_price=800&max_price=800".into(), vec!["Bravo phone"]),
        ("min_price=501&max_price=799".into(), vec![]),
        ("in_stock=true".into(), vec!["Charlie mug", "Alpha laptop"]),
        (
            "category=electronics&in_stock=true".into(),
            vec!["Alpha laptop"],
        ),
        ("tag=sale&max_price=1000".into(), vec!["Alpha laptop"]),
    ];
    for (query, expected) in cases {
        let page = store_get(&app, "acme", &format!("/api/v1/store/products?{query}")).await;
        assert_eq!(page.status, 200, "{query}: {}", page.body);
        assert_eq!(titles(&page.body), expected, "{query}");
    }
    app.stop().await;
}

#[tokio::test]
async fn sorts_order_by_newest_price_and_title() {
    let app = spawn_app().await;
    let (owner, _) = shop(&app, "acme", None).await;
    for (title, variants) in [
        ("banana", vec![("BAN", 300)]),
        ("Apple", vec![("APL-1", 900), ("APL-2", 150)]),
        ("cherry", vec![("CHE", 200)]),
        ("apple pie", vec![("PIE", 1200)]),
        ("Zucchini", vec![("ZUC", 50)]),
    ] {
        let v: Vec<(&str, i64, i64)> = variants.iter().map(|(s, p)| (*s, *p, 1)).collect();
        create(&app, "acme", &owner, &product_json(title, &v)).await;
    }
    for (sort, expected) in [
        (
            "newest",
            ["Zucchini", "apple pie", "cherry", "Apple", "banana"],
        ),
        (
            "price_asc",
            ["Zucchini", "Apple", "cherry", "banana", "apple pie"],
        ),
        (
            "price_desc",
            ["apple pie", "banana", "cherry", "Apple", "Zucchini"],
        ),
        (
            "title",
            ["Apple", "apple pie", "banana", "cherry", "Zucchini"],
        ),
    ] {
        let page = store_get(&app, "acme", &format!("/api/v1/store/products?sort={sort}")).await;
        assert_eq!(titles(&page.body), expected, "sort={sort}");
        // The same order one item at a time, through cursors.
        let paged = all_pages(
            &app,
            "acme",
            &format!("/api/v1/store/products?sort={sort}&limit=1"),
            10,
        )
        .await;
        let paged: Vec<&str> = paged.iter().map(|p| p["title"].as_str().unwrap()).collect();
        assert_eq!(paged, expected, "sort={sort}, one per page");
    }
    let default = store_get(&app, "acme", "/api/v1/store/products").await;
    assert_eq!(
        titles(&default.body)[0],
        "Zucchini",
        "newest is the default"
    );
    let bad = app
        .shop("acme", Method::GET, "/api/v1/store/products?sort=popular")
        .send()
        .await
        .unwrap();
    problem(bad, 400).await;
    app.stop().await;
}

#[tokio::test]
async fn cursors_visit_every_product_exactly_once_in_every_sort() {
    let app = spawn_app().await;
    let (owner, _) = shop(&app, "acme", None).await;
    let mut all = HashSet::new();
    for i in 0..23 {
        // Repeated prices and titles, so pages split ties.
        let mut body = product_json(
            &format!("Item {}", i % 4),
            &[(&format!("SKU-{i}"), (i % 3) * 100 + 100, 1)],
        );
        body["product"]["handle"] = json!(format!("item-{i}"));
        let p = create(&app, "acme", &owner, &body).await;
        all.insert(p["id"].as_str().unwrap().to_owned());
    }
    for sort in ["newest", "price_asc", "price_desc", "title"] {
        let one_page = store_get(
            &app,
            "acme",
            &format!("/api/v1/store/products?sort={sort}&limit=200"),
        )
        .await;
        let expected = ids(&one_page.body);
        let paged: Vec<String> = all_pages(
            &app,
            "acme",
            &format!("/api/v1/store/products?sort={sort}&limit=7"),
            10,
        )
        .await
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect();
        assert_eq!(paged.len(), 23, "sort={sort}");
        assert_eq!(
            paged.iter().collect::<HashSet<_>>().len(),
            23,
            "no repeats, sort={sort}"
        );
        assert_eq!(
            paged.iter().cloned().collect::<HashSet<_>>(),
            all,
            "nothing missing, sort={sort}"
        );
        assert_eq!(
            paged, expected,
            "pages keep the one-page order, sort={sort}"
        );
    }
    app.stop().await;
}

/// Creates active products through `addr`'s admin API until `stop`, at
/// most `max`, bumping `made` and notifying after each one.
#[allow(clippy::too_many_arguments)]
async fn keep_creating(
    client: reqwest::Client,
    base: String,
    token: String,
    stop: Arc<AtomicBool>,
    made: Arc<AtomicUsize>,
    notify: Arc<Notify>,
    prefix: String,
    max: usize,
) -> Vec<String> {
    let mut created = Vec::new();
    for k in 0..max {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        // Prices across the originals' range, some equal to theirs.
        let price = ((k * 53) % 10) as i64 * 100 + 100;
        let resp = client
            .post(format!("{base}/api/v1/admin/products"))
            .header("x-tenant", "acme")
            .bearer_auth(&token)
            .json(&product_json(
                &format!("{prefix} {k}"),
                &[(&format!("{}-{k}", prefix.replace(' ', "-")), price, 1)],
            ))
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let p: Value = resp.json().await.unwrap();
        assert_eq!(status, 201, "{p}");
        created.push(p["product"]["id"].as_str().unwrap().to_owned());
        made.fetch_add(1, Ordering::SeqCst);
        notify.notify_waiters();
    }
    made.fetch_add(1_000_000, Ordering::SeqCst);
    notify.notify_waiters();
    created
}

/// Pages through `sort` with limit 5 while another task adds products;
/// every product that existed before (at least `originals`) must be seen
/// exactly once, and nothing twice.
async fn page_while_adding(app: &TestApp, owner: &str, sort: &str, originals: &HashSet<String>) {
    let existing: HashSet<String> = all_pages(app, "acme", "/api/v1/store/products?limit=200", 100)
        .await
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(existing.is_superset(originals));
    let stop = Arc::new(AtomicBool::new(false));
    let made = Arc::new(AtomicUsize::new(0));
    let notify = Arc::new(Notify::new());
    let writer = tokio::spawn(keep_creating(
        app.client.clone(),
        format!("http://{}", app.addr),
        owner.to_owned(),
        stop.clone(),
        made.clone(),
        notify.clone(),
        format!("New {sort}"),
        200,
    ));

    let mut seen: Vec<String> = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    let mut last = 0;
    loop {
        // Wait until the writer has added another product since the last
        // page, so every page is read after a concurrent insert.
        while pages > 0 && made.load(Ordering::SeqCst) <= last {
            let woken = notify.notified();
            if made.load(Ordering::SeqCst) > last {
                break;
            }
            tokio::time::timeout(std::time::Duration::from_secs(30), woken)
                .await
                .expect("the writer keeps adding products");
        }
        last = made.load(Ordering::SeqCst);
        let path = match &after {
            Some(c) => format!("/api/v1/store/products?sort={sort}&limit=5&after={c}"),
            None => format!("/api/v1/store/products?sort={sort}&limit=5"),
        };
        let page = store_get(app, "acme", &path).await;
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        seen.extend(ids(&page.body));
        pages += 1;
        match page.body["next_cursor"].as_str() {
            Some(c) => after = Some(c.to_owned()),
            None => break,
        }
        assert!(pages < 200, "sort={sort} does not end");
    }
    stop.store(true, Ordering::SeqCst);
    let added: HashSet<String> = writer.await.unwrap().into_iter().collect();
    assert!(
        added.len() >= pages - 1,
        "products were added between pages"
    );

    let mut counts: HashMap<&String, usize> = HashMap::new();
    for id in &seen {
        *counts.entry(id).or_default() += 1;
    }
    let repeated: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        repeated.is_empty(),
        "sort={sort}: items repeated: {repeated:?}"
    );
    for id in &existing {
        assert_eq!(
            counts.get(id),
            Some(&1),
            "sort={sort}: {id}, there before paging, seen once"
        );
    }
    for id in &seen {
        assert!(
            existing.contains(id) || added.contains(id),
            "sort={sort}: unknown item {id}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_neither_skip_nor_repeat_while_products_are_added() {
    let app = spawn_app().await;
    let (owner, _) = shop(&app, "acme", None).await;
    let mut originals = HashSet::new();
    for i in 0..30 {
        let price = ((i * 37) % 10) * 100 + 100;
        let p = simple(
            &app,
            "acme",
            &owner,
            &format!("Original {i}"),
            &format!("ORIG-{i}"),
            price,
        )
        .await;
        originals.insert(p["id"].as_str().unwrap().to_owned());
    }
    page_while_adding(&app, &owner, "newest", &originals).await;
    page_while_adding(&app, &owner, "price_asc", &originals).await;
    app.stop().await;
}

#[tokio::test]
async fn malformed_limits_and_foreign_cursors_are_bad_requests() {
    let app = spawn_app().await;
    let (owner, _) = shop(&app, "acme", None).await;
    for i in 0..3 {
        simple(
            &app,
            "acme",
            &owner,
            &format!("P{i}"),
            &format!("P-{i}"),
            100 * i,
        )
        .await;
    }
    let first = store_get(&app, "acme", "/api/v1/store/products?limit=1").await;
    let newest_cursor = first.body["next_cursor"].as_str().unwrap().to_owned();
    let priced = store_get(
        &app,
        "acme",
        "/api/v1/store/products?limit=1&sort=price_asc",
    )
    .await;
    let price_cursor = priced.body["next_cursor"].as_str().unwrap().to_owned();

    for query in [
        format!("sort=price_asc&after={newest_cursor}"),
        format!("sort=title&after={newest_cursor}"),
        format!("after={price_cursor}"),
        "after=not-a-cursor".to_owned(),
        "limit=0".to_owned(),
        "limit=201".to_owned(),
        "limit=ten".to_owned(),
        "limit=-1".to_owned(),
        "min_price=-5".to_owned(),
        "in_stock=maybe".to_owned(),
    ] {
        let resp = app
            .shop(
                "acme",
                Method::GET,
                &format!("/api/v1/store/products?{query}"),
            )
            .send()
            .await
            .unwrap();
        problem(resp, 400).await;
    }
    let max = store_get(&app, "acme", "/api/v1/store/products?limit=200").await;
    assert_eq!(max.status, 200);
    let own = store_get(
        &app,
        "acme",
        &format!("/api/v1/store/products?limit=1&after={newest_cursor}"),
    )
    .await;
    assert_eq!(own.status, 200);
    for q in ["", "%20%20", "!!!"] {
        let resp = app
            .shop("acme", Method::GET, &format!("/api/v1/store/search?q={q}"))
            .send()
            .await
            .unwrap();
        problem(resp, 400).await;
    }
    app.stop().await;
}

#[tokio::test]
async fn search_ranks_title_words_over_title_prefixes_over_tags_over_descriptions() {
    let app = spawn_app().await;
    let (owner, _) = shop(&app, "acme", None).await;
    let make = |title: &str, tags: &[&str], description: &str, sku: &str, status: &str| {
        json!({"product": {"title": title, "tags": tags, "description": description,
                           "status": status,
                           "variants": [{"sku": sku, "price": money(1000)}]}})
    };
    // Created best match first, so "newest first" alone would give the
    // opposite order.
    for (title, tags, description, sku, status) in [
        (
            "Lenovo ThinkPad T480",
            vec![],
            "A business laptop.",
            "S-1",
            "active",
        ),
        (
            "ThinkPads refurbished bundle",
            vec![],
            "Three laptops.",
            "S-2",
            "active",
        ),
        (
            "Laptop bag",
            vec!["thinkpad", "bags"],
            "Fits 14 inch laptops.",
            "S-3",
            "active",
        ),
        (
            "Docking station",
            vec![],
            "Works with any ThinkPad, USB-C.",
            "S-4",
            "active",
        ),
        (
            "ThinkPad X1 Carbon",
            vec![],
            "Not yet on sale.",
            "S-5",
            "draft",
        ),
        (
            "ThinkPad T420",
            vec!["thinkpad"],
            "Retired.",
            "S-6",
            "archived",
        ),
        ("Desk lamp", vec!["lighting"], "Bright.", "S-7", "active"),
    ] {
        create(
            &app,
            "acme",
            &owner,
            &make(title, &tags, description, sku, status),
        )
        .await;
    }
    let ranked = [
        "Lenovo ThinkPad T480",
        "ThinkPads refurbished bundle",
        "Laptop bag",
        "Docking station",
    ];
    for q in ["thinkpad", "ThinkPad", "%20thinkpad%20"] {
        let found = store_get(&app, "acme", &format!("/api/v1/store/search?q={q}")).await;
        assert_eq!(found.status, 200, "{}", found.body);
        assert_eq!(titles(&found.body), ranked, "q={q}");
        assert_eq!(found.body["next_cursor"], Value::Null);
    }
    let prefix = store_get(&app, "acme", "/api/v1/store/search?q=think").await;
    let mut prefixed = titles(&prefix.body);
    prefixed.sort();
    let mut expected: Vec<String> = ranked.iter().map(|s| (*s).to_owned()).collect();
    expected.sort();
    assert_eq!(prefixed, expected, "a word prefix matches");

    for (q, expected) in [
        ("thinkpad%20t480", vec!["Lenovo ThinkPad T480"]),
        ("thinkpad+bag", vec!["Laptop bag"]),
        ("usb%20thinkpad", vec!["Docking station"]),
        ("thinkpad%20carbon", vec![]),
        ("thinkpad%20nonexistent", vec![]),
        ("lamp", vec!["Desk lamp"]),
    ] {
        let found = store_get(&app, "acme", &format!("/api/v1/store/search?q={q}")).await;
        assert_eq!(titles(&found.body), expected, "q={q}");
    }

    let first = store_get(&app, "acme", "/api/v1/store/search?q=thinkpad&limit=3").await;
    assert_eq!(titles(&first.body), ranked[..3]);
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let rest = store_get(
        &app,
        "acme",
        &format!("/api/v1/store/search?q=thinkpad&limit=3&after={cursor}"),
    )
    .await;
    assert_eq!(titles(&rest.body), ranked[3..]);
    assert_eq!(rest.body["next_cursor"], Value::Null);
    app.stop().await;
}

#[tokio::test]
async fn a_shop_neither_sees_nor_touches_another_shops_catalog() {
    let app = spawn_app().await;
    let (acme, _) = shop(&app, "acme", None).await;
    let (other, _) = shop(&app, "other", None).await;
    let category = create_category(&app, "acme", &acme, json!({"name": "Secret stuff"})).await;
    let mut body_json = product_json("Acme rocket skates", &[("ROCKET-1", 9900, 5)]);
    body_json["product"]["categories"] = json!([category["id"]]);
    body_json["product"]["tags"] = json!(["rocket"]);
    let product = create(&app, "acme", &acme, &body_json).await;
    let image = upload(
        &app,
        "acme",
        &acme,
        product["id"].as_str().unwrap(),
        &png(4, 3),
        "image/png",
    )
    .await;
    assert_eq!(image.status(), 201);
    let image = body(image).await["image"].clone();
    let pid = product["id"].as_str().unwrap();
    let vid = product["variants"][0]["id"].as_str().unwrap();
    let before = body(
        admin(
            &app,
            "acme",
            &acme,
            Method::GET,
            &format!("/api/v1/admin/products/{pid}"),
        )
        .send()
        .await
        .unwrap(),
    )
    .await["product"]
        .clone();
    simple(&app, "other", &other, "Other thing", "OTHER-1", 100).await;

    // Acme's list is cached first, so a shared cache would leak it.
    assert_eq!(
        titles(&store_get(&app, "acme", "/api/v1/store/products").await.body),
        ["Acme rocket skates"]
    );
    assert_eq!(
        titles(
            &store_get(&app, "other", "/api/v1/store/products")
                .await
                .body
        ),
        ["Other thing"]
    );
    for path in [
        format!("/api/v1/store/products/{pid}"),
        "/api/v1/store/products/acme-rocket-skates".to_owned(),
    ] {
        assert_eq!(store_get(&app, "other", &path).await.status, 404, "{path}");
    }
    for path in [
        "/api/v1/store/search?q=rocket",
        "/api/v1/store/products?tag=rocket",
        "/api/v1/store/products?category=secret-stuff",
    ] {
        assert_eq!(
            titles(&store_get(&app, "other", path).await.body),
            Vec::<String>::new(),
            "{path}"
        );
    }
    let cats = store_get(&app, "other", "/api/v1/store/categories").await;
    assert_eq!(cats.body["items"], json!([]));

    // Other's staff, in its own shop, get 404 for everything of Acme's.
    let cid = category["id"].as_str().unwrap();
    let iid = image["id"].as_str().unwrap();
    let attempts: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, format!("/api/v1/admin/products/{pid}"), None),
        (
            Method::PATCH,
            format!("/api/v1/admin/products/{pid}"),
            Some(json!({"product": {"title": "Stolen"}})),
        ),
        (
            Method::DELETE,
            format!("/api/v1/admin/products/{pid}"),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/admin/products/{pid}/variants"),
            Some(json!({"variant": {"sku": "INJECTED", "price": money(1)}})),
        ),
        (
            Method::PATCH,
            format!("/api/v1/admin/variants/{vid}"),
            Some(json!({"variant": {"price": money(1)}})),
        ),
        (
            Method::DELETE,
            format!("/api/v1/admin/variants/{vid}"),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/admin/variants/{vid}/inventory"),
            Some(json!({"delta": -5, "reason": "theft"})),
        ),
        (
            Method::GET,
            format!("/api/v1/admin/variants/{vid}/inventory"),
            None,
        ),
        (Method::DELETE, format!("/api/v1/admin/images/{iid}"), None),
        (
            Method::PATCH,
            format!("/api/v1/admin/categories/{cid}"),
            Some(json!({"category": {"name": "Mine"}})),
        ),
        (
            Method::DELETE,
            format!("/api/v1/admin/categories/{cid}"),
            None,
        ),
    ];
    for (method, path, json_body) in &attempts {
        let mut req = admin(&app, "other", &other, method.clone(), path);
        if let Some(b) = json_body {
            req = req.json(b);
        }
        let resp = req.send().await.unwrap();
        problem(resp, 404).await;
    }
    let upload_there = upload(&app, "other", &other, pid, &png(2, 2), "image/png").await;
    problem(upload_there, 404).await;
    let filed = admin(
        &app,
        "other",
        &other,
        Method::POST,
        "/api/v1/admin/products",
    )
    .json(&json!({"product": {"title": "Sneaky", "categories": [cid],
                                  "variants": [{"sku": "SN-1", "price": money(1)}]}}))
    .send()
    .await
    .unwrap();
    assert_eq!(
        problem(filed, 422).await["errors"][0]["field"],
        "categories"
    );
    let admin_list = body(
        admin(&app, "other", &other, Method::GET, "/api/v1/admin/products")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(titles(&admin_list), ["Other thing"]);

    // Other's token on Acme's admin API is refused outright.
    for (method, path, json_body) in &attempts {
        let mut req = admin(&app, "acme", &other, method.clone(), path);
        if let Some(b) = json_body {
            req = req.json(b);
        }
        let resp = req.send().await.unwrap();
        problem(resp, 401).await;
    }
    let upload_as_other = upload(&app, "acme", &other, pid, &png(2, 2), "image/png").await;
    problem(upload_as_other, 401).await;

    let after = body(
        admin(
            &app,
            "acme",
            &acme,
            Method::GET,
            &format!("/api/v1/admin/products/{pid}"),
        )
        .send()
        .await
        .unwrap(),
    )
    .await["product"]
        .clone();
    assert_eq!(after, before, "nothing of Acme's changed");
    let ledger = body(
        admin(
            &app,
            "acme",
            &acme,
            Method::GET,
            &format!("/api/v1/admin/variants/{vid}/inventory"),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(ledger["items"].as_array().unwrap().len(), 1);
    let image_url = image["url"].as_str().unwrap();
    assert_eq!(
        app.get(image_url).await.status(),
        200,
        "the image is still there"
    );
    app.stop().await;
}

#[tokio::test]
async fn cached_storefront_reads_show_each_write_at_once() {
    let app = spawn_app().await;
    let (owner, _) = shop(&app, "acme", None).await;
    let mut p = product_json("Lenovo ThinkPad T480", &[("T480", 34900, 0)]);
    p["product"]["handle"] = json!("t480");
    let product = create(&app, "acme", &owner, &p).await;
    let pid = product["id"].as_str().unwrap();
    let vid = product["variants"][0]["id"].as_str().unwrap();

    let list = "/api/v1/store/products";
    let page = "/api/v1/store/products/t480";
    let search = "/api/v1/store/search?q=thinkpad";
    let in_stock = "/api/v1/store/products?in_stock=true";
    let warm = |path: &'static str| {
        let app = &app;
        async move {
            let first = store_get(app, "acme", path).await;
            assert_eq!(
                (first.status, first.cache.as_str()),
                (200, "MISS"),
                "{path}"
            );
            let second = store_get(app, "acme", path).await;
            assert_eq!(second.cache, "HIT", "{path}");
            assert_eq!(second.body, first.body, "{path}");
            second.body
        }
    };
    assert_eq!(titles(&warm(list).await), ["Lenovo ThinkPad T480"]);
    assert_eq!(warm(page).await["product"]["title"], "Lenovo ThinkPad T480");
    assert_eq!(titles(&warm(search).await), ["Lenovo ThinkPad T480"]);
    assert_eq!(titles(&warm(in_stock).await), Vec::<String>::new());

    patch_product(&app, "acme", &owner, pid, json!({"title": "Lenovo Yoga 7"})).await;
    let fresh = store_get(&app, "acme", list).await;
    assert_eq!(
        (fresh.cache.as_str(), titles(&fresh.body)),
        ("MISS", vec!["Lenovo Yoga 7".to_owned()])
    );
    let fresh = store_get(&app, "acme", page).await;
    assert_eq!(fresh.cache, "MISS");
    assert_eq!(fresh.body["product"]["title"], "Lenovo Yoga 7");
    let fresh = store_get(&app, "acme", search).await;
    assert_eq!(fresh.cache, "MISS");
    assert_eq!(
        titles(&fresh.body),
        Vec::<String>::new(),
        "the old title no longer matches"
    );
    let yoga = store_get(&app, "acme", "/api/v1/store/search?q=yoga").await;
    assert_eq!(titles(&yoga.body), ["Lenovo Yoga 7"]);
    assert_eq!(
        store_get(&app, "acme", list).await.cache,
        "HIT",
        "cached again"
    );

    assert_eq!(titles(&warm(in_stock).await), Vec::<String>::new());
    assert_eq!(
        adjust(&app, "acme", &owner, vid, 2, "delivery")
            .await
            .status(),
        200
    );
    let stocked = store_get(&app, "acme", in_stock).await;
    assert_eq!(titles(&stocked.body), ["Lenovo Yoga 7"], "in stock at once");
    let shown = store_get(&app, "acme", page).await;
    assert_eq!(
        shown.body["product"]["variants"][0]["inventory"]["available"],
        2
    );
    assert_eq!(
        adjust(&app, "acme", &owner, vid, -2, "sold").await.status(),
        200
    );
    assert_eq!(
        titles(&store_get(&app, "acme", in_stock).await.body),
        Vec::<String>::new()
    );

    let variant_patch = admin(
        &app,
        "acme",
        &owner,
        Method::PATCH,
        &format!("/api/v1/admin/variants/{vid}"),
    )
    .json(&json!({"variant": {"price": money(29900)}}))
    .send()
    .await
    .unwrap();
    assert_eq!(variant_patch.status(), 200);
    let repriced = store_get(&app, "acme", page).await;
    assert_eq!(
        repriced.body["product"]["variants"][0]["price"],
        money(29900)
    );

    let cats = "/api/v1/store/categories";
    assert_eq!(warm(cats).await["items"], json!([]));
    create_category(&app, "acme", &owner, json!({"name": "Laptops"})).await;
    let cats_now = store_get(&app, "acme", cats).await;
    assert_eq!(cats_now.body["items"][0]["handle"], "laptops");

    warm(page).await;
    warm(list).await;
    let deleted = admin(
        &app,
        "acme",
        &owner,
        Method::DELETE,
        &format!("/api/v1/admin/products/{pid}"),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(deleted.status(), 204);
    assert_eq!(store_get(&app, "acme", page).await.status, 404);
    assert_eq!(
        titles(&store_get(&app, "acme", list).await.body),
        Vec::<String>::new()
    );
    app.stop().await;
}

#[tokio::test]
async fn search_pages_neither_skip_nor_repeat_while_products_are_added() {
    let app = spawn_app().await;
    let (owner, _) = shop(&app, "acme", None).await;
    let mut originals = HashSet::new();
    for i in 0..12 {
        let p = simple(
            &app,
            "acme",
            &owner,
            &format!("Lamp {i}"),
            &format!("LAMP-{i}"),
            1000,
        )
        .await;
        originals.insert(p["id"].as_str().unwrap().to_owned());
    }

    let mut seen: Vec<String> = Vec::new();
    let mut after: Option<String> = None;
    let mut added = 0;
    loop {
        let path = match &after {
            Some(c) => format!("/api/v1/store/search?q=lamp&limit=5&after={c}"),
            None => "/api/v1/store/search?q=lamp&limit=5".to_owned(),
        };
        let page = store_get(&app, "acme", &path).await;
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        seen.extend(ids(&page.body));
        // Between pages, two more matching products are added.
        for _ in 0..2 {
            simple(
                &app,
                "acme",
                &owner,
                &format!("Lamp new {added}"),
                &format!("LAMP-NEW-{added}"),
                1000,
            )
            .await;
            added += 1;
        }
        match page.body["next_cursor"].as_str() {
            Some(c) => after = Some(c.to_owned()),
            None => break,
        }
        assert!(added < 100, "search paging does not end");
    }
    let mut counts: HashMap<&String, usize> = HashMap::new();
    for id in &seen {
        *counts.entry(id).or_default() += 1;
    }
    let repeated = counts.values().filter(|n| **n > 1).count();
    assert_eq!(repeated, 0, "{repeated} items were shown twice");
    for id in &originals {
        assert_eq!(
            counts.get(id),
            Some(&1),
            "{id}, there before paging, seen once"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn search_matches_words_beyond_ascii_alike_on_every_database() {
    let app = spawn_app().await;
    let (owner, _) = shop(&app, "acme", None).await;
    let mut mug = product_json("Café crème mug", &[("CAFE-1", 1200, 1)]);
    mug["product"]["handle"] = json!("cafe-creme-mug");
    create(&app, "acme", &owner, &mug).await;
    let mut bowl = product_json("Müsli bowl", &[("MUESLI-1", 900, 1)]);
    bowl["product"]["handle"] = json!("muesli-bowl");
    bowl["product"]["description"] = json!("Größe: 500 ml, naïve glaze.");
    create(&app, "acme", &owner, &bowl).await;
    let mut model = product_json("東京タワー 模型", &[("TOKYO-1", 5000, 1)]);
    model["product"]["handle"] = json!("tokyo-tower-model");
    create(&app, "acme", &owner, &model).await;
    let mut plain = product_json("Cafeteria tray", &[("TRAY-1", 300, 1)]);
    plain["product"]["handle"] = json!("cafeteria-tray");
    create(&app, "acme", &owner, &plain).await;

    for (q, expected) in [
        ("café", vec!["Café crème mug"]),
        ("CAFÉ", vec!["Café crème mug"]),
        ("crème", vec!["Café crème mug"]),
        ("cafe", vec!["Cafeteria tray"]),
        ("caf", vec!["Cafeteria tray", "Café crème mug"]),
        ("müsli", vec!["Müsli bowl"]),
        ("mü", vec!["Müsli bowl"]),
        ("größe", vec!["Müsli bowl"]),
        ("naïve", vec!["Müsli bowl"]),
        ("東京タワー", vec!["東京タワー 模型"]),
        ("東京", vec!["東京タワー 模型"]),
        ("模型", vec!["東京タワー 模型"]),
    ] {
        let found = app
            .shop("acme", Method::GET, "/api/v1/store/search")
            .query(&[("q", q)])
            .send()
            .await
            .unwrap();
        assert_eq!(found.status(), 200, "q={q}");
        let mut got = titles(&body(found).await);
        got.sort();
        let mut expected: Vec<String> = expected.iter().map(|s| (*s).to_owned()).collect();
        expected.sort();
        assert_eq!(got, expected, "q={q}");
    }
    app.stop().await;
}

#[tokio::test]
async fn a_forged_title_cursor_is_a_bad_request_on_every_database() {
    let app = spawn_app().await;
    let (owner, _) = shop(&app, "acme", None).await;
    let product = simple(&app, "acme", &owner, "Anything", "ANY-1", 100).await;
    // `t.` + hex of the key + `.` + id: a key holding a NUL byte.
    let path = format!(
        "/api/v1/store/products?sort=title&after=t.00.{}",
        product["id"].as_str().unwrap()
    );
    let resp = app.shop("acme", Method::GET, &path).send().await.unwrap();
    problem(resp, 400).await;
    app.stop().await;
}
