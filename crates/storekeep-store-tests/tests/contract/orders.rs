//! Orders: read, listed, and moved along the state machine with the stock
//! effect of each move, once, however many actors race.

use chrono::Duration;
use storekeep_domain::{
    NewPayment, NewRefund, OrderFilter, OrderId, OrderStatus, PaymentId, RefundId, Settlement,
};
use storekeep_store::{StoreError, TransitionActor, now};

use crate::support::{all_pages, connect, created, ctx, race, shop, staff};

#[tokio::test]
async fn orders_move_only_along_the_state_machine() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let store = &db.store;
    let audit = ctx();
    let p = a.product("p", &[("A", 1000, 10)]).await;
    let order = a.place(&[(&p.variants[0], 2)]).await.order.id;
    let tenant = a.tenant;
    let refused = |to| async move {
        store
            .transition_order(tenant, order, to, &staff(&ctx()))
            .await
    };

    for to in [
        OrderStatus::Fulfilled,
        OrderStatus::Delivered,
        OrderStatus::Refunded,
        OrderStatus::PendingPayment,
    ] {
        assert!(
            matches!(refused(to).await, Err(StoreError::Invalid(_))),
            "{to:?}"
        );
    }
    let mut last = None;
    for to in [
        OrderStatus::Paid,
        OrderStatus::Fulfilled,
        OrderStatus::Delivered,
    ] {
        last = Some(
            store
                .transition_order(a.tenant, order, to, &staff(&audit))
                .await
                .unwrap(),
        );
    }
    for to in [
        OrderStatus::Paid,
        OrderStatus::Cancelled,
        OrderStatus::Fulfilled,
    ] {
        assert!(
            matches!(refused(to).await, Err(StoreError::Invalid(_))),
            "{to:?}"
        );
    }

    let detail = last.unwrap();
    assert_eq!(detail.order.status, OrderStatus::Delivered);
    let moves: Vec<(Option<OrderStatus>, OrderStatus, &str)> = detail
        .transitions
        .iter()
        .map(|t| (t.from, t.to, t.actor.as_str()))
        .collect();
    assert_eq!(
        moves,
        [
            (None, OrderStatus::PendingPayment, "guest"),
            (
                Some(OrderStatus::PendingPayment),
                OrderStatus::Paid,
                "staff:test"
            ),
            (
                Some(OrderStatus::Paid),
                OrderStatus::Fulfilled,
                "staff:test"
            ),
            (
                Some(OrderStatus::Fulfilled),
                OrderStatus::Delivered,
                "staff:test"
            ),
        ]
    );
    assert_eq!(store.order(a.tenant, order).await.unwrap(), detail);
    assert_eq!(
        a.topics().await[2..],
        ["order.paid", "order.fulfilled", "order.delivered"]
    );
    let staff_log = a.actions().await;
    assert_eq!(
        staff_log[1..],
        ["order.paid", "order.fulfilled", "order.delivered"]
    );
}

#[tokio::test]
async fn paying_sells_the_reservation_and_cancelling_releases_it() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let store = &db.store;
    let p = a.product("p", &[("A", 1000, 5)]).await;
    let v = &p.variants[0];
    let sold = a.place(&[(v, 2)]).await.order.id;
    let gone = a.place(&[(v, 3)]).await.order.id;
    assert_eq!(a.available(&p).await, 0);

    store
        .transition_order(a.tenant, sold, OrderStatus::Paid, &staff(&ctx()))
        .await
        .unwrap();
    let after_sale = a.inventory(v).await;
    let cancelled = store
        .transition_order(
            a.tenant,
            gone,
            OrderStatus::Cancelled,
            &TransitionActor {
                actor: "customer:1",
                reason: Some("changed my mind"),
                audit: None,
            },
        )
        .await
        .unwrap();

    assert_eq!((after_sale.on_hand, after_sale.reserved), (3, 3));
    let stock = a.inventory(v).await;
    assert_eq!((stock.on_hand, stock.reserved, stock.available), (3, 0, 3));
    assert_eq!(cancelled.order.status, OrderStatus::Cancelled);
    let last = cancelled.transitions.last().unwrap();
    assert_eq!(
        (last.actor.as_str(), last.reason.as_deref()),
        ("customer:1", Some("changed my mind"))
    );
    let ledger = store
        .inventory_ledger(a.tenant, v.id, &Default::default())
        .await
        .unwrap();
    assert_eq!(ledger.items[0].reason, format!("order {sold} paid"));
    assert_eq!(
        (ledger.items[0].delta, ledger.items[0].on_hand_after),
        (-2, 3)
    );
    assert_eq!(ledger.items.len(), 2, "a release is not a stock movement");
    let cancelled_event = a.events(Some("order.cancelled")).await;
    assert_eq!(cancelled_event[0].payload["reason"], "changed my mind");
    assert_eq!(
        a.actions().await,
        ["product.create", "order.paid"],
        "customers are not audited"
    );
    a.assert_stock_listing().await;
}

#[tokio::test]
async fn expiry_cancels_unpaid_orders_past_their_time_once_within_its_limit() {
    let db = connect().await;
    let (a, b) = (shop(&db, "alpha").await, shop(&db, "beta").await);
    let store = &db.store;
    let p = a.product("p", &[("A", 1000, 10)]).await;
    let q = b.product("q", &[("Q", 1000, 10)]).await;
    let mut due = Vec::new();
    for (s, v) in [
        (&a, &p.variants[0]),
        (&a, &p.variants[0]),
        (&b, &q.variants[0]),
    ] {
        let mut o = s.order(&[(v, 2)]).await;
        o.expires_at = now() - Duration::seconds(1);
        due.push(created(s.checkout(&o).await).order.id);
    }
    let later = a.place(&[(&p.variants[0], 1)]).await.order.id;
    let mut paid = a.order(&[(&p.variants[0], 1)]).await;
    paid.expires_at = now() - Duration::seconds(1);
    let paid = created(a.checkout(&paid).await);
    store
        .transition_order(a.tenant, paid.order.id, OrderStatus::Paid, &staff(&ctx()))
        .await
        .unwrap();

    let first = store.expire_orders(now(), 2).await.unwrap();
    let second = store.expire_orders(now(), 2).await.unwrap();
    let third = store.expire_orders(now(), 2).await.unwrap();

    assert_eq!((first, second, third), (2, 1, 0));
    for (s, id) in [(&a, due[0]), (&a, due[1]), (&b, due[2])] {
        let d = store.order(s.tenant, id).await.unwrap();
        assert_eq!(d.order.status, OrderStatus::Cancelled);
        let t = &d.transitions[1];
        assert_eq!(
            (t.actor.as_str(), t.reason.as_deref()),
            ("system", Some("payment timeout"))
        );
    }
    for id in [later, paid.order.id] {
        assert_ne!(
            store.order(a.tenant, id).await.unwrap().order.status,
            OrderStatus::Cancelled
        );
    }
    assert_eq!(a.inventory(&p.variants[0]).await.reserved, 1);
    assert_eq!(b.inventory(&q.variants[0]).await.reserved, 0);
    assert_eq!(a.events(Some("order.cancelled")).await.len(), 2);
    a.assert_stock_listing().await;
}

#[tokio::test]
async fn orders_list_newest_first_by_cursor_and_filter() {
    let db = connect().await;
    let (a, b) = (shop(&db, "alpha").await, shop(&db, "beta").await);
    let store = &db.store;
    let p = a.product("p", &[("A", 1000, 50)]).await;
    let mut ids = Vec::new();
    for who in ["ann", "bob", "ann", "cy"] {
        let cart = a.cart(&[(&p.variants[0], 1)]).await;
        let o = a.order_for(&cart, &[], who).await;
        ids.push(created(a.checkout(&o).await).order);
    }
    store
        .transition_order(a.tenant, ids[1].id, OrderStatus::Cancelled, &staff(&ctx()))
        .await
        .unwrap();
    let tenant = a.tenant;
    let list = |filter: OrderFilter| {
        let store = store.clone();
        async move {
            all_pages(1, async |p| store.list_orders(tenant, &filter, &p).await)
                .await
                .into_iter()
                .map(|o| o.order.id)
                .collect::<Vec<OrderId>>()
        }
    };

    let everything = list(OrderFilter::default()).await;
    let anns = list(OrderFilter {
        email_index: Some("ann".into()),
        ..Default::default()
    })
    .await;
    let cancelled = list(OrderFilter {
        status: Some(OrderStatus::Cancelled),
        ..Default::default()
    })
    .await;
    let window = list(OrderFilter {
        created_from: Some(ids[1].created_at),
        created_to: Some(ids[2].created_at),
        ..Default::default()
    })
    .await;
    let nobody = list(OrderFilter {
        customer_id: Some(storekeep_domain::UserId::new()),
        ..Default::default()
    })
    .await;

    let id = |i: usize| ids[i].id;
    assert_eq!(everything, [id(3), id(2), id(1), id(0)]);
    assert_eq!(anns, [id(2), id(0)]);
    assert_eq!(cancelled, [id(1)]);
    assert_eq!(window, [id(2), id(1)]);
    assert!(nobody.is_empty());
    let listed = store
        .list_orders(a.tenant, &OrderFilter::default(), &Default::default())
        .await
        .unwrap();
    assert_eq!(
        listed.items[3].order, ids[0],
        "list items are whole orders, lines included"
    );
    for item in &listed.items {
        assert_eq!(
            *item,
            store.order(a.tenant, item.order.id).await.unwrap(),
            "each list item carries the order's whole history, as the order itself does"
        );
    }
    assert_eq!(
        listed.items[2].transitions.len(),
        2,
        "placed, then cancelled"
    );
    assert!(
        store
            .list_orders(b.tenant, &OrderFilter::default(), &Default::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let bad = store
        .list_orders(
            a.tenant,
            &OrderFilter::default(),
            &crate::support::page(2, Some("x".into())),
        )
        .await;
    assert!(matches!(bad, Err(StoreError::InvalidCursor)));
}

#[tokio::test]
async fn another_shops_orders_are_not_found_moved_refunded_or_paid() {
    let db = connect().await;
    let (a, b) = (shop(&db, "alpha").await, shop(&db, "beta").await);
    let store = &db.store;
    let p = a.product("p", &[("A", 1000, 5)]).await;
    let order = a.place(&[(&p.variants[0], 1)]).await;
    let id = order.order.id;
    let refund = NewRefund {
        id: RefundId::new(),
        amount: 1,
        reason: None,
        restock: vec![],
    };
    let payment = NewPayment {
        id: PaymentId::new(),
        provider: "test".into(),
        reference: "foreign".into(),
        amount: 1,
    };

    let refused = [
        store.order(b.tenant, id).await.err(),
        store
            .transition_order(b.tenant, id, OrderStatus::Cancelled, &staff(&ctx()))
            .await
            .err(),
        store
            .refund_order(b.tenant, id, &refund, &staff(&ctx()))
            .await
            .err(),
        store.create_payment(b.tenant, id, &payment).await.err(),
        store
            .transition_order(
                a.tenant,
                OrderId::new(),
                OrderStatus::Cancelled,
                &staff(&ctx()),
            )
            .await
            .err(),
    ];

    for e in refused {
        assert!(matches!(e, Some(StoreError::NotFound("order"))), "{e:?}");
    }
    assert_eq!(store.order(a.tenant, id).await.unwrap(), order);
    assert!(b.events(None).await.is_empty());
    assert!(b.actions().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_moves_of_one_order_change_it_exactly_once() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let store = db.store.clone();
    let p = a.product("p", &[("A", 1000, 5)]).await;
    let v = p.variants[0].clone();
    let mut new = a.order(&[(&v, 2)]).await;
    new.expires_at = now() - Duration::seconds(1);
    let order = created(a.checkout(&new).await);

    // Staff cancel or mark paid, the provider confirms, the sweep expires:
    // each task answers the status it moved the order to, if it did.
    let moved_to = race(12, |i| {
        let (a, order) = (a.clone(), order.clone());
        async move {
            let id = order.order.id;
            let by_staff = async |to| match a
                .store
                .transition_order(a.tenant, id, to, &staff(&ctx()))
                .await
            {
                Ok(_) => Some(to),
                Err(StoreError::Invalid(_)) => None,
                Err(e) => panic!("{e:?}"),
            };
            match i % 4 {
                0 => by_staff(OrderStatus::Cancelled).await,
                1 => by_staff(OrderStatus::Paid).await,
                2 => match a.confirm(&order, &format!("event-{i}")).await.unwrap() {
                    Settlement::Applied { order_paid: true } => Some(OrderStatus::Paid),
                    _ => None,
                },
                _ => (a.store.expire_orders(now(), 10).await.unwrap() == 1)
                    .then_some(OrderStatus::Cancelled),
            }
        }
    })
    .await;

    let winners: Vec<OrderStatus> = moved_to.into_iter().flatten().collect();
    assert_eq!(winners.len(), 1, "{winners:?}");
    let detail = store.order(a.tenant, order.order.id).await.unwrap();
    assert_eq!(detail.transitions.len(), 2, "one move only");
    let stock = a.inventory(&v).await;
    let moved = a
        .events(None)
        .await
        .into_iter()
        .filter(|e| e.topic.starts_with("order."))
        .count();
    assert_eq!(moved, 2, "order.created and one move");
    assert_eq!(detail.order.status, winners[0]);
    let on_hand = if winners[0] == OrderStatus::Paid {
        3
    } else {
        5
    };
    assert_eq!(
        (stock.on_hand, stock.reserved),
        (on_hand, 0),
        "sold or released once"
    );
    a.assert_stock_listing().await;
}

#[tokio::test]
async fn a_spans_sales_count_its_orders_but_cancelled_and_its_paid_revenue_less_refunds() {
    let db = connect().await;
    let (a, b) = (shop(&db, "alpha").await, shop(&db, "beta").await);
    let store = &db.store;
    let p = a.product("p", &[("A", 1000, 50)]).await;
    let v = &p.variants[0];
    // The counters count by quarter hour: the span starts on the one
    // holding now.
    let quarter = Duration::minutes(15);
    let start = chrono::DateTime::from_timestamp(now().timestamp() / 900 * 900, 0).unwrap();
    let _pending = a.place(&[(v, 1)]).await.order;
    let paid = a.place(&[(v, 2)]).await.order;
    let refunded = a.place(&[(v, 3)]).await.order;
    let cancelled = a.place(&[(v, 4)]).await.order;
    b.place(&[(&b.product("q", &[("B", 500, 5)]).await.variants[0], 1)])
        .await;
    let end = now() + quarter;

    // Placed, none paid: four orders, no revenue.
    let sales = store.order_sales(a.tenant, start, end).await.unwrap();
    assert_eq!(sales.len(), 1, "{sales:?}");
    assert_eq!(sales[0].currency, paid.currency);
    assert_eq!((sales[0].orders, sales[0].revenue), (4, 0));

    // Every later write of an order moves the figures: payments add
    // their totals, a refund takes its amount off, a cancellation takes
    // the order out.
    let audit = ctx();
    let staffer = staff(&audit);
    for id in [paid.id, refunded.id] {
        store
            .transition_order(a.tenant, id, OrderStatus::Paid, &staffer)
            .await
            .unwrap();
    }
    store
        .transition_order(a.tenant, cancelled.id, OrderStatus::Cancelled, &staffer)
        .await
        .unwrap();
    let refund = |amount| NewRefund {
        id: RefundId::new(),
        amount,
        reason: None,
        restock: Vec::new(),
    };
    store
        .refund_order(a.tenant, paid.id, &refund(300), &staffer)
        .await
        .unwrap();
    store
        .refund_order(a.tenant, refunded.id, &refund(refunded.total), &staffer)
        .await
        .unwrap();
    let sales = store.order_sales(a.tenant, start, end).await.unwrap();
    assert_eq!(sales.len(), 1, "{sales:?}");
    assert_eq!(sales[0].orders, 3, "{sales:?}");
    assert_eq!(sales[0].revenue, paid.total - 300, "{sales:?}");

    // A span counts the quarter hours that begin in it: one starting a
    // second into this quarter and ending before the next holds none.
    let inside = store
        .order_sales(a.tenant, start + Duration::seconds(1), start + quarter)
        .await
        .unwrap();
    assert!(inside.is_empty(), "{inside:?}");
    // A span before anything, and another shop's: nothing of alpha's.
    let earlier = store
        .order_sales(
            a.tenant,
            start - Duration::days(8),
            start - Duration::days(7),
        )
        .await
        .unwrap();
    assert!(earlier.is_empty());
    let theirs = store.order_sales(b.tenant, start, end).await.unwrap();
    assert_eq!(theirs.len(), 1, "{theirs:?}");
    assert_eq!((theirs[0].orders, theirs[0].revenue), (1, 0));
}

#[tokio::test]
async fn orders_of_a_status_are_counted_up_to_a_cap_and_only_the_shops_own() {
    let db = connect().await;
    let (a, b) = (shop(&db, "alpha").await, shop(&db, "beta").await);
    let store = &db.store;
    let p = a.product("p", &[("A", 1000, 50)]).await;
    let mut ids = Vec::new();
    for _ in 0..4 {
        ids.push(a.place(&[(&p.variants[0], 1)]).await.order.id);
    }
    let audit = ctx();
    store
        .transition_order(a.tenant, ids[0], OrderStatus::Paid, &staff(&audit))
        .await
        .unwrap();
    let count = |tenant, status, cap| store.count_orders_upto(tenant, status, cap);
    assert_eq!(
        count(a.tenant, OrderStatus::PendingPayment, 10)
            .await
            .unwrap(),
        3
    );
    assert_eq!(
        count(a.tenant, OrderStatus::PendingPayment, 2)
            .await
            .unwrap(),
        2,
        "capped"
    );
    assert_eq!(count(a.tenant, OrderStatus::Paid, 10).await.unwrap(), 1);
    assert_eq!(
        count(a.tenant, OrderStatus::Fulfilled, 10).await.unwrap(),
        0
    );
    assert_eq!(
        count(b.tenant, OrderStatus::PendingPayment, 10)
            .await
            .unwrap(),
        0
    );
}

/// The sales counters (kept by SQL triggers in each backend) hold what the
/// one Rust rule, `rules::commerce::sales`, makes of the orders as they
/// are after a mixed history: placed, paid, fulfilled, delivered, refunded
/// in part and in full, cancelled, left pending.
#[tokio::test]
async fn sales_counters_agree_with_a_recount_of_the_orders_by_the_rule() {
    use storekeep_store::rules::commerce::sales;

    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let store = &db.store;
    let p = a.product("p", &[("A", 1250, 500)]).await;
    let v = &p.variants[0];
    let start = chrono::DateTime::from_timestamp(sales::slot_of(now().timestamp()), 0).unwrap();
    let audit = ctx();
    let staffer = staff(&audit);
    let refund = |amount| NewRefund {
        id: RefundId::new(),
        amount,
        reason: None,
        restock: Vec::new(),
    };
    for i in 0..18i64 {
        let order = a.place(&[(v, 1 + i % 4)]).await.order;
        let moves: &[OrderStatus] = match i % 6 {
            0 => &[],
            1 => &[OrderStatus::Paid],
            2 => &[OrderStatus::Paid, OrderStatus::Fulfilled],
            3 => &[
                OrderStatus::Paid,
                OrderStatus::Fulfilled,
                OrderStatus::Delivered,
            ],
            4 => &[OrderStatus::Cancelled],
            _ => &[OrderStatus::Paid],
        };
        for &to in moves {
            store
                .transition_order(a.tenant, order.id, to, &staffer)
                .await
                .unwrap();
        }
        // Some paid orders are refunded: a part, or all of it (then the
        // order is `refunded`).
        if matches!(i % 6, 1..=3) && i % 4 == 1 {
            store
                .refund_order(a.tenant, order.id, &refund(100 + i), &staffer)
                .await
                .unwrap();
        }
        if i % 6 == 5 || (matches!(i % 6, 1..=3) && i % 4 == 3) {
            store
                .refund_order(a.tenant, order.id, &refund(order.total), &staffer)
                .await
                .unwrap();
        }
    }
    assert_sales_agree_with_a_recount(store.as_ref(), a.tenant, start, 18).await;
}

/// Checkouts with a deal run alone, each inserting its one order by a
/// statement of its own (PostgreSQL's batch never takes them): the sales
/// counters count those orders, at their discounted totals, beside the
/// batched ones, and keep the recount's figures as they move on.
#[tokio::test]
async fn sales_counters_count_orders_checked_out_alone_with_a_deal() {
    use storekeep_store::rules::commerce::sales;

    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let store = &db.store;
    let p = a.product("p", &[("A", 1250, 500)]).await;
    let v = &p.variants[0];
    let deal = a.deal(crate::support::new_deal("tenth off")).await;
    let start = chrono::DateTime::from_timestamp(sales::slot_of(now().timestamp()), 0).unwrap();
    let audit = ctx();
    let staffer = staff(&audit);
    let mut discounted = 0;
    for i in 0..12i64 {
        let order = if i % 3 == 0 {
            a.place(&[(v, 1 + i % 4)]).await.order
        } else {
            let cart = a.cart(&[(v, 1 + i % 4)]).await;
            let new = a
                .order_for(&cart, std::slice::from_ref(&deal), &format!("user:{i}"))
                .await;
            let order = created(a.checkout(&new).await).order;
            assert!(order.discount > 0, "the deal applied: {order:?}");
            discounted += 1;
            order
        };
        let to = match i % 4 {
            0 | 1 => OrderStatus::Paid,
            2 => OrderStatus::Cancelled,
            _ => continue,
        };
        store
            .transition_order(a.tenant, order.id, to, &staffer)
            .await
            .unwrap();
    }
    assert_eq!(discounted, 8);
    assert_sales_agree_with_a_recount(store.as_ref(), a.tenant, start, 12).await;
}

/// `tenant`'s sales counters since `start` hold what the Rust rule makes
/// of its `n` orders, a history with revenue and cancellations in it.
async fn assert_sales_agree_with_a_recount(
    store: &dyn storekeep_store::Store,
    tenant: storekeep_domain::TenantId,
    start: chrono::DateTime<chrono::Utc>,
    n: usize,
) {
    use storekeep_store::rules::commerce::sales;

    let end = now() + Duration::minutes(15);
    let orders = all_pages(50, async |page| {
        store
            .list_orders(tenant, &OrderFilter::default(), &page)
            .await
    })
    .await;
    assert_eq!(orders.len(), n);
    let expected = sales::recount(orders.iter().map(|d| &d.order));
    assert!(
        expected[0].revenue > 0 && expected[0].orders < n as i64,
        "the history has revenue and cancellations: {expected:?}"
    );
    let counted = store.order_sales(tenant, start, end).await.unwrap();
    assert_eq!(counted, expected);
}

/// Checkouts of two shops at once go into the same batches (PostgreSQL
/// inserts a batch's orders in one statement, whose trigger adds them up
/// per shop, quarter hour and currency; SQLite's writer commits them
/// together). Each shop's counters hold exactly its own orders, as they
/// do after some of them move on one at a time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sales_counters_count_every_order_of_a_batch_of_several_shops() {
    use storekeep_store::BatchCounters;
    use storekeep_store::rules::commerce::sales;

    let db = connect().await;
    let shops = [shop(&db, "alpha").await, shop(&db, "beta").await];
    let store = db.store.clone();
    let mut variants = Vec::new();
    for s in &shops {
        variants.push(s.product("p", &[("A", 1250, 500)]).await.variants[0].clone());
    }
    let start = chrono::DateTime::from_timestamp(sales::slot_of(now().timestamp()), 0).unwrap();
    let batches = |c: &BatchCounters| {
        (
            BatchCounters::get(&c.batches),
            BatchCounters::get(&c.batched),
        )
    };
    let before = store.checkout_batches().map(batches);
    let mut orders = Vec::new();
    for s in 0..2 {
        for i in 0..12i64 {
            orders.push((s, shops[s].order(&[(&variants[s], 1 + i % 3)]).await));
        }
    }
    let placed = race(orders.len(), |i| {
        let (s, order) = orders[i].clone();
        let shop = shops[s].clone();
        async move { (s, created(shop.checkout(&order).await).order) }
    })
    .await;
    if let (Some(before), Some(after)) = (before, store.checkout_batches().map(batches)) {
        let (runs, checkouts) = (after.0 - before.0, after.1 - before.1);
        assert_eq!(checkouts, 24, "every checkout went through a batch");
        assert!(
            runs < checkouts,
            "some batch held several orders: {runs} batches"
        );
    }
    if store.kind() == storekeep_store::DatabaseKind::Postgres {
        // A batch stamps its orders with one time: one of alpha's and one
        // of beta's went in by the same statement.
        let shared = placed.iter().any(|(s, o)| {
            *s == 0
                && placed
                    .iter()
                    .any(|(t, p)| *t == 1 && p.created_at == o.created_at)
        });
        assert!(shared, "a batch held both shops' orders");
    }
    // Some move on, one at a time: paid, cancelled.
    let audit = ctx();
    let staffer = staff(&audit);
    for (n, (s, order)) in placed.iter().enumerate() {
        let to = match n % 4 {
            0 => OrderStatus::Paid,
            1 => OrderStatus::Cancelled,
            _ => continue,
        };
        store
            .transition_order(shops[*s].tenant, order.id, to, &staffer)
            .await
            .unwrap();
    }
    for s in &shops {
        assert_sales_agree_with_a_recount(store.as_ref(), s.tenant, start, 12).await;
    }
}
