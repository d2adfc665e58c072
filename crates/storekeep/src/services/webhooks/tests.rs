//! `deliver` as the job runner calls it: what it refuses to send, and
//! that the delivery client's resolver refuses a name that now resolves to
//! a refused address (the DNS-rebinding case).

use std::sync::Arc;

use storekeep_domain::{AuditContext, EventId, OutboxEvent, TenantId, WebhookStatus};

use super::{DeliveryError, create, deliver, deliveries, update};
use crate::config::{Secret, Settings};
use crate::crypto::Keyring;
use crate::services::{Services, tenants};
use crate::wire::tenants::NewTenantInput;
use crate::wire::webhooks::{NewWebhookInput, WebhookPatchInput};

fn audit() -> AuditContext {
    AuditContext {
        actor: "test".into(),
        ip: None,
        request_id: None,
    }
}

/// Two views of one database: one whose operator allows loopback, one
/// with the default policy.
async fn services(dir: &std::path::Path) -> (Arc<Services>, Arc<Services>, TenantId) {
    let (keys, index) = Keyring::generate();
    let settings = |allow: &str| {
        let mut s = Settings {
            data_dir: dir.to_owned(),
            database_url: Some(Secret::new(format!(
                "sqlite://{}",
                dir.join("t.db").display()
            ))),
            ..Settings::default()
        };
        s.webhooks.allow_networks = allow
            .split(',')
            .filter(|a| !a.is_empty())
            .map(|a| a.parse().unwrap())
            .collect();
        s
    };
    let open = async |allow: &str| {
        let s = settings(allow);
        let store = crate::db::connect_and_migrate(&s).await.unwrap();
        Arc::new(Services::new(store, s, Keyring::parse(&keys, &index).unwrap()).unwrap())
    };
    let open_svc = open("127.0.0.0/8,::1/128").await;
    let strict = open("").await;
    let input = NewTenantInput {
        slug: "acme".into(),
        name: "Acme".into(),
        plan: None,
        domains: vec![],
        settings: None,
    };
    let tenant = tenants::create(open_svc.store.as_ref(), None, &input, &audit())
        .await
        .unwrap();
    (open_svc, strict, tenant.id)
}

fn event() -> OutboxEvent {
    OutboxEvent {
        id: EventId::new(),
        topic: "order.paid".into(),
        subject: "order:x".into(),
        payload: serde_json::json!({"n": 1}),
        created_at: storekeep_store::now(),
    }
}

#[tokio::test]
async fn disabled_deleted_and_refused_endpoints_are_permanent_failures() {
    let dir = tempfile::tempdir().unwrap();
    let (open, strict, tenant) = services(dir.path()).await;
    let new = |url: &str| NewWebhookInput {
        url: url.into(),
        description: String::new(),
        events: vec![],
    };

    // Registered while loopback was allowed; delivered under the default
    // policy: the literal and the name are both refused, nothing is sent,
    // the attempt is recorded and the endpoint stays enabled.
    for url in ["http://127.0.0.1:9/hook", "http://localhost:9/hook"] {
        let (e, _) = create(&open, tenant, &new(url), &audit()).await.unwrap();
        let r = deliver(&strict, tenant, e.id, &event(), 1).await;
        assert!(
            matches!(&r, Err(DeliveryError::Permanent { .. })),
            "{url}: {r:?}"
        );
        let page = storekeep_domain::PageRequest::default();
        let attempts = deliveries(&strict, tenant, e.id, &page).await.unwrap();
        assert_eq!(attempts.items.len(), 1);
        assert_eq!(attempts.items[0].error.as_deref(), Some("refused_address"));
        let now = strict.store.webhook_endpoint(tenant, e.id).await.unwrap();
        assert_eq!(now.status, WebhookStatus::Enabled);
        // Under the allowing policy the port is closed: a retry.
        let r = deliver(&open, tenant, e.id, &event(), 2).await;
        assert!(
            matches!(r, Err(DeliveryError::Retry { .. })),
            "{url}: {r:?}"
        );
    }

    let (e, _) = create(&open, tenant, &new("http://127.0.0.1:9/x"), &audit())
        .await
        .unwrap();
    let off = WebhookPatchInput {
        status: Some("disabled".into()),
        ..Default::default()
    };
    update(&open, tenant, e.id, &off, &audit()).await.unwrap();
    let r = deliver(&open, tenant, e.id, &event(), 1).await;
    assert_eq!(
        r,
        Err(DeliveryError::Permanent {
            message: "the endpoint is disabled".into()
        })
    );
    super::delete(&open, tenant, e.id, &audit()).await.unwrap();
    let r = deliver(&open, tenant, e.id, &event(), 1).await;
    assert_eq!(
        r,
        Err(DeliveryError::Permanent {
            message: "the endpoint was deleted".into()
        })
    );
}
