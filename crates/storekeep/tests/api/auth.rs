//! Sign-up, login, lockout, sessions and password reset.

use reqwest::Method;
use serde_json::{Value, json};
use storekeep_test_support::{problem, spawn_app};

use crate::identity::{PASSWORD, customer_token, login_as, register};

#[tokio::test]
async fn a_customer_signs_up_logs_in_and_sees_their_account() {
    let app = spawn_app().await;
    app.create_tenant("acme", json!({})).await;

    let created = register(&app, "acme", "Ada@Example.com").await;
    assert_eq!(created.status(), 201);
    let account: Value = created.json().await.unwrap();
    assert_eq!(account["account"]["email"], "ada@example.com");
    assert_eq!(account["account"]["kind"], "customer");
    assert!(account["account"].get("password").is_none());

    let login = login_as(
        &app,
        Some("acme"),
        json!({"email": "ada@example.com", "password": PASSWORD}),
    )
    .await;
    assert_eq!(login.status(), 200);
    let body: Value = login.json().await.unwrap();
    let token = body["token"].as_str().unwrap();
    assert!(token.starts_with("sks_") && token.len() >= 40);
    assert!(body["expires_at"].is_string());

    let me: Value = app
        .shop("acme", Method::GET, "/api/v1/auth/me")
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["account"]["email"], "ada@example.com");
    app.stop().await;
}

#[tokio::test]
async fn the_password_policy_names_every_violation() {
    let app = spawn_app().await;
    app.create_tenant("acme", json!({})).await;
    let post = |email: &'static str, password: &'static str| {
        app.shop("acme", Method::POST, "/api/v1/auth/register")
            .json(&json!({"account": {"email": email, "password": password}}))
            .send()
    };

    let short = problem(post("a@example.com", "short").await.unwrap(), 422).await;
    assert_eq!(short["errors"][0]["field"], "password");
    assert!(
        short["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("12")
    );
    let common = problem(post("a@example.com", "QWERTY123456").await.unwrap(), 422).await;
    assert!(
        common["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("common")
    );
    let same = problem(
        post("longaddress@example.com", "LongAddress@Example.com")
            .await
            .unwrap(),
        422,
    )
    .await;
    assert!(
        same["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("email")
    );
    let both = problem(post("not-an-email", "short").await.unwrap(), 422).await;
    let fields: Vec<&str> = both["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["email", "password"]);

    assert_eq!(register(&app, "acme", "a@example.com").await.status(), 201);
    let dup = problem(register(&app, "acme", "A@EXAMPLE.COM").await, 409).await;
    assert_eq!(dup["errors"][0]["field"], "email");
    app.stop().await;
}

#[tokio::test]
async fn repeated_failures_lock_the_account_and_a_success_resets_the_count() {
    let app = spawn_app().await;
    app.create_tenant("acme", json!({})).await;
    register(&app, "acme", "ada@example.com").await;
    let wrong = json!({"email": "ada@example.com", "password": "not the password at all"});
    let right = json!({"email": "ada@example.com", "password": PASSWORD});

    // Four failures, then a success: the count starts again.
    for _ in 0..4 {
        problem(login_as(&app, Some("acme"), wrong.clone()).await, 401).await;
    }
    assert_eq!(
        login_as(&app, Some("acme"), right.clone()).await.status(),
        200
    );
    for _ in 0..4 {
        problem(login_as(&app, Some("acme"), wrong.clone()).await, 401).await;
    }

    // The fifth consecutive failure locks the account for a minute...
    let locked = login_as(&app, Some("acme"), wrong.clone()).await;
    let retry: u64 = locked.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((50..=60).contains(&retry), "retry-after {retry}");
    problem(locked, 429).await;
    // ...during which even the right password is refused.
    let still = login_as(&app, Some("acme"), right).await;
    assert!(still.headers().contains_key("retry-after"));
    problem(still, 429).await;
    app.stop().await;
}

#[tokio::test]
async fn unknown_emails_get_the_same_answers_as_wrong_passwords() {
    let app = spawn_app().await;
    app.create_tenant("acme", json!({})).await;
    register(&app, "acme", "ada@example.com").await;

    let known = problem(
        login_as(
            &app,
            Some("acme"),
            json!({"email": "ada@example.com", "password": "wrong password here"}),
        )
        .await,
        401,
    )
    .await;
    let unknown = problem(
        login_as(
            &app,
            Some("acme"),
            json!({"email": "nobody@example.com", "password": "wrong password here"}),
        )
        .await,
        401,
    )
    .await;
    assert_eq!(known["detail"], unknown["detail"]);

    // Unknown emails lock after the same number of attempts.
    for _ in 0..3 {
        login_as(
            &app,
            Some("acme"),
            json!({"email": "nobody@example.com", "password": "x"}),
        )
        .await;
    }
    let fifth = login_as(
        &app,
        Some("acme"),
        json!({"email": "nobody@example.com", "password": "x"}),
    )
    .await;
    assert_eq!(fifth.status(), 429);
    app.stop().await;
}

#[tokio::test]
async fn sessions_are_listed_and_revoked_one_at_a_time_or_all_at_once() {
    let app = spawn_app().await;
    app.create_tenant("acme", json!({})).await;
    register(&app, "acme", "ada@example.com").await;
    let login = || async {
        login_as(
            &app,
            Some("acme"),
            json!({"email": "ada@example.com", "password": PASSWORD}),
        )
        .await
        .json::<Value>()
        .await
        .unwrap()
    };
    let a = login().await;
    let b = login().await;
    let c = login().await;
    let (ta, tb, tc) = (
        a["token"].as_str().unwrap(),
        b["token"].as_str().unwrap(),
        c["token"].as_str().unwrap(),
    );
    let me = |t: &str| {
        app.shop("acme", Method::GET, "/api/v1/auth/me")
            .bearer_auth(t.to_owned())
            .send()
    };

    let list: Value = app
        .shop("acme", Method::GET, "/api/v1/auth/sessions")
        .bearer_auth(ta)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(items.iter().filter(|s| s["current"] == true).count(), 1);
    assert!(
        items.iter().all(|s| s.get("token").is_none()),
        "tokens are never listed"
    );

    let revoke_b = app
        .shop(
            "acme",
            Method::DELETE,
            &format!(
                "/api/v1/auth/sessions/{}",
                b["session_id"].as_str().unwrap()
            ),
        )
        .bearer_auth(ta)
        .send()
        .await
        .unwrap();
    assert_eq!(revoke_b.status(), 204);
    problem(me(tb).await.unwrap(), 401).await;
    assert_eq!(me(ta).await.unwrap().status(), 200);

    let logout = app
        .shop("acme", Method::POST, "/api/v1/auth/logout")
        .bearer_auth(tc)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 204);
    problem(me(tc).await.unwrap(), 401).await;

    let everywhere = app
        .shop("acme", Method::DELETE, "/api/v1/auth/sessions")
        .bearer_auth(ta)
        .send()
        .await
        .unwrap();
    assert_eq!(everywhere.status(), 204);
    problem(me(ta).await.unwrap(), 401).await;
    app.stop().await;
}

#[tokio::test]
async fn a_session_of_one_shop_is_not_valid_in_another() {
    let app = spawn_app().await;
    app.create_tenant("acme", json!({})).await;
    app.create_tenant("other", json!({})).await;
    register(&app, "acme", "ada@example.com").await;
    let token = customer_token(&app, "acme", "ada@example.com").await;

    let elsewhere = app
        .shop("other", Method::GET, "/api/v1/auth/me")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();

    problem(elsewhere, 401).await;
    app.stop().await;
}

fn mail_files(app: &storekeep_test_support::TestApp) -> Vec<std::path::PathBuf> {
    let dir = app.db.dir.path().join("mail");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    files
}

/// The reset token from the newest message in the development mail folder,
/// waiting for it: the message is written after the answer.
async fn mailed_token(app: &storekeep_test_support::TestApp) -> Option<String> {
    for _ in 0..100 {
        if let Some(last) = mail_files(app).last() {
            let text = std::fs::read_to_string(last).ok()?;
            return text
                .split_whitespace()
                .find(|w| w.starts_with("skr_"))
                .map(str::to_owned);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    None
}

#[tokio::test]
async fn a_password_reset_token_is_emailed_works_once_and_ends_every_session() {
    let app = spawn_app().await;
    app.create_tenant("acme", json!({})).await;
    register(&app, "acme", "ada@example.com").await;
    let old_session = customer_token(&app, "acme", "ada@example.com").await;

    // Unknown emails get the same answer and no mail.
    let unknown = app
        .shop("acme", Method::POST, "/api/v1/auth/password-reset")
        .json(&json!({"email": "nobody@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 202);

    let asked = app
        .shop("acme", Method::POST, "/api/v1/auth/password-reset")
        .json(&json!({"email": "ada@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(asked.status(), 202);
    let token = mailed_token(&app)
        .await
        .expect("a reset message was written");
    assert_eq!(
        mail_files(&app).len(),
        1,
        "no message for the unknown email"
    );
    // One email job, written with the token: it carries the token sealed,
    // never in clear, and nothing was queued for the unknown email.
    let jobs: Value = app
        .platform(Method::GET, "/api/v1/platform/jobs?kind=email.account")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let jobs = jobs["items"].as_array().unwrap();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(jobs[0]["payload"]["template"], "password_reset");
    assert_eq!(jobs[0]["queue"], "email");
    assert!(
        jobs[0]["payload"]["token_sealed"]
            .as_str()
            .is_some_and(|t| t.starts_with("v1.")),
        "{}",
        jobs[0]
    );
    assert!(!jobs[0].to_string().contains(&token), "the token is sealed");

    let new_password = "a brand new long passphrase";
    let confirm = |t: String| {
        app.request(Method::POST, "/api/v1/auth/password-reset/confirm")
            .json(&json!({"token": t, "password": new_password}))
            .send()
    };
    assert_eq!(confirm(token.clone()).await.unwrap().status(), 204);
    let again = problem(confirm(token).await.unwrap(), 422).await;
    assert_eq!(again["errors"][0]["field"], "token");

    let me = app
        .shop("acme", Method::GET, "/api/v1/auth/me")
        .bearer_auth(&old_session)
        .send()
        .await
        .unwrap();
    problem(me, 401).await;
    problem(
        login_as(
            &app,
            Some("acme"),
            json!({"email": "ada@example.com", "password": PASSWORD}),
        )
        .await,
        401,
    )
    .await;
    let fresh = login_as(
        &app,
        Some("acme"),
        json!({"email": "ada@example.com", "password": new_password}),
    )
    .await;
    assert_eq!(fresh.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn a_reset_that_cannot_be_mailed_answers_like_any_other() {
    let app = spawn_app().await;
    app.create_tenant("acme", json!({})).await;
    register(&app, "acme", "ada@example.com").await;
    // The development mail folder cannot be made: sending fails.
    std::fs::write(app.db.dir.path().join("mail"), b"not a folder").unwrap();
    for email in ["ada@example.com", "nobody@example.com"] {
        let resp = app
            .shop("acme", Method::POST, "/api/v1/auth/password-reset")
            .json(&json!({ "email": email }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 202, "{email}: the answer reveals nothing");
        assert!(resp.bytes().await.unwrap().is_empty());
    }
    // Once mail works again, asking again works.
    std::fs::remove_file(app.db.dir.path().join("mail")).unwrap();
    let resp = app
        .shop("acme", Method::POST, "/api/v1/auth/password-reset")
        .json(&json!({"email": "ada@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    assert!(mailed_token(&app).await.is_some());
    app.stop().await;
}

#[tokio::test]
async fn an_idle_session_expires() {
    let app = storekeep_test_support::spawn_app_with(|s| {
        s.session_idle = std::time::Duration::from_secs(2)
    })
    .await;
    app.create_tenant("acme", json!({})).await;
    register(&app, "acme", "ada@example.com").await;
    let login: Value = login_as(
        &app,
        Some("acme"),
        json!({"email": "ada@example.com", "password": PASSWORD}),
    )
    .await
    .json()
    .await
    .unwrap();
    let token = login["token"].as_str().unwrap().to_owned();
    let me = || {
        app.shop("acme", Method::GET, "/api/v1/auth/me")
            .bearer_auth(token.clone())
            .send()
    };
    assert_eq!(me().await.unwrap().status(), 200);

    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;

    problem(me().await.unwrap(), 401).await;
    app.stop().await;
}

#[tokio::test]
async fn concurrent_guesses_get_no_more_checks_than_the_allowance() {
    let app = spawn_app().await;
    app.create_tenant("acme", json!({})).await;
    register(&app, "acme", "ada@example.com").await;

    let guesses = (0..12).map(|i| {
        login_as(
            &app,
            Some("acme"),
            json!({"email": "ada@example.com", "password": format!("guess number {i} here")}),
        )
    });
    let statuses: Vec<u16> = futures_join(guesses).await;

    let checked = statuses.iter().filter(|s| **s == 401).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert!(checked <= 5, "at most five passwords checked: {statuses:?}");
    assert_eq!(checked + refused, 12, "{statuses:?}");
    app.stop().await;
}

async fn futures_join<F: std::future::Future<Output = reqwest::Response>>(
    futs: impl Iterator<Item = F>,
) -> Vec<u16> {
    let handles: Vec<_> = futs.collect();
    let mut out = Vec::new();
    // Drive them together: each is polled within one select loop.
    let results = storekeep_test_support::join_all(handles).await;
    for r in results {
        out.push(r.status().as_u16());
    }
    out
}
