//! The storefront review's findings (issue 17), each through HTTP: the
//! public origin from configuration, rate limits and cache keys on pages,
//! rental terms seen at once, forward-compatible storefront settings, the
//! CSRF slot, errors, canonical URLs, accessibility and languages.

use reqwest::Method;
use serde_json::{Value, json};
use storekeep_test_support::spawn_app_with;

use crate::catalog_support::{png, simple, upload};
use crate::rentals_support::{call, plan, post_plan};
use crate::web_support::{BASE, get, get_at, host, shop, web_app};

/// The JSON of the page's `<script type="application/ld+json">`.
fn json_ld(body: &str) -> Value {
    let open = "<script type=\"application/ld+json\">";
    let i = body.find(open).expect("a JSON-LD block") + open.len();
    let end = i + body[i..].find("</script>").unwrap();
    serde_json::from_str(&body[i..end]).expect("JSON-LD parses")
}

#[tokio::test]
async fn a_forged_host_port_never_reaches_cached_pages_or_the_sitemap() {
    let app = web_app().await;
    let token = shop(&app, "acme").await;
    let product = simple(&app, "acme", &token, "Acme Anvil", "AN-1", 1_000).await;
    let id = product["id"].as_str().unwrap();
    let resp = upload(&app, "acme", &token, id, &png(4, 3), "image/png").await;
    assert_eq!(resp.status(), 201);
    let forged = format!("{}:6666", host("acme"));
    // The forged request fills the caches first...
    let page = get_at(&app, &forged, "/products/acme-anvil", &[]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(!page.body.contains(":6666"), "{}", page.body);
    let map = get_at(&app, &forged, "/sitemap.xml", &[]).await;
    assert!(!map.body.contains(":6666"), "{}", map.body);
    // ...and a normal request sees the configured origin only.
    let page = get(&app, "acme", "/products/acme-anvil").await;
    assert!(!page.body.contains(":6666"), "{}", page.body);
    let ld = json_ld(&page.body);
    assert_eq!(
        ld["offers"][0]["url"], "http://acme.shops.example/products/acme-anvil",
        "{ld}"
    );
    assert!(
        ld["image"][0]
            .as_str()
            .unwrap_or_else(|| ld["image"].as_str().unwrap_or_default())
            .starts_with("http://acme.shops.example/media/"),
        "{ld}"
    );
    let map = get(&app, "acme", "/sitemap.xml").await;
    assert!(
        map.body
            .contains("<loc>http://acme.shops.example/products/acme-anvil</loc>"),
        "{}",
        map.body
    );
    assert!(!map.body.contains(":6666"));
    app.stop().await;
}

#[tokio::test]
async fn the_public_scheme_and_port_come_from_the_settings() {
    let app = spawn_app_with(|s| {
        s.base_domain = Some(storekeep_domain::DomainName::parse(BASE).unwrap());
        s.web_public_scheme = "https".into();
        s.web_public_port = Some(8443);
    })
    .await;
    let token = shop(&app, "acme").await;
    simple(&app, "acme", &token, "Acme Anvil", "AN-1", 1_000).await;
    let map = get_at(&app, &format!("{}:6666", host("acme")), "/sitemap.xml", &[]).await;
    assert!(
        map.body
            .contains("<loc>https://acme.shops.example:8443/products/acme-anvil</loc>"),
        "{}",
        map.body
    );
    let page = get(&app, "acme", "/products/acme-anvil").await;
    assert_eq!(
        page.canonical(),
        Some("https://acme.shops.example:8443/products/acme-anvil")
    );
    app.stop().await;
}

#[tokio::test]
async fn storefront_pages_are_rate_limited_per_tier_with_an_html_429() {
    let app = web_app().await;
    let limits = json!({
        "api_requests_per_minute": 3, "auth_requests_per_minute": 100,
        "search_requests_per_minute": 2, "admin_requests_per_minute": 1000
    });
    crate::catalog_support::create_plan(&app, "tiny", limits).await;
    crate::catalog_support::shop(&app, "acme", Some("tiny")).await;
    for _ in 0..2 {
        assert_eq!(get(&app, "acme", "/search?q=x").await.status, 200);
    }
    let limited = get(&app, "acme", "/search?q=x").await;
    assert_eq!(limited.status, 429, "{}", limited.body);
    assert!(limited.header("content-type").starts_with("text/html"));
    assert!(limited.header("retry-after").parse::<u64>().unwrap() >= 1);
    // The Api tier is its own bucket.
    for _ in 0..3 {
        assert_eq!(get(&app, "acme", "/deals").await.status, 200);
    }
    let limited = get(&app, "acme", "/").await;
    assert_eq!(limited.status, 429, "{}", limited.body);
    assert!(limited.body.contains("<html"), "{}", limited.body);
    app.stop().await;
}

#[tokio::test]
async fn unknown_query_parameters_share_the_plain_pages_cache_entry() {
    let app = web_app().await;
    let token = shop(&app, "acme").await;
    simple(&app, "acme", &token, "Acme Anvil", "AN-1", 1_000).await;
    crate::catalog_support::create_category(
        &app,
        "acme",
        &token,
        json!({"name": "Tools", "handle": "tools"}),
    )
    .await;
    for path in ["/categories/tools", "/search?q=anvil"] {
        let first = get(&app, "acme", path).await;
        assert_eq!(first.status, 200, "{path}: {}", first.body);
        assert_eq!(first.header("x-cache"), "MISS", "{path}");
        let sep = if path.contains('?') { '&' } else { '?' };
        for junk in ["junk=1", "junk=2&x=y"] {
            let again = get(&app, "acme", &format!("{path}{sep}{junk}")).await;
            assert_eq!(again.status, 200);
            assert_eq!(again.header("x-cache"), "HIT", "{path}{sep}{junk}");
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn a_changed_rental_plan_shows_on_the_product_page_at_once() {
    let app = web_app().await;
    let token = shop(&app, "acme").await;
    let product = crate::catalog_support::create(
        &app,
        "acme",
        &token,
        &crate::catalog_support::product_json("Laptop", &[("LAP-8", 90_000, 3)]),
    )
    .await;
    let variant = product["variants"][0]["id"].as_str().unwrap();
    let resp = post_plan(&app, "acme", &token, plan(variant)).await;
    assert_eq!(resp.status(), 201);
    let created: Value = resp.json().await.unwrap();
    let id = created["rental_plan"]["id"].as_str().unwrap().to_owned();
    let before = get(&app, "acme", "/products/laptop").await;
    assert!(
        before.body.contains("$49.00 every month"),
        "{}",
        before.body
    );
    assert_eq!(
        get(&app, "acme", "/products/laptop")
            .await
            .header("x-cache"),
        "HIT"
    );

    let resp = call(
        &app,
        "acme",
        &token,
        Method::PATCH,
        &format!("/api/v1/admin/rental-plans/{id}"),
        Some(json!({"rental_plan": {"price_per_period": {"amount": 5_900, "currency": "USD"}}})),
    )
    .await;
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let after = get(&app, "acme", "/products/laptop").await;
    assert!(after.body.contains("$59.00 every month"), "{}", after.body);
    assert!(after.body.contains("Total of payments</dt><dd>$708.00"));
    assert!(!after.body.contains("$49.00 every month"));
    app.stop().await;
}

#[tokio::test]
async fn the_old_csrf_marker_in_a_product_title_is_shown_as_typed() {
    let app = web_app().await;
    let token = shop(&app, "acme").await;
    simple(
        &app,
        "acme",
        &token,
        "Mug __sk_csrf_slot__ edition",
        "MUG-1",
        900,
    )
    .await;
    let page = get(&app, "acme", "/products/mug-sk-csrf-slot-edition").await;
    let page = if page.status == 404 {
        // Whatever handle the shop made of the title.
        let list = get(&app, "acme", "/search?q=Mug").await;
        let i = list.body.find("/products/").expect("a product link");
        let rest = &list.body[i..];
        let path = &rest[..rest.find('"').unwrap()];
        get(&app, "acme", path).await
    } else {
        page
    };
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("<h1>Mug __sk_csrf_slot__ edition</h1>"),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains("sk-csrf-slot-->"),
        "the slot was left in"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_product_reached_by_its_id_declares_its_handles_url_canonical() {
    let app = web_app().await;
    let token = shop(&app, "acme").await;
    let product = simple(&app, "acme", &token, "Acme Anvil", "AN-1", 1_000).await;
    let id = product["id"].as_str().unwrap();
    let page = get(&app, "acme", &format!("/products/{id}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(
        page.canonical(),
        Some("http://acme.shops.example/products/acme-anvil")
    );
    assert!(page.body.contains(
        "<meta property=\"og:url\" content=\"http://acme.shops.example/products/acme-anvil\">"
    ));
    app.stop().await;
}

/// Runs one statement on the app's database.
async fn run_sql(app: &storekeep_test_support::TestApp, pg: &str, sqlite: &str) {
    use sqlx::Connection;
    if app.db.url.starts_with("postgres") {
        let mut c = sqlx::PgConnection::connect(&app.db.url).await.unwrap();
        sqlx::query(pg).execute(&mut c).await.unwrap();
    } else {
        let mut c = sqlx::SqliteConnection::connect(&app.db.url).await.unwrap();
        sqlx::query(sqlite).execute(&mut c).await.unwrap();
    }
}

#[tokio::test]
async fn a_storefront_setting_from_a_newer_node_is_read_and_kept_but_refused_on_save() {
    let app = web_app().await;
    let token = shop(&app, "acme").await;
    // A newer node stored a storefront key this version does not know.
    let stored = r#"{"name": "Acme Future", "hero_video": {"src": "x"}}"#;
    run_sql(
        &app,
        &format!(
            "UPDATE tenants SET settings = jsonb_set(settings, '{{storefront}}', '{stored}'::jsonb) WHERE slug = 'acme'"
        ),
        &format!(
            "UPDATE tenants SET settings = json_set(settings, '$.storefront', json('{stored}')) WHERE slug = 'acme'"
        ),
    )
    .await;
    // Past the tenant look-up cache (1 s).
    tokio::time::sleep(std::time::Duration::from_millis(1_200)).await;
    let home = get(&app, "acme", "/").await;
    assert_eq!(home.status, 200, "{}", home.body);
    assert!(home.body.contains("Acme Future"), "{}", home.body);

    // Staff change a known setting: the unknown key stays.
    let (status, body) = crate::web_support::put_settings(
        &app,
        "acme",
        &token,
        json!({"currency": "USD", "storefront": {"name": "Acme Now"}}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let read = app
        .platform(Method::GET, "/api/v1/platform/tenants/acme")
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    let read: Value = read.json().await.unwrap();
    let sf = &read["tenant"]["settings"]["storefront"];
    assert_eq!(sf["name"], "Acme Now", "{read}");
    assert_eq!(sf["hero_video"]["src"], "x", "{read}");

    // Staff sending an unknown key are refused, naming it.
    let (status, body) = crate::web_support::put_settings(
        &app,
        "acme",
        &token,
        json!({"currency": "USD", "storefront": {"colour": "#ffffff"}}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["errors"][0]["field"], "settings.storefront.colour",
        "{body}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_media_origin_that_cannot_be_a_header_keeps_the_strict_policy() {
    let app = spawn_app_with(|s| {
        s.base_domain = Some(storekeep_domain::DomainName::parse(BASE).unwrap());
        s.media.public_base_url = Some("https://cdn\u{e9}.example/media".into());
    })
    .await;
    shop(&app, "acme").await;
    let page = get(&app, "acme", "/").await;
    assert_eq!(page.status, 200, "{}", page.body);
    page.assert_safe();
    assert!(!page.header("content-security-policy").contains("cdn"));
    app.stop().await;
}

#[tokio::test]
async fn an_api_error_asked_for_as_html_stays_problem_json() {
    let app = web_app().await;
    shop(&app, "acme").await;
    for path in [
        "/api/v1/store/products/no-such-thing",
        "/api/v1/nothing-here",
    ] {
        let resp = app
            .request(Method::GET, path)
            .header("host", host("acme"))
            .header("accept", "text/html")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 404, "{path}");
        let ct = resp.headers()["content-type"].to_str().unwrap().to_owned();
        assert_eq!(ct, "application/problem+json", "{path}");
    }
    // A storefront page's error stays HTML.
    let page = get_at(
        &app,
        &host("acme"),
        "/products/nope",
        &[("accept", "text/html")],
    )
    .await;
    assert_eq!(page.status, 404);
    assert!(page.header("content-type").starts_with("text/html"));
    app.stop().await;
}

#[tokio::test]
async fn search_forms_are_told_apart_and_card_images_are_not_read_twice() {
    let app = web_app().await;
    let token = shop(&app, "acme").await;
    let product = simple(&app, "acme", &token, "Acme Anvil", "AN-1", 1_000).await;
    let id = product["id"].as_str().unwrap();
    let resp = upload(&app, "acme", &token, id, &png(4, 3), "image/png").await;
    assert_eq!(resp.status(), 201);
    let page = get(&app, "acme", "/search?q=anvil").await;
    assert_eq!(page.status, 200);
    let labels: Vec<&str> = page
        .body
        .match_indices("role=\"search\"")
        .map(|(i, _)| {
            let rest = &page.body[i..];
            let a = rest.find("aria-label=\"").expect("a labelled search form") + 12;
            &rest[a..a + rest[a..].find('"').unwrap()]
        })
        .collect();
    assert_eq!(labels.len(), 2, "{}", page.body);
    assert_ne!(labels[0], labels[1]);
    assert!(labels.iter().all(|l| !l.is_empty()));
    // The card's image is decoration: its link says "Acme Anvil" already.
    let card = &page.body[page.body.find("class=\"card\"").unwrap()..];
    let card = &card[..card.find("</li>").unwrap()];
    assert!(card.contains("alt=\"\""), "{card}");
    assert!(card.contains("<span class=\"card-title\">Acme Anvil</span>"));
    app.stop().await;
}

#[tokio::test]
async fn the_fallback_404_speaks_the_shops_language() {
    let app = web_app().await;
    let token = shop(&app, "acme").await;
    let (status, body) = crate::web_support::put_settings(
        &app,
        "acme",
        &token,
        json!({"currency": "EUR", "storefront": {"language": "de", "follow_browser_language": false}}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let page = get(&app, "acme", "/no/such/page").await;
    assert_eq!(page.status, 404);
    assert_eq!(page.header("content-language"), "de");
    assert!(page.body.contains("Seite nicht gefunden"), "{}", page.body);
    // No shop at the host: the plain English page.
    let none = get_at(&app, BASE, "/no/such/page", &[]).await;
    assert_eq!(none.status, 404);
    assert!(none.body.contains("Page not found"), "{}", none.body);
    app.stop().await;
}

#[tokio::test]
async fn a_pale_accent_colour_is_refused_for_its_contrast() {
    let app = web_app().await;
    let token = shop(&app, "acme").await;
    let (status, body) = crate::web_support::put_settings(
        &app,
        "acme",
        &token,
        json!({"storefront": {"accent_color": "#ffb400"}}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["errors"][0]["field"],
        "settings.storefront.accent_color"
    );
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("4.5:1")
    );
    let (status, body) = crate::web_support::put_settings(
        &app,
        "acme",
        &token,
        json!({"storefront": {"accent_color": "#2563eb"}}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    app.stop().await;
}
