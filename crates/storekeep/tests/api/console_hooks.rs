//! The console's webhooks and email screens: endpoints listed and
//! created, the signing secret shown once; an endpoint disabled, enabled,
//! deleted and its secret rotated; its delivery log with real deliveries
//! to a receiver that verifies signatures independently
//! (`webhook_support::Receiver`), replay and the test event; refusals for
//! roles without the permission and for another shop's endpoint; every
//! email template's preview.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use storekeep_test_support::{TestApp, spawn_app_with};

use crate::commerce_support::{Shop, order_of, selling_shop};
use crate::console_support::{SESSION, staff_console, staffed_shop, submit};
use crate::identity::{admin, cli_staff};
use crate::web_browser::{Browser, Page};
use crate::web_support::{BASE, get_at};
use crate::webhook_support::Receiver;

/// A console server that accepts endpoints on 127.0.0.1 and runs its
/// delivery jobs promptly.
async fn app() -> TestApp {
    spawn_app_with(|s| {
        s.base_domain = Some(storekeep_domain::DomainName::parse(BASE).unwrap());
        s.webhooks.allow_networks = vec!["127.0.0.1/32".parse().unwrap()];
        s.jobs.poll_interval = Duration::from_millis(100);
    })
    .await
}

/// The shop's endpoints as the admin API lists them.
async fn endpoints(app: &TestApp, slug: &str, owner: &str) -> Vec<Value> {
    let r = admin(app, slug, owner, Method::GET, "/api/v1/admin/webhooks")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    v["items"].as_array().unwrap().clone()
}

/// The text of the element `id="{id}"` (up to its first `<`).
fn text_of(body: &str, id: &str) -> String {
    let needle = format!("id=\"{id}\">");
    let at = body
        .find(&needle)
        .unwrap_or_else(|| panic!("no #{id}: {body}"))
        + needle.len();
    body[at..at + body[at..].find('<').unwrap()].to_owned()
}

#[tokio::test]
async fn console_webhook_created_in_the_console_is_listed_and_its_secret_shown_once() {
    let app = app().await;
    let owner = staffed_shop(&app, "hooks-a").await;
    let mut b = staff_console(&app, "hooks-a", "admin").await;
    let list = b.get("/console/webhooks").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert!(list.body.contains("No endpoints yet."));
    assert!(!list.body.contains("style=") && !list.body.contains("<script"));
    let done = submit(
        &mut b,
        &list,
        "/console/webhooks",
        &[
            ("url", "http://127.0.0.1:9/hook"),
            ("description", "ERP"),
            ("event", "order.paid"),
        ],
    )
    .await;
    assert_eq!(done.status, StatusCode::CREATED, "{}", done.body);
    let secret = text_of(&done.body, "new-secret");
    assert!(secret.len() >= 16, "{secret}");

    let listed = endpoints(&app, "hooks-a", &owner).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["url"], "http://127.0.0.1:9/hook");
    assert_eq!(listed[0]["events"], serde_json::json!(["order.paid"]));

    let again = b.get("/console/webhooks").await;
    assert_eq!(again.status, StatusCode::OK);
    assert!(again.body.contains("http://127.0.0.1:9/hook"));
    assert!(!again.body.contains(&secret), "the secret is shown again");
}

#[tokio::test]
async fn console_webhook_with_an_invalid_url_is_refused_beside_the_field() {
    let app = app().await;
    let owner = staffed_shop(&app, "hooks-b").await;
    let mut b = staff_console(&app, "hooks-b", "owner").await;
    let list = b.get("/console/webhooks").await;
    let refused = submit(
        &mut b,
        &list,
        "/console/webhooks",
        &[("url", "ftp://nowhere")],
    )
    .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert!(refused.body.contains("aria-describedby=\"hook-url-error\""));
    assert!(text_of(&refused.body, "hook-url-error").contains("https://"));
    assert!(!refused.body.contains("new-secret"));
    let bad_event = submit(
        &mut b,
        &list,
        "/console/webhooks",
        &[("url", "http://127.0.0.1:9/hook"), ("event", "no.such")],
    )
    .await;
    assert_eq!(bad_event.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad_event.body.contains("hook-events-error"));
    assert!(endpoints(&app, "hooks-b", &owner).await.is_empty());
}

#[tokio::test]
async fn console_webhooks_are_read_only_for_staff_and_viewers_even_by_a_forged_post() {
    let app = app().await;
    let owner = staffed_shop(&app, "hooks-c").await;
    for role in ["staff", "viewer"] {
        let mut b = staff_console(&app, "hooks-c", role).await;
        let list = b.get("/console/webhooks").await;
        assert_eq!(list.status, StatusCode::OK, "{role}");
        assert!(
            !list.body.contains("action=\"/console/webhooks\""),
            "{role}"
        );
        let forged = submit(
            &mut b,
            &list,
            "/console/webhooks",
            &[("url", "http://127.0.0.1:9/hook")],
        )
        .await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN, "{role}");
    }
    assert!(endpoints(&app, "hooks-c", &owner).await.is_empty());
}

/// An endpoint registered through the admin API: (id, secret).
async fn api_endpoint(app: &TestApp, slug: &str, owner: &str, url: &str) -> (String, String) {
    let r = admin(app, slug, owner, Method::POST, "/api/v1/admin/webhooks")
        .json(&json!({"webhook": {"url": url, "events": ["order.created"]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    (
        v["webhook"]["id"].as_str().unwrap().to_owned(),
        v["secret"].as_str().unwrap().to_owned(),
    )
}

/// One endpoint as the admin API shows it (`None`: not found).
async fn api_get(app: &TestApp, slug: &str, owner: &str, id: &str) -> Option<Value> {
    let r = admin(
        app,
        slug,
        owner,
        Method::GET,
        &format!("/api/v1/admin/webhooks/{id}"),
    )
    .send()
    .await
    .unwrap();
    if r.status() == 404 {
        return None;
    }
    assert_eq!(r.status(), 200);
    Some(r.json::<Value>().await.unwrap()["webhook"].clone())
}

/// The endpoint's delivery attempts as the admin API lists them.
async fn api_deliveries(app: &TestApp, slug: &str, owner: &str, id: &str) -> Vec<Value> {
    let r = admin(
        app,
        slug,
        owner,
        Method::GET,
        &format!("/api/v1/admin/webhooks/{id}/deliveries"),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    r.json::<Value>().await.unwrap()["items"]
        .as_array()
        .unwrap()
        .clone()
}

/// A shop selling one product, with an admin, a staff member and a viewer
/// (`{role}@{slug}.example`) besides the owner.
async fn selling_staffed_shop(app: &TestApp, slug: &str) -> Shop {
    let s = selling_shop(app, slug, 5_000, 50).await;
    for role in ["admin", "staff", "viewer"] {
        cli_staff(app, slug, &format!("{role}@{slug}.example"), role).await;
    }
    s
}

/// The endpoint's console page, fetched until it holds `needle` (attempts
/// are recorded just after the receiver answers), within 20 s.
async fn page_until(b: &mut Browser, path: &str, needle: &str) -> Page {
    let end = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let p = b.get(path).await;
        assert_eq!(p.status, StatusCode::OK, "{}", p.body);
        if p.body.contains(needle) {
            return p;
        }
        assert!(
            std::time::Instant::now() < end,
            "{path} never showed {needle}: {}",
            p.body
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Fetches `path` with the browser's session and checks the page's
/// headers and body (CSP, no inline style or script, `no-store`).
async fn assert_safe(app: &TestApp, b: &Browser, path: &str) -> crate::web_support::Page {
    let cookie = format!("{SESSION}={}", b.jar[SESSION]);
    let page = get_at(app, &b.host, path, &[("cookie", &cookie)]).await;
    assert_eq!(page.status, 200, "{path}: {}", page.body);
    assert_eq!(page.header("cache-control"), "no-store");
    page.assert_safe();
    page
}

#[tokio::test]
async fn console_endpoint_disabled_gets_no_deliveries_until_enabled_again() {
    let Some(rx) = Receiver::start() else {
        return;
    };
    let app = app().await;
    let s = selling_staffed_shop(&app, "hooks-d").await;
    let (id, secret) = api_endpoint(&app, "hooks-d", &s.token, &rx.url("/ok")).await;
    // Another endpoint keeps receiving: it shows when the events went out.
    let (_, other) = api_endpoint(&app, "hooks-d", &s.token, &rx.url("/status/200")).await;
    rx.secrets(&[&secret, &other]).await;
    let mut b = staff_console(&app, "hooks-d", "admin").await;
    let path = format!("/console/webhooks/{id}");

    let shown = b.get(&path).await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.body);
    assert!(shown.body.contains("No deliveries yet."));
    assert!(
        shown
            .body
            .contains("<button type=\"submit\">Disable</button>")
    );
    let done = submit(
        &mut b,
        &shown,
        &format!("{path}/status"),
        &[("status", "disabled")],
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let after = b.follow(done).await;
    assert!(
        after.body.contains("The endpoint was disabled"),
        "{}",
        after.body
    );
    assert!(
        after
            .body
            .contains("<button type=\"submit\">Enable</button>")
    );
    let api = api_get(&app, "hooks-d", &s.token, &id).await.unwrap();
    assert_eq!(api["status"], "disabled");

    let first = order_of(&app, &s, 1).await;
    let got = rx.wait_for(1, Duration::from_secs(20)).await;
    assert_eq!(got[0]["path"], "/status/200");
    assert_eq!(
        got[0]["body"]["data"]["order_id"], first["id"],
        "{}",
        got[0]
    );

    // A status the API does not know: refused at the top, nothing changed.
    let bad = submit(
        &mut b,
        &after,
        &format!("{path}/status"),
        &[("status", "paused")],
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(bad.body.contains("role=\"alert\""));
    assert!(
        bad.body.contains("must be enabled or disabled"),
        "{}",
        bad.body
    );
    let api = api_get(&app, "hooks-d", &s.token, &id).await.unwrap();
    assert_eq!(api["status"], "disabled");

    let done = submit(
        &mut b,
        &after,
        &format!("{path}/status"),
        &[("status", "enabled")],
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(
        api_get(&app, "hooks-d", &s.token, &id).await.unwrap()["status"],
        "enabled"
    );
    let second = order_of(&app, &s, 1).await;
    let got = rx.wait_for(3, Duration::from_secs(20)).await;
    let to_it: Vec<&Value> = got.iter().filter(|r| r["path"] == "/ok").collect();
    assert_eq!(to_it.len(), 1, "{got:?}");
    assert_eq!(to_it[0]["body"]["data"]["order_id"], second["id"]);
    assert_eq!(to_it[0]["verified"], json!([true, false]));
    // The log shows that one delivery, and nothing of the disabled time.
    let shown = page_until(&mut b, &path, "succeeded").await;
    assert!(shown.body.contains("order.created"));
    let log = api_deliveries(&app, "hooks-d", &s.token, &id).await;
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0]["event_id"], to_it[0]["headers"]["webhook-id"]);
}

#[tokio::test]
async fn console_endpoint_log_shows_a_delivery_replays_it_and_sends_a_test_event() {
    let Some(rx) = Receiver::start() else {
        return;
    };
    let app = app().await;
    let s = selling_staffed_shop(&app, "hooks-e").await;
    let mut b = staff_console(&app, "hooks-e", "admin").await;
    let list = b.get("/console/webhooks").await;
    let created = submit(
        &mut b,
        &list,
        "/console/webhooks",
        &[("url", &rx.url("/ok")), ("event", "order.created")],
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    rx.secrets(&[&text_of(&created.body, "new-secret")]).await;
    let listed = endpoints(&app, "hooks-e", &s.token).await;
    let id = listed[0]["id"].as_str().unwrap().to_owned();
    let path = format!("/console/webhooks/{id}");
    let list = b.get("/console/webhooks").await;
    assert!(
        list.body.contains(&format!("href=\"{path}\"")),
        "{}",
        list.body
    );

    let order = order_of(&app, &s, 1).await;
    let got = rx.wait_for(1, Duration::from_secs(20)).await;
    assert_eq!(got[0]["verified"], json!([true]));
    assert_eq!(got[0]["body"]["data"]["order_id"], order["id"]);
    let event = got[0]["headers"]["webhook-id"].as_str().unwrap().to_owned();
    let shown = page_until(&mut b, &path, "succeeded").await;
    for cell in ["order.created", &event, "<td>200</td>", "<td>1</td>"] {
        assert!(shown.body.contains(cell), "{cell}: {}", shown.body);
    }
    assert!(shown.body.contains(&format!("action=\"{path}/replay\"")));

    let replayed = submit(
        &mut b,
        &shown,
        &format!("{path}/replay"),
        &[("event_id", &event)],
    )
    .await;
    assert_eq!(replayed.status, StatusCode::SEE_OTHER, "{}", replayed.body);
    assert_eq!(
        replayed.location.as_deref(),
        Some(&*format!("{path}?done=replayed"))
    );
    let got = rx.wait_for(2, Duration::from_secs(20)).await;
    assert_eq!(got[1]["headers"]["webhook-id"], event.as_str());
    assert_eq!(
        got[1]["body"], got[0]["body"],
        "the same event, the same body"
    );
    assert_eq!(got[1]["verified"], json!([true]));

    // An event id that is not one: refused at the top; nothing sent.
    let bad = submit(
        &mut b,
        &shown,
        &format!("{path}/replay"),
        &[("event_id", "nope")],
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(
        bad.body.contains("is not the id of one of the shop"),
        "{}",
        bad.body
    );

    let tested = submit(&mut b, &shown, &format!("{path}/test"), &[]).await;
    assert_eq!(tested.status, StatusCode::SEE_OTHER, "{}", tested.body);
    let after = b.follow(tested).await;
    assert!(
        after.body.contains("A test event was sent"),
        "{}",
        after.body
    );
    assert!(after.body.contains("webhook.test"));
    let got = rx.wait_for(3, Duration::from_secs(20)).await;
    let test = got
        .iter()
        .find(|r| r["body"]["type"] == "webhook.test")
        .expect("the test event");
    assert_eq!(test["body"]["data"]["endpoint_id"], id.as_str());
    assert_eq!(test["verified"], json!([true]));
    // Three deliveries in all: the order, its replay, the test.
    let shown = page_until(&mut b, &path, "webhook.test").await;
    assert_eq!(
        api_deliveries(&app, "hooks-e", &s.token, &id).await.len(),
        3
    );
    assert_eq!(rx.received().await.len(), 3);
    assert!(shown.body.contains("Send again"));

    // A cursor that is not one is a 400 page, not a 500.
    let broken = b.get(&format!("{path}?after=garbage")).await;
    assert_eq!(broken.status, StatusCode::BAD_REQUEST, "{}", broken.body);
    assert_safe(&app, &b, &path).await;
}

#[tokio::test]
async fn console_rotated_secret_is_shown_once_and_alone_signs_afterwards() {
    let Some(rx) = Receiver::start() else {
        return;
    };
    // No overlap: the replaced secret stops signing at once.
    let app = spawn_app_with(|s| {
        s.base_domain = Some(storekeep_domain::DomainName::parse(BASE).unwrap());
        s.webhooks.allow_networks = vec!["127.0.0.1/32".parse().unwrap()];
        s.webhooks.rotation_overlap = Duration::ZERO;
    })
    .await;
    let owner = staffed_shop(&app, "hooks-f").await;
    let (id, old) = api_endpoint(&app, "hooks-f", &owner, &rx.url("/ok")).await;
    let mut b = staff_console(&app, "hooks-f", "owner").await;
    let path = format!("/console/webhooks/{id}");
    let shown = b.get(&path).await;
    let rotated = submit(&mut b, &shown, &format!("{path}/rotate"), &[]).await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
    let new = text_of(&rotated.body, "new-secret");
    assert!(new.starts_with("whsec_"), "{new}");
    assert_ne!(new, old);
    let again = b.get(&path).await;
    assert!(!again.body.contains(&new), "the secret is shown again");
    assert!(!again.body.contains("new-secret"));
    let api = api_get(&app, "hooks-f", &owner, &id).await.unwrap();
    assert!(api["previous_secret_expires_at"].is_string(), "{api}");

    rx.secrets(&[&old, &new]).await;
    let tested = submit(&mut b, &again, &format!("{path}/test"), &[]).await;
    assert_eq!(tested.status, StatusCode::SEE_OTHER, "{}", tested.body);
    let got = rx.wait_for(1, Duration::from_secs(20)).await;
    assert_eq!(got[0]["verified"], json!([false, true]), "{}", got[0]);
    let signatures = got[0]["headers"]["webhook-signature"].as_str().unwrap();
    assert_eq!(signatures.split(' ').count(), 1, "{signatures}");
}

#[tokio::test]
async fn console_endpoint_deleted_is_gone_from_the_api() {
    let app = app().await;
    let owner = staffed_shop(&app, "hooks-g").await;
    let (id, _) = api_endpoint(&app, "hooks-g", &owner, "http://127.0.0.1:9/hook").await;
    let (kept, _) = api_endpoint(&app, "hooks-g", &owner, "http://127.0.0.1:9/kept").await;
    let mut b = staff_console(&app, "hooks-g", "admin").await;
    let path = format!("/console/webhooks/{id}");
    let shown = b.get(&path).await;
    assert!(shown.body.contains(&format!("action=\"{path}/delete\"")));
    let done = submit(&mut b, &shown, &format!("{path}/delete"), &[]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(
        done.location.as_deref(),
        Some("/console/webhooks?done=deleted")
    );
    let list = b.follow(done).await;
    assert!(
        list.body.contains("The endpoint was deleted"),
        "{}",
        list.body
    );
    assert!(!list.body.contains("127.0.0.1:9/hook"));
    assert!(list.body.contains("127.0.0.1:9/kept"));
    assert_eq!(api_get(&app, "hooks-g", &owner, &id).await, None);
    assert!(api_get(&app, "hooks-g", &owner, &kept).await.is_some());
    // Deleted twice: there is nothing here.
    let twice = submit(&mut b, &shown, &format!("{path}/delete"), &[]).await;
    assert_eq!(twice.status, StatusCode::NOT_FOUND);
    assert_eq!(b.get(&path).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn console_endpoint_actions_are_refused_without_settings_write_even_forged() {
    let app = app().await;
    let owner = staffed_shop(&app, "hooks-h").await;
    let (id, _) = api_endpoint(&app, "hooks-h", &owner, "http://127.0.0.1:9/hook").await;
    let path = format!("/console/webhooks/{id}");
    let before = api_get(&app, "hooks-h", &owner, &id).await.unwrap();
    for role in ["staff", "viewer"] {
        let mut b = staff_console(&app, "hooks-h", role).await;
        let shown = b.get(&path).await;
        assert_eq!(shown.status, StatusCode::OK, "{role}: {}", shown.body);
        assert!(shown.body.contains("http://127.0.0.1:9/hook"));
        assert!(!shown.body.contains(&format!("action=\"{path}/")), "{role}");
        assert!(!shown.body.contains("Send again"), "{role}");
        for (action, fields) in [
            ("status", &[("status", "disabled")][..]),
            ("rotate", &[][..]),
            ("test", &[][..]),
            (
                "replay",
                &[("event_id", "0190e4a0-0000-7000-8000-000000000000")][..],
            ),
            ("delete", &[][..]),
        ] {
            let forged = submit(&mut b, &shown, &format!("{path}/{action}"), fields).await;
            assert_eq!(forged.status, StatusCode::FORBIDDEN, "{role} {action}");
            assert!(!forged.body.contains("new-secret"), "{role} {action}");
        }
    }
    let after = api_get(&app, "hooks-h", &owner, &id).await.unwrap();
    assert_eq!(after, before, "nothing changed");
    assert!(
        api_deliveries(&app, "hooks-h", &owner, &id)
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn console_another_shops_endpoint_is_not_found() {
    let app = app().await;
    let theirs = staffed_shop(&app, "hooks-i").await;
    staffed_shop(&app, "hooks-j").await;
    let (id, _) = api_endpoint(&app, "hooks-i", &theirs, "http://127.0.0.1:9/hook").await;
    let before = api_get(&app, "hooks-i", &theirs, &id).await.unwrap();
    let mut b = staff_console(&app, "hooks-j", "owner").await;
    let path = format!("/console/webhooks/{id}");
    let own = b.get("/console/webhooks").await;
    assert_eq!(b.get(&path).await.status, StatusCode::NOT_FOUND);
    for (action, fields) in [
        ("status", &[("status", "disabled")][..]),
        ("rotate", &[][..]),
        ("test", &[][..]),
        (
            "replay",
            &[("event_id", "0190e4a0-0000-7000-8000-000000000000")][..],
        ),
        ("delete", &[][..]),
    ] {
        let tried = submit(&mut b, &own, &format!("{path}/{action}"), fields).await;
        assert_eq!(
            tried.status,
            StatusCode::NOT_FOUND,
            "{action}: {}",
            tried.body
        );
    }
    assert_eq!(
        b.get("/console/webhooks/not-an-id").await.status,
        StatusCode::NOT_FOUND
    );
    let after = api_get(&app, "hooks-i", &theirs, &id).await.unwrap();
    assert_eq!(after, before, "nothing changed");
    assert!(
        api_deliveries(&app, "hooks-i", &theirs, &id)
            .await
            .is_empty()
    );
}

/// `raw` as askama escapes text.
fn escaped(raw: &str) -> String {
    raw.replace('&', "&#38;")
        .replace('<', "&#60;")
        .replace('>', "&#62;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

#[tokio::test]
async fn console_email_previews_answer_every_template_with_its_subject() {
    let app = app().await;
    let owner = staffed_shop(&app, "hooks-k").await;
    let r = admin(
        &app,
        "hooks-k",
        &owner,
        Method::GET,
        "/api/v1/admin/email-templates",
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let templates = r.json::<Value>().await.unwrap()["templates"]
        .as_array()
        .unwrap()
        .clone();
    assert!(templates.len() >= 10, "{templates:?}");
    let mut b = staff_console(&app, "hooks-k", "viewer").await;
    let list = b.get("/console/emails").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert!(
        list.body.contains("href=\"/console/emails\""),
        "in the navigation"
    );
    assert_safe(&app, &b, "/console/emails").await;
    for t in &templates {
        let name = t["name"].as_str().unwrap();
        assert!(
            list.body
                .contains(&format!("href=\"/console/emails/{name}\"")),
            "{name}"
        );
        let api: Value = admin(
            &app,
            "hooks-k",
            &owner,
            Method::GET,
            &format!("/api/v1/admin/email-templates/{name}/preview"),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        let page = assert_safe(&app, &b, &format!("/console/emails/{name}")).await;
        let subject = api["subject"].as_str().unwrap();
        assert!(!subject.is_empty(), "{name}");
        assert!(
            page.body
                .contains(&format!("id=\"email-subject\">{}<", escaped(subject))),
            "{name}: {subject}: {}",
            page.body
        );
        // The HTML part escaped into the sandboxed frame, the text part
        // escaped into <pre>.
        let srcdoc = format!("sandbox=\"\" title=\"The HTML part of {name}\" srcdoc=\"");
        let at = page
            .body
            .find(&srcdoc)
            .unwrap_or_else(|| panic!("{name}: {}", page.body));
        let attr = &page.body[at + srcdoc.len()..];
        let attr = &attr[..attr.find('"').unwrap()];
        // The API's HTML part, less its inline styles (which the console's
        // CSP would block inside the frame anyway).
        let html = api["html"].as_str().unwrap();
        let unstyled: String = html
            .split(" style=\"")
            .enumerate()
            .map(|(i, part)| {
                if i == 0 {
                    part
                } else {
                    &part[part.find('"').unwrap() + 1..]
                }
            })
            .collect();
        assert!(
            html.contains(" style=\""),
            "{name}: the email has inline styles"
        );
        assert_eq!(attr, escaped(&unstyled), "{name}");
        assert!(
            page.body.contains(&format!(
                "<pre class=\"email-text\">{}</pre>",
                escaped(api["text"].as_str().unwrap())
            )),
            "{name}"
        );
    }
    assert_eq!(
        b.get("/console/emails/no_such").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn console_endpoint_log_pages_by_keyset_fifty_at_a_time() {
    let app = app().await;
    let owner = staffed_shop(&app, "hooks-l").await;
    // Nothing listens on port 9: every test event is a failed attempt.
    let (id, _) = api_endpoint(&app, "hooks-l", &owner, "http://127.0.0.1:9/hook").await;
    for _ in 0..51 {
        let r = admin(
            &app,
            "hooks-l",
            &owner,
            Method::POST,
            &format!("/api/v1/admin/webhooks/{id}/test"),
        )
        .send()
        .await
        .unwrap();
        assert_eq!(r.status(), 200);
    }
    let mut b = staff_console(&app, "hooks-l", "viewer").await;
    let path = format!("/console/webhooks/{id}");
    let first = b.get(&path).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(first.body.matches("<td>webhook.test<br>").count(), 50);
    assert!(
        first.body.contains("<td>connect</td>"),
        "why there was no answer"
    );
    let at = first.body.find("rel=\"next\"").expect("a next page");
    let href_at = first.body[..at].rfind("href=\"").unwrap() + 6;
    let href = first.body[href_at..href_at + first.body[href_at..].find('"').unwrap()]
        .replace("&#38;", "&");
    assert!(href.starts_with(&format!("{path}?after=")), "{href}");
    let second = b.get(&href).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.body);
    assert_eq!(second.body.matches("<td>webhook.test<br>").count(), 1);
    assert!(!second.body.contains("rel=\"next\""));
}
