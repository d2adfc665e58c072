//! Sign-in challenges (the code step of a sign-in with MFA): claimed only
//! in their own shop while live, each attempt counted atomically up to the
//! bound, used once, gone with a new password.

use chrono::Duration;
use storekeep_domain::{NewSignInChallenge, UserKind, UserRecord};
use storekeep_store::{StoreError, now};

use crate::support::{account, connect, race, shop};

fn challenge(user: &UserRecord, token: &str, ttl: Duration) -> NewSignInChallenge {
    NewSignInChallenge {
        token_hash: token.into(),
        user_id: user.id,
        tenant_id: user.tenant_id,
        expires_at: now() + ttl,
    }
}

fn gone<T: std::fmt::Debug>(r: Result<T, StoreError>) -> bool {
    matches!(r, Err(StoreError::NotFound("sign-in challenge")))
}

#[tokio::test]
async fn a_challenge_is_claimed_in_its_own_shop_while_live_and_used_once() {
    let db = connect().await;
    let (a, b) = (shop(&db, "alpha").await, shop(&db, "beta").await);
    let store = &db.store;
    let user = account(Some(a.tenant), UserKind::Customer, "c");
    store.create_user(&user, None).await.unwrap();
    store
        .create_sign_in_challenge(&challenge(&user, "ch-1", Duration::minutes(5)))
        .await
        .unwrap();

    assert!(gone(
        store
            .claim_sign_in_challenge("ch-1", Some(b.tenant), now(), 3)
            .await
    ));
    assert!(gone(
        store.claim_sign_in_challenge("ch-1", None, now(), 3).await
    ));
    assert!(gone(
        store
            .claim_sign_in_challenge("unknown", Some(a.tenant), now(), 3)
            .await
    ));
    let (who, n) = store
        .claim_sign_in_challenge("ch-1", Some(a.tenant), now(), 3)
        .await
        .unwrap();
    assert_eq!(
        (who, n),
        (user.id, 1),
        "the other shops' tries spent nothing"
    );
    let later = now() + Duration::minutes(6);
    assert!(gone(
        store
            .claim_sign_in_challenge("ch-1", Some(a.tenant), later, 3)
            .await
    ));
    assert!(
        gone(store.use_sign_in_challenge("ch-1", later).await),
        "expired"
    );

    store.use_sign_in_challenge("ch-1", now()).await.unwrap();
    assert!(
        gone(store.use_sign_in_challenge("ch-1", now()).await),
        "single use"
    );
    assert!(gone(
        store
            .claim_sign_in_challenge("ch-1", Some(a.tenant), now(), 3)
            .await
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_attempts_each_spend_one_and_stop_at_the_bound() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let store = db.store.clone();
    let user = account(Some(a.tenant), UserKind::Customer, "c");
    store.create_user(&user, None).await.unwrap();
    store
        .create_sign_in_challenge(&challenge(&user, "ch-1", Duration::minutes(5)))
        .await
        .unwrap();

    let tenant = a.tenant;
    let claims = race(10, |_| {
        let store = store.clone();
        async move {
            store
                .claim_sign_in_challenge("ch-1", Some(tenant), now(), 3)
                .await
                .ok()
        }
    })
    .await;
    let mut counts: Vec<i64> = claims.into_iter().flatten().map(|(_, n)| n).collect();
    counts.sort_unstable();
    assert_eq!(counts, vec![1, 2, 3], "three attempts, each its own number");
}

#[tokio::test]
async fn a_new_password_drops_the_accounts_pending_challenges() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let store = &db.store;
    let user = account(Some(a.tenant), UserKind::Customer, "c");
    store.create_user(&user, None).await.unwrap();
    let t = Some(a.tenant);
    store
        .create_sign_in_challenge(&challenge(&user, "old", Duration::minutes(5)))
        .await
        .unwrap();
    store.set_password(user.id, "new-hash", None).await.unwrap();
    assert!(gone(
        store.claim_sign_in_challenge("old", t, now(), 3).await
    ));

    store
        .create_sign_in_challenge(&challenge(&user, "used", Duration::minutes(5)))
        .await
        .unwrap();
    store.use_sign_in_challenge("used", now()).await.unwrap();
    // Making the next challenge sweeps the account's used and expired rows;
    // a swept row and a used one answer alike through the store (gone), so
    // only the sweep's not failing is checked here.
    store
        .create_sign_in_challenge(&challenge(&user, "live", Duration::minutes(5)))
        .await
        .unwrap();
    // A second live challenge of the account is kept: two tabs may sign in.
    store
        .create_sign_in_challenge(&challenge(&user, "other", Duration::minutes(5)))
        .await
        .unwrap();
    assert!(
        store
            .claim_sign_in_challenge("live", t, now(), 3)
            .await
            .is_ok()
    );
    assert!(
        store
            .claim_sign_in_challenge("other", t, now(), 3)
            .await
            .is_ok()
    );
}
