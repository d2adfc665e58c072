//! The console's deals and coupons: a coupon made in the console works in
//! a cart; refused input names its field and creates nothing; ending and
//! deleting; what a viewer sees and may post; another shop's deal.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use storekeep_test_support::TestApp;

use crate::catalog_support::body;
use crate::commerce_support::{Shop, create_deal, selling_shop};
use crate::console_support::{staff_console, submit, web_app};
use crate::deals::cart_with_coupon;
use crate::identity::{admin, cli_staff};
use crate::web_support::get_at;

async fn api_deals(app: &TestApp, s: &Shop) -> Vec<Value> {
    let resp = admin(app, &s.slug, &s.token, Method::GET, "/api/v1/admin/deals")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    body(resp).await["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn console_coupon_created_in_the_console_discounts_a_cart() {
    let app = web_app().await;
    let s = selling_shop(&app, "cdeal", 10_000, 10).await;
    let mut b = staff_console(&app, "cdeal", "owner").await;
    let list = b.get("/console/deals").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert!(list.body.contains("No deals yet."));
    let form = b.get("/console/deals/new").await;
    assert_eq!(form.status, StatusCode::OK);
    let cookie: Vec<String> = b.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
    for path in ["/console/deals", "/console/deals/new"] {
        let page = get_at(&app, &b.host, path, &[("cookie", &cookie.join("; "))]).await;
        assert_eq!(page.status, 200);
        page.assert_safe();
    }
    let done = submit(
        &mut b,
        &form,
        "/console/deals/new",
        &[
            ("name", "Ten off"),
            ("code", "save10"),
            ("kind", "percent"),
            ("value", "10"),
            ("max_uses", "100"),
        ],
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let list = b.follow(done).await;
    assert!(list.body.contains("The deal was created."));
    assert!(list.body.contains("SAVE10"), "{}", list.body);
    assert!(list.body.contains("10 % off"));
    assert!(list.body.contains("0 of 100"));

    let (_, _, cart) = cart_with_coupon(&app, &s, 1, "SAVE10").await;
    assert_eq!(cart["discount"]["amount"], 1000, "{cart}");

    // An amount off, automatic (no code), that ends at a set time.
    let form = b.get("/console/deals/new").await;
    let done = submit(
        &mut b,
        &form,
        "/console/deals/new",
        &[
            ("name", "Five dollars"),
            ("kind", "amount"),
            ("value", "5.00"),
            ("ends_at", "2099-01-01T00:00"),
        ],
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let deals = api_deals(&app, &s).await;
    let five = deals.iter().find(|d| d["name"] == "Five dollars").unwrap();
    assert_eq!(five["amount_off"]["amount"], 500);
    assert!(five["code"].is_null());
    assert!(
        five["ends_at"]
            .as_str()
            .unwrap()
            .starts_with("2099-01-01T00:00:00")
    );
}

#[tokio::test]
async fn console_invalid_coupon_input_names_the_field_and_creates_nothing() {
    let app = web_app().await;
    let s = selling_shop(&app, "cbad", 10_000, 10).await;
    let mut b = staff_console(&app, "cbad", "owner").await;
    let form = b.get("/console/deals/new").await;
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[
                ("name", "Too much"),
                ("code", "BIG"),
                ("kind", "percent"),
                ("value", "150"),
            ],
            "value",
        ),
        (
            &[
                ("name", "Typo"),
                ("code", "TYPO"),
                ("kind", "amount"),
                ("value", "five"),
            ],
            "value",
        ),
        (
            &[
                ("name", "Backwards"),
                ("code", "BACK"),
                ("kind", "percent"),
                ("value", "10"),
                ("starts_at", "2030-02-01T00:00"),
                ("ends_at", "2030-01-01T00:00"),
            ],
            "ends_at",
        ),
        (
            &[
                ("name", "Bad date"),
                ("kind", "percent"),
                ("value", "10"),
                ("starts_at", "tomorrow"),
            ],
            "starts_at",
        ),
        (
            &[
                ("name", " "),
                ("code", "NONAME"),
                ("kind", "percent"),
                ("value", "10"),
            ],
            "name",
        ),
        (
            &[
                ("name", "Capped"),
                ("code", "CAP"),
                ("kind", "percent"),
                ("value", "10"),
                ("max_uses", "0"),
            ],
            "max_uses",
        ),
    ];
    for (fields, field) in cases {
        let page = submit(&mut b, &form, "/console/deals/new", fields).await;
        assert_eq!(
            page.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{fields:?}: {}",
            page.body
        );
        assert!(
            page.body.contains(&format!("id=\"{field}-error\"")),
            "{fields:?} should name {field}: {}",
            page.body
        );
        assert!(page.body.contains("aria-invalid=\"true\""));
        assert!(page.body.contains("role=\"alert\""));
    }
    assert!(api_deals(&app, &s).await.is_empty());
}

#[tokio::test]
async fn console_ends_and_deletes_deals_and_a_viewer_may_not() {
    let app = web_app().await;
    let s = selling_shop(&app, "cend", 10_000, 10).await;
    let other = selling_shop(&app, "cendx", 10_000, 10).await;
    cli_staff(&app, "cend", "viewer@cend.example", "viewer").await;
    let deal = create_deal(
        &app,
        &s,
        json!({"name": "Spring", "percent_off": 15, "applies_to": "order", "code": "SPRING"}),
    )
    .await;
    let theirs = create_deal(
        &app,
        &other,
        json!({"name": "Theirs", "percent_off": 15, "applies_to": "order", "code": "THEIRS"}),
    )
    .await;
    let id = deal["id"].as_str().unwrap();
    let theirs = theirs["id"].as_str().unwrap();

    // The viewer sees the deal but no button, and a forged post is refused.
    let mut v = staff_console(&app, "cend", "viewer").await;
    let seen = v.get("/console/deals").await;
    assert_eq!(seen.status, StatusCode::OK);
    assert!(seen.body.contains("SPRING"));
    assert!(!seen.body.contains("End now") && !seen.body.contains("Delete"));
    assert!(!seen.body.contains("New coupon"));
    for path in [
        format!("/console/deals/{id}/end"),
        format!("/console/deals/{id}/delete"),
        "/console/deals/new".to_owned(),
    ] {
        let forged = submit(
            &mut v,
            &seen,
            &path,
            &[("name", "X"), ("kind", "percent"), ("value", "5")],
        )
        .await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN, "{path}");
    }
    let deals = api_deals(&app, &s).await;
    assert_eq!(deals.len(), 1);
    assert_eq!(deals[0]["state"], "live");

    let mut b = staff_console(&app, "cend", "owner").await;
    let list = b.get("/console/deals").await;
    // Another shop's deal: 404, and it stays.
    for path in [
        format!("/console/deals/{theirs}/end"),
        format!("/console/deals/{theirs}/delete"),
    ] {
        let page = submit(&mut b, &list, &path, &[]).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
    }
    assert_eq!(api_deals(&app, &other).await[0]["state"], "live");

    let ended = submit(&mut b, &list, &format!("/console/deals/{id}/end"), &[]).await;
    assert_eq!(ended.status, StatusCode::SEE_OTHER, "{}", ended.body);
    let list = b.follow(ended).await;
    assert!(list.body.contains("The deal was ended."));
    assert_eq!(api_deals(&app, &s).await[0]["state"], "ended");
    let deleted = submit(&mut b, &list, &format!("/console/deals/{id}/delete"), &[]).await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER);
    assert!(api_deals(&app, &s).await.is_empty());
}
