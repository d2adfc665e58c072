//! Bulk import: a batch of rows in one transaction, each row applied whole
//! or not at all, products matched by handle and variants by SKU.

use storekeep_domain::{Handle, ImportOutcome, ImportRow, ImportVariant, ProductStatus};
use storekeep_store::StoreError;

use crate::support::{chain, connect, ctx, new_variant, shop};

fn row(line: u64, handle: &str, variants: &[(&str, i64, Option<i64>)]) -> ImportRow {
    ImportRow {
        line,
        handle: Handle::parse(handle).unwrap(),
        title: format!("Imported {handle}"),
        description: format!("line {line}"),
        status: None,
        tags: vec!["imported".into()],
        categories: vec![],
        variants: variants
            .iter()
            .map(|(sku, price, stock)| ImportVariant {
                variant: new_variant(sku, *price, stock.unwrap_or(0)),
                set_stock: stock.is_some(),
            })
            .collect(),
    }
}

#[tokio::test]
async fn an_import_creates_new_products_and_updates_known_ones_by_handle_and_sku() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let store = &db.store;
    let old = a
        .product("old", &[("O-1", 1000, 5), ("O-2", 1000, 7)])
        .await;
    let mut known = row(
        2,
        "old",
        &[
            ("O-1", 1200, Some(9)),
            ("O-2", 1100, None),
            ("O-3", 900, Some(2)),
        ],
    );
    known.status = Some(ProductStatus::Archived);

    let outcomes = store
        .import_rows(
            a.tenant,
            &[row(1, "fresh", &[("F-1", 500, Some(4))]), known],
            10,
            &ctx(),
        )
        .await
        .unwrap();

    let outcomes: Vec<ImportOutcome> = outcomes.into_iter().map(Result::unwrap).collect();
    assert_eq!(outcomes, [ImportOutcome::Created, ImportOutcome::Updated]);
    let fresh = store
        .product_by_handle(a.tenant, &Handle::parse("fresh").unwrap())
        .await
        .unwrap();
    assert_eq!(
        (fresh.status, fresh.title.as_str()),
        (ProductStatus::Draft, "Imported fresh")
    );
    assert_eq!(fresh.tags, ["imported"]);
    assert_eq!(fresh.variants[0].inventory.on_hand, 4);
    let updated = store.product(a.tenant, old.id).await.unwrap();
    assert_eq!(
        (updated.status, updated.description.as_str()),
        (ProductStatus::Archived, "line 2")
    );
    let stock: Vec<(&str, i64, i64)> = updated
        .variants
        .iter()
        .map(|v| (v.sku.as_str(), v.price.amount, v.inventory.on_hand))
        .collect();
    assert_eq!(stock, [("O-1", 1200, 9), ("O-2", 1100, 7), ("O-3", 900, 2)]);
    let ledger = store
        .inventory_ledger(a.tenant, old.variants[0].id, &Default::default())
        .await
        .unwrap();
    assert_eq!(
        (ledger.items[0].delta, ledger.items[0].reason.as_str()),
        (4, "import")
    );
    let last = chain(store.as_ref(), &a.scope()).await.pop().unwrap();
    assert_eq!(
        (last.action.as_str(), last.target.as_str()),
        ("product.import", "lines:1-2")
    );
    assert_eq!(
        last.after,
        Some(serde_json::json!({"created": 1, "updated": 1, "failed": 0}))
    );
    a.assert_stock_listing().await;
}

#[tokio::test]
async fn a_failing_row_leaves_nothing_behind_and_the_others_still_apply() {
    let db = connect().await;
    let (a, b) = (shop(&db, "alpha").await, shop(&db, "beta").await);
    let store = &db.store;
    let shirts = a.category("shirts").await;
    let owner = a.product("owner", &[("TAKEN", 1000, 1)]).await;
    let theirs = b.category("hats").await;
    let mut filed = row(1, "filed", &[("FI-1", 100, Some(1))]);
    filed.categories = vec![shirts.handle.clone()];
    let mut unknown_category = row(2, "lost", &[("L-1", 100, Some(1))]);
    unknown_category.categories = vec![theirs.handle.clone()];
    let rows = [
        filed,
        unknown_category,
        row(
            3,
            "clash",
            &[("NEW-1", 100, Some(1)), ("TAKEN", 100, Some(1))],
        ),
        row(4, "empty", &[]),
        row(5, "owner", &[("TAKEN", 1000, Some(-1))]),
        row(6, "last", &[("LA-1", 100, None)]),
        row(7, "over", &[("OV-1", 100, None)]),
    ];

    // The plan allows 3 products and `owner` exists: room for 2 more.
    let outcomes = store.import_rows(a.tenant, &rows, 3, &ctx()).await.unwrap();

    assert!(matches!(outcomes[0], Ok(ImportOutcome::Created)));
    assert!(matches!(
        outcomes[1],
        Err(StoreError::UnknownReference {
            field: "categories"
        })
    ));
    assert!(matches!(
        outcomes[2],
        Err(StoreError::Conflict { field: "sku" })
    ));
    assert!(matches!(outcomes[3], Err(StoreError::Invalid(_))));
    assert!(
        matches!(outcomes[4], Err(StoreError::Invalid(_))),
        "stock below zero"
    );
    assert!(matches!(outcomes[5], Ok(ImportOutcome::Created)));
    assert!(matches!(
        outcomes[6],
        Err(StoreError::LimitReached("products"))
    ));
    let handles: Vec<String> = store
        .products_after(a.tenant, None, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.handle.to_string())
        .collect();
    assert_eq!(handles, ["owner", "filed", "last"]);
    let filed = store
        .product_by_handle(a.tenant, &Handle::parse("filed").unwrap())
        .await
        .unwrap();
    assert_eq!(filed.categories, [shirts.id]);
    assert_eq!(
        store.product(a.tenant, owner.id).await.unwrap(),
        owner,
        "row 5 undone"
    );
    let last = chain(store.as_ref(), &a.scope()).await.pop().unwrap();
    assert_eq!(
        last.after,
        Some(serde_json::json!({"created": 2, "updated": 0, "failed": 5}))
    );
}

#[tokio::test]
async fn an_import_where_every_row_fails_writes_no_audit_entry() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;

    let outcomes = a
        .store
        .import_rows(a.tenant, &[row(1, "empty", &[])], 10, &ctx())
        .await
        .unwrap();

    assert!(matches!(outcomes[..], [Err(StoreError::Invalid(_))]));
    assert!(a.actions().await.is_empty());
    assert_eq!(a.store.count_products(a.tenant).await.unwrap(), 0);
}

mod background {
    use storekeep_domain::{
        ImportProgress, ImportRowError, ImportStatus, NewProductImport, ProductImportId,
    };
    use storekeep_store::StoreError;

    use crate::support::{all_pages, connect, shop};

    fn new_import(key: &str) -> NewProductImport {
        NewProductImport {
            id: ProductImportId::new(),
            format: "csv".into(),
            object_key: key.into(),
            created_by: "staff:test".into(),
        }
    }

    #[tokio::test]
    async fn an_import_is_queued_records_progress_and_finishes_with_its_row_errors() {
        let db = connect().await;
        let a = shop(&db, "alpha").await;
        let store = &db.store;
        let new = new_import("imports/a/1.csv");
        let queued = store.create_product_import(a.tenant, &new).await.unwrap();
        assert_eq!(queued.id, new.id);
        assert_eq!(queued.status, ImportStatus::Queued);
        assert_eq!(queued.progress, ImportProgress::default());
        assert_eq!(queued.object_key, "imports/a/1.csv");
        assert_eq!(queued.created_by, "staff:test");
        assert!(queued.errors.is_empty() && queued.finished_at.is_none());

        let half = ImportProgress {
            total_rows: Some(1_000),
            rows_done: 500,
            created: 400,
            updated: 99,
            not_imported: 1,
        };
        assert!(
            store
                .record_product_import_progress(a.tenant, new.id, &half)
                .await
                .unwrap()
        );
        let running = store.product_import(a.tenant, new.id).await.unwrap();
        assert_eq!(running.status, ImportStatus::Running);
        assert_eq!(running.progress, half);

        let all = ImportProgress {
            rows_done: 1_000,
            created: 900,
            ..half
        };
        let errors = vec![ImportRowError {
            line: 7,
            column: Some("price".into()),
            message: "price is not an amount".into(),
        }];
        assert!(
            store
                .finish_product_import(a.tenant, new.id, &all, &errors)
                .await
                .unwrap()
        );
        let done = store.product_import(a.tenant, new.id).await.unwrap();
        assert_eq!(done.status, ImportStatus::Done);
        assert_eq!(done.progress, all);
        assert_eq!(done.errors, errors);
        assert!(done.finished_at.is_some());

        // A late or repeated job changes nothing once it is final.
        assert!(
            !store
                .record_product_import_progress(a.tenant, new.id, &half)
                .await
                .unwrap()
        );
        assert!(
            !store
                .fail_product_import(a.tenant, new.id, "late")
                .await
                .unwrap()
        );
        assert_eq!(store.product_import(a.tenant, new.id).await.unwrap(), done);
    }

    #[tokio::test]
    async fn a_failed_import_keeps_why_and_another_shop_cannot_see_or_move_it() {
        let db = connect().await;
        let a = shop(&db, "alpha").await;
        let b = shop(&db, "beta").await;
        let store = &db.store;
        let new = new_import("imports/a/2.csv");
        store.create_product_import(a.tenant, &new).await.unwrap();

        assert!(matches!(
            store.product_import(b.tenant, new.id).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            store.fail_product_import(b.tenant, new.id, "no").await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            store
                .record_product_import_progress(
                    b.tenant,
                    ProductImportId::new(),
                    &ImportProgress::default()
                )
                .await,
            Err(StoreError::NotFound(_))
        ));

        assert!(
            store
                .fail_product_import(a.tenant, new.id, "the file is not CSV")
                .await
                .unwrap()
        );
        let failed = store.product_import(a.tenant, new.id).await.unwrap();
        assert_eq!(failed.status, ImportStatus::Failed);
        assert_eq!(failed.failure.as_deref(), Some("the file is not CSV"));
        assert!(failed.finished_at.is_some());
    }

    #[tokio::test]
    async fn a_shops_imports_are_listed_newest_first_by_pages() {
        let db = connect().await;
        let a = shop(&db, "alpha").await;
        let b = shop(&db, "beta").await;
        let store = &db.store;
        let mut ids = Vec::new();
        for n in 0..5 {
            let new = new_import(&format!("imports/a/{n}.csv"));
            ids.push(new.id);
            store.create_product_import(a.tenant, &new).await.unwrap();
        }
        store
            .create_product_import(b.tenant, &new_import("imports/b/0.csv"))
            .await
            .unwrap();

        let listed = all_pages(2, async |p| store.list_product_imports(a.tenant, &p).await).await;
        ids.reverse();
        assert_eq!(listed.iter().map(|i| i.id).collect::<Vec<_>>(), ids);
    }
}
