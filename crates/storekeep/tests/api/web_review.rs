//! The storefront review's findings (issue 17), each through HTTP: the
//! public origin from configuration, rate limits and cache keys on pages,
//! rental terms seen at once, forward-compatible storefront settings, the
//! CSRF slot, errors, canonical URLs, accessibility and languages.

use serde_json::Value;
use storekeep_test_support::spawn_app_with;

use crate::catalog_support::{png, simple, upload};
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
        ld["offers"][0]["url"],
        "http://acme.shops.example/products/acme-anvil",
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
