//! The console's settings screen (shop settings and branding), staff role
//! changes and the audit log's filters.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use storekeep_test_support::TestApp;

use crate::console_support::{SESSION, staff_console, staffed_shop, submit, web_app};
use crate::identity::admin;
use crate::web_browser::Browser;
use crate::web_support::get_at;

/// Fetches `path` with the browser's cookies and checks the page's
/// headers and body (CSP, no inline style or script).
async fn assert_safe(app: &TestApp, b: &Browser, path: &str) {
    let cookie = format!("{SESSION}={}", b.jar[SESSION]);
    let page = get_at(app, &b.host, path, &[("cookie", &cookie)]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    page.assert_safe();
}

/// The shop's settings as the admin API answers them.
async fn settings(app: &TestApp, slug: &str, token: &str) -> Value {
    let r = admin(app, slug, token, Method::GET, "/api/v1/admin/settings")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json::<Value>().await.unwrap()["settings"].clone()
}

/// Every field the settings form sends, as the page filled it in, with
/// `changes` written over them (a field named with an empty value in
/// `changes` is left out, as an unticked checkbox is).
fn form_of(page: &crate::web_browser::Page, changes: &[(&str, &str)]) -> Vec<(String, String)> {
    let names = [
        "storefront.name",
        "currency",
        "time_zone",
        "payment_timeout_secs",
        "storefront.primary_color",
        "storefront.accent_color",
        "storefront.logo",
        "email_sender",
        "email_sender_name",
        "email_reply_to",
        "email_logo_url",
        "email_brand_color",
        "email_accent_color",
    ];
    let mut out: Vec<(String, String)> = names
        .iter()
        .map(|n| ((*n).to_owned(), page.input(n).unwrap_or_default()))
        .collect();
    for (k, v) in changes {
        out.retain(|(n, _)| n != k);
        if !v.is_empty() {
            out.push(((*k).to_owned(), (*v).to_owned()));
        }
    }
    out
}

async fn post_form(
    b: &mut Browser,
    from: &crate::web_browser::Page,
    fields: &[(String, String)],
) -> crate::web_browser::Page {
    let f: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    submit(b, from, "/console/settings", &f).await
}

#[tokio::test]
async fn console_settings_saves_through_the_settings_service_and_keeps_what_it_does_not_show() {
    let app = web_app().await;
    let owner = staffed_shop(&app, "acme").await;
    // A setting the form does not show: kept by a save.
    let mut s = settings(&app, "acme", &owner).await;
    s["shipping_methods"] =
        json!([{"code": "std", "name": "Standard", "price": 500, "countries": []}]);
    let r = admin(
        &app,
        "acme",
        &owner,
        Method::PATCH,
        "/api/v1/admin/settings",
    )
    .json(&json!({ "settings": s }))
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());

    let mut b = staff_console(&app, "acme", "owner").await;
    let page = b.get("/console/settings").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("<h1>Settings</h1>"));
    assert!(
        page.body
            .contains("href=\"/console/settings\" aria-current=\"page\"")
    );
    assert_eq!(page.input("currency").as_deref(), Some("USD"));
    assert!(page.body.contains("Save settings"));
    assert!(page.body.contains("<label for=\"set-currency\">"));
    assert_safe(&app, &b, "/console/settings").await;

    let mut fields = form_of(
        &page,
        &[
            ("storefront.name", "Acme Refurb"),
            ("currency", "EUR"),
            ("time_zone", "Europe/Berlin"),
            ("storefront.primary_color", "#112233"),
            ("storefront.language", "de"),
            ("email_sender_name", "Acme Team"),
            ("require_staff_mfa", ""),
        ],
    );
    fields.push((
        "storefront.terms".into(),
        "First paragraph.\r\n\r\nSecond.".into(),
    ));
    fields.push(("storefront.follow_browser_language".into(), "on".into()));
    let done = post_form(&mut b, &page, &fields).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(
        done.location.as_deref(),
        Some("/console/settings?done=saved")
    );
    let after = b.follow(done).await;
    assert!(
        after
            .body
            .contains("role=\"status\">The settings were saved.")
    );
    assert_eq!(after.input("currency").as_deref(), Some("EUR"));
    assert!(after.body.contains("<option value=\"de\" selected>"));

    let s = settings(&app, "acme", &owner).await;
    assert_eq!(s["currency"], "EUR");
    assert_eq!(s["time_zone"], "Europe/Berlin");
    assert_eq!(s["storefront"]["name"], "Acme Refurb");
    assert_eq!(s["storefront"]["primary_color"], "#112233");
    assert_eq!(s["storefront"]["language"], "de");
    assert_eq!(s["storefront"]["terms"], "First paragraph.\n\nSecond.");
    assert!(s["storefront"].get("follow_browser_language").is_none());
    assert!(s["storefront"].get("accent_color").is_none());
    assert_eq!(s["email_sender_name"], "Acme Team");
    assert_eq!(s["require_staff_mfa"], false);
    assert_eq!(s["shipping_methods"][0]["code"], "std");

    // The storefront shows the new name.
    let shop = Browser::new(&app, &b.host).get("/").await;
    assert!(shop.body.contains("Acme Refurb"), "{}", shop.body);

    // The change is in the shop's own audit chain (not only the
    // platform's), with who made it and the settings before and after.
    let log = admin(&app, "acme", &owner, Method::GET, "/api/v1/admin/audit-log")
        .send()
        .await
        .unwrap();
    let log: Value = log.json().await.unwrap();
    let changes: Vec<&Value> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "settings.update")
        .collect();
    assert_eq!(changes.len(), 2, "the API's save and the console's: {log}");
    let console_save = changes[0];
    assert!(
        console_save["actor"]
            .as_str()
            .unwrap()
            .starts_with("staff:"),
        "{console_save}"
    );
    assert_eq!(console_save["before"]["currency"], "USD");
    assert_eq!(console_save["after"]["currency"], "EUR");
    let audit = b.get("/console/audit").await;
    assert!(audit.body.contains("settings.update"), "{}", audit.body);

    app.stop().await;
}

#[tokio::test]
async fn console_settings_refused_values_are_422_beside_their_fields_and_nothing_is_saved() {
    let app = web_app().await;
    let owner = staffed_shop(&app, "acme").await;
    let before = settings(&app, "acme", &owner).await;
    let mut b = staff_console(&app, "acme", "admin").await;
    let page = b.get("/console/settings").await;

    let fields = form_of(
        &page,
        &[
            ("storefront.name", "Renamed"),
            ("currency", "euro"),
            ("storefront.primary_color", "red"),
            ("time_zone", "Mars/Olympus"),
        ],
    );
    let bad = post_form(&mut b, &page, &fields).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(bad.body.contains("role=\"alert\""), "{}", bad.body);
    for id in [
        "set-currency",
        "set-storefront-primary-color",
        "set-time-zone",
    ] {
        assert!(
            bad.body.contains(&format!(
                "aria-invalid=\"true\" aria-describedby=\"{id}-error\""
            )),
            "{id}: {}",
            bad.body
        );
        assert!(bad.body.contains(&format!("id=\"{id}-error\">")), "{id}");
    }
    assert!(
        bad.body
            .contains("id=\"set-currency-error\">must be a three-letter ISO 4217 code")
    );
    // What was typed is kept.
    assert_eq!(bad.input("currency").as_deref(), Some("euro"));
    assert_eq!(bad.input("storefront.name").as_deref(), Some("Renamed"));

    // A number that is no number: refused before the service, beside it.
    let fields = form_of(
        &page,
        &[("payment_timeout_secs", "soon"), ("currency", "EUR")],
    );
    let nan = post_form(&mut b, &page, &fields).await;
    assert_eq!(nan.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", nan.body);
    assert!(
        nan.body
            .contains("id=\"set-payment-timeout-secs-error\">must be a whole number")
    );

    // A logo that is not one of the shop's images.
    let fields = form_of(&page, &[("storefront.logo", "other/abc.png")]);
    let logo = post_form(&mut b, &page, &fields).await;
    assert_eq!(
        logo.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        logo.body
    );
    assert!(
        logo.body
            .contains("aria-describedby=\"set-storefront-logo-error\"")
    );

    assert_eq!(settings(&app, "acme", &owner).await, before);

    app.stop().await;
}

#[tokio::test]
async fn console_settings_are_read_only_to_staff_and_viewers_and_a_forged_post_is_403() {
    let app = web_app().await;
    let owner = staffed_shop(&app, "acme").await;
    let before = settings(&app, "acme", &owner).await;
    for role in ["staff", "viewer"] {
        let mut b = staff_console(&app, "acme", role).await;
        let page = b.get("/console/settings").await;
        assert_eq!(page.status, StatusCode::OK, "{role}: {}", page.body);
        assert!(
            page.body.contains("data-setting=\"currency\">USD<"),
            "{role}"
        );
        assert!(page.body.contains("data-setting=\"time_zone\">UTC<"));
        assert!(!page.body.contains("Save settings"), "{role}");
        assert!(!page.body.contains("action=\"/console/settings\""));
        assert!(page.body.contains("href=\"/console/settings\""));
        assert_safe(&app, &b, "/console/settings").await;

        let forged = submit(
            &mut b,
            &page,
            "/console/settings",
            &[
                ("currency", "EUR"),
                ("time_zone", "UTC"),
                ("payment_timeout_secs", "1800"),
            ],
        )
        .await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN, "{role}");
        assert!(forged.body.contains("settings:write"), "{}", forged.body);
    }
    assert_eq!(settings(&app, "acme", &owner).await, before);
    app.stop().await;
}

/// The shop's staff, `(email, role, id)`, as the admin API lists them.
async fn staff_list(app: &TestApp, slug: &str, token: &str) -> Vec<(String, String, String)> {
    let r = admin(app, slug, token, Method::GET, "/api/v1/admin/staff")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json::<Value>().await.unwrap()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["email"].as_str().unwrap().to_owned(),
                a["role"].as_str().unwrap().to_owned(),
                a["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn id_of(list: &[(String, String, String)], email: &str) -> String {
    list.iter().find(|(e, _, _)| e == email).unwrap().2.clone()
}

fn role_in(list: &[(String, String, String)], email: &str) -> String {
    list.iter().find(|(e, _, _)| e == email).unwrap().1.clone()
}

#[tokio::test]
async fn console_staff_role_changes_through_a_form_per_member() {
    let app = web_app().await;
    let owner = staffed_shop(&app, "acme").await;
    let list = staff_list(&app, "acme", &owner).await;
    let viewer_id = id_of(&list, "viewer@acme.example");
    let owner_id = id_of(&list, "owner@acme.example");
    let mut b = staff_console(&app, "acme", "owner").await;
    let page = b.get("/console/staff").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let path = format!("/console/staff/{viewer_id}/role");
    assert!(
        page.body.contains(&format!("action=\"{path}\"")),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains(&format!("<label for=\"role-{viewer_id}\""))
    );
    // No form for oneself.
    assert!(
        !page
            .body
            .contains(&format!("/console/staff/{owner_id}/role"))
    );
    assert_safe(&app, &b, "/console/staff").await;

    let done = submit(&mut b, &page, &path, &[("role", "staff")]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location.as_deref(), Some("/console/staff?done=role"));
    let after = b.follow(done).await;
    assert!(
        after.body.contains("role=\"status\">The role was changed."),
        "{}",
        after.body
    );
    assert!(
        after
            .body
            .contains("data-role=\"viewer@acme.example\">staff<")
    );
    assert_eq!(
        role_in(
            &staff_list(&app, "acme", &owner).await,
            "viewer@acme.example"
        ),
        "staff"
    );

    // A role that does not exist: 422, nothing changed.
    let bad = submit(&mut b, &after, &path, &[("role", "boss")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(bad.body.contains("role=\"alert\""));
    // Another shop's member, and an id that is nobody's: 404 pages.
    let other = staffed_shop(&app, "other").await;
    let other_id = id_of(
        &staff_list(&app, "other", &other).await,
        "viewer@other.example",
    );
    let foreign = submit(
        &mut b,
        &after,
        &format!("/console/staff/{other_id}/role"),
        &[("role", "admin")],
    )
    .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND, "{}", foreign.body);
    let nobody = submit(
        &mut b,
        &after,
        "/console/staff/nope/role",
        &[("role", "admin")],
    )
    .await;
    assert_eq!(nobody.status, StatusCode::NOT_FOUND);
    assert_eq!(
        role_in(
            &staff_list(&app, "other", &other).await,
            "viewer@other.example"
        ),
        "viewer"
    );
    assert_eq!(
        role_in(
            &staff_list(&app, "acme", &owner).await,
            "viewer@acme.example"
        ),
        "staff"
    );
    app.stop().await;
}

#[tokio::test]
async fn console_staff_role_forms_follow_what_the_account_may_give() {
    let app = web_app().await;
    let owner = staffed_shop(&app, "acme").await;
    let list = staff_list(&app, "acme", &owner).await;
    let owner_id = id_of(&list, "owner@acme.example");
    let staff_id = id_of(&list, "staff@acme.example");

    // An admin: forms for staff and viewers without "owner", none for the
    // owner; a forged post making an owner or unmaking one is 403.
    let mut b = staff_console(&app, "acme", "admin").await;
    let page = b.get("/console/staff").await;
    assert!(
        page.body
            .contains(&format!("/console/staff/{staff_id}/role"))
    );
    assert!(
        !page
            .body
            .contains(&format!("/console/staff/{owner_id}/role"))
    );
    assert!(
        !page.body.contains("<option value=\"owner\""),
        "{}",
        page.body
    );
    let forged = submit(
        &mut b,
        &page,
        &format!("/console/staff/{staff_id}/role"),
        &[("role", "owner")],
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);
    let forged = submit(
        &mut b,
        &page,
        &format!("/console/staff/{owner_id}/role"),
        &[("role", "viewer")],
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);

    // Staff and viewers: no forms, and a forged post is 403.
    for role in ["staff", "viewer"] {
        let mut b = staff_console(&app, "acme", role).await;
        let page = b.get("/console/staff").await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(!page.body.contains("/role\""), "{role}");
        assert!(!page.body.contains("Change role"), "{role}");
        let forged = submit(
            &mut b,
            &page,
            &format!("/console/staff/{staff_id}/role"),
            &[("role", "admin")],
        )
        .await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN, "{role}");
        assert!(forged.body.contains("staff:write"));
    }
    assert_eq!(staff_list(&app, "acme", &owner).await, list);
    app.stop().await;
}
