//! Refunds: never more than the order's total, never more units back than
//! a line sold, and the order refunded once the total is.

use storekeep_domain::{NewRefund, OrderLineId, OrderStatus, RefundId, RestockLine};
use storekeep_store::StoreError;

use crate::support::{chain, connect, ctx, race, shop, staff};

fn refund(amount: i64, restock: &[(OrderLineId, i64)]) -> NewRefund {
    NewRefund {
        id: RefundId::new(),
        amount,
        reason: None,
        restock: restock
            .iter()
            .map(|&(line_id, quantity)| RestockLine { line_id, quantity })
            .collect(),
    }
}

#[tokio::test]
async fn refunds_restock_within_limits_and_the_full_amount_refunds_the_order() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let store = &db.store;
    let audit = ctx();
    let p = a.product("p", &[("A", 1000, 5)]).await;
    let order = a.paid(&[(&p.variants[0], 2)]).await;
    let (id, line) = (order.order.id, order.order.lines[0].id);

    let refused = [
        store
            .refund_order(a.tenant, id, &refund(2001, &[]), &staff(&audit))
            .await
            .err(),
        store
            .refund_order(a.tenant, id, &refund(0, &[]), &staff(&audit))
            .await
            .err(),
        store
            .refund_order(a.tenant, id, &refund(1, &[(line, 3)]), &staff(&audit))
            .await
            .err(),
        store
            .refund_order(a.tenant, id, &refund(1, &[(line, 0)]), &staff(&audit))
            .await
            .err(),
        store
            .refund_order(
                a.tenant,
                id,
                &refund(1, &[(line, 1), (line, 2)]),
                &staff(&audit),
            )
            .await
            .err(),
    ];
    let unknown = store
        .refund_order(
            a.tenant,
            id,
            &refund(1, &[(OrderLineId::new(), 1)]),
            &staff(&audit),
        )
        .await;
    let mut first = refund(500, &[(line, 1)]);
    first.reason = Some("damaged".into());
    let partial = store
        .refund_order(a.tenant, id, &first, &staff(&audit))
        .await
        .unwrap();
    let too_many = store
        .refund_order(a.tenant, id, &refund(1, &[(line, 2)]), &staff(&audit))
        .await;
    let rest = refund(1500, &[]);
    let full = store
        .refund_order(a.tenant, id, &rest, &staff(&audit))
        .await
        .unwrap();
    let more = store
        .refund_order(a.tenant, id, &refund(1, &[]), &staff(&audit))
        .await;

    for e in refused {
        assert!(matches!(e, Some(StoreError::Invalid(_))), "{e:?}");
    }
    assert!(matches!(
        unknown,
        Err(StoreError::UnknownReference { field: "restock" })
    ));
    assert_eq!(
        (partial.order.refunded, partial.order.status),
        (500, OrderStatus::Paid)
    );
    assert_eq!(partial.order.lines[0].restocked, 1);
    assert_eq!(partial.refunds.len(), 1);
    assert_eq!(partial.refunds[0].reason.as_deref(), Some("damaged"));
    assert_eq!(partial.refunds[0].actor, "staff:test");
    assert!(matches!(too_many, Err(StoreError::Invalid(_))));
    assert_eq!(
        (full.order.refunded, full.order.status),
        (2000, OrderStatus::Refunded)
    );
    assert_eq!(full.refunds.len(), 2);
    assert_eq!(full.refunds[0].restock, first.restock);
    assert_eq!(full.transitions.last().unwrap().to, OrderStatus::Refunded);
    assert!(
        matches!(more, Err(StoreError::Invalid(_))),
        "a refunded order takes no more"
    );
    let stock = a.inventory(&p.variants[0]).await;
    assert_eq!((stock.on_hand, stock.reserved), (4, 0));
    let ledger = store
        .inventory_ledger(a.tenant, p.variants[0].id, &Default::default())
        .await
        .unwrap();
    assert_eq!(
        (ledger.items[0].delta, ledger.items[0].reason.clone()),
        (1, format!("order {id} refund"))
    );
    let topics = a.topics().await;
    assert_eq!(
        topics[4..],
        ["refund.created", "refund.created", "order.refunded"]
    );
    let refunds = a.events(Some("refund.created")).await;
    assert_eq!(refunds[0].payload["amount"], 500);
    let log = chain(store.as_ref(), &a.scope()).await;
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        ["product.create", "order.refund", "order.refund"],
        "one entry a refund"
    );
    a.assert_stock_listing().await;
}

#[tokio::test]
async fn only_paid_fulfilled_or_delivered_orders_are_refunded() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let store = &db.store;
    let p = a.product("p", &[("A", 1000, 10)]).await;
    let pending = a.place(&[(&p.variants[0], 1)]).await.order.id;
    let cancelled = a.place(&[(&p.variants[0], 1)]).await.order.id;
    store
        .transition_order(a.tenant, cancelled, OrderStatus::Cancelled, &staff(&ctx()))
        .await
        .unwrap();
    let delivered = a.paid(&[(&p.variants[0], 1)]).await.order.id;
    for to in [OrderStatus::Fulfilled, OrderStatus::Delivered] {
        store
            .transition_order(a.tenant, delivered, to, &staff(&ctx()))
            .await
            .unwrap();
    }

    let refused = [
        store
            .refund_order(a.tenant, pending, &refund(1, &[]), &staff(&ctx()))
            .await
            .err(),
        store
            .refund_order(a.tenant, cancelled, &refund(1, &[]), &staff(&ctx()))
            .await
            .err(),
    ];
    let done = store
        .refund_order(a.tenant, delivered, &refund(1000, &[]), &staff(&ctx()))
        .await
        .unwrap();

    for e in refused {
        assert!(matches!(e, Some(StoreError::Invalid(_))), "{e:?}");
    }
    assert_eq!(done.order.status, OrderStatus::Refunded);
    let last = done.transitions.last().unwrap();
    assert_eq!(
        (last.from, last.to),
        (Some(OrderStatus::Delivered), OrderStatus::Refunded)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_refunds_never_exceed_the_total_or_the_units_sold() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let p = a.product("p", &[("A", 500, 10)]).await;
    let order = a.paid(&[(&p.variants[0], 2)]).await;
    let (id, line) = (order.order.id, order.order.lines[0].id);

    let results = race(10, |_| {
        let a = a.clone();
        async move {
            a.store
                .refund_order(a.tenant, id, &refund(300, &[(line, 1)]), &staff(&ctx()))
                .await
        }
    })
    .await;

    let done = results.iter().filter(|r| r.is_ok()).count();
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Ok(_) | Err(StoreError::Invalid(_)))),
        "{results:?}"
    );
    assert_eq!(done, 2, "two units, so two restocking refunds");
    let detail = a.store.order(a.tenant, id).await.unwrap();
    assert_eq!(
        (detail.order.refunded, detail.order.lines[0].restocked),
        (600, 2)
    );
    assert_eq!(detail.order.status, OrderStatus::Paid);
    assert_eq!(a.inventory(&p.variants[0]).await.on_hand, 10);

    let money = race(10, |_| {
        let a = a.clone();
        async move {
            a.store
                .refund_order(a.tenant, id, &refund(100, &[]), &staff(&ctx()))
                .await
        }
    })
    .await;

    assert_eq!(
        money.iter().filter(|r| r.is_ok()).count(),
        4,
        "400 were left"
    );
    let detail = a.store.order(a.tenant, id).await.unwrap();
    assert_eq!(
        (detail.order.refunded, detail.order.status),
        (1000, OrderStatus::Refunded)
    );
    assert_eq!(detail.refunds.len(), 6);
    assert_eq!(a.events(Some("order.refunded")).await.len(), 1);
    a.assert_stock_listing().await;
}
