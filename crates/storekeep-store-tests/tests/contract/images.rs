//! Product images: recorded in order, counted against the plan's storage.

use storekeep_domain::{ImageId, NewImage, ProductId};
use storekeep_store::StoreError;

use crate::support::{connect, ctx, race, shop};

fn image(product: ProductId, size: i64) -> NewImage {
    NewImage {
        id: ImageId::new(),
        product_id: product,
        key: format!("images/{}.png", uuid::Uuid::now_v7()),
        content_type: "image/png".into(),
        width: 640,
        height: 480,
        size_bytes: size,
        alt: "front".into(),
    }
}

#[tokio::test]
async fn images_are_recorded_in_order_within_the_storage_limit() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let store = &db.store;
    let p = a.product("tee", &[("T-1", 1000, 1)]).await;
    let q = a.product("cap", &[("C-1", 1000, 1)]).await;
    let (first, second) = (image(p.id, 400), image(p.id, 500));

    let one = store
        .add_image(a.tenant, &first, 1000, &ctx())
        .await
        .unwrap();
    let two = store
        .add_image(a.tenant, &second, 1000, &ctx())
        .await
        .unwrap();
    let over = store
        .add_image(a.tenant, &image(q.id, 101), 1000, &ctx())
        .await;
    let fits = store
        .add_image(a.tenant, &image(q.id, 100), 1000, &ctx())
        .await;

    assert_eq!((one.id, one.product_id, one.position), (first.id, p.id, 0));
    assert_eq!(
        (one.key.as_str(), one.content_type.as_str()),
        (first.key.as_str(), "image/png")
    );
    assert_eq!(
        (one.width, one.height, one.size_bytes, one.alt.as_str()),
        (640, 480, 400, "front")
    );
    assert_eq!(two.position, 1);
    assert!(matches!(
        over,
        Err(StoreError::LimitReached("image storage"))
    ));
    assert_eq!(fits.unwrap().position, 0, "positions are per product");
    assert_eq!(store.image(a.tenant, one.id).await.unwrap(), one);
    let product = store.product(a.tenant, p.id).await.unwrap();
    assert_eq!(product.images, [one.clone(), two]);
    assert!(product.updated_at >= p.updated_at);
    assert_eq!(
        a.actions().await[2..],
        ["image.create", "image.create", "image.create"]
    );
}

#[tokio::test]
async fn a_deleted_image_is_returned_once_and_frees_its_storage() {
    let db = connect().await;
    let (a, b) = (shop(&db, "alpha").await, shop(&db, "beta").await);
    let store = &db.store;
    let p = a.product("tee", &[("T-1", 1000, 1)]).await;
    let kept = store
        .add_image(a.tenant, &image(p.id, 600), 1000, &ctx())
        .await
        .unwrap();
    let gone = store
        .add_image(a.tenant, &image(p.id, 400), 1000, &ctx())
        .await
        .unwrap();

    let foreign_read = store.image(b.tenant, gone.id).await;
    let foreign_delete = store.delete_image(b.tenant, gone.id, &ctx()).await;
    let foreign_add = store
        .add_image(b.tenant, &image(p.id, 1), 1000, &ctx())
        .await;
    let deleted = store.delete_image(a.tenant, gone.id, &ctx()).await.unwrap();
    let again = store.delete_image(a.tenant, gone.id, &ctx()).await;
    let refill = store
        .add_image(a.tenant, &image(p.id, 400), 1000, &ctx())
        .await;

    assert!(matches!(foreign_read, Err(StoreError::NotFound("image"))));
    assert!(matches!(foreign_delete, Err(StoreError::NotFound("image"))));
    assert!(matches!(foreign_add, Err(StoreError::NotFound("product"))));
    assert_eq!(deleted, gone);
    assert!(matches!(again, Err(StoreError::NotFound("image"))));
    assert!(refill.is_ok(), "the freed bytes count again: {refill:?}");
    assert_eq!(store.product(a.tenant, p.id).await.unwrap().images[0], kept);
    assert!(b.actions().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_uploads_never_pass_the_storage_limit() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let p = a.product("tee", &[("T-1", 1000, 1)]).await;

    let results = race(12, |_| {
        let a = a.clone();
        async move {
            a.store
                .add_image(a.tenant, &image(p.id, 300), 1000, &ctx())
                .await
        }
    })
    .await;

    let stored = results.iter().filter(|r| r.is_ok()).count();
    let refused = results
        .iter()
        .filter(|r| matches!(r, Err(StoreError::LimitReached("image storage"))))
        .count();
    assert_eq!((stored, refused), (3, 9));
    let images = a.store.product(a.tenant, p.id).await.unwrap().images;
    let positions: Vec<i64> = images.iter().map(|i| i.position).collect();
    assert_eq!(positions, [0, 1, 2]);
}
