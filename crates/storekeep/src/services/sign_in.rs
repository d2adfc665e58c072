//! The two-step sign-in with MFA, server-side: the password step makes a
//! pending challenge, the code step answers it. Used by the storefront's
//! sign-in pages; the API's `POST /auth/login` keeps its one-call contract
//! (password and code together) and could move to it.
//!
//! A challenge is made only after the password is verified. The browser
//! keeps its random token (`skm_…`); the database keeps only its hash,
//! bound to the account and its shop, for [`CHALLENGE_TTL`], single use,
//! and dead after [`CHALLENGE_ATTEMPTS`] codes (each attempt counted in
//! the statement that checks the challenge, so concurrent guesses each
//! spend one). The account's login lockout counts the password step once
//! (as the API's login counts a password and a code together) and each
//! code after the first once more; success clears it. The code step checks
//! no lock (the password was right under the lockout when the challenge
//! was made), so a sign-in that was the lock's own attempt still completes
//! with the right code, as the API's does. The password is never kept
//! anywhere.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use storekeep_domain::{NewSignInChallenge, Tenant, UserKind};
use storekeep_store::rules::identity::throttle_scope;
use storekeep_store::{StoreError, now};

use crate::crypto::tokens;
use crate::services::accounts::{
    self, LoginFailure, LoginSuccess, Origin, check_password, finish_login,
};
use crate::services::{ServiceError, Services};
use crate::wire::accounts::LoginInput;

/// How long the code step may wait after the password step.
pub const CHALLENGE_TTL: Duration = Duration::minutes(5);
/// Codes a challenge takes; then it is dead and the sign-in starts again.
/// Fewer than the lockout's free failures (`accounts::FREE_FAILURES`, of
/// which the password step spent one), so a guesser holding the password
/// must start again — and pass the password check and the lockout again —
/// before the account's own lock would stop them.
pub const CHALLENGE_ATTEMPTS: i64 = 3;

/// What the password step led to.
#[derive(Debug)]
pub enum FirstStep {
    /// No second factor: signed in.
    SignedIn(Box<LoginSuccess>),
    /// The account has MFA: the code step's challenge token (only for the
    /// browser; its hash is stored).
    Challenge {
        token: String,
        expires_at: DateTime<Utc>,
    },
}

/// Why a code step failed.
#[derive(Debug)]
pub enum CodeFailure {
    /// No live challenge by that token in this shop: unknown, expired,
    /// used, out of attempts, or another shop's. The sign-in starts again.
    Gone,
    /// The code is wrong; `dead` when that was the challenge's last
    /// attempt.
    Wrong {
        dead: bool,
    },
    /// The account is locked (too many failed sign-ins).
    Locked {
        retry_after_secs: u64,
    },
    Error(ServiceError),
}

impl From<StoreError> for CodeFailure {
    fn from(e: StoreError) -> Self {
        Self::Error(e.into())
    }
}

/// The password step: as `accounts::login` without a code (lockout,
/// unknown emails costing the same), then, for an account with MFA, a new
/// challenge instead of `MfaRequired`.
pub async fn begin(
    svc: &Arc<Services>,
    tenant: Option<&Tenant>,
    kind: UserKind,
    email: &str,
    password: &str,
    origin: &Origin,
) -> Result<FirstStep, LoginFailure> {
    let input = LoginInput {
        email: email.to_owned(),
        password: password.to_owned(),
        totp: None,
        recovery_code: None,
        account: Some(kind),
    };
    let checked = check_password(svc, tenant, &input).await?;
    if !checked.user.mfa_enabled() {
        let ok = finish_login(svc, tenant, checked.user, origin).await?;
        return Ok(FirstStep::SignedIn(Box::new(ok)));
    }
    let (token, token_hash) = tokens::generate(tokens::CHALLENGE);
    let expires_at = now() + CHALLENGE_TTL;
    svc.store
        .create_sign_in_challenge(&NewSignInChallenge {
            token_hash,
            user_id: checked.user.id,
            tenant_id: checked.user.tenant_id,
            expires_at,
        })
        .await?;
    Ok(FirstStep::Challenge { token, expires_at })
}

/// The code step: a TOTP code or a recovery code against the live
/// challenge `token` of this shop (`None`: the platform's).
pub async fn answer(
    svc: &Arc<Services>,
    tenant: Option<&Tenant>,
    token: &str,
    code: &str,
    origin: &Origin,
) -> Result<LoginSuccess, CodeFailure> {
    let hash = tokens::hash(token.trim());
    let claimed = svc
        .store
        .claim_sign_in_challenge(&hash, tenant.map(|t| t.id), now(), CHALLENGE_ATTEMPTS)
        .await;
    let (user_id, attempts) = match claimed {
        Ok(c) => c,
        Err(StoreError::NotFound(_)) => return Err(CodeFailure::Gone),
        Err(e) => return Err(e.into()),
    };
    let user = match svc.store.user_by_id(user_id).await {
        Ok(u) => u,
        Err(StoreError::NotFound(_)) => return Err(CodeFailure::Gone),
        Err(e) => return Err(e.into()),
    };
    // The lockout: the password step counted this sign-in once, under the
    // lockout, as the API's login counts a password and a code together;
    // the first code is that same attempt, and each further code counts as
    // one more failure. A lock is not checked here: the challenge exists
    // only because the password was right under the lockout (even when
    // that attempt was the one that locked, as the API's login then still
    // accepts the right code), and its own bound caps the guesses. Were
    // locks checked here, a fifth failed attempt would leave the owner's
    // right password and code refused at every try until a reset.
    let scope = throttle_scope(user.tenant_id, user.kind);
    let code = code.trim();
    let ok = !code.is_empty()
        && code.len() <= 64
        && accounts::check_second_factor(svc, &user, code)
            .await
            .map_err(CodeFailure::Error)?;
    if !ok {
        if attempts > 1 {
            let counted = svc
                .store
                .record_login_failure(
                    &scope,
                    &user.email_index,
                    accounts::FREE_FAILURES,
                    accounts::BASE_LOCK,
                    accounts::MAX_LOCK,
                )
                .await?;
            if let LoginFailure::Locked { retry_after_secs } = accounts::refusal(&counted) {
                return Err(CodeFailure::Locked { retry_after_secs });
            }
        }
        return Err(CodeFailure::Wrong {
            dead: attempts >= CHALLENGE_ATTEMPTS,
        });
    }
    // Single use: a concurrent answer that got here first wins.
    match svc.store.use_sign_in_challenge(&hash, now()).await {
        Ok(()) => {}
        Err(StoreError::NotFound(_)) => return Err(CodeFailure::Gone),
        Err(e) => return Err(e.into()),
    }
    finish_login(svc, tenant, user, origin)
        .await
        .map_err(|e| match e {
            LoginFailure::Error(e) => CodeFailure::Error(e),
            _ => CodeFailure::Gone,
        })
}
