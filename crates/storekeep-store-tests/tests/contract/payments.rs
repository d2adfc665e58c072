//! Payments: attempts, and settlement by provider events, each applied
//! once however often or concurrently it is delivered.

use storekeep_domain::{
    NewPayment, OrderStatus, PaymentId, PaymentOutcome, PaymentStatus, Settlement,
};
use storekeep_store::StoreError;

use crate::support::{connect, ctx, provider, race, shop, staff};

fn attempt(reference: &str, amount: i64) -> NewPayment {
    NewPayment {
        id: PaymentId::new(),
        provider: "test".into(),
        reference: reference.into(),
        amount,
    }
}

#[tokio::test]
async fn a_confirmation_pays_the_order_once_and_replays_are_duplicates() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let store = &db.store;
    let p = a.product("p", &[("A", 1000, 5)]).await;
    let order = a.place(&[(&p.variants[0], 2)]).await;

    let first = a.confirm(&order, "ev1").await.unwrap();
    let replay = a.confirm(&order, "ev1").await.unwrap();
    let second = a.confirm(&order, "ev2").await.unwrap();
    let second_replay = a.confirm(&order, "ev2").await.unwrap();

    assert_eq!(first, Settlement::Applied { order_paid: true });
    assert_eq!(replay, Settlement::Duplicate);
    assert_eq!(second, Settlement::AlreadySettled);
    assert_eq!(second_replay, Settlement::Duplicate);
    let detail = store.order(a.tenant, order.order.id).await.unwrap();
    assert_eq!(detail.order.status, OrderStatus::Paid);
    assert_eq!(detail.payments[0].status, PaymentStatus::Confirmed);
    assert_eq!(detail.transitions[1].actor, "provider:test");
    let stock = a.inventory(&p.variants[0]).await;
    assert_eq!((stock.on_hand, stock.reserved), (3, 0));
    assert_eq!(
        a.topics().await,
        [
            "order.created",
            "payment.created",
            "payment.confirmed",
            "order.paid"
        ]
    );
    assert_eq!(
        a.actions().await,
        ["product.create"],
        "providers are not audited"
    );
    a.assert_stock_listing().await;
}

#[tokio::test]
async fn a_declined_payment_leaves_the_order_awaiting_another_attempt() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let store = &db.store;
    let p = a.product("p", &[("A", 1000, 5)]).await;
    let order = a.place(&[(&p.variants[0], 1)]).await;
    let id = order.order.id;

    let while_pending = store
        .create_payment(a.tenant, id, &attempt("second", 1000))
        .await;
    let declined = store
        .settle_payment(
            "test",
            &order.payments[0].reference,
            "ev1",
            PaymentOutcome::Declined,
            &provider(),
        )
        .await
        .unwrap();
    let taken = store
        .create_payment(a.tenant, id, &attempt(&order.payments[0].reference, 1000))
        .await;
    let retried = store
        .create_payment(a.tenant, id, &attempt("second", 1000))
        .await
        .unwrap();

    assert!(matches!(while_pending, Err(StoreError::Invalid(_))));
    assert_eq!(declined, Settlement::Applied { order_paid: false });
    assert!(matches!(
        taken,
        Err(StoreError::Conflict { field: "reference" })
    ));
    assert_eq!(retried.order.status, OrderStatus::PendingPayment);
    let attempts: Vec<(&str, PaymentStatus)> = retried
        .payments
        .iter()
        .map(|p| (p.reference.as_str(), p.status))
        .collect();
    assert_eq!(
        attempts,
        [
            (
                order.payments[0].reference.as_str(),
                PaymentStatus::Declined
            ),
            ("second", PaymentStatus::Pending)
        ]
    );
    assert_eq!(
        a.inventory(&p.variants[0]).await.reserved,
        1,
        "still reserved"
    );
    assert_eq!(
        store.payment_by_reference("test", "second").await.unwrap(),
        (a.tenant, id)
    );
    let paid = store
        .settle_payment(
            "test",
            "second",
            "ev2",
            PaymentOutcome::Confirmed,
            &provider(),
        )
        .await
        .unwrap();
    assert_eq!(paid, Settlement::Applied { order_paid: true });
    let after = store
        .create_payment(a.tenant, id, &attempt("third", 1000))
        .await;
    assert!(
        matches!(after, Err(StoreError::Invalid(_))),
        "a paid order takes no payment"
    );
    assert_eq!(
        a.topics().await,
        [
            "order.created",
            "payment.created",
            "payment.declined",
            "payment.created",
            "payment.confirmed",
            "order.paid"
        ]
    );
}

#[tokio::test]
async fn a_late_confirmation_is_recorded_and_flagged_as_unmatched() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let store = &db.store;
    let p = a.product("p", &[("A", 1000, 5)]).await;
    let order = a.place(&[(&p.variants[0], 2)]).await;
    store
        .transition_order(
            a.tenant,
            order.order.id,
            storekeep_domain::OrderStatus::Cancelled,
            &staff(&ctx()),
        )
        .await
        .unwrap();

    let settled = a.confirm(&order, "late").await.unwrap();

    assert_eq!(settled, Settlement::Applied { order_paid: false });
    let detail = store.order(a.tenant, order.order.id).await.unwrap();
    assert_eq!(detail.order.status, OrderStatus::Cancelled);
    assert_eq!(detail.payments[0].status, PaymentStatus::Confirmed);
    let unmatched = a.events(Some("payment.unmatched")).await;
    assert_eq!(unmatched.len(), 1);
    assert_eq!(
        unmatched[0].payload["payment_id"],
        order.payments[0].id.to_string()
    );
    assert_eq!(a.available(&p).await, 5, "no stock is sold for it");
}

#[tokio::test]
async fn an_unknown_payment_reference_is_not_found() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let p = a.product("p", &[("A", 1000, 5)]).await;
    let order = a.place(&[(&p.variants[0], 1)]).await;

    let lookup = a.store.payment_by_reference("test", "unknown").await;
    let other_provider = a
        .store
        .payment_by_reference("other", &order.payments[0].reference)
        .await;
    let settle = a
        .store
        .settle_payment(
            "test",
            "unknown",
            "ev",
            PaymentOutcome::Confirmed,
            &provider(),
        )
        .await;

    assert!(matches!(lookup, Err(StoreError::NotFound("payment"))));
    assert!(matches!(
        other_provider,
        Err(StoreError::NotFound("payment"))
    ));
    assert!(matches!(settle, Err(StoreError::NotFound("payment"))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_deliveries_of_one_event_apply_it_once() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let p = a.product("p", &[("A", 1000, 5)]).await;
    let order = a.place(&[(&p.variants[0], 2)]).await;

    let same = race(10, |_| {
        let (a, order) = (a.clone(), order.clone());
        async move { a.confirm(&order, "ev-1").await.unwrap() }
    })
    .await;
    let others = race(10, |i| {
        let (a, order) = (a.clone(), order.clone());
        async move { a.confirm(&order, &format!("ev-other-{i}")).await.unwrap() }
    })
    .await;

    let applied = same
        .iter()
        .filter(|s| **s == Settlement::Applied { order_paid: true })
        .count();
    let duplicates = same.iter().filter(|s| **s == Settlement::Duplicate).count();
    assert_eq!((applied, duplicates), (1, 9));
    assert!(
        others.iter().all(|s| *s == Settlement::AlreadySettled),
        "{others:?}"
    );
    let stock = a.inventory(&p.variants[0]).await;
    assert_eq!((stock.on_hand, stock.reserved), (3, 0), "sold once");
    assert_eq!(a.events(Some("order.paid")).await.len(), 1);
}
