//! The dispatcher's store side: committed outbox events become one job per
//! destination (the email for topics that have one, a delivery per
//! enabled endpoint that wants the topic) and are marked dispatched in the
//! same transaction; a second pass, or dispatchers racing, add nothing.

use std::collections::BTreeSet;

use chrono::Utc;
use storekeep_domain::{
    Job, JobFilter, TenantId, WebhookEndpoint, WebhookEndpointId, WebhookEndpointPatch,
    WebhookStatus,
};
use storekeep_store::Store;
use storekeep_store::rules::delivery::{EMAIL_JOB, WEBHOOK_JOB};

use crate::support::{all_pages, connect, ctx, race, shop};

fn endpoint(tenant: TenantId, events: &[&str]) -> WebhookEndpoint {
    let at = Utc::now();
    WebhookEndpoint {
        id: WebhookEndpointId::new(),
        tenant_id: tenant,
        url: "https://hooks.example.com/in".into(),
        description: String::new(),
        events: events.iter().map(|e| (*e).to_owned()).collect(),
        secret_sealed: "sealed".into(),
        previous_secret_sealed: None,
        previous_secret_expires_at: None,
        status: WebhookStatus::Enabled,
        disabled_reason: None,
        failing_since: None,
        created_at: at,
        updated_at: at,
    }
}

async fn jobs(store: &dyn Store, tenant: TenantId) -> Vec<Job> {
    all_pages(50, async |pg| {
        store
            .list_jobs(Some(tenant), &JobFilter::default(), &pg)
            .await
    })
    .await
}

/// `(kind, topic, endpoint)` of each job, sorted.
fn described(jobs: &[Job]) -> BTreeSet<(String, String, String)> {
    jobs.iter()
        .map(|j| {
            (
                j.kind.clone(),
                j.payload["topic"].as_str().unwrap_or_default().to_owned(),
                j.payload["endpoint_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect()
}

async fn drain(store: &dyn Store) -> usize {
    let mut total = 0;
    loop {
        let n = store.dispatch_events(3).await.unwrap();
        if n == 0 {
            return total;
        }
        total += n;
    }
}

#[tokio::test]
async fn each_event_becomes_one_job_per_destination_once() {
    let db = connect().await;
    let (a, b) = (shop(&db, "alpha").await, shop(&db, "beta").await);
    let store = &*db.store;
    let every = store
        .create_webhook_endpoint(&endpoint(a.tenant, &[]), &ctx())
        .await
        .unwrap();
    let paid_only = store
        .create_webhook_endpoint(&endpoint(a.tenant, &["order.paid"]), &ctx())
        .await
        .unwrap();
    let off = store
        .create_webhook_endpoint(&endpoint(a.tenant, &[]), &ctx())
        .await
        .unwrap();
    let patch = WebhookEndpointPatch {
        status: Some(WebhookStatus::Disabled),
        ..Default::default()
    };
    store
        .update_webhook_endpoint(a.tenant, off.id, &patch, &ctx())
        .await
        .unwrap();
    let p = a.product("p", &[("A", 1000, 10)]).await;
    let q = b.product("q", &[("Q", 1000, 10)]).await;
    a.paid(&[(&p.variants[0], 1)]).await;
    b.place(&[(&q.variants[0], 1)]).await;

    // alpha: order.created, payment.created, payment.confirmed, order.paid;
    // beta: order.created, payment.created.
    assert_eq!(drain(store).await, 6);
    assert_eq!(drain(store).await, 0, "events are dispatched once");

    let (e, p1) = (every.id.to_string(), paid_only.id.to_string());
    let want: BTreeSet<(String, String, String)> = [
        (EMAIL_JOB, "order.created", ""),
        (EMAIL_JOB, "payment.confirmed", ""),
        (WEBHOOK_JOB, "order.created", e.as_str()),
        (WEBHOOK_JOB, "payment.created", e.as_str()),
        (WEBHOOK_JOB, "payment.confirmed", e.as_str()),
        (WEBHOOK_JOB, "order.paid", e.as_str()),
        (WEBHOOK_JOB, "order.paid", p1.as_str()),
    ]
    .into_iter()
    .map(|(k, t, e)| (k.to_owned(), t.to_owned(), e.to_owned()))
    .collect();
    let alpha = jobs(store, a.tenant).await;
    assert_eq!(alpha.len(), want.len());
    assert_eq!(described(&alpha), want);
    assert!(alpha.iter().all(|j| j.tenant_id == Some(a.tenant)));

    let beta = jobs(store, b.tenant).await;
    assert_eq!(
        described(&beta),
        [(
            EMAIL_JOB.to_owned(),
            "order.created".to_owned(),
            String::new()
        )]
        .into()
    );
    // The job names the event it delivers, which the shop can read.
    let email = &beta[0];
    let id = email.payload["event_id"].as_str().unwrap().parse().unwrap();
    let event = store
        .event(b.tenant, storekeep_domain::EventId(id))
        .await
        .unwrap();
    assert_eq!(event.topic, "order.created");
    assert!(
        store
            .event(a.tenant, storekeep_domain::EventId(id))
            .await
            .is_err(),
        "another shop's event is not found"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dispatchers_racing_hand_each_event_over_once() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let store = db.store.clone();
    store
        .create_webhook_endpoint(&endpoint(a.tenant, &["order.created"]), &ctx())
        .await
        .unwrap();
    let p = a.product("p", &[("A", 1000, 1000)]).await;
    for _ in 0..20 {
        a.place(&[(&p.variants[0], 1)]).await;
    }
    let counts = race(4, move |_| {
        let store = store.clone();
        async move {
            let mut n = 0;
            loop {
                let got = store.dispatch_events(5).await.unwrap();
                if got == 0 {
                    return n;
                }
                n += got;
            }
        }
    })
    .await;
    // 20 orders: order.created and payment.created each.
    assert_eq!(counts.iter().sum::<usize>(), 40, "{counts:?}");
    let all = jobs(&*db.store, a.tenant).await;
    // An email and a delivery per order.created.
    assert_eq!(all.len(), 40);
    let keys: BTreeSet<_> = all.iter().map(|j| j.unique_key.clone()).collect();
    assert_eq!(keys.len(), 40);
}

#[tokio::test]
async fn a_dispatch_takes_at_most_its_limit_whatever_plan_postgresql_picks() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let p = a.product("p", &[("A", 1000, 1000)]).await;
    for _ in 0..20 {
        a.place(&[(&p.variants[0], 1)]).await;
    }
    // Statistics taken when every event was dispatched (most of the
    // time), then a burst of 40 orders: 80 events. A locking pick under
    // `id IN (…)`, planned for the one event the statistics promised, may
    // run again for each event updated and take more than asked (the
    // jobs' claim did).
    assert_eq!(drain(&*db.store).await, 40);
    let store = db.generic_plans().await;
    for _ in 0..40 {
        a.place(&[(&p.variants[0], 1)]).await;
    }
    for round in 0..5 {
        assert_eq!(
            store.dispatch_events(5).await.unwrap(),
            5,
            "dispatch {round}"
        );
    }
    assert_eq!(drain(&*store).await, 55);
}
