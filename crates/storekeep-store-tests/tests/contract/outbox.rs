//! The outbox: every order, payment and refund change writes its event in
//! the change's transaction; events list oldest first, per shop.

use storekeep_domain::{NewRefund, OrderStatus, RefundId};
use storekeep_store::StoreError;
use storekeep_store::commerce::events;

use crate::support::{all_pages, connect, ctx, page, shop, staff};

#[tokio::test]
async fn events_list_oldest_first_by_cursor_and_topic_per_shop() {
    let db = connect().await;
    let (a, b) = (shop(&db, "alpha").await, shop(&db, "beta").await);
    let store = &db.store;
    let p = a.product("p", &[("A", 1000, 10)]).await;
    let q = b.product("q", &[("Q", 1000, 10)]).await;
    let first = a.place(&[(&p.variants[0], 1)]).await;
    b.place(&[(&q.variants[0], 1)]).await;
    let second = a.paid(&[(&p.variants[0], 2)]).await;

    let listed = all_pages(2, async |pg| store.list_events(a.tenant, None, &pg).await).await;
    let created = all_pages(1, async |pg| {
        store
            .list_events(a.tenant, Some("order.created"), &pg)
            .await
    })
    .await;

    let topics: Vec<&str> = listed.iter().map(|e| e.topic.as_str()).collect();
    assert_eq!(
        topics,
        [
            "order.created",
            "payment.created",
            "order.created",
            "payment.created",
            "payment.confirmed",
            "order.paid"
        ]
    );
    assert!(
        listed
            .windows(2)
            .all(|w| w[0].id < w[1].id && w[0].created_at <= w[1].created_at)
    );
    assert_eq!(listed[0].subject, format!("order:{}", first.order.id));
    assert_eq!(listed[5].subject, format!("order:{}", second.order.id));
    assert_eq!(
        listed[1].payload,
        events::payment(
            "created",
            first.order.id,
            first.payments[0].id,
            "test",
            1000
        )
        .1
    );
    assert_eq!(
        listed[5].payload,
        events::order_moved(
            second.order.id,
            OrderStatus::PendingPayment,
            OrderStatus::Paid,
            "provider:test",
            None
        )
        .1
    );
    assert_eq!(created.len(), 2);
    assert_eq!(b.topics().await, ["order.created", "payment.created"]);
    let bad = store
        .list_events(a.tenant, None, &page(2, Some("nope".into())))
        .await;
    assert!(matches!(bad, Err(StoreError::InvalidCursor)));
}

#[tokio::test]
async fn refused_order_changes_write_no_event() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let store = &db.store;
    let p = a.product("p", &[("A", 1000, 10)]).await;
    let order = a.place(&[(&p.variants[0], 1)]).await;
    let id = order.order.id;
    let before = a.events(None).await;

    let refused = [
        store
            .transition_order(a.tenant, id, OrderStatus::Fulfilled, &staff(&ctx()))
            .await
            .err(),
        store
            .refund_order(
                a.tenant,
                id,
                &NewRefund {
                    id: RefundId::new(),
                    amount: 1,
                    reason: None,
                    restock: vec![],
                },
                &staff(&ctx()),
            )
            .await
            .err(),
    ];

    assert!(
        refused
            .iter()
            .all(|e| matches!(e, Some(StoreError::Invalid(_)))),
        "{refused:?}"
    );
    assert_eq!(a.events(None).await, before);
    assert_eq!(a.actions().await, ["product.create"]);
}

#[tokio::test]
async fn event_pages_neither_skip_nor_repeat_while_orders_are_placed() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let p = a.product("p", &[("A", 1000, 100)]).await;
    for _ in 0..3 {
        a.place(&[(&p.variants[0], 1)]).await;
    }
    let originals = a.events(None).await;

    let mut seen = Vec::new();
    let mut after = None;
    for placed in 0.. {
        let got = a
            .store
            .list_events(a.tenant, None, &page(2, after))
            .await
            .unwrap();
        seen.extend(got.items);
        // Two events appear behind every page, three times.
        if placed < 3 {
            a.place(&[(&p.variants[0], 1)]).await;
        }
        match got.next_cursor {
            Some(c) => after = Some(c),
            None => break,
        }
    }

    assert_eq!(
        seen[..originals.len()],
        originals[..],
        "the first ones in order"
    );
    assert_eq!(
        seen.len(),
        originals.len() + 6,
        "and the new ones after them"
    );
    assert!(
        seen.windows(2).all(|w| w[0].id < w[1].id),
        "none twice, none out of order"
    );
}
