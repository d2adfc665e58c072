//! `/api/v1/auth/*`: sign-up, login, sessions, MFA, password reset, and
//! the OAuth 2.0 token endpoint. Shop accounts address their shop by Host
//! or `X-Tenant`; platform operators send no shop.

use std::sync::Arc;

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use storekeep_domain::{AuditContext, SessionId, SessionRecord, Tenant, UserKind, UserRecord};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::http::authn::{Authentication, Principal};
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{CurrentTenant, Json};
use crate::http::middleware::RequestContext;
use crate::services::accounts::{self, LoginFailure, Origin};
use crate::services::credentials::{self, OAuthError};
use crate::services::sessions;
use crate::wire::accounts::{
    AccountBody, CodeBody, DisableBody, LoginInput, LoginResponse, OAuthErrorBody, RecoveryCodes,
    RegisterBody, ResetConfirm, ResetRequest, SessionList, SessionView, TokenRequest,
    TokenResponse, TotpEnrollment,
};
use crate::wire::problem::Problem;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me))
        .routes(routes!(list_sessions, revoke_all_sessions))
        .routes(routes!(revoke_session))
        .routes(routes!(totp_enroll))
        .routes(routes!(totp_confirm))
        .routes(routes!(totp_disable))
        .routes(routes!(request_reset))
        .routes(routes!(confirm_reset))
        .routes(routes!(oauth_token))
}

/// The shop a request addresses, if any (operators address none).
async fn optional_tenant(
    parts: &mut Parts,
    state: &AppState,
) -> Result<Option<Arc<Tenant>>, ApiError> {
    let addressed =
        parts.headers.contains_key("x-tenant") || parts.extensions.get::<CurrentTenant>().is_some();
    match CurrentTenant::from_request_parts(parts, state).await {
        Ok(CurrentTenant(t)) => Ok(Some(t)),
        Err(ApiError::NotFound(m)) if addressed => Err(ApiError::NotFound(m)),
        Err(ApiError::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// A logged-in user, in the shop (or platform) the request addresses.
pub struct SessionUser {
    pub user: UserRecord,
    pub session: SessionRecord,
    pub audit: AuditContext,
}

impl FromRequestParts<AppState> for SessionUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let tenant = optional_tenant(parts, state).await?;
        let Some(Authentication::Valid(Principal::User { user, session })) =
            parts.extensions.get::<Authentication>().cloned()
        else {
            return Err(ApiError::Unauthorized("log in first".into()));
        };
        if user.tenant_id != tenant.map(|t| t.id) {
            return Err(ApiError::Unauthorized(
                "this session is not valid here".into(),
            ));
        }
        let ctx = parts.extensions.get::<RequestContext>();
        let audit = AuditContext {
            actor: format!("{}:{}", user.kind.as_str(), user.id),
            ip: ctx.and_then(|c| c.client_ip).map(|ip| ip.to_string()),
            request_id: ctx.map(|c| c.request_id.to_string()),
        };
        Ok(Self {
            user: *user,
            session,
            audit,
        })
    }
}

/// The shop addressed (required) as an extractor for shop-only routes.
pub struct Shop(pub Arc<Tenant>);

impl FromRequestParts<AppState> for Shop {
    type Rejection = ApiError;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        CurrentTenant::from_request_parts(parts, state)
            .await
            .map(|CurrentTenant(t)| Self(t))
    }
}

/// Where the request came from.
pub struct RequestOrigin(pub Origin);

impl<S: Send + Sync> FromRequestParts<S> for RequestOrigin {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ctx = parts.extensions.get::<RequestContext>();
        Ok(Self(Origin {
            ip: ctx.and_then(|c| c.client_ip).map(|ip| ip.to_string()),
            user_agent: parts
                .headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            request_id: ctx.map(|c| c.request_id.to_string()),
        }))
    }
}

/// Creates a customer account in the shop. Passwords: at least 12
/// characters, not a common password, not the email.
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "auth",
    security(("tenant" = [])),
    request_body = RegisterBody,
    responses((status = 201, body = AccountBody), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn register(
    State(state): State<AppState>,
    Shop(tenant): Shop,
    Json(body): Json<RegisterBody>,
) -> ApiResult<(StatusCode, Json<AccountBody>)> {
    let account = accounts::create_account(
        &state.services,
        Some(tenant.id),
        UserKind::Customer,
        None,
        &body.account,
        None,
    )
    .await
    .map_err(|e| match ApiError::from(e) {
        ApiError::Conflict { field, .. } => ApiError::Conflict {
            detail: "an account with this email exists; log in or reset the password".into(),
            field,
        },
        other => other,
    })?;
    Ok((StatusCode::CREATED, Json(AccountBody { account })))
}

/// Logs in. Repeated failures lock the account with growing back-off
/// (429 with Retry-After); the answer never tells whether an email exists.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth",
    security(("tenant" = []), ()),
    request_body = LoginInput,
    responses((status = 200, body = LoginResponse), (status = 401, body = Problem), (status = 429, body = Problem)))]
async fn login(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    parts_tenant: OptionalShop,
    Json(input): Json<LoginInput>,
) -> ApiResult<Json<LoginResponse>> {
    match accounts::login(&state.services, parts_tenant.0.as_deref(), &input, &origin).await {
        Ok(ok) => Ok(Json(LoginResponse {
            token: ok.token,
            session_id: ok.session.id,
            expires_at: ok.session.expires_at,
        })),
        Err(LoginFailure::Invalid) => Err(ApiError::Unauthorized(
            "the email or password is wrong".into(),
        )),
        Err(LoginFailure::Locked { retry_after_secs }) => Err(ApiError::TooManyRequests {
            detail: format!(
                "too many failed logins; this account is locked for {retry_after_secs} s"
            ),
            retry_after_secs,
        }),
        Err(LoginFailure::MfaRequired) => Err(ApiError::MfaRequired),
        Err(LoginFailure::Error(e)) => Err(e.into()),
    }
}

/// The shop addressed, if any.
pub struct OptionalShop(pub Option<Arc<Tenant>>);

impl FromRequestParts<AppState> for OptionalShop {
    type Rejection = ApiError;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        optional_tenant(parts, state).await.map(Self)
    }
}

/// Ends this session.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth",
    security(("tenant" = [], "bearer" = []), ("bearer" = [])),
    responses((status = 204), (status = 401, body = Problem)))]
async fn logout(State(state): State<AppState>, me: SessionUser) -> ApiResult<StatusCode> {
    sessions::end(&state.services, me.user.id, me.session.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The logged-in account.
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth",
    security(("tenant" = [], "bearer" = []), ("bearer" = [])),
    responses((status = 200, body = AccountBody), (status = 401, body = Problem)))]
async fn me(State(state): State<AppState>, me: SessionUser) -> ApiResult<Json<AccountBody>> {
    Ok(Json(AccountBody {
        account: accounts::open_account(&state.services.keyring, &me.user)?,
    }))
}

/// The account's live sessions.
#[utoipa::path(get, path = "/api/v1/auth/sessions", tag = "auth",
    security(("tenant" = [], "bearer" = []), ("bearer" = [])),
    responses((status = 200, body = SessionList), (status = 401, body = Problem)))]
async fn list_sessions(
    State(state): State<AppState>,
    me: SessionUser,
) -> ApiResult<Json<SessionList>> {
    let sessions = sessions::list(&state.services, me.user.id).await?;
    Ok(Json(SessionList {
        items: sessions
            .into_iter()
            .map(|s| SessionView {
                current: s.id == me.session.id,
                session: s,
            })
            .collect(),
    }))
}

/// Logs out everywhere: ends every session of the account, this one too.
#[utoipa::path(delete, path = "/api/v1/auth/sessions", tag = "auth",
    security(("tenant" = [], "bearer" = []), ("bearer" = [])),
    responses((status = 204), (status = 401, body = Problem)))]
async fn revoke_all_sessions(
    State(state): State<AppState>,
    me: SessionUser,
) -> ApiResult<StatusCode> {
    sessions::end_all(&state.services, me.user.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Ends one of the account's sessions.
#[utoipa::path(delete, path = "/api/v1/auth/sessions/{id}", tag = "auth",
    security(("tenant" = [], "bearer" = []), ("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn revoke_session(
    State(state): State<AppState>,
    me: SessionUser,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id: SessionId = id.parse().map_err(|_| ApiError::not_found("session"))?;
    sessions::end(&state.services, me.user.id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Starts TOTP enrolment. Confirm with a code to turn it on.
#[utoipa::path(post, path = "/api/v1/auth/mfa/totp", tag = "auth",
    security(("tenant" = [], "bearer" = []), ("bearer" = [])),
    responses((status = 200, body = TotpEnrollment), (status = 401, body = Problem), (status = 422, body = Problem)))]
async fn totp_enroll(
    State(state): State<AppState>,
    me: SessionUser,
) -> ApiResult<Json<TotpEnrollment>> {
    let (secret, otpauth_uri) = accounts::totp_enroll(&state.services, &me.user).await?;
    Ok(Json(TotpEnrollment {
        secret,
        otpauth_uri,
    }))
}

/// Confirms enrolment with a current code; MFA is on from now.
#[utoipa::path(post, path = "/api/v1/auth/mfa/totp/confirm", tag = "auth",
    security(("tenant" = [], "bearer" = []), ("bearer" = [])),
    request_body = CodeBody,
    responses((status = 200, body = RecoveryCodes), (status = 401, body = Problem), (status = 422, body = Problem)))]
async fn totp_confirm(
    State(state): State<AppState>,
    shop: OptionalShop,
    me: SessionUser,
    Json(body): Json<CodeBody>,
) -> ApiResult<Json<RecoveryCodes>> {
    let recovery_codes = sessions::confirm_totp(
        &state.services,
        shop.0.as_deref(),
        &me.user,
        me.session.id,
        &body.code,
        &me.audit,
    )
    .await?;
    Ok(Json(RecoveryCodes { recovery_codes }))
}

/// Turns MFA off; needs the password and a second factor again.
#[utoipa::path(delete, path = "/api/v1/auth/mfa/totp", tag = "auth",
    security(("tenant" = [], "bearer" = []), ("bearer" = [])),
    request_body = DisableBody,
    responses((status = 204), (status = 401, body = Problem)))]
async fn totp_disable(
    State(state): State<AppState>,
    shop: OptionalShop,
    me: SessionUser,
    Json(body): Json<DisableBody>,
) -> ApiResult<StatusCode> {
    match sessions::disable_totp(
        &state.services,
        shop.0.as_deref(),
        &me.user,
        me.session.id,
        &body.password,
        &body.code,
        &me.audit,
    )
    .await
    {
        Ok(()) => Ok(StatusCode::NO_CONTENT),
        Err(LoginFailure::Locked { retry_after_secs }) => Err(ApiError::TooManyRequests {
            detail: format!("too many wrong attempts; try again in {retry_after_secs} s"),
            retry_after_secs,
        }),
        Err(LoginFailure::Error(e)) => Err(e.into()),
        Err(_) => Err(ApiError::Unauthorized(
            "the password or code is wrong".into(),
        )),
    }
}

/// Emails a single-use reset token if the account exists. Always 202, so
/// it reveals nothing.
#[utoipa::path(post, path = "/api/v1/auth/password-reset", tag = "auth",
    security(("tenant" = []), ()),
    request_body = ResetRequest,
    responses((status = 202)))]
async fn request_reset(
    State(state): State<AppState>,
    shop: OptionalShop,
    Json(body): Json<ResetRequest>,
) -> StatusCode {
    let kind = body.account.unwrap_or(if shop.0.is_some() {
        UserKind::Customer
    } else {
        UserKind::Operator
    });
    if (kind == UserKind::Operator) == shop.0.is_none() {
        // Answers before the account is even looked up.
        accounts::request_reset(&state.services, shop.0.as_deref(), kind, &body.email);
    }
    StatusCode::ACCEPTED
}

/// Sets a new password with the emailed token; every session ends.
#[utoipa::path(post, path = "/api/v1/auth/password-reset/confirm", tag = "auth",
    request_body = ResetConfirm,
    responses((status = 204), (status = 422, body = Problem)))]
async fn confirm_reset(
    State(state): State<AppState>,
    Json(body): Json<ResetConfirm>,
) -> ApiResult<StatusCode> {
    accounts::confirm_reset(&state.services, &body.token, &body.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn oauth_error(e: OAuthError) -> Response {
    let status = if e == OAuthError::InvalidClient {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::BAD_REQUEST
    };
    let mut r = (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(serde_json::json!({ "error": e.code() })),
    )
        .into_response();
    if e == OAuthError::InvalidClient {
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Basic realm=\"storekeep\""),
        );
    }
    r
}

/// OAuth 2.0 client-credentials grant (RFC 6749 §4.4). Form-encoded body;
/// client credentials in the body or HTTP Basic. Errors follow RFC 6749 §5.2.
#[utoipa::path(post, path = "/api/v1/auth/oauth/token", tag = "auth",
    security(("oauth_client" = []), ()),
    request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, body = TokenResponse), (status = 400, body = OAuthErrorBody),
        (status = 401, body = OAuthErrorBody)))]
async fn oauth_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<axum::Form<TokenRequest>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(axum::Form(form)) = form else {
        return oauth_error(OAuthError::InvalidRequest);
    };
    if form.grant_type != "client_credentials" {
        return oauth_error(OAuthError::UnsupportedGrantType);
    }
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| {
            base64::Engine::decode(&base64::engine::general_purpose::STANDARD, b.trim()).ok()
        })
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.split_once(':').map(|(a, b)| (a.to_owned(), b.to_owned())));
    let (id, secret) = match (basic, form.client_id, form.client_secret) {
        (Some(pair), _, _) => pair,
        (None, Some(id), Some(secret)) => (id, secret),
        _ => return oauth_error(OAuthError::InvalidClient),
    };
    let printable =
        |s: &str| !s.is_empty() && s.len() <= 200 && s.bytes().all(|b| b.is_ascii_graphic());
    if !printable(&id)
        || !printable(&secret)
        || form
            .scope
            .as_deref()
            .is_some_and(|s| s.contains(char::is_control))
    {
        return oauth_error(OAuthError::InvalidClient);
    }
    match credentials::issue_token(&state.services, &id, &secret, form.scope.as_deref()).await {
        Ok(t) => (
            [(header::CACHE_CONTROL, "no-store")],
            axum::Json(TokenResponse {
                access_token: t.token,
                token_type: "Bearer",
                expires_in: t.expires_in,
                scope: t.scopes.join(" "),
            }),
        )
            .into_response(),
        Err(Ok(e)) => oauth_error(e),
        Err(Err(e)) => ApiError::from(e).into_response(),
    }
}
