//! The storefront's account security pages through HTTP, on both
//! databases: the MFA sign-in's server-side challenge (no password in any
//! cookie; expired, used, foreign-shop and worn-out challenges refused;
//! wrong codes counted against the lockout), the sessions page and
//! revoking, password reset end to end (the email's link followed), the
//! data export download, the erasure, TOTP enrolment, the Auth tier of the
//! sign-in posts, and the German strings.

use reqwest::Method;
use serde_json::{Value, json};
use storekeep_test_support::TestApp;

use crate::email_support::{Mail, messages_in, wait_for};
use crate::identity::{PASSWORD, login_as, now_unix, register, totp};
use crate::web_browser::{Browser, Page};
use crate::web_session::sign_up;
use crate::web_support::{BASE, host, web_app};

const SESSION: &str = "__Host-sk_session";
const SIGN_IN: &str = "__Host-sk_signin";

/// Runs one statement on the test's database (to age a challenge).
async fn sql(app: &TestApp, statement: &str) {
    if app.db.is_sqlite() {
        let mut c = <sqlx::SqliteConnection as sqlx::Connection>::connect(&app.db.url)
            .await
            .unwrap();
        sqlx::query(statement).execute(&mut c).await.unwrap();
    } else {
        let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(&app.db.url)
            .await
            .unwrap();
        sqlx::query(statement).execute(&mut c).await.unwrap();
    }
}

/// The password step of ada@example.com (MFA on) at `b`'s shop: the
/// challenge cookie is set, nobody is signed in yet.
async fn password_step(b: &mut Browser) -> Page {
    let csrf = b.get("/signin").await.csrf();
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
    assert!(!b.jar.contains_key(SESSION), "not signed in yet");
    step
}

/// Posts `code` to the code step.
async fn code_step(b: &mut Browser, code: &str) -> Page {
    let csrf = b.token().await;
    b.post("/signin/code", &[("csrf", &csrf), ("code", code)])
        .await
}

/// A code that is not `good`.
fn other_than(good: &str) -> &'static str {
    if good == "123456" { "654321" } else { "123456" }
}

/// The next step's code (the current one may have been spent).
fn next_code(secret: &str) -> String {
    totp(secret, now_unix() + 30)
}

#[tokio::test]
async fn the_mfa_code_step_answers_a_server_side_challenge_and_no_cookie_holds_the_password() {
    let app = web_app().await;
    let (secret, _) = crate::mfa::customer_with_mfa(&app).await;
    let mut b = Browser::new(&app, &host("acme"));
    password_step(&mut b).await;

    // The cookie is the challenge's random token only.
    let cookie = b.jar[SIGN_IN].clone();
    assert!(cookie.starts_with("skm_"), "{cookie}");
    let lower = cookie.to_ascii_lowercase();
    for secret_part in ["ada", "example", "correct", "horse", "staple"] {
        assert!(!lower.contains(secret_part), "{secret_part} in {cookie}");
    }
    assert!(
        cookie.len() < 60,
        "a token, not a sealed password: {cookie}"
    );
    let line = &b.set_lines[SIGN_IN];
    assert!(
        line.contains("Max-Age=300") && line.contains("HttpOnly"),
        "{line}"
    );

    let good = next_code(&secret);
    let wrong = code_step(&mut b, other_than(&good)).await;
    assert_eq!(wrong.status, 422, "{}", wrong.body);
    assert!(wrong.body.contains("The code is wrong"), "{}", wrong.body);
    assert!(!b.jar.contains_key(SESSION));

    let done = code_step(&mut b, &good).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert!(b.jar.contains_key(SESSION));
    assert!(
        !b.jar.contains_key(SIGN_IN),
        "the challenge's cookie is dropped"
    );
    let account = b.get("/account").await;
    assert!(account.body.contains("Signed in as ada@example.com"));

    // Single use: the same challenge again (a replayed cookie) is refused,
    // even with a fresh code.
    let mut replay = Browser::new(&app, &host("acme"));
    replay.jar.insert(SIGN_IN.into(), cookie);
    let again = code_step(&mut replay, &totp(&secret, now_unix() + 60)).await;
    assert_eq!(again.status, 422, "{}", again.body);
    assert!(again.body.contains("took too long"), "{}", again.body);
    assert!(!replay.jar.contains_key(SESSION));
    app.stop().await;
}

#[tokio::test]
async fn an_expired_or_another_shops_challenge_signs_no_one_in() {
    let app = web_app().await;
    let (secret, _) = crate::mfa::customer_with_mfa(&app).await;
    app.create_tenant("globex", json!({})).await;

    // Another shop's host: the challenge is not found there (and no
    // attempt of it is spent).
    let mut b = Browser::new(&app, &host("acme"));
    password_step(&mut b).await;
    let mut there = b.at_host(&host("globex"));
    let foreign = code_step(&mut there, &next_code(&secret)).await;
    assert_eq!(foreign.status, 422, "{}", foreign.body);
    assert!(!there.jar.contains_key(SESSION));
    let home = code_step(&mut b, &next_code(&secret)).await;
    assert_eq!(
        home.status, 303,
        "still good at its own shop: {}",
        home.body
    );

    // Expired: its five minutes are over.
    let mut late = Browser::new(&app, &host("acme"));
    password_step(&mut late).await;
    sql(
        &app,
        "UPDATE sign_in_challenges SET expires_at = created_at",
    )
    .await;
    let expired = code_step(&mut late, &totp(&secret, now_unix() + 60)).await;
    assert_eq!(expired.status, 422, "{}", expired.body);
    assert!(expired.body.contains("took too long"), "{}", expired.body);
    assert!(!late.jar.contains_key(SESSION));
    assert!(
        !late.jar.contains_key(SIGN_IN),
        "the dead challenge's cookie goes"
    );

    // No cookie at all.
    let mut none = Browser::new(&app, &host("acme"));
    let page = code_step(&mut none, "123456").await;
    assert_eq!(page.status, 422);
    app.stop().await;
}

#[tokio::test]
async fn too_many_wrong_codes_kill_the_challenge_and_count_toward_the_lockout() {
    let app = web_app().await;
    let (secret, _) = crate::mfa::customer_with_mfa(&app).await;
    let mut b = Browser::new(&app, &host("acme"));
    password_step(&mut b).await;
    let cookie = b.jar[SIGN_IN].clone();
    let good = next_code(&secret);
    let bad = other_than(&good);
    for _ in 0..2 {
        let page = code_step(&mut b, bad).await;
        assert_eq!(page.status, 422);
        assert!(page.body.contains("The code is wrong"), "{}", page.body);
    }
    // The third wrong code is the last the challenge takes.
    let last = code_step(&mut b, bad).await;
    assert_eq!(last.status, 422);
    assert!(last.body.contains("took too long"), "{}", last.body);
    assert!(!b.jar.contains_key(SIGN_IN));
    // Dead: even the right code does not sign in with it.
    b.jar.insert(SIGN_IN.into(), cookie);
    let dead = code_step(&mut b, &good).await;
    assert_eq!(dead.status, 422, "{}", dead.body);
    assert!(!b.jar.contains_key(SESSION));

    // The password step and the codes after the first were three failed
    // attempts of the account (the first code rides on the password step's
    // count, as the API counts a password and a code as one attempt): a
    // wrong password is the fourth (a plain 401), the next the fifth, which
    // locks it, and then even the right password and code are refused.
    for (n, status) in [(4, 401), (5, 429)] {
        let wrong = login_as(
            &app,
            Some("acme"),
            json!({"email": "ada@example.com", "password": "not the password"}),
        )
        .await;
        assert_eq!(wrong.status(), status, "failure {n}");
    }
    let locked = login_as(
        &app,
        Some("acme"),
        json!({"email": "ada@example.com", "password": PASSWORD,
               "totp": totp(&secret, now_unix() + 60)}),
    )
    .await;
    assert_eq!(locked.status(), 429, "the codes counted toward the lockout");
    app.stop().await;
}

#[tokio::test]
async fn a_sign_in_that_is_the_locks_own_attempt_completes_with_the_right_code() {
    // Four failed logins (someone guessing, or the owner mistyping); the
    // owner's next sign-in is the fifth attempt, which sets the lock, yet
    // the password is right: as the API's one-call login does, the right
    // code completes it (a code step that refused on that lock would leave
    // the account unable to sign in on the storefront until a reset).
    let app = web_app().await;
    let (secret, _) = crate::mfa::customer_with_mfa(&app).await;
    for n in 1..=4 {
        let wrong = login_as(
            &app,
            Some("acme"),
            json!({"email": "ada@example.com", "password": "not the password"}),
        )
        .await;
        assert_eq!(wrong.status(), 401, "failure {n}");
    }
    let mut b = Browser::new(&app, &host("acme"));
    password_step(&mut b).await;
    let done = code_step(&mut b, &next_code(&secret)).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert!(b.jar.contains_key(SESSION));
    // The success cleared the count: a wrong password is a plain 401 again.
    let wrong = login_as(
        &app,
        Some("acme"),
        json!({"email": "ada@example.com", "password": "not the password"}),
    )
    .await;
    assert_eq!(wrong.status(), 401);
    app.stop().await;
}

#[tokio::test]
async fn the_sessions_page_lists_each_session_and_revokes_one_or_this_one() {
    let app = web_app().await;
    app.create_tenant("acme", json!({})).await;
    let guest = Browser::new(&app, &host("acme"))
        .get("/account/sessions")
        .await;
    assert_eq!(guest.status, 303);
    assert_eq!(
        guest.location.as_deref(),
        Some("/signin?next=%2Faccount%2Fsessions")
    );

    let mut b = Browser::new(&app, &host("acme"));
    sign_up(&mut b, "ann@example.com").await;
    let api = app
        .shop("acme", Method::POST, "/api/v1/auth/login")
        .header("user-agent", "PhoneApp/2.1")
        .json(&json!({"email": "ann@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let api: Value = api.json().await.unwrap();
    let api_token = api["token"].as_str().unwrap().to_owned();
    let api_id = api["session_id"].as_str().unwrap().to_owned();

    let page = b.get("/account/sessions").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("PhoneApp/2.1"), "{}", page.body);
    assert!(page.body.contains("127.0.0.1"), "{}", page.body);
    assert_eq!(page.body.matches("This device").count(), 1, "{}", page.body);
    assert_eq!(
        page.body.matches("/revoke\"").count(),
        2,
        "a button per session"
    );
    assert!(
        page.body
            .contains(&format!("/account/sessions/{api_id}/revoke"))
    );

    let csrf = page.csrf();
    let revoked = b
        .post(
            &format!("/account/sessions/{api_id}/revoke"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(revoked.status, 303, "{}", revoked.body);
    let me = app
        .shop("acme", Method::GET, "/api/v1/auth/me")
        .bearer_auth(&api_token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 401, "the app's session is over");
    let page = b.get("/account/sessions").await;
    assert!(!page.body.contains("PhoneApp"));
    // Revoking it again (gone) is a 404 page, not a 500.
    let again = b
        .post(
            &format!("/account/sessions/{api_id}/revoke"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(again.status, 404, "{}", again.body);
    let junk = b
        .post("/account/sessions/not-an-id/revoke", &[("csrf", &csrf)])
        .await;
    assert_eq!(junk.status, 404);

    // This device's own button signs this browser out.
    let own = crate::web_browser::input_value(&page.body, "csrf").unwrap();
    let start = page.body.find("This device").unwrap();
    let rest = &page.body[start..];
    let at = rest.find("/account/sessions/").unwrap() + "/account/sessions/".len();
    let id = &rest[at..at + rest[at..].find('/').unwrap()];
    let out = b
        .post(&format!("/account/sessions/{id}/revoke"), &[("csrf", &own)])
        .await;
    assert_eq!(out.status, 303);
    assert_eq!(out.location.as_deref(), Some("/"));
    assert!(!b.jar.contains_key(SESSION), "signed out");
    assert_eq!(b.get("/account").await.status, 303);
    app.stop().await;
}

#[tokio::test]
async fn sign_out_everywhere_ends_every_session() {
    let app = web_app().await;
    app.create_tenant("acme", json!({})).await;
    let mut b = Browser::new(&app, &host("acme"));
    sign_up(&mut b, "ann@example.com").await;
    let other = crate::identity::customer_token(&app, "acme", "ann@example.com").await;
    let csrf = b.get("/account/sessions").await.csrf();
    let out = b
        .post("/account/sessions/revoke-all", &[("csrf", &csrf)])
        .await;
    assert_eq!(out.status, 303);
    assert!(!b.jar.contains_key(SESSION));
    let me = app
        .shop("acme", Method::GET, "/api/v1/auth/me")
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 401);
    app.stop().await;
}

/// The reset link of the newest message in the mail folder after `before`.
async fn reset_link(app: &TestApp, before: usize) -> String {
    let folder = app.db.dir.path().join("mail");
    let path = wait_for(&folder, before + 1).await.last().unwrap().clone();
    let mail = Mail::read(&path);
    let text: String = mail.parts().iter().map(Mail::decoded).collect();
    let text = text.replace("=\n", "");
    let at = text
        .find("password-reset/confirm?token=")
        .unwrap_or_else(|| panic!("no reset link: {text}"));
    let start = text[..at].rfind("http").unwrap();
    let end = at
        + text[at..]
            .find(|c: char| c.is_whitespace() || c == '"' || c == '<')
            .unwrap_or(text.len() - at);
    text[start..end].to_owned()
}

#[tokio::test]
async fn a_password_reset_goes_from_the_form_through_the_email_to_a_new_password() {
    let app = web_app().await;
    app.create_tenant("acme", json!({})).await;
    let mut ann = Browser::new(&app, &host("acme"));
    sign_up(&mut ann, "ann@example.com").await;
    let folder = app.db.dir.path().join("mail");

    let mut b = Browser::new(&app, &host("acme"));
    let form = b.get("/password-reset").await;
    assert_eq!(form.status, 200);
    assert!(
        b.get("/signin")
            .await
            .body
            .contains("href=\"/password-reset\"")
    );
    // The same answer for an unknown address, and no email.
    let before = messages_in(&folder).len();
    let unknown = b
        .post(
            "/password-reset",
            &[("csrf", &form.csrf()), ("email", "nobody@example.com")],
        )
        .await;
    let known = b
        .post(
            "/password-reset",
            &[("csrf", &form.csrf()), ("email", "ann@example.com")],
        )
        .await;
    assert_eq!(unknown.status, 200);
    assert_eq!(known.status, 200);
    assert!(known.body.contains("If an account exists for this email"));
    let main = |p: &Page| {
        let s = p.body.find("<main").unwrap();
        p.body[s..p.body.find("</main>").unwrap()].to_owned()
    };
    assert_eq!(main(&unknown), main(&known), "the same page either way");

    let link = reset_link(&app, before).await;
    // The shop's public origin, as its pages' canonical links show it.
    let home = crate::web_support::get(&app, "acme", "/").await;
    let origin = home.canonical().unwrap().trim_end_matches('/').to_owned();
    assert!(origin.ends_with("://acme.shops.example"), "{origin}");
    assert!(
        link.starts_with(&format!("{origin}/password-reset/confirm?token=skr_")),
        "{link}"
    );
    assert_eq!(
        messages_in(&folder).len(),
        before + 1,
        "one email: the known address's"
    );

    // Follow the link.
    let path = link.strip_prefix(&origin).unwrap();
    let page = b.get(path).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let token = page.input("token").expect("the token rides in the form");
    let csrf = page.csrf();
    let differ = b
        .post(
            "/password-reset/confirm",
            &[
                ("csrf", &csrf),
                ("token", &token),
                ("password", "a brand new passphrase"),
                ("password_confirm", "another passphrase"),
            ],
        )
        .await;
    assert_eq!(differ.status, 422);
    assert!(differ.body.contains("The two passwords are not the same"));
    let short = b
        .post(
            "/password-reset/confirm",
            &[
                ("csrf", &csrf),
                ("token", &token),
                ("password", "short"),
                ("password_confirm", "short"),
            ],
        )
        .await;
    assert_eq!(short.status, 422, "the API's password rules");
    assert!(short.body.contains("aria-invalid"), "{}", short.body);
    let done = b
        .post(
            "/password-reset/confirm",
            &[
                ("csrf", &csrf),
                ("token", &token),
                ("password", "a brand new passphrase"),
                ("password_confirm", "a brand new passphrase"),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let done = b.follow(done).await;
    assert!(done.body.contains("Password changed"), "{}", done.body);
    assert!(done.body.contains("href=\"/signin\""));

    // Signed out everywhere; the old password refused, the new one taken.
    assert_eq!(ann.get("/account").await.status, 303, "ann's session ended");
    let csrf = b.token().await;
    let old = b
        .post(
            "/signin",
            &[
                ("csrf", &csrf),
                ("email", "ann@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(old.status, 422);
    let new = b
        .post(
            "/signin",
            &[
                ("csrf", &csrf),
                ("email", "ann@example.com"),
                ("password", "a brand new passphrase"),
            ],
        )
        .await;
    assert_eq!(new.status, 303, "{}", new.body);

    // The link is single use.
    let mut c = Browser::new(&app, &host("acme"));
    let csrf = c.get(path).await.csrf();
    let reused = c
        .post(
            "/password-reset/confirm",
            &[
                ("csrf", &csrf),
                ("token", &token),
                ("password", "yet another passphrase"),
                ("password_confirm", "yet another passphrase"),
            ],
        )
        .await;
    assert_eq!(reused.status, 422);
    assert!(reused.body.contains("unknown, already used or expired"));
    let bad = c.get("/password-reset/confirm?token=<script>").await;
    assert_eq!(bad.status, 422);
    app.stop().await;
}

#[tokio::test]
async fn reset_links_use_the_configured_scheme_and_port() {
    let app = storekeep_test_support::spawn_app_with(|s| {
        s.base_domain = Some(storekeep_domain::DomainName::parse(BASE).unwrap());
        s.web_public_scheme = "http".into();
        s.web_public_port = Some(8080);
    })
    .await;
    app.create_tenant("acme", json!({})).await;
    assert_eq!(
        register(&app, "acme", "ann@example.com").await.status(),
        201
    );
    let folder = app.db.dir.path().join("mail");
    let before = messages_in(&folder).len();
    let mut b = Browser::new(&app, &host("acme"));
    let csrf = b.get("/password-reset").await.csrf();
    b.post(
        "/password-reset",
        &[("csrf", &csrf), ("email", "ann@example.com")],
    )
    .await;
    let link = reset_link(&app, before).await;
    assert!(
        link.starts_with("http://acme.shops.example:8080/password-reset/confirm?token=skr_"),
        "{link}"
    );
    app.stop().await;
}

/// POSTs a form with the browser's cookies, answering the raw response.
async fn raw_post(
    app: &TestApp,
    b: &Browser,
    path: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let cookies: Vec<String> = b.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let body: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    app.request(Method::POST, path)
        .header("host", &b.host)
        .header("cookie", cookies.join("; "))
        .header("sec-fetch-site", "same-origin")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn download_my_data_is_the_apis_export_as_a_json_attachment() {
    let app = web_app().await;
    app.create_tenant("acme", json!({})).await;
    let mut b = Browser::new(&app, &host("acme"));
    sign_up(&mut b, "ann@example.com").await;
    let page = b.get("/account/privacy").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Download my data"));
    assert!(
        b.get("/account")
            .await
            .body
            .contains("href=\"/account/privacy\"")
    );

    let refused = raw_post(&app, &b, "/account/privacy/export", &[("csrf", "forged")]).await;
    assert_eq!(refused.status(), 403, "behind the CSRF guard");

    let resp = raw_post(
        &app,
        &b,
        "/account/privacy/export",
        &[("csrf", &page.csrf())],
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let disposition = resp.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        disposition.starts_with("attachment; filename=\"acme-account-data.json\""),
        "{disposition}"
    );
    let web: Value = resp.json().await.unwrap();

    let token = b.jar[SESSION].clone();
    let api: Value = app
        .shop("acme", Method::GET, "/api/v1/store/account/export")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let keys = |v: &Value| {
        let mut k: Vec<String> = v["export"].as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&web), keys(&api), "the same document");
    assert_eq!(web["export"]["account"], api["export"]["account"]);
    assert!(web.to_string().contains("ann@example.com"));
    app.stop().await;
}

#[tokio::test]
async fn erasing_the_account_needs_the_password_then_signs_out_and_says_what_is_kept() {
    let app = web_app().await;
    app.create_tenant("acme", json!({})).await;
    let guest = Browser::new(&app, &host("acme"))
        .get("/account/privacy/erase")
        .await;
    assert_eq!(guest.status, 303);

    let mut b = Browser::new(&app, &host("acme"));
    sign_up(&mut b, "ann@example.com").await;
    let form = b.get("/account/privacy/erase").await;
    assert_eq!(form.status, 200);
    let csrf = form.csrf();
    let wrong = b
        .post(
            "/account/privacy/erase",
            &[("csrf", &csrf), ("password", "not the password")],
        )
        .await;
    assert_eq!(wrong.status, 422);
    assert!(wrong.body.contains("The password or code is wrong"));
    assert_eq!(b.get("/account").await.status, 200, "nothing erased");

    let done = b
        .post(
            "/account/privacy/erase",
            &[("csrf", &csrf), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert!(!b.jar.contains_key(SESSION), "signed out");
    let page = b.follow(done).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("Your account was erased"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("Ann Example"));
    let login = login_as(
        &app,
        Some("acme"),
        json!({"email": "ann@example.com", "password": PASSWORD}),
    )
    .await;
    assert_eq!(login.status(), 401, "the account is gone");
    // What is kept of orders is said when there were some.
    let kept = b.get("/account/erased?orders=2").await;
    assert!(
        kept.body.contains("Your orders (2) are kept"),
        "{}",
        kept.body
    );
    app.stop().await;
}

#[tokio::test]
async fn totp_enrolment_from_the_account_pages_turns_mfa_on() {
    let app = web_app().await;
    app.create_tenant("acme", json!({})).await;
    let mut b = Browser::new(&app, &host("acme"));
    sign_up(&mut b, "ann@example.com").await;
    let page = b.get("/account/mfa").await;
    assert!(page.body.contains("Two-step verification is off"));
    let started = b.post("/account/mfa", &[("csrf", &page.csrf())]).await;
    assert_eq!(started.status, 200, "{}", started.body);
    assert!(started.body.contains("otpauth://totp/"), "{}", started.body);
    let open = "<code class=\"secret\">";
    let at = started.body.find(open).unwrap() + open.len();
    let secret = started.body[at..at + started.body[at..].find('<').unwrap()].to_owned();
    let csrf = started.csrf();
    let wrong = b
        .post(
            "/account/mfa/confirm",
            &[
                ("csrf", &csrf),
                ("code", other_than(&totp(&secret, now_unix()))),
            ],
        )
        .await;
    assert_eq!(wrong.status, 422);
    let on = b
        .post(
            "/account/mfa/confirm",
            &[("csrf", &csrf), ("code", &totp(&secret, now_unix()))],
        )
        .await;
    assert_eq!(on.status, 200, "{}", on.body);
    assert!(on.body.contains("recovery codes"), "{}", on.body);
    assert_eq!(on.body.matches("<li><code>").count(), 10);
    assert!(b.get("/account/mfa").await.body.contains("is on"));
    app.stop().await;
}

#[tokio::test]
async fn sign_in_posts_count_in_the_auth_tier_shared_with_the_api() {
    let app = web_app().await;
    let limits = json!({
        "api_requests_per_minute": 1000, "auth_requests_per_minute": 3,
        "search_requests_per_minute": 1000, "admin_requests_per_minute": 1000
    });
    crate::catalog_support::create_plan(&app, "tight", limits).await;
    crate::catalog_support::shop(&app, "acme", Some("tight")).await;
    let mut b = Browser::new(&app, &host("acme"));
    let csrf = b.token().await;
    let fields = [
        ("csrf", csrf.as_str()),
        ("email", "nobody@example.com"),
        ("password", "not the password"),
    ];
    // Making the shop signed its owner in through the API: one request of
    // the three. A sign-in post is the second.
    assert_eq!(b.post("/signin", &fields).await.status, 422);
    // The API's auth requests from the same address share the bucket.
    let api = login_as(
        &app,
        Some("acme"),
        json!({"email": "nobody@example.com", "password": "not the password"}),
    )
    .await;
    assert_eq!(api.status(), 401);
    let limited = b.post("/signin", &fields).await;
    assert_eq!(limited.status, 429, "{}", limited.body);
    assert!(limited.body.contains("<html"), "an HTML page");
    for path in [
        "/signup",
        "/signin/code",
        "/password-reset",
        "/password-reset/confirm",
    ] {
        assert_eq!(b.post(path, &[("csrf", &csrf)]).await.status, 429, "{path}");
    }
    // Pages themselves stay in the Api tier.
    assert_eq!(b.get("/signin").await.status, 200);
    assert_eq!(b.get("/password-reset").await.status, 200);
    app.stop().await;
}

#[tokio::test]
async fn the_account_pages_speak_german() {
    let app = web_app().await;
    app.create_tenant("acme", json!({})).await;
    let mut b = Browser::new(&app, &host("acme"));
    sign_up(&mut b, "ann@example.com").await;
    let de = |b: &Browser, path: &str| {
        let cookies: Vec<String> = b.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
        app.request(Method::GET, path)
            .header("host", &b.host)
            .header("cookie", cookies.join("; "))
            .header("accept-language", "de-DE,de;q=0.9")
            .send()
    };
    for (path, text) in [
        ("/account", "Kontoeinstellungen"),
        ("/account/sessions", "Wo Sie angemeldet sind"),
        ("/account/sessions", "Dieses Gerät"),
        ("/account/privacy", "Meine Daten herunterladen"),
        ("/account/privacy/erase", "Mein Konto endgültig löschen"),
        ("/account/mfa", "Bestätigung in zwei Schritten"),
        ("/password-reset", "Passwort zurücksetzen"),
        (
            "/password-reset/confirm?token=skr_x",
            "Neues Passwort wählen",
        ),
        ("/password-reset/done", "Passwort geändert"),
    ] {
        let resp = de(&b, path).await.unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        let body = resp.text().await.unwrap();
        assert!(body.contains(text), "{path} lacks {text}: {body}");
        assert!(body.contains("lang=\"de\""), "{path}");
    }
    app.stop().await;
}

#[tokio::test]
async fn the_new_pages_keep_the_strict_csp() {
    let app = web_app().await;
    app.create_tenant("acme", json!({})).await;
    let mut b = Browser::new(&app, &host("acme"));
    sign_up(&mut b, "ann@example.com").await;
    let cookies: Vec<String> = b.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let cookie = cookies.join("; ");
    for path in [
        "/account",
        "/account/sessions",
        "/account/privacy",
        "/account/privacy/erase",
        "/account/mfa",
        "/password-reset",
        "/password-reset/confirm?token=skr_x",
        "/password-reset/done",
        "/account/erased",
    ] {
        let page =
            crate::web_support::get_at(&app, &host("acme"), path, &[("cookie", &cookie)]).await;
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        page.assert_safe();
    }
    app.stop().await;
}
