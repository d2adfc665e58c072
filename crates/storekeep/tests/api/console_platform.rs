//! The operators' console: shops (open, suspend, resume), system health
//! with the last hour's charts, the platform's audit log and its chain
//! verification; and the console's rate limits.

use reqwest::StatusCode;
use serde_json::json;

use crate::catalog_support::{create_plan, shop as plain_shop};
use crate::console_support::{operator_console, staff_console, staffed_shop, submit, web_app};
use crate::identity::PASSWORD;
use crate::web_browser::{Browser, Page};
use crate::web_support::{get, host};

fn status_of(page: &Page, slug: &str) -> String {
    let needle = format!("data-status=\"{slug}\">");
    let at = page.body.find(&needle).expect("the shop's row") + needle.len();
    page.body[at..at + page.body[at..].find('<').unwrap()].to_owned()
}

/// The first form on `page` whose action is `action`, as its fields.
fn form_fields(page: &Page, action: &str) -> Vec<(String, String)> {
    let at = page
        .body
        .find(&format!("action=\"{action}\""))
        .unwrap_or_else(|| panic!("no form to {action}: {}", page.body));
    let end = at + page.body[at..].find("</form>").unwrap();
    let form = &page.body[at..end];
    let mut fields = Vec::new();
    for part in form.split("<input").skip(1) {
        let tag = &part[..part.find('>').unwrap()];
        let attr = |name: &str| {
            let k = format!("{name}=\"");
            tag.find(&k)
                .map(|i| tag[i + k.len()..][..tag[i + k.len()..].find('"').unwrap()].to_owned())
        };
        if let (Some(n), Some(v)) = (attr("name"), attr("value")) {
            fields.push((n, v));
        }
    }
    fields
}

#[tokio::test]
async fn an_operator_suspends_a_shop_and_its_storefront_and_console_answer_404_until_resumed() {
    let app = web_app().await;
    staffed_shop(&app, "acme").await;
    assert_eq!(get(&app, "acme", "/").await.status, 200);
    let mut op = operator_console(&app, "ops@platform.example").await;

    let shops = op.get("/console/shops").await;
    assert_eq!(shops.status, StatusCode::OK, "{}", shops.body);
    assert_eq!(status_of(&shops, "acme"), "active");
    let fields = form_fields(&shops, "/console/shops/acme/status");
    assert!(fields.contains(&("status".into(), "suspended".into())));
    let fields: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let done = op.post("/console/shops/acme/status", &fields).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let shops = op.follow(done).await;
    assert!(shops.body.contains("The shop is suspended"));
    assert_eq!(status_of(&shops, "acme"), "suspended");

    // The storefront, the staff console and the API: 404.
    assert_eq!(get(&app, "acme", "/").await.status, 404);
    assert_eq!(get(&app, "acme", "/console/signin").await.status, 404);
    let api = app
        .shop("acme", reqwest::Method::GET, "/api/v1/store/products")
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 404);

    // Resumed: back.
    let fields = form_fields(&shops, "/console/shops/acme/status");
    assert!(fields.contains(&("status".into(), "active".into())));
    let fields: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let done = op.post("/console/shops/acme/status", &fields).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert_eq!(get(&app, "acme", "/").await.status, 200);

    // The audit log names the operator; every chain verifies.
    let audit = op.get("/console/platform-audit").await;
    assert_eq!(audit.status, StatusCode::OK);
    assert!(audit.body.contains("tenant.update"), "{}", audit.body);
    assert!(audit.body.contains("operator:"));
    let verified = submit(&mut op, &audit, "/console/platform-audit/verify", &[]).await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.body);
    assert!(
        verified
            .body
            .contains("data-chain=\"platform\">platform: intact"),
        "{}",
        verified.body
    );
    assert!(!verified.body.contains("BROKEN"));

    // A staff member of the shop has no operators' pages at the shop's host.
    let mut owner = staff_console(&app, "acme", "owner").await;
    assert_eq!(
        owner.get("/console/shops").await.status,
        StatusCode::NOT_FOUND
    );
    let token = owner.get("/console").await.csrf();
    let forged = owner
        .post(
            "/console/shops/acme/status",
            &[("csrf", &token), ("status", "suspended")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::NOT_FOUND);
    assert_eq!(get(&app, "acme", "/").await.status, 200);
}

#[tokio::test]
async fn an_operator_opens_a_shop_and_bad_input_is_shown_beside_its_field() {
    let app = web_app().await;
    create_plan(&app, "pro", json!({})).await;
    let mut op = operator_console(&app, "ops@platform.example").await;
    let page = op.get("/console/shops").await;
    assert!(
        page.body.contains("<option value=\"pro\">pro</option>"),
        "{}",
        page.body
    );

    let bad = submit(
        &mut op,
        &page,
        "/console/shops",
        &[("slug", "Not A Slug!"), ("name", "X"), ("plan", "")],
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(bad.body.contains("id=\"slug-problem\""));
    assert!(bad.body.contains("aria-invalid=\"true\""));
    assert!(
        bad.body.contains("value=\"Not A Slug!\""),
        "the form keeps what was typed"
    );

    let unknown = submit(
        &mut op,
        &page,
        "/console/shops",
        &[("slug", "newshop"), ("name", "New"), ("plan", "gold")],
    )
    .await;
    assert_eq!(
        unknown.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        unknown.body
    );
    assert!(unknown.body.contains("id=\"plan-problem\""));

    let ok = submit(
        &mut op,
        &page,
        "/console/shops",
        &[("slug", "newshop"), ("name", "New Shop"), ("plan", "pro")],
    )
    .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let listed = op.follow(ok).await;
    assert_eq!(status_of(&listed, "newshop"), "active");
    let tenant = app
        .platform(reqwest::Method::GET, "/api/v1/platform/tenants/newshop")
        .send()
        .await
        .unwrap();
    assert_eq!(tenant.status(), 200);
    let tenant: serde_json::Value = tenant.json().await.unwrap();
    let tenant = tenant.get("tenant").unwrap_or(&tenant);
    assert_eq!(tenant["plan"], "pro", "{tenant}");

    let again = submit(
        &mut op,
        &page,
        "/console/shops",
        &[("slug", "newshop"), ("name", "Twice"), ("plan", "")],
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    assert!(again.body.contains("already taken"));
}

#[tokio::test]
async fn the_health_page_shows_every_dependency_and_this_nodes_last_hour() {
    let app = web_app().await;
    let mut op = operator_console(&app, "ops@platform.example").await;
    for _ in 0..3 {
        assert_eq!(op.get("/console").await.status, StatusCode::OK);
    }
    let page = op.get("/console/health").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("data-status=\"node\">ready<"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("<td>Database</td><td><span class=\"ok\">ready</span>")
    );
    let migrations = page
        .body
        .split("<td>Migrations</td><td colspan=\"2\">")
        .nth(1)
        .unwrap();
    let migrations = &migrations[..migrations.find('<').unwrap()];
    let (applied, known) = migrations
        .trim_end_matches(" applied")
        .split_once(" of ")
        .unwrap();
    assert_eq!(applied, known, "{migrations}");
    assert!(applied.parse::<u32>().unwrap() > 10);
    // The minute in progress counts the requests just made.
    let latest = page.body.split("data-latest=\"requests\">").nth(1).unwrap();
    let latest: u64 = latest[..latest.find('<').unwrap()].parse().unwrap();
    assert!(latest >= 4, "{latest}");
    for chart in ["requests", "errors", "p99", "orders"] {
        assert!(
            page.body.contains(&format!("id=\"{chart}-title\"")),
            "{chart}"
        );
    }
    assert!(page.body.contains("<svg class=\"chart\""));
    assert!(page.body.contains("<h2>Backups</h2>"));
    let direct =
        crate::web_support::get_at(&app, crate::web_support::BASE, "/console/health", &[]).await;
    // Signed out (the client follows the redirect): the sign-in form.
    assert!(
        direct.body.contains("Platform operators sign in here."),
        "{}",
        direct.body
    );
    assert!(!direct.body.contains("<h1>System health</h1>"));
}

#[tokio::test]
async fn console_sign_in_posts_count_in_the_auth_rate_limit_tier() {
    let app = web_app().await;
    create_plan(&app, "tight", json!({"auth_requests_per_minute": 4})).await;
    plain_shop(&app, "acme", Some("tight")).await;
    let mut b = Browser::new(&app, &host("acme"));
    let csrf = b.get("/console/signin").await.csrf();
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let p = b
            .post(
                "/console/signin",
                &[
                    ("csrf", &csrf),
                    ("email", "owner@acme.example"),
                    ("password", "wrong password"),
                ],
            )
            .await;
        statuses.push(p.status.as_u16());
    }
    // (Setting the shop up logged its owner in through the API: the same
    // bucket, so one of the four is spent already.)
    assert_eq!(statuses, [422, 422, 422, 429, 429, 429]);
    // Pages are in the Api tier: the sign-in page still opens.
    assert_eq!(b.get("/console/signin").await.status, StatusCode::OK);
    // And the bucket is the API's: its login is refused too.
    let api = crate::identity::login_as(
        &app,
        Some("acme"),
        json!({"email": "owner@acme.example", "password": PASSWORD, "account": "staff"}),
    )
    .await;
    assert_eq!(api.status(), 429);
}

/// `storekeep backup create` against the test server's database, on a
/// blocking thread (the server keeps serving meanwhile).
async fn backup_create(app: &storekeep_test_support::TestApp) {
    let mut cmd =
        storekeep_test_support::storekeep_command(env!("CARGO_BIN_EXE_storekeep"), &app.db);
    cmd.args(["backup", "create", "--json"]);
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .unwrap()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The health page until its restore drill is no longer running.
async fn drill_outcome(op: &mut Browser) -> String {
    for _ in 0..300 {
        let page = op.get("/console/health").await;
        let at = page.body.find("<dd data-drill>").expect("the drill's line") + 15;
        let words = page.body[at..at + page.body[at..].find("</dd>").unwrap()].to_owned();
        if !words.contains("running") {
            return words;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    panic!("the drill did not finish");
}

#[tokio::test]
async fn an_operator_verifies_the_newest_backup_from_the_health_page() {
    let app = web_app().await;
    staffed_shop(&app, "acme").await;
    let mut op = operator_console(&app, "ops@platform.example").await;
    let page = op.get("/console/health").await;
    assert!(
        page.body.contains("<dd data-drill>none yet</dd>"),
        "{}",
        page.body
    );

    // No backup yet: the drill says so.
    let started = submit(&mut op, &page, "/console/backups/verify", &[]).await;
    assert_eq!(started.status, StatusCode::SEE_OTHER);
    let words = drill_outcome(&mut op).await;
    assert!(
        words.contains("FAILED") && words.contains("no backup"),
        "{words}"
    );

    backup_create(&app).await;
    let page = op.get("/console/health").await;
    let started = submit(&mut op, &page, "/console/backups/verify", &[]).await;
    assert_eq!(
        started.location.as_deref(),
        Some("/console/health?done=verifying")
    );
    let words = drill_outcome(&mut op).await;
    assert!(words.contains("verified"), "{words}");
    assert!(words.contains("audit chains intact"), "{words}");
    assert!(!words.contains("FAILED"));
    let page = op.get("/console/health").await;
    assert!(
        !page.body.contains("Last good backup</dt><dd>none found"),
        "the backup is listed"
    );
}

#[tokio::test]
async fn an_operator_creates_a_plan_and_moves_a_shop_onto_it() {
    let app = web_app().await;
    staffed_shop(&app, "acme").await;
    let mut op = operator_console(&app, "ops@platform.example").await;
    let page = op.get("/console/plans").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("data-plan=\"default\""));

    let bad = submit(
        &mut op,
        &page,
        "/console/plans",
        &[("name", "Gold Plan!"), ("max_staff", "lots")],
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(
        bad.body.contains("id=\"plan-max_staff-problem\""),
        "{}",
        bad.body
    );
    assert!(!bad.body.contains("data-plan=\"Gold Plan!\""));

    let ok = submit(
        &mut op,
        &page,
        "/console/plans",
        &[("name", "gold"), ("max_staff", "2"), ("max_products", "")],
    )
    .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let listed = op.follow(ok).await;
    let row = listed.body.split("data-plan=\"gold\">").nth(1).unwrap();
    assert!(row.starts_with("<td>gold</td>"), "{row}");
    let again = submit(&mut op, &page, "/console/plans", &[("name", "gold")]).await;
    assert_eq!(again.status, StatusCode::CONFLICT);

    // acme onto gold: its limit of two staff applies at once (it has four).
    let shops = op.get("/console/shops").await;
    let moved = submit(
        &mut op,
        &shops,
        "/console/shops/acme/plan",
        &[("plan", "gold")],
    )
    .await;
    assert_eq!(moved.status, StatusCode::SEE_OTHER, "{}", moved.body);
    let tenant: serde_json::Value = app
        .platform(reqwest::Method::GET, "/api/v1/platform/tenants/acme")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tenant = tenant.get("tenant").unwrap_or(&tenant);
    assert_eq!(tenant["plan"], "gold");
    let unknown = submit(
        &mut op,
        &shops,
        "/console/shops/acme/plan",
        &[("plan", "platinum")],
    )
    .await;
    assert_eq!(
        unknown.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        unknown.body
    );
}
