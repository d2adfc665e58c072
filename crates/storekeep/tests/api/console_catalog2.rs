//! The console's product images, deals on chosen products, and CSV
//! import: each driven as a browser does (multipart uploads with the
//! form's upload token in its action), its effect checked through the
//! admin API or a cart; refused input, posts without the token, a viewer's
//! forged posts and another shop's records write nothing.

use reqwest::{Method, StatusCode};
use serde_json::Value;
use storekeep_test_support::{TestApp, spawn_app_with};

use crate::catalog_support::{body, multipart, png};
use crate::commerce_support::{Shop, cart_req, cart_with, selling_shop};
use crate::console_support::{staff_console, submit, web_app};
use crate::identity::admin;
use crate::web_browser::{Browser, Page, two_product_shop};
use crate::web_support::{BASE, get_at};

/// The action of the page's upload form (`enctype="multipart/form-data"`).
fn upload_action(page: &Page) -> String {
    let at = page
        .body
        .find("enctype=\"multipart/form-data\"")
        .unwrap_or_else(|| panic!("no upload form: {}", page.body));
    let start = page.body[..at].rfind("action=\"").unwrap() + "action=\"".len();
    let len = page.body[start..].find('"').unwrap();
    page.body[start..start + len].replace("&amp;", "&")
}

/// Posts a multipart body to `path` as a same-origin browser does.
async fn post_multipart(
    app: &TestApp,
    b: &Browser,
    path: &str,
    (content_type, bytes): (String, Vec<u8>),
) -> Page {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let cookie: Vec<String> = b.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let resp = client
        .post(format!("http://{}{path}", app.addr))
        .header("host", &b.host)
        .header("cookie", cookie.join("; "))
        .header("sec-fetch-site", "same-origin")
        .header("origin", format!("http://{}", b.host))
        .header("content-type", content_type)
        .body(bytes)
        .send()
        .await
        .unwrap();
    Page {
        status: resp.status(),
        location: resp
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned()),
        body: resp.text().await.unwrap(),
    }
}

/// A CSV file part named `file` (no alt part).
fn csv_file(text: &str) -> (String, Vec<u8>) {
    multipart(text.as_bytes(), "products.csv", "text/csv", None)
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

async fn api_images(app: &TestApp, s: &Shop) -> Vec<Value> {
    api_product(app, s, &s.product).await["images"]
        .as_array()
        .unwrap()
        .clone()
}

async fn api_deals(app: &TestApp, s: &Shop) -> Vec<Value> {
    let resp = admin(app, &s.slug, &s.token, Method::GET, "/api/v1/admin/deals")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    body(resp).await["items"].as_array().unwrap().clone()
}

async fn api_handles(app: &TestApp, s: &Shop) -> Vec<String> {
    let resp = admin(
        app,
        &s.slug,
        &s.token,
        Method::GET,
        "/api/v1/admin/products",
    )
    .send()
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
    body(resp).await["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["handle"].as_str().unwrap().to_owned())
        .collect()
}

fn cookie_of(b: &Browser) -> String {
    b.jar
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ")
}

#[tokio::test]
async fn console_image_uploaded_in_the_console_is_listed_by_the_api_with_its_alt_text() {
    let app = web_app().await;
    let s = selling_shop(&app, "cimg", 1999, 5).await;
    let mut b = staff_console(&app, "cimg", "owner").await;
    let path = format!("/console/products/{}", s.product);
    let page = b.get(&path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("No images yet."));
    let action = upload_action(&page);
    assert!(
        action.starts_with(&format!("{path}/images?csrf=")),
        "{action}"
    );

    let png = png(8, 6);
    let done = post_multipart(
        &app,
        &b,
        &action,
        multipart(&png, "red.png", "image/png", Some("A red laptop, lid open")),
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let images = api_images(&app, &s).await;
    assert_eq!(images.len(), 1, "{images:?}");
    assert_eq!(images[0]["alt"], "A red laptop, lid open");
    assert_eq!(
        (images[0]["width"].as_u64(), images[0]["height"].as_u64()),
        (Some(8), Some(6))
    );
    let shown = b.follow(done).await;
    assert!(
        shown.body.contains("The image was added."),
        "{}",
        shown.body
    );
    assert!(shown.body.contains("A red laptop, lid open"));
    // The image store serves what was uploaded.
    let url = images[0]["url"].as_str().unwrap();
    let media = app
        .client
        .get(app.url(&url[url.find("/media/").unwrap()..]))
        .header("host", format!("cimg.{BASE}"))
        .send()
        .await
        .unwrap();
    assert_eq!(media.status(), 200);
    assert_eq!(media.bytes().await.unwrap().as_ref(), &png[..]);
    let safe = get_at(&app, &b.host, &path, &[("cookie", &cookie_of(&b))]).await;
    safe.assert_safe();

    // Removed from the page: gone from the API too.
    let id = images[0]["id"].as_str().unwrap();
    let gone = submit(&mut b, &shown, &format!("{path}/images/{id}/delete"), &[]).await;
    assert_eq!(gone.status, StatusCode::SEE_OTHER, "{}", gone.body);
    assert!(api_images(&app, &s).await.is_empty());
    let after = b.follow(gone).await;
    assert!(after.body.contains("The image was removed."));
}

#[tokio::test]
async fn console_image_post_without_a_valid_upload_token_is_refused_and_stores_nothing() {
    let app = web_app().await;
    let s = selling_shop(&app, "cimgtok", 1999, 5).await;
    let mut b = staff_console(&app, "cimgtok", "owner").await;
    let path = format!("/console/products/{}", s.product);
    let page = b.get(&path).await;
    let form_token = page.csrf();
    let images = format!("{path}/images");
    for target in [
        images.clone(),
        format!("{images}?csrf=not-a-token"),
        // The ordinary form token is no upload token.
        format!("{images}?csrf={form_token}"),
    ] {
        let sent = post_multipart(
            &app,
            &b,
            &target,
            multipart(&png(4, 4), "a.png", "image/png", Some("x")),
        )
        .await;
        assert_eq!(
            sent.status,
            StatusCode::FORBIDDEN,
            "{target}: {}",
            sent.body
        );
    }
    // Another product's upload token is not this product's.
    let other =
        crate::catalog_support::simple(&app, "cimgtok", &s.token, "Dock", "cimgtok-D", 500).await;
    let other_page = b
        .get(&format!(
            "/console/products/{}",
            other["id"].as_str().unwrap()
        ))
        .await;
    let other_action = upload_action(&other_page);
    let token = &other_action[other_action.find("?csrf=").unwrap()..];
    let sent = post_multipart(
        &app,
        &b,
        &format!("{images}{token}"),
        multipart(&png(4, 4), "a.png", "image/png", Some("x")),
    )
    .await;
    assert_eq!(sent.status, StatusCode::FORBIDDEN);
    assert!(api_images(&app, &s).await.is_empty());
}

#[tokio::test]
async fn console_a_file_that_is_no_image_is_refused_beside_the_field_and_nothing_is_stored() {
    let app = web_app().await;
    let s = selling_shop(&app, "cimgbad", 1999, 5).await;
    let mut b = staff_console(&app, "cimgbad", "owner").await;
    let page = b.get(&format!("/console/products/{}", s.product)).await;
    let action = upload_action(&page);
    let text = post_multipart(
        &app,
        &b,
        &action,
        multipart(
            b"just some words",
            "notes.txt",
            "text/plain",
            Some("Kept alt"),
        ),
    )
    .await;
    assert_eq!(
        text.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        text.body
    );
    assert!(
        text.body.contains("id=\"image-file-error\""),
        "{}",
        text.body
    );
    assert!(
        text.body
            .contains("aria-invalid=\"true\" aria-describedby=\"image-file-error\"")
    );
    assert!(text.body.contains("value=\"Kept alt\""));
    // A PNG declared as a JPEG, and no file at all.
    let liar = post_multipart(
        &app,
        &b,
        &action,
        multipart(&png(4, 4), "a.jpg", "image/jpeg", None),
    )
    .await;
    assert_eq!(
        liar.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        liar.body
    );
    let none = post_multipart(
        &app,
        &b,
        &action,
        multipart(b"", "", "application/octet-stream", None),
    )
    .await;
    assert_eq!(
        none.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        none.body
    );
    assert!(none.body.contains("Choose an image file"));
    assert!(api_images(&app, &s).await.is_empty());
    // Another shop's product, and its image: 404 pages.
    let other = selling_shop(&app, "cimgother", 100, 1).await;
    let up = crate::catalog_support::upload(
        &app,
        "cimgother",
        &other.token,
        &other.product,
        &png(4, 4),
        "image/png",
    )
    .await;
    assert_eq!(up.status(), 201);
    let theirs = body(up).await["image"]["id"].as_str().unwrap().to_owned();
    let foreign_page = b.get(&format!("/console/products/{}", other.product)).await;
    assert_eq!(foreign_page.status, StatusCode::NOT_FOUND);
    for target in [
        format!("/console/products/{}/images/{theirs}/delete", s.product),
        format!("/console/products/{}/images/{theirs}/delete", other.product),
    ] {
        let gone = submit(&mut b, &page, &target, &[]).await;
        assert_eq!(
            gone.status,
            StatusCode::NOT_FOUND,
            "{target}: {}",
            gone.body
        );
    }
    assert_eq!(api_images(&app, &other).await.len(), 1);
}

#[tokio::test]
async fn console_an_image_over_the_size_limit_is_refused_and_nothing_is_stored() {
    let app = spawn_app_with(|s| {
        s.base_domain = Some(storekeep_domain::DomainName::parse(BASE).unwrap());
        s.media.max_image_bytes = 2_000;
    })
    .await;
    let s = selling_shop(&app, "cimgbig", 900, 1).await;
    let mut b = staff_console(&app, "cimgbig", "owner").await;
    let page = b.get(&format!("/console/products/{}", s.product)).await;
    let action = upload_action(&page);
    // About 4.8 KB: over the 2 KB limit.
    let big = post_multipart(
        &app,
        &b,
        &action,
        multipart(&png(40, 40), "big.png", "image/png", None),
    )
    .await;
    assert_eq!(big.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", big.body);
    assert!(big.body.contains("The image is too large"), "{}", big.body);
    // Past the body limit itself (the image limit and its framing).
    let huge = post_multipart(
        &app,
        &b,
        &action,
        multipart(&png(200, 200), "huge.png", "image/png", None),
    )
    .await;
    assert_eq!(huge.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", huge.body);
    assert!(api_images(&app, &s).await.is_empty());
}

async fn cart_discount(app: &TestApp, s: &Shop, variant: &str) -> i64 {
    let (cart, token) = cart_with(app, &s.slug, &[(variant, 1)]).await;
    let resp = cart_req(
        app,
        &s.slug,
        &token,
        Method::GET,
        &format!("/api/v1/store/carts/{cart}"),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
    let c = body(resp).await["cart"].clone();
    c["discount"]["amount"].as_i64().unwrap_or(0)
}

#[tokio::test]
async fn console_a_deal_on_one_product_discounts_it_in_a_cart_and_not_another() {
    let app = web_app().await;
    let (s, dock) = two_product_shop(&app, "cdealp").await;
    let mut b = staff_console(&app, "cdealp", "owner").await;
    let form = b.get("/console/deals/new").await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    let safe = get_at(
        &app,
        &b.host,
        "/console/deals/new",
        &[("cookie", &cookie_of(&b))],
    )
    .await;
    safe.assert_safe();
    let fields = [
        ("name", "Laptop week"),
        ("kind", "percent"),
        ("value", "10"),
        ("applies_to", "products"),
    ];
    // Chosen products: none yet, so the field says so and nothing is made.
    let none = submit(&mut b, &form, "/console/deals/new", &fields).await;
    assert_eq!(
        none.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        none.body
    );
    assert!(none.body.contains("id=\"products-error\""), "{}", none.body);
    assert!(none.body.contains("Choose at least one product"));
    // Another shop's product is refused by the service, beside the field.
    let other = selling_shop(&app, "cdealo", 100, 1).await;
    let mut foreign = fields.to_vec();
    foreign.push(("product", &other.product));
    let refused = submit(&mut b, &form, "/console/deals/new", &foreign).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert!(
        refused.body.contains("id=\"products-error\""),
        "{}",
        refused.body
    );
    assert!(api_deals(&app, &s).await.is_empty());

    // The search finds the laptop; nothing is written by searching.
    let mut search = fields.to_vec();
    search.extend([("q", "refurbished-thinkpad"), ("action", "search")]);
    let found = submit(&mut b, &form, "/console/deals/new", &search).await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);
    assert!(
        found.body.contains(&format!(
            "name=\"product\" type=\"checkbox\" value=\"{}\"",
            s.product
        )),
        "{}",
        found.body
    );
    assert!(found.body.contains("value=\"Laptop week\""));
    assert!(api_deals(&app, &s).await.is_empty());
    let mut chosen = fields.to_vec();
    chosen.push(("product", &s.product));
    let done = submit(&mut b, &found, "/console/deals/new", &chosen).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let deals = api_deals(&app, &s).await;
    assert_eq!(deals.len(), 1);
    assert_eq!(deals[0]["applies_to"], "products");
    assert_eq!(deals[0]["product_ids"], serde_json::json!([s.product]));
    let list = b.follow(done).await;
    assert!(list.body.contains("The deal was created."));

    assert_eq!(cart_discount(&app, &s, &s.variant).await, 200);
    assert_eq!(cart_discount(&app, &s, &dock).await, 0);
}

#[tokio::test]
async fn console_csv_import_creates_the_good_row_and_names_the_bad_rows_line_and_column() {
    let app = web_app().await;
    let s = selling_shop(&app, "cimp", 1999, 5).await;
    let mut b = staff_console(&app, "cimp", "owner").await;
    let products = b.get("/console/products").await;
    assert!(products.body.contains("href=\"/console/products/import\""));
    let page = b.get("/console/products/import").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let safe = get_at(
        &app,
        &b.host,
        "/console/products/import",
        &[("cookie", &cookie_of(&b))],
    )
    .await;
    safe.assert_safe();
    let action = upload_action(&page);

    // A file the service cannot read: nothing written, the reason shown.
    let unknown = post_multipart(
        &app,
        &b,
        &action,
        csv_file("handle,title,sku,price,colour\nx,X,X-1,100,red\n"),
    )
    .await;
    assert_eq!(
        unknown.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        unknown.body
    );
    assert!(unknown.body.contains("unknown column"), "{}", unknown.body);
    assert!(
        unknown
            .body
            .contains("aria-describedby=\"import-file-error\"")
    );
    assert!(!api_handles(&app, &s).await.contains(&"x".to_owned()));

    let csv = "handle,title,sku,price,inventory\n\
               desk-lamp,Desk lamp,LAMP-1,2500,4\n\
               broken,Broken row,BRK-1,abc,1\n";
    let sent = post_multipart(&app, &b, &action, csv_file(csv)).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    // Imported in the background: its page says done once the job ran.
    let at = sent.location.expect("the import's page");
    let mut done = b.get(&at).await;
    for _ in 0..600 {
        if done.body.contains("data-import=\"status\">Done<") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        done = b.get(&at).await;
    }
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(
        done.body.contains("data-import=\"created\">1<"),
        "{}",
        done.body
    );
    assert!(done.body.contains("data-import=\"failed\">1<"));
    let at = done
        .body
        .find("data-row-error=\"3\"")
        .expect("line 3 listed");
    let row = &done.body[at..at + done.body[at..].find("</tr>").unwrap()];
    assert!(row.contains("<code>price</code>"), "{row}");
    assert!(row.contains("is not a whole number"), "{row}");
    let handles = api_handles(&app, &s).await;
    assert!(handles.contains(&"desk-lamp".to_owned()), "{handles:?}");
    assert!(!handles.contains(&"broken".to_owned()));
}

#[tokio::test]
async fn console_viewer_sees_no_image_deal_or_import_forms_and_forged_posts_are_refused() {
    let app = web_app().await;
    let s = selling_shop(&app, "cview2", 1999, 5).await;
    for role in ["viewer"] {
        crate::identity::cli_staff(&app, "cview2", &format!("{role}@cview2.example"), role).await;
    }
    // An image to try to remove.
    let up = crate::catalog_support::upload(
        &app,
        "cview2",
        &s.token,
        &s.product,
        &png(4, 4),
        "image/png",
    )
    .await;
    assert_eq!(up.status(), 201);
    let image = body(up).await["image"]["id"].as_str().unwrap().to_owned();

    let mut b = staff_console(&app, "cview2", "viewer").await;
    let path = format!("/console/products/{}", s.product);
    let page = b.get(&path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("A picture"), "{}", page.body);
    assert!(!page.body.contains("multipart/form-data"));
    assert!(!page.body.contains("/delete\""));
    let list = b.get("/console/products").await;
    assert!(!list.body.contains("/console/products/import"));
    // The import page lists the shop's imports, without the upload form.
    let imports = b.get("/console/products/import").await;
    assert_eq!(imports.status, StatusCode::OK, "{}", imports.body);
    assert!(!imports.body.contains("multipart/form-data"));
    assert_eq!(
        b.get("/console/deals/new").await.status,
        StatusCode::FORBIDDEN
    );

    // Forged posts with the viewer's own valid token.
    let removed = submit(&mut b, &page, &format!("{path}/images/{image}/delete"), &[]).await;
    assert_eq!(removed.status, StatusCode::FORBIDDEN, "{}", removed.body);
    let deal = submit(
        &mut b,
        &page,
        "/console/deals/new",
        &[
            ("name", "Mine"),
            ("kind", "percent"),
            ("value", "50"),
            ("applies_to", "products"),
            ("product", &s.product),
        ],
    )
    .await;
    assert_eq!(deal.status, StatusCode::FORBIDDEN, "{}", deal.body);
    // Uploads: the viewer is given no upload token, and one of the form's
    // kind is refused.
    let token = page.csrf();
    let upload = post_multipart(
        &app,
        &b,
        &format!("{path}/images?csrf={token}"),
        multipart(&png(4, 4), "a.png", "image/png", None),
    )
    .await;
    assert_eq!(upload.status, StatusCode::FORBIDDEN);
    let import = post_multipart(
        &app,
        &b,
        &format!("/console/products/import?csrf={token}"),
        csv_file("handle,title,sku,price\nv,V,V-1,100\n"),
    )
    .await;
    assert_eq!(import.status, StatusCode::FORBIDDEN);

    assert_eq!(api_images(&app, &s).await.len(), 1);
    assert!(api_deals(&app, &s).await.is_empty());
    assert!(!api_handles(&app, &s).await.contains(&"v".to_owned()));
}

#[tokio::test]
async fn console_image_uploaded_with_s3_media_is_served_from_the_bucket() {
    let Some((endpoint, bucket)) = crate::catalog_support::s3_env() else {
        return;
    };
    let app = spawn_app_with(|s| {
        s.base_domain = Some(storekeep_domain::DomainName::parse(BASE).unwrap());
        s.media.s3_bucket = Some(bucket.clone());
        s.media.s3_endpoint = Some(endpoint.clone());
        s.media.s3_access_key_id = Some("test".into());
        s.media.s3_secret_access_key = Some(storekeep::config::Secret::new("test"));
    })
    .await;
    let s = selling_shop(&app, "cimgs3", 1999, 5).await;
    let b = staff_console(&app, "cimgs3", "owner").await;
    let page = {
        let mut b = staff_console(&app, "cimgs3", "owner").await;
        b.get(&format!("/console/products/{}", s.product)).await
    };
    // The page's token is bound to its own session: the other browser's
    // upload is refused, this one's accepted.
    let action = upload_action(&page);
    let picture = png(12, 9);
    let refused = post_multipart(
        &app,
        &b,
        &action,
        multipart(&picture, "p.png", "image/png", Some("Poster")),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let mut b = b;
    let page = b.get(&format!("/console/products/{}", s.product)).await;
    let done = post_multipart(
        &app,
        &b,
        &upload_action(&page),
        multipart(&picture, "p.png", "image/png", Some("Poster")),
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let images = api_images(&app, &s).await;
    assert_eq!(images.len(), 1);
    assert_eq!(images[0]["alt"], "Poster");
    let url = images[0]["url"].as_str().unwrap();
    let served = app
        .client
        .get(app.url(&url[url.find("/media/").unwrap()..]))
        .header("host", format!("cimgs3.{BASE}"))
        .send()
        .await
        .unwrap();
    assert_eq!(served.status(), 200);
    assert_eq!(served.bytes().await.unwrap().as_ref(), &picture[..]);
}
