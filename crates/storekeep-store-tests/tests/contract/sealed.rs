//! Sealed values outside the accounts, as a key rotation walks them: each
//! place read in row order with the id its context names, and a value
//! replaced only while it is still the one read; a replaced value inside a
//! document (a shop's settings, a job's payload) leaves the rest of it as
//! it was.

use storekeep_domain::{
    EmailDkim, NewJob, TenantPatch, UserId, WebhookEndpoint, WebhookEndpointId, WebhookStatus,
};
use storekeep_store::sealed::{SealedField, SealedValue};
use storekeep_store::{Store, now};

use crate::support::{connect, ctx, shop};

/// Every value of `field`, paging one row at a time.
async fn values(store: &dyn Store, field: SealedField) -> Vec<SealedValue> {
    let (mut out, mut after) = (Vec::new(), None);
    loop {
        let page = store.sealed_values(field, after, 1).await.unwrap();
        let Some(last) = page.last_row else {
            return out;
        };
        assert!(page.values.len() <= 1);
        after = Some(last);
        out.extend(page.values);
    }
}

/// Replaces `field`'s value in `row`, after checking a stale `old` is
/// refused and leaves it as it was.
async fn replace(store: &dyn Store, field: SealedField, v: &SealedValue, new: &str) {
    let stale = store
        .replace_sealed(field, v.row, "not-the-stored-value", "lost")
        .await
        .unwrap();
    assert!(!stale, "{field:?}: a changed value is not replaced");
    assert!(
        store
            .replace_sealed(field, v.row, &v.sealed, new)
            .await
            .unwrap(),
        "{field:?}"
    );
    let now_stored = values(store, field).await;
    let row = now_stored.iter().find(|x| x.row == v.row).unwrap();
    assert_eq!(row.sealed, new, "{field:?}");
}

#[tokio::test]
async fn sealed_values_are_read_by_row_and_replaced_only_while_unchanged() {
    let db = connect().await;
    let store: &dyn Store = db.store.as_ref();
    let a = shop(&db, "alpha").await;
    let b = shop(&db, "beta").await;

    // A shop's DKIM key, inside its settings.
    let mut settings = store.tenant_by_id(a.tenant).await.unwrap().settings;
    settings.currency = "EUR".into();
    settings.email_dkim = Some(EmailDkim {
        selector: "sk1".into(),
        domain: "alpha.example".into(),
        private_key: None,
        key_configured: true,
        key_sealed: Some("dkim-old".into()),
    });
    let patch = TenantPatch {
        settings: Some(settings),
        ..TenantPatch::default()
    };
    let slug = store.tenant_by_id(a.tenant).await.unwrap().slug;
    store.update_tenant(&slug, &patch, &ctx()).await.unwrap();
    let dkim = values(store, SealedField::TenantDkimKey).await;
    assert_eq!(dkim.len(), 1, "only the shop with a key: {dkim:?}");
    assert_eq!((dkim[0].row, dkim[0].owner), (a.tenant.0, a.tenant.0));
    assert_eq!(dkim[0].sealed, "dkim-old");
    replace(store, SealedField::TenantDkimKey, &dkim[0], "dkim-new").await;
    let after = store.tenant_by_id(a.tenant).await.unwrap().settings;
    assert_eq!(
        after.email_dkim.unwrap().key_sealed.as_deref(),
        Some("dkim-new")
    );
    assert_eq!(after.currency, "EUR", "the rest of the settings stays");
    assert!(
        store
            .tenant_by_id(b.tenant)
            .await
            .unwrap()
            .settings
            .email_dkim
            .is_none()
    );

    // A reset token in a job's payload, sealed for the account it names.
    let user = UserId::new();
    let payload = serde_json::json!({"template": "password_reset", "user_id": user,
                                     "token_sealed": "token-old"});
    let job = store
        .enqueue(&NewJob::new("email.account", payload).queue("email"))
        .await
        .unwrap();
    store
        .enqueue(&NewJob::new("email.account", serde_json::json!({"user_id": user})).queue("email"))
        .await
        .unwrap();
    let tokens = values(store, SealedField::JobResetToken).await;
    assert_eq!(tokens.len(), 1, "{tokens:?}");
    assert_eq!((tokens[0].row, tokens[0].owner), (job.0, user.0));
    replace(store, SealedField::JobResetToken, &tokens[0], "token-new").await;
    let stored = store.job(None, job).await.unwrap().payload;
    assert_eq!(stored["token_sealed"], "token-new");
    assert_eq!(stored["template"], "password_reset");

    // Orders' email and address, each in a column of its own.
    let phone = a.product("phone", &[("P-1", 1_000, 5)]).await;
    let order = a.place(&[(&phone.variants[0], 1)]).await.order;
    for (field, old) in [
        (SealedField::OrderEmail, order.email_sealed.clone()),
        (SealedField::OrderAddress, order.address_sealed.clone()),
    ] {
        let found = values(store, field).await;
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].row, found[0].owner), (order.id.0, order.id.0));
        assert_eq!(found[0].sealed, old);
        replace(store, field, &found[0], &format!("{field:?}-new")).await;
    }
    let stored = store.order(a.tenant, order.id).await.unwrap().order;
    assert_eq!(stored.email_sealed, "OrderEmail-new");
    assert_eq!(stored.address_sealed, "OrderAddress-new");

    // An endpoint's secret and, after a rotation, the previous one.
    let at = now();
    let endpoint = WebhookEndpoint {
        id: WebhookEndpointId::new(),
        tenant_id: b.tenant,
        url: "https://hooks.example.com/in".into(),
        description: String::new(),
        events: Vec::new(),
        secret_sealed: "secret-1".into(),
        previous_secret_sealed: None,
        previous_secret_expires_at: None,
        status: WebhookStatus::Enabled,
        disabled_reason: None,
        failing_since: None,
        created_at: at,
        updated_at: at,
    };
    store
        .create_webhook_endpoint(&endpoint, &ctx())
        .await
        .unwrap();
    assert!(
        values(store, SealedField::WebhookPreviousSecret)
            .await
            .is_empty()
    );
    let until = at + chrono::Duration::hours(1);
    store
        .rotate_webhook_secret(b.tenant, endpoint.id, "secret-2", until, &ctx())
        .await
        .unwrap();
    for (field, old, new) in [
        (SealedField::WebhookSecret, "secret-2", "secret-2b"),
        (SealedField::WebhookPreviousSecret, "secret-1", "secret-1b"),
    ] {
        let found = values(store, field).await;
        assert_eq!(found.len(), 1);
        assert_eq!(
            (found[0].row, found[0].owner),
            (endpoint.id.0, endpoint.id.0)
        );
        assert_eq!(found[0].sealed, old);
        replace(store, field, &found[0], new).await;
    }
    let stored = store.webhook_endpoint(b.tenant, endpoint.id).await.unwrap();
    assert_eq!(stored.secret_sealed, "secret-2b");
    assert_eq!(stored.previous_secret_sealed.as_deref(), Some("secret-1b"));
    assert!(stored.previous_secret_expires_at.is_some());
}
