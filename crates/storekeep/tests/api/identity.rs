//! Helpers for the identity tests: accounts made the way a user makes them
//! (staff through the `storekeep user create` CLI, customers through
//! sign-up), and an independent RFC 6238 implementation to compute codes.

use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{Value, json};
use storekeep_test_support::{TestApp, storekeep_command};

pub const PASSWORD: &str = "correct horse battery staple";

/// Creates a staff member of `slug` with the CLI, as an operator would.
pub async fn cli_staff(app: &TestApp, slug: &str, email: &str, role: &str) {
    let args = ["--tenant", slug, "--email", email, "--role", role];
    cli_user_create(app, email, &args).await;
}

/// Creates a platform operator with the CLI.
pub async fn cli_operator(app: &TestApp, email: &str) {
    cli_user_create(app, email, &["--platform", "--email", email]).await;
}

/// Runs `storekeep user create ARGS --password-file …` on a blocking
/// thread: the test's runtime keeps serving the in-process server
/// meanwhile, as a real server's runtime would while an operator runs the
/// CLI (a blocked runtime would stall any write it holds the lock for).
async fn cli_user_create(app: &TestApp, email: &str, args: &[&str]) {
    let pw = app.db.dir.path().join(format!("pw-{email}"));
    std::fs::write(&pw, format!("{PASSWORD}\n")).unwrap();
    let mut cmd = storekeep_command(env!("CARGO_BIN_EXE_storekeep"), &app.db);
    cmd.args(["user", "create"])
        .args(args)
        .arg("--password-file")
        .arg(&pw);
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .unwrap()
        .unwrap();
    assert!(
        out.status.success(),
        "user create: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub async fn login_as(app: &TestApp, slug: Option<&str>, body: Value) -> reqwest::Response {
    let mut req = app.request(Method::POST, "/api/v1/auth/login").json(&body);
    if let Some(slug) = slug {
        req = req.header("x-tenant", slug);
    }
    req.send().await.unwrap()
}

/// Logs in and returns the session token.
pub async fn token(app: &TestApp, slug: Option<&str>, email: &str, account: &str) -> String {
    let resp = login_as(
        app,
        slug,
        json!({"email": email, "password": PASSWORD, "account": account}),
    )
    .await;
    assert_eq!(resp.status(), 200, "login of {email}");
    resp.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A shop with an owner; returns the owner's token.
pub async fn shop_with_owner(app: &TestApp, slug: &str) -> String {
    app.create_tenant(slug, json!({})).await;
    let email = format!("owner@{slug}.example");
    cli_staff(app, slug, &email, "owner").await;
    token(app, Some(slug), &email, "staff").await
}

pub async fn register(app: &TestApp, slug: &str, email: &str) -> reqwest::Response {
    app.shop(slug, Method::POST, "/api/v1/auth/register")
        .json(&json!({"account": {"email": email, "password": PASSWORD}}))
        .send()
        .await
        .unwrap()
}

/// An admin-API request as `token` in `slug`.
pub fn admin(
    app: &TestApp,
    slug: &str,
    token: &str,
    method: Method,
    path: &str,
) -> reqwest::RequestBuilder {
    app.shop(slug, method, path).bearer_auth(token)
}

/// RFC 6238 with HMAC-SHA1, written here independently of the server's.
pub fn totp(secret_b32: &str, unix: u64) -> String {
    let mut bits = 0u32;
    let mut buf = 0u64;
    let mut key = Vec::new();
    for c in secret_b32.bytes() {
        let v = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
            .iter()
            .position(|&a| a == c)
            .unwrap() as u64;
        buf = (buf << 5) | v;
        bits += 5;
        if bits >= 8 {
            key.push((buf >> (bits - 8)) as u8);
            bits -= 8;
        }
    }
    let mut mac = <Hmac<sha1::Sha1> as Mac>::new_from_slice(&key).unwrap();
    mac.update(&(unix / 30).to_be_bytes());
    let h = mac.finalize().into_bytes();
    let o = (h[19] & 0xf) as usize;
    let n = u32::from_be_bytes([h[o] & 0x7f, h[o + 1], h[o + 2], h[o + 3]]) % 1_000_000;
    format!("{n:06}")
}

pub fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Logs a customer of `slug` in with the standard password; the session token.
pub async fn customer_token(app: &TestApp, slug: &str, email: &str) -> String {
    token(app, Some(slug), email, "customer").await
}
