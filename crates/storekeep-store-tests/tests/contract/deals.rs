//! Deals and coupons: definitions, their time window, and the caps
//! checkout enforces (total uses, uses per customer, units sold), exact
//! under concurrency and given back when an order is cancelled.

use chrono::Duration;
use storekeep_domain::{
    CheckoutOutcome, Deal, DealId, DealKind, DealTarget, NewDeal, OrderStatus, Product,
};
use storekeep_store::{StoreError, now};

use crate::support::{Shop, all_pages, connect, created, ctx, new_deal, race, shop, staff};

fn coupon(code: &str, product: &Product) -> NewDeal {
    NewDeal {
        kind: DealKind::Percentage,
        value: 10,
        target: DealTarget::Products,
        product_ids: vec![product.id],
        code: Some(code.into()),
        ..new_deal(code)
    }
}

/// Races `n` one-unit checkouts under `deal`, customer `who(i)`; returns
/// how many were created and how many refused for the deal.
async fn race_for_deal(
    s: &Shop,
    p: &Product,
    deal: &Deal,
    n: usize,
    units: i64,
    who: fn(usize) -> String,
) -> (usize, usize) {
    let mut orders = Vec::new();
    for i in 0..n {
        let cart = s.cart(&[(&p.variants[0], units)]).await;
        let order = s
            .order_for(&cart, std::slice::from_ref(deal), &who(i))
            .await;
        assert_eq!(order.quote.deals.len(), 1, "priced with the deal");
        orders.push(order);
    }
    let outcomes = race(n, |i| {
        let (s, order) = (s.clone(), orders[i].clone());
        async move { s.store.checkout(s.tenant, &order).await.unwrap() }
    })
    .await;
    let made = outcomes
        .iter()
        .filter(|o| matches!(o, CheckoutOutcome::Created(_)))
        .count();
    let refused = outcomes
        .iter()
        .filter(|o| matches!(o, CheckoutOutcome::DealUnavailable(ids) if ids == &[deal.id]))
        .count();
    (made, refused)
}

#[tokio::test]
async fn deals_are_created_found_listed_replaced_and_deleted() {
    let db = connect().await;
    let (a, b) = (shop(&db, "alpha").await, shop(&db, "beta").await);
    let store = &db.store;
    let p = a.product("p", &[("A", 1000, 50)]).await;
    let new = coupon("TEN", &p);

    let deal = store.create_deal(a.tenant, &new, &ctx()).await.unwrap();
    let taken = store
        .create_deal(
            a.tenant,
            &NewDeal {
                id: DealId::new(),
                ..new.clone()
            },
            &ctx(),
        )
        .await;
    let elsewhere = store
        .create_deal(
            b.tenant,
            &NewDeal {
                id: DealId::new(),
                ..new.clone()
            },
            &ctx(),
        )
        .await;
    let auto = a.deal(new_deal("automatic")).await;
    let renamed = store
        .update_deal(
            a.tenant,
            &NewDeal {
                name: "renamed".into(),
                value: 15,
                ..new.clone()
            },
            &ctx(),
        )
        .await
        .unwrap();

    assert_eq!(
        (deal.id, deal.code.as_deref(), deal.uses, deal.units_sold),
        (new.id, Some("TEN"), 0, 0)
    );
    assert_eq!(
        (deal.kind, deal.target, deal.product_ids.clone()),
        (DealKind::Percentage, DealTarget::Products, vec![p.id])
    );
    assert!(matches!(taken, Err(StoreError::Conflict { field: "code" })));
    assert!(elsewhere.is_ok(), "codes are unique per shop only");
    assert_eq!(store.deal(a.tenant, deal.id).await.unwrap(), renamed);
    assert_eq!(store.deal_by_code(a.tenant, "TEN").await.unwrap(), renamed);
    assert_eq!(
        (renamed.name.as_str(), renamed.value, renamed.created_at),
        ("renamed", 15, deal.created_at)
    );
    let listed = all_pages(1, async |p| store.list_deals(a.tenant, &p).await).await;
    assert_eq!(listed, [auto.clone(), renamed.clone()], "newest first");
    store.delete_deal(a.tenant, deal.id, &ctx()).await.unwrap();
    assert!(matches!(
        store.deal(a.tenant, deal.id).await,
        Err(StoreError::NotFound("deal"))
    ));
    assert!(matches!(
        store.deal_by_code(a.tenant, "TEN").await,
        Err(StoreError::NotFound("deal"))
    ));
    assert!(matches!(
        store.delete_deal(a.tenant, deal.id, &ctx()).await,
        Err(StoreError::NotFound("deal"))
    ));
    let log = crate::support::chain(store.as_ref(), &a.scope()).await;
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "product.create",
            "deal.create",
            "deal.create",
            "deal.update",
            "deal.delete"
        ]
    );
    assert_eq!(log[3].before.as_ref().unwrap()["name"], "TEN");
    assert_eq!(log[3].after.as_ref().unwrap()["name"], "renamed");
}

#[tokio::test]
async fn deal_caps_hold_and_come_back_on_cancel() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let store = &db.store;
    let p = a.product("p", &[("A", 1000, 50)]).await;
    let new = NewDeal {
        max_uses: Some(2),
        max_uses_per_customer: Some(1),
        ..coupon("TEN", &p)
    };
    let deal = a.deal(new.clone()).await;
    let deals = std::slice::from_ref(&deal);
    let order = async |who: &str| {
        let cart = a.cart(&[(&p.variants[0], 1)]).await;
        a.order_for(&cart, deals, who).await
    };

    let first = order("user:1").await;
    assert_eq!((first.quote.deals.len(), first.quote.total), (1, 900));
    created(a.checkout(&first).await);
    // The same customer again: the per-customer cap.
    let again = order("user:1").await;
    match a.checkout(&again).await {
        CheckoutOutcome::DealUnavailable(ids) => assert_eq!(ids, [deal.id]),
        other => panic!("{other:?}"),
    }
    created(a.checkout(&order("user:2").await).await);
    // The total cap.
    let third = order("user:3").await;
    assert!(matches!(
        a.checkout(&third).await,
        CheckoutOutcome::DealUnavailable(_)
    ));
    let stored = store.deal(a.tenant, deal.id).await.unwrap();
    assert_eq!((stored.uses, stored.units_sold), (2, 2));
    assert_eq!(
        a.inventory(&p.variants[0]).await.reserved,
        2,
        "refusals reserve nothing"
    );
    // Cancelling gives the use back.
    store
        .transition_order(a.tenant, first.id, OrderStatus::Cancelled, &staff(&ctx()))
        .await
        .unwrap();
    let stored = store.deal(a.tenant, deal.id).await.unwrap();
    assert_eq!((stored.uses, stored.units_sold), (1, 1));
    created(a.checkout(&again).await);
    // Replacing the definition keeps the counters.
    let updated = store
        .update_deal(
            a.tenant,
            &NewDeal {
                name: "renamed".into(),
                ..new
            },
            &ctx(),
        )
        .await
        .unwrap();
    assert_eq!(
        (updated.name.as_str(), updated.uses, updated.units_sold),
        ("renamed", 2, 2)
    );
    a.assert_stock_listing().await;
}

#[tokio::test]
async fn an_expired_order_gives_its_deal_use_back() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let p = a.product("p", &[("A", 1000, 50)]).await;
    let deal = a
        .deal(NewDeal {
            max_uses: Some(1),
            max_units: Some(3),
            ..coupon("ONCE", &p)
        })
        .await;
    let cart = a.cart(&[(&p.variants[0], 3)]).await;
    let mut order = a
        .order_for(&cart, std::slice::from_ref(&deal), "user:1")
        .await;
    order.expires_at = now() - Duration::seconds(1);
    created(a.checkout(&order).await);
    let used = a.store.deal(a.tenant, deal.id).await.unwrap();

    assert_eq!(a.store.expire_orders(now(), 10).await.unwrap(), 1);

    let released = a.store.deal(a.tenant, deal.id).await.unwrap();
    assert_eq!((used.uses, used.units_sold), (1, 3));
    assert_eq!((released.uses, released.units_sold), (0, 0));
}

#[tokio::test]
async fn a_deal_switched_off_or_outside_its_window_is_unavailable_at_checkout() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let store = &db.store;
    let p = a.product("p", &[("A", 1000, 50)]).await;
    let new = NewDeal {
        target: DealTarget::Products,
        product_ids: vec![p.id],
        ..new_deal("automatic")
    };
    let deal = a.deal(new.clone()).await;
    let priced = async || {
        let cart = a.cart(&[(&p.variants[0], 1)]).await;
        a.order_for(&cart, std::slice::from_ref(&deal), "user:1")
            .await
    };
    let (off, ended, early) = (priced().await, priced().await, priced().await);

    let mut outcomes = Vec::new();
    for (patch, order) in [
        (
            NewDeal {
                active: false,
                ..new.clone()
            },
            &off,
        ),
        (
            NewDeal {
                ends_at: Some(now() - Duration::seconds(1)),
                ..new.clone()
            },
            &ended,
        ),
        (
            NewDeal {
                starts_at: Some(now() + Duration::hours(1)),
                ..new.clone()
            },
            &early,
        ),
    ] {
        store.update_deal(a.tenant, &patch, &ctx()).await.unwrap();
        outcomes.push(a.checkout(order).await);
    }

    for o in &outcomes {
        assert!(
            matches!(o, CheckoutOutcome::DealUnavailable(ids) if ids == &[deal.id]),
            "{o:?}"
        );
    }
    assert_eq!(a.inventory(&p.variants[0]).await.reserved, 0);
    assert!(a.orders().await.is_empty());
    assert_eq!(store.deal(a.tenant, deal.id).await.unwrap().uses, 0);
}

#[tokio::test]
async fn deals_between_lists_active_deals_overlapping_the_window() {
    let db = connect().await;
    let (a, b) = (shop(&db, "alpha").await, shop(&db, "beta").await);
    let at = now();
    let open = a.deal(new_deal("open")).await;
    let soon = a
        .deal(NewDeal {
            starts_at: Some(at + Duration::hours(1)),
            ..new_deal("soon")
        })
        .await;
    a.deal(NewDeal {
        starts_at: Some(at + Duration::days(2)),
        ..new_deal("later")
    })
    .await;
    a.deal(NewDeal {
        ends_at: Some(at - Duration::seconds(1)),
        ..new_deal("ended")
    })
    .await;
    a.deal(NewDeal {
        active: false,
        ..new_deal("off")
    })
    .await;
    b.deal(new_deal("theirs")).await;

    let live = a
        .store
        .deals_between(a.tenant, at, at + Duration::days(1))
        .await
        .unwrap();

    assert_eq!(live, [open, soon]);
}

#[tokio::test]
async fn another_shops_deals_are_not_found_listed_or_changed() {
    let db = connect().await;
    let (a, b) = (shop(&db, "alpha").await, shop(&db, "beta").await);
    let store = &db.store;
    let p = a.product("p", &[("A", 1000, 5)]).await;
    let new = coupon("MINE", &p);
    let deal = a.deal(new.clone()).await;

    let refused = [
        store.deal(b.tenant, deal.id).await.err(),
        store.deal_by_code(b.tenant, "MINE").await.err(),
        store.update_deal(b.tenant, &new, &ctx()).await.err(),
        store.delete_deal(b.tenant, deal.id, &ctx()).await.err(),
    ];

    for e in refused {
        assert!(matches!(e, Some(StoreError::NotFound("deal"))), "{e:?}");
    }
    assert!(
        store
            .list_deals(b.tenant, &Default::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let week = now() + Duration::days(7);
    assert!(
        store
            .deals_between(b.tenant, now(), week)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.deal(a.tenant, deal.id).await.unwrap(), deal);
    assert!(b.actions().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_coupon_capped_at_n_uses_is_used_exactly_n_times_under_concurrency() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let p = a.product("p", &[("A", 1000, 100)]).await;
    let deal = a
        .deal(NewDeal {
            max_uses: Some(5),
            ..coupon("FIVE", &p)
        })
        .await;

    let (made, refused) = race_for_deal(&a, &p, &deal, 24, 1, |i| format!("user:{i}")).await;

    assert_eq!((made, refused), (5, 19));
    let stored = a.store.deal(a.tenant, deal.id).await.unwrap();
    assert_eq!((stored.uses, stored.units_sold), (5, 5));
    assert_eq!(a.inventory(&p.variants[0]).await.reserved, 5);
    assert_eq!(a.orders().await.len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flash_sale_sells_exactly_its_units_under_concurrency() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let p = a.product("p", &[("A", 1000, 100)]).await;
    let deal = a
        .deal(NewDeal {
            max_units: Some(7),
            ..NewDeal {
                code: None,
                ..coupon("FLASH", &p)
            }
        })
        .await;

    let (made, refused) = race_for_deal(&a, &p, &deal, 16, 2, |i| format!("user:{i}")).await;

    assert_eq!((made, refused), (3, 13), "three pairs fit in seven units");
    let stored = a.store.deal(a.tenant, deal.id).await.unwrap();
    assert_eq!((stored.uses, stored.units_sold), (3, 6));
    assert_eq!(a.inventory(&p.variants[0]).await.reserved, 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_per_customer_cap_holds_under_concurrency() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let p = a.product("p", &[("A", 1000, 100)]).await;
    let deal = a
        .deal(NewDeal {
            max_uses_per_customer: Some(2),
            ..coupon("TWICE", &p)
        })
        .await;

    let (made, refused) = race_for_deal(&a, &p, &deal, 12, 1, |_| "user:1".into()).await;

    assert_eq!((made, refused), (2, 10));
    assert_eq!(a.store.deal(a.tenant, deal.id).await.unwrap().uses, 2);
}
