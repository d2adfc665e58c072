//! The console's products: the list with search and filters, a new
//! product, editing one, adding a variant, adjusting stock with its
//! ledger, the CSV export; what a viewer sees and may post; another
//! shop's records.

use reqwest::{Method, StatusCode};
use serde_json::Value;
use storekeep_test_support::TestApp;

use crate::catalog_support::body;
use crate::commerce_support::{Shop, selling_shop, stock};
use crate::console_support::{staff_console, submit, web_app};
use crate::identity::{admin, cli_staff};
use crate::web_browser::Browser;
use crate::web_support::{get_at, host};

/// A selling shop `slug` (its product "Refurbished ThinkPad", SKU
/// `{slug}-TP`, 19.99, 10 in stock) with a viewer; the owner's console.
async fn shop_with_console(app: &TestApp, slug: &str) -> (Shop, Browser) {
    let s = selling_shop(app, slug, 1999, 10).await;
    cli_staff(app, slug, &format!("viewer@{slug}.example"), "viewer").await;
    let b = staff_console(app, slug, "owner").await;
    (s, b)
}

/// Fetches `path` with `b`'s cookies and checks the page is HTML under the
/// strict CSP without inline script or style.
async fn assert_safe(app: &TestApp, b: &Browser, path: &str) {
    let cookie: Vec<String> = b.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let page = get_at(app, &b.host, path, &[("cookie", &cookie.join("; "))]).await;
    assert_eq!(page.status, 200, "{path}: {}", page.body);
    page.assert_safe();
}

async fn api_product(app: &TestApp, s: &Shop, id: &str) -> Value {
    let resp = admin(
        app,
        &s.slug,
        &s.token,
        Method::GET,
        &format!("/api/v1/admin/products/{id}"),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
    body(resp).await["product"].clone()
}

async fn ledger_len(app: &TestApp, s: &Shop) -> usize {
    let resp = admin(
        app,
        &s.slug,
        &s.token,
        Method::GET,
        &format!("/api/v1/admin/variants/{}/inventory", s.variant),
    )
    .send()
    .await
    .unwrap();
    body(resp).await["items"].as_array().unwrap().len()
}

fn adjust_path(s: &Shop) -> String {
    format!(
        "/console/products/{}/variants/{}/adjust",
        s.product, s.variant
    )
}

#[tokio::test]
async fn console_stock_adjustment_lands_in_the_ledger_and_below_zero_is_refused() {
    let app = web_app().await;
    let (s, mut b) = shop_with_console(&app, "cstock").await;
    let product_path = format!("/console/products/{}", s.product);
    let page = b.get(&product_path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("cstock-TP"), "{}", page.body);
    assert!(page.body.contains("19.99"));
    assert_safe(&app, &b, &product_path).await;

    let done = submit(
        &mut b,
        &page,
        &adjust_path(&s),
        &[("delta", "+5"), ("reason", "found in the back room")],
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let ledger = b.follow(done).await;
    assert_eq!(ledger.status, StatusCode::OK);
    assert!(ledger.body.contains("role=\"status\""), "{}", ledger.body);
    let entry = &ledger.body[ledger.body.find("class=\"ledger-entry\"").unwrap()..];
    assert!(entry.contains(">+5<"), "{entry}");
    assert!(entry.contains("found in the back room"));
    assert!(entry.contains("staff:"), "the actor: {entry}");
    assert!(entry.contains(">15<"), "on hand after: {entry}");
    assert_eq!(stock(&app, &s).await.0, 15);
    let ledger_path = format!(
        "/console/products/{}/variants/{}/ledger",
        s.product, s.variant
    );
    assert_safe(&app, &b, &ledger_path).await;

    // Below zero: the page again with the message beside the change,
    // nothing written.
    let before = ledger_len(&app, &s).await;
    let refused = submit(
        &mut b,
        &ledger,
        &adjust_path(&s),
        &[("delta", "-100"), ("reason", "stocktake")],
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.body.contains("id=\"delta-error\""),
        "{}",
        refused.body
    );
    assert!(refused.body.contains("aria-invalid=\"true\""));
    assert!(
        refused.body.contains("value=\"-100\""),
        "the typed value stays"
    );
    // Not a number, and no reason: 422 each, nothing written.
    let typo = submit(
        &mut b,
        &ledger,
        &adjust_path(&s),
        &[("delta", "five"), ("reason", "x")],
    )
    .await;
    assert_eq!(typo.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(typo.body.contains("Enter a whole number"), "{}", typo.body);
    let no_reason = submit(
        &mut b,
        &ledger,
        &adjust_path(&s),
        &[("delta", "1"), ("reason", "  ")],
    )
    .await;
    assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        no_reason.body.contains("id=\"reason-error\""),
        "{}",
        no_reason.body
    );
    assert_eq!(stock(&app, &s).await.0, 15);
    assert_eq!(ledger_len(&app, &s).await, before);
}

#[tokio::test]
async fn console_edits_a_product_and_search_and_filters_find_it() {
    let app = web_app().await;
    let (s, mut b) = shop_with_console(&app, "cedit").await;
    let path = format!("/console/products/{}", s.product);
    let page = b.get(&path).await;
    let handle = page.input("handle").unwrap();

    // An empty title: 422 beside the field, nothing saved.
    let bad = submit(
        &mut b,
        &page,
        &path,
        &[
            ("title", " "),
            ("handle", &handle),
            ("description", "x"),
            ("status", "active"),
        ],
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("id=\"title-error\""), "{}", bad.body);
    assert_eq!(
        api_product(&app, &s, &s.product).await["title"],
        "Refurbished ThinkPad"
    );

    let saved = submit(
        &mut b,
        &page,
        &path,
        &[
            ("title", "Refurbished ThinkPad Carbon"),
            ("handle", "thinkpad-carbon"),
            ("description", "Graded A, new battery."),
            ("status", "active"),
        ],
    )
    .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let shown = b.follow(saved).await;
    assert!(shown.body.contains("The product was saved."));
    let p = api_product(&app, &s, &s.product).await;
    assert_eq!(p["title"], "Refurbished ThinkPad Carbon");
    assert_eq!(p["handle"], "thinkpad-carbon");
    assert_eq!(p["description"], "Graded A, new battery.");

    // A new draft product through the console.
    let form = b.get("/console/products/new").await;
    assert_eq!(form.status, StatusCode::OK);
    assert_safe(&app, &b, "/console/products/new").await;
    let bad_price = submit(
        &mut b,
        &form,
        "/console/products/new",
        &[
            ("title", "Docking station"),
            ("status", "draft"),
            ("sku", "cedit-DOCK"),
            ("price", "fifty"),
            ("stock", "3"),
        ],
    )
    .await;
    assert_eq!(bad_price.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad_price.body.contains("id=\"price-error\""));
    let created = submit(
        &mut b,
        &form,
        "/console/products/new",
        &[
            ("title", "Docking station"),
            ("status", "draft"),
            ("sku", "cedit-DOCK"),
            ("price", "50.00"),
            ("stock", "3"),
        ],
    )
    .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let dock = b.follow(created).await;
    assert!(dock.body.contains("The product was created."));
    assert!(dock.body.contains("50.00"));

    // Search: by words (active products), by exact handle (any status).
    let found = b.get("/console/products?q=carbon").await;
    assert_eq!(found.status, StatusCode::OK);
    assert!(
        found.body.contains("Refurbished ThinkPad Carbon"),
        "{}",
        found.body
    );
    assert!(!found.body.contains("Docking station"));
    let by_handle = b.get("/console/products?q=docking-station").await;
    assert!(
        by_handle.body.contains("Docking station"),
        "{}",
        by_handle.body
    );
    let none = b.get("/console/products?q=nothinglikethis").await;
    assert!(none.body.contains("No products match."));

    // Filters.
    let drafts = b.get("/console/products?status=draft").await;
    assert!(drafts.body.contains("Docking station"));
    assert!(!drafts.body.contains("ThinkPad Carbon"));
    let all = b.get("/console/products").await;
    assert!(all.body.contains("Docking station") && all.body.contains("ThinkPad Carbon"));
    assert_safe(&app, &b, "/console/products?status=active").await;
    for bad in [
        "/console/products?status=bogus",
        "/console/products?in_stock=maybe",
        "/console/products?after=not-a-cursor",
    ] {
        let page = b.get(bad).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{bad}: {}", page.body);
    }
}

#[tokio::test]
async fn console_adds_a_variant_and_a_taken_sku_is_refused() {
    let app = web_app().await;
    let (s, mut b) = shop_with_console(&app, "cvar").await;
    let path = format!("/console/products/{}", s.product);
    let page = b.get(&path).await;
    let to = format!("{path}/variants");
    let taken = submit(
        &mut b,
        &page,
        &to,
        &[("sku", "cvar-TP"), ("price", "25.00"), ("stock", "2")],
    )
    .await;
    assert_eq!(taken.status, StatusCode::CONFLICT, "{}", taken.body);
    assert!(taken.body.contains("id=\"v-sku-error\""), "{}", taken.body);
    assert_eq!(
        api_product(&app, &s, &s.product).await["variants"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let added = submit(
        &mut b,
        &page,
        &to,
        &[
            ("sku", "cvar-TP-32"),
            ("title", "32 GB"),
            ("price", "25.00"),
            ("stock", "2"),
        ],
    )
    .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    let shown = b.follow(added).await;
    assert!(shown.body.contains("cvar-TP-32") && shown.body.contains("25.00"));
    let p = api_product(&app, &s, &s.product).await;
    let v = &p["variants"][1];
    assert_eq!(v["sku"], "cvar-TP-32");
    assert_eq!(v["price"]["amount"], 2500);
    assert_eq!(v["inventory"]["on_hand"], 2);
    // The list shows the price range and the stock of both.
    let list = b.get("/console/products").await;
    assert!(list.body.contains("$19.99 – $25.00"), "{}", list.body);
}

#[tokio::test]
async fn console_viewer_sees_no_stock_form_and_a_forged_adjust_is_refused() {
    let app = web_app().await;
    let (s, _) = shop_with_console(&app, "cview").await;
    let mut v = staff_console(&app, "cview", "viewer").await;
    let path = format!("/console/products/{}", s.product);
    let page = v.get(&path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("cview-TP"));
    assert!(!page.body.contains("name=\"delta\""), "{}", page.body);
    assert!(!page.body.contains("Save product"));
    assert!(!page.body.contains("Add variant"));
    let list = v.get("/console/products").await;
    assert!(!list.body.contains("New product"));
    assert_eq!(
        v.get("/console/products/new").await.status,
        StatusCode::FORBIDDEN
    );

    // The layout's sign-out form carries the viewer's valid token.
    let forged = submit(
        &mut v,
        &page,
        &adjust_path(&s),
        &[("delta", "-3"), ("reason", "forged")],
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);
    let edit = submit(
        &mut v,
        &page,
        &path,
        &[
            ("title", "Forged"),
            ("handle", "forged"),
            ("status", "draft"),
        ],
    )
    .await;
    assert_eq!(edit.status, StatusCode::FORBIDDEN);
    assert_eq!(stock(&app, &s).await.0, 10);
    assert_eq!(
        api_product(&app, &s, &s.product).await["title"],
        "Refurbished ThinkPad"
    );
    // Without the token at all: refused before any handler.
    let bare = v
        .post(&adjust_path(&s), &[("delta", "1"), ("reason", "no token")])
        .await;
    assert_eq!(bare.status, StatusCode::FORBIDDEN);
    assert_eq!(stock(&app, &s).await.0, 10);
}

#[tokio::test]
async fn console_another_shops_product_is_not_found() {
    let app = web_app().await;
    let (theirs, _) = shop_with_console(&app, "cother").await;
    let (_, mut b) = shop_with_console(&app, "cmine").await;
    let path = format!("/console/products/{}", theirs.product);
    let page = b.get(&path).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND, "{}", page.body);
    let ledger = b
        .get(&format!(
            "/console/products/{}/variants/{}/ledger",
            theirs.product, theirs.variant
        ))
        .await;
    assert_eq!(ledger.status, StatusCode::NOT_FOUND);
    let mine = b.get("/console/products").await;
    let forged = submit(
        &mut b,
        &mine,
        &adjust_path(&theirs),
        &[("delta", "5"), ("reason", "not mine")],
    )
    .await;
    assert_eq!(forged.status, StatusCode::NOT_FOUND);
    let edit = submit(
        &mut b,
        &mine,
        &path,
        &[
            ("title", "Mine now"),
            ("handle", "mine"),
            ("status", "draft"),
        ],
    )
    .await;
    assert_eq!(edit.status, StatusCode::NOT_FOUND);
    assert_eq!(stock(&app, &theirs).await.0, 10);
    assert_eq!(
        b.get("/console/products/not-an-id").await.status,
        StatusCode::NOT_FOUND
    );
    assert!(!mine.body.contains("cother-TP"));
}

#[tokio::test]
async fn console_export_is_the_admin_csv() {
    let app = web_app().await;
    let (s, mut b) = shop_with_console(&app, "cexp").await;
    let page = b.get("/console/products/export").await;
    assert_eq!(page.status, StatusCode::OK);
    let resp = admin(
        &app,
        &s.slug,
        &s.token,
        Method::GET,
        "/api/v1/admin/exports/products",
    )
    .send()
    .await
    .unwrap();
    let csv = resp.text().await.unwrap();
    assert_eq!(page.body, csv);
    assert!(csv.contains("cexp-TP"));
    let direct = get_at(&app, &host("cexp"), "/console/products/export", &[]).await;
    // Signed out: the sign-in page (the client follows the redirect), no CSV.
    assert!(!direct.body.contains("cexp-TP"), "{}", direct.body);
    assert!(direct.body.contains("Sign in"), "{}", direct.body);
}

#[tokio::test]
async fn console_product_list_pages_by_keyset_with_its_filters() {
    let app = web_app().await;
    let (s, mut b) = shop_with_console(&app, "cpage").await;
    for i in 0..50 {
        crate::catalog_support::simple(
            &app,
            &s.slug,
            &s.token,
            &format!("Item {i:02}"),
            &format!("cpage-{i:02}"),
            100,
        )
        .await;
    }
    let first = b.get("/console/products?status=active").await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.body.matches("data-product=").count(), 50);
    let at = first.body.find("rel=\"next\"").expect("a next page link");
    let href_at = first.body[..at].rfind("href=\"").unwrap() + 6;
    let href = first.body[href_at..href_at + first.body[href_at..].find('"').unwrap()]
        .replace("&#x2f;", "/")
        .replace("&#47;", "/")
        .replace("&#x3d;", "=")
        .replace("&#61;", "=")
        .replace("&#38;", "&")
        .replace("&amp;", "&");
    assert!(
        href.starts_with("/console/products?status=active&after="),
        "{href}"
    );
    let second = b.get(&href).await;
    assert_eq!(second.status, StatusCode::OK);
    assert_eq!(second.body.matches("data-product=").count(), 1);
    assert!(!second.body.contains("rel=\"next\""));
    // The oldest (the shop's first product) comes last.
    assert!(second.body.contains("Refurbished ThinkPad"));
}
