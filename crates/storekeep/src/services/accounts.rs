//! Accounts: sign-up, login with lockout and MFA, sessions, password
//! resets. Emails and names are sealed before they reach the store and
//! found again through their blind index.

use chrono::{DateTime, Duration, Utc};
use storekeep_domain::{
    AuditContext, NewSession, Role, SessionId, SessionRecord, Tenant, TenantId, UserId, UserKind,
    UserRecord, ValidationErrors,
};
use storekeep_store::rules::identity::throttle_scope;
use storekeep_store::{StoreError, now};

use super::{ServiceError, ServiceResult};
use crate::crypto::{Keyring, password, tokens, totp};
use crate::services::Services;
use crate::wire::accounts::{Account, LoginInput, NewAccountInput};

/// Failures before an account locks; each further failure doubles the lock.
pub const FREE_FAILURES: i64 = 5;
pub const BASE_LOCK: Duration = Duration::minutes(1);
/// Capped so that someone guessing at an account cannot lock its owner out
/// for long; the lock still makes guessing hopeless (a few tries an hour).
pub const MAX_LOCK: Duration = Duration::hours(1);
/// How long a reset link works.
pub const RESET_TTL: Duration = Duration::hours(1);
/// Sessions record activity at most this often.
const TOUCH_EVERY: Duration = Duration::seconds(60);

/// Lowercases and checks an email address's shape.
pub fn normalize_email(raw: &str) -> Result<String, String> {
    let e = raw.trim().to_lowercase();
    let ok = e.len() <= 254
        && !e.contains(char::is_whitespace)
        && e.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && local.len() <= 64
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
        });
    if ok {
        Ok(e)
    } else {
        Err("is not an email address".into())
    }
}

/// Masks an email for logs and messages: `a***@example.com`.
pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            format!("{}***@{domain}", local.chars().next().unwrap_or('*'))
        }
        None => "***".into(),
    }
}

pub(crate) fn email_context(id: UserId) -> String {
    format!("users.email:{id}")
}
pub(crate) fn name_context(id: UserId) -> String {
    format!("users.name:{id}")
}
pub(crate) fn phone_context(id: UserId) -> String {
    format!("users.phone:{id}")
}
pub(crate) fn totp_context(id: UserId) -> String {
    format!("users.totp:{id}")
}

pub fn open_account(keyring: &Keyring, u: &UserRecord) -> ServiceResult<Account> {
    let open = |sealed: &str, ctx: String| {
        keyring
            .open(sealed, &ctx)
            .map_err(|e| ServiceError::Store(StoreError::other(e)))
    };
    Ok(Account {
        id: u.id,
        kind: u.kind,
        role: u.role,
        email: open(&u.email_sealed, email_context(u.id))?,
        name: u
            .name_sealed
            .as_deref()
            .map(|s| open(s, name_context(u.id)))
            .transpose()?,
        phone: u
            .phone_sealed
            .as_deref()
            .map(|s| open(s, phone_context(u.id)))
            .transpose()?,
        mfa_enabled: u.mfa_enabled(),
        created_at: u.created_at,
    })
}

/// Re-seals every PII field of `u` under the newest key.
pub fn reseal(keyring: &Keyring, u: &mut UserRecord) -> ServiceResult<bool> {
    let mut changed = false;
    if let Some(new) = keyring.reseal(&u.email_sealed, &email_context(u.id))? {
        u.email_sealed = new;
        changed = true;
    }
    let id = u.id;
    let optional: [(&mut Option<String>, String); 4] = [
        (&mut u.name_sealed, name_context(id)),
        (&mut u.phone_sealed, phone_context(id)),
        (&mut u.totp_sealed, totp_context(id)),
        (&mut u.totp_pending_sealed, totp_context(id)),
    ];
    for (field, ctx) in optional {
        if let Some(sealed) = field.as_deref()
            && let Some(new) = keyring.reseal(sealed, &ctx)?
        {
            *field = Some(new);
            changed = true;
        }
    }
    Ok(changed)
}

/// argon2 runs on `password::POOL`'s fixed workers (19 MiB each); a flood
/// of logins waits there in turn instead of allocating per request.
async fn hash_password(pw: String) -> ServiceResult<String> {
    password::POOL
        .hash(pw)
        .await
        .map_err(|e| ServiceError::Store(StoreError::other(e)))
}

async fn verify_password(pw: String, hash: String) -> bool {
    password::POOL.verify(pw, hash).await.unwrap_or(false)
}

/// Creates an account of `kind` (with `role` for staff).
pub async fn create_account(
    state: &Services,
    tenant: Option<TenantId>,
    kind: UserKind,
    role: Option<Role>,
    input: &NewAccountInput,
    audit: Option<&AuditContext>,
) -> ServiceResult<Account> {
    let mut errors = ValidationErrors::new();
    let email = errors.check("email", normalize_email(&input.email));
    for p in password::policy_problems(&input.password, email.as_deref().unwrap_or(&input.email)) {
        errors.add("password", p);
    }
    let name = input
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    if name.is_some_and(|n| n.chars().count() > 200) {
        errors.add("name", "must be at most 200 characters");
    }
    let phone = input
        .phone
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty());
    if phone.is_some_and(|p| {
        p.len() > 32
            || !p
                .chars()
                .all(|c| c.is_ascii_digit() || " +-().".contains(c))
    }) {
        errors.add(
            "phone",
            "must be a phone number (digits, spaces, + - ( ) .)",
        );
    }
    errors.into_result()?;
    let email = email.expect("checked above");
    let keyring = &state.keyring;
    let id = UserId::new();
    let at = now();
    let user = UserRecord {
        id,
        tenant_id: tenant,
        kind,
        role,
        email_index: keyring.blind_index("email", &email),
        email_sealed: keyring.seal(&email, &email_context(id)),
        name_sealed: name.map(|n| keyring.seal(n, &name_context(id))),
        phone_sealed: phone.map(|p| keyring.seal(p, &phone_context(id))),
        password_hash: hash_password(input.password.clone()).await?,
        totp_sealed: None,
        totp_pending_sealed: None,
        totp_last_step: None,
        created_at: at,
        updated_at: at,
    };
    let created = state
        .store
        .create_user(&user, audit)
        .await
        .map_err(|e| match e {
            StoreError::Conflict { .. } => {
                ServiceError::Store(StoreError::Conflict { field: "email" })
            }
            other => other.into(),
        })?;
    open_account(keyring, &created)
}

/// Why a login failed. The message never says whether the email exists.
#[derive(Debug)]
pub enum LoginFailure {
    Invalid,
    Locked { retry_after_secs: u64 },
    MfaRequired,
    Error(ServiceError),
}

impl From<StoreError> for LoginFailure {
    fn from(e: StoreError) -> Self {
        Self::Error(e.into())
    }
}

#[derive(Debug, Clone)]
pub struct LoginSuccess {
    pub token: String,
    pub session: SessionRecord,
    pub user: UserRecord,
}

/// Where a request came from, for sessions and the audit log.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
}

/// Starts a guarded attempt at a secret (a login, or re-authentication):
/// refused while locked; otherwise counted *before* the secret is checked,
/// atomically, so concurrent guesses each get their own number. Attempts
/// past the allowance are refused unchecked, except the first one after a
/// lock ends (the one that follows straight on the count read here). A
/// success must call `clear_login_failures`.
pub async fn begin_attempt(
    store: &dyn storekeep_store::Store,
    scope: &str,
    key: &str,
) -> Result<storekeep_domain::LoginThrottle, LoginFailure> {
    let before = store.login_throttle(scope, key).await?;
    if let Some(until) = before.locked_until
        && until > Utc::now()
    {
        return Err(LoginFailure::Locked {
            retry_after_secs: retry_after(until),
        });
    }
    let attempt = store
        .record_login_failure(scope, key, FREE_FAILURES, BASE_LOCK, MAX_LOCK)
        .await?;
    if attempt.failures > FREE_FAILURES && attempt.failures != before.failures + 1 {
        return Err(LoginFailure::Locked {
            retry_after_secs: attempt.locked_until.map_or(60, retry_after),
        });
    }
    Ok(attempt)
}

fn retry_after(until: DateTime<Utc>) -> u64 {
    (until - Utc::now()).num_seconds().max(1) as u64
}

pub async fn login(
    state: &std::sync::Arc<Services>,
    tenant: Option<&Tenant>,
    input: &LoginInput,
    origin: &Origin,
) -> Result<LoginSuccess, LoginFailure> {
    let checked = check_password(state, tenant, input).await?;
    let user = &checked.user;
    if user.mfa_enabled() {
        let Some(code) = input.totp.as_deref().or(input.recovery_code.as_deref()) else {
            return Err(LoginFailure::MfaRequired);
        };
        if !check_second_factor(state, user, code)
            .await
            .map_err(LoginFailure::Error)?
        {
            return Err(checked.refusal());
        }
    }
    finish_login(state, tenant, checked.user, origin).await
}

/// A password that checked out: the account, and the attempt it was
/// counted as (its lock, should a second factor fail).
pub struct PasswordChecked {
    pub user: UserRecord,
    pub attempt: storekeep_domain::LoginThrottle,
}

impl PasswordChecked {
    /// What a failed second factor answers: the lock the attempt brought,
    /// else a plain refusal.
    pub fn refusal(&self) -> LoginFailure {
        refusal(&self.attempt)
    }
}

/// The answer to a failed attempt counted as `attempt`.
pub fn refusal(attempt: &storekeep_domain::LoginThrottle) -> LoginFailure {
    match attempt.locked_until {
        Some(until) => LoginFailure::Locked {
            retry_after_secs: retry_after(until),
        },
        None => LoginFailure::Invalid,
    }
}

/// A login's first factor: the account of the email in the shop (or
/// platform), under the lockout (the attempt counted before the check,
/// `begin_attempt`), its password verified (unknown emails cost one
/// argon2 verification too). Nothing is cleared: the caller signs in
/// ([`finish_login`]) or asks for a second factor.
pub async fn check_password(
    state: &Services,
    tenant: Option<&Tenant>,
    input: &LoginInput,
) -> Result<PasswordChecked, LoginFailure> {
    let kind = input.account.unwrap_or(if tenant.is_some() {
        UserKind::Customer
    } else {
        UserKind::Operator
    });
    if (kind == UserKind::Operator) != tenant.is_none() {
        return Err(LoginFailure::Invalid);
    }
    let store = state.store.as_ref();
    let email = normalize_email(&input.email).unwrap_or_else(|_| input.email.trim().to_lowercase());
    let index = state.keyring.blind_index("email", &email);
    let scope = throttle_scope(tenant.map(|t| t.id), kind);

    let attempt = begin_attempt(store, &scope, &index).await?;
    let user = match store
        .user_by_email(tenant.map(|t| t.id), kind, &index)
        .await
    {
        Ok(u) => Some(u),
        Err(StoreError::NotFound(_)) => None,
        Err(e) => return Err(e.into()),
    };
    // Unknown emails cost one argon2 verification too.
    let hash = user
        .as_ref()
        .map_or_else(|| password::DUMMY_HASH.clone(), |u| u.password_hash.clone());
    let password_ok = verify_password(input.password.clone(), hash).await && user.is_some();

    match user.filter(|_| password_ok) {
        Some(user) => Ok(PasswordChecked { user, attempt }),
        None => Err(refusal(&attempt)),
    }
}

/// The end of a successful login: the account's lockout cleared, a new
/// session, the new-device check.
pub async fn finish_login(
    state: &std::sync::Arc<Services>,
    tenant: Option<&Tenant>,
    user: UserRecord,
    origin: &Origin,
) -> Result<LoginSuccess, LoginFailure> {
    let store = state.store.as_ref();
    let scope = throttle_scope(user.tenant_id, user.kind);
    store
        .clear_login_failures(&scope, &user.email_index)
        .await?;
    let (token, token_hash) = tokens::generate(tokens::SESSION);
    let expires_at = session_expiry(state, now(), now());
    let created = store
        .create_session(&NewSession {
            id: SessionId::new(),
            token_hash,
            user_id: user.id,
            tenant_id: user.tenant_id,
            expires_at,
            ip: origin.ip.clone(),
            user_agent: origin
                .user_agent
                .as_deref()
                .map(|u| u.chars().take(256).collect()),
        })
        .await;
    let session = match created {
        Ok(s) => s,
        // Erased while the password was being checked: a failed sign-in.
        Err(StoreError::NotFound(_)) => return Err(LoginFailure::Invalid),
        Err(e) => return Err(e.into()),
    };
    super::notify::device::spawn_sign_in_check(state, tenant, &user, &session);
    Ok(LoginSuccess {
        token,
        session,
        user,
    })
}

/// A session ends `session_idle` after its last use, and never later than
/// `session_ttl` after it began.
pub fn session_expiry(
    state: &Services,
    created: DateTime<Utc>,
    last_seen: DateTime<Utc>,
) -> DateTime<Utc> {
    let ttl = Duration::from_std(state.settings.session_ttl).unwrap_or(Duration::days(30));
    let idle = Duration::from_std(state.settings.session_idle).unwrap_or(Duration::days(3));
    (created + ttl).min(last_seen + idle)
}

/// Records a session's use (at most once a minute) and slides its idle expiry.
pub async fn touch_session(state: &Services, session: &SessionRecord) -> ServiceResult<()> {
    let at = now();
    if at - session.last_seen_at >= TOUCH_EVERY {
        let expires = session_expiry(state, session.created_at, at);
        state.store.touch_session(session.id, at, expires).await?;
    }
    Ok(())
}

pub fn unix_now() -> u64 {
    Utc::now().timestamp().max(0) as u64
}

/// Recovery codes are compared without case, spaces or dashes.
pub fn normalize_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

// --- MFA

/// Starts TOTP enrolment: a new secret, not yet in force.
pub async fn totp_enroll(state: &Services, user: &UserRecord) -> ServiceResult<(String, String)> {
    if user.mfa_enabled() {
        return Err(ServiceError::Invalid(ValidationErrors::single(
            "totp",
            "is already enabled; disable it first to enrol a new device",
        )));
    }
    let secret = totp::new_secret();
    let b32 = totp::base32(&secret);
    // The secret is stored as its base32 text, the form apps show.
    let sealed = state.keyring.seal(&b32, &totp_context(user.id));
    state.store.set_totp_pending(user.id, Some(&sealed)).await?;
    let account = open_account(&state.keyring, user)?;
    Ok((b32, totp::otpauth_uri(&secret, "storekeep", &account.email)))
}

/// Confirms enrolment with a code from the app; returns the recovery codes,
/// which are shown this once.
pub async fn totp_confirm(
    state: &Services,
    user: &UserRecord,
    code: &str,
    audit: &AuditContext,
) -> ServiceResult<Vec<String>> {
    let invalid = |m: &str| ServiceError::Invalid(ValidationErrors::single("code", m));
    let sealed = user
        .totp_pending_sealed
        .as_deref()
        .ok_or_else(|| invalid("no enrolment is pending; start one first"))?;
    let b32 = state.keyring.open(sealed, &totp_context(user.id))?;
    let secret = base32_decode(&b32).ok_or_else(|| invalid("enrolment is corrupt; start again"))?;
    let step = totp::verify(&secret, code, unix_now(), None)
        .ok_or_else(|| invalid("is not the current code"))?;
    let codes: Vec<String> = (0..10).map(|_| tokens::code(3)).collect();
    let hashes: Vec<String> = codes
        .iter()
        .map(|c| tokens::hash(&normalize_code(c)))
        .collect();
    state
        .store
        .enable_totp(user.id, sealed, step, &hashes, audit)
        .await?;
    Ok(codes)
}

pub fn base32_decode(s: &str) -> Option<Vec<u8>> {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = Vec::new();
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for c in s.trim_end_matches('=').bytes() {
        let v = A.iter().position(|&a| a == c.to_ascii_uppercase())? as u32;
        buffer = (buffer << 5) | v;
        bits += 5;
        if bits >= 8 {
            out.push((buffer >> (bits - 8)) as u8);
            bits -= 8;
        }
    }
    Some(out)
}

/// The TOTP secret bytes of an account with MFA.
pub fn totp_secret(state: &Services, user: &UserRecord) -> ServiceResult<Option<Vec<u8>>> {
    user.totp_sealed
        .as_deref()
        .map(|sealed| {
            let b32 = state.keyring.open(sealed, &totp_context(user.id))?;
            base32_decode(&b32).ok_or_else(|| {
                ServiceError::Store(StoreError::Invalid("stored TOTP secret is corrupt"))
            })
        })
        .transpose()
}

/// Checks a second factor (TOTP or recovery code) for an account with MFA.
pub async fn check_second_factor(
    state: &Services,
    user: &UserRecord,
    code: &str,
) -> ServiceResult<bool> {
    let Some(secret) = totp_secret(state, user)? else {
        return Ok(false);
    };
    if let Some(step) = totp::verify(&secret, code, unix_now(), user.totp_last_step) {
        return Ok(state.store.use_totp_step(user.id, step).await.is_ok());
    }
    Ok(state
        .store
        .use_recovery_code(user.id, &tokens::hash(&normalize_code(code)))
        .await?)
}

pub async fn verify_user_password(user: &UserRecord, pw: &str) -> bool {
    verify_password(pw.to_owned(), user.password_hash.clone()).await
}

// --- password reset

/// Emails a single-use reset token if the account exists; says nothing
/// either way. Returns at once: the look-up, the token and the message
/// happen after the caller has answered, so a known and an unknown email
/// cost the request the same work and time. Shutdown waits for the work
/// (`Services::background`). The token and the job that mails it are
/// written in one transaction: both or neither. A failure is logged (the
/// person can ask again); it is never reported to the caller.
pub fn request_reset(
    state: &std::sync::Arc<Services>,
    tenant: Option<&Tenant>,
    kind: UserKind,
    email: &str,
) {
    let Ok(email) = normalize_email(email) else {
        return;
    };
    let (state, tenant) = (state.clone(), tenant.cloned());
    state.background.clone().spawn(async move {
        if let Err(e) = send_reset(&state, tenant.as_ref(), kind, &email).await {
            tracing::error!(
                error = %e,
                email = %mask_email(&email),
                "password reset not sent; the person can ask again"
            );
        }
    });
}

async fn send_reset(
    state: &Services,
    tenant: Option<&Tenant>,
    kind: UserKind,
    email: &str,
) -> ServiceResult<()> {
    let email = email.to_owned();
    let index = state.keyring.blind_index("email", &email);
    let user = match state
        .store
        .user_by_email(tenant.map(|t| t.id), kind, &index)
        .await
    {
        Ok(u) => u,
        Err(StoreError::NotFound(_)) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let (token, hash) = tokens::generate(tokens::RESET);
    let job = super::notify::account_email_job(
        state,
        tenant,
        &user,
        crate::mail::templates::Kind::PasswordReset,
        None,
        Some(&token),
    );
    // The token and the job that mails it: one transaction, both or neither.
    state
        .store
        .create_password_reset(user.id, &hash, now() + RESET_TTL, &job)
        .await?;
    state.jobs.wake(&job.queue);
    tracing::info!(email = %mask_email(&email), "password reset queued");
    Ok(())
}

/// Sets a new password with a reset token: single use, ends every session.
pub async fn confirm_reset(state: &Services, token: &str, new_password: &str) -> ServiceResult<()> {
    let problems = password::policy_problems(new_password, "");
    if !problems.is_empty() {
        let mut e = ValidationErrors::new();
        for p in problems {
            e.add("password", p);
        }
        return Err(e.into());
    }
    let hash = hash_password(new_password.to_owned()).await?;
    let user = state
        .store
        .reset_password(&tokens::hash(token.trim()), &hash, now())
        .await
        .map_err(|e| match e {
            StoreError::NotFound(_) => ServiceError::Invalid(ValidationErrors::single(
                "token",
                "is unknown, used or expired",
            )),
            other => other.into(),
        })?;
    // The reset also lifts a lockout, and is audited.
    let kind_scope = throttle_scope(user.tenant_id, user.kind);
    state
        .store
        .clear_login_failures(&kind_scope, &user.email_index)
        .await?;
    let audit_scope = user.tenant_id.map_or_else(
        || storekeep_domain::PLATFORM_SCOPE.to_owned(),
        |t| t.to_string(),
    );
    let actor = AuditContext {
        actor: format!("{}:{}", user.kind.as_str(), user.id),
        ..Default::default()
    };
    state
        .store
        .append_audit(
            &audit_scope,
            &actor,
            "password.reset",
            &format!("user:{}", user.id),
            None,
        )
        .await?;
    tracing::info!(user = %user.id, "password reset used; every session ended");
    Ok(())
}
