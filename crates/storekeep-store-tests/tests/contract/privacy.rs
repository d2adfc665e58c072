//! Customers' rights (issue 16): an erasure is refused while an order is
//! open, refused when the caller's list of orders is stale, and otherwise
//! replaces the account's and its orders' PII, frees the email index,
//! deletes the sessions and the email jobs about the customer and
//! writes one audit entry, once; only a customer of the shop is found.

use chrono::Duration;
use storekeep_domain::{NewJob, NewSession, OrderStatus, SessionId, UserKind};
use storekeep_store::privacy::{ErasedOrder, Erasure, ErasureOutcome};
use storekeep_store::rules::privacy::{ErasureReport, is_erased_index};
use storekeep_store::{Store, StoreError, now};

use crate::support::{account, actions, connect, ctx, shop, staff};

#[tokio::test]
async fn an_erasure_waits_for_open_orders_then_replaces_the_pii_once() {
    let db = connect().await;
    let store: &dyn Store = db.store.as_ref();
    let a = shop(&db, "alpha").await;
    let b = shop(&db, "beta").await;
    let mut ann = account(Some(a.tenant), UserKind::Customer, "idx-ann");
    ann.name_sealed = Some("sealed-name".into());
    store.create_user(&ann, None).await.unwrap();
    let owner = account(Some(a.tenant), UserKind::Staff, "idx-owner");
    store.create_user(&owner, None).await.unwrap();
    store
        .create_session(&NewSession {
            id: SessionId::new(),
            token_hash: "ann-token".into(),
            user_id: ann.id,
            tenant_id: Some(a.tenant),
            expires_at: now() + Duration::hours(1),
            ip: Some("192.0.2.9".into()),
            user_agent: Some("agent".into()),
        })
        .await
        .unwrap();
    let p = a.product("laptop", &[("L-1", 1_000, 5)]).await;
    let mut order = a.order(&[(&p.variants[0], 1)]).await;
    order.customer_id = Some(ann.id);
    let order = crate::support::created(a.checkout(&order).await);
    let id = order.order.id;
    // A pending account email to Ann, and one to someone else.
    let email_job = |user: storekeep_domain::UserId| {
        NewJob::new("email.account", serde_json::json!({ "user_id": user }))
            .queue("email")
            .tenant(a.tenant)
    };
    let anns_job = store.enqueue(&email_job(ann.id)).await.unwrap();
    let owners_job = store.enqueue(&email_job(owner.id)).await.unwrap();
    // A finished (discarded) new-device notice to Ann: her browser and
    // network are in its payload.
    let device = NewJob::new(
        "email.account",
        serde_json::json!({ "user_id": ann.id, "device": {"agent": "Firefox", "network": "192.0.2.0/24"} }),
    )
    .queue("email")
    .tenant(a.tenant);
    let anns_old_job = store.enqueue(&device).await.unwrap();
    store
        .discard_job(Some(a.tenant), anns_old_job)
        .await
        .unwrap();
    let erasure = |orders: Vec<ErasedOrder>| Erasure {
        tenant: a.tenant,
        customer: ann.id,
        email_sealed: "sealed-placeholder".into(),
        orders,
    };
    let placeholders = vec![ErasedOrder {
        id,
        email_sealed: "order-email-placeholder".into(),
        address_sealed: "order-address-placeholder".into(),
    }];

    // Unpaid: refused, nothing changed.
    let out = store
        .erase_customer(&erasure(placeholders.clone()), &ctx())
        .await
        .unwrap();
    let ErasureOutcome::Blocked(open) = out else {
        panic!("{out:?}")
    };
    assert_eq!(open.orders, [id.0]);
    assert!(store.session_by_token("ann-token", now()).await.is_ok());

    store
        .transition_order(a.tenant, id, OrderStatus::Cancelled, &staff(&ctx()))
        .await
        .unwrap();
    // A stale list of orders: refused, nothing changed.
    let out = store
        .erase_customer(&erasure(Vec::new()), &ctx())
        .await
        .unwrap();
    assert_eq!(out, ErasureOutcome::OrdersChanged);
    assert_eq!(
        store.user_by_id(ann.id).await.unwrap().email_index,
        "idx-ann"
    );

    let out = store
        .erase_customer(&erasure(placeholders.clone()), &ctx())
        .await
        .unwrap();
    assert_eq!(
        out,
        ErasureOutcome::Erased(ErasureReport {
            orders: 1,
            sessions: 1,
            jobs: 2
        })
    );
    assert!(store.job(Some(a.tenant), anns_job).await.is_err());
    assert!(store.job(Some(a.tenant), anns_old_job).await.is_err());
    assert!(store.job(Some(a.tenant), owners_job).await.is_ok());
    let erased = store.user_by_id(ann.id).await.unwrap();
    assert!(is_erased_index(&erased.email_index));
    assert_eq!(erased.email_sealed, "sealed-placeholder");
    assert_eq!(erased.name_sealed, None);
    assert_ne!(erased.password_hash, ann.password_hash);
    assert!(store.session_by_token("ann-token", now()).await.is_err());
    let kept = store.order(a.tenant, id).await.unwrap();
    assert_eq!(kept.order.email_sealed, "order-email-placeholder");
    assert_eq!(kept.order.address_sealed, "order-address-placeholder");
    assert_eq!(
        (kept.order.total, kept.order.status, kept.order.lines.len()),
        (order.order.total, OrderStatus::Cancelled, 1)
    );
    // The email is free: a new account may take it.
    let again = account(Some(a.tenant), UserKind::Customer, "idx-ann");
    store.create_user(&again, None).await.unwrap();

    // Once: a second erasure changes and records nothing.
    let before = actions(store, &a.scope()).await;
    assert_eq!(before.iter().filter(|x| *x == "customer.erased").count(), 1);
    let out = store
        .erase_customer(&erasure(placeholders.clone()), &ctx())
        .await
        .unwrap();
    assert_eq!(out, ErasureOutcome::AlreadyErased);
    assert_eq!(actions(store, &a.scope()).await, before);

    // A sign-in whose password check raced the erasure gets no session.
    let late_session = store
        .create_session(&NewSession {
            id: SessionId::new(),
            token_hash: "late-token".into(),
            user_id: ann.id,
            tenant_id: Some(a.tenant),
            expires_at: now() + Duration::hours(1),
            ip: Some("192.0.2.10".into()),
            user_agent: Some("agent".into()),
        })
        .await;
    assert!(
        matches!(late_session, Err(StoreError::NotFound(_))),
        "{late_session:?}"
    );
    assert!(store.session_by_token("late-token", now()).await.is_err());

    // An order committed after the erasure read the orders (the checkout
    // race) keeps the old email until the customer is erased again: that
    // erasure scrubs it, says so and is audited; the next changes nothing.
    let mut late = a.order(&[(&p.variants[0], 1)]).await;
    late.customer_id = Some(ann.id);
    let late = crate::support::created(a.checkout(&late).await).order.id;
    assert!(!is_erased_index(
        &store.order(a.tenant, late).await.unwrap().order.email_index
    ));
    store
        .transition_order(a.tenant, late, OrderStatus::Cancelled, &staff(&ctx()))
        .await
        .unwrap();
    let mut both = placeholders.clone();
    both.push(ErasedOrder {
        id: late,
        email_sealed: "late-email-placeholder".into(),
        address_sealed: "late-address-placeholder".into(),
    });
    let out = store
        .erase_customer(&erasure(both.clone()), &ctx())
        .await
        .unwrap();
    assert_eq!(
        out,
        ErasureOutcome::Erased(ErasureReport {
            orders: 1,
            sessions: 0,
            jobs: 0
        })
    );
    let scrubbed = store.order(a.tenant, late).await.unwrap().order;
    assert_eq!(scrubbed.email_sealed, "late-email-placeholder");
    assert_eq!(scrubbed.address_sealed, "late-address-placeholder");
    assert!(is_erased_index(&scrubbed.email_index));
    // The first order kept its first placeholders (not rewritten).
    let first = store.order(a.tenant, id).await.unwrap().order;
    assert_eq!(first.email_sealed, "order-email-placeholder");
    let after = actions(store, &a.scope()).await;
    assert_eq!(after.iter().filter(|x| *x == "customer.erased").count(), 2);
    let out = store.erase_customer(&erasure(both), &ctx()).await.unwrap();
    assert_eq!(out, ErasureOutcome::AlreadyErased);
    assert_eq!(actions(store, &a.scope()).await, after);

    // Only a customer of the shop is one.
    for (tenant, user) in [(b.tenant, ann.id), (a.tenant, owner.id)] {
        assert!(matches!(
            store.customer(tenant, user).await,
            Err(StoreError::NotFound(_))
        ));
    }
    assert_eq!(
        store.customer_order_ids(a.tenant, ann.id).await.unwrap(),
        [id, late]
    );
}
