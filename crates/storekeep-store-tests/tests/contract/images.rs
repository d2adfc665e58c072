//! Product images: recorded in order, counted against the plan's storage.

use storekeep_domain::{ImageId, ImageVariant, NewImage, ProductId};
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
        variants: vec![],
    }
}

fn variant(image: &NewImage, width: u32, size: i64) -> ImageVariant {
    ImageVariant {
        key: image.key.replace(".png", &format!("-{width}.webp")),
        url: String::new(),
        width,
        height: width * 3 / 4,
        content_type: "image/webp".into(),
        size_bytes: size,
    }
}

#[tokio::test]
async fn variants_are_recorded_with_the_image_and_count_toward_its_storage() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let store = &db.store;
    let p = a.product("tee", &[("T-1", 1000, 1)]).await;
    let mut first = image(p.id, 400);
    first.variants = vec![variant(&first, 480, 300), variant(&first, 160, 100)];
    let one = store
        .add_image(a.tenant, &first, 1000, &ctx())
        .await
        .unwrap();
    assert_eq!(one.variants, first.variants, "recorded in order, keys kept");
    assert_eq!(
        store.image(a.tenant, one.id).await.unwrap().variants,
        first.variants
    );
    // 800 of 1000 bytes used: the original's 400 and its variants' 400.
    let over = store
        .add_image(a.tenant, &image(p.id, 201), 1000, &ctx())
        .await;
    assert!(matches!(
        over,
        Err(StoreError::LimitReached("image storage"))
    ));
    store
        .add_image(a.tenant, &image(p.id, 200), 1000, &ctx())
        .await
        .unwrap();
    let deleted = store.delete_image(a.tenant, one.id, &ctx()).await.unwrap();
    assert_eq!(
        deleted.variants, first.variants,
        "the caller learns what to remove"
    );
}

#[tokio::test]
async fn images_without_variants_are_listed_across_shops_and_completed_once() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let b = shop(&db, "beta").await;
    let store = &db.store;
    let pa = a.product("tee", &[("T-1", 1000, 1)]).await;
    let pb = b.product("cap", &[("C-1", 1000, 1)]).await;
    // Recorded with variants (an upload now): not listed. The others are
    // written as a row from before variants existed (`variants` = '').
    let mut done = image(pa.id, 10);
    done.variants = vec![variant(&done, 160, 5)];
    store
        .add_image(a.tenant, &done, 1_000_000, &ctx())
        .await
        .unwrap();
    let (old_a, old_b) = (image(pa.id, 10), image(pb.id, 10));
    store
        .add_image(a.tenant, &old_a, 1_000_000, &ctx())
        .await
        .unwrap();
    store
        .add_image(b.tenant, &old_b, 1_000_000, &ctx())
        .await
        .unwrap();
    db.forget_variants(old_a.id.0).await;
    db.forget_variants(old_b.id.0).await;

    let listed = store.images_without_variants(None, 10).await.unwrap();
    assert_eq!(
        listed,
        vec![
            (a.tenant, old_a.id, old_a.key.clone()),
            (b.tenant, old_b.id, old_b.key.clone())
        ]
    );
    let page = store.images_without_variants(None, 1).await.unwrap();
    let rest = store
        .images_without_variants(Some(page[0].1), 10)
        .await
        .unwrap();
    assert_eq!([page, rest].concat(), listed, "paged by id");

    let made = vec![variant(&old_a, 160, 7)];
    assert!(
        store
            .set_image_variants(a.tenant, old_a.id, &made)
            .await
            .unwrap()
    );
    assert!(
        !store
            .set_image_variants(a.tenant, old_a.id, &made)
            .await
            .unwrap(),
        "recorded once"
    );
    assert!(
        !store
            .set_image_variants(a.tenant, old_b.id, &made)
            .await
            .unwrap(),
        "another shop's image is not found"
    );
    assert_eq!(
        store.image(a.tenant, old_a.id).await.unwrap().variants,
        made
    );
    let listed = store.images_without_variants(None, 10).await.unwrap();
    assert_eq!(listed, vec![(b.tenant, old_b.id, old_b.key.clone())]);
    // Recording none (a GIF) completes it too.
    assert!(
        store
            .set_image_variants(b.tenant, old_b.id, &[])
            .await
            .unwrap()
    );
    assert!(
        store
            .images_without_variants(None, 10)
            .await
            .unwrap()
            .is_empty()
    );
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
