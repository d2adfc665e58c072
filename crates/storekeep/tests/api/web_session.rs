//! Storefront sessions and CSRF through HTTP: the cookies' attributes,
//! refused form posts, sign-in with TOTP, sign-out, and shops kept apart.

use reqwest::Method;
use serde_json::json;
use storekeep_test_support::{TestApp, spawn_app_with};

use crate::identity::{PASSWORD, now_unix, totp};
use crate::web_browser::{Browser, two_product_shop};
use crate::web_support::{BASE, host, web_app};

fn attributes(line: &str) -> Vec<String> {
    line.split(';')
        .skip(1)
        .map(|a| a.trim().to_ascii_lowercase())
        .collect()
}

fn assert_strict(b: &Browser, name: &str) {
    let line = b
        .set_lines
        .get(name)
        .unwrap_or_else(|| panic!("{name} was not set: {:?}", b.set_lines));
    let attrs = attributes(line);
    for a in ["secure", "httponly", "samesite=lax", "path=/"] {
        assert!(attrs.iter().any(|x| x == a), "{name} lacks {a}: {line}");
    }
    assert!(
        !attrs.iter().any(|x| x.starts_with("domain")),
        "{name} must be host-only: {line}"
    );
}

/// Signs a new customer up through the sign-up form.
pub async fn sign_up(b: &mut Browser, email: &str) {
    let csrf = b.get("/signup").await.csrf();
    let page = b
        .post(
            "/signup",
            &[
                ("csrf", &csrf),
                ("email", email),
                ("password", PASSWORD),
                ("name", "Ann Example"),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
}

async fn me(app: &TestApp, slug: &str, token: &str) -> u16 {
    app.shop(slug, Method::GET, "/api/v1/auth/me")
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn cookies_are_secure_http_only_same_site_and_host_only() {
    let app = web_app().await;
    let (s, _) = two_product_shop(&app, "acme").await;
    let mut b = Browser::new(&app, &host("acme"));
    b.get("/").await;
    assert_strict(&b, "__Host-sk_browser");
    b.add(&s.variant, "1").await;
    assert_strict(&b, "__Host-sk_cart");
    sign_up(&mut b, "ann@example.com").await;
    assert_strict(&b, "__Host-sk_session");
    let session = &b.set_lines["__Host-sk_session"];
    assert!(
        attributes(session)
            .iter()
            .any(|a| a.starts_with("max-age=")),
        "{session}"
    );
    // The cookie carries the API's own session token.
    let token = b.jar["__Host-sk_session"].clone();
    assert!(token.starts_with("sks_"));
    assert_eq!(me(&app, "acme", &token).await, 200);

    // Plain-HTTP development in a browser without secure *.localhost.
    let plain = spawn_app_with(|s| {
        s.base_domain = Some(storekeep_domain::DomainName::parse(BASE).unwrap());
        s.secure_cookies = false;
    })
    .await;
    plain.create_tenant("acme", json!({})).await;
    let mut b = Browser::new(&plain, &host("acme"));
    b.get("/cart").await;
    let line = &b.set_lines["sk_browser"];
    assert!(!attributes(line).iter().any(|a| a == "secure"), "{line}");
    assert!(attributes(line).iter().any(|a| a == "httponly"), "{line}");
    assert!(!b.jar.keys().any(|k| k.starts_with("__Host-")));
}

#[tokio::test]
async fn a_form_post_without_or_with_a_wrong_csrf_token_is_refused_and_writes_nothing() {
    let app = web_app().await;
    let (s, _) = two_product_shop(&app, "acme").await;
    let mut b = Browser::new(&app, &host("acme"));
    let mut other = Browser::new(&app, &host("acme"));
    b.get("/cart").await;
    let others_token = other.token().await;

    for token in [None, Some("forged"), Some(others_token.as_str())] {
        let mut fields = vec![("variant_id", s.variant.as_str()), ("quantity", "1")];
        if let Some(t) = token {
            fields.push(("csrf", t));
        }
        let page = b.post("/cart/items", &fields).await;
        assert_eq!(page.status, 403, "{token:?}: {}", page.body);
        assert!(page.body.contains("Not accepted"));
        assert!(!b.jar.contains_key("__Host-sk_cart"), "no cart was made");

        let page = b
            .post(
                "/signup",
                &[
                    ("csrf", token.unwrap_or("")),
                    ("email", "mallory@example.com"),
                    ("password", PASSWORD),
                ],
            )
            .await;
        assert_eq!(page.status, 403);
        assert!(!b.jar.contains_key("__Host-sk_session"));
    }
    let login = app
        .shop("acme", Method::POST, "/api/v1/auth/login")
        .json(&json!({"email": "mallory@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 401, "no account was made");
    assert!(b.get("/cart").await.body.contains("Your cart is empty"));

    // A form that is not a form.
    let csrf = b.token().await;
    let json = b
        .post_raw("/cart/items", &[("csrf", &csrf)], |r| {
            r.header("content-type", "application/json")
        })
        .await;
    assert_ne!(json.status, 303);
}

#[tokio::test]
async fn a_cross_site_post_is_refused_even_with_a_valid_token() {
    let app = web_app().await;
    let (s, _) = two_product_shop(&app, "acme").await;
    let mut b = Browser::new(&app, &host("acme"));
    let csrf = b.token().await;
    let fields = [
        ("csrf", csrf.as_str()),
        ("variant_id", s.variant.as_str()),
        ("quantity", "1"),
    ];
    let cross = b
        .post_raw("/cart/items", &fields, |r| {
            r.header("sec-fetch-site", "cross-site")
        })
        .await;
    assert_eq!(cross.status, 403);
    let sibling = b
        .post_raw("/cart/items", &fields, |r| {
            r.header("sec-fetch-site", "same-site")
                .header("origin", format!("http://{}", host("globex")))
        })
        .await;
    assert_eq!(sibling.status, 403, "a sibling shop is the same site");
    let origin = b
        .post_raw("/cart/items", &fields, |r| {
            r.header("origin", "https://evil.example")
        })
        .await;
    assert_eq!(origin.status, 403);
    assert!(!b.jar.contains_key("__Host-sk_cart"), "nothing written");
    // The same form, same-origin, is taken.
    let ok = b.post("/cart/items", &fields).await;
    assert_eq!(ok.status, 303, "{}", ok.body);
}

#[tokio::test]
async fn a_customer_with_mfa_signs_in_with_a_totp_code() {
    let app = web_app().await;
    // ada@example.com in shop acme, with TOTP confirmed (one code used).
    let (secret, _) = crate::mfa::customer_with_mfa(&app).await;
    let mut b = Browser::new(&app, &host("acme"));
    let csrf = b.get("/signin").await.csrf();
    let wrong = b
        .post(
            "/signin",
            &[
                ("csrf", &csrf),
                ("email", "ada@example.com"),
                ("password", "not the password"),
            ],
        )
        .await;
    assert_eq!(wrong.status, 422);
    assert!(wrong.body.contains("The email or password is wrong"));

    let step = b
        .post(
            "/signin",
            &[
                ("csrf", &csrf),
                ("email", "ada@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(step.status, 303, "{}", step.body);
    assert_eq!(step.location.as_deref(), Some("/signin/code"));
    assert!(
        !b.jar.contains_key("__Host-sk_session"),
        "not signed in yet"
    );
    assert_strict(&b, "__Host-sk_signin");
    assert!(!b.jar["__Host-sk_signin"].contains("ada"), "sealed");

    let code_page = b.get("/signin/code").await;
    let csrf = code_page.csrf();
    // The next step's code: the current one was spent confirming MFA.
    let good = totp(&secret, now_unix() + 30);
    let bad = if good == "123456" { "654321" } else { "123456" };
    let refused = b
        .post("/signin/code", &[("csrf", &csrf), ("code", bad)])
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(!b.jar.contains_key("__Host-sk_session"));

    let done = b
        .post("/signin/code", &[("csrf", &csrf), ("code", &good)])
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert!(b.jar.contains_key("__Host-sk_session"));
    assert!(!b.jar.contains_key("__Host-sk_signin"), "the step is spent");
    let account = b.get("/account").await;
    assert_eq!(account.status, 200);
    assert!(
        account.body.contains("Signed in as ada@example.com"),
        "{}",
        account.body
    );
}

#[tokio::test]
async fn sign_out_revokes_the_session_so_the_old_cookie_stops_working() {
    let app = web_app().await;
    two_product_shop(&app, "acme").await;
    let mut b = Browser::new(&app, &host("acme"));
    sign_up(&mut b, "ann@example.com").await;
    let token = b.jar["__Host-sk_session"].clone();
    let copied = b.at_host(&host("acme"));
    assert_eq!(b.get("/account").await.status, 200);

    let csrf = b.get("/account").await.csrf();
    let out = b.post("/signout", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, 303, "{}", out.body);
    assert!(!b.jar.contains_key("__Host-sk_session"));

    assert_eq!(me(&app, "acme", &token).await, 401, "revoked server-side");
    let mut copied = copied;
    let page = copied.get("/account").await;
    assert_eq!(page.status, 303, "the old cookie signs no one in");
    assert!(page.location.unwrap().starts_with("/signin"));
}

#[tokio::test]
async fn one_shops_session_and_cart_do_not_work_at_another_shops_host() {
    let app = web_app().await;
    let (acme, _) = two_product_shop(&app, "acme").await;
    let (globex, _) = two_product_shop(&app, "globex").await;
    let mut b = Browser::new(&app, &host("acme"));
    sign_up(&mut b, "ann@example.com").await;
    b.add(&acme.variant, "1").await;
    assert!(b.get("/cart").await.body.contains("Refurbished ThinkPad"));
    let acme_csrf = b.token().await;

    let mut there = b.at_host(&host("globex"));
    let account = there.get("/account").await;
    assert_eq!(account.status, 303, "not signed in at globex");
    let cart = there.get("/cart").await;
    assert!(cart.body.contains("Your cart is empty"), "{}", cart.body);
    let post = there
        .post(
            "/cart/items",
            &[
                ("csrf", acme_csrf.as_str()),
                ("variant_id", globex.variant.as_str()),
                ("quantity", "1"),
            ],
        )
        .await;
    assert_eq!(post.status, 403, "acme's token is worth nothing at globex");
}
