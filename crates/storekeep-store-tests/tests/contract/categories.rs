//! Categories: a tree per shop, kept free of cycles.

use storekeep_domain::{Category, CategoryId, CategoryPatch, Handle, NewCategory};
use storekeep_store::{StoreError, StoreResult};

use crate::support::{Shop, connect, ctx, new_product, shop};

async fn add(
    s: &Shop,
    handle: &str,
    parent: Option<CategoryId>,
    position: i64,
) -> StoreResult<Category> {
    s.store
        .create_category(
            s.tenant,
            &NewCategory {
                parent_id: parent,
                handle: Handle::parse(handle).unwrap(),
                name: handle.to_uppercase(),
                position,
            },
            &ctx(),
        )
        .await
}

fn move_under(parent: Option<CategoryId>) -> CategoryPatch {
    CategoryPatch {
        parent_id: Some(parent),
        ..CategoryPatch::default()
    }
}

#[tokio::test]
async fn categories_form_a_tree_listed_by_position_then_name() {
    let db = connect().await;
    let (a, b) = (shop(&db, "alpha").await, shop(&db, "beta").await);
    let store = &db.store;
    let clothes = add(&a, "clothes", None, 1).await.unwrap();
    let shirts = add(&a, "shirts", Some(clothes.id), 0).await.unwrap();
    let hats = add(&a, "hats", Some(clothes.id), 0).await.unwrap();
    let books = add(&a, "books", None, 0).await.unwrap();
    let theirs = add(&b, "theirs", None, 0).await.unwrap();

    let taken = add(&a, "hats", None, 5).await;
    let unknown = add(&a, "socks", Some(CategoryId::new()), 0).await;
    let foreign = add(&a, "socks", Some(theirs.id), 0).await;
    let elsewhere = add(&b, "hats", None, 0).await;

    assert_eq!(
        (shirts.parent_id, shirts.name.as_str()),
        (Some(clothes.id), "SHIRTS")
    );
    let listed = store.list_categories(a.tenant).await.unwrap();
    let order: Vec<&str> = listed.iter().map(|c| c.handle.as_str()).collect();
    assert_eq!(order, ["books", "hats", "shirts", "clothes"]);
    assert_eq!((&listed[0], &listed[1]), (&books, &hats));
    assert!(matches!(
        taken,
        Err(StoreError::Conflict { field: "handle" })
    ));
    for refused in [unknown, foreign] {
        assert!(matches!(
            refused,
            Err(StoreError::UnknownReference { field: "parent_id" })
        ));
    }
    assert!(elsewhere.is_ok(), "handles are unique per shop only");
    assert_eq!(a.actions().await, ["category.create"; 4]);
}

#[tokio::test]
async fn a_category_moves_anywhere_but_under_itself_or_its_descendants() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let store = &db.store;
    let top = add(&a, "top", None, 0).await.unwrap();
    let mid = add(&a, "mid", Some(top.id), 0).await.unwrap();
    let leaf = add(&a, "leaf", Some(mid.id), 0).await.unwrap();
    let other = add(&a, "other", None, 0).await.unwrap();

    let under_itself = store
        .update_category(a.tenant, top.id, &move_under(Some(top.id)), &ctx())
        .await;
    let under_leaf = store
        .update_category(a.tenant, top.id, &move_under(Some(leaf.id)), &ctx())
        .await;
    let unknown = store
        .update_category(
            a.tenant,
            top.id,
            &move_under(Some(CategoryId::new())),
            &ctx(),
        )
        .await;
    let moved = store
        .update_category(a.tenant, mid.id, &move_under(Some(other.id)), &ctx())
        .await
        .unwrap();
    let renamed = store
        .update_category(
            a.tenant,
            leaf.id,
            &CategoryPatch {
                name: Some("Leaf".into()),
                position: Some(7),
                ..CategoryPatch::default()
            },
            &ctx(),
        )
        .await
        .unwrap();
    let to_root = store
        .update_category(a.tenant, mid.id, &move_under(None), &ctx())
        .await
        .unwrap();

    for refused in [under_itself, under_leaf] {
        assert!(
            matches!(refused, Err(StoreError::Invalid(_))),
            "{refused:?}"
        );
    }
    assert!(matches!(
        unknown,
        Err(StoreError::UnknownReference { field: "parent_id" })
    ));
    assert_eq!(moved.parent_id, Some(other.id));
    assert_eq!(
        (renamed.parent_id, renamed.name.as_str(), renamed.position),
        (Some(mid.id), "Leaf", 7)
    );
    assert_eq!(
        (to_root.parent_id, to_root.created_at),
        (None, mid.created_at)
    );
    let log = crate::support::chain(store.as_ref(), &a.scope()).await;
    let updates: Vec<_> = log
        .iter()
        .filter(|e| e.action == "category.update")
        .collect();
    assert_eq!(updates.len(), 3);
    assert_eq!(
        updates[0].before.as_ref().unwrap()["parent_id"],
        top.id.to_string()
    );
}

#[tokio::test]
async fn a_category_with_subcategories_stays_and_a_deleted_one_is_unfiled() {
    let db = connect().await;
    let (a, b) = (shop(&db, "alpha").await, shop(&db, "beta").await);
    let store = &db.store;
    let parent = add(&a, "parent", None, 0).await.unwrap();
    let child = add(&a, "child", Some(parent.id), 0).await.unwrap();
    let keep = add(&a, "keep", None, 0).await.unwrap();
    let mut filed = new_product("filed", &[("F-1", 100, 1)]);
    filed.categories = vec![child.id, keep.id];
    let p = store
        .create_product(a.tenant, &filed, 10, &ctx())
        .await
        .unwrap();

    let with_children = store.delete_category(a.tenant, parent.id, &ctx()).await;
    let foreign = store.delete_category(b.tenant, child.id, &ctx()).await;
    store
        .delete_category(a.tenant, child.id, &ctx())
        .await
        .unwrap();
    let again = store.delete_category(a.tenant, child.id, &ctx()).await;

    assert!(matches!(with_children, Err(StoreError::Invalid(_))));
    assert!(matches!(foreign, Err(StoreError::NotFound("category"))));
    assert!(matches!(again, Err(StoreError::NotFound("category"))));
    assert_eq!(
        store.product(a.tenant, p.id).await.unwrap().categories,
        [keep.id]
    );
    let left: Vec<CategoryId> = store
        .list_categories(a.tenant)
        .await
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(left.len(), 2);
    assert!(left.contains(&parent.id) && left.contains(&keep.id));
    store
        .delete_category(a.tenant, parent.id, &ctx())
        .await
        .unwrap();
    assert_eq!(
        a.actions()
            .await
            .iter()
            .filter(|x| *x == "category.delete")
            .count(),
        2
    );
}

#[tokio::test]
async fn another_shops_categories_are_neither_listed_nor_changed() {
    let db = connect().await;
    let (a, b) = (shop(&db, "alpha").await, shop(&db, "beta").await);
    let store = &db.store;
    let mine = add(&a, "mine", None, 0).await.unwrap();

    let update = store
        .update_category(b.tenant, mine.id, &CategoryPatch::default(), &ctx())
        .await;
    let mut filed = new_product("filed", &[("F-1", 100, 1)]);
    filed.categories = vec![mine.id];
    let file_under = store.create_product(b.tenant, &filed, 10, &ctx()).await;

    assert!(matches!(update, Err(StoreError::NotFound("category"))));
    assert!(matches!(
        file_under,
        Err(StoreError::UnknownReference {
            field: "categories"
        })
    ));
    assert!(store.list_categories(b.tenant).await.unwrap().is_empty());
    assert_eq!(store.list_categories(a.tenant).await.unwrap(), [mine]);
}
