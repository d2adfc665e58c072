//! The console's webhooks screen: endpoints listed and created, the
//! signing secret shown once, refusals for roles without the permission.

use reqwest::{Method, StatusCode};
use serde_json::Value;
use storekeep_test_support::{TestApp, spawn_app_with};

use crate::console_support::{staff_console, staffed_shop, submit};
use crate::identity::admin;
use crate::web_support::BASE;

/// A console server that accepts endpoints on 127.0.0.1.
async fn app() -> TestApp {
    spawn_app_with(|s| {
        s.base_domain = Some(storekeep_domain::DomainName::parse(BASE).unwrap());
        s.webhooks.allow_networks = vec!["127.0.0.1/32".parse().unwrap()];
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
