//! Outbound webhook endpoints and their attempts: tenant-scoped CRUD,
//! rotation keeping the previous secret, attempts newest first, and what
//! an attempt does to its endpoint (failure runs, disabling with an outbox
//! event and an audit entry).

use chrono::Duration;
use storekeep_domain::{
    DeliveryOutcome, JobFilter, NewJob, TenantId, WebhookDelivery, WebhookDeliveryId,
    WebhookEndpoint, WebhookEndpointId, WebhookEndpointPatch, WebhookReplay, WebhookStatus,
};
use storekeep_store::webhooks::{AttemptEffect, ENDPOINT_DISABLED};
use storekeep_store::{Store, StoreError, now};

use crate::support::{all_pages, chain, connect, ctx, page, shop};

fn endpoint(tenant: TenantId, events: &[&str]) -> WebhookEndpoint {
    let at = now();
    WebhookEndpoint {
        id: WebhookEndpointId::new(),
        tenant_id: tenant,
        url: "https://hooks.example.com/in".into(),
        description: "erp".into(),
        events: events.iter().map(|e| (*e).to_owned()).collect(),
        secret_sealed: "sealed-1".into(),
        previous_secret_sealed: None,
        previous_secret_expires_at: None,
        status: WebhookStatus::Enabled,
        disabled_reason: None,
        failing_since: None,
        created_at: at,
        updated_at: at,
    }
}

fn attempt(e: &WebhookEndpoint, n: i64, outcome: DeliveryOutcome) -> WebhookDelivery {
    WebhookDelivery {
        id: WebhookDeliveryId::new(),
        tenant_id: e.tenant_id,
        endpoint_id: e.id,
        event_id: "evt".into(),
        event_type: "order.paid".into(),
        attempt: n,
        at: now(),
        status_code: Some(500),
        error: None,
        latency_ms: 12,
        response_excerpt: "boom".into(),
        outcome,
    }
}

#[tokio::test]
async fn endpoints_are_stored_listed_changed_and_deleted_per_shop() {
    let db = connect().await;
    let (a, b) = (shop(&db, "alpha").await, shop(&db, "beta").await);
    let store = &db.store;
    let one = store
        .create_webhook_endpoint(&endpoint(a.tenant, &["order.paid"]), &ctx())
        .await
        .unwrap();
    let two = store
        .create_webhook_endpoint(&endpoint(a.tenant, &[]), &ctx())
        .await
        .unwrap();
    store
        .create_webhook_endpoint(&endpoint(b.tenant, &[]), &ctx())
        .await
        .unwrap();

    assert_eq!(store.webhook_endpoint(a.tenant, one.id).await.unwrap(), one);
    let listed = all_pages(1, async |pg| {
        store.list_webhook_endpoints(a.tenant, &pg).await
    })
    .await;
    assert_eq!(listed, [one.clone(), two.clone()]);
    let paid = store
        .webhook_endpoints_for(a.tenant, "order.paid")
        .await
        .unwrap();
    assert_eq!(paid.len(), 2);
    let created = store
        .webhook_endpoints_for(a.tenant, "order.created")
        .await
        .unwrap();
    assert_eq!(
        &created[..],
        std::slice::from_ref(&two),
        "only the all-events endpoint"
    );

    // Another shop sees and touches nothing.
    let other = store.webhook_endpoint(b.tenant, one.id).await;
    assert!(matches!(other, Err(StoreError::NotFound(_))));
    let patch = WebhookEndpointPatch {
        status: Some(WebhookStatus::Disabled),
        ..Default::default()
    };
    let other = store
        .update_webhook_endpoint(b.tenant, one.id, &patch, &ctx())
        .await;
    assert!(matches!(other, Err(StoreError::NotFound(_))));
    let other = store
        .delete_webhook_endpoint(b.tenant, one.id, &ctx())
        .await;
    assert!(matches!(other, Err(StoreError::NotFound(_))));

    let changed = store
        .update_webhook_endpoint(
            a.tenant,
            one.id,
            &WebhookEndpointPatch {
                url: Some("https://new.example.com/".into()),
                events: Some(vec!["order.created".into()]),
                status: Some(WebhookStatus::Disabled),
                ..Default::default()
            },
            &ctx(),
        )
        .await
        .unwrap();
    assert_eq!(changed.url, "https://new.example.com/");
    assert_eq!(changed.events, ["order.created"]);
    assert_eq!(changed.status, WebhookStatus::Disabled);
    assert!(changed.disabled_reason.is_some());
    assert_eq!(
        store.webhook_endpoint(a.tenant, one.id).await.unwrap(),
        changed
    );
    assert!(
        store
            .webhook_endpoints_for(a.tenant, "order.created")
            .await
            .unwrap()
            .iter()
            .all(|e| e.id != one.id),
        "a disabled endpoint is sent nothing"
    );

    store
        .record_webhook_attempt(
            &attempt(&two, 1, DeliveryOutcome::Failed),
            AttemptEffect::None,
        )
        .await
        .unwrap();
    store
        .delete_webhook_endpoint(a.tenant, two.id, &ctx())
        .await
        .unwrap();
    let gone = store.webhook_endpoint(a.tenant, two.id).await;
    assert!(matches!(gone, Err(StoreError::NotFound(_))));
    let gone = store
        .list_webhook_deliveries(a.tenant, two.id, &page(10, None))
        .await;
    assert!(matches!(gone, Err(StoreError::NotFound(_))));

    let audit = store
        .list_audit(&a.tenant.to_string(), None, 20)
        .await
        .unwrap();
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    assert!(actions.contains(&"webhook_endpoint.create"));
    assert!(actions.contains(&"webhook_endpoint.update"));
    assert!(actions.contains(&"webhook_endpoint.delete"));
    assert!(
        audit
            .iter()
            .all(|e| !format!("{:?}{:?}", e.before, e.after).contains("sealed-1")),
        "secrets stay out of the audit log"
    );
}

#[tokio::test]
async fn rotation_keeps_the_previous_secret_until_it_expires() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let store = &db.store;
    let e = store
        .create_webhook_endpoint(&endpoint(a.tenant, &[]), &ctx())
        .await
        .unwrap();
    let until = now() + Duration::hours(24);
    let rotated = store
        .rotate_webhook_secret(a.tenant, e.id, "sealed-2", until, &ctx())
        .await
        .unwrap();
    assert_eq!(rotated.secret_sealed, "sealed-2");
    assert_eq!(rotated.previous_secret_sealed.as_deref(), Some("sealed-1"));
    assert_eq!(rotated.previous_secret_expires_at, Some(until));
    assert_eq!(
        store.webhook_endpoint(a.tenant, e.id).await.unwrap(),
        rotated
    );
}

#[tokio::test]
async fn attempts_list_newest_first_and_move_the_failure_run() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let store = &db.store;
    let e = store
        .create_webhook_endpoint(&endpoint(a.tenant, &[]), &ctx())
        .await
        .unwrap();
    let keep_going = AttemptEffect::Failed {
        disable_if_failing_since: now() - Duration::days(5),
    };
    let first = attempt(&e, 1, DeliveryOutcome::Failed);
    let r = store
        .record_webhook_attempt(&first, keep_going)
        .await
        .unwrap();
    assert_eq!(r.endpoint.failing_since, Some(first.at));
    assert!(!r.disabled);
    let second = attempt(&e, 2, DeliveryOutcome::Failed);
    let r = store
        .record_webhook_attempt(&second, keep_going)
        .await
        .unwrap();
    assert_eq!(
        r.endpoint.failing_since,
        Some(first.at),
        "the run keeps its start"
    );
    let third = WebhookDelivery {
        status_code: Some(200),
        ..attempt(&e, 3, DeliveryOutcome::Succeeded)
    };
    let r = store
        .record_webhook_attempt(&third, AttemptEffect::Succeeded)
        .await
        .unwrap();
    assert_eq!(r.endpoint.failing_since, None);

    let listed = all_pages(2, async |pg| {
        store.list_webhook_deliveries(a.tenant, e.id, &pg).await
    })
    .await;
    assert_eq!(listed, [third, second, first]);
    let bad = store
        .list_webhook_deliveries(a.tenant, e.id, &page(2, Some("nope".into())))
        .await;
    assert!(matches!(bad, Err(StoreError::InvalidCursor)));
    let b = shop(&db, "beta").await;
    let other = store
        .list_webhook_deliveries(b.tenant, e.id, &page(2, None))
        .await;
    assert!(matches!(other, Err(StoreError::NotFound(_))));
}

async fn disabled_events(store: &std::sync::Arc<dyn Store>, tenant: TenantId) -> usize {
    store
        .list_events(tenant, Some(ENDPOINT_DISABLED), &page(10, None))
        .await
        .unwrap()
        .items
        .len()
}

#[tokio::test]
async fn an_endpoint_failing_too_long_or_gone_is_disabled_once_with_an_event() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let store = &db.store;
    let e = store
        .create_webhook_endpoint(&endpoint(a.tenant, &[]), &ctx())
        .await
        .unwrap();
    let first = attempt(&e, 1, DeliveryOutcome::Failed);
    // A cutoff after the run's start: the run is already too long.
    let too_long = AttemptEffect::Failed {
        disable_if_failing_since: now() + Duration::seconds(1),
    };
    let r = store
        .record_webhook_attempt(&first, too_long)
        .await
        .unwrap();
    assert!(r.disabled);
    assert_eq!(r.endpoint.status, WebhookStatus::Disabled);
    assert!(r.endpoint.disabled_reason.unwrap().contains("failed since"));
    let again = attempt(&e, 2, DeliveryOutcome::Failed);
    let r = store
        .record_webhook_attempt(&again, too_long)
        .await
        .unwrap();
    assert!(!r.disabled, "disabled once");
    assert_eq!(disabled_events(store, a.tenant).await, 1);
    let events = store
        .list_events(a.tenant, Some(ENDPOINT_DISABLED), &page(10, None))
        .await
        .unwrap();
    assert_eq!(events.items[0].payload["endpoint_id"], e.id.to_string());
    let audit = store
        .list_audit(&a.tenant.to_string(), None, 5)
        .await
        .unwrap();
    assert_eq!(audit[0].action, "webhook_endpoint.disable");
    assert_eq!(audit[0].actor, "system");

    let g = store
        .create_webhook_endpoint(&endpoint(a.tenant, &[]), &ctx())
        .await
        .unwrap();
    let gone = WebhookDelivery {
        status_code: Some(410),
        ..attempt(&g, 1, DeliveryOutcome::Abandoned)
    };
    let r = store
        .record_webhook_attempt(&gone, AttemptEffect::Gone)
        .await
        .unwrap();
    assert!(r.disabled);
    assert!(r.endpoint.disabled_reason.unwrap().contains("410"));
    assert_eq!(disabled_events(store, a.tenant).await, 2);

    let missing = WebhookEndpoint {
        id: WebhookEndpointId::new(),
        ..g.clone()
    };
    let r = store
        .record_webhook_attempt(
            &attempt(&missing, 1, DeliveryOutcome::Failed),
            AttemptEffect::None,
        )
        .await;
    assert!(matches!(r, Err(StoreError::NotFound(_))));
}

#[tokio::test]
async fn a_replay_enqueues_its_jobs_with_its_audit_entry_or_writes_nothing() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let store: &dyn Store = db.store.as_ref();
    let e = store
        .create_webhook_endpoint(&endpoint(a.tenant, &[]), &ctx())
        .await
        .unwrap();
    let replay = WebhookReplay {
        event_id: None,
        since: Some(now() - Duration::hours(1)),
        until: Some(now()),
        events: 2,
    };
    let jobs = [
        NewJob::new("webhook.deliver", serde_json::json!({"n": 1}))
            .queue("webhooks")
            .tenant(a.tenant),
        NewJob::new("webhook.deliver", serde_json::json!({"n": 2}))
            .queue("webhooks")
            .tenant(a.tenant),
    ];
    let deliveries = async || {
        let filter = JobFilter {
            kind: Some("webhook.deliver".into()),
            ..JobFilter::default()
        };
        store
            .list_jobs(Some(a.tenant), &filter, &page(100, None))
            .await
            .unwrap()
            .items
    };

    let ids = store
        .replay_webhook(a.tenant, e.id, &replay, &jobs, &ctx())
        .await
        .unwrap();
    assert_eq!(ids.len(), 2);
    assert_eq!(deliveries().await.len(), 2);
    let entries = chain(store, &a.scope()).await;
    let last = entries.last().unwrap();
    assert_eq!(last.action, "webhook_endpoint.replay");
    assert_eq!(last.target, format!("webhook_endpoint:{}", e.id));
    assert_eq!(last.after.as_ref().unwrap()["events"], 2);
    assert_eq!(last.actor, ctx().actor);

    // Disabled, or another shop's: refused, and nothing is written.
    let off = WebhookEndpointPatch {
        status: Some(WebhookStatus::Disabled),
        ..WebhookEndpointPatch::default()
    };
    store
        .update_webhook_endpoint(a.tenant, e.id, &off, &ctx())
        .await
        .unwrap();
    let before = chain(store, &a.scope()).await.len();
    let refused = store
        .replay_webhook(a.tenant, e.id, &replay, &jobs, &ctx())
        .await;
    assert!(
        matches!(refused, Err(StoreError::Invalid(_))),
        "{refused:?}"
    );
    let b = shop(&db, "beta").await;
    let elsewhere = store
        .replay_webhook(b.tenant, e.id, &replay, &jobs, &ctx())
        .await;
    assert!(
        matches!(elsewhere, Err(StoreError::NotFound(_))),
        "{elsewhere:?}"
    );
    assert_eq!(deliveries().await.len(), 2);
    assert_eq!(chain(store, &a.scope()).await.len(), before);
}

#[tokio::test]
async fn a_batch_of_attempts_is_recorded_in_order_per_endpoint_or_not_at_all() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let store = &db.store;
    let e1 = store
        .create_webhook_endpoint(&endpoint(a.tenant, &[]), &ctx())
        .await
        .unwrap();
    let e2 = store
        .create_webhook_endpoint(&endpoint(a.tenant, &[]), &ctx())
        .await
        .unwrap();
    let keep_going = AttemptEffect::Failed {
        disable_if_failing_since: now() - Duration::days(5),
    };
    // Given with the endpoints interleaved: each endpoint's attempts apply
    // in the order given, and the answers come in the order given.
    let (f1, f2) = (
        attempt(&e1, 1, DeliveryOutcome::Failed),
        attempt(&e2, 1, DeliveryOutcome::Failed),
    );
    let ok1 = WebhookDelivery {
        status_code: Some(200),
        ..attempt(&e1, 2, DeliveryOutcome::Succeeded)
    };
    let batch = [
        (f1.clone(), keep_going),
        (f2.clone(), keep_going),
        (ok1.clone(), AttemptEffect::Succeeded),
    ];
    let r = store.record_webhook_attempts(&batch).await.unwrap();
    assert_eq!(r.len(), 3);
    assert_eq!(
        (r[0].endpoint.id, r[0].endpoint.failing_since),
        (e1.id, Some(f1.at))
    );
    assert_eq!(
        (r[1].endpoint.id, r[1].endpoint.failing_since),
        (e2.id, Some(f2.at))
    );
    assert_eq!(
        (r[2].endpoint.id, r[2].endpoint.failing_since),
        (e1.id, None)
    );
    let listed = |e: WebhookEndpointId| async move {
        all_pages(10, async |pg| {
            store.list_webhook_deliveries(a.tenant, e, &pg).await
        })
        .await
    };
    assert_eq!(listed(e1.id).await, [ok1, f1]);
    assert_eq!(listed(e2.id).await, [f2]);

    // An attempt whose endpoint is gone fails the batch: nothing of it is
    // written, not even the others' attempts.
    store
        .delete_webhook_endpoint(a.tenant, e2.id, &ctx())
        .await
        .unwrap();
    let batch = [
        (attempt(&e1, 3, DeliveryOutcome::Failed), keep_going),
        (attempt(&e2, 2, DeliveryOutcome::Failed), keep_going),
    ];
    assert!(store.record_webhook_attempts(&batch).await.is_err());
    assert_eq!(listed(e1.id).await.len(), 2);
    assert_eq!(
        store
            .webhook_endpoint(a.tenant, e1.id)
            .await
            .unwrap()
            .failing_since,
        None
    );
}
