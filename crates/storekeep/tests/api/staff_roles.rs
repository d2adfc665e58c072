//! Changing a staff member's role through the admin API
//! (`PATCH /api/v1/admin/staff/{id}`): who may give what, the member's
//! session keeps working with the new permissions at once, audited.

use reqwest::Method;
use serde_json::{Value, json};
use storekeep_test_support::{TestApp, problem, spawn_app};

use crate::identity::{admin, cli_staff, shop_with_owner, token};

/// The account id of `email` among the shop's staff.
async fn staff_id(app: &TestApp, slug: &str, owner: &str, email: &str) -> String {
    let list: Value = admin(app, slug, owner, Method::GET, "/api/v1/admin/staff")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["email"] == email)
        .unwrap_or_else(|| panic!("no {email}: {list}"))["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn role_of(app: &TestApp, slug: &str, owner: &str, email: &str) -> String {
    let id = staff_id(app, slug, owner, email).await;
    let list: Value = admin(app, slug, owner, Method::GET, "/api/v1/admin/staff")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == id.as_str())
        .unwrap()["role"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn change(
    app: &TestApp,
    slug: &str,
    bearer: &str,
    id: &str,
    body: Value,
) -> reqwest::Response {
    admin(
        app,
        slug,
        bearer,
        Method::PATCH,
        &format!("/api/v1/admin/staff/{id}"),
    )
    .json(&body)
    .send()
    .await
    .unwrap()
}

async fn audit_status(app: &TestApp, slug: &str, bearer: &str) -> u16 {
    admin(app, slug, bearer, Method::GET, "/api/v1/admin/audit-log")
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_role_change_applies_to_the_members_open_session_at_once_and_is_audited() {
    let app = spawn_app().await;
    let owner = shop_with_owner(&app, "acme").await;
    cli_staff(&app, "acme", "ann@acme.example", "viewer").await;
    let ann = token(&app, Some("acme"), "ann@acme.example", "staff").await;
    let id = staff_id(&app, "acme", &owner, "ann@acme.example").await;
    assert_eq!(audit_status(&app, "acme", &ann).await, 403);

    let r = change(
        &app,
        "acme",
        &owner,
        &id,
        json!({"staff": {"role": "admin"}}),
    )
    .await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["staff"]["role"], "admin");
    assert_eq!(body["staff"]["email"], "ann@acme.example");
    // The same session, the new permissions.
    assert_eq!(audit_status(&app, "acme", &ann).await, 200);

    let r = change(
        &app,
        "acme",
        &owner,
        &id,
        json!({"staff": {"role": "viewer"}}),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(audit_status(&app, "acme", &ann).await, 403);
    let me = app
        .shop("acme", Method::GET, "/api/v1/auth/me")
        .bearer_auth(&ann)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200, "the session is still signed in");

    let log: Value = admin(&app, "acme", &owner, Method::GET, "/api/v1/admin/audit-log")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let changes: Vec<&Value> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "staff.role_change")
        .collect();
    assert_eq!(changes.len(), 2, "{log}");
    assert_eq!(changes[0]["before"], json!({"role": "admin"}));
    assert_eq!(changes[0]["after"], json!({"role": "viewer"}));
    assert_eq!(changes[0]["target"], format!("user:{id}"));
    assert!(changes[0]["actor"].as_str().unwrap().starts_with("staff:"));
    app.stop().await;
}

#[tokio::test]
async fn a_giver_changes_only_roles_it_may_give_never_its_own_and_never_elsewhere() {
    let app = spawn_app().await;
    let owner = shop_with_owner(&app, "acme").await;
    cli_staff(&app, "acme", "adm@acme.example", "admin").await;
    cli_staff(&app, "acme", "ann@acme.example", "viewer").await;
    let adm = token(&app, Some("acme"), "adm@acme.example", "staff").await;
    let ann_id = staff_id(&app, "acme", &owner, "ann@acme.example").await;
    let adm_id = staff_id(&app, "acme", &owner, "adm@acme.example").await;
    let owner_id = staff_id(&app, "acme", &owner, "owner@acme.example").await;

    // An admin makes no owner and unmakes none.
    let r = change(
        &app,
        "acme",
        &adm,
        &ann_id,
        json!({"staff": {"role": "owner"}}),
    )
    .await;
    let p = problem(r, 403).await;
    assert!(
        p["detail"].as_str().unwrap().contains("only an owner"),
        "{p}"
    );
    let r = change(
        &app,
        "acme",
        &adm,
        &owner_id,
        json!({"staff": {"role": "viewer"}}),
    )
    .await;
    let p = problem(r, 403).await;
    assert!(p["detail"].as_str().unwrap().contains("an owner"), "{p}");
    // Nobody changes their own role, owners included.
    let r = change(
        &app,
        "acme",
        &adm,
        &adm_id,
        json!({"staff": {"role": "owner"}}),
    )
    .await;
    problem(r, 403).await;
    let r = change(
        &app,
        "acme",
        &owner,
        &owner_id,
        json!({"staff": {"role": "admin"}}),
    )
    .await;
    let p = problem(r, 403).await;
    assert!(
        p["detail"].as_str().unwrap().contains("your own role"),
        "{p}"
    );
    // An admin may make a viewer staff.
    let r = change(
        &app,
        "acme",
        &adm,
        &ann_id,
        json!({"staff": {"role": "staff"}}),
    )
    .await;
    assert_eq!(r.status(), 200);

    // Staff (no staff:write) and integrations (no role) are refused.
    let ann = token(&app, Some("acme"), "ann@acme.example", "staff").await;
    let r = change(
        &app,
        "acme",
        &ann,
        &adm_id,
        json!({"staff": {"role": "viewer"}}),
    )
    .await;
    problem(r, 403).await;
    let key: Value = admin(&app, "acme", &owner, Method::POST, "/api/v1/admin/api-keys")
        .json(&json!({"api_key": {"name": "ERP", "scopes": ["staff:read", "staff:write"]}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = key["secret"].as_str().unwrap();
    let r = change(
        &app,
        "acme",
        secret,
        &ann_id,
        json!({"staff": {"role": "viewer"}}),
    )
    .await;
    problem(r, 403).await;

    // Bad input: an unknown role, an unknown field, an id that is nobody's.
    let r = change(
        &app,
        "acme",
        &owner,
        &ann_id,
        json!({"staff": {"role": "boss"}}),
    )
    .await;
    assert!(r.status().is_client_error(), "{}", r.status());
    let r = change(
        &app,
        "acme",
        &owner,
        &ann_id,
        json!({"staff": {"roles": ["admin"]}}),
    )
    .await;
    assert!(r.status().is_client_error(), "{}", r.status());
    let r = change(
        &app,
        "acme",
        &owner,
        "nobody",
        json!({"staff": {"role": "viewer"}}),
    )
    .await;
    problem(r, 404).await;

    // Another shop's staff member is not found here.
    let other_owner = shop_with_owner(&app, "other").await;
    let other_id = staff_id(&app, "other", &other_owner, "owner@other.example").await;
    let r = change(
        &app,
        "acme",
        &owner,
        &other_id,
        json!({"staff": {"role": "viewer"}}),
    )
    .await;
    problem(r, 404).await;
    assert_eq!(
        role_of(&app, "other", &other_owner, "owner@other.example").await,
        "owner"
    );
    assert_eq!(
        role_of(&app, "acme", &owner, "ann@acme.example").await,
        "staff"
    );
    assert_eq!(
        role_of(&app, "acme", &owner, "adm@acme.example").await,
        "admin"
    );
    assert_eq!(
        role_of(&app, "acme", &owner, "owner@acme.example").await,
        "owner"
    );
    app.stop().await;
}

#[tokio::test]
async fn two_owners_demoting_each_other_at_once_leave_the_shop_an_owner() {
    let app = spawn_app().await;
    let owner = shop_with_owner(&app, "acme").await;
    cli_staff(&app, "acme", "co@acme.example", "owner").await;
    let co = token(&app, Some("acme"), "co@acme.example", "staff").await;
    let owner_id = staff_id(&app, "acme", &owner, "owner@acme.example").await;
    let co_id = staff_id(&app, "acme", &owner, "co@acme.example").await;
    let body = json!({"staff": {"role": "admin"}});
    let (a, b) = tokio::join!(
        change(&app, "acme", &owner, &co_id, body.clone()),
        change(&app, "acme", &co, &owner_id, body.clone()),
    );
    let statuses = [a.status().as_u16(), b.status().as_u16()];
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    // The loser is refused: by the store (409, the last owner) or, had the
    // winner committed first, by its own role being admin now (403).
    assert!(
        statuses.iter().any(|s| *s == 409 || *s == 403),
        "{statuses:?}"
    );
    let owners = [
        role_of(&app, "acme", &owner, "owner@acme.example").await,
        role_of(&app, "acme", &owner, "co@acme.example").await,
    ];
    assert_eq!(
        owners.iter().filter(|r| *r == "owner").count(),
        1,
        "{owners:?}"
    );
    app.stop().await;
}
