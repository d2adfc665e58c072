//! The storefront's cart page (`/cart`) and its forms, through HTTP as a
//! browser without JavaScript uses them.

use crate::web_browser::{Browser, two_product_shop};
use crate::web_support::{host, web_app};

#[tokio::test]
async fn a_guest_fills_a_cart_changes_it_and_sees_the_totals_priced() {
    let app = web_app().await;
    let (s, dock) = two_product_shop(&app, "acme").await;
    let mut b = Browser::new(&app, &host("acme"));

    let empty = b.get("/cart").await;
    assert_eq!(empty.status, 200);
    assert!(empty.body.contains("Your cart is empty"), "{}", empty.body);
    assert!(!b.jar.contains_key("__Host-sk_cart"));

    let added = b.add(&s.variant, "2").await;
    assert_eq!(added.status, 303, "{}", added.body);
    assert_eq!(added.location.as_deref(), Some("/cart"));
    assert!(b.jar.contains_key("__Host-sk_cart"), "a cart cookie");
    let page = b.follow(added).await;
    assert!(page.body.contains("Refurbished ThinkPad"), "{}", page.body);
    b.add(&dock, "1").await;
    let page = b.get("/cart").await;
    assert!(page.body.contains("USB-C Dock"));
    // 2 × 19.99 + 50.00, computed by the pricing service.
    assert!(page.body.contains("$89.98"), "{}", page.body);
    assert!(
        page.body.contains("<span class=\"badge\">3</span>"),
        "header count"
    );

    let cart = b.api_cart(&app, "acme").await;
    assert_eq!(cart["total"]["amount"], 8998);
    let line = |title: &str| {
        cart["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| {
                l["title"].as_str().unwrap().contains(title)
                    || l["sku"].as_str().unwrap().contains(title)
            })
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (laptop, dock_line) = (line("-TP"), line("-DOCK"));

    let csrf = page.csrf();
    let changed = b
        .post(
            &format!("/cart/items/{dock_line}"),
            &[("csrf", &csrf), ("quantity", "3")],
        )
        .await;
    assert_eq!(changed.status, 303, "{}", changed.body);
    assert!(b.get("/cart").await.body.contains("$189.98"));

    // A bad quantity: the page again with the problem, the cart unchanged.
    let bad = b
        .post(
            &format!("/cart/items/{dock_line}"),
            &[("csrf", &csrf), ("quantity", "lots")],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("must be a whole number"), "{}", bad.body);
    let too_many = b
        .post(
            &format!("/cart/items/{dock_line}"),
            &[("csrf", &csrf), ("quantity", "5000")],
        )
        .await;
    assert_eq!(too_many.status, 422, "{}", too_many.body);
    assert_eq!(b.api_cart(&app, "acme").await["total"]["amount"], 18998);

    // A line that is not in this cart: not found, nothing changed.
    let missing = b
        .post(
            "/cart/items/0190aaaa-0000-7000-8000-000000000000/remove",
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(missing.status, 404);

    let removed = b
        .post(&format!("/cart/items/{laptop}/remove"), &[("csrf", &csrf)])
        .await;
    assert_eq!(removed.status, 303);
    let cart = b.api_cart(&app, "acme").await;
    assert_eq!(cart["items"].as_array().unwrap().len(), 1);
    assert_eq!(cart["total"]["amount"], 15000);

    // A coupon the shop does not have is kept and named as unknown.
    let coupon = b
        .post("/cart/coupon", &[("csrf", &csrf), ("coupon_code", "NOPE")])
        .await;
    assert_eq!(coupon.status, 303, "{}", coupon.body);
    let page = b.get("/cart").await;
    assert!(page.body.contains("NOPE"), "{}", page.body);
    b.post("/cart/coupon", &[("csrf", &csrf), ("coupon_code", "")])
        .await;
    assert!(b.api_cart(&app, "acme").await["coupon_code"].is_null());
}

#[tokio::test]
async fn an_unknown_variant_is_a_field_problem_and_no_cart_is_made() {
    let app = web_app().await;
    two_product_shop(&app, "acme").await;
    let mut b = Browser::new(&app, &host("acme"));
    let csrf = b.token().await;
    for variant in ["not-a-uuid", "0190aaaa-0000-7000-8000-000000000000"] {
        let page = b
            .post(
                "/cart/items",
                &[("csrf", &csrf), ("variant_id", variant), ("quantity", "1")],
            )
            .await;
        assert_eq!(page.status, 422, "{variant}: {}", page.body);
        assert!(page.body.contains("variant id"), "{}", page.body);
    }
    assert!(!b.jar.contains_key("__Host-sk_cart"), "no cart was made");
}
