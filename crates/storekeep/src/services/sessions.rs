//! An account's login sessions and its second factor, as the account's
//! owner manages them.

use std::sync::Arc;

use storekeep_domain::{AuditContext, SessionId, SessionRecord, Tenant, UserId, UserRecord};

use crate::mail::templates::Kind;
use crate::services::accounts::{self, LoginFailure};
use crate::services::notify;
use crate::services::{ServiceResult, Services};

/// The account's live sessions.
pub async fn list(svc: &Services, user: UserId) -> ServiceResult<Vec<SessionRecord>> {
    Ok(svc
        .store
        .list_sessions(user, storekeep_store::now())
        .await?)
}

/// Ends one session of the account (not found if it is not the account's).
pub async fn end(svc: &Services, user: UserId, session: SessionId) -> ServiceResult<()> {
    Ok(svc.store.revoke_session(user, session).await?)
}

/// Ends every session of the account.
pub async fn end_all(svc: &Services, user: UserId) -> ServiceResult<()> {
    svc.store.revoke_sessions(user).await?;
    Ok(())
}

/// Confirms TOTP enrolment with a current code; a change of second factor
/// ends every other session of the account, and the account's owner is
/// told by email. Returns the recovery codes.
pub async fn confirm_totp(
    svc: &Arc<Services>,
    tenant: Option<&Tenant>,
    user: &UserRecord,
    session: SessionId,
    code: &str,
    audit: &AuditContext,
) -> ServiceResult<Vec<String>> {
    let recovery_codes = accounts::totp_confirm(svc, user, code, audit).await?;
    svc.store.revoke_other_sessions(user.id, session).await?;
    notify::spawn_account_email(svc, tenant, user, Kind::MfaEnabled);
    Ok(recovery_codes)
}

/// Turns MFA off if the password and a second factor check out; guesses
/// are throttled like logins, per account. A change of second factor ends
/// every other session of the account. `Err(LoginFailure::Invalid)`: the
/// password or code is wrong.
pub async fn disable_totp(
    svc: &Arc<Services>,
    tenant: Option<&Tenant>,
    user: &UserRecord,
    session: SessionId,
    password: &str,
    code: &str,
    audit: &AuditContext,
) -> Result<(), LoginFailure> {
    if !user.mfa_enabled() {
        return Ok(());
    }
    let scope = "mfa-disable";
    let key = user.id.to_string();
    match accounts::begin_attempt(svc.store.as_ref(), scope, &key).await {
        Ok(_) => {}
        Err(e @ (LoginFailure::Locked { .. } | LoginFailure::Error(_))) => return Err(e),
        Err(_) => return Err(LoginFailure::Invalid),
    }
    let ok = accounts::verify_user_password(user, password).await
        && accounts::check_second_factor(svc, user, code)
            .await
            .map_err(LoginFailure::Error)?;
    if !ok {
        return Err(LoginFailure::Invalid);
    }
    svc.store.clear_login_failures(scope, &key).await?;
    svc.store.disable_totp(user.id, audit).await?;
    svc.store.revoke_other_sessions(user.id, session).await?;
    notify::spawn_account_email(svc, tenant, user, Kind::MfaDisabled);
    Ok(())
}
