//! TOTP enrolment, login with a real code, recovery codes, disabling.

use reqwest::Method;
use serde_json::{Value, json};
use storekeep_test_support::{TestApp, problem, spawn_app};

use crate::identity::{PASSWORD, customer_token, login_as, now_unix, register, totp};

pub(crate) async fn customer_with_mfa(app: &TestApp) -> (String, Vec<String>) {
    app.create_tenant("acme", json!({})).await;
    register(app, "acme", "ada@example.com").await;
    let token = login_as(
        app,
        Some("acme"),
        json!({"email": "ada@example.com", "password": PASSWORD}),
    )
    .await
    .json::<Value>()
    .await
    .unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let enrol: Value = app
        .shop("acme", Method::POST, "/api/v1/auth/mfa/totp")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = enrol["secret"].as_str().unwrap().to_owned();
    assert!(
        enrol["otpauth_uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/")
    );
    assert!(enrol["otpauth_uri"].as_str().unwrap().contains(&secret));

    let wrong = app
        .shop("acme", Method::POST, "/api/v1/auth/mfa/totp/confirm")
        .bearer_auth(&token)
        .json(&json!({"code": "000000"}))
        .send()
        .await
        .unwrap();
    if totp(&secret, now_unix()) != "000000" {
        problem(wrong, 422).await;
    }
    let confirmed = app
        .shop("acme", Method::POST, "/api/v1/auth/mfa/totp/confirm")
        .bearer_auth(&token)
        .json(&json!({"code": totp(&secret, now_unix())}))
        .send()
        .await
        .unwrap();
    assert_eq!(confirmed.status(), 200);
    let codes: Vec<String> = confirmed.json::<Value>().await.unwrap()["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 10);
    (secret, codes)
}

#[tokio::test]
async fn login_with_mfa_needs_a_current_code_that_works_once() {
    let app = spawn_app().await;
    let (secret, _) = customer_with_mfa(&app).await;
    let creds = json!({"email": "ada@example.com", "password": PASSWORD});

    let without = problem(login_as(&app, Some("acme"), creds.clone()).await, 401).await;
    assert_eq!(without["errors"][0]["field"], "totp");

    let mut wrong = creds.clone();
    let bad_code = format!(
        "{:06}",
        (totp(&secret, now_unix()).parse::<u32>().unwrap() + 1) % 1_000_000
    );
    wrong["totp"] = json!(bad_code);
    problem(login_as(&app, Some("acme"), wrong).await, 401).await;

    // The code used at enrolment can't be replayed; wait for the next step.
    let step = now_unix() / 30;
    while now_unix() / 30 == step {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let mut right = creds.clone();
    right["totp"] = json!(totp(&secret, now_unix()));
    assert_eq!(
        login_as(&app, Some("acme"), right.clone()).await.status(),
        200
    );
    let replay = login_as(&app, Some("acme"), right).await;
    problem(replay, 401).await;
    app.stop().await;
}

#[tokio::test]
async fn a_recovery_code_logs_in_exactly_once() {
    let app = spawn_app().await;
    let (_, codes) = customer_with_mfa(&app).await;
    let with_code = json!({"email": "ada@example.com", "password": PASSWORD, "recovery_code": codes[3].to_lowercase()});

    assert_eq!(
        login_as(&app, Some("acme"), with_code.clone())
            .await
            .status(),
        200
    );
    problem(login_as(&app, Some("acme"), with_code).await, 401).await;
    let other =
        json!({"email": "ada@example.com", "password": PASSWORD, "recovery_code": codes[4]});
    assert_eq!(login_as(&app, Some("acme"), other).await.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn disabling_mfa_needs_the_password_and_a_second_factor() {
    let app = spawn_app().await;
    let (_, codes) = customer_with_mfa(&app).await;
    let token = login_as(
        &app,
        Some("acme"),
        json!({"email": "ada@example.com", "password": PASSWORD, "recovery_code": codes[0]}),
    )
    .await
    .json::<Value>()
    .await
    .unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let disable = |password: &'static str, code: String| {
        app.shop("acme", Method::DELETE, "/api/v1/auth/mfa/totp")
            .bearer_auth(&token)
            .json(&json!({"password": password, "code": code}))
            .send()
    };

    problem(
        disable("wrong password entirely", codes[1].clone())
            .await
            .unwrap(),
        401,
    )
    .await;
    assert_eq!(
        disable(PASSWORD, codes[2].clone()).await.unwrap().status(),
        204
    );

    let plain = login_as(
        &app,
        Some("acme"),
        json!({"email": "ada@example.com", "password": PASSWORD}),
    )
    .await;
    assert_eq!(plain.status(), 200, "no second factor needed any more");
    app.stop().await;
}

#[tokio::test]
async fn turning_mfa_on_ends_the_accounts_other_sessions() {
    let app = spawn_app().await;
    app.create_tenant("acme", json!({})).await;
    register(&app, "acme", "ada@example.com").await;
    let login = || async { customer_token(&app, "acme", "ada@example.com").await };
    let other = login().await;
    let this = login().await;
    let secret = app
        .shop("acme", Method::POST, "/api/v1/auth/mfa/totp")
        .bearer_auth(&this)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["secret"]
        .as_str()
        .unwrap()
        .to_owned();

    let confirmed = app
        .shop("acme", Method::POST, "/api/v1/auth/mfa/totp/confirm")
        .bearer_auth(&this)
        .json(&json!({"code": totp(&secret, now_unix())}))
        .send()
        .await
        .unwrap();
    assert_eq!(confirmed.status(), 200);

    let me = |t: String| {
        app.shop("acme", Method::GET, "/api/v1/auth/me")
            .bearer_auth(t)
            .send()
    };
    assert_eq!(
        me(this.clone()).await.unwrap().status(),
        200,
        "the enrolling session stays"
    );
    problem(me(other).await.unwrap(), 401).await;
    app.stop().await;
}
