//! Accounts and credentials: what each write records in the audit log
//! (never PII), login lockout, revocation, and the messages callers see.

use chrono::{DateTime, Utc};
use storekeep_domain::{
    ApiKeyRecord, OAuthClientRecord, PLATFORM_SCOPE, Role, TenantId, UserId, UserKind, UserRecord,
};

use crate::audit::Change;
use crate::{StoreError, StoreResult};

/// Audit actions.
pub const API_KEY_CREATE: &str = "api_key.create";
pub const API_KEY_REVOKE: &str = "api_key.revoke";
pub const OAUTH_CLIENT_CREATE: &str = "oauth_client.create";
pub const OAUTH_CLIENT_REVOKE: &str = "oauth_client.revoke";
pub const MFA_ENABLE: &str = "mfa.enable";
pub const MFA_DISABLE: &str = "mfa.disable";
pub const PASSWORD_CHANGE: &str = "password.change";
pub const STAFF_ROLE_CHANGE: &str = "staff.role_change";

/// Why a role change is refused when it would leave the shop without an
/// owner (a 409: the shop's state, not the caller's rights, forbids it).
pub const LAST_OWNER: &str = "the shop's last owner cannot lose the owner role";

/// Whether `user`, one of the shop's staff, may be given `role` while the
/// shop's owners are `owners`: the last owner keeps the owner role.
pub fn require_an_owner_left(owners: &[UserId], user: UserId, role: Role) -> StoreResult<()> {
    if role != Role::Owner && owners.iter().all(|o| *o == user) {
        return Err(StoreError::Invalid(LAST_OWNER));
    }
    Ok(())
}

/// A staff member's role change, `before` and `after` in its audit entry.
pub fn role_changed(user: UserId, tenant: TenantId, before: Role, after: Role) -> Change {
    Change {
        before: Some(serde_json::json!({ "role": before.as_str() })),
        after: Some(serde_json::json!({ "role": after.as_str() })),
        ..Change::new(scope_of(Some(tenant)), STAFF_ROLE_CHANGE, user_target(user))
    }
}

/// What `NotFound` names.
pub const ACCOUNT: &str = "account";
pub const SESSION: &str = "session";
pub const RESET_TOKEN: &str = "reset token";
pub const SIGN_IN_CHALLENGE: &str = "sign-in challenge";
pub const API_KEY: &str = "API key";
pub const OAUTH_CLIENT: &str = "OAuth client";
pub const ACCESS_TOKEN: &str = "access token";

/// The input a taken email blames.
pub const FIELD_EMAIL: &str = "email";

/// A TOTP code at or before the last accepted step (a replay).
pub const CODE_ALREADY_USED: &str = "this code was already used";

/// Whether claiming a TOTP step took: `done` rows moved the account's last
/// accepted step forward; none means the code was at or before it.
pub fn require_fresh_step(done: u64) -> StoreResult<()> {
    if done == 0 {
        return Err(StoreError::Invalid(CODE_ALREADY_USED));
    }
    Ok(())
}

/// The audit chain of an account's actions: its shop's, or the platform's.
pub fn scope_of(tenant: Option<TenantId>) -> String {
    tenant.map_or_else(|| PLATFORM_SCOPE.to_owned(), |t| t.to_string())
}

/// The login lockout counters' scope (`login_throttle.scope`): a shop's
/// customers (`<tenant>:customer`), a shop's staff (`<tenant>:staff`) or
/// the platform's operators (`platform:operator`). The counters are keyed
/// by the email's blind index, which is the same in every shop: whatever
/// clears them (a success, a reset, an erasure) names the scope too.
pub fn throttle_scope(tenant: Option<TenantId>, kind: UserKind) -> String {
    format!(
        "{}:{}",
        tenant.map_or_else(|| "platform".to_owned(), |t| t.to_string()),
        kind.as_str()
    )
}

/// The action that records an account's creation, by kind.
pub fn account_create_action(kind: UserKind) -> &'static str {
    match kind {
        UserKind::Customer => "customer.create",
        UserKind::Staff => "staff.create",
        UserKind::Operator => "operator.create",
    }
}

/// What the audit log says about an account: never its PII.
pub fn account_summary(u: &UserRecord) -> serde_json::Value {
    serde_json::json!({
        "id": u.id,
        "kind": u.kind.as_str(),
        "role": u.role.map(Role::as_str),
        "mfa": u.mfa_enabled(),
    })
}

/// An account's creation (staff and operators; customer sign-up is not
/// audited, which the caller decides by passing no audit context).
pub fn account_created(u: &UserRecord) -> Change {
    Change {
        after: Some(account_summary(u)),
        ..Change::new(
            scope_of(u.tenant_id),
            account_create_action(u.kind),
            user_target(u.id),
        )
    }
}

/// A change to an account's own security (`MFA_*`, `PASSWORD_CHANGE`),
/// in the chain of the account's shop (`tenant`) or the platform's.
pub fn account_changed(action: &str, user: UserId, tenant: Option<TenantId>) -> Change {
    Change::new(scope_of(tenant), action, user_target(user))
}

/// The audit target naming an account.
pub fn user_target(user: UserId) -> String {
    format!("user:{user}")
}

/// When an account with `failures` consecutive failed logins is locked
/// until: not before `free` failures, then `base` doubled for each further
/// failure, at most `max`.
pub fn lock_until(
    failures: i64,
    free: i64,
    base: chrono::Duration,
    max: chrono::Duration,
    at: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    if failures < free {
        return None;
    }
    let doublings = u32::try_from(failures - free).unwrap_or(u32::MAX).min(20);
    let lock = base.checked_mul(1 << doublings).unwrap_or(max).min(max);
    Some(at + lock)
}

/// The credential once revoked at `at`, or `None` if it already was:
/// revoking twice changes nothing and records nothing.
pub fn revoked(revoked_at: Option<DateTime<Utc>>, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    revoked_at.is_none().then_some(at)
}

fn api_key_summary(k: &ApiKeyRecord) -> serde_json::Value {
    serde_json::json!({
        "id": k.id,
        "name": k.name,
        "prefix": k.prefix,
        "scopes": k.scopes,
        "revoked": k.revoked_at.is_some(),
    })
}

pub fn api_key_created(k: &ApiKeyRecord) -> Change {
    Change {
        after: Some(api_key_summary(k)),
        ..Change::new(k.tenant_id.to_string(), API_KEY_CREATE, api_key_target(k))
    }
}

pub fn api_key_revoked(before: &ApiKeyRecord, after: &ApiKeyRecord) -> Change {
    Change {
        before: Some(api_key_summary(before)),
        after: Some(api_key_summary(after)),
        ..Change::new(
            after.tenant_id.to_string(),
            API_KEY_REVOKE,
            api_key_target(after),
        )
    }
}

fn api_key_target(k: &ApiKeyRecord) -> String {
    format!("api_key:{}", k.id)
}

fn client_summary(c: &OAuthClientRecord) -> serde_json::Value {
    serde_json::json!({
        "id": c.id,
        "client_id": c.client_id,
        "name": c.name,
        "scopes": c.scopes,
        "revoked": c.revoked_at.is_some(),
    })
}

pub fn client_created(c: &OAuthClientRecord) -> Change {
    Change {
        after: Some(client_summary(c)),
        ..Change::new(
            c.tenant_id.to_string(),
            OAUTH_CLIENT_CREATE,
            client_target(c),
        )
    }
}

pub fn client_revoked(before: &OAuthClientRecord, after: &OAuthClientRecord) -> Change {
    Change {
        before: Some(client_summary(before)),
        after: Some(client_summary(after)),
        ..Change::new(
            after.tenant_id.to_string(),
            OAUTH_CLIENT_REVOKE,
            client_target(after),
        )
    }
}

fn client_target(c: &OAuthClientRecord) -> String {
    format!("oauth_client:{}", c.id)
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    #[test]
    fn logins_lock_from_the_free_failures_on_doubling_up_to_the_cap() {
        let at = crate::now();
        let lock = |failures| {
            lock_until(failures, 3, Duration::minutes(1), Duration::minutes(5), at)
                .map(|until| until - at)
        };
        assert_eq!(lock(2), None);
        assert_eq!(lock(3), Some(Duration::minutes(1)));
        assert_eq!(lock(4), Some(Duration::minutes(2)));
        assert_eq!(lock(5), Some(Duration::minutes(4)));
        assert_eq!(lock(6), Some(Duration::minutes(5)));
        assert_eq!(lock(i64::MAX), Some(Duration::minutes(5)));
    }

    #[test]
    fn a_credential_is_revoked_once() {
        let at = crate::now();
        assert_eq!(revoked(None, at), Some(at));
        assert_eq!(revoked(Some(at - Duration::days(1)), at), None);
    }

    #[test]
    fn account_actions_are_recorded_in_the_accounts_chain_without_pii() {
        let tenant = TenantId::new();
        let user = UserRecord {
            id: UserId::new(),
            tenant_id: Some(tenant),
            kind: UserKind::Staff,
            role: Some(Role::Admin),
            email_index: "index".into(),
            email_sealed: "sealed-email".into(),
            name_sealed: Some("sealed-name".into()),
            phone_sealed: None,
            password_hash: "hash".into(),
            totp_sealed: None,
            totp_pending_sealed: None,
            totp_last_step: None,
            created_at: crate::now(),
            updated_at: crate::now(),
        };
        let change = account_created(&user);
        assert_eq!(change.scope, tenant.to_string());
        assert_eq!(change.action, "staff.create");
        assert_eq!(change.target, format!("user:{}", user.id));
        let after = change.after.unwrap().to_string();
        assert!(after.contains("\"role\":\"admin\""), "{after}");
        for secret in ["sealed", "index", "hash"] {
            assert!(!after.contains(secret), "{after}");
        }
        assert_eq!(
            account_changed(MFA_ENABLE, user.id, None).scope,
            PLATFORM_SCOPE
        );
    }
}
