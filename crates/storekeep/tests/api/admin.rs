//! Roles, API keys, OAuth clients and tenant isolation on the admin API.

use reqwest::Method;
use serde_json::{Value, json};
use storekeep_test_support::{problem, spawn_app};

use crate::identity::{
    PASSWORD, admin, cli_staff, customer_token, register, shop_with_owner, token,
};

#[tokio::test]
async fn a_viewer_reads_but_is_refused_on_writes() {
    let app = spawn_app().await;
    shop_with_owner(&app, "acme").await;
    cli_staff(&app, "acme", "viewer@acme.example", "viewer").await;
    let viewer = token(&app, Some("acme"), "viewer@acme.example", "staff").await;

    let read = admin(&app, "acme", &viewer, Method::GET, "/api/v1/admin/settings")
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    let write = admin(
        &app,
        "acme",
        &viewer,
        Method::POST,
        "/api/v1/admin/api-keys",
    )
    .json(&json!({"api_key": {"name": "x", "scopes": ["catalog:read"]}}))
    .send()
    .await
    .unwrap();
    let body = problem(write, 403).await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("credentials:write")
    );
    let audit = admin(
        &app,
        "acme",
        &viewer,
        Method::GET,
        "/api/v1/admin/audit-log",
    )
    .send()
    .await
    .unwrap();
    problem(audit, 403).await;
    app.stop().await;
}

#[tokio::test]
async fn staff_of_one_shop_and_customers_are_refused_on_another_shops_admin_api() {
    let app = spawn_app().await;
    let acme_owner = shop_with_owner(&app, "acme").await;
    shop_with_owner(&app, "other").await;
    register(&app, "other", "cust@example.com").await;
    let customer = customer_token(&app, "other", "cust@example.com").await;

    for (t, path) in [
        (&acme_owner, "/api/v1/admin/settings"),
        (&acme_owner, "/api/v1/admin/staff"),
        (&customer, "/api/v1/admin/settings"),
    ] {
        let resp = admin(&app, "other", t, Method::GET, path)
            .send()
            .await
            .unwrap();
        problem(resp, 401).await;
    }
    let write = admin(
        &app,
        "other",
        &acme_owner,
        Method::PATCH,
        "/api/v1/admin/settings",
    )
    .json(&json!({"settings": {"currency": "EUR"}}))
    .send()
    .await
    .unwrap();
    problem(write, 401).await;
    let other_settings: Value = app
        .platform(Method::GET, "/api/v1/platform/tenants/other")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        other_settings["tenant"]["settings"]["currency"], "USD",
        "nothing changed"
    );
    app.stop().await;
}

#[tokio::test]
async fn an_api_key_is_shown_once_works_within_its_scopes_and_stops_when_revoked() {
    let app = spawn_app().await;
    let owner = shop_with_owner(&app, "acme").await;

    let created = admin(&app, "acme", &owner, Method::POST, "/api/v1/admin/api-keys")
        .json(&json!({"api_key": {"name": "ERP sync", "scopes": ["settings:read", "staff:read"]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("skk_"));
    assert!(secret.starts_with(created["api_key"]["prefix"].as_str().unwrap()));
    let id = created["api_key"]["id"].as_str().unwrap().to_owned();

    let read = app
        .shop("acme", Method::GET, "/api/v1/admin/settings")
        .header("x-api-key", &secret)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    let bearer = admin(&app, "acme", &secret, Method::GET, "/api/v1/admin/staff")
        .send()
        .await
        .unwrap();
    assert_eq!(bearer.status(), 200);
    let outside_scope = admin(
        &app,
        "acme",
        &secret,
        Method::PATCH,
        "/api/v1/admin/settings",
    )
    .json(&json!({"settings": {"currency": "EUR"}}))
    .send()
    .await
    .unwrap();
    problem(outside_scope, 403).await;

    let list: Value = admin(&app, "acme", &owner, Method::GET, "/api/v1/admin/api-keys")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let listed = &list["items"][0];
    assert_eq!(listed["id"], id.as_str());
    assert!(listed["last_used_at"].is_string(), "use is recorded");
    assert!(
        !list.to_string().contains(&secret),
        "the secret is never shown again"
    );

    let revoked = admin(
        &app,
        "acme",
        &owner,
        Method::DELETE,
        &format!("/api/v1/admin/api-keys/{id}"),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(revoked.status(), 200);
    let after = admin(&app, "acme", &secret, Method::GET, "/api/v1/admin/settings")
        .send()
        .await
        .unwrap();
    problem(after, 401).await;
    app.stop().await;
}

#[tokio::test]
async fn api_key_scopes_are_checked_and_bounded_by_the_creator() {
    let app = spawn_app().await;
    shop_with_owner(&app, "acme").await;
    cli_staff(&app, "acme", "admin@acme.example", "admin").await;
    let adm = token(&app, Some("acme"), "admin@acme.example", "staff").await;

    let bad = admin(&app, "acme", &adm, Method::POST, "/api/v1/admin/api-keys")
        .json(&json!({"api_key": {"name": "", "scopes": ["catalog:read", "everything:all"]}}))
        .send()
        .await
        .unwrap();
    let body = problem(bad, 422).await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["name", "scopes[1]"]);
    app.stop().await;
}

#[tokio::test]
async fn oauth_client_credentials_get_a_scoped_token_that_dies_with_the_client() {
    let app = spawn_app().await;
    let owner = shop_with_owner(&app, "acme").await;
    let created: Value = admin(
        &app,
        "acme",
        &owner,
        Method::POST,
        "/api/v1/admin/oauth-clients",
    )
    .json(
        &json!({"oauth_client": {"name": "Warehouse", "scopes": ["settings:read", "staff:read"]}}),
    )
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let client_id = created["oauth_client"]["client_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    let id = created["oauth_client"]["id"].as_str().unwrap().to_owned();
    let token_req = |form: Vec<(&'static str, String)>| {
        app.request(Method::POST, "/api/v1/auth/oauth/token")
            .form(&form)
            .send()
    };

    let wrong = token_req(vec![
        ("grant_type", "client_credentials".into()),
        ("client_id", client_id.clone()),
        ("client_secret", "skc_nope".into()),
    ])
    .await
    .unwrap();
    assert_eq!(wrong.status(), 401);
    assert_eq!(
        wrong.json::<Value>().await.unwrap()["error"],
        "invalid_client"
    );
    let bad_grant = token_req(vec![("grant_type", "password".into())])
        .await
        .unwrap();
    assert_eq!(
        bad_grant.json::<Value>().await.unwrap()["error"],
        "unsupported_grant_type"
    );
    let too_wide = token_req(vec![
        ("grant_type", "client_credentials".into()),
        ("client_id", client_id.clone()),
        ("client_secret", secret.clone()),
        ("scope", "audit:read".into()),
    ])
    .await
    .unwrap();
    assert_eq!(
        too_wide.json::<Value>().await.unwrap()["error"],
        "invalid_scope"
    );

    let issued = token_req(vec![
        ("grant_type", "client_credentials".into()),
        ("client_id", client_id.clone()),
        ("client_secret", secret.clone()),
        ("scope", "settings:read".into()),
    ])
    .await
    .unwrap();
    assert_eq!(issued.status(), 200);
    assert_eq!(issued.headers()["cache-control"], "no-store");
    let issued: Value = issued.json().await.unwrap();
    assert_eq!(issued["token_type"], "Bearer");
    assert_eq!(issued["scope"], "settings:read");
    assert_eq!(issued["expires_in"], 3600);
    let access = issued["access_token"].as_str().unwrap().to_owned();

    assert_eq!(
        admin(&app, "acme", &access, Method::GET, "/api/v1/admin/settings")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    problem(
        admin(&app, "acme", &access, Method::GET, "/api/v1/admin/staff")
            .send()
            .await
            .unwrap(),
        403,
    )
    .await;
    app.create_tenant("other", json!({})).await;
    problem(
        admin(
            &app,
            "other",
            &access,
            Method::GET,
            "/api/v1/admin/settings",
        )
        .send()
        .await
        .unwrap(),
        401,
    )
    .await;

    // HTTP Basic client authentication works too.
    let basic = app
        .request(Method::POST, "/api/v1/auth/oauth/token")
        .basic_auth(&client_id, Some(&secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 200);

    admin(
        &app,
        "acme",
        &owner,
        Method::DELETE,
        &format!("/api/v1/admin/oauth-clients/{id}"),
    )
    .send()
    .await
    .unwrap();
    problem(
        admin(&app, "acme", &access, Method::GET, "/api/v1/admin/settings")
            .send()
            .await
            .unwrap(),
        401,
    )
    .await;
    let after = token_req(vec![
        ("grant_type", "client_credentials".into()),
        ("client_id", client_id),
        ("client_secret", secret),
    ])
    .await
    .unwrap();
    assert_eq!(after.status(), 401);
    app.stop().await;
}

#[tokio::test]
async fn a_shop_can_require_mfa_of_its_staff() {
    let app = spawn_app().await;
    let owner = shop_with_owner(&app, "acme").await;

    let set = admin(
        &app,
        "acme",
        &owner,
        Method::PATCH,
        "/api/v1/admin/settings",
    )
    .json(&json!({"settings": {"currency": "USD", "require_staff_mfa": true}}))
    .send()
    .await
    .unwrap();
    assert_eq!(set.status(), 200);

    let refused = admin(&app, "acme", &owner, Method::GET, "/api/v1/admin/settings")
        .send()
        .await
        .unwrap();
    let body = problem(refused, 403).await;
    assert!(body["detail"].as_str().unwrap().contains("MFA"));
    // Enrolment itself stays open.
    let enrol = app
        .shop("acme", Method::POST, "/api/v1/auth/mfa/totp")
        .bearer_auth(&owner)
        .send()
        .await
        .unwrap();
    assert_eq!(enrol.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn staff_and_integration_actions_are_in_the_audit_log_with_who_and_from_where() {
    let app = spawn_app().await;
    let owner = shop_with_owner(&app, "acme").await;
    let created: Value = admin(&app, "acme", &owner, Method::POST, "/api/v1/admin/api-keys")
        .header("x-request-id", "audit-check-1")
        .json(&json!({"api_key": {"name": "Feed", "scopes": ["catalog:read"]}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = created["secret"].as_str().unwrap();

    let log: Value = admin(&app, "acme", &owner, Method::GET, "/api/v1/admin/audit-log")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = log["items"].as_array().unwrap();
    let newest = &items[0];
    assert_eq!(newest["action"], "api_key.create");
    assert!(newest["actor"].as_str().unwrap().starts_with("staff:"));
    assert_eq!(newest["request_id"], "audit-check-1");
    assert_eq!(newest["ip"], "127.0.0.1");
    assert_eq!(newest["after"]["name"], "Feed");
    assert!(
        !log.to_string().contains(secret),
        "no secrets in the audit log"
    );
    let first = items.last().unwrap();
    assert_eq!(
        first["action"], "staff.create",
        "the owner's creation by the CLI is the first entry"
    );
    assert_eq!(first["seq"], 1);

    let platform: Value = app
        .platform(Method::GET, "/api/v1/platform/audit-log")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let entry = &platform["items"][0];
    assert_eq!(entry["action"], "tenant.create");
    assert_eq!(entry["actor"], "platform_token");
    assert_eq!(entry["after"]["slug"], "acme");
    app.stop().await;
}

#[tokio::test]
async fn an_operator_created_by_the_cli_logs_in_to_the_platform_api() {
    let app = spawn_app().await;
    crate::identity::cli_operator(&app, "ops@platform.example").await;

    let t = token(&app, None, "ops@platform.example", "operator").await;
    let list = app
        .request(Method::GET, "/api/v1/platform/tenants")
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(list.status(), 200);

    app.create_tenant("acme", json!({})).await;
    cli_staff(&app, "acme", "owner@acme.example", "owner").await;
    let staff = token(&app, Some("acme"), "owner@acme.example", "staff").await;
    let refused = app
        .request(Method::GET, "/api/v1/platform/tenants")
        .bearer_auth(&staff)
        .send()
        .await
        .unwrap();
    problem(refused, 403).await;
    app.stop().await;
}

#[tokio::test]
async fn nobody_creates_an_account_more_powerful_than_themselves() {
    let app = spawn_app().await;
    let owner = shop_with_owner(&app, "acme").await;
    let key: Value = admin(&app, "acme", &owner, Method::POST, "/api/v1/admin/api-keys")
        .json(&json!({"api_key": {"name": "HR sync", "scopes": ["staff:write", "staff:read"]}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = key["secret"].as_str().unwrap().to_owned();
    let new_staff = |role: &str| json!({"staff": {"email": format!("{role}@acme.example"), "password": PASSWORD, "role": role}});

    let by_key = admin(&app, "acme", &key, Method::POST, "/api/v1/admin/staff")
        .json(&new_staff("admin"))
        .send()
        .await
        .unwrap();
    problem(by_key, 403).await;

    cli_staff(&app, "acme", "admin@acme.example", "admin").await;
    let adm = token(&app, Some("acme"), "admin@acme.example", "staff").await;
    let owner_by_admin = admin(&app, "acme", &adm, Method::POST, "/api/v1/admin/staff")
        .json(&new_staff("owner"))
        .send()
        .await
        .unwrap();
    problem(owner_by_admin, 403).await;
    let viewer_by_admin = admin(&app, "acme", &adm, Method::POST, "/api/v1/admin/staff")
        .json(&new_staff("viewer"))
        .send()
        .await
        .unwrap();
    assert_eq!(viewer_by_admin.status(), 201);

    let list: Value = admin(&app, "acme", &owner, Method::GET, "/api/v1/admin/staff")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let roles: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["owner", "admin", "viewer"]);
    app.stop().await;
}

#[tokio::test]
async fn the_plans_staff_limit_is_a_402() {
    let app = spawn_app().await;
    app.platform(Method::POST, "/api/v1/platform/plans")
        .json(&json!({"plan": {"name": "solo", "limits": {"max_staff": 2}}}))
        .send()
        .await
        .unwrap();
    app.create_tenant("acme", json!({"plan": "solo"})).await;
    cli_staff(&app, "acme", "owner@acme.example", "owner").await;
    let owner = token(&app, Some("acme"), "owner@acme.example", "staff").await;
    let add = |email: &str| {
        admin(&app, "acme", &owner, Method::POST, "/api/v1/admin/staff")
            .json(&json!({"staff": {"email": email, "password": PASSWORD, "role": "viewer"}}))
            .send()
    };

    assert_eq!(add("second@acme.example").await.unwrap().status(), 201);
    let third = problem(add("third@acme.example").await.unwrap(), 402).await;
    assert!(third["detail"].as_str().unwrap().contains("allows 2 staff"));
    app.stop().await;
}

#[tokio::test]
async fn a_misspelt_setting_is_refused_not_ignored() {
    let app = spawn_app().await;
    let owner = shop_with_owner(&app, "acme").await;

    let resp = admin(
        &app,
        "acme",
        &owner,
        Method::PATCH,
        "/api/v1/admin/settings",
    )
    .json(&json!({"settings": {"currency": "EUR", "require_staff_mfaa": true}}))
    .send()
    .await
    .unwrap();
    let body = problem(resp, 422).await;
    assert_eq!(body["errors"][0]["field"], "settings.require_staff_mfaa");
    assert_eq!(body["errors"][0]["message"], "is not a setting");

    let created = app
        .platform(Method::POST, "/api/v1/platform/tenants")
        .json(&json!({"tenant": {"slug": "typo", "name": "Typo", "settings": {"curency": "EUR"}}}))
        .send()
        .await
        .unwrap();
    let body = problem(created, 422).await;
    assert_eq!(body["errors"][0]["field"], "settings.curency");

    let read: Value = admin(&app, "acme", &owner, Method::GET, "/api/v1/admin/settings")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(read["settings"]["currency"], "USD", "nothing changed");
    app.stop().await;
}

#[tokio::test]
async fn the_shop_time_zone_is_an_iana_name_checked_on_save() {
    let app = spawn_app().await;
    let owner = shop_with_owner(&app, "acme").await;
    let settings = |app: &storekeep_test_support::TestApp, body: Value| {
        admin(app, "acme", &owner, Method::PATCH, "/api/v1/admin/settings")
            .json(&json!({ "settings": body }))
            .send()
    };
    let read = |app: &storekeep_test_support::TestApp| {
        admin(app, "acme", &owner, Method::GET, "/api/v1/admin/settings").send()
    };

    let before: Value = read(&app).await.unwrap().json().await.unwrap();
    assert_eq!(before["settings"]["time_zone"], "UTC", "the default");

    let saved = settings(
        &app,
        json!({"currency": "EUR", "time_zone": "Europe/Berlin"}),
    )
    .await
    .unwrap();
    assert_eq!(saved.status(), 200);
    let saved: Value = saved.json().await.unwrap();
    assert_eq!(saved["settings"]["time_zone"], "Europe/Berlin");
    let stored: Value = read(&app).await.unwrap().json().await.unwrap();
    assert_eq!(stored["settings"]["time_zone"], "Europe/Berlin");

    let refused = settings(
        &app,
        json!({"currency": "EUR", "time_zone": "Mars/Olympus"}),
    )
    .await
    .unwrap();
    let body = problem(refused, 422).await;
    assert_eq!(body["errors"][0]["field"], "settings.time_zone");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("'Mars/Olympus' is not an IANA time zone"),
        "{body}"
    );
    let after: Value = read(&app).await.unwrap().json().await.unwrap();
    assert_eq!(
        after["settings"]["time_zone"], "Europe/Berlin",
        "nothing changed"
    );
    app.stop().await;
}
