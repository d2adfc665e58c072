//! Variants and stock: adding, changing and deleting variants, and the
//! inventory ledger every stock change is written to.

use storekeep_domain::{
    CheckoutOutcome, InventoryAdjustment, MAX_QUANTITY, MAX_VARIANTS, Sku, VariantPatch,
};
use storekeep_store::StoreError;

use crate::support::{all_pages, chain, connect, ctx, new_variant, page, race, shop, usd};

#[tokio::test]
async fn variants_are_added_changed_and_deleted_but_never_the_last() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let store = &db.store;
    let p = a.product("tee", &[("T-S", 1000, 2)]).await;

    let added = store
        .add_variant(a.tenant, p.id, &new_variant("T-M", 1200, 4), &ctx())
        .await
        .unwrap();
    let changed = store
        .update_variant(
            a.tenant,
            added.id,
            &VariantPatch {
                sku: Some(Sku::parse("T-MED").unwrap()),
                price: Some(usd(1100)),
                compare_at_price: Some(Some(usd(1500))),
                ..VariantPatch::default()
            },
            &ctx(),
        )
        .await
        .unwrap();
    let taken = store
        .update_variant(
            a.tenant,
            added.id,
            &VariantPatch {
                sku: Some(Sku::parse("T-S").unwrap()),
                ..VariantPatch::default()
            },
            &ctx(),
        )
        .await;
    let duplicate = store
        .add_variant(a.tenant, p.id, &new_variant("T-S", 1, 1), &ctx())
        .await;
    store
        .delete_variant(a.tenant, p.variants[0].id, &ctx())
        .await
        .unwrap();
    let last = store.delete_variant(a.tenant, added.id, &ctx()).await;

    assert_eq!(
        (added.position, added.inventory.on_hand, added.product_id),
        (1, 4, p.id)
    );
    assert_eq!(
        (changed.sku.as_str(), changed.price.amount),
        ("T-MED", 1100)
    );
    assert_eq!(changed.compare_at_price, Some(usd(1500)));
    assert_eq!(
        (changed.title.as_str(), changed.inventory),
        ("T-M", added.inventory)
    );
    assert!(matches!(taken, Err(StoreError::Conflict { field: "sku" })));
    assert!(matches!(
        duplicate,
        Err(StoreError::Conflict { field: "sku" })
    ));
    assert!(matches!(last, Err(StoreError::Invalid(_))));
    let now = store.product(a.tenant, p.id).await.unwrap();
    assert_eq!(now.variants, [changed]);
    assert_eq!(
        a.actions().await,
        [
            "product.create",
            "variant.create",
            "variant.update",
            "variant.delete"
        ]
    );
}

#[tokio::test]
async fn a_product_holds_at_most_its_variant_limit() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let store = &db.store;
    let skus: Vec<String> = (0..MAX_VARIANTS).map(|i| format!("V-{i}")).collect();
    let variants: Vec<(&str, i64, i64)> = skus.iter().map(|s| (s.as_str(), 100, 0)).collect();
    let p = a.product("many", &variants).await;

    let one_more = store
        .add_variant(a.tenant, p.id, &new_variant("V-X", 1, 1), &ctx())
        .await;

    assert!(matches!(one_more, Err(StoreError::Invalid(_))));
    assert_eq!(
        store.product(a.tenant, p.id).await.unwrap().variants.len(),
        MAX_VARIANTS
    );
}

#[tokio::test]
async fn a_variant_with_reserved_stock_is_not_deleted() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let p = a
        .product("tee", &[("T-S", 1000, 2), ("T-M", 1000, 2)])
        .await;
    a.place(&[(&p.variants[0], 1)]).await;

    let reserved = a
        .store
        .delete_variant(a.tenant, p.variants[0].id, &ctx())
        .await;

    assert!(matches!(reserved, Err(StoreError::Invalid(_))));
    assert_eq!(a.inventory(&p.variants[0]).await.reserved, 1);
}

#[tokio::test]
async fn adjusting_stock_writes_the_ledger_newest_first() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let store = &db.store;
    let p = a.product("tee", &[("T-S", 1000, 5)]).await;
    let v = p.variants[0].id;

    let (after, adjustment) = store
        .adjust_inventory(a.tenant, v, 4, "delivery", &ctx())
        .await
        .unwrap();
    store
        .adjust_inventory(a.tenant, v, -6, "damaged", &ctx())
        .await
        .unwrap();
    store
        .adjust_inventory(a.tenant, v, 1, "found", &ctx())
        .await
        .unwrap();

    assert_eq!((after.inventory.on_hand, after.inventory.available), (9, 9));
    assert_eq!((adjustment.delta, adjustment.on_hand_after), (4, 9));
    assert_eq!(
        (adjustment.variant_id, adjustment.reason.as_str()),
        (v, "delivery")
    );
    let ledger: Vec<InventoryAdjustment> =
        all_pages(2, async |p| store.inventory_ledger(a.tenant, v, &p).await).await;
    let lines: Vec<(i64, &str, i64)> = ledger
        .iter()
        .map(|e| (e.delta, e.reason.as_str(), e.on_hand_after))
        .collect();
    assert_eq!(
        lines,
        [
            (1, "found", 4),
            (-6, "damaged", 3),
            (4, "delivery", 9),
            (5, "initial", 5)
        ]
    );
    assert_eq!(ledger[2], adjustment);
    assert_eq!(a.inventory(&p.variants[0]).await.on_hand, 4);
    let log = chain(store.as_ref(), &a.scope()).await;
    assert_eq!(
        log.iter()
            .filter(|e| e.action == "inventory.adjust")
            .count(),
        3
    );
    a.assert_stock_listing().await;
}

#[tokio::test]
async fn stock_never_goes_below_zero_below_the_reserved_or_above_the_largest_quantity() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let store = &db.store;
    let p = a.product("tee", &[("T-S", 1000, 5)]).await;
    let v = p.variants[0].id;
    a.place(&[(&p.variants[0], 3)]).await;

    let below_zero = store.adjust_inventory(a.tenant, v, -6, "x", &ctx()).await;
    let below_reserved = store.adjust_inventory(a.tenant, v, -3, "x", &ctx()).await;
    let too_many = store
        .adjust_inventory(a.tenant, v, MAX_QUANTITY, "x", &ctx())
        .await;
    let overflow = store
        .adjust_inventory(a.tenant, v, i64::MAX, "x", &ctx())
        .await;
    let to_reserved = store.adjust_inventory(a.tenant, v, -2, "x", &ctx()).await;

    for refused in [below_zero, below_reserved, too_many, overflow] {
        assert!(
            matches!(refused, Err(StoreError::Invalid(_))),
            "{refused:?}"
        );
    }
    let (after, _) = to_reserved.unwrap();
    assert_eq!(
        (
            after.inventory.on_hand,
            after.inventory.reserved,
            after.inventory.available
        ),
        (3, 3, 0)
    );
    let ledger = store
        .inventory_ledger(a.tenant, v, &Default::default())
        .await
        .unwrap();
    assert_eq!(ledger.items.len(), 2, "refusals leave no ledger entry");
    assert_eq!(
        a.actions().await,
        ["product.create", "inventory.adjust"],
        "nor an audit entry"
    );
    a.assert_stock_listing().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_adjustments_never_take_stock_below_zero() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let p = a.product("tee", &[("T-S", 1000, 10)]).await;
    let v = p.variants[0].id;

    let results = race(32, |_| {
        let a = a.clone();
        async move {
            a.store
                .adjust_inventory(a.tenant, v, -1, "sold", &ctx())
                .await
        }
    })
    .await;

    let taken = results.iter().filter(|r| r.is_ok()).count();
    let refused = results
        .iter()
        .filter(|r| matches!(r, Err(StoreError::Invalid(_))))
        .count();
    assert_eq!((taken, refused), (10, 22));
    let mut after: Vec<i64> = results
        .iter()
        .flatten()
        .map(|(_, adj)| adj.on_hand_after)
        .collect();
    after.sort_unstable();
    assert_eq!(after, (0..10).collect::<Vec<i64>>(), "each unit taken once");
    assert_eq!(a.inventory(&p.variants[0]).await.on_hand, 0);
    let ledger = a
        .store
        .inventory_ledger(a.tenant, v, &page(100, None))
        .await
        .unwrap();
    assert_eq!(ledger.items.len(), 11);
    a.assert_stock_listing().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adjustments_racing_checkouts_never_take_reserved_stock() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let p = a.product("tee", &[("T-S", 1000, 8)]).await;
    let v = p.variants[0].clone();
    let mut orders = Vec::new();
    for _ in 0..8 {
        orders.push(a.order(&[(&v, 1)]).await);
    }

    // Even tasks check out one unit each, odd ones write one off.
    let results = race(16, |i| {
        let a = a.clone();
        let order = (i % 2 == 0).then(|| orders[i / 2].clone());
        async move {
            match order {
                Some(o) => matches!(
                    a.store.checkout(a.tenant, &o).await.unwrap(),
                    CheckoutOutcome::Created(_)
                ),
                None => a
                    .store
                    .adjust_inventory(a.tenant, v.id, -1, "written off", &ctx())
                    .await
                    .is_ok(),
            }
        }
    })
    .await;

    let sold = results.iter().step_by(2).filter(|ok| **ok).count() as i64;
    let removed = results.iter().skip(1).step_by(2).filter(|ok| **ok).count() as i64;
    assert_eq!(sold + removed, 8, "every unit went exactly once");
    let stock = a.inventory(&v).await;
    assert_eq!((stock.on_hand, stock.reserved), (8 - removed, sold));
    assert_eq!(stock.available, 0);
    a.assert_stock_listing().await;
}

#[tokio::test]
async fn variants_low_on_stock_are_counted_up_to_a_cap_reservations_included() {
    // The threshold is the rule's constant and the schema's generated
    // column (`variants.low_stock`) alike: a variant with exactly that
    // many units counts, one with a unit more does not.
    const LOW: i64 = storekeep_store::rules::catalog::LOW_STOCK_UNITS;
    let db = crate::support::connect().await;
    let (a, b) = (
        crate::support::shop(&db, "alpha").await,
        crate::support::shop(&db, "beta").await,
    );
    let store = &db.store;
    a.product(
        "p",
        &[
            ("A", 1000, 0),
            ("B", 1000, LOW),
            ("C", 1000, LOW + 1),
            ("D", 1000, 10),
        ],
    )
    .await;
    b.product("q", &[("E", 1000, 0)]).await;
    assert_eq!(store.count_low_stock_upto(a.tenant, 10).await.unwrap(), 2);
    assert_eq!(
        store.count_low_stock_upto(a.tenant, 1).await.unwrap(),
        1,
        "capped"
    );
    // Units reserved by an unpaid order are not available: 3 of 5
    // reserved leaves 2.
    let p = a.product("r", &[("F", 1000, LOW + 3)]).await;
    a.place(&[(&p.variants[0], 3)]).await;
    assert_eq!(store.count_low_stock_upto(a.tenant, 10).await.unwrap(), 3);
    assert_eq!(store.count_low_stock_upto(b.tenant, 10).await.unwrap(), 1);
}
