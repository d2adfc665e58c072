//! Product lists: filters, sorts and cursors, and reads by id.

use std::collections::HashSet;

use storekeep_domain::{
    Product, ProductCursor, ProductId, ProductQuery, ProductSort, ProductStatus,
};
use storekeep_store::StoreError;

use crate::support::{Shop, connect, ctx, new_product, shop};

fn query(limit: u32) -> ProductQuery {
    ProductQuery {
        limit,
        ..ProductQuery::default()
    }
}

/// Every product `query` lists, page by page, asserting the page sizes.
async fn listed(s: &Shop, query: &ProductQuery) -> Vec<ProductId> {
    let mut ids = Vec::new();
    let mut q = query.clone();
    loop {
        let page = s.store.list_products(s.tenant, &q).await.unwrap();
        assert!(page.items.len() <= q.limit as usize);
        ids.extend(page.items.iter().map(|p| p.id));
        match page.next_cursor {
            Some(c) => q.after = Some(ProductCursor::decode(q.sort, &c).expect("a cursor")),
            None => return ids,
        }
    }
}
#[tokio::test]
async fn products_by_ids_returns_the_shops_products_of_any_status() {
    let db = connect().await;
    let (a, b) = (shop(&db, "alpha").await, shop(&db, "beta").await);
    let store = &db.store;
    let active = a.product("one", &[("O-1", 1, 1)]).await;
    let mut draft = new_product("two", &[("T-1", 1, 1)]);
    draft.status = ProductStatus::Draft;
    let draft = store
        .create_product(a.tenant, &draft, 10, &ctx())
        .await
        .unwrap();
    let foreign = b.product("three", &[("X-1", 1, 1)]).await;

    let found = store
        .products_by_ids(
            a.tenant,
            &[draft.id, ProductId::new(), foreign.id, active.id],
        )
        .await
        .unwrap();

    let ids: HashSet<ProductId> = found.iter().map(|p| p.id).collect();
    assert_eq!(ids, HashSet::from([active.id, draft.id]));
    assert!(found.contains(&draft));
    assert!(
        store
            .products_by_ids(a.tenant, &[])
            .await
            .unwrap()
            .is_empty()
    );
}
#[tokio::test]
async fn lists_filter_by_status_category_tag_price_and_stock() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let store = &db.store;
    let hats = a.category("hats").await.id;
    let mut cap = new_product("cap", &[("C-1", 500, 0), ("C-2", 2500, 3)]);
    cap.categories = vec![hats];
    cap.tags = vec!["red".into()];
    let cap = store
        .create_product(a.tenant, &cap, 10, &ctx())
        .await
        .unwrap();
    let mut sold_out = new_product("sold-out", &[("S-1", 1000, 0)]);
    sold_out.tags = vec!["red".into()];
    let sold_out = store
        .create_product(a.tenant, &sold_out, 10, &ctx())
        .await
        .unwrap();
    let mut draft = new_product("draft", &[("D-1", 4000, 1)]);
    draft.status = ProductStatus::Draft;
    let draft = store
        .create_product(a.tenant, &draft, 10, &ctx())
        .await
        .unwrap();
    let filter = |f: fn(&mut ProductQuery)| {
        let mut q = query(10);
        f(&mut q);
        q
    };

    let by_status = listed(&a, &filter(|q| q.status = Some(ProductStatus::Draft))).await;
    let by_category = listed(&a, &{
        let mut q = query(10);
        q.categories = Some(vec![hats]);
        q
    })
    .await;
    let no_category = listed(&a, &filter(|q| q.categories = Some(vec![]))).await;
    let by_tag = listed(&a, &filter(|q| q.tag = Some("red".into()))).await;
    let cheap = listed(&a, &filter(|q| q.max_price = Some(600))).await;
    let dear = listed(&a, &filter(|q| q.min_price = Some(2000))).await;
    let band = listed(
        &a,
        &filter(|q| {
            q.min_price = Some(900);
            q.max_price = Some(1100);
        }),
    )
    .await;
    let in_stock = listed(&a, &filter(|q| q.in_stock = true)).await;

    assert_eq!(by_status, [draft.id]);
    assert_eq!(by_category, [cap.id]);
    assert!(
        no_category.is_empty(),
        "an empty category list matches nothing"
    );
    assert_eq!(by_tag, [sold_out.id, cap.id], "newest first");
    assert_eq!(cheap, [cap.id]);
    assert_eq!(dear, [draft.id, cap.id]);
    assert_eq!(band, [sold_out.id]);
    assert_eq!(in_stock, [draft.id, cap.id]);
}
#[tokio::test]
async fn every_sort_pages_through_every_product_exactly_once() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let store = &db.store;
    let mut made: Vec<Product> = Vec::new();
    for (handle, price) in [
        ("delta", 300),
        ("alpha", 100),
        ("echo", 300),
        ("bravo", 500),
        ("charlie", 100),
    ] {
        made.push(a.product(handle, &[(handle, price, 1)]).await);
    }
    let ids = |order: &[&str]| -> Vec<ProductId> {
        order
            .iter()
            .map(|h| made.iter().find(|p| p.handle.as_str() == *h).unwrap().id)
            .collect()
    };
    let sorted = |sort| ProductQuery { sort, ..query(2) };

    let newest = listed(&a, &sorted(ProductSort::Newest)).await;
    let cheapest = listed(&a, &sorted(ProductSort::PriceAsc)).await;
    let dearest = listed(&a, &sorted(ProductSort::PriceDesc)).await;
    let by_title = listed(&a, &sorted(ProductSort::Title)).await;
    let exported: Vec<ProductId> = {
        let first = store.products_after(a.tenant, None, 3).await.unwrap();
        let rest = store
            .products_after(a.tenant, Some(first[2].id), 3)
            .await
            .unwrap();
        first.iter().chain(&rest).map(|p| p.id).collect()
    };
    let foreign = store
        .list_products(
            a.tenant,
            &ProductQuery {
                sort: ProductSort::Title,
                after: Some(ProductCursor::Newest(made[0].id)),
                ..query(2)
            },
        )
        .await;

    assert_eq!(newest, ids(&["charlie", "bravo", "echo", "alpha", "delta"]));
    // Equal prices fall back to id order (ascending, or descending).
    assert_eq!(
        cheapest,
        ids(&["alpha", "charlie", "delta", "echo", "bravo"])
    );
    assert_eq!(
        dearest,
        ids(&["bravo", "echo", "delta", "charlie", "alpha"])
    );
    assert_eq!(
        by_title,
        ids(&["alpha", "bravo", "charlie", "delta", "echo"])
    );
    assert_eq!(
        exported,
        ids(&["delta", "alpha", "echo", "bravo", "charlie"])
    );
    assert!(matches!(foreign, Err(StoreError::InvalidCursor)));
    let page = store.list_products(a.tenant, &query(5)).await.unwrap();
    assert_eq!((page.items.len(), page.next_cursor), (5, None));
}
#[tokio::test]
async fn pages_neither_skip_nor_repeat_while_products_are_added() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let mut originals = Vec::new();
    for i in 0..7 {
        originals.push(
            a.product(&format!("p{i}"), &[(&format!("P-{i}"), 100 * (i % 3), 1)])
                .await,
        );
    }

    for sort in [
        ProductSort::Newest,
        ProductSort::PriceAsc,
        ProductSort::Title,
    ] {
        let mut seen = Vec::new();
        let mut q = ProductQuery { sort, ..query(2) };
        loop {
            let page = a.store.list_products(a.tenant, &q).await.unwrap();
            seen.extend(page.items.iter().map(|p| p.id));
            // A product appears between every two pages.
            a.product(
                &format!("new-{}", uuid::Uuid::now_v7()),
                &[(&format!("N-{}", uuid::Uuid::now_v7().simple()), 50, 1)],
            )
            .await;
            match page.next_cursor {
                Some(c) => q.after = ProductCursor::decode(sort, &c),
                None => break,
            }
        }
        let unique: HashSet<ProductId> = seen.iter().copied().collect();
        assert_eq!(unique.len(), seen.len(), "{sort:?}: no product twice");
        for p in &originals {
            assert!(unique.contains(&p.id), "{sort:?}: {} skipped", p.handle);
        }
    }
}
