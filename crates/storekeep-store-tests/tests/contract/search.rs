//! Search candidates: active products holding every term as a word or a
//! word prefix, newest first.

use storekeep_domain::{ProductId, ProductPatch, ProductStatus, search_terms};
use storekeep_store::Store;

use crate::support::{connect, ctx, new_product, shop};

async fn found(
    store: &dyn Store,
    tenant: storekeep_domain::TenantId,
    text: &str,
    limit: i64,
) -> Vec<ProductId> {
    store
        .search_candidates(tenant, &search_terms(text), limit)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.id)
        .collect()
}

#[tokio::test]
async fn search_finds_active_products_holding_every_term_as_a_word_or_prefix() {
    let db = connect().await;
    let (a, b) = (shop(&db, "alpha").await, shop(&db, "beta").await);
    let store = db.store.as_ref();
    let mut shirt = new_product("blue-shirt", &[("S-1", 1000, 1)]);
    shirt.tags = vec!["Summer Sale".into()];
    let shirt = store
        .create_product(a.tenant, &shirt, 10, &ctx())
        .await
        .unwrap();
    let mut mug = new_product("mug", &[("M-1", 500, 1)]);
    mug.description = "A blue café mug".into();
    let mug = store
        .create_product(a.tenant, &mug, 10, &ctx())
        .await
        .unwrap();
    let mut hidden = new_product("blue-draft", &[("D-1", 1, 1)]);
    hidden.status = ProductStatus::Draft;
    store
        .create_product(a.tenant, &hidden, 10, &ctx())
        .await
        .unwrap();
    b.product("blue-elsewhere", &[("E-1", 1, 1)]).await;

    let docs = store
        .search_candidates(a.tenant, &search_terms("blue"), 10)
        .await
        .unwrap();

    assert_eq!(
        docs.iter().map(|d| d.id).collect::<Vec<_>>(),
        [mug.id, shirt.id]
    );
    assert_eq!(docs[1].title, "blue shirt");
    assert_eq!(docs[1].tags, ["Summer Sale"]);
    assert_eq!(docs[0].description, "A blue café mug");
    assert_eq!(
        found(store, a.tenant, "blu sh", 10).await,
        [shirt.id],
        "prefixes"
    );
    assert_eq!(
        found(store, a.tenant, "summer", 10).await,
        [shirt.id],
        "tags"
    );
    assert_eq!(
        found(store, a.tenant, "CAFÉ", 10).await,
        [mug.id],
        "beyond ASCII"
    );
    assert!(
        found(store, a.tenant, "blue red", 10).await.is_empty(),
        "every term"
    );
    assert_eq!(
        found(store, a.tenant, "blue", 1).await,
        [mug.id],
        "the limit"
    );
    assert!(found(store, a.tenant, "", 10).await.is_empty());
    assert!(
        found(store, a.tenant, "draft", 10).await.is_empty(),
        "drafts are not found"
    );
}

#[tokio::test]
async fn search_sees_edits_and_deletes_at_once() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let store = db.store.as_ref();
    let p = a.product("lamp", &[("L-1", 1000, 1)]).await;
    let other = a.product("desk", &[("D-1", 1000, 1)]).await;

    store
        .update_product(
            a.tenant,
            p.id,
            &ProductPatch {
                title: Some("Brass reading lamp".into()),
                ..ProductPatch::default()
            },
            &ctx(),
        )
        .await
        .unwrap();
    let renamed = found(store, a.tenant, "brass", 10).await;
    store
        .update_product(
            a.tenant,
            p.id,
            &ProductPatch {
                status: Some(ProductStatus::Archived),
                ..ProductPatch::default()
            },
            &ctx(),
        )
        .await
        .unwrap();
    let archived = found(store, a.tenant, "brass", 10).await;
    store
        .delete_product(a.tenant, other.id, &ctx())
        .await
        .unwrap();
    let deleted = found(store, a.tenant, "desk", 10).await;

    assert_eq!(renamed, [p.id]);
    assert!(archived.is_empty());
    assert!(deleted.is_empty());
}
