//! The admin catalog API: products, variants, inventory, categories, plan
//! limits, permissions and the audit trail.

use reqwest::Method;
use serde_json::{Value, json};
use storekeep_test_support::{problem, spawn_app};

use crate::catalog_support::{
    actor_of, adjust, body, create, create_category, create_plan, fields, money, product_json,
    shop, simple,
};
use crate::identity::{admin, cli_staff, token};

fn laptop() -> Value {
    json!({"product": {
        "title": "Lenovo ThinkPad T480",
        "description": "A sturdy 14-inch business laptop.",
        "tags": ["Laptop", "refurbished"],
        "variants": [
            {"sku": "T480-8", "options": {"RAM": "8 GB"}, "price": money(34900), "inventory": 3},
            {"sku": "T480-16", "options": {"RAM": "16 GB"}, "price": money(39900),
             "compare_at_price": money(44900)},
        ],
    }})
}

#[tokio::test]
async fn a_product_is_created_read_patched_and_deleted() {
    let app = spawn_app().await;
    let (owner, _) = shop(&app, "acme", None).await;
    let laptops = create_category(&app, "acme", &owner, json!({"name": "Laptops"})).await;
    let sale = create_category(&app, "acme", &owner, json!({"name": "Sale"})).await;

    let resp = admin(&app, "acme", &owner, Method::POST, "/api/v1/admin/products")
        .json(&laptop())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    let created = body(resp).await["product"].clone();
    let id = created["id"].as_str().unwrap();
    assert_eq!(location, format!("/api/v1/admin/products/{id}"));
    assert_eq!(
        created["handle"], "lenovo-thinkpad-t480",
        "made from the title"
    );
    assert_eq!(created["title"], "Lenovo ThinkPad T480");
    assert_eq!(created["status"], "draft", "the default status");
    assert_eq!(created["tags"], json!(["laptop", "refurbished"]));
    assert_eq!(created["categories"], json!([]));
    assert_eq!(created["images"], json!([]));
    let variants = created["variants"].as_array().unwrap();
    assert_eq!(variants.len(), 2);
    assert_eq!(variants[0]["sku"], "T480-8");
    assert_eq!(
        variants[0]["title"], "8 GB",
        "defaults to the option values"
    );
    assert_eq!(variants[0]["product_id"], id);
    assert_eq!(variants[0]["price"], money(34900));
    assert_eq!(variants[0]["compare_at_price"], Value::Null);
    assert_eq!(
        variants[0]["inventory"],
        json!({"on_hand": 3, "reserved": 0, "available": 3})
    );
    assert_eq!(variants[1]["compare_at_price"], money(44900));
    assert_eq!(
        variants[1]["inventory"],
        json!({"on_hand": 0, "reserved": 0, "available": 0})
    );
    assert_eq!(
        (&variants[0]["position"], &variants[1]["position"]),
        (&json!(0), &json!(1))
    );

    let fetched = body(
        admin(&app, "acme", &owner, Method::GET, &location)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(fetched["product"], created);

    let patched = body(
        admin(&app, "acme", &owner, Method::PATCH, &location)
            .json(&json!({"product": {
                "title": "ThinkPad T480 (refurbished)", "status": "active",
                "tags": ["Sale"], "categories": [laptops["id"], sale["id"]],
            }}))
            .send()
            .await
            .unwrap(),
    )
    .await["product"]
        .clone();
    assert_eq!(patched["title"], "ThinkPad T480 (refurbished)");
    assert_eq!(
        patched["handle"], "lenovo-thinkpad-t480",
        "the handle stays"
    );
    assert_eq!(patched["status"], "active");
    assert_eq!(patched["tags"], json!(["sale"]), "tags are replaced");
    assert_eq!(patched["categories"], json!([laptops["id"], sale["id"]]));
    assert_eq!(
        patched["description"], created["description"],
        "absent fields stay"
    );
    assert_eq!(patched["variants"], created["variants"]);

    let replaced = body(
        admin(&app, "acme", &owner, Method::PATCH, &location)
            .json(&json!({"product": {"categories": [sale["id"]]}}))
            .send()
            .await
            .unwrap(),
    )
    .await["product"]
        .clone();
    assert_eq!(
        replaced["categories"],
        json!([sale["id"]]),
        "categories are replaced"
    );
    assert_eq!(replaced["tags"], json!(["sale"]));

    let listed = body(
        admin(
            &app,
            "acme",
            &owner,
            Method::GET,
            "/api/v1/admin/products?status=active",
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(listed["items"][0]["id"], id);
    let drafts = body(
        admin(
            &app,
            "acme",
            &owner,
            Method::GET,
            "/api/v1/admin/products?status=draft",
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(drafts["items"], json!([]));

    let deleted = admin(&app, "acme", &owner, Method::DELETE, &location)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    for method in [Method::GET, Method::DELETE] {
        let gone = admin(&app, "acme", &owner, method, &location)
            .send()
            .await
            .unwrap();
        problem(gone, 404).await;
    }
    let variant = variants[0]["id"].as_str().unwrap();
    let orphan = admin(
        &app,
        "acme",
        &owner,
        Method::PATCH,
        &format!("/api/v1/admin/variants/{variant}"),
    )
    .json(&json!({"variant": {"title": "x"}}))
    .send()
    .await
    .unwrap();
    problem(orphan, 404).await;
    app.stop().await;
}

#[tokio::test]
async fn invalid_products_are_refused_with_every_bad_field_listed_and_nothing_written() {
    let app = spawn_app().await;
    let (owner, _) = shop(&app, "acme", None).await;
    let post = |body: Value| {
        admin(&app, "acme", &owner, Method::POST, "/api/v1/admin/products")
            .json(&body)
            .send()
    };

    let many = post(json!({"product": {
        "handle": "fine-handle",
        "title": "   ",
        "status": "published",
        "variants": [
            {"sku": "bad sku!", "price": money(100)},
            {"sku": "OK-1", "price": money(-5)},
            {"sku": "OK-2", "price": {"amount": 100, "currency": "EUR"}},
            {"sku": "OK-1", "price": money(100)},
        ],
    }}))
    .await
    .unwrap();
    let p = problem(many, 422).await;
    assert_eq!(
        fields(&p),
        [
            "status",
            "title",
            "variants[0].sku",
            "variants[1].price",
            "variants[2].price",
            "variants[3].sku",
        ],
        "{p}"
    );
    let currency = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["field"] == "variants[2].price")
        .unwrap();
    assert!(
        currency["message"].as_str().unwrap().contains("USD"),
        "names the shop's currency: {currency}"
    );

    let no_variants = post(json!({"product": {"title": "Nothing to sell", "variants": []}}))
        .await
        .unwrap();
    assert_eq!(fields(&problem(no_variants, 422).await), ["variants"]);

    let typo = post(json!({"product": {
        "title": "Thing", "colour": "red", "variants": [{"sku": "T-1", "price": money(100)}],
    }}))
    .await
    .unwrap();
    let p = problem(typo, 422).await;
    assert!(
        p["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("colour"),
        "{p}"
    );

    let list = body(
        admin(&app, "acme", &owner, Method::GET, "/api/v1/admin/products")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(list["items"], json!([]), "nothing was written");
    app.stop().await;
}

#[tokio::test]
async fn handles_and_skus_are_unique_within_a_shop() {
    let app = spawn_app().await;
    let (owner, _) = shop(&app, "acme", None).await;
    let (other_owner, _) = shop(&app, "other", None).await;
    let widget = simple(&app, "acme", &owner, "Widget", "W-1", 500).await;
    assert_eq!(widget["handle"], "widget");

    let same_handle = admin(&app, "acme", &owner, Method::POST, "/api/v1/admin/products")
        .json(&product_json("Widget", &[("W-2", 500, 0)]))
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem(same_handle, 409).await["errors"][0]["field"],
        "handle"
    );

    let taken_sku = admin(&app, "acme", &owner, Method::POST, "/api/v1/admin/products")
        .json(&product_json("Gadget", &[("G-1", 500, 0), ("W-1", 700, 0)]))
        .send()
        .await
        .unwrap();
    assert_eq!(problem(taken_sku, 409).await["errors"][0]["field"], "sku");

    let gadget = simple(&app, "acme", &owner, "Gadget", "G-1", 500).await;
    let gid = gadget["id"].as_str().unwrap();
    let add = admin(
        &app,
        "acme",
        &owner,
        Method::POST,
        &format!("/api/v1/admin/products/{gid}/variants"),
    )
    .json(&json!({"variant": {"sku": "W-1", "price": money(100)}}))
    .send()
    .await
    .unwrap();
    assert_eq!(problem(add, 409).await["errors"][0]["field"], "sku");
    let gvariant = gadget["variants"][0]["id"].as_str().unwrap();
    let rename = admin(
        &app,
        "acme",
        &owner,
        Method::PATCH,
        &format!("/api/v1/admin/variants/{gvariant}"),
    )
    .json(&json!({"variant": {"sku": "W-1"}}))
    .send()
    .await
    .unwrap();
    assert_eq!(problem(rename, 409).await["errors"][0]["field"], "sku");
    let rehandle = admin(
        &app,
        "acme",
        &owner,
        Method::PATCH,
        &format!("/api/v1/admin/products/{gid}"),
    )
    .json(&json!({"product": {"handle": "widget"}}))
    .send()
    .await
    .unwrap();
    assert_eq!(problem(rehandle, 409).await["errors"][0]["field"], "handle");

    // Another shop may use the same handle and SKU.
    let elsewhere = simple(&app, "other", &other_owner, "Widget", "W-1", 900).await;
    assert_eq!(elsewhere["handle"], "widget");
    let unchanged = body(
        admin(
            &app,
            "acme",
            &owner,
            Method::GET,
            &format!("/api/v1/admin/products/{gid}"),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(
        unchanged["product"], gadget,
        "the refused changes left nothing behind"
    );
    app.stop().await;
}

#[tokio::test]
async fn variants_are_added_changed_and_removed_but_never_the_last() {
    let app = spawn_app().await;
    let (owner, _) = shop(&app, "acme", None).await;
    let product = simple(&app, "acme", &owner, "Desk lamp", "LAMP-1", 2500).await;
    let pid = product["id"].as_str().unwrap();
    let first = product["variants"][0]["id"].as_str().unwrap().to_owned();

    let resp = admin(
        &app,
        "acme",
        &owner,
        Method::POST,
        &format!("/api/v1/admin/products/{pid}/variants"),
    )
    .json(&json!({"variant": {
        "sku": "LAMP-2", "options": {"Colour": "Red"}, "price": money(2700), "inventory": 4,
    }}))
    .send()
    .await
    .unwrap();
    assert_eq!(resp.status(), 201);
    let added = body(resp).await["variant"].clone();
    assert_eq!(added["product_id"], pid);
    assert_eq!(added["title"], "Red");
    assert_eq!(added["position"], 1);
    assert_eq!(
        added["inventory"],
        json!({"on_hand": 4, "reserved": 0, "available": 4})
    );
    let second = added["id"].as_str().unwrap().to_owned();

    let patch = |id: String, v: Value| {
        admin(
            &app,
            "acme",
            &owner,
            Method::PATCH,
            &format!("/api/v1/admin/variants/{id}"),
        )
        .json(&json!({ "variant": v }))
        .send()
    };
    let changed = body(
        patch(
            second.clone(),
            json!({"title": "Red lamp", "price": money(2600), "compare_at_price": money(3000)}),
        )
        .await
        .unwrap(),
    )
    .await["variant"]
        .clone();
    assert_eq!(changed["title"], "Red lamp");
    assert_eq!(changed["price"], money(2600));
    assert_eq!(changed["compare_at_price"], money(3000));
    assert_eq!(changed["sku"], "LAMP-2", "absent fields stay");
    assert_eq!(changed["inventory"]["on_hand"], 4);
    let cleared = body(
        patch(second.clone(), json!({"compare_at_price": null}))
            .await
            .unwrap(),
    )
    .await["variant"]
        .clone();
    assert_eq!(cleared["compare_at_price"], Value::Null);

    let euros = patch(
        second.clone(),
        json!({"price": {"amount": 100, "currency": "EUR"}}),
    )
    .await
    .unwrap();
    assert_eq!(fields(&problem(euros, 422).await), ["price"]);
    let stock = patch(second.clone(), json!({"inventory": 50}))
        .await
        .unwrap();
    problem(stock, 422).await;

    let fetched = body(
        admin(
            &app,
            "acme",
            &owner,
            Method::GET,
            &format!("/api/v1/admin/products/{pid}"),
        )
        .send()
        .await
        .unwrap(),
    )
    .await["product"]
        .clone();
    assert_eq!(fetched["variants"].as_array().unwrap().len(), 2);
    assert_eq!(fetched["variants"][1], cleared);

    let delete = |id: String| {
        admin(
            &app,
            "acme",
            &owner,
            Method::DELETE,
            &format!("/api/v1/admin/variants/{id}"),
        )
        .send()
    };
    assert_eq!(delete(first.clone()).await.unwrap().status(), 204);
    let last = delete(second.clone()).await.unwrap();
    problem(last, 409).await;
    problem(delete(first).await.unwrap(), 404).await;
    let fetched = body(
        admin(
            &app,
            "acme",
            &owner,
            Method::GET,
            &format!("/api/v1/admin/products/{pid}"),
        )
        .send()
        .await
        .unwrap(),
    )
    .await["product"]
        .clone();
    assert_eq!(fetched["variants"], json!([cleared]));
    app.stop().await;
}

#[tokio::test]
async fn inventory_adjustments_are_ledgered_and_never_go_below_zero() {
    let app = spawn_app().await;
    let (owner, _) = shop(&app, "acme", None).await;
    let actor = actor_of(&app, "acme", &owner).await;
    let product = create(
        &app,
        "acme",
        &owner,
        &product_json("Mug", &[("MUG-1", 1200, 10)]),
    )
    .await;
    let pid = product["id"].as_str().unwrap();
    let vid = product["variants"][0]["id"].as_str().unwrap();

    let plus = adjust(&app, "acme", &owner, vid, 5, "restock").await;
    assert_eq!(plus.status(), 200);
    let plus = body(plus).await;
    assert_eq!(
        plus["variant"]["inventory"],
        json!({"on_hand": 15, "reserved": 0, "available": 15})
    );
    assert_eq!(plus["adjustment"]["delta"], 5);
    assert_eq!(plus["adjustment"]["reason"], "restock");
    assert_eq!(plus["adjustment"]["on_hand_after"], 15);
    assert_eq!(plus["adjustment"]["actor"], actor.as_str());
    let minus = body(adjust(&app, "acme", &owner, vid, -2, "damaged").await).await;
    assert_eq!(minus["variant"]["inventory"]["on_hand"], 13);

    let too_many = adjust(&app, "acme", &owner, vid, -14, "oversold").await;
    problem(too_many, 409).await;
    let zero = adjust(&app, "acme", &owner, vid, 0, "nothing").await;
    assert_eq!(fields(&problem(zero, 422).await), ["delta"]);
    let no_reason = adjust(&app, "acme", &owner, vid, 1, "").await;
    assert_eq!(fields(&problem(no_reason, 422).await), ["reason"]);

    let ledger_path = format!("/api/v1/admin/variants/{vid}/inventory");
    let ledger = body(
        admin(&app, "acme", &owner, Method::GET, &ledger_path)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let entries: Vec<(i64, String, i64, String)> = ledger["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["delta"].as_i64().unwrap(),
                e["reason"].as_str().unwrap().to_owned(),
                e["on_hand_after"].as_i64().unwrap(),
                e["actor"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        entries,
        [
            (-2, "damaged".to_owned(), 13, actor.clone()),
            (5, "restock".to_owned(), 15, actor.clone()),
            (10, "initial".to_owned(), 10, actor.clone()),
        ],
        "newest first; the refused adjustments left no trace"
    );
    assert_eq!(ledger["items"][0]["variant_id"], vid);

    let first_page = body(
        admin(
            &app,
            "acme",
            &owner,
            Method::GET,
            &format!("{ledger_path}?limit=2"),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(first_page["items"].as_array().unwrap().len(), 2);
    let cursor = first_page["next_cursor"].as_str().unwrap();
    let second_page = body(
        admin(
            &app,
            "acme",
            &owner,
            Method::GET,
            &format!("{ledger_path}?limit=2&after={cursor}"),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(second_page["items"][0]["reason"], "initial");
    assert_eq!(second_page["next_cursor"], Value::Null);

    let fetched = body(
        admin(
            &app,
            "acme",
            &owner,
            Method::GET,
            &format!("/api/v1/admin/products/{pid}"),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(
        fetched["product"]["variants"][0]["inventory"]["on_hand"],
        13
    );
    app.stop().await;
}

#[tokio::test]
async fn categories_form_a_tree_that_cannot_loop_or_lose_children() {
    let app = spawn_app().await;
    let (owner, _) = shop(&app, "acme", None).await;
    let electronics = create_category(&app, "acme", &owner, json!({"name": "Electronics"})).await;
    assert_eq!(electronics["handle"], "electronics");
    assert_eq!(electronics["parent_id"], Value::Null);
    let laptops = create_category(
        &app,
        "acme",
        &owner,
        json!({"name": "Laptops", "parent_id": electronics["id"], "position": 1}),
    )
    .await;
    let business = create_category(
        &app,
        "acme",
        &owner,
        json!({"name": "Business laptops", "handle": "business", "parent_id": laptops["id"]}),
    )
    .await;
    assert_eq!(business["parent_id"], laptops["id"]);

    let dup = admin(
        &app,
        "acme",
        &owner,
        Method::POST,
        "/api/v1/admin/categories",
    )
    .json(&json!({"category": {"name": "Electronics"}}))
    .send()
    .await
    .unwrap();
    assert_eq!(problem(dup, 409).await["errors"][0]["field"], "handle");
    let orphan = admin(&app, "acme", &owner, Method::POST, "/api/v1/admin/categories")
        .json(&json!({"category": {"name": "Orphan", "parent_id": "0190c3f5-7f9a-7c3e-9a3b-4d5e6f708192"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(fields(&problem(orphan, 422).await), ["parent_id"]);

    let list = body(
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
    let tree: Vec<(String, Value)> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["handle"].as_str().unwrap().to_owned(),
                c["parent_id"].clone(),
            )
        })
        .collect();
    assert_eq!(
        tree,
        [
            ("business".to_owned(), laptops["id"].clone()),
            ("electronics".to_owned(), Value::Null),
            ("laptops".to_owned(), electronics["id"].clone()),
        ],
        "flat, by position then name"
    );

    let path = |c: &Value| format!("/api/v1/admin/categories/{}", c["id"].as_str().unwrap());
    let renamed = body(
        admin(&app, "acme", &owner, Method::PATCH, &path(&laptops))
            .json(&json!({"category": {"name": "Notebooks"}}))
            .send()
            .await
            .unwrap(),
    )
    .await["category"]
        .clone();
    assert_eq!(renamed["name"], "Notebooks");
    assert_eq!(
        renamed["parent_id"], electronics["id"],
        "absent fields stay"
    );

    for (moved, under) in [
        (&electronics, &business),
        (&electronics, &electronics),
        (&laptops, &business),
    ] {
        let cycle = admin(&app, "acme", &owner, Method::PATCH, &path(moved))
            .json(&json!({"category": {"parent_id": under["id"]}}))
            .send()
            .await
            .unwrap();
        problem(cycle, 409).await;
    }

    let with_children = admin(&app, "acme", &owner, Method::DELETE, &path(&laptops))
        .send()
        .await
        .unwrap();
    problem(with_children, 409).await;

    let to_top = body(
        admin(&app, "acme", &owner, Method::PATCH, &path(&business))
            .json(&json!({"category": {"parent_id": null}}))
            .send()
            .await
            .unwrap(),
    )
    .await["category"]
        .clone();
    assert_eq!(to_top["parent_id"], Value::Null);
    let under_business = body(
        admin(&app, "acme", &owner, Method::PATCH, &path(&electronics))
            .json(&json!({"category": {"parent_id": business["id"]}}))
            .send()
            .await
            .unwrap(),
    )
    .await["category"]
        .clone();
    assert_eq!(
        under_business["parent_id"], business["id"],
        "no longer a cycle"
    );

    // A product filed under a category is unfiled when it goes.
    let product = create(
        &app,
        "acme",
        &owner,
        &json!({"product": {"title": "X1 Carbon", "categories": [laptops["id"]],
                            "variants": [{"sku": "X1", "price": money(100)}]}}),
    )
    .await;
    assert_eq!(product["categories"], json!([laptops["id"]]));
    let leaf = admin(&app, "acme", &owner, Method::DELETE, &path(&laptops))
        .send()
        .await
        .unwrap();
    assert_eq!(leaf.status(), 204);
    let fetched = body(
        admin(
            &app,
            "acme",
            &owner,
            Method::GET,
            &format!("/api/v1/admin/products/{}", product["id"].as_str().unwrap()),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(fetched["product"]["categories"], json!([]));
    let list = body(
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
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    app.stop().await;
}

#[tokio::test]
async fn the_plan_limits_how_many_products_a_shop_has() {
    let app = spawn_app().await;
    create_plan(&app, "tiny", json!({"max_products": 2})).await;
    let (owner, _) = shop(&app, "acme", Some("tiny")).await;
    simple(&app, "acme", &owner, "One", "S-1", 100).await;
    let two = simple(&app, "acme", &owner, "Two", "S-2", 100).await;

    let third = admin(&app, "acme", &owner, Method::POST, "/api/v1/admin/products")
        .json(&product_json("Three", &[("S-3", 100, 0)]))
        .send()
        .await
        .unwrap();
    let p = problem(third, 402).await;
    assert!(p["detail"].as_str().unwrap().contains("products"), "{p}");

    // Deleting one makes room again.
    let deleted = admin(
        &app,
        "acme",
        &owner,
        Method::DELETE,
        &format!("/api/v1/admin/products/{}", two["id"].as_str().unwrap()),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(deleted.status(), 204);
    simple(&app, "acme", &owner, "Three", "S-3", 100).await;

    // A shop moved onto the plan is held to it from its next request.
    let (other, _) = shop(&app, "other", None).await;
    for i in 0..2 {
        simple(
            &app,
            "other",
            &other,
            &format!("Item {i}"),
            &format!("O-{i}"),
            100,
        )
        .await;
    }
    let moved = app
        .platform(Method::PATCH, "/api/v1/platform/tenants/other")
        .json(&json!({"tenant": {"plan": "tiny"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(moved.status(), 200);
    let over = admin(
        &app,
        "other",
        &other,
        Method::POST,
        "/api/v1/admin/products",
    )
    .json(&product_json("One too many", &[("O-9", 100, 0)]))
    .send()
    .await
    .unwrap();
    problem(over, 402).await;
    app.stop().await;
}

#[tokio::test]
async fn viewers_and_read_only_keys_can_read_the_catalog_but_not_change_it() {
    let app = spawn_app().await;
    let (owner, _) = shop(&app, "acme", None).await;
    let product = simple(&app, "acme", &owner, "Lamp", "L-1", 100).await;
    let pid = product["id"].as_str().unwrap();
    cli_staff(&app, "acme", "viewer@acme.example", "viewer").await;
    let viewer = token(&app, Some("acme"), "viewer@acme.example", "staff").await;
    let key = body(
        admin(&app, "acme", &owner, Method::POST, "/api/v1/admin/api-keys")
            .json(&json!({"api_key": {"name": "Feed", "scopes": ["catalog:read"]}}))
            .send()
            .await
            .unwrap(),
    )
    .await["secret"]
        .as_str()
        .unwrap()
        .to_owned();

    for reader in [&viewer, &key] {
        for path in [
            "/api/v1/admin/products".to_owned(),
            format!("/api/v1/admin/products/{pid}"),
            "/api/v1/admin/categories".to_owned(),
        ] {
            let read = admin(&app, "acme", reader, Method::GET, &path)
                .send()
                .await
                .unwrap();
            assert_eq!(read.status(), 200, "{path}");
        }
        let write = admin(&app, "acme", reader, Method::POST, "/api/v1/admin/products")
            .json(&product_json("Sneaky", &[("SN-1", 100, 0)]))
            .send()
            .await
            .unwrap();
        let p = problem(write, 403).await;
        assert!(
            p["detail"].as_str().unwrap().contains("catalog:write"),
            "{p}"
        );
        let patch = admin(
            &app,
            "acme",
            reader,
            Method::PATCH,
            &format!("/api/v1/admin/products/{pid}"),
        )
        .json(&json!({"product": {"title": "Hacked"}}))
        .send()
        .await
        .unwrap();
        problem(patch, 403).await;
        let stock = adjust(
            &app,
            "acme",
            reader,
            product["variants"][0]["id"].as_str().unwrap(),
            5,
            "sneaky",
        )
        .await;
        problem(stock, 403).await;
    }
    // The key works with X-Api-Key too.
    let by_header = app
        .shop("acme", Method::GET, "/api/v1/admin/products")
        .header("x-api-key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(by_header.status(), 200);
    let fetched = body(
        admin(
            &app,
            "acme",
            &owner,
            Method::GET,
            &format!("/api/v1/admin/products/{pid}"),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(fetched["product"], product, "nothing changed");
    app.stop().await;
}

#[tokio::test]
async fn catalog_changes_are_in_the_audit_log_with_their_actor() {
    let app = spawn_app().await;
    let (owner, _) = shop(&app, "acme", None).await;
    let actor = actor_of(&app, "acme", &owner).await;
    let product = simple(&app, "acme", &owner, "Kettle", "K-1", 3000).await;
    let vid = product["variants"][0]["id"].as_str().unwrap();
    assert_eq!(
        adjust(&app, "acme", &owner, vid, 7, "delivery")
            .await
            .status(),
        200
    );

    let log = body(
        admin(&app, "acme", &owner, Method::GET, "/api/v1/admin/audit-log")
            .send()
            .await
            .unwrap(),
    )
    .await;
    let items = log["items"].as_array().unwrap();
    let adjusted = &items[0];
    assert_eq!(adjusted["action"], "inventory.adjust");
    assert_eq!(adjusted["actor"], actor.as_str());
    assert!(
        adjusted["target"].as_str().unwrap().contains(vid),
        "{adjusted}"
    );
    assert_eq!(adjusted["after"]["on_hand"], 8);
    assert_eq!(adjusted["after"]["reason"], "delivery");
    let created = &items[1];
    assert_eq!(created["action"], "product.create");
    assert_eq!(created["actor"], actor.as_str());
    assert_eq!(created["after"]["title"], "Kettle");
    assert_eq!(created["after"]["variants"][0]["sku"], "K-1");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_adjustments_never_take_stock_below_zero() {
    let app = spawn_app().await;
    let (owner, _) = shop(&app, "acme", None).await;
    let product = create(
        &app,
        "acme",
        &owner,
        &product_json("Mug", &[("MUG-1", 1200, 5)]),
    )
    .await;
    let vid = product["variants"][0]["id"].as_str().unwrap().to_owned();

    let url = app.url(&format!("/api/v1/admin/variants/{vid}/inventory"));
    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let (client, url, owner) = (app.client.clone(), url.clone(), owner.clone());
            tokio::spawn(async move {
                client
                    .post(url)
                    .header("x-tenant", "acme")
                    .bearer_auth(owner)
                    .json(&json!({"delta": -1, "reason": "sold"}))
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    statuses.sort_unstable();
    assert_eq!(
        statuses,
        [[200; 5].as_slice(), [409; 7].as_slice()].concat(),
        "exactly the stock there was"
    );

    let ledger = body(
        admin(
            &app,
            "acme",
            &owner,
            Method::GET,
            &format!("/api/v1/admin/variants/{vid}/inventory"),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    let after: Vec<i64> = ledger["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["on_hand_after"].as_i64().unwrap())
        .collect();
    assert_eq!(
        after,
        [0, 1, 2, 3, 4, 5],
        "one ledger line per accepted adjustment"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creations_stay_within_the_plan() {
    let app = spawn_app().await;
    create_plan(&app, "tiny", json!({"max_products": 3})).await;
    let (owner, _) = shop(&app, "acme", Some("tiny")).await;
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let (client, url, owner) = (
                app.client.clone(),
                app.url("/api/v1/admin/products"),
                owner.clone(),
            );
            tokio::spawn(async move {
                client
                    .post(url)
                    .header("x-tenant", "acme")
                    .bearer_auth(owner)
                    .json(&product_json(
                        &format!("Racer {i}"),
                        &[(&format!("RACE-{i}"), 100, 1)],
                    ))
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    statuses.sort_unstable();
    assert_eq!(
        statuses,
        [[201; 3].as_slice(), [402; 7].as_slice()].concat()
    );
    let list = body(
        admin(&app, "acme", &owner, Method::GET, "/api/v1/admin/products")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 3);
    app.stop().await;
}
