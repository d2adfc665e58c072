//! How the storefront cache delivers: gzip-compressed to clients that
//! accept it, from the form compressed once when the response was cached.

use std::io::Read;

use reqwest::Method;
use storekeep_test_support::{TestApp, spawn_app};

use crate::catalog_support::{shop, simple};

/// Status, `Content-Encoding`, `Vary`, `X-Cache` and the body as sent.
async fn read(
    app: &TestApp,
    path: &str,
    accept: Option<&str>,
) -> (u16, String, String, String, Vec<u8>) {
    let mut req = app.shop("acme", Method::GET, path);
    if let Some(accept) = accept {
        req = req.header("accept-encoding", accept);
    }
    let resp = req.send().await.unwrap();
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let (encoding, vary, cache) = (
        header("content-encoding"),
        header("vary"),
        header("x-cache"),
    );
    let status = resp.status().as_u16();
    (
        status,
        encoding,
        vary,
        cache,
        resp.bytes().await.unwrap().to_vec(),
    )
}

fn inflate(gz: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(gz)
        .read_to_end(&mut out)
        .expect("a valid gzip stream");
    out
}

#[tokio::test]
async fn large_storefront_reads_are_gzipped_for_clients_that_accept_it() {
    let app = spawn_app().await;
    let (owner, _) = shop(&app, "acme", None).await;
    for i in 0..12 {
        simple(
            &app,
            "acme",
            &owner,
            &format!("Refurbished ThinkPad T4{i}0"),
            &format!("TP-{i}"),
            30_000 + i,
        )
        .await;
    }
    let list = "/api/v1/store/products?limit=50";

    let (status, encoding, vary, cache, plain) = read(&app, list, None).await;
    assert_eq!(
        (status, encoding.as_str(), cache.as_str()),
        (200, "", "MISS")
    );
    assert!(
        vary.to_ascii_lowercase().contains("accept-encoding"),
        "vary: {vary}"
    );
    assert!(
        plain.len() > 1024,
        "a list large enough to compress: {} bytes",
        plain.len()
    );

    let (status, encoding, vary, cache, gz) = read(&app, list, Some("br, gzip;q=0.8")).await;
    assert_eq!(
        (status, encoding.as_str(), cache.as_str()),
        (200, "gzip", "HIT")
    );
    assert!(vary.to_ascii_lowercase().contains("accept-encoding"));
    assert!(
        gz.len() * 2 < plain.len(),
        "{} bytes of {}",
        gz.len(),
        plain.len()
    );
    assert_eq!(inflate(&gz), plain, "the same document");

    let (_, encoding, _, _, body) = read(&app, list, Some("*")).await;
    assert_eq!(encoding, "gzip", "any coding includes gzip");
    assert_eq!(inflate(&body), plain);
    for refused in ["gzip;q=0", "gzip;q=0, *", "identity", "deflate, br"] {
        let (_, encoding, _, _, body) = read(&app, list, Some(refused)).await;
        assert_eq!(
            (encoding.as_str(), &body),
            ("", &plain),
            "Accept-Encoding: {refused}"
        );
    }

    // A write makes the next read a miss, compressed as well, with the change.
    simple(
        &app,
        "acme",
        &owner,
        "Refurbished ThinkPad X1 Carbon",
        "TP-X1",
        90_000,
    )
    .await;
    let (_, encoding, _, cache, gz) = read(&app, list, Some("gzip")).await;
    assert_eq!((encoding.as_str(), cache.as_str()), ("gzip", "MISS"));
    let text = String::from_utf8(inflate(&gz)).unwrap();
    assert!(text.contains("X1 Carbon"), "the new product is there");

    // A small body is sent as it is, whatever the client accepts.
    let (status, encoding, _, _, body) = read(&app, "/api/v1/store/categories", Some("gzip")).await;
    assert_eq!((status, encoding.as_str()), (200, ""));
    assert!(body.len() < 1024);
    serde_json::from_slice::<serde_json::Value>(&body).expect("plain JSON");
}
