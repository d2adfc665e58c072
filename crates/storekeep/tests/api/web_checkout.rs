//! The storefront's checkout (`/checkout`) and order pages (`/orders/{id}`)
//! through HTTP as a browser without JavaScript uses them.

use crate::web_browser::{Browser, admin_orders, two_product_shop};
use crate::web_support::{host, web_app};

/// Reloads the order page (as its refresh does) until it shows `status`.
async fn until_status(b: &mut Browser, path: &str, status: &str) -> String {
    for _ in 0..100 {
        let page = b.get(path).await;
        assert_eq!(page.status, 200, "{}", page.body);
        if page.body.contains(&format!("<strong>{status}</strong>")) {
            return page.body;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the order never showed {status}");
}

#[tokio::test]
async fn a_guest_adds_two_items_pays_with_the_test_provider_and_sees_the_paid_order() {
    let app = web_app().await;
    let (s, dock) = two_product_shop(&app, "acme").await;
    let mut b = Browser::new(&app, &host("acme"));
    b.add(&s.variant, "1").await;
    b.add(&dock, "1").await;

    let form = b.checkout_form("test").await;
    let placed = b.post_owned("/checkout", &form).await;
    assert_eq!(placed.status, 303, "{}", placed.body);
    let to = placed.location.clone().unwrap();
    assert!(to.starts_with("/orders/") && to.contains("?k="), "{to}");

    let page = b.follow(placed).await;
    assert!(page.body.contains("Refurbished ThinkPad") && page.body.contains("USB-C Dock"));
    assert!(page.body.contains("Springfield"), "{}", page.body);
    let paid = until_status(&mut b, &to, "Paid").await;
    let orders = admin_orders(&app, "acme", &s.token).await;
    assert_eq!(orders.len(), 1);
    // The total the page shows is the order's (goods 69.99, shipping, tax).
    let total = orders[0]["total"]["amount"].as_i64().unwrap();
    assert!(total > 6999 + 500, "{total}");
    let shown = format!("${}.{:02}", total / 100, total % 100);
    assert!(paid.contains(&shown), "{shown}: {paid}");
    assert_eq!(orders[0]["status"], "paid");
    assert_eq!(orders[0]["email"], "ann@example.com");
    assert!(to.contains(orders[0]["id"].as_str().unwrap()));

    // The cart is spent: the next visit shows an empty one.
    let cart = b.get("/cart").await;
    assert!(cart.body.contains("Your cart is empty"), "{}", cart.body);
}

#[tokio::test]
async fn a_double_submit_of_the_checkout_form_makes_one_order() {
    let app = web_app().await;
    let (s, _) = two_product_shop(&app, "acme").await;
    let mut b = Browser::new(&app, &host("acme"));
    b.add(&s.variant, "2").await;
    let form = b.checkout_form("manual").await;
    let first = b.post_owned("/checkout", &form).await;
    let second = b.post_owned("/checkout", &form).await;
    assert_eq!(first.status, 303, "{}", first.body);
    assert_eq!(second.status, 303, "{}", second.body);
    assert_eq!(
        first.location, second.location,
        "both lead to the one order"
    );
    assert_eq!(admin_orders(&app, "acme", &s.token).await.len(), 1);
    // 2 reserved, once.
    let (on_hand, reserved) = crate::commerce_support::stock(&app, &s).await;
    assert_eq!((on_hand, reserved), (10, 2));

    // A newly rendered form is a new checkout: the cart is spent now.
    let again = b.get("/checkout").await;
    assert!(again.body.contains("Your cart is empty"), "{}", again.body);
}

#[tokio::test]
async fn a_checkout_form_with_problems_comes_back_with_field_messages_and_orders_nothing() {
    let app = web_app().await;
    let (s, _) = two_product_shop(&app, "acme").await;
    let mut b = Browser::new(&app, &host("acme"));
    b.add(&s.variant, "1").await;
    let mut form = b.checkout_form("test").await;
    for (k, v) in form.iter_mut() {
        match *k {
            "name" => *v = String::new(),
            "country" => *v = "Atlantis".into(),
            "email" => *v = "not an email".into(),
            "shipping_method" => *v = "teleport".into(),
            _ => {}
        }
    }
    let page = b.post_owned("/checkout", &form).await;
    assert_eq!(page.status, 422, "{}", page.body);
    for field in ["name", "country", "email"] {
        assert!(
            page.body.contains(&format!("id=\"{field}-error\"")),
            "{field}: {}",
            page.body
        );
    }
    assert!(page.body.contains("shipping_method-error"));
    assert!(page.body.contains("aria-invalid=\"true\""));
    // What the customer typed is kept (escaped).
    assert!(page.body.contains("value=\"Atlantis\""));
    assert!(admin_orders(&app, "acme", &s.token).await.is_empty());
    // A fresh key for the next attempt.
    let key = page.input("idempotency_key").unwrap();
    assert_ne!(key, form[1].1);
}

#[tokio::test]
async fn a_guest_cannot_open_another_guests_order() {
    let app = web_app().await;
    let (s, dock) = two_product_shop(&app, "acme").await;
    let mut ann = Browser::new(&app, &host("acme"));
    ann.add(&s.variant, "1").await;
    let form = ann.checkout_form("manual").await;
    let anns = ann.post_owned("/checkout", &form).await.location.unwrap();
    let (anns_path, anns_key) = anns.split_once("?k=").unwrap();
    // Ann sees hers by the link and by her cart cookie.
    assert_eq!(ann.get(&anns).await.status, 200);
    assert_eq!(ann.get(anns_path).await.status, 200);

    let mut bob = Browser::new(&app, &host("acme"));
    bob.add(&dock, "1").await;
    let form = bob.checkout_form("manual").await;
    let bobs = bob.post_owned("/checkout", &form).await.location.unwrap();
    let (_, bobs_key) = bobs.split_once("?k=").unwrap();

    for path in [
        anns_path.to_owned(),
        format!("{anns_path}?k={bobs_key}"),
        format!("{anns_path}?k=forged"),
        format!("{anns_path}?k="),
    ] {
        let page = bob.get(&path).await;
        assert_eq!(page.status, 404, "{path}: {}", page.body);
        assert!(!page.body.contains("Refurbished ThinkPad"));
    }
    // The link is for this shop only.
    two_product_shop(&app, "globex").await;
    let mut elsewhere = Browser::new(&app, &host("globex"));
    let page = elsewhere.get(&format!("{anns_path}?k={anns_key}")).await;
    assert_eq!(page.status, 404);
}

#[tokio::test]
async fn a_signed_in_customer_checks_out_and_finds_the_order_in_the_account() {
    let app = web_app().await;
    let (s, _) = two_product_shop(&app, "acme").await;
    let mut b = Browser::new(&app, &host("acme"));
    crate::web_session::sign_up(&mut b, "ann@example.com").await;
    let empty = b.get("/account").await;
    assert!(empty.body.contains("No orders yet"), "{}", empty.body);
    b.add(&s.variant, "1").await;
    let checkout = b.get("/checkout").await;
    assert_eq!(
        checkout.input("email").as_deref(),
        Some("ann@example.com"),
        "prefilled"
    );
    let form = b.checkout_form("manual").await;
    let to = b.post_owned("/checkout", &form).await.location.unwrap();
    let (path, _) = to.split_once("?k=").unwrap();

    let orders = admin_orders(&app, "acme", &s.token).await;
    assert_eq!(orders.len(), 1);
    assert!(orders[0]["customer_id"].is_string(), "the customer's order");
    // The session opens it, no link key needed, and the account lists it.
    assert_eq!(b.get(path).await.status, 200);
    let account = b.get("/account").await;
    assert!(
        account.body.contains(&format!("href=\"{path}\"")),
        "{}",
        account.body
    );
    assert!(account.body.contains("Waiting for payment"));
}
