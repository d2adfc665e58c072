//! The storefront's shell: the shop chosen by host only, HTML 404s, the
//! layout's headers and assets, languages, branding, and the API left as
//! it was.

use reqwest::Method;
use serde_json::json;

use crate::catalog_support::{create, product_json, simple};
use crate::web_support::{BASE, get, get_at, host, put_settings, shop, web_app};

#[tokio::test]
async fn the_home_page_shows_the_shops_newest_products_with_prices() {
    let app = web_app().await;
    let token = shop(&app, "acme").await;
    simple(&app, "acme", &token, "ThinkPad T480", "TP-1", 34_900).await;
    create(
        &app,
        "acme",
        &token,
        &product_json("Dell Latitude", &[("DL-1", 19_999, 0), ("DL-2", 24_999, 2)]),
    )
    .await;

    let page = get(&app, "acme", "/").await;
    assert_eq!(page.status, 200, "{}", page.body);
    page.assert_safe();
    assert!(page.body.contains("<html lang=\"en\">"));
    assert!(page.body.contains("ThinkPad T480"));
    assert!(page.body.contains("$349.00"), "{}", page.body);
    assert!(page.body.contains("from $199.99"), "{}", page.body);
    assert!(page.body.contains("Shop acme"));
    assert_eq!(page.canonical(), Some("http://acme.shops.example/"));
    assert!(page.body.contains("href=\"/products/thinkpad-t480\""));
    assert_eq!(page.header("content-language"), "en");
    app.stop().await;
}

#[tokio::test]
async fn two_shops_on_two_hosts_show_only_their_own_products_and_branding() {
    let app = web_app().await;
    let a = shop(&app, "acme").await;
    let b = shop(&app, "bolt").await;
    simple(&app, "acme", &a, "Acme Anvil", "AN-1", 1_000).await;
    simple(&app, "bolt", &b, "Bolt Bicycle", "BB-1", 2_000).await;
    let (status, body) = put_settings(
        &app,
        "bolt",
        &b,
        json!({"storefront": {"name": "Bolt Bikes", "primary_color": "#ffe066", "font": "serif"}}),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    let acme = get(&app, "acme", "/").await;
    let bolt = get(&app, "bolt", "/").await;
    assert!(acme.body.contains("Acme Anvil") && !acme.body.contains("Bolt Bicycle"));
    assert!(bolt.body.contains("Bolt Bicycle") && !bolt.body.contains("Acme Anvil"));
    assert!(bolt.body.contains("Bolt Bikes") && !acme.body.contains("Bolt Bikes"));

    // Each page links its own shop stylesheet, which carries its colours.
    let css_of = |body: &str| {
        let i = body.find("/assets/shop-").unwrap();
        body[i..i + body[i..].find('"').unwrap()].to_owned()
    };
    let (acme_css, bolt_css) = (css_of(&acme.body), css_of(&bolt.body));
    assert_ne!(acme_css, bolt_css);
    let served = get(&app, "bolt", &bolt_css).await;
    assert_eq!(served.status, 200);
    assert!(served.header("content-type").starts_with("text/css"));
    assert_eq!(
        served.header("cache-control"),
        "public, max-age=31536000, immutable"
    );
    assert!(served.body.contains("--primary:#ffe066"));
    assert!(
        served.body.contains("--on-primary:#000000"),
        "{}",
        served.body
    );
    assert!(served.body.contains("Charter"));
    // One shop's stylesheet name is not another's.
    assert_eq!(get(&app, "acme", &bolt_css).await.status, 404);
    app.stop().await;
}

#[tokio::test]
async fn x_tenant_does_not_choose_a_shop_for_pages() {
    let app = web_app().await;
    let token = shop(&app, "acme").await;
    simple(&app, "acme", &token, "Acme Anvil", "AN-1", 1_000).await;

    // A host that names no shop (the bare base domain is kept, unlike an
    // IP address, so X-Tenant would be consulted if it could choose).
    let by_header = get_at(&app, BASE, "/", &[("x-tenant", "acme")]).await;
    assert_eq!(by_header.status, 404);
    assert!(by_header.header("content-type").starts_with("text/html"));
    assert!(!by_header.body.contains("Acme Anvil"));

    // Another shop's host wins over the header too.
    shop(&app, "bolt").await;
    let other = get_at(&app, &host("bolt"), "/", &[("x-tenant", "acme")]).await;
    assert_eq!(other.status, 200);
    assert!(!other.body.contains("Acme Anvil"));
    app.stop().await;
}

#[tokio::test]
async fn an_unknown_host_and_a_suspended_shop_get_the_same_html_404() {
    let app = web_app().await;
    shop(&app, "acme").await;

    let unknown = get_at(&app, "ghost.shops.example", "/", &[]).await;
    assert_eq!(unknown.status, 404);
    unknown.assert_safe();
    assert!(unknown.body.contains("Page not found"));

    let resp = app
        .platform(Method::PATCH, "/api/v1/platform/tenants/acme")
        .json(&json!({"tenant": {"status": "suspended"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let suspended = get(&app, "acme", "/").await;
    assert_eq!(suspended.status, 404);
    assert_eq!(suspended.body, unknown.body);

    // A path no page has, at a live shop, is an HTML 404 as well.
    shop(&app, "bolt").await;
    let missing = get(&app, "bolt", "/no/such/page").await;
    assert_eq!(missing.status, 404);
    missing.assert_safe();
    app.stop().await;
}

#[tokio::test]
async fn the_api_and_media_paths_keep_their_problem_answers() {
    let app = web_app().await;
    shop(&app, "acme").await;
    for path in ["/api/v1/nothing", "/api/nothing", "/media/not-a-key"] {
        let resp = app
            .request(Method::GET, path)
            .header("host", host("acme"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 404, "{path}");
        assert_eq!(
            resp.headers()["content-type"],
            "application/problem+json",
            "{path}"
        );
        let csp = resp.headers()["content-security-policy"].to_str().unwrap();
        assert_eq!(csp, "default-src 'none'; frame-ancestors 'none'");
    }
    // The API still answers by X-Tenant, as before.
    let store = app
        .shop("acme", Method::GET, "/api/v1/store")
        .send()
        .await
        .unwrap();
    assert_eq!(store.status(), 200);
    // The API docs keep their own policy.
    let docs = app.get("/api/docs").await;
    let csp = docs.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("'unsafe-inline'"), "{csp}");
    app.stop().await;
}

#[tokio::test]
async fn german_is_served_by_the_shops_setting_and_by_accept_language() {
    let app = web_app().await;
    let a = shop(&app, "acme").await;
    let b = shop(&app, "bolt").await;
    simple(&app, "acme", &a, "Anvil", "AN-1", 123_456).await;
    simple(&app, "bolt", &b, "Bike", "BB-1", 1_999).await;
    let (status, body) = put_settings(
        &app,
        "acme",
        &a,
        json!({"currency": "EUR", "storefront": {"language": "de"}}),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    let de = get(&app, "acme", "/").await;
    assert!(de.body.contains("<html lang=\"de\">"));
    assert!(de.body.contains("Neu im Shop"));
    assert!(de.body.contains("1.234,56\u{a0}€"), "{}", de.body);
    assert_eq!(de.header("content-language"), "de");

    // The browser's preference overrides, unless the shop says not to.
    let en = get_at(
        &app,
        &host("acme"),
        "/",
        &[("accept-language", "en-GB,en;q=0.9")],
    )
    .await;
    assert!(en.body.contains("<html lang=\"en\">") && en.body.contains("New in the shop"));
    assert!(en.body.contains("€1,234.56"), "{}", en.body);
    let bolt_de = get_at(
        &app,
        &host("bolt"),
        "/",
        &[("accept-language", "de-DE,de;q=0.9")],
    )
    .await;
    assert!(bolt_de.body.contains("<html lang=\"de\">"));
    assert!(bolt_de.body.contains("19,99\u{a0}$"), "{}", bolt_de.body);
    assert!(bolt_de.header("vary").contains("accept-language"));

    put_settings(
        &app,
        "bolt",
        &b,
        json!({"storefront": {"follow_browser_language": false}}),
    )
    .await;
    let fixed = get_at(&app, &host("bolt"), "/", &[("accept-language", "de-DE")]).await;
    assert!(fixed.body.contains("<html lang=\"en\">"));
    app.stop().await;
}

#[tokio::test]
async fn branding_settings_are_checked_on_save() {
    let app = web_app().await;
    let token = shop(&app, "acme").await;
    for (storefront, field) in [
        (
            json!({"primary_color": "red"}),
            "settings.storefront.primary_color",
        ),
        (
            json!({"accent_color": "#12345g"}),
            "settings.storefront.accent_color",
        ),
        (
            json!({"custom_css": "@import 'https://evil.example/x.css';"}),
            "settings.storefront.custom_css",
        ),
        (
            json!({"custom_css": "body{background:url(https://evil.example/x)}"}),
            "settings.storefront.custom_css",
        ),
        (
            json!({"custom_css": "a{}".repeat(6000)}),
            "settings.storefront.custom_css",
        ),
        (json!({"font": "Comic Sans"}), "settings.storefront.font"),
        (json!({"language": "fr"}), "settings.storefront.language"),
        (
            json!({"logo": "https://evil.example/logo.png"}),
            "settings.storefront.logo",
        ),
        (
            json!({"logo": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b/0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c.png"}),
            "settings.storefront.logo",
        ),
    ] {
        let (status, body) =
            put_settings(&app, "acme", &token, json!({"storefront": storefront})).await;
        assert_eq!(status, 422, "{storefront}: {body}");
        let fields: Vec<&str> = body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert_eq!(fields, [field], "{body}");
    }
    // Nothing of it was saved: the shop's own stylesheet (where custom CSS
    // and colours go) has none of it.
    let shop_css = |home: String| {
        let i = home.find("/assets/shop-").expect("the shop's stylesheet");
        home[i..i + home[i..].find('"').unwrap()].to_owned()
    };
    let url = shop_css(get(&app, "acme", "/").await.body);
    let css = get(&app, "acme", &url).await;
    assert_eq!(css.status, 200);
    assert!(!css.body.contains("evil") && !css.body.contains("a{}a{}"));
    let (status, _) = put_settings(
        &app,
        "acme",
        &token,
        json!({"storefront": {"custom_css": ".hero { color: #123456 }", "accent_color": "#0f766e"}}),
    )
    .await;
    assert_eq!(status, 200);
    // ...and what is valid reaches that stylesheet (so the check above can fail).
    let url = shop_css(get(&app, "acme", "/").await.body);
    let css = get(&app, "acme", &url).await;
    assert!(
        css.body.contains(".hero { color: #123456 }"),
        "{}",
        css.body
    );
    app.stop().await;
}

#[tokio::test]
async fn the_site_stylesheet_is_served_under_its_hash_for_a_year() {
    let app = web_app().await;
    shop(&app, "acme").await;
    let home = get(&app, "acme", "/").await;
    let i = home.body.find("/assets/site-").unwrap();
    let url = &home.body[i..i + home.body[i..].find('"').unwrap()];
    let css = get(&app, "acme", url).await;
    assert_eq!(css.status, 200);
    assert_eq!(
        css.header("cache-control"),
        "public, max-age=31536000, immutable"
    );
    assert!(css.body.contains(":focus-visible"));
    assert_eq!(
        get(&app, "acme", "/assets/site-0000000000000000.css")
            .await
            .status,
        404
    );
    app.stop().await;
}

#[tokio::test]
async fn a_logo_is_one_of_the_shops_images_and_keeps_its_box_before_it_loads() {
    let app = web_app().await;
    let a = shop(&app, "acme").await;
    let b = shop(&app, "bolt").await;
    let poster = simple(&app, "acme", &a, "Poster", "PO-1", 1_000).await;
    let resp = crate::catalog_support::upload(
        &app,
        "acme",
        &a,
        poster["id"].as_str().unwrap(),
        &crate::catalog_support::png(300, 100),
        "image/png",
    )
    .await;
    assert_eq!(resp.status(), 201);
    let image: serde_json::Value = resp.json().await.unwrap();
    let url = image["image"]["url"].as_str().unwrap();
    let key = url.strip_prefix("/media/").unwrap().to_owned();

    // Another shop cannot borrow it, and a key of no image is refused.
    let (status, body) = put_settings(&app, "bolt", &b, json!({"storefront": {"logo": key}})).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"][0]["field"], "settings.storefront.logo");
    let missing = format!("{}.jpg", key.rsplit_once('.').unwrap().0);
    let (status, body) =
        put_settings(&app, "acme", &a, json!({"storefront": {"logo": missing}})).await;
    assert_eq!(status, 422, "{body}");

    // The size is read from the image, whatever the client claims.
    let (status, body) = put_settings(
        &app,
        "acme",
        &a,
        json!({"storefront": {"logo": key, "logo_size": [1, 1]}}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["settings"]["storefront"]["logo_size"],
        json!([300, 100])
    );
    let home = get(&app, "acme", "/").await;
    assert_eq!(home.status, 200);
    home.assert_safe();
    assert!(
        home.body.contains(&format!(
            "<img src=\"{url}\" alt=\"Shop acme\" width=\"120\" height=\"40\">"
        )),
        "{}",
        home.body
    );
    app.stop().await;
}
