//! Login sessions: found by token while live, touched, listed and revoked.

use chrono::Duration;
use storekeep_domain::{NewSession, SessionId, UserKind, UserRecord};
use storekeep_store::{StoreError, now};

use crate::support::{account, connect, shop};

fn session(user: &UserRecord, token: &str, ttl: Duration) -> NewSession {
    NewSession {
        id: SessionId::new(),
        token_hash: token.into(),
        user_id: user.id,
        tenant_id: user.tenant_id,
        expires_at: now() + ttl,
        ip: Some("192.0.2.7".into()),
        user_agent: Some("test-agent".into()),
    }
}

#[tokio::test]
async fn a_live_session_is_found_by_its_token_with_its_account() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let store = &db.store;
    let user = account(Some(a.tenant), UserKind::Customer, "c");
    store.create_user(&user, None).await.unwrap();
    let new = session(&user, "token-1", Duration::hours(1));

    let made = store.create_session(&new).await.unwrap();
    let (found, owner) = store.session_by_token("token-1", now()).await.unwrap();

    assert_eq!(found, made);
    assert_eq!(
        (made.id, made.user_id, made.tenant_id),
        (new.id, user.id, Some(a.tenant))
    );
    assert_eq!(made.expires_at, new.expires_at);
    assert_eq!(
        (made.ip.as_deref(), made.user_agent.as_deref()),
        (Some("192.0.2.7"), Some("test-agent"))
    );
    assert_eq!(owner, user);
    assert!(matches!(
        store.session_by_token("token-1", new.expires_at).await,
        Err(StoreError::NotFound("session"))
    ));
    assert!(matches!(
        store.session_by_token("unknown", now()).await,
        Err(StoreError::NotFound("session"))
    ));
}

#[tokio::test]
async fn touching_a_session_records_activity_and_moves_its_expiry() {
    let db = connect().await;
    let store = &db.store;
    let user = account(None, UserKind::Operator, "op");
    store.create_user(&user, None).await.unwrap();
    let new = session(&user, "token-1", Duration::minutes(10));
    store.create_session(&new).await.unwrap();
    let seen = now() + Duration::minutes(5);
    let later = now() + Duration::hours(2);

    store.touch_session(new.id, seen, later).await.unwrap();

    let (found, _) = store
        .session_by_token("token-1", now() + Duration::hours(1))
        .await
        .unwrap();
    assert_eq!((found.last_seen_at, found.expires_at), (seen, later));
}

#[tokio::test]
async fn only_live_sessions_are_listed_and_each_is_revoked_by_its_owner_only() {
    let db = connect().await;
    let store = &db.store;
    let user = account(None, UserKind::Operator, "op");
    let other = account(None, UserKind::Operator, "other");
    store.create_user(&user, None).await.unwrap();
    store.create_user(&other, None).await.unwrap();
    let mut live = Vec::new();
    for token in ["t1", "t2", "t3", "t4"] {
        live.push(
            store
                .create_session(&session(&user, token, Duration::hours(1)))
                .await
                .unwrap()
                .id,
        );
    }
    store
        .create_session(&session(&user, "expired", Duration::seconds(-1)))
        .await
        .unwrap();
    let theirs = store
        .create_session(&session(&other, "theirs", Duration::hours(1)))
        .await
        .unwrap();

    let listed: Vec<SessionId> = store
        .list_sessions(user.id, now())
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(listed, live, "live ones, oldest first");
    assert!(matches!(
        store.revoke_session(user.id, theirs.id).await,
        Err(StoreError::NotFound("session"))
    ));
    store.revoke_session(user.id, live[0]).await.unwrap();
    assert!(matches!(
        store.revoke_session(user.id, live[0]).await,
        Err(StoreError::NotFound("session"))
    ));
    assert!(matches!(
        store.session_by_token("t1", now()).await,
        Err(StoreError::NotFound("session"))
    ));
    // Expired sessions are revoked too: they count.
    assert_eq!(
        store.revoke_other_sessions(user.id, live[1]).await.unwrap(),
        3
    );
    assert_eq!(
        store.list_sessions(user.id, now()).await.unwrap()[0].id,
        live[1]
    );
    assert_eq!(store.revoke_sessions(user.id).await.unwrap(), 1);
    assert!(
        store
            .list_sessions(user.id, now())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.list_sessions(other.id, now()).await.unwrap().len(), 1);
}
