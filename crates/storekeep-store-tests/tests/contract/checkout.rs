//! Checkout: one transaction that reserves stock, claims deals and records
//! the order, or writes nothing; idempotent per key.

use storekeep_domain::{CartId, CartStatus, CheckoutOutcome, OrderId, OrderStatus, PaymentStatus};
use storekeep_store::StoreError;
use storekeep_store::commerce::events;

use crate::support::{Shop, connect, created, race, shop};

/// Nothing of `order` was written: no order, key, payment, event or
/// reservation, and its cart is still open.
async fn assert_no_trace(s: &Shop, order: &storekeep_domain::NewOrder) {
    assert!(matches!(
        s.store.order(s.tenant, order.id).await,
        Err(StoreError::NotFound("order"))
    ));
    assert!(matches!(
        s.store
            .payment_by_reference("test", &order.payment.reference)
            .await,
        Err(StoreError::NotFound("payment"))
    ));
    let cart = s.store.cart(s.tenant, order.cart_id).await.unwrap();
    assert_eq!((cart.status, cart.order_id), (CartStatus::Open, None));
}

#[tokio::test]
async fn checkout_reserves_records_and_replays() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let store = &db.store;
    let p = a.product("p", &[("A", 1000, 5), ("B", 250, 5)]).await;
    let (va, vb) = (&p.variants[0], &p.variants[1]);
    let cart = a.cart(&[(vb, 2), (va, 1)]).await;
    let new = a.order_for(&cart, &[], "email:x").await;

    let detail = created(a.checkout(&new).await);

    assert_eq!(
        (detail.order.id, detail.order.total, detail.order.subtotal),
        (new.id, 1500, 1500)
    );
    assert_eq!(detail.order.status, OrderStatus::PendingPayment);
    assert_eq!(detail.order.expires_at, Some(new.expires_at));
    let lines: Vec<(&str, i64, i64)> = detail
        .order
        .lines
        .iter()
        .map(|l| (l.sku.as_str(), l.quantity, l.total))
        .collect();
    assert_eq!(lines, [("B", 2, 500), ("A", 1, 1000)], "in cart order");
    assert!(detail.order.lines.iter().all(|l| l.product_id == p.id));
    assert_eq!(detail.transitions.len(), 1);
    assert_eq!(
        (detail.transitions[0].from, detail.transitions[0].to),
        (None, OrderStatus::PendingPayment)
    );
    assert_eq!(detail.transitions[0].actor, "guest");
    assert_eq!(detail.payments.len(), 1);
    assert_eq!(
        (detail.payments[0].status, detail.payments[0].amount),
        (PaymentStatus::Pending, 1500)
    );
    assert!(detail.refunds.is_empty());
    // The answer is what a read gives back.
    assert_eq!(store.order(a.tenant, new.id).await.unwrap(), detail);
    assert_eq!(a.inventory(va).await.reserved, 1);
    assert_eq!(a.inventory(vb).await.reserved, 2);
    assert_eq!(a.available(&p).await, 7);
    a.assert_stock_listing().await;
    let cart = store.cart(a.tenant, cart.id).await.unwrap();
    assert_eq!(
        (cart.status, cart.order_id),
        (CartStatus::CheckedOut, Some(new.id))
    );
    let events = a.events(None).await;
    let topics: Vec<&str> = events.iter().map(|e| e.topic.as_str()).collect();
    assert_eq!(topics, ["order.created", "payment.created"]);
    assert_eq!(events[0].payload, events::order_created(&new).1);
    assert!(
        events
            .iter()
            .all(|e| e.subject == format!("order:{}", new.id))
    );
    assert_eq!(
        store
            .payment_by_reference("test", &new.payment.reference)
            .await
            .unwrap(),
        (a.tenant, new.id)
    );

    match a.checkout(&new).await {
        CheckoutOutcome::Replayed(d) => assert_eq!(*d, detail),
        other => panic!("{other:?}"),
    }
    let mut reused = new.clone();
    reused.request_hash = "other".into();
    assert!(matches!(
        a.checkout(&reused).await,
        CheckoutOutcome::KeyReused
    ));
    let mut again = new.clone();
    again.idempotency_key = "another".into();
    again.id = OrderId::new();
    assert!(matches!(
        a.checkout(&again).await,
        CheckoutOutcome::CartClosed
    ));
    assert_eq!(a.orders().await.len(), 1);
    assert_eq!(a.inventory(va).await.reserved, 1, "replays reserve nothing");
}

#[tokio::test]
async fn refusals_name_every_line_and_leave_no_trace() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let p = a
        .product("p", &[("A", 1000, 1), ("B", 250, 1), ("C", 10, 9)])
        .await;
    let new = a
        .order(&[
            (&p.variants[0], 2),
            (&p.variants[1], 3),
            (&p.variants[2], 1),
        ])
        .await;

    match a.checkout(&new).await {
        CheckoutOutcome::ShortOfStock(short) => {
            let mut got: Vec<(String, i64, i64)> = short
                .into_iter()
                .map(|x| (x.sku, x.requested, x.available))
                .collect();
            got.sort();
            assert_eq!(got, [("A".into(), 2, 1), ("B".into(), 3, 1)]);
        }
        other => panic!("{other:?}"),
    }
    assert_no_trace(&a, &new).await;
    assert_eq!(a.inventory(&p.variants[2]).await.reserved, 0);
    assert!(a.events(None).await.is_empty());

    // A price changed since pricing.
    let mut stale = a.order(&[(&p.variants[2], 1)]).await;
    stale.quote.lines[0].unit_price = 9;
    match a.checkout(&stale).await {
        CheckoutOutcome::PriceChanged(v) => assert_eq!(v, [p.variants[2].id]),
        other => panic!("{other:?}"),
    }
    assert_no_trace(&a, &stale).await;
    // The same key works once the request is right: it was not kept.
    stale.quote.lines[0].unit_price = 10;
    created(a.checkout(&stale).await);
    assert_eq!(a.orders().await.len(), 1);
    a.assert_stock_listing().await;
}

#[tokio::test]
async fn a_changed_price_is_reported_before_any_shortage() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let p = a.product("p", &[("A", 1000, 1), ("B", 250, 5)]).await;
    let mut new = a.order(&[(&p.variants[0], 5), (&p.variants[1], 1)]).await;
    new.quote.lines[1].unit_price = 200;

    let outcome = a.checkout(&new).await;

    assert!(
        matches!(&outcome, CheckoutOutcome::PriceChanged(v) if v == &[p.variants[1].id]),
        "{outcome:?}"
    );
    assert_no_trace(&a, &new).await;
}

#[tokio::test]
async fn an_empty_order_is_invalid_but_a_replay_answers_whatever_it_carries() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let p = a.product("p", &[("A", 1000, 3)]).await;
    let new = a.order(&[(&p.variants[0], 1)]).await;
    let first = created(a.checkout(&new).await);
    let empty_cart = a.cart(&[]).await;
    let empty = a.order_for(&empty_cart, &[], "email:x").await;
    let mut no_units = a.order(&[(&p.variants[0], 1)]).await;
    no_units.quote.lines[0].quantity = 0;

    let refused = a.store.checkout(a.tenant, &empty).await;
    let zero = a.store.checkout(a.tenant, &no_units).await;
    let mut replay = new.clone();
    replay.quote.lines.clear();
    let replayed = a.checkout(&replay).await;

    assert!(
        matches!(refused, Err(StoreError::Invalid(_))),
        "{refused:?}"
    );
    assert!(matches!(zero, Err(StoreError::Invalid(_))), "{zero:?}");
    assert_no_trace(&a, &empty).await;
    assert_no_trace(&a, &no_units).await;
    assert!(matches!(replayed, CheckoutOutcome::Replayed(d) if *d == first));
}

#[tokio::test]
async fn another_shops_cart_or_variant_cannot_be_checked_out() {
    let db = connect().await;
    let (a, b) = (shop(&db, "alpha").await, shop(&db, "beta").await);
    let p = a.product("p", &[("A", 1000, 3)]).await;
    let theirs = a.order(&[(&p.variants[0], 1)]).await;
    let mut unknown = theirs.clone();
    unknown.cart_id = CartId::new();
    unknown.idempotency_key = "unknown-cart".into();
    let mine = b.cart(&[]).await;
    let mut foreign_variant = theirs.clone();
    foreign_variant.cart_id = mine.id;
    foreign_variant.idempotency_key = "foreign-variant".into();

    let foreign_cart = b.store.checkout(b.tenant, &theirs).await;
    let missing_cart = a.store.checkout(a.tenant, &unknown).await;
    let outcome = b.store.checkout(b.tenant, &foreign_variant).await.unwrap();

    assert!(
        matches!(foreign_cart, Err(StoreError::NotFound("cart"))),
        "{foreign_cart:?}"
    );
    assert!(
        matches!(missing_cart, Err(StoreError::NotFound("cart"))),
        "{missing_cart:?}"
    );
    match outcome {
        CheckoutOutcome::ShortOfStock(short) => {
            assert_eq!(
                (short[0].variant_id, short[0].available),
                (p.variants[0].id, 0)
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(a.inventory(&p.variants[0]).await.reserved, 0);
    assert!(b.orders().await.is_empty() && a.orders().await.is_empty());
    assert_no_trace(&a, &theirs).await;
    // The key used in the wrong shop is still free in the right one.
    created(a.checkout(&theirs).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_concurrent_checkouts_on_ten_units_make_ten_orders() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let p = a.product("p", &[("A", 100, 10)]).await;
    let mut orders = Vec::new();
    for _ in 0..64 {
        orders.push(a.order(&[(&p.variants[0], 1)]).await);
    }

    let outcomes = race(64, |i| {
        let (a, order) = (a.clone(), orders[i].clone());
        async move { a.store.checkout(a.tenant, &order).await.unwrap() }
    })
    .await;

    let made = outcomes
        .iter()
        .filter(|o| matches!(o, CheckoutOutcome::Created(_)))
        .count();
    let short = outcomes
        .iter()
        .filter(|o| matches!(o, CheckoutOutcome::ShortOfStock(_)))
        .count();
    assert_eq!((made, short), (10, 54));
    let stock = a.inventory(&p.variants[0]).await;
    assert_eq!(
        (stock.on_hand, stock.reserved, stock.available),
        (10, 10, 0)
    );
    assert_eq!(a.orders().await.len(), 10);
    assert_eq!(a.events(Some("order.created")).await.len(), 10);
    assert_eq!(a.events(Some("payment.created")).await.len(), 10);
    a.assert_stock_listing().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_checkouts_with_one_key_make_one_order_and_replay_it() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let p = a.product("p", &[("A", 100, 50)]).await;
    let order = a.order(&[(&p.variants[0], 2)]).await;

    let outcomes = race(16, |_| {
        let (a, order) = (a.clone(), order.clone());
        async move { a.store.checkout(a.tenant, &order).await.unwrap() }
    })
    .await;

    let mut made = Vec::new();
    let mut replayed = Vec::new();
    for o in outcomes {
        match o {
            CheckoutOutcome::Created(d) => made.push(*d),
            CheckoutOutcome::Replayed(d) => replayed.push(*d),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!((made.len(), replayed.len()), (1, 15));
    assert!(replayed.iter().all(|d| *d == made[0]));
    assert_eq!(a.inventory(&p.variants[0]).await.reserved, 2);
    assert_eq!(a.orders().await.len(), 1);
    assert_eq!(a.events(None).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_uses_of_one_key_for_different_requests_make_one_order() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let p = a.product("p", &[("A", 100, 50)]).await;
    let mut orders = Vec::new();
    for i in 0..12 {
        let mut o = a.order(&[(&p.variants[0], 1)]).await;
        o.idempotency_key = "the-key".into();
        o.request_hash = format!("request-{i}");
        orders.push(o);
    }

    let outcomes = race(12, |i| {
        let (a, order) = (a.clone(), orders[i].clone());
        async move { a.store.checkout(a.tenant, &order).await.unwrap() }
    })
    .await;

    let made = outcomes
        .iter()
        .filter(|o| matches!(o, CheckoutOutcome::Created(_)))
        .count();
    let reused = outcomes
        .iter()
        .filter(|o| matches!(o, CheckoutOutcome::KeyReused))
        .count();
    assert_eq!((made, reused), (1, 11));
    assert_eq!(a.inventory(&p.variants[0]).await.reserved, 1);
    assert_eq!(a.orders().await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_checkouts_of_one_cart_make_one_order() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let p = a.product("p", &[("A", 100, 50)]).await;
    let cart = a.cart(&[(&p.variants[0], 3)]).await;
    let mut orders = Vec::new();
    for _ in 0..12 {
        orders.push(a.order_for(&cart, &[], "email:x").await);
    }

    let outcomes = race(12, |i| {
        let (a, order) = (a.clone(), orders[i].clone());
        async move { a.store.checkout(a.tenant, &order).await.unwrap() }
    })
    .await;

    let made: Vec<OrderId> = outcomes
        .iter()
        .filter_map(|o| match o {
            CheckoutOutcome::Created(d) => Some(d.order.id),
            _ => None,
        })
        .collect();
    let closed = outcomes
        .iter()
        .filter(|o| matches!(o, CheckoutOutcome::CartClosed))
        .count();
    assert_eq!((made.len(), closed), (1, 11));
    assert_eq!(a.inventory(&p.variants[0]).await.reserved, 3);
    let cart = a.store.cart(a.tenant, cart.id).await.unwrap();
    assert_eq!(cart.order_id, Some(made[0]));
    assert_eq!(a.orders().await.len(), 1);
    a.assert_stock_listing().await;
}
