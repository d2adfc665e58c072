//! Renting from the storefront (issue 17) through HTTP as a browser without
//! JavaScript uses it: the product page's rent form, the cart's rental
//! line, checkout making the contract, and the account's rental pages —
//! the list, the contract with its schedule, paying an installment (once
//! for a double submit), refusals and declines, another customer's
//! contract, a guest, and a German shop.

use reqwest::Method;
use serde_json::{Value, json};
use storekeep_test_support::{TestApp, spawn_app_with};

use crate::commerce_support::{Shop, accept_test_payments, selling_shop};
use crate::rentals_contract_support::{count, rent_to_own_plan};
use crate::rentals_pay::admin_contract;
use crate::web_browser::{Browser, Page};
use crate::web_support::{BASE, host};

/// A storefront server whose `test` processor answers within 50 ms.
async fn app() -> TestApp {
    spawn_app_with(|s| {
        s.base_domain = Some(storekeep_domain::DomainName::parse(BASE).unwrap());
        s.payments.test_delay = std::time::Duration::from_millis(50);
    })
    .await
}

/// A shop selling a laptop at 1,200.00 (3 in stock) that also rents it on
/// `rent_to_own_plan` (12 × 60.00, a 10 % deposit), `test` payments on.
async fn laptop_shop(app: &TestApp, slug: &str) -> (Shop, String) {
    let s = selling_shop(app, slug, 120_000, 3).await;
    accept_test_payments(app, &s).await;
    let plan = rent_to_own_plan(app, slug, &s.token, &s.variant).await;
    (s, plan)
}

/// Gets `path` again until its page contains `text` (the processor
/// answers a moment after a payment starts; the page refreshes itself).
async fn until(b: &mut Browser, path: &str, text: &str) -> Page {
    for _ in 0..100 {
        let page = b.get(path).await;
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        if page.body.contains(text) {
            return page;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{path} never showed {text}");
}

/// Rents the product on the product page's first plan: the rent form's
/// own fields posted to `/cart/rentals`.
async fn rent(b: &mut Browser, s: &Shop) -> Page {
    let product = b.get(&format!("/products/{}", s.product)).await;
    assert_eq!(product.status, 200, "{}", product.body);
    let at = product
        .body
        .find("action=\"/cart/rentals\"")
        .expect("a rent form");
    let form = Page {
        status: product.status,
        location: None,
        body: product.body[at..].to_owned(),
    };
    let fields = [
        ("csrf", form.csrf()),
        ("variant_id", form.input("variant_id").unwrap()),
        ("rental_plan_id", form.input("rental_plan_id").unwrap()),
        ("rental_term", form.input("rental_term").unwrap()),
    ];
    b.post_owned("/cart/rentals", &fields).await
}

/// A signed-in customer rents the laptop, checks out with the `test`
/// provider and waits for the order to be paid; the contract's id.
async fn rented(app: &TestApp, b: &mut Browser, s: &Shop, email: &str) -> String {
    crate::web_session::sign_up(b, email).await;
    let added = rent(b, s).await;
    assert_eq!(added.status, 303, "{}", added.body);
    let form = b.checkout_form("test").await;
    let placed = b.post_owned("/checkout", &form).await;
    assert_eq!(placed.status, 303, "{}", placed.body);
    let order = placed.location.unwrap();
    let list = crate::rentals_support::call(
        app,
        &s.slug,
        &s.token,
        Method::GET,
        "/api/v1/admin/rental-contracts?limit=100",
        None,
    )
    .await;
    let list: Value = list.json().await.unwrap();
    let order_id = order
        .trim_start_matches("/orders/")
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let id = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["order_id"] == json!(order_id))
        .expect("the order's contract")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    started(app, s, &id).await;
    id
}

/// Waits until the contract's order is paid (the processor records the
/// deposit and the first installment).
async fn started(app: &TestApp, s: &Shop, id: &str) {
    for _ in 0..100 {
        if admin_contract(app, s, id).await["installments"][0]["paid_at"].is_string() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the order of contract {id} was never paid");
}

/// The pay form's fields on the contract page.
fn pay_fields(page: &Page) -> Vec<(&'static str, String)> {
    let at = page.body.find("class=\"pay\"").expect("a pay form");
    let tail = Page {
        status: page.status,
        location: None,
        body: page.body[at..].to_owned(),
    };
    vec![
        ("csrf", page.csrf()),
        ("idempotency_key", tail.input("idempotency_key").unwrap()),
        ("installment_id", tail.input("installment_id").unwrap()),
        ("payment_provider", "test".to_owned()),
    ]
}

#[tokio::test]
async fn a_customer_rents_from_the_product_page_and_checkout_makes_the_contract() {
    let app = app().await;
    let (s, plan) = laptop_shop(&app, "acme").await;
    let mut b = Browser::new(&app, &host("acme"));
    crate::web_session::sign_up(&mut b, "ann@example.com").await;

    // The product page discloses the plan's terms (one service computes
    // them for the page and the API).
    let product = b.get(&format!("/products/{}", s.product)).await;
    for text in [
        "Own it in a year",
        "$60.00 every month",
        "Cash price",
        "$1,200.00",
        "12 payments of $60.00, one every month",
        "Total of payments",
        "$720.00",
        "The item becomes yours after the last payment.",
    ] {
        assert!(product.body.contains(text), "{text}: {}", product.body);
    }
    let api = app
        .shop(
            "acme",
            Method::GET,
            &format!("/api/v1/store/products/{}/rental-plans", s.product),
        )
        .send()
        .await
        .unwrap();
    let api: Value = api.json().await.unwrap();
    let d = &api["items"][0]["disclosures"];
    assert_eq!(d["cash_price"]["amount"], 120_000, "{api}");
    assert_eq!(d["total_of_payments"]["amount"], 72_000);
    assert_eq!(d["number_of_payments"], 12);

    // Renting puts one rental line in the cart, with its plan and terms.
    let added = rent(&mut b, &s).await;
    assert_eq!(added.status, 303, "{}", added.body);
    assert_eq!(added.location.as_deref(), Some("/cart"));
    let cart = b.follow(added).await;
    for text in [
        "Own it in a year",
        "Due today (deposit and first payment)",
        "$180.00",
        "12 payments of $60.00, one every month",
        "Total of payments",
    ] {
        assert!(cart.body.contains(text), "{text}: {}", cart.body);
    }
    assert!(
        !cart.body.contains("name=\"quantity\""),
        "a rental line has no quantity form"
    );
    let line = b.api_cart(&app, "acme").await;
    assert_eq!(line["items"][0]["rental"]["plan_id"], json!(plan));
    assert_eq!(line["items"][0]["quantity"], 1);

    // Checkout makes the contract, the customer's, and the list shows it.
    let form = b.checkout_form("test").await;
    let placed = b.post_owned("/checkout", &form).await;
    assert_eq!(placed.status, 303, "{}", placed.body);
    let order = placed.location.unwrap();
    until(&mut b, &order, "<strong>Paid</strong>").await;
    let contracts = count(&app, "SELECT count(*) FROM rental_contracts").await;
    assert_eq!(contracts, 1);
    let account = b.get("/account").await;
    assert!(
        account.body.contains("href=\"/account/rentals\""),
        "{}",
        account.body
    );
    let list = b.get("/account/rentals").await;
    assert_eq!(list.status, 200, "{}", list.body);
    for text in [
        "Refurbished ThinkPad",
        "Own it in a year · 12 months · $60.00 / month",
        "Active",
        "$60.00 due",
    ] {
        assert!(list.body.contains(text), "{text}: {}", list.body);
    }
}

#[tokio::test]
async fn the_contract_page_shows_the_schedule_and_paying_an_installment_records_it() {
    let app = app().await;
    let (s, _) = laptop_shop(&app, "acme").await;
    let mut b = Browser::new(&app, &host("acme"));
    let id = rented(&app, &mut b, &s, "ann@example.com").await;
    let path = format!("/account/rentals/{id}");

    let page = b.get(&path).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.body.matches("<tr class=\"paid\">").count(), 1);
    assert_eq!(page.body.matches("<tr class=\"due\">").count(), 11);
    for text in [
        "Payment schedule",
        "The terms as agreed",
        "Cash price",
        "Paid so far",
        "$60.00",
        "Left to pay",
        "$660.00",
        "Buy-out price now",
        "Deposit",
        "Payment 1",
        "Payment 2 of 12",
        "Pay $60.00 now",
        &format!("href=\"/account/rentals/{id}/document\""),
    ] {
        assert!(page.body.contains(text), "{text}: {}", page.body);
    }

    let paid = b
        .post_owned(&format!("{path}/payments"), &pay_fields(&page))
        .await;
    assert_eq!(paid.status, 303, "{}", paid.body);
    let back = paid.location.unwrap();
    assert_eq!(back, format!("{path}?paying=1"));
    let done = until(&mut b, &back, "Payment 2 is paid").await;
    assert_eq!(done.body.matches("<tr class=\"paid\">").count(), 2);
    assert!(done.body.contains("Payment 3 of 12"), "{}", done.body);
    let c = admin_contract(&app, &s, &id).await;
    assert!(c["installments"][1]["paid_at"].is_string(), "{c}");
    assert!(c["installments"][2]["paid_at"].is_null());

    // The agreement opens under a policy with no inline allowance but its
    // one style block's hash.
    let doc = app
        .request(Method::GET, &format!("{path}/document"))
        .header("host", host("acme"))
        .header("cookie", cookie(&b))
        .send()
        .await
        .unwrap();
    assert_eq!(doc.status(), 200);
    let csp = doc.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("style-src 'sha256-") && !csp.contains("unsafe-inline"));
    assert!(!csp.contains("script-src"), "{csp}");
    let html = doc.text().await.unwrap();
    assert!(html.contains("Refurbished ThinkPad"), "{html}");
}

fn cookie(b: &Browser) -> String {
    b.jar
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ")
}

#[tokio::test]
async fn a_double_submit_of_the_pay_form_pays_once() {
    let app = app().await;
    let (s, _) = laptop_shop(&app, "acme").await;
    let mut b = Browser::new(&app, &host("acme"));
    let id = rented(&app, &mut b, &s, "ann@example.com").await;
    let path = format!("/account/rentals/{id}");
    let fields = pay_fields(&b.get(&path).await);

    // Without the form's CSRF token the guard refuses it: nothing starts.
    let mut forged = fields.clone();
    forged[0].1 = "forged".into();
    let refused = b.post_owned(&format!("{path}/payments"), &forged).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert_eq!(
        count(&app, "SELECT count(*) FROM rental_payment_attempts").await,
        0
    );

    let first = b.post_owned(&format!("{path}/payments"), &fields).await;
    let second = b.post_owned(&format!("{path}/payments"), &fields).await;
    assert_eq!(first.status, 303, "{}", first.body);
    assert_eq!(second.status, 303, "{}", second.body);
    assert_eq!(first.location, second.location);
    until(&mut b, &format!("{path}?paying=1"), "Payment 2 is paid").await;
    let attempts = count(&app, "SELECT count(*) FROM rental_payment_attempts").await;
    assert_eq!(attempts, 1, "one payment started");
    let c = admin_contract(&app, &s, &id).await;
    let installments = c["payments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["kind"] == "installment")
        .count();
    assert_eq!(installments, 2, "the first (checkout) and the second: {c}");
    assert!(c["installments"][2]["paid_at"].is_null(), "not the third");

    // The old form again, with a new key, names a paid installment: the
    // page again with the reason, nothing started.
    let mut stale = fields.clone();
    stale[1].1 = "another-key".into();
    let refused = b.post_owned(&format!("{path}/payments"), &stale).await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert!(
        refused.body.contains("The payment could not be started"),
        "{}",
        refused.body
    );
    assert!(refused.body.contains("Payment schedule"));
    assert_eq!(
        count(&app, "SELECT count(*) FROM rental_payment_attempts").await,
        1
    );
}

#[tokio::test]
async fn a_declined_payment_is_said_and_the_installment_can_be_paid_again() {
    let app = app().await;
    let (s, _) = laptop_shop(&app, "acme").await;
    let mut b = Browser::new(&app, &host("acme"));
    let id = rented(&app, &mut b, &s, "ann@example.com").await;
    let path = format!("/account/rentals/{id}");
    let mut fields = pay_fields(&b.get(&path).await);
    fields.push(("test_outcome", "decline".into()));

    let paid = b.post_owned(&format!("{path}/payments"), &fields).await;
    assert_eq!(paid.status, 303, "{}", paid.body);
    let page = until(&mut b, &path, "was declined").await;
    assert!(page.body.contains("Payment 2 of 12"), "the form again");
    let c = admin_contract(&app, &s, &id).await;
    assert!(c["installments"][1]["paid_at"].is_null(), "{c}");

    let again = b
        .post_owned(&format!("{path}/payments"), &pay_fields(&page))
        .await;
    assert_eq!(again.status, 303, "{}", again.body);
    until(&mut b, &format!("{path}?paying=1"), "Payment 2 is paid").await;
}

#[tokio::test]
async fn another_customers_rental_is_not_found_and_a_guest_is_sent_to_sign_in() {
    let app = app().await;
    let (s, _) = laptop_shop(&app, "acme").await;
    let mut ann = Browser::new(&app, &host("acme"));
    let id = rented(&app, &mut ann, &s, "ann@example.com").await;
    let path = format!("/account/rentals/{id}");
    let fields = pay_fields(&ann.get(&path).await);

    let mut bob = Browser::new(&app, &host("acme"));
    crate::web_session::sign_up(&mut bob, "bob@example.com").await;
    let list = bob.get("/account/rentals").await;
    assert_eq!(list.status, 200);
    assert!(
        list.body.contains("You have no rentals yet."),
        "{}",
        list.body
    );
    for p in [
        path.clone(),
        format!("{path}/document"),
        "/account/rentals/not-an-id".to_owned(),
    ] {
        let page = bob.get(&p).await;
        assert_eq!(page.status, 404, "{p}: {}", page.body);
        assert!(!page.body.contains("Refurbished ThinkPad"), "{p}");
    }
    let mut bobs = fields.clone();
    bobs[0].1 = bob.token().await;
    let paid = bob.post_owned(&format!("{path}/payments"), &bobs).await;
    assert_eq!(paid.status, 404, "{}", paid.body);
    assert_eq!(
        count(&app, "SELECT count(*) FROM rental_payment_attempts").await,
        0
    );

    // A guest is sent to sign in, and back here after.
    let mut guest = Browser::new(&app, &host("acme"));
    for (p, next) in [
        (
            "/account/rentals".to_owned(),
            "%2Faccount%2Frentals".to_owned(),
        ),
        (path.clone(), format!("%2Faccount%2Frentals%2F{id}")),
    ] {
        let page = guest.get(&p).await;
        assert_eq!(page.status, 303, "{p}");
        assert_eq!(
            page.location.as_deref(),
            Some(format!("/signin?next={next}").as_str())
        );
    }
    let csrf = guest.token().await;
    let mut guests = fields;
    guests[0].1 = csrf;
    let paid = guest.post_owned(&format!("{path}/payments"), &guests).await;
    assert_eq!(paid.status, 303);
    assert!(paid.location.unwrap().starts_with("/signin?next="));
    assert_eq!(
        count(&app, "SELECT count(*) FROM rental_payment_attempts").await,
        0
    );
}

#[tokio::test]
async fn a_german_shop_says_its_rental_pages_in_german() {
    let app = app().await;
    let (s, _) = laptop_shop(&app, "acme").await;
    // (Settings are replaced whole: the selling shop's, in German.)
    let mut german = crate::commerce_support::settings(1800);
    german["settings"]["payment_providers"] = json!(["manual", "test"]);
    german["settings"]["storefront"] = json!({"language": "de", "follow_browser_language": false});
    crate::commerce_support::set_settings(&app, "acme", &s.token, &german).await;
    let mut b = Browser::new(&app, &host("acme"));
    let product = b.get(&format!("/products/{}", s.product)).await;
    for text in ["Barpreis", "pro Monat", "eine pro Monat"] {
        assert!(product.body.contains(text), "{text}: {}", product.body);
    }
    assert!(!product.body.contains("every month"), "{}", product.body);

    let id = rented(&app, &mut b, &s, "ann@example.com").await;
    let cart = b.get("/account").await;
    assert!(cart.body.contains("Ihre Mietverträge"), "{}", cart.body);
    let list = b.get("/account/rentals").await;
    for text in ["Ihre Mietverträge", "12 Monate", "Laufend", "fällig am"] {
        assert!(list.body.contains(text), "{text}: {}", list.body);
    }
    let page = b.get(&format!("/account/rentals/{id}")).await;
    for text in [
        "Zahlungsplan",
        "Bezahlt",
        "Offen",
        "Die vereinbarten Bedingungen",
        "Rate 2 von 12",
        "jetzt bezahlen",
    ] {
        assert!(page.body.contains(text), "{text}: {}", page.body);
    }
    assert!(!page.body.contains("Payment schedule"));
}
