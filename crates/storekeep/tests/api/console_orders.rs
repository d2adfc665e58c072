//! The console's orders (issue 18), driven as staff use it: the list with
//! its filters and keyset pages, an order's page, and the actions (mark
//! paid, fulfil, deliver, cancel, refund with restock), each checked
//! through the admin API; refused input changes nothing; a viewer sees no
//! action and a forged post is refused; another shop's order is not found.

use reqwest::{Method, StatusCode};
use serde_json::Value;
use storekeep_test_support::TestApp;

use crate::catalog_support::body;
use crate::commerce_support::{
    Shop, admin_order, cart_with, checkout, checkout_body, order_action, order_of, selling_shop,
    stock,
};
use crate::console_support::{staff_console, submit, web_app};
use crate::identity::cli_staff;
use crate::web_browser::{Browser, Page};

/// A selling shop at `{slug}.shops.example` (price 20.00, 10 in stock)
/// with a viewer and a staff member beside its owner.
pub async fn console_shop(app: &TestApp, slug: &str) -> Shop {
    let s = selling_shop(app, slug, 2000, 10).await;
    for role in ["staff", "viewer"] {
        cli_staff(app, slug, &format!("{role}@{slug}.example"), role).await;
    }
    s
}

/// An order of `qty` units placed with `email`.
async fn order_by(app: &TestApp, s: &Shop, qty: i64, email: &str) -> Value {
    let (cart, token) = cart_with(app, &s.slug, &[(&s.variant, qty)]).await;
    let resp = checkout(
        app,
        &s.slug,
        &cart,
        &token,
        &uuid::Uuid::now_v7().to_string(),
        &checkout_body(email),
    )
    .await;
    assert_eq!(resp.status(), 201);
    body(resp).await["order"].clone()
}

/// The page's safety headers and markup, fetched again with the browser's
/// cookies.
pub async fn assert_safe(app: &TestApp, b: &Browser, path: &str) {
    let cookie: Vec<String> = b.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let page =
        crate::web_support::get_at(app, &b.host, path, &[("cookie", &cookie.join("; "))]).await;
    assert_eq!(page.status, 200, "{path}: {}", page.body);
    page.assert_safe();
    assert_eq!(page.header("cache-control"), "no-store");
    assert_eq!(page.body.matches("<h1").count(), 1, "one h1: {path}");
}

/// The `href` of the page's "next page" link, unescaped.
pub fn next_href(page: &Page) -> Option<String> {
    let at = page.body.find("rel=\"next\"")?;
    let start = page.body[..at].rfind("href=\"")? + 6;
    let end = start + page.body[start..].find('"')?;
    Some(plain(&page.body[start..end]))
}

/// `html` with the entities askama writes turned back into characters.
pub fn plain(html: &str) -> String {
    html.replace("&#38;", "&")
        .replace("&#39;", "'")
        .replace("&#34;", "\"")
        .replace("&#x27;", "'")
        .replace("&#x2f;", "/")
        .replace("&#47;", "/")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

fn order_rows(page: &Page) -> Vec<String> {
    page.body
        .split("<tr data-order=\"")
        .skip(1)
        .map(|r| r[..r.find('"').unwrap()].to_owned())
        .collect()
}

fn id(o: &Value) -> &str {
    o["id"].as_str().unwrap()
}

#[tokio::test]
async fn console_orders_staff_mark_paid_fulfil_and_refund_part_with_restock() {
    let app = web_app().await;
    let s = console_shop(&app, "acme").await;
    let o = order_of(&app, &s, 3).await;
    let oid = id(&o);
    let line = o["lines"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(stock(&app, &s).await, (10, 3));
    let mut b = staff_console(&app, "acme", "staff").await;
    let path = format!("/console/orders/{oid}");

    // The list shows it with its customer's email, status and total.
    let list = b.get("/console/orders").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert_eq!(order_rows(&list), vec![oid.to_owned()]);
    assert!(list.body.contains("buyer@example.com"));
    assert!(list.body.contains("awaiting payment"));
    assert!(list.body.contains(&format!("href=\"{path}\"")));

    // Awaiting payment: mark paid (and cancel) are offered, fulfil is not.
    let page = b.get(&path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Mark paid") && page.body.contains("Cancel order"));
    assert!(!page.body.contains(">Fulfil<"));
    assert!(page.body.contains("Refurbished ThinkPad") && page.body.contains("1 Analytical Way"));
    let done = submit(&mut b, &page, &format!("{path}/mark-paid"), &[]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(
        done.location.as_deref(),
        Some(&*format!("{path}?done=paid"))
    );
    assert_eq!(admin_order(&app, &s, oid).await["status"], "paid");
    assert_eq!(stock(&app, &s).await, (7, 0));

    let page = b.follow(done).await;
    assert!(
        page.body
            .contains("<p class=\"notice\" role=\"status\">The order is marked paid.")
    );
    assert!(page.body.contains(">Fulfil<"));
    let done = submit(&mut b, &page, &format!("{path}/fulfil"), &[]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let order = admin_order(&app, &s, oid).await;
    assert_eq!(order["status"], "fulfilled");
    let last = order["transitions"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert!(
        last["actor"].as_str().unwrap().starts_with("staff:"),
        "{last}"
    );

    // Refund 20.00 of 69.00 with one unit back into stock.
    let page = b.follow(done).await;
    assert!(page.body.contains("The order is fulfilled."));
    assert!(page.body.contains("Mark delivered"));
    let done = submit(
        &mut b,
        &page,
        &format!("{path}/refund"),
        &[
            ("amount", "20.00"),
            ("reason", "one came back scratched"),
            (&format!("restock_{line}"), "1"),
        ],
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(
        done.location.as_deref(),
        Some(&*format!("{path}?done=refunded"))
    );
    let order = admin_order(&app, &s, oid).await;
    assert_eq!(
        order["status"], "fulfilled",
        "a part refund keeps the status"
    );
    assert_eq!(order["refunded"]["amount"], 2000);
    assert_eq!(order["lines"][0]["restocked"], 1);
    let refunds = order["refunds"].as_array().unwrap();
    assert_eq!(refunds.len(), 1);
    assert_eq!(refunds[0]["reason"], "one came back scratched");
    assert_eq!(refunds[0]["restock"][0]["quantity"], 1);
    assert!(refunds[0]["actor"].as_str().unwrap().starts_with("staff:"));
    assert_eq!(stock(&app, &s).await, (8, 0), "one unit is back on hand");

    let page = b.follow(done).await;
    assert!(page.body.contains("The refund is recorded."));
    assert!(page.body.contains("one came back scratched"));
    assert!(page.body.contains("Refund of $20.00"), "in the timeline");
    assert!(
        page.body.contains("up to 2"),
        "two units are left to restock"
    );
    let list = b.get("/console/orders").await;
    assert!(list.body.contains("$20.00") && list.body.contains("fulfilled"));

    // Delivered, then nothing but a refund is left.
    let done = submit(&mut b, &page, &format!("{path}/deliver"), &[]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(admin_order(&app, &s, oid).await["status"], "delivered");

    assert_safe(&app, &b, &path).await;
    assert_safe(&app, &b, "/console/orders").await;
    app.stop().await;
}

#[tokio::test]
async fn console_orders_refused_actions_show_the_order_again_and_change_nothing() {
    let app = web_app().await;
    let s = console_shop(&app, "acme").await;
    let o = order_of(&app, &s, 2).await;
    let oid = id(&o);
    let line = o["lines"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(order_action(&app, &s, oid, "mark-paid").await.status(), 200);
    let before = admin_order(&app, &s, oid).await;
    let on_hand = stock(&app, &s).await;
    let mut b = staff_console(&app, "acme", "owner").await;
    let path = format!("/console/orders/{oid}");
    let page = b.get(&path).await;
    let restock = format!("restock_{line}");

    // More than was paid: 422, the message beside the amount, what was typed kept.
    let total = before["total"]["amount"].as_i64().unwrap();
    let too_much = format!("{}.{:02}", total / 100 + 1, total % 100);
    let refused = submit(
        &mut b,
        &page,
        &format!("{path}/refund"),
        &[
            ("amount", &too_much),
            ("reason", "too much"),
            (&restock, "1"),
        ],
    )
    .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert!(
        refused
            .body
            .contains("The refund must be at least 1 and at most what is left unrefunded."),
        "{}",
        refused.body
    );
    assert!(
        refused
            .body
            .contains("aria-invalid=\"true\" aria-describedby=\"refund-amount-error\"")
    );
    assert!(refused.body.contains(&format!("value=\"{too_much}\"")));
    assert!(refused.body.contains("role=\"alert\""));

    // Not an amount; more units than were sold: 422 too.
    for (amount, units, says) in [
        ("twelve", "1", "Must be an amount such as 12.50."),
        ("", "", "Enter the amount to refund, such as 12.50."),
        (
            "1.00",
            "3",
            "A line cannot restock more units than it has left to restock.",
        ),
        ("1.00", "-1", "Must be whole numbers of units, 0 or more."),
    ] {
        let refused = submit(
            &mut b,
            &page,
            &format!("{path}/refund"),
            &[("amount", amount), (&restock, units)],
        )
        .await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{amount} {units}"
        );
        assert!(refused.body.contains(says), "{says}: {}", refused.body);
    }
    // A line of another order.
    let refused = submit(
        &mut b,
        &page,
        &format!("{path}/refund"),
        &[
            ("amount", "1.00"),
            (&format!("restock_{}", uuid::Uuid::now_v7()), "1"),
        ],
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused
            .body
            .contains("Names a line this order does not have.")
    );

    // A move the status does not allow: 409 with the service's message.
    let refused = submit(&mut b, &page, &format!("{path}/deliver"), &[]).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    assert!(refused.body.contains("<p class=\"problem\" role=\"alert\""));
    assert!(
        refused
            .body
            .contains("Only a fulfilled order can be delivered."),
        "{}",
        refused.body
    );
    let refused = submit(&mut b, &page, &format!("{path}/mark-paid"), &[]).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(
        refused
            .body
            .contains("Only an order awaiting payment can be marked paid.")
    );

    // Nothing was written by any of them.
    let after = admin_order(&app, &s, oid).await;
    assert_eq!(after, before);
    assert_eq!(stock(&app, &s).await, on_hand);
    app.stop().await;
}

#[tokio::test]
async fn console_orders_a_viewer_sees_no_action_and_a_forged_post_is_refused() {
    let app = web_app().await;
    let s = console_shop(&app, "acme").await;
    let o = order_of(&app, &s, 1).await;
    let oid = id(&o);
    let line = o["lines"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(order_action(&app, &s, oid, "mark-paid").await.status(), 200);
    let before = admin_order(&app, &s, oid).await;
    let mut b = staff_console(&app, "acme", "viewer").await;
    let path = format!("/console/orders/{oid}");

    let page = b.get(&path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("paid"));
    for absent in [
        ">Fulfil<",
        "Mark paid",
        "Cancel order",
        "/refund\"",
        "Put units back",
    ] {
        assert!(!page.body.contains(absent), "a viewer sees {absent}");
    }
    assert!(b.get("/console/orders").await.status == StatusCode::OK);
    // The viewer's own valid token, forged posts: 403, nothing changes.
    let restock = format!("restock_{line}");
    let refund: &[(&str, &str)] = &[("amount", "1.00"), (&restock, "1")];
    for (action, fields) in [("fulfil", &[][..]), ("cancel", &[][..]), ("refund", refund)] {
        let refused = submit(&mut b, &page, &format!("{path}/{action}"), fields).await;
        assert_eq!(
            refused.status,
            StatusCode::FORBIDDEN,
            "{action}: {}",
            refused.body
        );
        assert!(refused.body.contains("orders:write"));
    }
    assert_eq!(admin_order(&app, &s, oid).await, before);
    // Viewers do not open customers either.
    assert!(!page.body.contains("href=\"/console/customers\""));
    assert_eq!(
        b.get("/console/customers").await.status,
        StatusCode::FORBIDDEN
    );
    app.stop().await;
}

#[tokio::test]
async fn console_orders_another_shops_order_is_not_found() {
    let app = web_app().await;
    let s = console_shop(&app, "acme").await;
    let other = selling_shop(&app, "other", 1000, 5).await;
    let theirs = order_of(&app, &other, 1).await;
    let tid = id(&theirs);
    let mut b = staff_console(&app, "acme", "owner").await;
    let page = b.get(&format!("/console/orders/{tid}")).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND, "{}", page.body);
    assert!(page.body.contains("Not found"));
    assert!(!page.body.contains("buyer@example.com"));
    let list = b.get("/console/orders").await;
    assert!(order_rows(&list).is_empty());
    // Posting to it: 404 and it stays unpaid.
    let own = b.get("/console").await;
    for action in ["mark-paid", "cancel"] {
        let r = submit(
            &mut b,
            &own,
            &format!("/console/orders/{tid}/{action}"),
            &[],
        )
        .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{action}");
    }
    assert_eq!(
        admin_order(&app, &other, tid).await["status"],
        "pending_payment"
    );
    // Not an id at all: 404 too.
    assert_eq!(
        b.get("/console/orders/nonsense").await.status,
        StatusCode::NOT_FOUND
    );

    // Its own unpaid order it cancels, with a reason: the stock is released.
    let mine = order_of(&app, &s, 2).await;
    assert_eq!(stock(&app, &s).await, (10, 2));
    let path = format!("/console/orders/{}", id(&mine));
    let page = b.get(&path).await;
    let done = submit(
        &mut b,
        &page,
        &format!("{path}/cancel"),
        &[("reason", "customer phoned to cancel")],
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let order = admin_order(&app, &s, id(&mine)).await;
    assert_eq!(order["status"], "cancelled");
    let last = order["transitions"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["reason"], "customer phoned to cancel");
    assert_eq!(stock(&app, &s).await, (10, 0));
    let page = b.follow(done).await;
    assert!(page.body.contains("The order is cancelled"));
    assert!(
        page.body.contains("customer phoned to cancel"),
        "in the timeline"
    );
    assert!(!page.body.contains("Cancel order") && !page.body.contains("/refund\""));
    app.stop().await;
}

#[tokio::test]
async fn console_orders_filters_and_keyset_pages() {
    let app = web_app().await;
    let s = console_shop(&app, "acme").await;
    let a = order_by(&app, &s, 1, "buyer@example.com").await;
    assert_eq!(
        order_action(&app, &s, id(&a), "mark-paid").await.status(),
        200
    );
    let bo = order_by(&app, &s, 1, "other@example.com").await;
    let c = order_by(&app, &s, 1, "buyer@example.com").await;
    let mut b = staff_console(&app, "acme", "viewer").await;

    // Newest first, two per page, then the rest; the filters are kept.
    let first = b.get("/console/orders?limit=2").await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(order_rows(&first), vec![id(&c), id(&bo)]);
    let next = next_href(&first).expect("a next page");
    assert!(next.starts_with("/console/orders?limit=2&after="), "{next}");
    let second = b.get(&next).await;
    assert_eq!(order_rows(&second), vec![id(&a)]);
    assert!(next_href(&second).is_none());

    let paid = b.get("/console/orders?status=paid").await;
    assert_eq!(order_rows(&paid), vec![id(&a)]);
    assert!(paid.body.contains("<option value=\"paid\" selected>"));
    let buyer = b
        .get("/console/orders?email=buyer%40example.com&limit=1")
        .await;
    assert_eq!(order_rows(&buyer), vec![id(&c)]);
    let next = next_href(&buyer).unwrap();
    assert!(next.contains("email=buyer%40example.com"), "{next}");
    assert_eq!(order_rows(&b.get(&next).await), vec![id(&a)]);
    assert!(order_rows(&b.get("/console/orders?email=nobody%40example.com").await).is_empty());

    let today = chrono::Utc::now().date_naive();
    let day = |d: chrono::NaiveDate| d.format("%Y-%m-%d").to_string();
    let all = b
        .get(&format!(
            "/console/orders?from={}&to={}",
            day(today),
            day(today)
        ))
        .await;
    assert_eq!(order_rows(&all).len(), 3);
    let none = b
        .get(&format!(
            "/console/orders?from={}",
            day(today + chrono::Duration::days(1))
        ))
        .await;
    assert!(order_rows(&none).is_empty());
    assert!(none.body.contains("No order matches these filters."));
    let before = b
        .get(&format!(
            "/console/orders?to={}",
            day(today - chrono::Duration::days(1))
        ))
        .await;
    assert!(order_rows(&before).is_empty());

    // Bad filters: a 400 page saying what is wrong, never a 500.
    for (q, says) in [
        ("status=lost", "status must be"),
        ("from=28.11.2026", "from must be a date"),
        ("from=2026-11-28&to=2026-11-01", "from must not be after to"),
        ("limit=0", "limit must be"),
        ("limit=many", "limit must be"),
        ("email=not-an-email", "email is not an email address"),
        ("after=forged", "not valid"),
    ] {
        let page = b.get(&format!("/console/orders?{q}")).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{q}: {}", page.body);
        assert!(page.body.contains(says), "{q}: {}", page.body);
    }
    let _ = Method::GET;
    app.stop().await;
}
