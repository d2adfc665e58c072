//! Product images: uploads checked by their bytes, served back, listed on
//! the product, limited by size and by the plan's storage, deleted; on the
//! local store and on an S3-compatible bucket (moto).

use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use storekeep_test_support::{TestApp, problem, spawn_app, spawn_app_with};

use crate::catalog_support::{body, create_plan, multipart, png, s3_env, shop, simple, upload};
use crate::identity::admin;

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

async fn delete_image(app: &TestApp, token: &str, id: &str) -> reqwest::Response {
    admin(
        app,
        "acme",
        token,
        Method::DELETE,
        &format!("/api/v1/admin/images/{id}"),
    )
    .send()
    .await
    .unwrap()
}

/// Fetches an image URL from the server: status, content type, bytes.
async fn fetch(app: &TestApp, url: &str) -> (u16, String, Vec<u8>) {
    let resp = app.get(url).await;
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    (status, ct, resp.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn an_uploaded_png_is_served_listed_and_deleted() {
    let app = spawn_app().await;
    let (owner, _) = shop(&app, "acme", None).await;
    let product = simple(&app, "acme", &owner, "Poster", "POSTER-1", 1500).await;
    let pid = product["id"].as_str().unwrap();
    let picture = png(40, 30);

    let resp = upload(&app, "acme", &owner, pid, &picture, "image/png").await;
    assert_eq!(resp.status(), 201);
    let image = body(resp).await["image"].clone();
    assert_eq!(image["product_id"], pid);
    assert_eq!(image["content_type"], "image/png");
    assert_eq!(
        (&image["width"], &image["height"]),
        (&json!(40), &json!(30))
    );
    assert_eq!(image["size_bytes"], picture.len());
    assert_eq!(image["alt"], "A picture");
    assert_eq!(image["position"], 0);
    let url = image["url"].as_str().unwrap().to_owned();
    assert!(url.starts_with("/media/") && url.ends_with(".png"), "{url}");

    let (status, ct, bytes) = fetch(&app, &url).await;
    assert_eq!((status, ct.as_str()), (200, "image/png"));
    assert!(bytes == picture, "the exact bytes come back");

    let fetched = get_product(&app, &owner, pid).await;
    assert_eq!(fetched["images"], json!([image]));
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
    assert_eq!(shown["product"]["images"][0]["url"], url.as_str());

    let second =
        body(upload(&app, "acme", &owner, pid, &png(8, 8), "image/png").await).await["image"]
            .clone();
    assert_eq!(second["position"], 1);

    assert_eq!(
        delete_image(&app, &owner, image["id"].as_str().unwrap())
            .await
            .status(),
        204
    );
    assert_eq!(fetch(&app, &url).await.0, 404, "the object is gone");
    problem(
        delete_image(&app, &owner, image["id"].as_str().unwrap()).await,
        404,
    )
    .await;
    let fetched = get_product(&app, &owner, pid).await;
    assert_eq!(fetched["images"], json!([second]));

    // Deleting the product deletes its images' objects.
    let second_url = second["url"].as_str().unwrap();
    assert_eq!(fetch(&app, second_url).await.0, 200);
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
    assert_eq!(fetch(&app, second_url).await.0, 404);

    for bad in [
        "/media/../storekeep.db",
        "/media/x/y.png",
        "/media/storekeep.db",
    ] {
        assert_eq!(fetch(&app, bad).await.0, 404, "{bad}");
    }
    app.stop().await;
}

#[tokio::test]
async fn uploads_are_judged_by_their_bytes_not_their_label() {
    let app = spawn_app().await;
    let (owner, _) = shop(&app, "acme", None).await;
    let product = simple(&app, "acme", &owner, "Poster", "POSTER-1", 1500).await;
    let pid = product["id"].as_str().unwrap();

    let text = upload(
        &app,
        "acme",
        &owner,
        pid,
        b"just some text, honest",
        "image/png",
    )
    .await;
    assert_eq!(problem(text, 422).await["errors"][0]["field"], "file");
    let mislabelled = upload(&app, "acme", &owner, pid, &png(5, 5), "image/jpeg").await;
    let p = problem(mislabelled, 422).await;
    assert_eq!(p["errors"][0]["field"], "file");
    assert!(
        p["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("image/png"),
        "{p}"
    );
    let truncated = upload(&app, "acme", &owner, pid, &png(5, 5)[..12], "image/png").await;
    problem(truncated, 422).await;

    // No file part at all.
    let (ct, only_alt) = {
        let (ct, full) = multipart(b"", "x", "text/plain", Some("alt only"));
        // Drop the file part, keep the alt part and the closing boundary.
        let text = String::from_utf8(full).unwrap();
        let start = text.find("\r\n--").unwrap() + 2;
        (ct, text.as_bytes()[start..].to_vec())
    };
    let no_file = admin(
        &app,
        "acme",
        &owner,
        Method::POST,
        &format!("/api/v1/admin/products/{pid}/images"),
    )
    .header("content-type", ct)
    .body(only_alt)
    .send()
    .await
    .unwrap();
    assert_eq!(problem(no_file, 422).await["errors"][0]["field"], "file");

    let nowhere = upload(
        &app,
        "acme",
        &owner,
        "0190c3f5-7f9a-7c3e-9a3b-4d5e6f708192",
        &png(5, 5),
        "image/png",
    )
    .await;
    problem(nowhere, 404).await;
    assert_eq!(
        get_product(&app, &owner, pid).await["images"],
        json!([]),
        "nothing was stored"
    );
    app.stop().await;
}

#[tokio::test]
async fn images_over_the_size_limit_are_refused_with_413() {
    let app = spawn_app_with(|s| s.media.max_image_bytes = 4096).await;
    let (owner, _) = shop(&app, "acme", None).await;
    let product = simple(&app, "acme", &owner, "Poster", "POSTER-1", 1500).await;
    let pid = product["id"].as_str().unwrap();
    let small = png(20, 20);
    let over = png(40, 40);
    let huge = png(250, 250);
    assert!(small.len() < 4096 && over.len() > 4096 && huge.len() > 4096 + 64 * 1024);

    for too_big in [&over, &huge] {
        let resp = upload(&app, "acme", &owner, pid, too_big, "image/png").await;
        problem(resp, 413).await;
    }
    let fits = upload(&app, "acme", &owner, pid, &small, "image/png").await;
    assert_eq!(fits.status(), 201);
    assert_eq!(
        get_product(&app, &owner, pid).await["images"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    app.stop().await;
}

#[tokio::test]
async fn the_plan_limits_image_storage() {
    let app = spawn_app().await;
    let picture = png(30, 30);
    let allowance = picture.len() * 3 / 2;
    create_plan(&app, "small-storage", json!({"storage_bytes": allowance})).await;
    let (owner, _) = shop(&app, "acme", Some("small-storage")).await;
    let product = simple(&app, "acme", &owner, "Poster", "POSTER-1", 1500).await;
    let pid = product["id"].as_str().unwrap();

    let first = upload(&app, "acme", &owner, pid, &picture, "image/png").await;
    assert_eq!(first.status(), 201);
    let first = body(first).await["image"].clone();
    let second = upload(&app, "acme", &owner, pid, &picture, "image/png").await;
    let p = problem(second, 402).await;
    assert!(p["detail"].as_str().unwrap().contains("storage"), "{p}");
    assert_eq!(
        get_product(&app, &owner, pid).await["images"],
        json!([first])
    );

    assert_eq!(
        delete_image(&app, &owner, first["id"].as_str().unwrap())
            .await
            .status(),
        204
    );
    let again = upload(&app, "acme", &owner, pid, &picture, "image/png").await;
    assert_eq!(again.status(), 201, "deleting freed the space");
    app.stop().await;
}

/// An AWS Signature V4 GET or DELETE of `bucket/key` at `endpoint`
/// (path style), as any S3 client sends it.
async fn s3_request(method: Method, endpoint: &str, bucket: &str, key: &str) -> reqwest::Response {
    fn hmac(key: &[u8], data: &str) -> Vec<u8> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap();
        mac.update(data.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }
    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
    let host = endpoint
        .trim_start_matches("http://")
        .trim_start_matches("https://");
    let now = chrono::Utc::now();
    let amz_date = now.format("%Y%m%dT%H%M%SZ").to_string();
    let date = now.format("%Y%m%d").to_string();
    let path = format!("/{bucket}/{key}");
    let payload = "UNSIGNED-PAYLOAD";
    let signed = "host;x-amz-content-sha256;x-amz-date";
    let canonical = format!(
        "{method}\n{path}\n\nhost:{host}\nx-amz-content-sha256:{payload}\nx-amz-date:{amz_date}\n\n{signed}\n{payload}"
    );
    let scope = format!("{date}/us-east-1/s3/aws4_request");
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let mut k = hmac(b"AWS4test", &date);
    for part in ["us-east-1", "s3", "aws4_request"] {
        k = hmac(&k, part);
    }
    let signature = hex(&hmac(&k, &to_sign));
    reqwest::Client::new()
        .request(method, format!("{endpoint}{path}"))
        .header("x-amz-date", amz_date)
        .header("x-amz-content-sha256", payload)
        .header(
            "authorization",
            format!("AWS4-HMAC-SHA256 Credential=test/{scope}, SignedHeaders={signed}, Signature={signature}"),
        )
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn with_s3_images_live_in_the_bucket() {
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
    let (owner, tenant) = shop(&app, "acme", None).await;
    let tenant_id = tenant["id"].as_str().unwrap();
    let product = simple(&app, "acme", &owner, "Poster", "POSTER-1", 1500).await;
    let pid = product["id"].as_str().unwrap();
    let picture = png(33, 21);

    let resp = upload(&app, "acme", &owner, pid, &picture, "image/png").await;
    assert_eq!(resp.status(), 201);
    let image = body(resp).await["image"].clone();
    assert_eq!(
        (&image["width"], &image["height"]),
        (&json!(33), &json!(21))
    );
    let key = format!("{tenant_id}/{}.png", image["id"].as_str().unwrap());

    let in_bucket = s3_request(Method::GET, &endpoint, &bucket, &key).await;
    assert_eq!(in_bucket.status(), 200, "{key} is in the bucket");
    assert!(
        in_bucket.bytes().await.unwrap().to_vec() == picture,
        "the exact bytes are stored"
    );
    let url = image["url"].as_str().unwrap();
    let (status, ct, bytes) = fetch(&app, url).await;
    assert_eq!((status, ct.as_str()), (200, "image/png"));
    assert!(bytes == picture, "served from the bucket");
    assert_eq!(
        get_product(&app, &owner, pid).await["images"],
        json!([image])
    );

    assert_eq!(
        delete_image(&app, &owner, image["id"].as_str().unwrap())
            .await
            .status(),
        204
    );
    assert_eq!(
        s3_request(Method::GET, &endpoint, &bucket, &key)
            .await
            .status(),
        404,
        "gone from the bucket"
    );
    assert_eq!(fetch(&app, url).await.0, 404);

    // A product's deletion removes its objects from the bucket too.
    let other =
        body(upload(&app, "acme", &owner, pid, &picture, "image/png").await).await["image"].clone();
    let other_key = format!("{tenant_id}/{}.png", other["id"].as_str().unwrap());
    assert_eq!(
        s3_request(Method::GET, &endpoint, &bucket, &other_key)
            .await
            .status(),
        200
    );
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
    assert_eq!(
        s3_request(Method::GET, &endpoint, &bucket, &other_key)
            .await
            .status(),
        404
    );
    app.stop().await;
}

#[tokio::test]
async fn with_a_public_base_url_image_links_point_there_and_storekeep_still_serves_them() {
    let app = spawn_app_with(|s| {
        s.media.public_base_url = Some("https://cdn.example.com/shop-media".into());
    })
    .await;
    let (owner, _) = shop(&app, "acme", None).await;
    let product = simple(&app, "acme", &owner, "Dock", "DOCK-1", 100).await;
    let id = product["id"].as_str().unwrap();
    let bytes = png(4, 3);
    let resp = upload(&app, "acme", &owner, id, &bytes, "image/png").await;
    assert_eq!(resp.status(), 201);
    let image = body(resp).await["image"].clone();
    let url = image["url"].as_str().unwrap();
    let key = url
        .strip_prefix("https://cdn.example.com/shop-media/")
        .unwrap_or_else(|| panic!("{url} is not under the public base URL"));
    assert!(key.ends_with(".png"), "{key}");
    let served = app.get(&format!("/media/{key}")).await;
    assert_eq!(served.status(), 200);
    assert_eq!(served.bytes().await.unwrap().as_ref(), &bytes[..]);
    app.stop().await;
}

/// A PNG whose header claims `width × height`: the server reads only the
/// header, as a browser would before decoding gigabytes.
fn claimed_png(width: u32, height: u32) -> Vec<u8> {
    let mut b = png(1, 1);
    b[16..20].copy_from_slice(&width.to_be_bytes());
    b[20..24].copy_from_slice(&height.to_be_bytes());
    b
}

#[tokio::test]
async fn images_beyond_the_pixel_cap_are_refused() {
    let app = spawn_app().await;
    let (owner, _) = shop(&app, "acme", None).await;
    let product = simple(&app, "acme", &owner, "Poster", "POSTER-1", 1500).await;
    let pid = product["id"].as_str().unwrap();

    // 400 megapixels in a file of a few dozen bytes: refused by the default cap.
    let bomb = claimed_png(20_000, 20_000);
    let p = problem(
        upload(&app, "acme", &owner, pid, &bomb, "image/png").await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "file");
    assert!(
        p["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("pixels"),
        "{p}"
    );
    // 36 megapixels is under the 40 MP default: past the pixel check, the
    // header's promise is refused when the variants are made, as damaged.
    let big = claimed_png(6_000, 6_000);
    let p = problem(
        upload(&app, "acme", &owner, pid, &big, "image/png").await,
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
    app.stop().await;

    let app = spawn_app_with(|s| s.media.max_image_pixels = 1_000).await;
    let (owner, _) = shop(&app, "acme", None).await;
    let product = simple(&app, "acme", &owner, "Poster", "POSTER-1", 1500).await;
    let pid = product["id"].as_str().unwrap();
    problem(
        upload(&app, "acme", &owner, pid, &png(40, 30), "image/png").await,
        422,
    )
    .await;
    assert_eq!(
        upload(&app, "acme", &owner, pid, &png(30, 30), "image/png")
            .await
            .status(),
        201
    );
    assert_eq!(
        get_product(&app, &owner, pid).await["images"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    app.stop().await;
}

#[tokio::test]
async fn media_keys_of_any_other_shape_are_404_without_touching_storage() {
    let app = spawn_app().await;
    let (owner, _) = shop(&app, "acme", None).await;
    let product = simple(&app, "acme", &owner, "Poster", "POSTER-1", 1500).await;
    let pid = product["id"].as_str().unwrap();
    let image =
        body(upload(&app, "acme", &owner, pid, &png(4, 4), "image/png").await).await["image"]
            .clone();
    let url = image["url"].as_str().unwrap().to_owned();
    assert_eq!(fetch(&app, &url).await.0, 200);

    let key = url.trim_start_matches("/media/");
    let (tenant, file) = key.split_once('/').unwrap();
    let probes = [
        format!("/media/{key}/x"),
        format!("/media/{key}.png"),
        format!("/media/{tenant}/{}", "a".repeat(5_000)),
        format!("/media/{}/{file}", "b".repeat(300)),
        format!("/media/{}", key.to_uppercase().replace(".PNG", ".png")),
        format!("/media/{tenant}/{}", file.replace('-', "")),
        format!("/media/{tenant}/0190c3f5-7f9a-7c3e-9a3b-4d5e6f708192.png"),
        format!("/media/{tenant}"),
    ];
    for probe in &probes {
        let resp = app.get(probe).await;
        assert_eq!(resp.status(), 404, "{probe}");
    }
    let metrics = app.get("/api/metrics").await.text().await.unwrap();
    assert!(
        !metrics.lines().any(|l| l.contains("status=\"500\"")),
        "no probe was a server error: {metrics}"
    );
    app.stop().await;
}
