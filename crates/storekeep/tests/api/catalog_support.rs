//! Helpers shared by the catalog tests: shops on a given plan, products
//! made through the admin API, storefront reads that report the cache
//! header, a PNG made from scratch, a hand-built multipart body, and the
//! external services (Redis, S3) some tests need.

use reqwest::Method;
use serde_json::{Value, json};
use storekeep_test_support::TestApp;

use crate::identity::{admin, cli_staff, token};

/// Creates a plan through the platform API.
pub async fn create_plan(app: &TestApp, name: &str, limits: Value) {
    let resp = app
        .platform(Method::POST, "/api/v1/platform/plans")
        .json(&json!({"plan": {"name": name, "limits": limits}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201, "creating plan {name}");
}

/// A shop (on `plan`, or the default one) with an owner; returns the
/// owner's token and the tenant JSON.
pub async fn shop(app: &TestApp, slug: &str, plan: Option<&str>) -> (String, Value) {
    let extra = plan.map_or_else(|| json!({}), |p| json!({ "plan": p }));
    let tenant = app.create_tenant(slug, extra).await;
    let email = format!("owner@{slug}.example");
    cli_staff(app, slug, &email, "owner").await;
    (token(app, Some(slug), &email, "staff").await, tenant)
}

pub async fn body(resp: reqwest::Response) -> Value {
    let status = resp.status();
    let text = resp.text().await.unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({status}): {e}: {text}"))
}

pub fn money(amount: i64) -> Value {
    json!({"amount": amount, "currency": "USD"})
}

/// A create body: an active product with one variant per `(sku, price, stock)`.
pub fn product_json(title: &str, variants: &[(&str, i64, i64)]) -> Value {
    json!({"product": {
        "title": title,
        "status": "active",
        "variants": variants
            .iter()
            .map(|(sku, price, stock)| json!({"sku": sku, "price": money(*price), "inventory": stock}))
            .collect::<Vec<_>>(),
    }})
}

/// POSTs a product body and returns the created product (asserting 201).
pub async fn create(app: &TestApp, slug: &str, token: &str, product: &Value) -> Value {
    let resp = admin(app, slug, token, Method::POST, "/api/v1/admin/products")
        .json(product)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let b = body(resp).await;
    assert_eq!(status, 201, "creating a product: {b}");
    b["product"].clone()
}

/// Shorthand for an active one-variant product.
pub async fn simple(
    app: &TestApp,
    slug: &str,
    token: &str,
    title: &str,
    sku: &str,
    price: i64,
) -> Value {
    create(app, slug, token, &product_json(title, &[(sku, price, 1)])).await
}

pub async fn patch_product(
    app: &TestApp,
    slug: &str,
    token: &str,
    id: &str,
    patch: Value,
) -> Value {
    let resp = admin(
        app,
        slug,
        token,
        Method::PATCH,
        &format!("/api/v1/admin/products/{id}"),
    )
    .json(&json!({ "product": patch }))
    .send()
    .await
    .unwrap();
    let status = resp.status();
    let b = body(resp).await;
    assert_eq!(status, 200, "patching a product: {b}");
    b["product"].clone()
}

pub async fn adjust(
    app: &TestApp,
    slug: &str,
    token: &str,
    variant: &str,
    delta: i64,
    reason: &str,
) -> reqwest::Response {
    admin(
        app,
        slug,
        token,
        Method::POST,
        &format!("/api/v1/admin/variants/{variant}/inventory"),
    )
    .json(&json!({"delta": delta, "reason": reason}))
    .send()
    .await
    .unwrap()
}

pub async fn create_category(app: &TestApp, slug: &str, token: &str, category: Value) -> Value {
    let resp = admin(app, slug, token, Method::POST, "/api/v1/admin/categories")
        .json(&json!({ "category": category }))
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let b = body(resp).await;
    assert_eq!(status, 201, "creating a category: {b}");
    b["category"].clone()
}

/// A storefront GET: status, the `x-cache` header and the body.
pub struct StoreRead {
    pub status: u16,
    pub cache: String,
    pub body: Value,
}

pub async fn store_get(app: &TestApp, slug: &str, path: &str) -> StoreRead {
    let resp = app.shop(slug, Method::GET, path).send().await.unwrap();
    let status = resp.status().as_u16();
    let cache = resp
        .headers()
        .get("x-cache")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let text = resp.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    StoreRead {
        status,
        cache,
        body,
    }
}

/// The titles of a list or search page.
pub fn titles(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("a page: {page}"))
        .iter()
        .map(|p| p["title"].as_str().unwrap().to_owned())
        .collect()
}

pub fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("a page: {page}"))
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Every item of a storefront list, following `next_cursor` (`query`
/// without `after`); panics if it takes more than `max_pages`.
pub async fn all_pages(app: &TestApp, slug: &str, base: &str, max_pages: usize) -> Vec<Value> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..max_pages {
        let path = match &after {
            Some(c) => format!("{base}&after={c}"),
            None => base.to_owned(),
        };
        let page = store_get(app, slug, &path).await;
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        out.extend(page.body["items"].as_array().unwrap().iter().cloned());
        match page.body["next_cursor"].as_str() {
            Some(c) => after = Some(c.to_owned()),
            None => return out,
        }
    }
    panic!("{base} did not end within {max_pages} pages");
}

// --- external services

/// `STOREKEEP_TEST_REDIS_URL`, or `None` (skip) unless tools are required.
pub fn redis_url() -> Option<String> {
    env_or_skip("STOREKEEP_TEST_REDIS_URL")
}

/// `(endpoint, bucket)` of the S3-compatible test server (moto).
pub fn s3_env() -> Option<(String, String)> {
    let endpoint = env_or_skip("STOREKEEP_TEST_S3_ENDPOINT")?;
    let bucket = env_or_skip("STOREKEEP_TEST_S3_BUCKET")?;
    Some((endpoint.trim_end_matches('/').to_owned(), bucket))
}

fn env_or_skip(name: &str) -> Option<String> {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => Some(v),
        _ => {
            assert!(
                std::env::var("STOREKEEP_TEST_REQUIRE_TOOLS").is_err(),
                "{name} is required when STOREKEEP_TEST_REQUIRE_TOOLS is set"
            );
            eprintln!("skipping: no {name}");
            None
        }
    }
}

// --- images

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn adler32(bytes: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in bytes {
        a = (a + u32::from(x)) % 65_521;
        b = (b + a) % 65_521;
    }
    (b << 16) | a
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let mut crc_input = kind.to_vec();
    crc_input.extend_from_slice(data);
    out.extend_from_slice(&crc_input);
    out.extend_from_slice(&crc32(&crc_input).to_be_bytes());
}

/// A complete, valid RGB PNG of `width`×`height` (a colour gradient), its
/// pixel data zlib-wrapped in stored (uncompressed) deflate blocks, so its
/// size grows with its area: about `3·width·height` bytes.
pub fn png(width: u32, height: u32) -> Vec<u8> {
    let mut raw = Vec::new();
    for y in 0..height {
        raw.push(0); // filter: none
        for x in 0..width {
            raw.extend_from_slice(&[(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8]);
        }
    }
    let mut zlib = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = raw.chunks(65_535).collect();
    for (i, block) in blocks.iter().enumerate() {
        zlib.push(u8::from(i + 1 == blocks.len()));
        let len = block.len() as u16;
        zlib.extend_from_slice(&len.to_le_bytes());
        zlib.extend_from_slice(&(!len).to_le_bytes());
        zlib.extend_from_slice(block);
    }
    zlib.extend_from_slice(&adler32(&raw).to_be_bytes());

    let mut out = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB, no interlace
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &zlib);
    chunk(&mut out, b"IEND", &[]);
    out
}

const BOUNDARY: &str = "storekeep-test-boundary-7MA4YWxkTrZu0gW";

/// A `multipart/form-data` body with a `file` part (declared as
/// `content_type`) and an optional `alt` part; returns (content type, body).
pub fn multipart(
    file: &[u8],
    filename: &str,
    content_type: &str,
    alt: Option<&str>,
) -> (String, Vec<u8>) {
    let mut b = Vec::new();
    b.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n\
             Content-Type: {content_type}\r\n\r\n"
        )
        .as_bytes(),
    );
    b.extend_from_slice(file);
    b.extend_from_slice(b"\r\n");
    if let Some(alt) = alt {
        b.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"alt\"\r\n\r\n{alt}\r\n"
            )
            .as_bytes(),
        );
    }
    b.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={BOUNDARY}"), b)
}

/// Uploads `file` to a product's images as `token` of `slug`.
pub async fn upload(
    app: &TestApp,
    slug: &str,
    token: &str,
    product: &str,
    file: &[u8],
    content_type: &str,
) -> reqwest::Response {
    let (ct, bytes) = multipart(file, "picture.png", content_type, Some("A picture"));
    admin(
        app,
        slug,
        token,
        Method::POST,
        &format!("/api/v1/admin/products/{product}/images"),
    )
    .header("content-type", ct)
    .body(bytes)
    .send()
    .await
    .unwrap()
}

#[test]
fn the_png_generator_makes_valid_pngs() {
    let p = png(3, 2);
    assert_eq!(&p[..8], b"\x89PNG\r\n\x1a\n");
    // Known values of zlib's crc32 and adler32, which PNG decoders check.
    assert_eq!(crc32(b"IEND"), 0xae42_6082);
    assert_eq!(adler32(b"Wikipedia"), 0x11e6_0398);
    assert_eq!(&p[p.len() - 12..], b"\0\0\0\0IEND\xaeB`\x82");
}

/// The audit/ledger actor of a staff session: `staff:{user id}`.
pub async fn actor_of(app: &TestApp, slug: &str, token: &str) -> String {
    let me = body(
        app.shop(slug, Method::GET, "/api/v1/auth/me")
            .bearer_auth(token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    format!("staff:{}", me["account"]["id"].as_str().unwrap())
}

/// The `field`s of a 422 problem's `errors`, sorted.
pub fn fields(problem: &Value) -> Vec<String> {
    let mut f: Vec<String> = problem["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("errors in {problem}"))
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect();
    f.sort();
    f
}
