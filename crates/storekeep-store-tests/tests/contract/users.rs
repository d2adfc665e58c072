//! Accounts, login throttling, MFA and password resets.

use chrono::Duration;
use storekeep_domain::{
    JobFilter, NewJob, NewSession, PLATFORM_SCOPE, PageRequest, Role, SessionId, UserId, UserKind,
    UserRecord,
};
use storekeep_store::{Store, StoreError, now};

use crate::support::{account, actions, all_pages, chain, connect, ctx, race, shop};

fn session_for(user: &UserRecord, token: &str) -> NewSession {
    NewSession {
        id: SessionId::new(),
        token_hash: token.into(),
        user_id: user.id,
        tenant_id: user.tenant_id,
        expires_at: now() + Duration::hours(1),
        ip: None,
        user_agent: None,
    }
}

#[tokio::test]
async fn an_email_is_unique_per_shop_and_kind_only() {
    let db = connect().await;
    let (a, b) = (shop(&db, "alpha").await, shop(&db, "beta").await);
    let store = &db.store;
    let staff = account(Some(a.tenant), UserKind::Staff, "same");
    let customer = account(Some(a.tenant), UserKind::Customer, "same");
    let elsewhere = account(Some(b.tenant), UserKind::Staff, "same");
    let operator = account(None, UserKind::Operator, "same");

    for u in [&staff, &customer, &elsewhere, &operator] {
        assert_eq!(&store.create_user(u, None).await.unwrap(), u);
    }
    let again = store
        .create_user(&account(Some(a.tenant), UserKind::Staff, "same"), None)
        .await;
    let operator_again = store
        .create_user(&account(None, UserKind::Operator, "same"), None)
        .await;

    assert!(matches!(
        again,
        Err(StoreError::Conflict { field: "email" })
    ));
    assert!(matches!(
        operator_again,
        Err(StoreError::Conflict { field: "email" })
    ));
    for u in [&staff, &customer, &elsewhere, &operator] {
        let found = store
            .user_by_email(u.tenant_id, u.kind, "same")
            .await
            .unwrap();
        assert_eq!(&found, u);
        assert_eq!(&store.user_by_id(u.id).await.unwrap(), u);
    }
    assert!(matches!(
        store
            .user_by_email(Some(b.tenant), UserKind::Customer, "same")
            .await,
        Err(StoreError::NotFound("account"))
    ));
    assert!(matches!(
        store.user_by_id(UserId::new()).await,
        Err(StoreError::NotFound("account"))
    ));
}

#[tokio::test]
async fn staff_and_operator_creation_is_audited_without_pii_and_sign_up_is_not() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let store = &db.store;
    let staff = account(Some(a.tenant), UserKind::Staff, "staff-index");
    let operator = account(None, UserKind::Operator, "op-index");

    store.create_user(&staff, Some(&ctx())).await.unwrap();
    store.create_user(&operator, Some(&ctx())).await.unwrap();
    store
        .create_user(&account(Some(a.tenant), UserKind::Customer, "c"), None)
        .await
        .unwrap();

    let shop_log = chain(store.as_ref(), &a.scope()).await;
    assert_eq!(shop_log.len(), 1, "sign-up is not audited");
    assert_eq!(shop_log[0].action, "staff.create");
    assert_eq!(shop_log[0].target, format!("user:{}", staff.id));
    let written = shop_log[0].after.as_ref().unwrap().to_string();
    assert!(!written.contains("staff-index") && !written.contains("sealed"));
    let platform = actions(store.as_ref(), PLATFORM_SCOPE).await;
    assert_eq!(platform, ["tenant.create", "operator.create"]);
}

#[tokio::test]
async fn accounts_are_counted_and_listed_per_shop_and_kind() {
    let db = connect().await;
    let (a, b) = (shop(&db, "alpha").await, shop(&db, "beta").await);
    let store = &db.store;
    let mut customers = Vec::new();
    for i in 0..5 {
        let u = account(Some(a.tenant), UserKind::Customer, &format!("c{i}"));
        customers.push(store.create_user(&u, None).await.unwrap().id);
    }
    store
        .create_user(&account(Some(a.tenant), UserKind::Staff, "s"), None)
        .await
        .unwrap();

    let listed: Vec<UserId> = all_pages(2, async |p| {
        store.list_users(a.tenant, UserKind::Customer, &p).await
    })
    .await
    .into_iter()
    .map(|u| u.id)
    .collect();

    assert_eq!(listed, customers);
    assert_eq!(
        store
            .count_users(a.tenant, UserKind::Customer)
            .await
            .unwrap(),
        5
    );
    assert_eq!(
        store.count_users(a.tenant, UserKind::Staff).await.unwrap(),
        1
    );
    assert_eq!(
        store
            .count_users(b.tenant, UserKind::Customer)
            .await
            .unwrap(),
        0
    );
    let foreign = store
        .list_users(b.tenant, UserKind::Customer, &Default::default())
        .await
        .unwrap();
    assert!(foreign.items.is_empty() && foreign.next_cursor.is_none());
}

#[tokio::test]
async fn sealed_fields_are_rewritten_and_every_account_is_visited_in_id_order() {
    let db = connect().await;
    let (a, b) = (shop(&db, "alpha").await, shop(&db, "beta").await);
    let store = &db.store;
    let mut ids = Vec::new();
    for (tenant, kind, email) in [
        (Some(a.tenant), UserKind::Staff, "1"),
        (None, UserKind::Operator, "2"),
        (Some(b.tenant), UserKind::Customer, "3"),
    ] {
        ids.push(
            store
                .create_user(&account(tenant, kind, email), None)
                .await
                .unwrap(),
        );
    }
    let mut changed = ids[0].clone();
    changed.email_sealed = "resealed".into();
    changed.name_sealed = Some("name".into());
    changed.totp_pending_sealed = Some("pending".into());

    assert!(store.replace_user_sealed(&ids[0], &changed).await.unwrap());
    let ghost = account(None, UserKind::Operator, "x");
    let missing = store.replace_user_sealed(&ghost, &ghost).await;

    let read = store.user_by_id(changed.id).await.unwrap();
    assert_eq!(read.email_sealed, "resealed");
    assert_eq!(read.name_sealed.as_deref(), Some("name"));
    assert_eq!(read.totp_pending_sealed.as_deref(), Some("pending"));
    assert_eq!(read.email_index, changed.email_index);
    assert!(!missing.unwrap(), "an account that is gone is not written");
    assert!(matches!(
        store.user_by_id(ghost.id).await,
        Err(StoreError::NotFound("account"))
    ));
    let first = store.users_after(None, 2).await.unwrap();
    let rest = store.users_after(Some(first[1].id), 2).await.unwrap();
    let visited: Vec<UserId> = first.iter().chain(&rest).map(|u| u.id).collect();
    let expected: Vec<UserId> = ids.iter().map(|u| u.id).collect();
    assert_eq!(visited, expected);
}

/// `u` with every sealed field it holds re-sealed (as a key rotation does).
fn rotated(u: &UserRecord) -> UserRecord {
    let seal = |v: &str| format!("{v}+rotated");
    UserRecord {
        email_sealed: seal(&u.email_sealed),
        name_sealed: u.name_sealed.as_deref().map(seal),
        phone_sealed: u.phone_sealed.as_deref().map(seal),
        totp_sealed: u.totp_sealed.as_deref().map(seal),
        totp_pending_sealed: u.totp_pending_sealed.as_deref().map(seal),
        ..u.clone()
    }
}

#[tokio::test]
async fn a_reseal_read_before_a_change_to_the_account_is_not_applied() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let store = &db.store;
    let mut user = account(Some(a.tenant), UserKind::Customer, "ada");
    user.name_sealed = Some("name-1".into());
    store.create_user(&user, None).await.unwrap();

    // TOTP enabled after the rotation read the account: not switched off.
    let read = store.user_by_id(user.id).await.unwrap();
    store
        .enable_totp(user.id, "totp-1", 1, &[], &ctx())
        .await
        .unwrap();
    assert!(
        !store
            .replace_user_sealed(&read, &rotated(&read))
            .await
            .unwrap()
    );
    let now_stored = store.user_by_id(user.id).await.unwrap();
    assert_eq!(now_stored.totp_sealed.as_deref(), Some("totp-1"));
    assert_eq!(now_stored.email_sealed, "sealed:ada");
    assert_eq!(now_stored.name_sealed.as_deref(), Some("name-1"));

    // The email changed after the read: the new address survives.
    let read = store.user_by_id(user.id).await.unwrap();
    let moved = UserRecord {
        email_sealed: "sealed:ada-new".into(),
        ..read.clone()
    };
    assert!(store.replace_user_sealed(&read, &moved).await.unwrap());
    assert!(
        !store
            .replace_user_sealed(&read, &rotated(&read))
            .await
            .unwrap()
    );
    let now_stored = store.user_by_id(user.id).await.unwrap();
    assert_eq!(now_stored.email_sealed, "sealed:ada-new");
    assert_eq!(now_stored.totp_sealed.as_deref(), Some("totp-1"));

    // TOTP disabled after the read: not switched back on.
    let read = store.user_by_id(user.id).await.unwrap();
    store.disable_totp(user.id, &ctx()).await.unwrap();
    assert!(
        !store
            .replace_user_sealed(&read, &rotated(&read))
            .await
            .unwrap()
    );
    let now_stored = store.user_by_id(user.id).await.unwrap();
    assert_eq!(now_stored.totp_sealed, None);
    assert_eq!(now_stored.email_sealed, "sealed:ada-new");

    // Read again, nothing changed meanwhile (NULLs included): applied.
    let read = store.user_by_id(user.id).await.unwrap();
    assert!(
        store
            .replace_user_sealed(&read, &rotated(&read))
            .await
            .unwrap()
    );
    let now_stored = store.user_by_id(user.id).await.unwrap();
    assert_eq!(now_stored.email_sealed, "sealed:ada-new+rotated");
    assert_eq!(now_stored.name_sealed.as_deref(), Some("name-1+rotated"));
    assert_eq!(
        (now_stored.phone_sealed, now_stored.totp_sealed),
        (None, None)
    );
    assert_eq!(now_stored.email_index, "ada");

    // A user deleted after the read (never stored, here) is skipped.
    let gone = account(Some(a.tenant), UserKind::Customer, "gone");
    assert!(
        !store
            .replace_user_sealed(&gone, &rotated(&gone))
            .await
            .unwrap()
    );
    assert!(matches!(
        store.user_by_id(gone.id).await,
        Err(StoreError::NotFound("account"))
    ));
}

#[tokio::test]
async fn failed_logins_lock_after_the_free_ones_doubling_up_to_the_cap() {
    let db = connect().await;
    let store = &db.store;
    let (base, max) = (Duration::minutes(1), Duration::minutes(4));
    let mut locks = Vec::new();

    for _ in 0..6 {
        let at = now();
        let t = store
            .record_login_failure("shop", "index", 3, base, max)
            .await
            .unwrap();
        locks.push((t.failures, t.locked_until.map(|u| u - at)));
    }

    let minutes: Vec<(i64, Option<i64>)> = locks
        .iter()
        .map(|(f, lock)| (*f, lock.map(|d| (d + Duration::seconds(5)).num_minutes())))
        .collect();
    assert_eq!(
        minutes,
        [
            (1, None),
            (2, None),
            (3, Some(1)),
            (4, Some(2)),
            (5, Some(4)),
            (6, Some(4))
        ]
    );
    let read = store.login_throttle("shop", "index").await.unwrap();
    assert_eq!(read.failures, 6);
    let other_scope = store.login_throttle("platform", "index").await.unwrap();
    assert_eq!((other_scope.failures, other_scope.locked_until), (0, None));
    store.clear_login_failures("shop", "index").await.unwrap();
    let cleared = store.login_throttle("shop", "index").await.unwrap();
    assert_eq!((cleared.failures, cleared.locked_until), (0, None));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_failed_logins_are_each_counted() {
    let db = connect().await;
    let store = db.store.clone();

    let results = race(24, |_| {
        let store = store.clone();
        async move {
            store
                .record_login_failure("shop", "index", 5, Duration::minutes(1), Duration::hours(1))
                .await
                .unwrap()
                .failures
        }
    })
    .await;

    let mut seen = results.clone();
    seen.sort_unstable();
    assert_eq!(
        seen,
        (1..=24).collect::<Vec<i64>>(),
        "each failure its own count"
    );
    let read = store.login_throttle("shop", "index").await.unwrap();
    assert_eq!(read.failures, 24);
    assert!(read.locked_until.is_some());
}

#[tokio::test]
async fn totp_is_enabled_with_recovery_codes_and_a_code_step_counts_once() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let store = &db.store;
    let user = account(Some(a.tenant), UserKind::Staff, "s");
    store.create_user(&user, None).await.unwrap();
    let codes = vec!["code-1".to_string(), "code-2".to_string()];

    store
        .set_totp_pending(user.id, Some("pending"))
        .await
        .unwrap();
    let pending = store.user_by_id(user.id).await.unwrap();
    store
        .enable_totp(user.id, "secret", 100, &codes, &ctx())
        .await
        .unwrap();
    let enabled = store.user_by_id(user.id).await.unwrap();

    assert_eq!(pending.totp_pending_sealed.as_deref(), Some("pending"));
    assert!(!pending.mfa_enabled());
    assert_eq!(enabled.totp_sealed.as_deref(), Some("secret"));
    assert_eq!(enabled.totp_pending_sealed, None);
    assert_eq!(enabled.totp_last_step, Some(100));
    assert!(matches!(
        store.use_totp_step(user.id, 100).await,
        Err(StoreError::Invalid(_))
    ));
    store.use_totp_step(user.id, 101).await.unwrap();
    assert!(matches!(
        store.use_totp_step(user.id, 101).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store.use_totp_step(user.id, 99).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(store.use_recovery_code(user.id, "code-1").await.unwrap());
    assert!(!store.use_recovery_code(user.id, "code-1").await.unwrap());
    assert!(!store.use_recovery_code(user.id, "unknown").await.unwrap());

    // Enabling again replaces the codes; disabling clears everything.
    store
        .enable_totp(user.id, "secret-2", 200, &["code-3".to_string()], &ctx())
        .await
        .unwrap();
    assert!(!store.use_recovery_code(user.id, "code-2").await.unwrap());
    store.disable_totp(user.id, &ctx()).await.unwrap();
    let disabled = store.user_by_id(user.id).await.unwrap();
    assert_eq!(
        (disabled.totp_sealed, disabled.totp_last_step),
        (None, None)
    );
    assert!(!store.use_recovery_code(user.id, "code-3").await.unwrap());
    assert_eq!(
        a.actions().await,
        ["mfa.enable", "mfa.enable", "mfa.disable"]
    );
    let nobody = UserId::new();
    assert!(matches!(
        store.enable_totp(nobody, "s", 1, &[], &ctx()).await,
        Err(StoreError::NotFound("account"))
    ));
    assert!(matches!(
        store.disable_totp(nobody, &ctx()).await,
        Err(StoreError::NotFound("account"))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_replayed_concurrently_is_accepted_once() {
    let db = connect().await;
    let store = db.store.clone();
    let user = account(None, UserKind::Operator, "op");
    store.create_user(&user, None).await.unwrap();
    store
        .enable_totp(user.id, "secret", 10, &["code".to_string()], &ctx())
        .await
        .unwrap();

    let steps = race(12, |_| {
        let store = store.clone();
        async move { store.use_totp_step(user.id, 11).await.is_ok() }
    })
    .await;
    let codes = race(12, |_| {
        let store = store.clone();
        async move { store.use_recovery_code(user.id, "code").await.unwrap() }
    })
    .await;

    assert_eq!(steps.iter().filter(|ok| **ok).count(), 1);
    assert_eq!(codes.iter().filter(|ok| **ok).count(), 1);
}

#[tokio::test]
async fn a_reset_token_sets_the_password_once_and_ends_sessions_and_other_links() {
    let db = connect().await;
    let store = &db.store;
    let user = account(None, UserKind::Operator, "op");
    store.create_user(&user, None).await.unwrap();
    store
        .create_session(&session_for(&user, "s1"))
        .await
        .unwrap();
    let at = now();
    store
        .create_password_reset(user.id, "r1", at + Duration::hours(1), &reset_email())
        .await
        .unwrap();
    store
        .create_password_reset(user.id, "r2", at + Duration::hours(1), &reset_email())
        .await
        .unwrap();
    store
        .create_password_reset(user.id, "old", at - Duration::seconds(1), &reset_email())
        .await
        .unwrap();

    let expired = store.reset_password("old", "hash-2", now()).await;
    let reset = store.reset_password("r1", "hash-2", now()).await.unwrap();

    assert!(matches!(expired, Err(StoreError::NotFound("reset token"))));
    assert_eq!(reset.id, user.id);
    assert_eq!(reset.password_hash, "hash-2");
    assert!(matches!(
        store.session_by_token("s1", now()).await,
        Err(StoreError::NotFound("session"))
    ));
    for token in ["r1", "r2", "unknown"] {
        assert!(matches!(
            store.reset_password(token, "hash-3", now()).await,
            Err(StoreError::NotFound("reset token"))
        ));
    }
    assert_eq!(
        store.user_by_id(user.id).await.unwrap().password_hash,
        "hash-2"
    );
}

/// The job that would mail a reset token.
fn reset_email() -> NewJob {
    NewJob::new(
        "email.account",
        serde_json::json!({"template": "password_reset"}),
    )
    .queue("email")
}

#[tokio::test]
async fn a_reset_token_and_its_email_job_are_written_together_or_not_at_all() {
    let db = connect().await;
    let store = &db.store;
    let user = account(None, UserKind::Operator, "op");
    store.create_user(&user, None).await.unwrap();
    let emails = async || {
        let filter = JobFilter {
            kind: Some("email.account".into()),
            ..JobFilter::default()
        };
        let page = PageRequest {
            limit: 100,
            after: None,
        };
        store.list_jobs(None, &filter, &page).await.unwrap().items
    };
    let later = now() + Duration::hours(1);

    // The job cannot be inserted (no queue): the token goes with it.
    let broken = NewJob {
        queue: String::new(),
        ..reset_email()
    };
    let refused = store
        .create_password_reset(user.id, "lost", later, &broken)
        .await;
    assert!(
        matches!(refused, Err(StoreError::Invalid(_))),
        "{refused:?}"
    );
    assert!(emails().await.is_empty());
    assert!(matches!(
        store.reset_password("lost", "hash-2", now()).await,
        Err(StoreError::NotFound("reset token"))
    ));

    let job = store
        .create_password_reset(user.id, "kept", later, &reset_email())
        .await
        .unwrap();
    let queued = emails().await;
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].id, job);
    assert_eq!(queued[0].queue, "email");
    assert_eq!(
        store
            .reset_password("kept", "hash-2", now())
            .await
            .unwrap()
            .id,
        user.id
    );
}

#[tokio::test]
async fn setting_a_password_ends_every_session_and_is_audited_when_asked() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let store: &dyn Store = db.store.as_ref();
    let user = account(Some(a.tenant), UserKind::Staff, "s");
    store.create_user(&user, None).await.unwrap();
    store
        .create_session(&session_for(&user, "s1"))
        .await
        .unwrap();
    store
        .create_session(&session_for(&user, "s2"))
        .await
        .unwrap();

    store.set_password(user.id, "hash-2", None).await.unwrap();
    store
        .set_password(user.id, "hash-3", Some(&ctx()))
        .await
        .unwrap();
    let missing = store.set_password(UserId::new(), "h", None).await;

    assert_eq!(
        store.user_by_id(user.id).await.unwrap().password_hash,
        "hash-3"
    );
    assert!(
        store
            .list_sessions(user.id, now())
            .await
            .unwrap()
            .is_empty()
    );
    assert!(matches!(missing, Err(StoreError::NotFound("account"))));
    assert_eq!(a.actions().await, ["password.change"]);
}

fn with_role(mut u: UserRecord, role: Role) -> UserRecord {
    u.role = Some(role);
    u
}

#[tokio::test]
async fn a_staff_role_changes_audited_only_in_its_own_shop_and_the_last_owner_keeps_it() {
    let db = connect().await;
    let (a, b) = (shop(&db, "alpha").await, shop(&db, "beta").await);
    let store = &db.store;
    let owner = with_role(
        account(Some(a.tenant), UserKind::Staff, "owner"),
        Role::Owner,
    );
    let clerk = with_role(
        account(Some(a.tenant), UserKind::Staff, "clerk"),
        Role::Viewer,
    );
    let customer = account(Some(a.tenant), UserKind::Customer, "cust");
    let other = with_role(
        account(Some(b.tenant), UserKind::Staff, "other"),
        Role::Owner,
    );
    for u in [&owner, &clerk, &customer, &other] {
        store.create_user(u, None).await.unwrap();
    }

    let changed = store
        .set_staff_role(a.tenant, clerk.id, None, Role::Admin, &ctx())
        .await
        .unwrap();
    assert_eq!(changed.role, Some(Role::Admin));
    assert_eq!(
        store.user_by_id(clerk.id).await.unwrap().role,
        Some(Role::Admin)
    );
    let log = chain(store.as_ref(), &a.scope()).await;
    let last = log.last().unwrap();
    assert_eq!(last.action, "staff.role_change");
    assert_eq!(last.target, format!("user:{}", clerk.id));
    assert_eq!(last.before, Some(serde_json::json!({"role": "viewer"})));
    assert_eq!(last.after, Some(serde_json::json!({"role": "admin"})));

    // The same role again: nothing changes, nothing is recorded.
    let before = actions(store.as_ref(), &a.scope()).await.len();
    store
        .set_staff_role(a.tenant, clerk.id, None, Role::Admin, &ctx())
        .await
        .unwrap();
    assert_eq!(actions(store.as_ref(), &a.scope()).await.len(), before);

    // The role the caller checked its right against must still be the
    // member's when the change is written.
    assert!(matches!(
        store
            .set_staff_role(a.tenant, clerk.id, Some(Role::Viewer), Role::Staff, &ctx())
            .await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(
        store.user_by_id(clerk.id).await.unwrap().role,
        Some(Role::Admin)
    );
    store
        .set_staff_role(a.tenant, clerk.id, Some(Role::Admin), Role::Admin, &ctx())
        .await
        .unwrap();
    assert_eq!(actions(store.as_ref(), &a.scope()).await.len(), before);

    // Not this shop's staff: another shop's, a customer, nobody.
    for id in [other.id, customer.id, UserId::new()] {
        assert!(matches!(
            store
                .set_staff_role(a.tenant, id, None, Role::Viewer, &ctx())
                .await,
            Err(StoreError::NotFound("account"))
        ));
    }
    assert_eq!(
        store.user_by_id(other.id).await.unwrap().role,
        Some(Role::Owner)
    );

    // The last owner keeps the role; with a second owner it may go.
    assert!(matches!(
        store
            .set_staff_role(a.tenant, owner.id, None, Role::Admin, &ctx())
            .await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(
        store.user_by_id(owner.id).await.unwrap().role,
        Some(Role::Owner)
    );
    store
        .set_staff_role(a.tenant, clerk.id, None, Role::Owner, &ctx())
        .await
        .unwrap();
    store
        .set_staff_role(a.tenant, owner.id, None, Role::Staff, &ctx())
        .await
        .unwrap();
    assert_eq!(
        store.user_by_id(owner.id).await.unwrap().role,
        Some(Role::Staff)
    );
    assert_eq!(actions(store.as_ref(), &a.scope()).await.len(), before + 2);
}

#[tokio::test]
async fn two_owners_demoting_each_other_at_once_leave_one_owner() {
    let db = connect().await;
    let a = shop(&db, "alpha").await;
    let store = db.store.clone();
    let one = with_role(account(Some(a.tenant), UserKind::Staff, "one"), Role::Owner);
    let two = with_role(account(Some(a.tenant), UserKind::Staff, "two"), Role::Owner);
    for u in [&one, &two] {
        store.create_user(u, None).await.unwrap();
    }
    let ids = [one.id, two.id];
    let tenant = a.tenant;
    let results = race(2, |i| {
        let store = store.clone();
        let id = ids[i];
        async move {
            store
                .set_staff_role(tenant, id, None, Role::Admin, &ctx())
                .await
        }
    })
    .await;
    let done = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(done, 1, "{results:?}");
    assert!(
        results
            .iter()
            .any(|r| matches!(r, Err(StoreError::Invalid(_)))),
        "{results:?}"
    );
    let mut owners = 0;
    for id in ids {
        if store.user_by_id(id).await.unwrap().role == Some(Role::Owner) {
            owners += 1;
        }
    }
    assert_eq!(owners, 1);
}
