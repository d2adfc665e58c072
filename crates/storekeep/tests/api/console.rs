//! The console's front door: which console a host opens, two-step
//! sign-in with TOTP, the console's own session cookie, CSRF on every
//! form post, role-aware navigation, and the "needs attention" screen.

use reqwest::StatusCode;

use crate::commerce_support::{
    cart_with, checkout_body, checkout_request, order_action, order_of, selling_shop,
};
use crate::console_support::{
    SESSION, SIGN_IN, enable_totp, figure, operator_console, sales_row, sign_in_at, staff_console,
    staffed_shop, submit, todays_sales_row, web_app,
};
use crate::identity::{PASSWORD, cli_staff, now_unix, token, totp};
use crate::web_browser::Browser;
use crate::web_support::{BASE, host};

#[tokio::test]
async fn staff_sign_in_with_totp_and_needs_attention_shows_the_shops_waiting_orders() {
    let app = web_app().await;
    let s = selling_shop(&app, "acme", 1999, 10).await;
    let owner = "owner@acme.example";
    let secret = enable_totp(&app, "acme", owner).await;

    let mut b = Browser::new(&app, &host("acme"));
    let first = b.get("/console").await;
    assert_eq!(first.status, StatusCode::SEE_OTHER);
    assert_eq!(
        first.location.as_deref(),
        Some("/console/signin?next=%2Fconsole")
    );
    let form = b.get("/console/signin").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("Staff of this shop sign in here."));
    let csrf = form.csrf();

    // A wrong password: 422, the form again, nobody signed in.
    let wrong = b
        .post(
            "/console/signin",
            &[
                ("csrf", &csrf),
                ("email", owner),
                ("password", "not the password"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.body.contains("do not match"), "{}", wrong.body);

    // The password step asks for the code; no session yet.
    let step = b
        .post(
            "/console/signin",
            &[("csrf", &csrf), ("email", owner), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(step.status, StatusCode::SEE_OTHER, "{}", step.body);
    assert_eq!(step.location.as_deref(), Some("/console/signin/code"));
    assert!(b.jar.contains_key(SIGN_IN));
    assert!(!b.jar.contains_key(SESSION));
    let code_form = b.get("/console/signin/code").await;
    // The next window's code (the server takes one step of drift; the
    // current one was spent turning MFA on, and a code is good once).
    let code = totp(&secret, now_unix() + 30);
    let near: Vec<String> = [0, 30, 60]
        .iter()
        .map(|d| totp(&secret, now_unix() - 30 + d))
        .collect();
    let wrong_code = ["000000", "111111", "222222", "333333"]
        .into_iter()
        .find(|c| !near.iter().any(|n| n == c))
        .unwrap();
    let bad = submit(
        &mut b,
        &code_form,
        "/console/signin/code",
        &[("code", wrong_code)],
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!b.jar.contains_key(SESSION));
    let done = submit(
        &mut b,
        &code_form,
        "/console/signin/code",
        &[("code", &code)],
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location.as_deref(), Some("/console"));
    let cookie = &b.set_lines[SESSION];
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(b.jar[SESSION].starts_with("sks_"));
    assert!(!b.jar.contains_key(SIGN_IN));

    // Needs attention: nothing waits yet.
    let home = b.get("/console").await;
    assert_eq!(home.status, StatusCode::OK, "{}", home.body);
    assert!(home.body.contains("<h1>Needs attention</h1>"));
    assert_eq!(figure(&home, "awaiting_payment"), "0");
    assert_eq!(figure(&home, "to_fulfil"), "0");
    assert_eq!(figure(&home, "low_stock"), "0", "ten in stock");
    assert!(home.body.contains("Nothing is waiting"));

    // A manual-payment order waits for its payment; once paid, to be fulfilled.
    let order = order_of(&app, &s, 1).await;
    let id = order["id"].as_str().unwrap();
    let home = b.get("/console").await;
    assert_eq!(figure(&home, "awaiting_payment"), "1");
    assert_eq!(figure(&home, "low_stock"), "0", "nine left");
    assert_eq!(figure(&home, "to_fulfil"), "0");
    // (Turning MFA on ended the owner's API sessions: an admin marks it paid.)
    cli_staff(&app, "acme", "admin@acme.example", "admin").await;
    let admin = crate::commerce_support::Shop {
        token: token(&app, Some("acme"), "admin@acme.example", "staff").await,
        ..s
    };
    let paid = order_action(&app, &admin, id, "mark-paid").await;
    assert_eq!(paid.status(), 200);
    let home = b.get("/console").await;
    assert_eq!(figure(&home, "awaiting_payment"), "0");
    assert_eq!(figure(&home, "to_fulfil"), "1");
    assert!(!home.body.contains("Nothing is waiting"));

    // Today so far: one order, and its total once paid (nothing a week ago).
    let row = sales_row(&home);
    assert!(
        row.contains("<td class=\"num\" data-orders-today>1</td>"),
        "{row}"
    );
    let total = order["total"]["amount"].as_i64().unwrap();
    let shown = format!("{}.{:02}", total / 100, total % 100);
    assert!(row.contains(&shown), "{shown} in {row}");
    assert!(
        row.contains("<td class=\"num\">0</td>"),
        "none a week ago: {row}"
    );
}

/// Two shops' checkouts at once (on PostgreSQL they share checkout
/// batches, whose orders one statement inserts and its trigger adds to
/// the sales counters; on SQLite one writer commits them together): each
/// shop's console shows today exactly its own orders, and its revenue once
/// one is paid.
#[tokio::test]
async fn todays_sales_count_each_shops_own_orders_of_checkouts_made_at_once() {
    let app = web_app().await;
    let shops = [
        selling_shop(&app, "acme", 1999, 100).await,
        selling_shop(&app, "zeta", 2500, 100).await,
    ];
    let mut carts = Vec::new();
    for (n, s) in shops.iter().enumerate() {
        for i in 0..8i64 {
            let (cart, token) = cart_with(&app, &s.slug, &[(&s.variant, 1 + i % 2)]).await;
            carts.push((n, cart, token));
        }
    }
    let mut tasks = Vec::new();
    for (n, cart, token) in carts {
        let body = checkout_body("buyer@example.com");
        let request = checkout_request(&app, &shops[n].slug, &cart, &token, &cart, &body);
        tasks.push(tokio::spawn(async move {
            let resp = request.send().await.unwrap();
            assert_eq!(resp.status(), 201);
            let b: serde_json::Value = resp.json().await.unwrap();
            (n, b["order"].clone())
        }));
    }
    let mut orders = vec![Vec::new(), Vec::new()];
    for t in tasks {
        let (n, order) = t.await.unwrap();
        orders[n].push(order);
    }
    for (s, placed) in shops.iter().zip(&orders) {
        let paid = placed[0]["id"].as_str().unwrap();
        assert_eq!(order_action(&app, s, paid, "mark-paid").await.status(), 200);
        let row = todays_sales_row(&app, &s.slug).await;
        assert!(
            row.contains("<td class=\"num\" data-orders-today>8</td>"),
            "{}: {row}",
            s.slug
        );
        let total = placed[0]["total"]["amount"].as_i64().unwrap();
        let shown = format!("{}.{:02}", total / 100, total % 100);
        assert!(row.contains(&shown), "{}: {shown} in {row}", s.slug);
    }
}

#[tokio::test]
async fn the_navigation_shows_each_role_only_what_it_may_open_and_the_server_refuses_the_rest() {
    let app = web_app().await;
    staffed_shop(&app, "acme").await;
    let mut owner = staff_console(&app, "acme", "owner").await;
    let page = owner.get("/console").await;
    assert!(
        page.body.contains("href=\"/console/api-keys\""),
        "{}",
        page.body
    );
    assert!(page.body.contains("href=\"/console/audit\""));
    assert!(page.body.contains("<span class=\"tag\">owner</span>"));

    let mut viewer = staff_console(&app, "acme", "viewer").await;
    let page = viewer.get("/console").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("href=\"/console/orders\""));
    assert!(
        !page.body.contains("href=\"/console/api-keys\""),
        "{}",
        page.body
    );
    assert!(!page.body.contains("href=\"/console/audit\""));
}

#[tokio::test]
async fn a_form_post_without_this_sessions_token_or_from_another_site_is_refused() {
    let app = web_app().await;
    staffed_shop(&app, "acme").await;
    let mut b = staff_console(&app, "acme", "staff").await;
    let page = b.get("/console").await;

    // No token: 403, still signed in.
    let refused = b.post("/console/signout", &[]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(b.jar.contains_key(SESSION));
    // The token of the signed-out form (bound to the browser, not the session).
    let mut other = Browser::new(&app, &host("acme"));
    let foreign = other.get("/console/signin").await.csrf();
    let refused = b.post("/console/signout", &[("csrf", &foreign)]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    // The storefront's token for this browser is no console token.
    let shop_token = b.get("/signin").await.csrf();
    let refused = b.post("/console/signout", &[("csrf", &shop_token)]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    // The right token from another site.
    let csrf = page.csrf();
    let refused = b
        .post_raw("/console/signout", &[("csrf", &csrf)], |r| {
            r.header("sec-fetch-site", "cross-site")
        })
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(b.get("/console").await.status, StatusCode::OK);

    // With it, sign-out ends the session server-side: a copy of the
    // cookie no longer works.
    let copy = b.jar[SESSION].clone();
    let out = submit(&mut b, &page, "/console/signout", &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert!(!b.jar.contains_key(SESSION));
    let mut stolen = Browser::new(&app, &host("acme"));
    stolen.jar.insert(SESSION.into(), copy);
    let back = stolen.get("/console").await;
    assert_eq!(back.status, StatusCode::SEE_OTHER);
    assert!(back.location.unwrap().starts_with("/console/signin"));
}

#[tokio::test]
async fn each_host_opens_its_own_console_for_its_own_accounts_only() {
    let app = web_app().await;
    staffed_shop(&app, "acme").await;
    staffed_shop(&app, "globex").await;
    cli_staff(&app, "acme", "shopper-staff@acme.example", "staff").await;

    // A staff session of acme is nothing at globex's console.
    let acme = staff_console(&app, "acme", "owner").await;
    let mut at_globex = acme.at_host(&host("globex"));
    let page = at_globex.get("/console").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(page.location.unwrap().starts_with("/console/signin"));

    // Staff cannot sign in at the platform's host, nor at another shop's.
    let mut b = Browser::new(&app, BASE);
    let csrf = b.get("/console/signin").await.csrf();
    let refused = b
        .post(
            "/console/signin",
            &[
                ("csrf", &csrf),
                ("email", "owner@acme.example"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let mut g = Browser::new(&app, &host("globex"));
    let csrf = g.get("/console/signin").await.csrf();
    let refused = g
        .post(
            "/console/signin",
            &[
                ("csrf", &csrf),
                ("email", "owner@acme.example"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Operators sign in at the platform's host only.
    let mut op = operator_console(&app, "ops@platform.example").await;
    let home = op.get("/console").await;
    assert_eq!(home.status, StatusCode::OK, "{}", home.body);
    assert!(home.body.contains("<h1>Overview</h1>"));
    assert!(home.body.contains("href=\"/console/shops\""));
    let mut op_at_shop = Browser::new(&app, &host("acme"));
    let csrf = op_at_shop.get("/console/signin").await.csrf();
    let refused = op_at_shop
        .post(
            "/console/signin",
            &[
                ("csrf", &csrf),
                ("email", "ops@platform.example"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    // The operator's session means nothing at a shop's console either.
    let mut carried = op.at_host(&host("acme"));
    assert_eq!(carried.get("/console").await.status, StatusCode::SEE_OTHER);

    // A host that is neither a shop nor the platform opens no console.
    let mut stray = Browser::new(&app, "elsewhere.example");
    assert_eq!(
        stray.get("/console/signin").await.status,
        StatusCode::NOT_FOUND
    );
    let _ = sign_in_at;
}

#[tokio::test]
async fn console_pages_are_strict_html_never_stored_and_the_stylesheet_is_immutable() {
    let app = web_app().await;
    staffed_shop(&app, "acme").await;
    let page = crate::web_support::get(&app, "acme", "/console/signin").await;
    assert_eq!(page.status, 200);
    page.assert_safe();
    assert_eq!(page.header("cache-control"), "no-store");
    assert!(
        page.body
            .contains("<meta name=\"robots\" content=\"noindex, nofollow\">")
    );
    let css = page
        .body
        .split("<link rel=\"stylesheet\" href=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_owned();
    assert!(css.starts_with("/console/assets/console-"), "{css}");
    let sheet = crate::web_support::get(&app, "acme", &css).await;
    assert_eq!(sheet.status, 200);
    assert!(sheet.header("content-type").starts_with("text/css"));
    assert!(sheet.header("cache-control").contains("immutable"));
    let old = crate::web_support::get(&app, "acme", "/console/assets/console-0000.css").await;
    assert_eq!(old.status, 404);
}

#[tokio::test]
async fn a_shop_that_requires_mfa_shows_staff_without_it_nothing_but_the_request_to_turn_it_on() {
    let app = web_app().await;
    let owner = staffed_shop(&app, "acme").await;
    let resp = crate::identity::admin(
        &app,
        "acme",
        &owner,
        reqwest::Method::PATCH,
        "/api/v1/admin/settings",
    )
    .json(&serde_json::json!({"settings": {"require_staff_mfa": true}}))
    .send()
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
    let mut b = staff_console(&app, "acme", "staff").await;
    for path in ["/console", "/console/orders", "/console/products"] {
        let page = b.get(path).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");
        assert!(
            page.body.contains("requires staff to use MFA"),
            "{path}: {}",
            page.body
        );
        assert!(!page.body.contains("data-figure"), "{path}");
    }
}

#[tokio::test]
async fn signing_in_over_a_dead_session_cookie_keeps_the_new_session() {
    let app = web_app().await;
    staffed_shop(&app, "acme").await;
    let mut b = staff_console(&app, "acme", "staff").await;
    let stale = b.jar[SESSION].clone();
    let page = b.get("/console").await;
    let out = submit(&mut b, &page, "/console/signout", &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    // The revoked session's cookie is still in the browser (as after a
    // password reset elsewhere); signing in answers with a new one.
    b.jar.insert(SESSION.into(), stale.clone());
    let form = b.get("/console/signin").await;
    let done = submit(
        &mut b,
        &form,
        "/console/signin",
        &[("email", "staff@acme.example"), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let fresh = b
        .jar
        .get(SESSION)
        .cloned()
        .expect("the new session cookie is kept");
    assert_ne!(fresh, stale);
    assert_eq!(b.get("/console").await.status, StatusCode::OK);
}
