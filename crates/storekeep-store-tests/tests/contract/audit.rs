//! The hash-chained audit log: one chain per scope, written with the change
//! it records, verifiable by `storekeep_store::audit::verify_chain`.

use serde_json::json;
use storekeep_domain::{AuditContext, PLATFORM_SCOPE};
use storekeep_store::{Store, StoreError};

use crate::support::{chain, connect, ctx, new_product, race, shop};

#[tokio::test]
async fn appended_entries_chain_per_scope_and_list_newest_first() {
    let db = connect().await;
    let store: &dyn Store = db.store.as_ref();
    let who = AuditContext {
        actor: "operator:1".into(),
        ip: Some("198.51.100.4".into()),
        request_id: Some("req-9".into()),
    };

    let first = store
        .append_audit(
            "scope-a",
            &who,
            "backup.create",
            "backup:1",
            Some(json!({"n": 1})),
        )
        .await
        .unwrap();
    for n in 2..=5 {
        store
            .append_audit(
                "scope-a",
                &who,
                "backup.create",
                &format!("backup:{n}"),
                None,
            )
            .await
            .unwrap();
    }
    store
        .append_audit("scope-b", &who, "other", "x", None)
        .await
        .unwrap();

    let a = chain(store, "scope-a").await;
    assert_eq!(a.len(), 5);
    assert_eq!(a[0], first);
    assert_eq!((first.seq, first.actor.as_str()), (1, "operator:1"));
    assert_eq!(first.ip.as_deref(), Some("198.51.100.4"));
    assert_eq!(first.request_id.as_deref(), Some("req-9"));
    assert_eq!(first.after, Some(json!({"n": 1})));
    assert_eq!(
        chain(store, "scope-b").await[0].seq,
        1,
        "chains are per scope"
    );
    let newest = store.list_audit("scope-a", None, 2).await.unwrap();
    let older = store
        .list_audit("scope-a", Some(newest[1].seq), 10)
        .await
        .unwrap();
    let seqs: Vec<i64> = newest.iter().chain(&older).map(|e| e.seq).collect();
    assert_eq!(seqs, [5, 4, 3, 2, 1]);
    assert_eq!(older.last(), Some(&first));
    assert_eq!(
        store.audit_scopes().await.unwrap(),
        ["scope-a", "scope-b"],
        "every scope with entries"
    );
}

#[tokio::test]
async fn a_scope_without_entries_has_no_head_and_an_empty_chain() {
    let db = connect().await;
    let store = &db.store;

    assert_eq!(store.audit_head("nothing").await.unwrap(), None);
    assert!(
        store
            .audit_chain("nothing", 0, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .list_audit("nothing", None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.audit_scopes().await.unwrap().is_empty());
}

#[tokio::test]
async fn audited_writes_extend_their_shops_chain_and_refused_ones_do_not() {
    let db = connect().await;
    let (a, b) = (shop(&db, "alpha").await, shop(&db, "beta").await);
    let store = &db.store;
    let p = a.product("tee", &[("T-1", 1000, 5)]).await;

    let taken = store
        .create_product(
            a.tenant,
            &new_product("tee", &[("T-2", 1, 1)]),
            1000,
            &ctx(),
        )
        .await;
    let over_limit = store
        .create_product(a.tenant, &new_product("hat", &[("H-1", 1, 1)]), 1, &ctx())
        .await;
    store
        .adjust_inventory(a.tenant, p.variants[0].id, 2, "count", &ctx())
        .await
        .unwrap();
    b.product("mug", &[("M-1", 500, 1)]).await;

    assert!(matches!(
        taken,
        Err(StoreError::Conflict { field: "handle" })
    ));
    assert!(matches!(
        over_limit,
        Err(StoreError::LimitReached("products"))
    ));
    let log = chain(store.as_ref(), &a.scope()).await;
    let entries: Vec<(&str, &str)> = log
        .iter()
        .map(|e| (e.action.as_str(), e.target.as_str()))
        .collect();
    let product = format!("product:{}", p.id);
    let variant = format!("variant:{}", p.variants[0].id);
    assert_eq!(
        entries,
        [
            ("product.create", product.as_str()),
            ("inventory.adjust", variant.as_str())
        ]
    );
    assert_eq!(log[1].before, Some(json!({"on_hand": 5})));
    assert_eq!(log[1].after.as_ref().unwrap()["on_hand"], 7);
    assert_eq!(
        (log[1].actor.as_str(), log[1].ip.as_deref()),
        ("staff:test", Some("192.0.2.1"))
    );
    assert_eq!(b.actions().await, ["product.create"]);
    let mut scopes = store.audit_scopes().await.unwrap();
    scopes.sort();
    let mut expected = vec![a.scope(), b.scope(), PLATFORM_SCOPE.to_owned()];
    expected.sort();
    assert_eq!(scopes, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_to_one_chain_get_consecutive_numbers() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let store = db.store.clone();
    let p = a.product("tee", &[("T-1", 1000, 5)]).await;

    race(32, |i| {
        let (store, a) = (store.clone(), a.clone());
        let variant = p.variants[0].id;
        async move {
            if i % 2 == 0 {
                store
                    .append_audit(&a.scope(), &ctx(), "note", &format!("n:{i}"), None)
                    .await
                    .unwrap();
            } else {
                store
                    .adjust_inventory(a.tenant, variant, 1, "count", &ctx())
                    .await
                    .unwrap();
            }
        }
    })
    .await;

    let log = chain(store.as_ref(), &a.scope()).await;
    assert_eq!(log.len(), 33, "product.create and 32 more, none lost");
    let seqs: Vec<i64> = log.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=33).collect::<Vec<i64>>());
}
