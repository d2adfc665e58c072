//! The storefront's catalog pages through HTTP, each with the shop's own
//! data: product (variants, prices, stock, rental disclosures, JSON-LD,
//! OpenGraph, size), category (filters, sorting, paging), search, deals,
//! legal pages, sitemap and robots.

use chrono::{Duration, Utc};
use reqwest::Method;
use serde_json::{Value, json};

use crate::catalog_support::{
    create, create_category, patch_product, png, product_json, simple, upload,
};
use crate::identity::admin;
use crate::rentals_support::{plan, post_plan};
use crate::web_support::{get, get_at, host, put_settings, shop, web_app};

/// The JSON of the page's `<script type="application/ld+json">`.
fn json_ld(body: &str) -> Value {
    let open = "<script type=\"application/ld+json\">";
    let i = body.find(open).expect("a JSON-LD block") + open.len();
    let end = i + body[i..].find("</script>").unwrap();
    serde_json::from_str(&body[i..end]).expect("JSON-LD parses")
}

#[tokio::test]
async fn a_product_page_shows_variants_prices_stock_and_structured_data() {
    let app = web_app().await;
    let token = shop(&app, "acme").await;
    let mut body = product_json(
        "ThinkPad T480 </script><!-- x",
        &[("TP-8", 34_900, 3), ("TP-16", 41_900, 0)],
    );
    body["product"]["description"] = json!("Fast & light.\n\nTested <b>twice</b>.");
    body["product"]["variants"][0]["compare_at_price"] =
        json!({"amount": 49_900, "currency": "USD"});
    body["product"]["variants"][0]["options"] = json!({"Memory": "8 GB"});
    body["product"]["variants"][1]["options"] = json!({"Memory": "16 GB"});
    let product = create(&app, "acme", &token, &body).await;
    let id = product["id"].as_str().unwrap();
    let resp = upload(&app, "acme", &token, id, &png(40, 30), "image/png").await;
    assert_eq!(resp.status(), 201);
    let handle = product["handle"].as_str().unwrap();

    let page = get(&app, "acme", &format!("/products/{handle}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    page.assert_safe();
    let b = &page.body;
    assert!(
        b.contains("<h1>ThinkPad T480 &#60;/script&#62;&#60;!-- x</h1>")
            || b.contains("<h1>ThinkPad T480 &lt;/script&gt;&lt;!-- x</h1>"),
        "{b}"
    );
    assert!(b.contains("$349.00") && b.contains("$499.00") && b.contains("$419.00"));
    assert!(b.contains("Memory: 8 GB") && b.contains("Memory: 16 GB"));
    assert!(b.contains("Only 3 left") && b.contains("Out of stock"));
    // The variant picker is a plain form of radio buttons; the sold-out one is disabled.
    assert!(b.contains("<form method=\"post\" action=\"/cart/items\""));
    let v8 = product["variants"][0]["id"].as_str().unwrap();
    let v16 = product["variants"][1]["id"].as_str().unwrap();
    assert!(
        b.contains(&format!(
            "type=\"radio\" name=\"variant_id\" id=\"v-{v8}\" value=\"{v8}\" checked"
        )),
        "{b}"
    );
    assert!(b.contains(&format!("value=\"{v16}\" disabled")), "{b}");
    assert!(b.contains("name=\"quantity\"") && b.contains("name=\"csrf\""));
    assert!(!b.contains("__sk_csrf_slot__") && !b.contains("sk-csrf-slot"));
    // Description escaped, in paragraphs.
    assert!(
        b.contains("<p>Fast &#38; light.</p>") || b.contains("<p>Fast &amp; light.</p>"),
        "{b}"
    );
    assert!(!b.contains("<b>twice</b>"));
    // The image through the one seam: size, alt, async decoding, eager above the fold.
    assert!(
        b.contains("width=\"40\" height=\"30\" alt=\"A picture\" decoding=\"async\""),
        "{b}"
    );
    // Its resized copies: a WebP source and the original's family, each
    // in `srcset` (a 40 px image has one copy of each, at its own width).
    assert!(
        b.contains("<picture><source type=\"image/webp\" srcset=\"")
            && b.contains("-40.webp 40w\"")
            && b.contains("-40.jpg 40w\""),
        "{b}"
    );
    // Search engines and sharing.
    assert_eq!(
        page.canonical(),
        Some(format!("http://acme.shops.example/products/{handle}").as_str())
    );
    assert!(b.contains("<meta property=\"og:type\" content=\"product\">"));
    assert!(b.contains("<meta property=\"og:image\" content=\"http://acme.shops.example/media/"));
    let ld = json_ld(b);
    assert_eq!(ld["@type"], "Product");
    assert_eq!(ld["name"], "ThinkPad T480 </script><!-- x");
    assert_eq!(ld["offers"][0]["price"], "349.00");
    assert_eq!(ld["offers"][0]["priceCurrency"], "USD");
    assert_eq!(
        ld["offers"][0]["availability"],
        "https://schema.org/InStock"
    );
    assert_eq!(
        ld["offers"][1]["availability"],
        "https://schema.org/OutOfStock"
    );
    // Small: under 50 KB without images.
    assert!(b.len() < 50 * 1024, "{} bytes", b.len());

    // An unknown or another shop's product is a 404 page.
    assert_eq!(
        get(&app, "acme", "/products/no-such-thing").await.status,
        404
    );
    shop(&app, "bolt").await;
    let other = get(&app, "bolt", &format!("/products/{handle}")).await;
    assert_eq!(other.status, 404);
    assert!(other.header("content-type").starts_with("text/html"));
    app.stop().await;
}

#[tokio::test]
async fn a_product_page_follows_catalog_writes_through_the_cache() {
    let app = web_app().await;
    let token = shop(&app, "acme").await;
    let p = simple(&app, "acme", &token, "Old title", "OT-1", 1_000).await;
    let path = format!("/products/{}", p["handle"].as_str().unwrap());
    let first = get(&app, "acme", &path).await;
    assert!(first.body.contains("Old title"));
    assert_eq!(first.header("x-cache"), "MISS");
    let again = get(&app, "acme", &path).await;
    assert!(again.body.contains("Old title"));
    assert_eq!(
        again.header("x-cache"),
        "HIT",
        "the second view comes from the cache"
    );
    // Another language is another entry.
    let de = get_at(&app, &host("acme"), &path, &[("accept-language", "de")]).await;
    assert_eq!(de.header("x-cache"), "MISS");
    patch_product(
        &app,
        "acme",
        &token,
        p["id"].as_str().unwrap(),
        json!({"title": "New title"}),
    )
    .await;
    let after = get(&app, "acme", &path).await;
    assert!(after.body.contains("New title") && !after.body.contains("Old title"));
    assert_eq!(
        after.header("x-cache"),
        "MISS",
        "a catalog write is seen at once"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_rentable_product_shows_its_plans_with_the_rent_to_own_disclosure() {
    let app = web_app().await;
    let token = shop(&app, "acme").await;
    let product = create(
        &app,
        "acme",
        &token,
        &product_json("Laptop", &[("LAP-8", 90_000, 3)]),
    )
    .await;
    let variant = product["variants"][0]["id"].as_str().unwrap();
    let resp = post_plan(&app, "acme", &token, plan(variant)).await;
    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());

    let page = get(&app, "acme", "/products/laptop").await;
    assert_eq!(page.status, 200);
    page.assert_safe();
    let b = &page.body;
    assert!(b.contains("Laptop, rent to own"), "{b}");
    assert!(b.contains("$49.00 every month"), "{b}");
    assert!(b.contains("12 payments of $49.00"), "{b}");
    assert!(b.contains("Cash price</dt><dd>$900.00"), "{b}");
    assert!(b.contains("Total of payments</dt><dd>$588.00"), "{b}");
    assert!(
        b.contains("Refundable deposit (not part of the cost)</dt><dd>$90.00"),
        "{b}"
    );
    assert!(b.contains("The item becomes yours after the last payment."));
    assert!(b.contains("Early purchase"));
    assert!(b.contains("<form method=\"post\" action=\"/cart/rentals\">"));
    assert!(
        b.contains("name=\"rental_plan_id\"") && b.contains("name=\"rental_term\" value=\"12\"")
    );
    // The same disclosure in German, for a browser that prefers it.
    let de = get_at(
        &app,
        &host("acme"),
        "/products/laptop",
        &[("accept-language", "de")],
    )
    .await;
    assert!(
        de.body.contains("Barpreis</dt><dd>900,00\u{a0}$"),
        "{}",
        de.body
    );
    assert!(
        de.body.contains("12 Zahlungen zu je 49,00\u{a0}$"),
        "{}",
        de.body
    );
    assert!(de.body.contains("Mit diesem Tarif mieten"));
    app.stop().await;
}

#[tokio::test]
async fn a_category_page_filters_sorts_and_pages_with_links() {
    let app = web_app().await;
    let token = shop(&app, "acme").await;
    let laptops = create_category(
        &app,
        "acme",
        &token,
        json!({"name": "Laptops", "handle": "laptops"}),
    )
    .await;
    for i in 0..26 {
        let mut p = product_json(
            &format!("Laptop {i:02}"),
            &[(&format!("L-{i}"), 10_000 + i * 100, i64::from(i % 2 == 0))],
        );
        p["product"]["categories"] = json!([laptops["id"]]);
        create(&app, "acme", &token, &p).await;
    }
    simple(&app, "acme", &token, "Unfiled phone", "PH-1", 500).await;

    let first = get(&app, "acme", "/categories/laptops").await;
    assert_eq!(first.status, 200, "{}", first.body);
    first.assert_safe();
    assert!(first.body.contains("<h1>Laptops</h1>"));
    assert!(!first.body.contains("Unfiled phone"));
    assert_eq!(first.body.matches("class=\"card\"").count(), 24);
    assert!(first.body.contains("Laptop 25"), "newest first");
    let i = first.body.find("rel=\"next\" href=\"").unwrap() + 17;
    let next = first.body[i..i + first.body[i..].find('"').unwrap()]
        .replace("&#38;", "&")
        .replace("&amp;", "&");
    let second = get(&app, "acme", &next).await;
    assert_eq!(second.status, 200, "{next}");
    assert_eq!(second.body.matches("class=\"card\"").count(), 2);
    assert!(second.body.contains("Laptop 00") && second.body.contains("Laptop 01"));
    assert!(!second.body.contains("rel=\"next\""));

    let cheap = get(
        &app,
        "acme",
        "/categories/laptops?sort=price_asc&max_price=101.50&in_stock=true",
    )
    .await;
    assert_eq!(cheap.status, 200);
    let cards = cheap.body.matches("class=\"card\"").count();
    assert_eq!(cards, 1, "{}", cheap.body);
    assert!(cheap.body.contains("Laptop 00") && cheap.body.contains("$100.00"));
    assert!(cheap.body.contains("<option value=\"price_asc\" selected>"));

    // A price that is not an amount: the page again, the field marked and
    // its bound ignored, the good bound kept, as a 422 never cached.
    for _ in 0..2 {
        let bad = get(
            &app,
            "acme",
            "/categories/laptops?min_price=abc&max_price=101.50&sort=price_asc",
        )
        .await;
        assert_eq!(bad.status, 422, "{}", bad.body);
        assert!(bad.header("content-type").starts_with("text/html"));
        assert_ne!(bad.header("x-cache"), "HIT");
        bad.assert_safe();
        assert!(
            bad.body.contains(
                "value=\"abc\" aria-invalid=\"true\" aria-describedby=\"min_price-error\""
            )
        );
        assert!(bad.body.contains(
            "<p class=\"field-error\" id=\"min_price-error\">Enter an amount, such as 19.99.</p>"
        ));
        assert!(!bad.body.contains("max_price-error"));
        assert_eq!(
            bad.body.matches("class=\"card\"").count(),
            2,
            "max 101.50 kept"
        );
    }
    assert_eq!(get(&app, "acme", "/categories/nothing").await.status, 404);
    app.stop().await;
}

#[tokio::test]
async fn search_finds_the_shops_products_only() {
    let app = web_app().await;
    let a = shop(&app, "acme").await;
    let b = shop(&app, "bolt").await;
    simple(&app, "acme", &a, "Blue anvil", "AN-1", 1_000).await;
    simple(&app, "bolt", &b, "Blue bicycle", "BB-1", 2_000).await;
    let page = get(&app, "acme", "/search?q=blue").await;
    assert_eq!(page.status, 200);
    page.assert_safe();
    assert!(page.body.contains("Blue anvil") && !page.body.contains("Blue bicycle"));
    assert!(page.body.contains("Results for “blue”"));
    assert!(
        page.body
            .contains("<meta name=\"robots\" content=\"noindex\">")
    );
    let none = get(&app, "acme", "/search?q=zebra").await;
    assert!(none.body.contains("Nothing matches your search."));
    let empty = get(&app, "acme", "/search").await;
    assert_eq!(empty.status, 200);
    let xss = get(&app, "acme", "/search?q=%3Cscript%3E").await;
    assert!(!xss.body.contains("<script>"));
    app.stop().await;
}

#[tokio::test]
async fn the_deals_page_and_the_home_page_show_live_deals() {
    let app = web_app().await;
    let token = shop(&app, "acme").await;
    let now = Utc::now();
    for deal in [
        json!({"name": "Weekend sale", "percent_off": 15, "applies_to": "order", "ends_at": now + Duration::hours(30)}),
        json!({"name": "Next week", "percent_off": 5, "applies_to": "order", "starts_at": now + Duration::days(2)}),
    ] {
        let resp = admin(&app, "acme", &token, Method::POST, "/api/v1/admin/deals")
            .json(&json!({ "deal": deal }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
    }
    let deals = get(&app, "acme", "/deals").await;
    assert_eq!(deals.status, 200);
    deals.assert_safe();
    assert!(deals.body.contains("Weekend sale") && deals.body.contains("15% off"));
    assert!(deals.body.contains("Next week"));
    let home = get(&app, "acme", "/").await;
    assert!(home.body.contains("Deals ending soon") && home.body.contains("Weekend sale"));
    assert!(!home.body.contains("Next week"));
    app.stop().await;
}

#[tokio::test]
async fn legal_pages_come_from_the_settings_escaped() {
    let app = web_app().await;
    let token = shop(&app, "acme").await;
    let (status, body) = put_settings(
        &app,
        "acme",
        &token,
        json!({"storefront": {"terms": "Rule one.\nLine two.\n\n<script>alert(1)</script>"}}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let page = get(&app, "acme", "/legal/terms").await;
    assert_eq!(page.status, 200);
    page.assert_safe();
    assert!(
        page.body.contains("<p>Rule one.<br>Line two.</p>"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("<script>alert"));
    assert!(page.body.contains("href=\"/legal/terms\""), "footer link");
    assert!(!page.body.contains("href=\"/legal/privacy\""));
    assert_eq!(get(&app, "acme", "/legal/privacy").await.status, 404);
    assert_eq!(get(&app, "acme", "/legal/other").await.status, 404);
    app.stop().await;
}

#[tokio::test]
async fn the_sitemap_lists_only_this_shops_pages_and_robots_points_to_it() {
    let app = web_app().await;
    let a = shop(&app, "acme").await;
    let b = shop(&app, "bolt").await;
    simple(&app, "acme", &a, "Acme Anvil", "AN-1", 1_000).await;
    simple(&app, "bolt", &b, "Bolt Bicycle", "BB-1", 2_000).await;
    create_category(
        &app,
        "acme",
        &a,
        json!({"name": "Tools", "handle": "tools"}),
    )
    .await;

    let map = get(&app, "acme", "/sitemap.xml").await;
    assert_eq!(map.status, 200);
    assert!(map.header("content-type").starts_with("application/xml"));
    assert!(
        map.body
            .contains("<loc>http://acme.shops.example/products/acme-anvil</loc>")
    );
    assert!(
        map.body
            .contains("<loc>http://acme.shops.example/categories/tools</loc>")
    );
    assert!(!map.body.contains("bolt-bicycle") && !map.body.contains("bolt."));
    let robots = get_at(&app, &host("bolt"), "/robots.txt", &[]).await;
    assert_eq!(robots.status, 200);
    assert!(
        robots
            .body
            .contains("Sitemap: http://bolt.shops.example/sitemap.xml")
    );
    assert!(robots.body.contains("Disallow: /checkout"));
    assert!(robots.body.contains("Disallow: /password-reset\n"));
    app.stop().await;
}
