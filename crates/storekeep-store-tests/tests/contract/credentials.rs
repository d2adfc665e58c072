//! API keys, OAuth clients and their access tokens.

use chrono::Duration;
use storekeep_domain::{
    AccessTokenRecord, ApiKeyId, NewApiKey, NewOAuthClient, OAuthClientId, TenantId,
};
use storekeep_store::{StoreError, now};

use crate::support::{all_pages, chain, connect, ctx, shop};

fn new_key(tenant: TenantId, hash: &str) -> NewApiKey {
    NewApiKey {
        id: ApiKeyId::new(),
        tenant_id: tenant,
        name: format!("key {hash}"),
        prefix: format!("sk_{hash}"),
        key_hash: hash.into(),
        scopes: vec!["catalog:read".into(), "orders:write".into()],
        created_by: "staff:test".into(),
    }
}

fn new_client(tenant: TenantId, client_id: &str) -> NewOAuthClient {
    NewOAuthClient {
        id: OAuthClientId::new(),
        tenant_id: tenant,
        client_id: client_id.into(),
        name: format!("client {client_id}"),
        secret_hash: format!("secret-{client_id}"),
        scopes: vec!["catalog:read".into()],
    }
}

#[tokio::test]
async fn api_keys_are_created_listed_found_by_hash_and_touched() {
    let db = connect().await;
    let (a, b) = (shop(&db, "alpha").await, shop(&db, "beta").await);
    let store = &db.store;
    let mut made = Vec::new();
    for hash in ["h1", "h2", "h3"] {
        made.push(
            store
                .create_api_key(&new_key(a.tenant, hash), &ctx())
                .await
                .unwrap(),
        );
    }
    store
        .create_api_key(&new_key(b.tenant, "h4"), &ctx())
        .await
        .unwrap();
    let used = now();

    store.touch_api_key(made[1].id, used).await.unwrap();

    let listed = all_pages(2, async |p| store.list_api_keys(a.tenant, &p).await).await;
    assert_eq!(listed.len(), 3);
    assert_eq!(listed[0], made[0]);
    assert_eq!(listed[1].last_used_at, Some(used));
    assert_eq!(made[0].scopes, ["catalog:read", "orders:write"]);
    assert_eq!((made[0].revoked_at, made[0].last_used_at), (None, None));
    assert_eq!(store.api_key_by_hash("h3").await.unwrap(), made[2]);
    assert!(matches!(
        store.api_key_by_hash("unknown").await,
        Err(StoreError::NotFound("API key"))
    ));
    let log = chain(store.as_ref(), &a.scope()).await;
    assert_eq!(log.len(), 3);
    assert_eq!(log[0].action, "api_key.create");
    let logged = log[0].after.as_ref().unwrap().to_string();
    assert!(
        !logged.contains("\"h1\""),
        "the key hash is not logged: {logged}"
    );
}

#[tokio::test]
async fn revoking_an_api_key_is_audited_once_and_keeps_it_findable() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let store = &db.store;
    let key = store
        .create_api_key(&new_key(a.tenant, "h1"), &ctx())
        .await
        .unwrap();

    let revoked = store
        .revoke_api_key(a.tenant, key.id, &ctx())
        .await
        .unwrap();
    let again = store
        .revoke_api_key(a.tenant, key.id, &ctx())
        .await
        .unwrap();

    assert!(revoked.revoked_at.is_some());
    assert_eq!(again, revoked, "revoking twice changes nothing");
    assert_eq!(store.api_key_by_hash("h1").await.unwrap(), revoked);
    assert_eq!(a.actions().await, ["api_key.create", "api_key.revoke"]);
}

#[tokio::test]
async fn another_shops_credentials_are_neither_listed_nor_revoked() {
    let db = connect().await;
    let (a, b) = (shop(&db, "alpha").await, shop(&db, "beta").await);
    let store = &db.store;
    let key = store
        .create_api_key(&new_key(a.tenant, "h1"), &ctx())
        .await
        .unwrap();
    let client = store
        .create_oauth_client(&new_client(a.tenant, "c1"), &ctx())
        .await
        .unwrap();

    let revoke_key = store.revoke_api_key(b.tenant, key.id, &ctx()).await;
    let revoke_client = store.revoke_oauth_client(b.tenant, client.id, &ctx()).await;

    assert!(matches!(revoke_key, Err(StoreError::NotFound("API key"))));
    assert!(matches!(
        revoke_client,
        Err(StoreError::NotFound("OAuth client"))
    ));
    let keys = store
        .list_api_keys(b.tenant, &Default::default())
        .await
        .unwrap();
    let clients = store
        .list_oauth_clients(b.tenant, &Default::default())
        .await
        .unwrap();
    assert!(keys.items.is_empty() && clients.items.is_empty());
    assert_eq!(store.api_key_by_hash("h1").await.unwrap().revoked_at, None);
    assert!(b.actions().await.is_empty());
}

#[tokio::test]
async fn oauth_clients_issue_tokens_that_expire_and_die_with_the_client() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let store = &db.store;
    let client = store
        .create_oauth_client(&new_client(a.tenant, "c1"), &ctx())
        .await
        .unwrap();
    store
        .create_oauth_client(&new_client(a.tenant, "c2"), &ctx())
        .await
        .unwrap();
    let token = AccessTokenRecord {
        client: client.id,
        tenant_id: a.tenant,
        scopes: vec!["catalog:read".into()],
        expires_at: now() + Duration::hours(1),
    };
    store.create_access_token("tok-1", &token).await.unwrap();

    let live = store.access_token("tok-1", now()).await.unwrap();
    let expired = store.access_token("tok-1", token.expires_at).await;
    let revoked = store
        .revoke_oauth_client(a.tenant, client.id, &ctx())
        .await
        .unwrap();
    let after = store.access_token("tok-1", now()).await;

    assert_eq!(live, token);
    assert!(matches!(expired, Err(StoreError::NotFound("access token"))));
    assert!(revoked.revoked_at.is_some());
    assert!(matches!(after, Err(StoreError::NotFound("access token"))));
    assert_eq!(
        store.oauth_client_by_client_id("c1").await.unwrap(),
        revoked
    );
    assert_eq!(revoked.secret_hash, "secret-c1");
    assert!(matches!(
        store.oauth_client_by_client_id("nope").await,
        Err(StoreError::NotFound("OAuth client"))
    ));
    let listed = all_pages(1, async |p| store.list_oauth_clients(a.tenant, &p).await).await;
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0], revoked);
    assert_eq!(
        a.actions().await,
        [
            "oauth_client.create",
            "oauth_client.create",
            "oauth_client.revoke"
        ]
    );
}
