//! The console's administration screens: API keys and OAuth clients
//! (secrets shown once), and the shop's audit log.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use storekeep_test_support::TestApp;

use crate::console_support::{SESSION, staff_console, staffed_shop, submit, web_app};
use crate::identity::admin;
use crate::web_browser::{Browser, Page};
use crate::web_support::{get_at, host};

/// The text of the element `id="{id}"` (up to its first `<`).
fn text_of(page: &Page, id: &str) -> String {
    let needle = format!("id=\"{id}\">");
    let at = page
        .body
        .find(&needle)
        .unwrap_or_else(|| panic!("no #{id} ({}): {}", page.status, page.body))
        + needle.len();
    page.body[at..at + page.body[at..].find('<').unwrap()].to_owned()
}

async fn json_of(resp: reqwest::Response) -> Value {
    resp.json().await.unwrap()
}

/// The shop's API keys as the admin API lists them.
async fn api_keys(app: &TestApp, slug: &str, token: &str) -> Vec<Value> {
    let r = admin(app, slug, token, Method::GET, "/api/v1/admin/api-keys")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    json_of(r).await["items"].as_array().unwrap().clone()
}

async fn oauth_clients(app: &TestApp, slug: &str, token: &str) -> Vec<Value> {
    let r = admin(app, slug, token, Method::GET, "/api/v1/admin/oauth-clients")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    json_of(r).await["items"].as_array().unwrap().clone()
}

/// The status of an admin-API read with `bearer`.
async fn read_with(app: &TestApp, slug: &str, bearer: &str) -> u16 {
    admin(app, slug, bearer, Method::GET, "/api/v1/admin/products")
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// The signed-in account's id (`/api/v1/auth/me`).
async fn my_id(app: &TestApp, slug: &str, token: &str) -> String {
    let me = json_of(
        app.shop(slug, Method::GET, "/api/v1/auth/me")
            .bearer_auth(token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    me["account"]["id"].as_str().unwrap().to_owned()
}

/// Fetches `path` with the browser's cookies and checks the page's
/// headers and body (CSP, no inline style or script).
async fn assert_safe(app: &TestApp, b: &Browser, path: &str) {
    let cookie = format!("{SESSION}={}", b.jar[SESSION]);
    let page = get_at(app, &b.host, path, &[("cookie", &cookie)]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.header("cache-control"), "no-store");
    page.assert_safe();
}

#[tokio::test]
async fn console_api_key_is_shown_once_works_is_audited_and_revoked() {
    let app = web_app().await;
    let owner = staffed_shop(&app, "acme").await;
    let owner_id = my_id(&app, "acme", &owner).await;
    let mut b = staff_console(&app, "acme", "owner").await;

    let list = b.get("/console/api-keys").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert!(list.body.contains("<h1>API keys</h1>"));
    assert!(list.body.contains("No API keys yet."));
    assert!(
        list.body
            .contains("name=\"scope\" value=\"customers:erase\"")
    );
    assert_safe(&app, &b, "/console/api-keys").await;

    let created = submit(
        &mut b,
        &list,
        "/console/api-keys",
        &[
            ("name", "ERP sync"),
            ("scope", "catalog:read"),
            ("scope", "orders:read"),
        ],
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert!(created.body.contains("will not be shown again"));
    let secret = text_of(&created, "new-secret");
    assert!(secret.starts_with("skk_") || secret.len() > 20, "{secret}");
    assert_eq!(created.body.matches(&secret).count(), 1);

    // The key works against the admin API, with the scopes ticked.
    assert_eq!(read_with(&app, "acme", &secret).await, 200);
    let keys = api_keys(&app, "acme", &owner).await;
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["name"], "ERP sync");
    assert_eq!(keys[0]["scopes"], json!(["catalog:read", "orders:read"]));
    let denied = admin(&app, "acme", &secret, Method::GET, "/api/v1/admin/api-keys")
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), 403);

    // Never again: the list shows its prefix only.
    let again = b.get("/console/api-keys").await;
    assert_eq!(again.status, StatusCode::OK);
    assert!(!again.body.contains(&secret), "{}", again.body);
    assert!(again.body.contains(keys[0]["prefix"].as_str().unwrap()));
    assert!(again.body.contains("ERP sync"));
    assert!(!again.body.contains("new-secret"));

    // The audit log names the console's staff member as the actor.
    let audit = b.get("/console/audit").await;
    assert_eq!(audit.status, StatusCode::OK, "{}", audit.body);
    assert!(audit.body.contains("api_key.create"), "{}", audit.body);
    assert!(
        audit.body.contains(&format!("staff:{owner_id}")),
        "{}",
        audit.body
    );
    assert_safe(&app, &b, "/console/audit").await;

    // Revoke: the key is refused at once.
    let id = keys[0]["id"].as_str().unwrap();
    let path = format!("/console/api-keys/{id}/revoke");
    assert!(again.body.contains(&format!("action=\"{path}\"")));
    let done = submit(&mut b, &again, &path, &[]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(
        done.location.as_deref(),
        Some("/console/api-keys?done=revoked")
    );
    let after = b.follow(done).await;
    assert!(
        after
            .body
            .contains("role=\"status\">The API key was revoked.")
    );
    assert!(!after.body.contains(&format!("action=\"{path}\"")));
    assert_eq!(read_with(&app, "acme", &secret).await, 401);
    assert!(!api_keys(&app, "acme", &owner).await[0]["revoked_at"].is_null());
    let audit = b.get("/console/audit").await;
    assert!(audit.body.contains("api_key.revoke"));
    app.stop().await;
}

#[tokio::test]
async fn console_api_key_bad_input_is_422_beside_the_fields_and_nothing_is_created() {
    let app = web_app().await;
    let owner = staffed_shop(&app, "acme").await;
    let mut b = staff_console(&app, "acme", "admin").await;
    let list = b.get("/console/api-keys").await;

    let empty = submit(&mut b, &list, "/console/api-keys", &[("name", "  ")]).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(empty.body.contains("role=\"alert\""), "{}", empty.body);
    assert!(
        empty
            .body
            .contains("aria-invalid=\"true\" aria-describedby=\"cred-name-error\"")
    );
    assert!(
        empty
            .body
            .contains("id=\"cred-name-error\">must be 1 to 100")
    );
    assert!(
        empty
            .body
            .contains("id=\"cred-scopes-error\">name at least one scope")
    );

    let unknown = submit(
        &mut b,
        &list,
        "/console/api-keys",
        &[("name", "Kept name"), ("scope", "catalog:delete")],
    )
    .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        unknown.body.contains("catalog:delete&#39; is not a scope"),
        "{}",
        unknown.body
    );
    // What was typed is kept.
    assert!(unknown.body.contains("value=\"Kept name\""));
    assert!(!unknown.body.contains("new-secret"));

    // A bad page link is a 400 page.
    let cursor = b.get("/console/api-keys?after=not-a-cursor").await;
    assert_eq!(cursor.status, StatusCode::BAD_REQUEST, "{}", cursor.body);

    assert!(api_keys(&app, "acme", &owner).await.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn console_api_keys_are_refused_to_staff_and_viewers_even_by_a_forged_post() {
    let app = web_app().await;
    let owner = staffed_shop(&app, "acme").await;
    let made = json_of(
        admin(&app, "acme", &owner, Method::POST, "/api/v1/admin/api-keys")
            .json(&json!({"api_key": {"name": "Kept", "scopes": ["catalog:read"]}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let key_id = made["api_key"]["id"].as_str().unwrap().to_owned();
    let secret = made["secret"].as_str().unwrap().to_owned();

    for role in ["staff", "viewer"] {
        let mut b = staff_console(&app, "acme", role).await;
        let home = b.get("/console").await;
        assert_eq!(home.status, StatusCode::OK);
        assert!(!home.body.contains("href=\"/console/api-keys\""));
        assert!(!home.body.contains("href=\"/console/audit\""));
        let page = b.get("/console/api-keys").await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{role}");
        assert!(page.body.contains("credentials:read"));
        assert!(!page.body.contains("New API key"));
        assert!(!page.body.contains("Revoke"));
        for path in ["/console/oauth-clients", "/console/audit"] {
            assert_eq!(
                b.get(path).await.status,
                StatusCode::FORBIDDEN,
                "{role} {path}"
            );
        }

        // Forged posts with the account's own valid CSRF token.
        let forged = submit(
            &mut b,
            &home,
            "/console/api-keys",
            &[("name", "Forged"), ("scope", "catalog:read")],
        )
        .await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN, "{role}");
        let revoke = submit(
            &mut b,
            &home,
            &format!("/console/api-keys/{key_id}/revoke"),
            &[],
        )
        .await;
        assert_eq!(revoke.status, StatusCode::FORBIDDEN, "{role}");
        let client = submit(
            &mut b,
            &home,
            "/console/oauth-clients",
            &[("name", "Forged"), ("scope", "catalog:read")],
        )
        .await;
        assert_eq!(client.status, StatusCode::FORBIDDEN, "{role}");
    }
    let keys = api_keys(&app, "acme", &owner).await;
    assert_eq!(keys.len(), 1);
    assert!(keys[0]["revoked_at"].is_null());
    assert_eq!(read_with(&app, "acme", &secret).await, 200);
    assert!(oauth_clients(&app, "acme", &owner).await.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn console_revoking_another_shops_key_or_client_is_a_404_page() {
    let app = web_app().await;
    staffed_shop(&app, "acme").await;
    let other = staffed_shop(&app, "other").await;
    let key = json_of(
        admin(
            &app,
            "other",
            &other,
            Method::POST,
            "/api/v1/admin/api-keys",
        )
        .json(&json!({"api_key": {"name": "Theirs", "scopes": ["catalog:read"]}}))
        .send()
        .await
        .unwrap(),
    )
    .await;
    let client = json_of(
        admin(
            &app,
            "other",
            &other,
            Method::POST,
            "/api/v1/admin/oauth-clients",
        )
        .json(&json!({"oauth_client": {"name": "Theirs", "scopes": ["catalog:read"]}}))
        .send()
        .await
        .unwrap(),
    )
    .await;
    let mut b = staff_console(&app, "acme", "owner").await;
    let page = b.get("/console/api-keys").await;
    assert!(!page.body.contains("Theirs"));
    for path in [
        format!(
            "/console/api-keys/{}/revoke",
            key["api_key"]["id"].as_str().unwrap()
        ),
        format!(
            "/console/oauth-clients/{}/revoke",
            client["oauth_client"]["id"].as_str().unwrap()
        ),
        "/console/api-keys/not-an-id/revoke".to_owned(),
    ] {
        let r = submit(&mut b, &page, &path, &[]).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.body);
        assert!(r.body.contains("<h1>Not found</h1>"));
    }
    assert_eq!(
        read_with(&app, "other", key["secret"].as_str().unwrap()).await,
        200
    );
    assert!(oauth_clients(&app, "other", &other).await[0]["revoked_at"].is_null());
    app.stop().await;
}

#[tokio::test]
async fn console_oauth_client_secret_is_shown_once_and_revoke_ends_its_grant() {
    let app = web_app().await;
    let owner = staffed_shop(&app, "acme").await;
    let mut b = staff_console(&app, "acme", "owner").await;
    let list = b.get("/console/oauth-clients").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert!(list.body.contains("No OAuth clients yet."));
    assert_safe(&app, &b, "/console/oauth-clients").await;

    let bad = submit(&mut b, &list, "/console/oauth-clients", &[("name", "ERP")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.body
            .contains("id=\"cred-scopes-error\">name at least one scope")
    );
    assert!(oauth_clients(&app, "acme", &owner).await.is_empty());

    let created = submit(
        &mut b,
        &list,
        "/console/oauth-clients",
        &[("name", "ERP"), ("scope", "catalog:read")],
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let client_id = text_of(&created, "new-client-id");
    let secret = text_of(&created, "new-secret");
    let grant = || {
        app.request(Method::POST, "/api/v1/auth/oauth/token")
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", client_id.as_str()),
                ("client_secret", secret.as_str()),
            ])
            .send()
    };
    let issued = grant().await.unwrap();
    assert_eq!(issued.status(), 200);
    let access = json_of(issued).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(read_with(&app, "acme", &access).await, 200);

    let again = b.get("/console/oauth-clients").await;
    assert!(again.body.contains(&client_id));
    assert!(!again.body.contains(&secret));

    let clients = oauth_clients(&app, "acme", &owner).await;
    let id = clients[0]["id"].as_str().unwrap();
    let done = submit(
        &mut b,
        &again,
        &format!("/console/oauth-clients/{id}/revoke"),
        &[],
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let after = b.follow(done).await;
    assert!(after.body.contains("The OAuth client was revoked."));
    assert_eq!(grant().await.unwrap().status(), 401);
    assert_eq!(read_with(&app, "acme", &access).await, 401);
    let audit = b.get("/console/audit").await;
    assert!(audit.body.contains("oauth_client.create"));
    assert!(audit.body.contains("oauth_client.revoke"));
    app.stop().await;
}

#[tokio::test]
async fn console_audit_log_pages_by_keyset_and_refuses_a_bad_link() {
    let app = web_app().await;
    let owner = staffed_shop(&app, "acme").await;
    for i in 0..55 {
        let r = admin(&app, "acme", &owner, Method::POST, "/api/v1/admin/api-keys")
            .json(&json!({"api_key": {"name": format!("key-{i:02}"), "scopes": ["catalog:read"]}}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    let mut b = staff_console(&app, "acme", "admin").await;
    let first = b.get("/console/audit").await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.body.matches("<tr><td>").count(), 50);
    let i = first
        .body
        .find("<a href=\"/console/audit?after=")
        .expect("a next-page link")
        + "<a href=\"".len();
    let next = first.body[i..i + first.body[i..].find('"').unwrap()].replace("&amp;", "&");
    let second = b.get(&next).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.body);
    let rows = second.body.matches("<tr><td>").count();
    assert!(rows >= 5, "{rows}");
    // The oldest entries are on the second page, none twice.
    let firsts: Vec<&str> = first.body.split("<tr><td>").skip(1).collect();
    for row in second.body.split("<tr><td>").skip(1) {
        assert!(!firsts.contains(&row));
    }
    let bad = b.get("/console/audit?after=abc").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("This page link is not valid."));
    app.stop().await;
}

#[tokio::test]
async fn console_admin_pages_are_not_open_at_another_shops_host() {
    let app = web_app().await;
    staffed_shop(&app, "acme").await;
    staffed_shop(&app, "other").await;
    let b = staff_console(&app, "acme", "owner").await;
    // The acme session presented at other's host signs nobody in.
    let mut there = b.at_host(&host("other"));
    let page = there.get("/console/api-keys").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    app.stop().await;
}

/// The shop's staff emails and roles as the admin API lists them.
async fn staff_roles(app: &TestApp, slug: &str, token: &str) -> Vec<(String, String)> {
    let r = admin(
        app,
        slug,
        token,
        Method::GET,
        "/api/v1/admin/staff?limit=200",
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    json_of(r).await["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["email"].as_str().unwrap().to_owned(),
                a["role"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn console_staff_lists_roles_and_adds_a_member_with_errors_beside_the_fields() {
    let app = web_app().await;
    let owner = staffed_shop(&app, "acme").await;
    let mut b = staff_console(&app, "acme", "owner").await;
    let list = b.get("/console/staff").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert!(list.body.contains("<h1>Staff</h1>"));
    assert!(
        list.body
            .contains("href=\"/console/staff\" aria-current=\"page\"")
    );
    assert!(
        list.body
            .contains("owner@acme.example <span class=\"tag\">you</span>")
    );
    assert!(
        list.body
            .contains("data-role=\"viewer@acme.example\">viewer<")
    );
    assert!(list.body.contains("<option value=\"owner\">owner</option>"));
    assert_safe(&app, &b, "/console/staff").await;
    let before = staff_roles(&app, "acme", &owner).await;
    assert_eq!(before.len(), 4);

    // Refusals: each message beside its field, the typed values kept (but
    // the password), nothing added.
    let bad = submit(
        &mut b,
        &list,
        "/console/staff",
        &[
            ("email", "not-an-email"),
            ("name", "Ann"),
            ("role", "staff"),
            ("password", "short"),
        ],
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(
        bad.body
            .contains("aria-invalid=\"true\" aria-describedby=\"staff-email-error\"")
    );
    assert!(
        bad.body
            .contains("aria-invalid=\"true\" aria-describedby=\"staff-password-error\"")
    );
    assert!(bad.body.contains("id=\"staff-password-error\">"));
    assert!(bad.body.contains("value=\"not-an-email\""));
    assert!(bad.body.contains("value=\"Ann\""));
    assert!(!bad.body.contains("value=\"short\""));
    let role = submit(
        &mut b,
        &list,
        "/console/staff",
        &[
            ("email", "ann@acme.example"),
            ("role", "boss"),
            ("password", crate::identity::PASSWORD),
        ],
    )
    .await;
    assert_eq!(role.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        role.body
            .contains("id=\"staff-role-error\">must be owner, admin, staff or viewer")
    );
    let taken = submit(
        &mut b,
        &list,
        "/console/staff",
        &[
            ("email", "staff@acme.example"),
            ("role", "staff"),
            ("password", crate::identity::PASSWORD),
        ],
    )
    .await;
    assert_eq!(taken.status, StatusCode::CONFLICT, "{}", taken.body);
    assert!(taken.body.contains(
        "id=\"staff-email-error\">a staff member or customer of this shop already has this email"
    ));
    assert_eq!(staff_roles(&app, "acme", &owner).await, before);

    // Added: the notice, the row, and the new member signs in.
    let done = submit(
        &mut b,
        &list,
        "/console/staff",
        &[
            ("email", "ann@acme.example"),
            ("name", "Ann Example"),
            ("role", "viewer"),
            ("password", crate::identity::PASSWORD),
        ],
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location.as_deref(), Some("/console/staff?done=added"));
    let after = b.follow(done).await;
    assert!(
        after
            .body
            .contains("role=\"status\">The staff member was added.")
    );
    assert!(
        after
            .body
            .contains("data-role=\"ann@acme.example\">viewer<")
    );
    assert!(after.body.contains("Ann Example"));
    let roles = staff_roles(&app, "acme", &owner).await;
    assert!(roles.contains(&("ann@acme.example".into(), "viewer".into())));
    let ann = staff_console(&app, "acme", "ann").await;
    drop(ann);
    let audit = b.get("/console/audit").await;
    assert!(
        audit
            .body
            .contains(&format!("staff:{}", my_id(&app, "acme", &owner).await))
    );
    app.stop().await;
}

#[tokio::test]
async fn console_staff_roles_are_given_only_within_the_givers_own() {
    let app = web_app().await;
    let owner = staffed_shop(&app, "acme").await;
    let before = staff_roles(&app, "acme", &owner).await;

    // An admin is not offered "owner", and a forged owner post is refused.
    let mut b = staff_console(&app, "acme", "admin").await;
    let list = b.get("/console/staff").await;
    assert!(list.body.contains("Add a staff member"));
    assert!(!list.body.contains("<option value=\"owner\""));
    assert!(list.body.contains("<option value=\"admin\">admin</option>"));
    let forged = submit(
        &mut b,
        &list,
        "/console/staff",
        &[
            ("email", "boss@acme.example"),
            ("role", "owner"),
            ("password", crate::identity::PASSWORD),
        ],
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);
    assert!(forged.body.contains("only an owner can add an owner"));

    // Staff and viewers see the list, no form, and a forged post is 403.
    for role in ["staff", "viewer"] {
        let mut b = staff_console(&app, "acme", role).await;
        let list = b.get("/console/staff").await;
        assert_eq!(list.status, StatusCode::OK, "{role}");
        assert!(list.body.contains("admin@acme.example"));
        assert!(!list.body.contains("Add a staff member"));
        assert!(!list.body.contains("name=\"password\""));
        let forged = submit(
            &mut b,
            &list,
            "/console/staff",
            &[
                ("email", "sneak@acme.example"),
                ("role", "viewer"),
                ("password", crate::identity::PASSWORD),
            ],
        )
        .await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN, "{role}");
        assert!(forged.body.contains("staff:write"));
    }
    assert_eq!(staff_roles(&app, "acme", &owner).await, before);
    let bad = b.get("/console/staff?after=%%%").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    app.stop().await;
}
