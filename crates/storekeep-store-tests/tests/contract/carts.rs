//! Carts: lines merged per variant within their limits, choices patched,
//! and nothing changed once the cart became an order.

use std::collections::HashSet;

use storekeep_domain::{
    CartId, CartItemId, CartPatch, CartStatus, MAX_CART_LINES, MAX_LINE_QUANTITY, NewCart,
    ProductStatus, UserId, VariantId,
};
use storekeep_store::StoreError;

use chrono::Duration;
use storekeep_domain::NewDeal;
use storekeep_store::now;

use crate::support::{connect, ctx, new_deal, new_product, on_postgres, race, shop};

#[tokio::test]
async fn a_new_cart_is_open_empty_and_read_back_as_made() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let customer = UserId::new();
    let new = NewCart {
        id: CartId::new(),
        customer_id: Some(customer),
        token_hash: "token".into(),
    };

    let cart = a.store.create_cart(a.tenant, &new).await.unwrap();

    assert_eq!(
        (cart.id, cart.customer_id, cart.status),
        (new.id, Some(customer), CartStatus::Open)
    );
    assert!(cart.items.is_empty() && cart.order_id.is_none() && cart.coupon_code.is_none());
    assert_eq!(cart.token_hash, "token");
    assert_eq!(a.store.cart(a.tenant, new.id).await.unwrap(), cart);
}

#[tokio::test]
async fn cart_lines_merge_and_respect_limits() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let store = &db.store;
    let p = a.product("p", &[("A", 1000, 5), ("B", 5, 5)]).await;
    let cart = a.cart(&[(&p.variants[0], 2)]).await;

    let merged = store
        .add_cart_item(a.tenant, cart.id, p.variants[0].id, 3)
        .await
        .unwrap();
    let too_many = store
        .add_cart_item(a.tenant, cart.id, p.variants[0].id, MAX_LINE_QUANTITY)
        .await;
    let unknown = store
        .add_cart_item(a.tenant, cart.id, VariantId::new(), 1)
        .await;
    let two = store
        .add_cart_item(a.tenant, cart.id, p.variants[1].id, 1)
        .await
        .unwrap();
    let set = store
        .set_cart_item(a.tenant, cart.id, two.items[1].id, 4)
        .await
        .unwrap();
    let removed = store
        .remove_cart_item(a.tenant, cart.id, set.items[0].id)
        .await
        .unwrap();
    let missing = store
        .remove_cart_item(a.tenant, cart.id, CartItemId::new())
        .await;
    let missing_set = store
        .set_cart_item(a.tenant, cart.id, CartItemId::new(), 1)
        .await;

    assert_eq!(merged.items.len(), 1);
    assert_eq!(merged.items[0].quantity, 5);
    assert!(merged.updated_at >= cart.updated_at);
    assert!(matches!(too_many, Err(StoreError::Invalid(_))));
    assert!(matches!(
        unknown,
        Err(StoreError::UnknownReference {
            field: "variant_id"
        })
    ));
    assert_eq!(
        two.items[1].variant_id, p.variants[1].id,
        "lines in the order added"
    );
    assert_eq!(set.items[1].quantity, 4);
    assert_eq!(removed.items.len(), 1);
    assert_eq!(removed.items[0].variant_id, p.variants[1].id);
    assert!(matches!(missing, Err(StoreError::NotFound("cart item"))));
    assert!(matches!(
        missing_set,
        Err(StoreError::NotFound("cart item"))
    ));
    assert_eq!(store.cart(a.tenant, cart.id).await.unwrap(), removed);
}

#[tokio::test]
async fn quantities_outside_one_to_the_line_maximum_are_invalid() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let store = &db.store;
    let p = a.product("p", &[("A", 1000, 5)]).await;
    let cart = a.cart(&[(&p.variants[0], 1)]).await;
    let item = cart.items[0].id;

    let refused = [
        store
            .add_cart_item(a.tenant, cart.id, p.variants[0].id, 0)
            .await
            .err(),
        store
            .add_cart_item(a.tenant, cart.id, p.variants[0].id, -1)
            .await
            .err(),
        store.set_cart_item(a.tenant, cart.id, item, 0).await.err(),
        store
            .set_cart_item(a.tenant, cart.id, item, MAX_LINE_QUANTITY + 1)
            .await
            .err(),
    ];
    let at_max = store
        .set_cart_item(a.tenant, cart.id, item, MAX_LINE_QUANTITY)
        .await
        .unwrap();

    for e in refused {
        assert!(matches!(e, Some(StoreError::Invalid(_))), "{e:?}");
    }
    assert_eq!(at_max.items[0].quantity, MAX_LINE_QUANTITY);
}

#[tokio::test]
async fn a_cart_holds_at_most_its_line_limit() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let store = &db.store;
    let skus: Vec<String> = (0..=MAX_CART_LINES).map(|i| format!("S-{i}")).collect();
    let mut ids = Vec::new();
    for chunk in skus.chunks(50) {
        let variants: Vec<(&str, i64, i64)> = chunk.iter().map(|s| (s.as_str(), 10, 1)).collect();
        let p = a.product(&format!("p{}", ids.len()), &variants).await;
        ids.extend(p.variants.iter().map(|v| v.id));
    }
    let cart = a.cart(&[]).await;
    for id in &ids[..MAX_CART_LINES] {
        store
            .add_cart_item(a.tenant, cart.id, *id, 1)
            .await
            .unwrap();
    }

    let one_more = store
        .add_cart_item(a.tenant, cart.id, ids[MAX_CART_LINES], 1)
        .await;
    let merge = store.add_cart_item(a.tenant, cart.id, ids[0], 1).await;

    assert!(matches!(one_more, Err(StoreError::Invalid(_))));
    assert_eq!(
        merge.unwrap().items.len(),
        MAX_CART_LINES,
        "a known line still grows"
    );
}

#[tokio::test]
async fn a_cart_patch_sets_or_clears_only_the_choices_it_names() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let store = &db.store;
    let cart = a.cart(&[]).await;

    let set = store
        .update_cart(
            a.tenant,
            cart.id,
            &CartPatch {
                coupon_code: Some(Some("TEN".into())),
                shipping_method: Some(Some("express".into())),
                country: Some(Some("US".into())),
                region: Some(Some("CA".into())),
            },
        )
        .await
        .unwrap();
    let cleared = store
        .update_cart(
            a.tenant,
            cart.id,
            &CartPatch {
                coupon_code: Some(None),
                ..Default::default()
            },
        )
        .await
        .unwrap();

    assert_eq!(set.coupon_code.as_deref(), Some("TEN"));
    assert_eq!(set.shipping_method.as_deref(), Some("express"));
    assert_eq!(
        (set.country.as_deref(), set.region.as_deref()),
        (Some("US"), Some("CA"))
    );
    assert_eq!(cleared.coupon_code, None);
    assert_eq!(
        (
            cleared.shipping_method.as_deref(),
            cleared.country.as_deref(),
            cleared.region.as_deref()
        ),
        (Some("express"), Some("US"), Some("CA"))
    );
    assert_eq!(store.cart(a.tenant, cart.id).await.unwrap(), cleared);
}

#[tokio::test]
async fn a_checked_out_cart_refuses_every_change() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let store = &db.store;
    let p = a.product("p", &[("A", 1000, 5), ("B", 10, 5)]).await;
    let order = a.order(&[(&p.variants[0], 1)]).await;
    a.checkout(&order).await;
    let cart = store.cart(a.tenant, order.cart_id).await.unwrap();
    let item = cart.items[0].id;

    let refused = [
        store
            .update_cart(a.tenant, cart.id, &CartPatch::default())
            .await
            .err(),
        store
            .add_cart_item(a.tenant, cart.id, p.variants[1].id, 1)
            .await
            .err(),
        store.set_cart_item(a.tenant, cart.id, item, 2).await.err(),
        store.remove_cart_item(a.tenant, cart.id, item).await.err(),
    ];

    for e in refused {
        assert!(
            matches!(e, Some(StoreError::Invalid("the cart is checked out"))),
            "{e:?}"
        );
    }
    assert_eq!(
        (cart.status, cart.order_id),
        (CartStatus::CheckedOut, Some(order.id))
    );
    assert_eq!(store.cart(a.tenant, cart.id).await.unwrap(), cart);
}

#[tokio::test]
async fn another_shops_cart_and_variants_are_out_of_reach() {
    let db = connect().await;
    let (a, b) = (shop(&db, "alpha").await, shop(&db, "beta").await);
    let store = &db.store;
    let p = a.product("p", &[("A", 1000, 5)]).await;
    let theirs = b.product("q", &[("Q", 1000, 5)]).await;
    let cart = a.cart(&[(&p.variants[0], 1)]).await;
    let item = cart.items[0].id;
    let mine = b.cart(&[]).await;

    let not_found = [
        store.cart(b.tenant, cart.id).await.err(),
        store
            .update_cart(b.tenant, cart.id, &CartPatch::default())
            .await
            .err(),
        store
            .add_cart_item(b.tenant, cart.id, theirs.variants[0].id, 1)
            .await
            .err(),
        store.set_cart_item(b.tenant, cart.id, item, 2).await.err(),
        store.remove_cart_item(b.tenant, cart.id, item).await.err(),
    ];
    let foreign_variant = store
        .add_cart_item(b.tenant, mine.id, p.variants[0].id, 1)
        .await;
    let foreign_item = store.remove_cart_item(b.tenant, mine.id, item).await;

    for e in not_found {
        assert!(matches!(e, Some(StoreError::NotFound("cart"))), "{e:?}");
    }
    assert!(matches!(
        foreign_variant,
        Err(StoreError::UnknownReference {
            field: "variant_id"
        })
    ));
    assert!(matches!(
        foreign_item,
        Err(StoreError::NotFound("cart item"))
    ));
    assert_eq!(store.cart(a.tenant, cart.id).await.unwrap(), cart);
}

#[tokio::test]
async fn sale_variants_carry_their_products_title_status_and_categories() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let store = &db.store;
    let cats = vec![a.category("hats").await.id, a.category("sale").await.id];
    let mut new = new_product("cap", &[("C-1", 900, 1), ("C-2", 950, 0)]);
    new.categories = cats.clone();
    new.status = ProductStatus::Draft;
    let p = store
        .create_product(a.tenant, &new, 10, &ctx())
        .await
        .unwrap();
    let plain = a.product("plain", &[("P-1", 100, 1)]).await;

    let found = store
        .sale_variants(
            a.tenant,
            &[p.variants[1].id, VariantId::new(), plain.variants[0].id],
        )
        .await
        .unwrap();

    assert_eq!(found.len(), 2, "the unknown variant is left out");
    let c2 = found
        .iter()
        .find(|v| v.variant_id == p.variants[1].id)
        .unwrap();
    assert_eq!(
        (c2.product_id, c2.sku.as_str(), c2.price),
        (p.id, "C-2", 950)
    );
    assert_eq!(
        (c2.variant_title.as_str(), c2.product_title.as_str()),
        ("C-2", "cap")
    );
    assert_eq!(c2.status, ProductStatus::Draft);
    assert_eq!(
        c2.categories.iter().collect::<HashSet<_>>(),
        cats.iter().collect()
    );
    let other = found
        .iter()
        .find(|v| v.variant_id == plain.variants[0].id)
        .unwrap();
    assert!(other.categories.is_empty());
    assert!(store.sale_variants(a.tenant, &[]).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cart_to_price_answers_what_its_three_reads_answer() {
    let db = connect().await;
    let (a, b) = (shop(&db, "alpha").await, shop(&db, "beta").await);
    let store = &db.store;
    let mut new = new_product("cap", &[("C-1", 900, 5), ("C-2", 950, 5)]);
    new.categories = vec![a.category("hats").await.id, a.category("sale").await.id];
    let p = store
        .create_product(a.tenant, &new, 10, &ctx())
        .await
        .unwrap();
    let plain = a.product("plain", &[("P-1", 100, 5)]).await;
    let at = now();
    let open = a.deal(new_deal("open")).await;
    a.deal(NewDeal {
        ends_at: Some(at - Duration::seconds(1)),
        ..new_deal("ended")
    })
    .await;
    a.deal(NewDeal {
        starts_at: Some(at + Duration::hours(1)),
        ..new_deal("soon")
    })
    .await;
    b.deal(new_deal("theirs")).await;
    let new_cart = NewCart {
        id: CartId::new(),
        customer_id: None,
        token_hash: "token".into(),
    };
    let cart = store.create_cart(a.tenant, &new_cart).await.unwrap();
    let empty = store.cart_to_price(a.tenant, cart.id, at).await.unwrap();
    assert!(empty.cart.items.is_empty() && empty.variants.is_empty());
    for (variant, units) in [
        (p.variants[1].id, 2),
        (plain.variants[0].id, 1),
        (p.variants[0].id, 3),
    ] {
        store
            .add_cart_item(a.tenant, cart.id, variant, units)
            .await
            .unwrap();
    }

    let read = store.cart_to_price(a.tenant, cart.id, at).await.unwrap();

    let cart = store.cart(a.tenant, cart.id).await.unwrap();
    assert_eq!(read.cart, cart, "the cart, its lines in the order added");
    let ids: Vec<VariantId> = cart.items.iter().map(|i| i.variant_id).collect();
    let sorted = |mut v: Vec<storekeep_domain::SaleVariant>| {
        v.sort_by_key(|s| s.variant_id);
        for s in &mut v {
            s.categories.sort_unstable();
        }
        v
    };
    let variants = sorted(store.sale_variants(a.tenant, &ids).await.unwrap());
    assert_eq!(variants.len(), 3);
    assert_eq!(sorted(read.variants), variants);
    assert_eq!(
        read.deals,
        store.deals_between(a.tenant, at, at).await.unwrap()
    );
    assert_eq!(read.deals, [open], "only the shop's deal live at that time");
    assert!(matches!(
        store.cart_to_price(b.tenant, cart.id, at).await,
        Err(StoreError::NotFound("cart"))
    ));

    // Reads made at once (on PostgreSQL, one statement for whatever has
    // queued: `commerce/to_price_reads.rs`) answer each as it is answered
    // alone: by its own shop and at its own time.
    let later = at + Duration::hours(2);
    let alone_later = store.cart_to_price(a.tenant, cart.id, later).await.unwrap();
    assert_eq!(alone_later.deals.len(), 2, "open, and soon once it starts");
    let theirs = b.product("theirs", &[("T-1", 700, 5)]).await;
    let their_cart = b.cart(&[(&theirs.variants[0], 2)]).await;
    let theirs_alone = store
        .cart_to_price(b.tenant, their_cart.id, at)
        .await
        .unwrap();
    assert_eq!(theirs_alone.variants.len(), 1);
    assert_eq!(theirs_alone.deals.len(), 1, "their own deal");
    let (store, ours) = (db.store.clone(), cart.id);
    let figures = |c: &storekeep_store::BatchCounters| {
        use storekeep_store::BatchCounters as C;
        (C::get(&c.cart_reads), C::get(&c.cart_read_statements))
    };
    let before = store.checkout_batches().map(figures);
    let asks = [
        (a.tenant, ours, at),
        (a.tenant, ours, later),
        (b.tenant, ours, at),
        (b.tenant, their_cart.id, at),
        (a.tenant, their_cart.id, later),
    ];
    let reads = race(40, |i| {
        let store = store.clone();
        let (tenant, cart, when) = asks[i % asks.len()];
        async move { store.cart_to_price(tenant, cart, when).await }
    })
    .await;
    for (i, got) in reads.into_iter().enumerate() {
        match (i % asks.len(), got) {
            (0 | 1, Ok(got)) => {
                assert_eq!(got.cart, read.cart, "read {i}");
                assert_eq!(sorted(got.variants), variants, "read {i}");
                let deals = if i % asks.len() == 0 {
                    &read.deals
                } else {
                    &alone_later.deals
                };
                assert_eq!(&got.deals, deals, "read {i}");
            }
            (3, Ok(got)) => {
                assert_eq!(got.cart, theirs_alone.cart, "read {i}");
                assert_eq!(got.variants, theirs_alone.variants, "read {i}");
                assert_eq!(got.deals, theirs_alone.deals, "read {i}");
            }
            (2 | 4, Err(StoreError::NotFound("cart"))) => {}
            (_, other) => panic!("read {i}: {other:?}"),
        }
    }
    if on_postgres() {
        let (before, after) = (
            before.unwrap(),
            store.checkout_batches().map(figures).unwrap(),
        );
        let (reads, statements) = (after.0 - before.0, after.1 - before.1);
        assert_eq!(reads, 40, "every read went through the gathering task");
        assert!(
            statements < reads,
            "{reads} reads in {statements} statements"
        );
    }
}
