//! Resized image variants (issue 17): made once at upload, listed with the
//! image, served from `/media/{key}`, removed with the image, counted
//! toward the plan's storage, made later for older images by `storekeep
//! media variants`, carried by a shop's export; on the local store and on
//! an S3-compatible bucket (moto).

use std::io::Cursor;
use std::path::{Path, PathBuf};

use reqwest::Method;
use serde_json::{Value, json};
use storekeep_test_support::{TestApp, TestDb, problem, spawn_app, spawn_app_on, spawn_app_with};

use crate::catalog_support::{body, create_plan, s3_env, shop, simple, upload};
use crate::identity::admin;

/// A photo-like JPEG of `w` × `h`.
fn jpeg(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x % 251) as u8, (y % 241) as u8, ((x * y) % 239) as u8])
    });
    let mut out = Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut out, image::ImageFormat::Jpeg)
        .unwrap();
    out.into_inner()
}

/// A PNG of `w` × `h` whose left half is transparent.
fn png_alpha(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbaImage::from_fn(w, h, |x, y| {
        image::Rgba([
            (x % 256) as u8,
            (y % 256) as u8,
            90,
            if x < w / 2 { 0 } else { 255 },
        ])
    });
    let mut out = Cursor::new(Vec::new());
    image::DynamicImage::ImageRgba8(img)
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

/// Every file under the local media store.
fn media_files(app: &TestApp) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(&app.db.dir.path().join("media"), &mut out);
    out.sort();
    out
}

async fn get_product(app: &TestApp, token: &str, id: &str) -> Value {
    body(
        admin(
            app,
            "acme",
            token,
            Method::GET,
            &format!("/api/v1/admin/products/{id}"),
        )
        .send()
        .await
        .unwrap(),
    )
    .await["product"]
        .clone()
}

/// Fetches `url`: status, content type, cache control, bytes.
async fn fetch(app: &TestApp, url: &str) -> (u16, String, String, Vec<u8>) {
    let resp = app.get(url).await;
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let (status, ct, cc) = (
        resp.status().as_u16(),
        header("content-type"),
        header("cache-control"),
    );
    (status, ct, cc, resp.bytes().await.unwrap().to_vec())
}

/// The variants' (width, height, content type), in the order listed.
fn shapes(image: &Value) -> Vec<(u64, u64, String)> {
    image["variants"]
        .as_array()
        .unwrap_or_else(|| panic!("variants listed: {image}"))
        .iter()
        .map(|v| {
            (
                v["width"].as_u64().unwrap(),
                v["height"].as_u64().unwrap(),
                v["content_type"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn shape(w: u64, h: u64, ct: &str) -> (u64, u64, String) {
    (w, h, ct.to_owned())
}

/// Fetches every variant and decodes it: the bytes must be an image of the
/// listed format and size, served with its content type and a long cache
/// lifetime; returns whether each has transparency.
async fn check_variants_served(app: &TestApp, image: &Value) -> Vec<bool> {
    let mut alpha = Vec::new();
    for v in image["variants"].as_array().unwrap() {
        let url = v["url"].as_str().unwrap();
        let (status, ct, cc, bytes) = fetch(app, url).await;
        assert_eq!(status, 200, "{url}");
        assert_eq!(ct, v["content_type"].as_str().unwrap(), "{url}");
        assert!(
            cc.contains("max-age=31536000") && cc.contains("immutable"),
            "{cc}"
        );
        assert_eq!(v["size_bytes"], bytes.len(), "{url}");
        let format = image::guess_format(&bytes).unwrap();
        let expected = match v["content_type"].as_str().unwrap() {
            "image/jpeg" => image::ImageFormat::Jpeg,
            "image/png" => image::ImageFormat::Png,
            "image/webp" => image::ImageFormat::WebP,
            other => panic!("unexpected variant type {other}"),
        };
        assert_eq!(format, expected, "{url}");
        let decoded = image::load_from_memory(&bytes).unwrap_or_else(|e| panic!("{url}: {e}"));
        assert_eq!(
            (u64::from(decoded.width()), u64::from(decoded.height())),
            (v["width"].as_u64().unwrap(), v["height"].as_u64().unwrap()),
            "{url}"
        );
        alpha.push(decoded.color().has_alpha());
    }
    alpha
}

#[tokio::test]
async fn a_jpeg_and_a_transparent_png_get_their_variants_once_at_upload() {
    let app = spawn_app().await;
    let (owner, _) = shop(&app, "acme", None).await;
    let product = simple(&app, "acme", &owner, "Poster", "POSTER-1", 1500).await;
    let pid = product["id"].as_str().unwrap();

    let photo = jpeg(2000, 1500);
    let image =
        body(upload(&app, "acme", &owner, pid, &photo, "image/jpeg").await).await["image"].clone();
    assert_eq!(
        shapes(&image),
        vec![
            shape(1200, 900, "image/jpeg"),
            shape(1200, 900, "image/webp"),
            shape(480, 360, "image/jpeg"),
            shape(480, 360, "image/webp"),
            shape(160, 120, "image/jpeg"),
            shape(160, 120, "image/webp"),
        ]
    );
    assert_eq!(image["size_bytes"], photo.len(), "the original's own size");
    let original = image["url"].as_str().unwrap();
    let stem = original.trim_end_matches(".jpg");
    for (v, suffix) in image["variants"].as_array().unwrap().iter().zip([
        "-1200.jpg",
        "-1200.webp",
        "-480.jpg",
        "-480.webp",
        "-160.jpg",
        "-160.webp",
    ]) {
        assert_eq!(
            v["url"],
            format!("{stem}{suffix}"),
            "keys derive from the original's"
        );
    }
    assert!(check_variants_served(&app, &image).await.iter().all(|a| !a));
    let (_, _, _, bytes) = fetch(&app, original).await;
    assert_eq!(bytes, photo, "the original is kept as uploaded");
    // Listed the same on the product, in the admin and the storefront API.
    assert_eq!(get_product(&app, &owner, pid).await["images"][0], image);
    let shown = body(
        app.shop(
            "acme",
            Method::GET,
            &format!("/api/v1/store/products/{pid}"),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(shown["product"]["images"][0]["variants"], image["variants"]);

    // Transparency keeps PNG (and the WebP keeps its alpha channel); a
    // 600 px original gets 600 for the full slot, not an upscaled 1200.
    let clear = png_alpha(600, 400);
    let image =
        body(upload(&app, "acme", &owner, pid, &clear, "image/png").await).await["image"].clone();
    assert_eq!(
        shapes(&image),
        vec![
            shape(600, 400, "image/png"),
            shape(600, 400, "image/webp"),
            shape(480, 320, "image/png"),
            shape(480, 320, "image/webp"),
            shape(160, 107, "image/png"),
            shape(160, 107, "image/webp"),
        ]
    );
    assert!(check_variants_served(&app, &image).await.iter().all(|a| *a));
    app.stop().await;
}

#[tokio::test]
async fn a_small_image_is_not_upscaled() {
    let app = spawn_app().await;
    let (owner, _) = shop(&app, "acme", None).await;
    let product = simple(&app, "acme", &owner, "Poster", "POSTER-1", 1500).await;
    let pid = product["id"].as_str().unwrap();
    let image =
        body(upload(&app, "acme", &owner, pid, &jpeg(120, 90), "image/jpeg").await).await["image"]
            .clone();
    assert_eq!(
        shapes(&image),
        vec![shape(120, 90, "image/jpeg"), shape(120, 90, "image/webp")]
    );
    check_variants_served(&app, &image).await;
    app.stop().await;
}

#[tokio::test]
async fn deleting_an_image_or_its_product_removes_its_variants() {
    let app = spawn_app().await;
    let (owner, _) = shop(&app, "acme", None).await;
    let product = simple(&app, "acme", &owner, "Poster", "POSTER-1", 1500).await;
    let pid = product["id"].as_str().unwrap();
    let first = body(upload(&app, "acme", &owner, pid, &jpeg(800, 600), "image/jpeg").await).await
        ["image"]
        .clone();
    let second = body(upload(&app, "acme", &owner, pid, &jpeg(300, 200), "image/jpeg").await).await
        ["image"]
        .clone();
    assert_eq!(
        media_files(&app).len(),
        2 + 6 + 4,
        "originals and variants stored"
    );

    let resp = admin(
        &app,
        "acme",
        &owner,
        Method::DELETE,
        &format!("/api/v1/admin/images/{}", first["id"].as_str().unwrap()),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(resp.status(), 204);
    for v in first["variants"].as_array().unwrap() {
        assert_eq!(fetch(&app, v["url"].as_str().unwrap()).await.0, 404);
    }
    assert_eq!(
        fetch(&app, second["variants"][0]["url"].as_str().unwrap())
            .await
            .0,
        200
    );
    assert_eq!(media_files(&app).len(), 1 + 4);

    let resp = admin(
        &app,
        "acme",
        &owner,
        Method::DELETE,
        &format!("/api/v1/admin/products/{pid}"),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(resp.status(), 204);
    for v in second["variants"].as_array().unwrap() {
        assert_eq!(fetch(&app, v["url"].as_str().unwrap()).await.0, 404);
    }
    assert_eq!(
        media_files(&app),
        Vec::<PathBuf>::new(),
        "nothing left behind"
    );
    app.stop().await;
}

/// What one image of `bytes` takes in storage, original and variants, as
/// a shop on the default plan records it.
async fn stored_bytes(bytes: &[u8], content_type: &str) -> u64 {
    let app = spawn_app().await;
    let (owner, _) = shop(&app, "acme", None).await;
    let product = simple(&app, "acme", &owner, "Poster", "POSTER-1", 1500).await;
    let pid = product["id"].as_str().unwrap();
    let image =
        body(upload(&app, "acme", &owner, pid, bytes, content_type).await).await["image"].clone();
    app.stop().await;
    image["size_bytes"].as_u64().unwrap()
        + image["variants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["size_bytes"].as_u64().unwrap())
            .sum::<u64>()
}

#[tokio::test]
async fn variants_count_toward_the_plan_storage_and_a_refused_upload_leaves_nothing() {
    let photo = jpeg(1600, 1200);
    let whole = stored_bytes(&photo, "image/jpeg").await;
    assert!(whole > photo.len() as u64, "variants take room");

    // Room for the original, but not for it with its variants: refused,
    // and no object stays behind.
    let app = spawn_app().await;
    let allowance = (photo.len() as u64).max(whole - 1);
    create_plan(&app, "tight", json!({"storage_bytes": allowance})).await;
    let (owner, _) = shop(&app, "acme", Some("tight")).await;
    let product = simple(&app, "acme", &owner, "Poster", "POSTER-1", 1500).await;
    let pid = product["id"].as_str().unwrap();
    let p = problem(
        upload(&app, "acme", &owner, pid, &photo, "image/jpeg").await,
        402,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("storage"), "{p}");
    assert_eq!(
        media_files(&app),
        Vec::<PathBuf>::new(),
        "no object lingers"
    );
    assert_eq!(get_product(&app, &owner, pid).await["images"], json!([]));
    app.stop().await;

    // Exactly the room for one: the first fits, the second does not.
    let app = spawn_app().await;
    create_plan(&app, "one", json!({"storage_bytes": whole})).await;
    let (owner, _) = shop(&app, "acme", Some("one")).await;
    let product = simple(&app, "acme", &owner, "Poster", "POSTER-1", 1500).await;
    let pid = product["id"].as_str().unwrap();
    let first = upload(&app, "acme", &owner, pid, &photo, "image/jpeg").await;
    assert_eq!(first.status(), 201);
    let files = media_files(&app);
    assert_eq!(files.len(), 7);
    problem(
        upload(&app, "acme", &owner, pid, &jpeg(200, 100), "image/jpeg").await,
        402,
    )
    .await;
    assert_eq!(media_files(&app), files, "the refused upload left nothing");
    app.stop().await;
}

#[tokio::test]
async fn a_decompression_bomb_and_damaged_data_are_refused_with_nothing_written() {
    let app = spawn_app().await;
    let (owner, _) = shop(&app, "acme", None).await;
    let product = simple(&app, "acme", &owner, "Poster", "POSTER-1", 1500).await;
    let pid = product["id"].as_str().unwrap();

    // 400 megapixels declared in a file of a few dozen bytes.
    let mut bomb = crate::catalog_support::png(1, 1);
    bomb[16..20].copy_from_slice(&20_000u32.to_be_bytes());
    bomb[20..24].copy_from_slice(&20_000u32.to_be_bytes());
    let p = problem(
        upload(&app, "acme", &owner, pid, &bomb, "image/png").await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "file", "{p}");
    // A header within the cap over data that does not hold the pixels it
    // promises (36 megapixels claimed, one pixel of data).
    let mut hollow = crate::catalog_support::png(1, 1);
    hollow[16..20].copy_from_slice(&6_000u32.to_be_bytes());
    hollow[20..24].copy_from_slice(&6_000u32.to_be_bytes());
    let p = problem(
        upload(&app, "acme", &owner, pid, &hollow, "image/png").await,
        422,
    )
    .await;
    assert!(
        p["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("damaged"),
        "{p}"
    );
    // (A JPEG cut short is not refused: its decoder, like a browser's,
    // shows what arrived and fills the rest.)
    assert_eq!(media_files(&app), Vec::<PathBuf>::new());
    assert_eq!(get_product(&app, &owner, pid).await["images"], json!([]));
    // The server still works.
    assert_eq!(
        upload(&app, "acme", &owner, pid, &jpeg(50, 50), "image/jpeg")
            .await
            .status(),
        201
    );
    app.stop().await;
}

/// Runs the storekeep binary against `db` (on a blocking thread, so the
/// in-process server keeps serving).
async fn cli(db: &TestDb, args: &[&str]) -> std::process::Output {
    let mut cmd = storekeep_test_support::storekeep_command(env!("CARGO_BIN_EXE_storekeep"), db);
    cmd.args(args);
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .unwrap()
        .unwrap();
    assert!(
        out.status.success(),
        "storekeep {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Makes the image look as one uploaded before variants existed: its row
/// without a variants list (what the migration gives old rows) and no
/// variant objects.
async fn forget_variants(app: &TestApp, image: &Value) {
    let sql = format!(
        "UPDATE product_images SET variants = '', variants_bytes = 0 WHERE id = '{}'",
        image["id"].as_str().unwrap()
    );
    if app.db.is_sqlite() {
        let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&app.db.url)
            .await
            .unwrap();
        sqlx::query(&sql).execute(&mut conn).await.unwrap();
    } else {
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&app.db.url)
            .await
            .unwrap();
        sqlx::query(&sql).execute(&mut conn).await.unwrap();
    }
    for v in image["variants"].as_array().unwrap() {
        let key = v["url"].as_str().unwrap().trim_start_matches("/media/");
        std::fs::remove_file(app.db.dir.path().join("media").join(key)).unwrap();
    }
}

#[tokio::test]
async fn the_backfill_command_makes_the_variants_of_older_images_once() {
    let app = spawn_app().await;
    let (owner, _) = shop(&app, "acme", None).await;
    let product = simple(&app, "acme", &owner, "Poster", "POSTER-1", 1500).await;
    let pid = product["id"].as_str().unwrap();
    let old = body(upload(&app, "acme", &owner, pid, &jpeg(1000, 500), "image/jpeg").await).await
        ["image"]
        .clone();
    let recent = body(upload(&app, "acme", &owner, pid, &png_alpha(200, 100), "image/png").await)
        .await["image"]
        .clone();
    forget_variants(&app, &old).await;
    assert_eq!(
        get_product(&app, &owner, pid).await["images"][0]["variants"],
        json!([])
    );
    for v in old["variants"].as_array().unwrap() {
        assert_eq!(fetch(&app, v["url"].as_str().unwrap()).await.0, 404);
    }

    let out = cli(&app.db, &["media", "variants"]).await;
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["made"], 1, "only the older image: {summary}");
    let images = get_product(&app, &owner, pid).await["images"].clone();
    assert_eq!(
        images[0]["variants"], old["variants"],
        "the same variants as at upload"
    );
    assert_eq!(images[1], recent, "the recent image is untouched");
    check_variants_served(&app, &images[0]).await;

    // Again: nothing left to do.
    let out = cli(&app.db, &["media", "variants"]).await;
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["made"], 0, "{summary}");
    app.stop().await;
}

#[tokio::test]
async fn a_shop_export_carries_the_variants_to_the_import() {
    let source = spawn_app().await;
    let (owner, _) = shop(&source, "acme", None).await;
    let product = simple(&source, "acme", &owner, "Poster", "POSTER-1", 1500).await;
    let pid = product["id"].as_str().unwrap();
    let image = body(upload(&source, "acme", &owner, pid, &jpeg(700, 350), "image/jpeg").await)
        .await["image"]
        .clone();
    let mut served = Vec::new();
    for v in image["variants"].as_array().unwrap() {
        served.push(fetch(&source, v["url"].as_str().unwrap()).await.3);
    }
    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("acme.tar.zst");
    let file = file.to_str().unwrap();
    let out = cli(
        &source.db,
        &["export", "shop", "--tenant", "acme", "-o", file, "--json"],
    )
    .await;
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        summary["images"],
        1 + 6,
        "the image and its variants: {summary}"
    );
    source.stop().await;

    let target = spawn_app_on(TestDb::new().await, |_| {}).await;
    cli(&target.db, &["import", "shop", file, "--json"]).await;
    let shown = body(
        target
            .shop(
                "acme",
                Method::GET,
                &format!("/api/v1/store/products/{pid}"),
            )
            .send()
            .await
            .unwrap(),
    )
    .await;
    let moved = &shown["product"]["images"][0];
    assert_eq!(moved["variants"], image["variants"]);
    for (v, bytes) in moved["variants"].as_array().unwrap().iter().zip(served) {
        let (status, _, _, got) = fetch(&target, v["url"].as_str().unwrap()).await;
        assert_eq!((status, got == bytes), (200, true), "{v}");
    }
    target.stop().await;
}

#[tokio::test]
async fn with_s3_variants_live_in_the_bucket_and_go_with_the_image() {
    let Some((endpoint, bucket)) = s3_env() else {
        return;
    };
    let app = spawn_app_with(|s| {
        s.media.s3_bucket = Some(bucket.clone());
        s.media.s3_endpoint = Some(endpoint.clone());
        s.media.s3_access_key_id = Some("test".into());
        s.media.s3_secret_access_key = Some(storekeep::config::Secret::new("test"));
    })
    .await;
    let (owner, _) = shop(&app, "acme", None).await;
    let product = simple(&app, "acme", &owner, "Poster", "POSTER-1", 1500).await;
    let pid = product["id"].as_str().unwrap();
    let image = body(upload(&app, "acme", &owner, pid, &png_alpha(500, 250), "image/png").await)
        .await["image"]
        .clone();
    assert_eq!(
        shapes(&image),
        vec![
            shape(500, 250, "image/png"),
            shape(500, 250, "image/webp"),
            shape(480, 240, "image/png"),
            shape(480, 240, "image/webp"),
            shape(160, 80, "image/png"),
            shape(160, 80, "image/webp"),
        ]
    );
    check_variants_served(&app, &image).await;
    assert_eq!(
        media_files(&app),
        Vec::<PathBuf>::new(),
        "nothing in the local folder"
    );
    let resp = admin(
        &app,
        "acme",
        &owner,
        Method::DELETE,
        &format!("/api/v1/admin/images/{}", image["id"].as_str().unwrap()),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(resp.status(), 204);
    for v in image["variants"].as_array().unwrap() {
        assert_eq!(fetch(&app, v["url"].as_str().unwrap()).await.0, 404, "{v}");
    }
    app.stop().await;
}
