//! Products: created with their variants, read, listed, patched, deleted,
//! under the plan's product limit.

use storekeep_domain::{
    CategoryId, Handle, ImageId, NewImage, ProductId, ProductPatch, ProductQuery, ProductStatus,
};
use storekeep_store::StoreError;

use crate::support::{connect, ctx, new_product, race, shop};
fn query(limit: u32) -> ProductQuery {
    ProductQuery {
        limit,
        ..ProductQuery::default()
    }
}

#[tokio::test]
async fn a_product_is_created_with_its_variants_and_initial_stock_in_the_ledger() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let store = &db.store;
    let shirts = a.category("shirts").await.id;
    let mut new = new_product("tee", &[("T-S", 1500, 3), ("T-M", 1700, 0)]);
    new.description = "Soft cotton".into();
    new.tags = vec!["summer".into(), "cotton".into()];
    new.categories = vec![shirts];

    let p = store
        .create_product(a.tenant, &new, 10, &ctx())
        .await
        .unwrap();

    assert_eq!((p.handle.as_str(), p.title.as_str()), ("tee", "tee"));
    assert_eq!(
        (p.status, p.description.as_str()),
        (ProductStatus::Active, "Soft cotton")
    );
    assert_eq!(p.tags, ["summer", "cotton"]);
    assert_eq!(p.categories, [shirts]);
    assert!(p.images.is_empty());
    let skus: Vec<(&str, i64, i64, i64)> = p
        .variants
        .iter()
        .map(|v| {
            (
                v.sku.as_str(),
                v.price.amount,
                v.inventory.on_hand,
                v.position,
            )
        })
        .collect();
    assert_eq!(skus, [("T-S", 1500, 3, 0), ("T-M", 1700, 0, 1)]);
    assert!(p.variants.iter().all(|v| v.product_id == p.id));
    assert_eq!(store.product(a.tenant, p.id).await.unwrap(), p);
    assert_eq!(
        store.product_by_handle(a.tenant, &p.handle).await.unwrap(),
        p
    );
    let ledger = store
        .inventory_ledger(a.tenant, p.variants[0].id, &Default::default())
        .await
        .unwrap();
    assert_eq!(ledger.items.len(), 1);
    let initial = &ledger.items[0];
    assert_eq!((initial.delta, initial.on_hand_after), (3, 3));
    assert_eq!(
        (initial.reason.as_str(), initial.actor.as_str()),
        ("initial", "staff:test")
    );
    let empty = store
        .inventory_ledger(a.tenant, p.variants[1].id, &Default::default())
        .await
        .unwrap();
    assert!(empty.items.is_empty(), "no entry for no stock");
    assert_eq!(a.actions().await, ["category.create", "product.create"]);
}

#[tokio::test]
async fn a_taken_handle_or_sku_is_a_conflict_within_a_shop_only() {
    let db = connect().await;
    let (a, b) = (shop(&db, "alpha").await, shop(&db, "beta").await);
    let store = &db.store;
    a.product("tee", &[("T-1", 1000, 1)]).await;

    let handle = store
        .create_product(a.tenant, &new_product("tee", &[("T-2", 1, 1)]), 10, &ctx())
        .await;
    let sku = store
        .create_product(a.tenant, &new_product("cap", &[("T-1", 1, 1)]), 10, &ctx())
        .await;
    let elsewhere = store
        .create_product(b.tenant, &new_product("tee", &[("T-1", 1, 1)]), 10, &ctx())
        .await;

    assert!(matches!(
        handle,
        Err(StoreError::Conflict { field: "handle" })
    ));
    assert!(matches!(sku, Err(StoreError::Conflict { field: "sku" })));
    assert!(elsewhere.is_ok(), "{elsewhere:?}");
    assert_eq!(store.count_products(a.tenant).await.unwrap(), 1);
    assert!(matches!(
        store
            .product_by_handle(a.tenant, &Handle::parse("cap").unwrap())
            .await,
        Err(StoreError::NotFound("product"))
    ));
    let mut filed = new_product("filed", &[("F-1", 1, 1)]);
    filed.categories = vec![CategoryId::new()];
    let unknown = store.create_product(a.tenant, &filed, 10, &ctx()).await;
    assert!(matches!(
        unknown,
        Err(StoreError::UnknownReference {
            field: "categories"
        })
    ));
    assert_eq!(a.actions().await, ["product.create"]);
}

#[tokio::test]
async fn the_plan_limit_on_products_holds_and_other_shops_do_not_count() {
    let db = connect().await;
    let (a, b) = (shop(&db, "alpha").await, shop(&db, "beta").await);
    let store = &db.store;
    b.product("elsewhere", &[("E-1", 1, 1)]).await;
    for handle in ["one", "two"] {
        store
            .create_product(a.tenant, &new_product(handle, &[(handle, 1, 1)]), 2, &ctx())
            .await
            .unwrap();
    }

    let third = store
        .create_product(
            a.tenant,
            &new_product("three", &[("three", 1, 1)]),
            2,
            &ctx(),
        )
        .await;

    assert!(matches!(third, Err(StoreError::LimitReached("products"))));
    assert_eq!(store.count_products(a.tenant).await.unwrap(), 2);
    assert_eq!(store.count_products(b.tenant).await.unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creates_never_pass_the_plan_limit() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;

    let results = race(12, |i| {
        let a = a.clone();
        async move {
            let new = new_product(&format!("p{i}"), &[(&format!("S-{i}"), 100, 1)]);
            a.store.create_product(a.tenant, &new, 5, &ctx()).await
        }
    })
    .await;

    let made = results.iter().filter(|r| r.is_ok()).count();
    let refused = results
        .iter()
        .filter(|r| matches!(r, Err(StoreError::LimitReached("products"))))
        .count();
    assert_eq!((made, refused), (5, 7));
    assert_eq!(a.store.count_products(a.tenant).await.unwrap(), 5);
    assert_eq!(a.actions().await.len(), 5);
}

#[tokio::test]
async fn updating_a_product_changes_only_what_the_patch_names() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let store = &db.store;
    let (hats, sale) = (a.category("hats").await.id, a.category("sale").await.id);
    let p = a.product("cap", &[("C-1", 900, 2)]).await;

    let after = store
        .update_product(
            a.tenant,
            p.id,
            &ProductPatch {
                title: Some("Red cap".into()),
                tags: Some(vec!["red".into()]),
                categories: Some(vec![sale, hats]),
                status: Some(ProductStatus::Draft),
                ..ProductPatch::default()
            },
            &ctx(),
        )
        .await
        .unwrap();
    let refused = store
        .update_product(
            a.tenant,
            p.id,
            &ProductPatch {
                title: Some("Lost".into()),
                categories: Some(vec![CategoryId::new()]),
                ..ProductPatch::default()
            },
            &ctx(),
        )
        .await;
    let taken = {
        a.product("beanie", &[("B-1", 1, 1)]).await;
        store
            .update_product(
                a.tenant,
                p.id,
                &ProductPatch {
                    handle: Some(Handle::parse("beanie").unwrap()),
                    ..ProductPatch::default()
                },
                &ctx(),
            )
            .await
    };

    assert_eq!(
        (after.title.as_str(), after.status),
        ("Red cap", ProductStatus::Draft)
    );
    assert_eq!(
        (after.handle.clone(), after.variants.clone()),
        (p.handle.clone(), p.variants.clone())
    );
    assert_eq!(after.tags, ["red"]);
    assert_eq!(after.categories, [sale, hats], "in the order given");
    assert_eq!(after.created_at, p.created_at);
    assert!(after.updated_at >= p.updated_at);
    assert!(matches!(
        refused,
        Err(StoreError::UnknownReference {
            field: "categories"
        })
    ));
    assert!(matches!(
        taken,
        Err(StoreError::Conflict { field: "handle" })
    ));
    assert_eq!(store.product(a.tenant, p.id).await.unwrap(), after);
    let log = crate::support::chain(store.as_ref(), &a.scope()).await;
    let update = log.iter().find(|e| e.action == "product.update").unwrap();
    assert_eq!(update.before.as_ref().unwrap()["title"], "cap");
    assert_eq!(update.after.as_ref().unwrap()["title"], "Red cap");
    assert_eq!(
        log.iter().filter(|e| e.action == "product.update").count(),
        1
    );
}

#[tokio::test]
async fn deleting_a_product_returns_it_with_its_images_and_removes_them_all() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let store = &db.store;
    let p = a.product("mug", &[("M-1", 800, 4), ("M-2", 900, 1)]).await;
    let keep = a.product("cup", &[("C-1", 500, 1)]).await;
    let image = store
        .add_image(
            a.tenant,
            &NewImage {
                id: ImageId::new(),
                product_id: p.id,
                key: "images/mug.png".into(),
                content_type: "image/png".into(),
                width: 10,
                height: 20,
                size_bytes: 300,
                alt: "a mug".into(),
                variants: vec![],
            },
            1_000_000,
            &ctx(),
        )
        .await
        .unwrap();

    let deleted = store.delete_product(a.tenant, p.id, &ctx()).await.unwrap();

    assert_eq!(deleted.images, std::slice::from_ref(&image));
    assert_eq!(deleted.variants.len(), 2);
    assert!(matches!(
        store.product(a.tenant, p.id).await,
        Err(StoreError::NotFound("product"))
    ));
    assert!(matches!(
        store.image(a.tenant, image.id).await,
        Err(StoreError::NotFound("image"))
    ));
    assert!(matches!(
        store
            .inventory_ledger(a.tenant, p.variants[0].id, &Default::default())
            .await,
        Err(StoreError::NotFound("variant"))
    ));
    assert!(
        store
            .sale_variants(a.tenant, &[p.variants[0].id])
            .await
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        store.delete_product(a.tenant, p.id, &ctx()).await,
        Err(StoreError::NotFound("product"))
    ));
    let ids: Vec<ProductId> = store
        .products_by_ids(a.tenant, &[p.id, keep.id])
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(ids, [keep.id]);
    assert_eq!(store.count_products(a.tenant).await.unwrap(), 1);
    assert_eq!(
        a.actions().await.last().map(String::as_str),
        Some("product.delete")
    );
}
#[tokio::test]
async fn another_shops_products_are_neither_found_listed_nor_changed() {
    let db = connect().await;
    let (a, b) = (shop(&db, "alpha").await, shop(&db, "beta").await);
    let store = &db.store;
    let p = a.product("tee", &[("T-1", 1000, 5)]).await;
    let v = p.variants[0].id;

    let not_found = [
        store.product(b.tenant, p.id).await.err(),
        store.product_by_handle(b.tenant, &p.handle).await.err(),
        store
            .update_product(b.tenant, p.id, &ProductPatch::default(), &ctx())
            .await
            .err(),
        store.delete_product(b.tenant, p.id, &ctx()).await.err(),
        store
            .add_variant(
                b.tenant,
                p.id,
                &crate::support::new_variant("X", 1, 1),
                &ctx(),
            )
            .await
            .err(),
        store
            .update_variant(b.tenant, v, &Default::default(), &ctx())
            .await
            .err(),
        store.delete_variant(b.tenant, v, &ctx()).await.err(),
        store
            .adjust_inventory(b.tenant, v, 1, "x", &ctx())
            .await
            .err(),
        store
            .inventory_ledger(b.tenant, v, &Default::default())
            .await
            .err(),
    ];

    for (i, e) in not_found.iter().enumerate() {
        assert!(
            matches!(e, Some(StoreError::NotFound(_))),
            "call {i}: {e:?}"
        );
    }
    assert!(
        store
            .products_by_ids(b.tenant, &[p.id])
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .list_products(b.tenant, &query(10))
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert!(
        store
            .products_after(b.tenant, None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.count_products(b.tenant).await.unwrap(), 0);
    assert!(
        store
            .sale_variants(b.tenant, &[v])
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.product(a.tenant, p.id).await.unwrap(), p);
    assert!(b.actions().await.is_empty());
}
