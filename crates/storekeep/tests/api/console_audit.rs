//! The audit log's filters (issue 18, "who did what, when"): `actor`,
//! `action`, `from` and `to` on the admin and platform audit APIs, and the
//! filter form of the console's `/console/audit` and
//! `/console/platform-audit`, paging with the filters kept.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use storekeep_test_support::TestApp;

use crate::console_support::{SESSION, operator_console, staff_console, staffed_shop, web_app};
use crate::identity::{admin, token};
use crate::web_browser::{Browser, Page};
use crate::web_support::get_at;

async fn json_of(resp: reqwest::Response) -> Value {
    resp.json().await.unwrap()
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

/// Creates an API key as `bearer`; its id.
async fn new_key(app: &TestApp, slug: &str, bearer: &str, name: &str) -> String {
    let r = admin(app, slug, bearer, Method::POST, "/api/v1/admin/api-keys")
        .json(&json!({"api_key": {"name": name, "scopes": ["catalog:read"]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    json_of(r).await["api_key"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn revoke_key(app: &TestApp, slug: &str, bearer: &str, id: &str) {
    let path = format!("/api/v1/admin/api-keys/{id}");
    let r = admin(app, slug, bearer, Method::DELETE, &path)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
}

/// `GET /api/v1/admin/audit-log?{query}` with the owner's token: the
/// status and the body.
async fn shop_log(app: &TestApp, slug: &str, owner: &str, query: &[(&str, &str)]) -> (u16, Value) {
    let r = admin(app, slug, owner, Method::GET, "/api/v1/admin/audit-log")
        .query(query)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, json_of(r).await)
}

fn field<'a>(items: &'a Value, key: &str) -> Vec<&'a str> {
    items["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e[key].as_str().unwrap())
        .collect()
}

/// Two shops: in acme the owner creates three keys and the admin two, the
/// owner revokes one of the admin's; in other the owner creates two.
/// Answers acme's owner token and the owner's and the admin's actor.
async fn two_shops(app: &TestApp) -> (String, String, String) {
    let owner = staffed_shop(app, "acme").await;
    let admin_token = token(app, Some("acme"), "admin@acme.example", "staff").await;
    for i in 0..3 {
        new_key(app, "acme", &owner, &format!("owner-{i}")).await;
    }
    let mut admins = Vec::new();
    for i in 0..2 {
        admins.push(new_key(app, "acme", &admin_token, &format!("admin-{i}")).await);
    }
    revoke_key(app, "acme", &owner, &admins[0]).await;
    let other = staffed_shop(app, "other").await;
    for i in 0..2 {
        new_key(app, "other", &other, &format!("other-{i}")).await;
    }
    let owner_actor = format!("staff:{}", my_id(app, "acme", &owner).await);
    let admin_actor = format!("staff:{}", my_id(app, "acme", &admin_token).await);
    (owner, owner_actor, admin_actor)
}

#[tokio::test]
async fn the_admin_audit_api_filters_by_actor_action_and_time_span() {
    let app = web_app().await;
    let (owner, owner_actor, admin_actor) = two_shops(&app).await;

    let (s, all) = shop_log(&app, "acme", &owner, &[]).await;
    assert_eq!(s, 200, "{all}");
    let every = all["items"].as_array().unwrap().len();

    let (s, by_admin) = shop_log(&app, "acme", &owner, &[("actor", &admin_actor)]).await;
    assert_eq!(s, 200, "{by_admin}");
    assert_eq!(field(&by_admin, "actor"), [admin_actor.as_str(); 2]);
    assert_eq!(field(&by_admin, "action"), ["api_key.create"; 2]);

    let (_, revokes) = shop_log(&app, "acme", &owner, &[("action", "api_key.revoke")]).await;
    assert_eq!(field(&revokes, "action"), ["api_key.revoke"]);
    assert_eq!(field(&revokes, "actor"), [owner_actor.as_str()]);

    let (_, both) = shop_log(
        &app,
        "acme",
        &owner,
        &[("actor", &owner_actor), ("action", "api_key.create")],
    )
    .await;
    assert_eq!(field(&both, "action"), ["api_key.create"; 3], "{both}");
    assert!(field(&both, "actor").iter().all(|a| *a == owner_actor));

    // A span between two entries' times: [the admin's first key, the
    // revocation), newest first.
    let seqs = |v: &Value| -> Vec<i64> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["seq"].as_i64().unwrap())
            .collect()
    };
    let first_admin = &by_admin["items"][1];
    let revoke = &revokes["items"][0];
    let (from, to) = (
        first_admin["at"].as_str().unwrap(),
        revoke["at"].as_str().unwrap(),
    );
    let (s, span) = shop_log(&app, "acme", &owner, &[("from", from), ("to", to)]).await;
    assert_eq!(s, 200, "{span}");
    let (a, b) = (
        first_admin["seq"].as_i64().unwrap(),
        revoke["seq"].as_i64().unwrap(),
    );
    assert_eq!(seqs(&span), ((a..b).rev()).collect::<Vec<i64>>(), "{span}");
    // Before every entry, or after: nothing.
    let (_, none) = shop_log(&app, "acme", &owner, &[("to", "2000-01-01T00:00:00Z")]).await;
    assert!(none["items"].as_array().unwrap().is_empty());
    let (_, none) = shop_log(
        &app,
        "acme",
        &owner,
        &[("from", "2999-01-01T00:00:00+00:00")],
    )
    .await;
    assert!(none["items"].as_array().unwrap().is_empty());
    // Another shop's owner is nobody here.
    let other_owner = token(&app, Some("other"), "owner@other.example", "staff").await;
    let other_actor = format!("staff:{}", my_id(&app, "other", &other_owner).await);
    let (_, theirs) = shop_log(&app, "acme", &owner, &[("actor", &other_actor)]).await;
    assert!(theirs["items"].as_array().unwrap().is_empty(), "{theirs}");
    // Blank values narrow nothing.
    let (_, blank) = shop_log(&app, "acme", &owner, &[("actor", ""), ("action", " ")]).await;
    assert_eq!(blank["items"].as_array().unwrap().len(), every);
    app.stop().await;
}

#[tokio::test]
async fn the_audit_apis_page_a_filtered_list_and_refuse_bad_values_naming_them() {
    let app = web_app().await;
    let (owner, owner_actor, _) = two_shops(&app).await;

    // Pages of one, the filter given again with each cursor.
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut q = vec![("actor", owner_actor.as_str()), ("limit", "1")];
        if let Some(a) = after.as_deref() {
            q.push(("after", a));
        }
        let (s, page) = shop_log(&app, "acme", &owner, &q).await;
        assert_eq!(s, 200, "{page}");
        seen.extend(field(&page, "action").iter().map(|a| (*a).to_owned()));
        match page["next_cursor"].as_str() {
            Some(c) => after = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(
        seen,
        [
            "api_key.revoke",
            "api_key.create",
            "api_key.create",
            "api_key.create"
        ]
    );

    for (q, name) in [
        (vec![("from", "yesterday")], "from"),
        (vec![("to", "2026-11-28")], "to"),
        (
            vec![
                ("from", "2026-11-28T10:00:00Z"),
                ("to", "2026-11-28T09:00:00Z"),
            ],
            "to",
        ),
        (vec![("actor", &*"x".repeat(201))], "actor"),
        (vec![("action", "order\u{7}refund")], "action"),
    ] {
        let (s, problem) = shop_log(&app, "acme", &owner, &q).await;
        assert_eq!(s, 400, "{q:?}: {problem}");
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.contains(&format!("{name}: ")), "{q:?}: {problem}");
    }

    // The platform's log takes the same filters.
    let log = |q: Vec<(&'static str, &'static str)>| {
        let app = &app;
        async move {
            let r = app
                .platform(Method::GET, "/api/v1/platform/audit-log")
                .query(&q)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), json_of(r).await)
        }
    };
    let (s, created) = log(vec![("action", "tenant.create")]).await;
    assert_eq!(s, 200, "{created}");
    assert_eq!(field(&created, "action"), ["tenant.create"; 2], "{created}");
    let (s, problem) = log(vec![("from", "soon")]).await;
    assert_eq!(s, 400, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("from: must be a time"),
        "{problem}"
    );
    app.stop().await;
}

/// The rows of an audit page: `(actor, action)`.
fn rows(page: &Page) -> Vec<(String, String)> {
    page.body
        .split("<tr><td>")
        .skip(1)
        .map(|row| {
            let cells: Vec<&str> = row
                .split("</td>")
                .map(|c| {
                    let c = c.trim_start_matches("<td>");
                    let c = c.trim_start_matches("<code>");
                    c.trim_end_matches("</code>")
                })
                .collect();
            (cells[1].to_owned(), cells[2].to_owned())
        })
        .collect()
}

/// The page's next-page link, unescaped.
fn next_link(page: &Page, path: &str) -> Option<String> {
    let needle = format!("<a href=\"{path}?");
    let i = page.body.find(&needle)? + "<a href=\"".len();
    Some(
        page.body[i..i + page.body[i..].find('"').unwrap()]
            .replace("&#38;", "&")
            .replace("&amp;", "&"),
    )
}

async fn assert_safe(app: &TestApp, b: &Browser, path: &str) {
    let cookie = format!("{SESSION}={}", b.jar[SESSION]);
    let page = get_at(app, &b.host, path, &[("cookie", &cookie)]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    page.assert_safe();
}

#[tokio::test]
async fn console_audit_filters_by_action_actor_and_days_of_this_shop_only() {
    let app = web_app().await;
    let (_, owner_actor, admin_actor) = two_shops(&app).await;
    let mut b = staff_console(&app, "acme", "owner").await;

    let all = b.get("/console/audit").await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    assert!(all.body.contains("<label for=\"f-actor\">"), "{}", all.body);
    assert!(!all.body.contains("Clear filters"));

    let revokes = b.get("/console/audit?action=api_key.revoke").await;
    assert_eq!(revokes.status, StatusCode::OK, "{}", revokes.body);
    assert_eq!(
        rows(&revokes),
        [(owner_actor.clone(), "api_key.revoke".to_owned())]
    );
    assert!(
        revokes.body.contains("value=\"api_key.revoke\""),
        "the form keeps it"
    );
    assert!(revokes.body.contains("Clear filters"));

    // Only acme's keys: three of the owner's and two of the admin's.
    let creates = b.get("/console/audit?action=api_key.create").await;
    assert_eq!(rows(&creates).len(), 5, "{}", creates.body);

    let by_admin = b
        .get(&format!(
            "/console/audit?actor={}",
            admin_actor.replace(':', "%3A")
        ))
        .await;
    let got = rows(&by_admin);
    assert_eq!(got.len(), 2, "{}", by_admin.body);
    assert!(
        got.iter()
            .all(|(a, act)| *a == admin_actor && act == "api_key.create")
    );

    // Days in UTC, `to` included: today holds everything, yesterday and
    // tomorrow nothing.
    let today = chrono::Utc::now().date_naive();
    let day = |d: chrono::NaiveDate| d.format("%Y-%m-%d").to_string();
    let (yesterday, tomorrow) = (
        day(today.pred_opt().unwrap()),
        day(today.succ_opt().unwrap()),
    );
    let today = day(today);
    let span = b
        .get(&format!(
            "/console/audit?from={today}&to={today}&actor={}",
            owner_actor.replace(':', "%3A")
        ))
        .await;
    assert_eq!(
        rows(&span).len(),
        rows(
            &b.get(&format!(
                "/console/audit?actor={}",
                owner_actor.replace(':', "%3A")
            ))
            .await
        )
        .len()
    );
    assert!(!rows(&span).is_empty());
    for q in [format!("to={yesterday}"), format!("from={tomorrow}")] {
        let none = b.get(&format!("/console/audit?{q}")).await;
        assert_eq!(none.status, StatusCode::OK);
        assert!(rows(&none).is_empty(), "{q}");
        assert!(none.body.contains("No entry matches these filters."));
    }

    // Another shop's actor shows nothing here.
    let other_owner = token(&app, Some("other"), "owner@other.example", "staff").await;
    let other_actor = format!("staff:{}", my_id(&app, "other", &other_owner).await);
    let theirs = b
        .get(&format!(
            "/console/audit?actor={}",
            other_actor.replace(':', "%3A")
        ))
        .await;
    assert!(rows(&theirs).is_empty());

    assert_safe(
        &app,
        &b,
        "/console/audit?action=api_key.create&from=2026-01-01",
    )
    .await;
    app.stop().await;
}

#[tokio::test]
async fn console_audit_paging_keeps_the_filters_and_bad_values_are_a_400_naming_the_field() {
    let app = web_app().await;
    let owner = staffed_shop(&app, "acme").await;
    let admin_token = token(&app, Some("acme"), "admin@acme.example", "staff").await;
    // 55 creations by the owner among 10 by the admin.
    for i in 0..65 {
        let who = if i % 13 == 0 || i % 7 == 0 {
            &admin_token
        } else {
            &owner
        };
        new_key(&app, "acme", who, &format!("key-{i:02}")).await;
    }
    let owner_actor = format!("staff:{}", my_id(&app, "acme", &owner).await);
    let made_by_owner = (0..65).filter(|i| !(i % 13 == 0 || i % 7 == 0)).count();
    let mut b = staff_console(&app, "acme", "admin").await;

    let q = format!(
        "actor={}&action=api_key.create",
        owner_actor.replace(':', "%3A")
    );
    let first = b.get(&format!("/console/audit?{q}")).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(rows(&first).len(), 50);
    let next = next_link(&first, "/console/audit").expect("a next-page link");
    assert!(next.contains(&q), "{next}");
    assert!(next.contains("&after="), "{next}");
    let second = b.get(&next).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.body);
    let rest = rows(&second);
    assert_eq!(rest.len(), made_by_owner - 50);
    assert!(
        rows(&first)
            .iter()
            .chain(&rest)
            .all(|(a, act)| *a == owner_actor && act == "api_key.create")
    );
    assert_eq!(next_link(&second, "/console/audit"), None);

    for (q, says) in [
        ("from=28.11.2026", "from must be a date"),
        ("to=2026-02-30", "to must be a date"),
        ("from=2026-11-28&to=2026-11-27", "from must not be after to"),
        ("action=%07", "action must not contain control characters"),
    ] {
        let bad = b.get(&format!("/console/audit?{q}")).await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{q}: {}", bad.body);
        assert!(bad.body.contains(says), "{q}: {}", bad.body);
    }
    let long = b
        .get(&format!("/console/audit?actor={}", "x".repeat(201)))
        .await;
    assert_eq!(long.status, StatusCode::BAD_REQUEST);
    assert!(
        long.body.contains("actor must be at most 200 characters"),
        "{}",
        long.body
    );
    app.stop().await;
}

#[tokio::test]
async fn console_platform_audit_filters_pages_and_refuses_a_bad_day() {
    let app = web_app().await;
    for slug in ["acme", "other", "third"] {
        crate::web_support::shop(&app, slug).await;
    }
    let mut op = operator_console(&app, "ops@example.com").await;

    let created = op.get("/console/platform-audit?action=tenant.create").await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    let count = created.body.matches("<td>tenant.create</td>").count();
    assert_eq!(count, 3, "{}", created.body);
    assert!(!created.body.contains("<td>operator.create</td>"));
    assert!(created.body.contains("value=\"tenant.create\""));

    let none = op
        .get("/console/platform-audit?action=tenant.create&to=2000-01-01")
        .await;
    assert_eq!(none.status, StatusCode::OK);
    assert!(
        none.body.contains("No entry matches these filters."),
        "{}",
        none.body
    );

    let bad = op.get("/console/platform-audit?from=tomorrow").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("from must be a date"), "{}", bad.body);

    let cookie = format!("{SESSION}={}", op.jar[SESSION]);
    let page = get_at(
        &app,
        &op.host,
        "/console/platform-audit?action=tenant.create",
        &[("cookie", &cookie)],
    )
    .await;
    assert_eq!(page.status, 200, "{}", page.body);
    page.assert_safe();
    app.stop().await;
}
