//! The account's security pages: where the customer is signed in (each
//! session, "this device" marked, a sign-out button for each and one for
//! all) and two-step verification (TOTP enrolment). Each goes through the
//! services the API's `/api/v1/auth/sessions*` and `/auth/mfa/totp*` use
//! (`services::sessions`, `accounts::totp_enroll`), so the rules are the
//! API's: revoking the current session signs this browser out, confirming
//! TOTP ends the other sessions and emails the owner.

use askama::Template;
use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use storekeep_domain::SessionId;

use crate::app::AppState;
use crate::services::{ServiceError, accounts, sessions};
use crate::web::WebError;
use crate::web::i18n::account::AccountMsgs;
use crate::web::pages::account::{audit_of, csrf, customer_or_sign_in};
use crate::web::pages::shopper::{Here, render, see_other, unreadable};
use crate::web::session::sign_out_cookies;

/// One session as the page lists it.
pub struct SessionRow {
    pub id: String,
    pub client: String,
    pub ip: String,
    pub created: String,
    pub created_iso: String,
    pub seen: String,
    pub seen_iso: String,
    pub current: bool,
    pub revoke_label: String,
}

#[derive(Template)]
#[template(path = "storefront/account_sessions.html")]
struct SessionsPage<'a> {
    t: &'a AccountMsgs,
    csrf: &'a str,
    notice: Option<&'a str>,
    sessions: Vec<SessionRow>,
}

fn when(at: chrono::DateTime<chrono::Utc>) -> (String, String) {
    (
        at.format("%Y-%m-%d %H:%M UTC").to_string(),
        at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    )
}

async fn sessions_page(
    state: &AppState,
    here: &Here,
    status: StatusCode,
    notice: Option<&str>,
) -> Response {
    let t = crate::web::i18n::account::get(here.shop.lang);
    let c = match customer_or_sign_in(here, "/account/sessions") {
        Ok(c) => c,
        Err(r) => return r.into_response(),
    };
    let list = match sessions::list(&state.services, c.user.id).await {
        Ok(l) => l,
        Err(e) => return WebError::from(e).render(here.shop.lang),
    };
    let rows = list
        .into_iter()
        .map(|s| {
            let (created, created_iso) = when(s.created_at);
            let (seen, seen_iso) = when(s.last_seen_at);
            SessionRow {
                id: s.id.to_string(),
                client: s
                    .user_agent
                    .filter(|u| !u.trim().is_empty())
                    .unwrap_or_else(|| t.session_unknown.to_owned()),
                ip: s.ip.unwrap_or_else(|| t.session_unknown.to_owned()),
                current: s.id == c.session.id,
                revoke_label: t.revoke_label.replace("{when}", &created),
                created,
                created_iso,
                seen,
                seen_iso,
            }
        })
        .collect();
    let csrf = csrf(state, here);
    let main = SessionsPage {
        t,
        csrf: &csrf,
        notice,
        sessions: rows,
    }
    .render();
    render(
        state,
        &here.shop,
        "/account/sessions",
        status,
        t.sessions_title,
        main,
    )
}

/// `GET /account/sessions`.
pub async fn list(State(state): State<AppState>, here: Here) -> Response {
    sessions_page(&state, &here, StatusCode::OK, None).await
}

/// The answer that signs this browser out (its session is already ended).
fn signed_out(here: &Here) -> Response {
    let mut r = see_other("/");
    for v in sign_out_cookies(here.visitor.cookies) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

/// `POST /account/sessions/{id}/revoke`: ends one of the account's
/// sessions; the current one signs this browser out.
pub async fn revoke(State(state): State<AppState>, here: Here, Path(id): Path<String>) -> Response {
    let t = crate::web::i18n::account::get(here.shop.lang);
    let c = match customer_or_sign_in(&here, "/account/sessions") {
        Ok(c) => c.clone(),
        Err(r) => return r.into_response(),
    };
    let Ok(id) = id.parse::<SessionId>() else {
        return WebError::NotFound.render(here.shop.lang);
    };
    match sessions::end(&state.services, c.user.id, id).await {
        Ok(()) if id == c.session.id => signed_out(&here),
        Ok(()) => see_other("/account/sessions"),
        // Another account's, or ended meanwhile: the list as it is now.
        Err(ServiceError::Store(storekeep_store::StoreError::NotFound(_))) => {
            sessions_page(&state, &here, StatusCode::NOT_FOUND, Some(t.session_gone)).await
        }
        Err(e) => WebError::from(e).render(here.shop.lang),
    }
}

/// `POST /account/sessions/revoke-all`: signs out everywhere, here too.
pub async fn revoke_all(State(state): State<AppState>, here: Here) -> Response {
    let c = match customer_or_sign_in(&here, "/account/sessions") {
        Ok(c) => c.clone(),
        Err(r) => return r.into_response(),
    };
    match sessions::end_all(&state.services, c.user.id).await {
        Ok(()) => signed_out(&here),
        Err(e) => WebError::from(e).render(here.shop.lang),
    }
}

/// A TOTP enrolment as the page shows it: the secret to type and the
/// `otpauth://` URI, as text (no QR image: no script, no inline image).
pub struct Enrolment {
    pub secret: String,
    pub uri: String,
}

#[derive(Template)]
#[template(path = "storefront/account_mfa.html")]
struct MfaPage<'a> {
    t: &'a AccountMsgs,
    csrf: &'a str,
    problem: Option<&'a str>,
    enabled: bool,
    enrolment: Option<Enrolment>,
    codes: Vec<String>,
}

fn mfa_page(state: &AppState, here: &Here, status: StatusCode, page: MfaPage<'_>) -> Response {
    let t = page.t;
    render(
        state,
        &here.shop,
        "/account/mfa",
        status,
        t.mfa_title,
        page.render(),
    )
}

/// `GET /account/mfa`: on or off, and the button that starts enrolment.
pub async fn mfa(State(state): State<AppState>, here: Here) -> Response {
    let t = crate::web::i18n::account::get(here.shop.lang);
    let c = match customer_or_sign_in(&here, "/account/mfa") {
        Ok(c) => c,
        Err(r) => return r.into_response(),
    };
    let csrf = csrf(&state, &here);
    let page = MfaPage {
        t,
        csrf: &csrf,
        problem: None,
        enabled: c.user.mfa_enabled(),
        enrolment: None,
        codes: Vec::new(),
    };
    mfa_page(&state, &here, StatusCode::OK, page)
}

/// `POST /account/mfa`: starts enrolment (a new secret, not yet in force)
/// and shows it with the form that confirms it.
pub async fn mfa_start(State(state): State<AppState>, here: Here) -> Response {
    let t = crate::web::i18n::account::get(here.shop.lang);
    let c = match customer_or_sign_in(&here, "/account/mfa") {
        Ok(c) => c,
        Err(r) => return r.into_response(),
    };
    if c.user.mfa_enabled() {
        return see_other("/account/mfa");
    }
    let (secret, uri) = match accounts::totp_enroll(&state.services, &c.user).await {
        Ok(e) => e,
        Err(e) => return WebError::from(e).render(here.shop.lang),
    };
    let csrf = csrf(&state, &here);
    let page = MfaPage {
        t,
        csrf: &csrf,
        problem: None,
        enabled: false,
        enrolment: Some(Enrolment { secret, uri }),
        codes: Vec::new(),
    };
    mfa_page(&state, &here, StatusCode::OK, page)
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    code: String,
}

/// `POST /account/mfa/confirm`: a code from the app turns MFA on and
/// shows the recovery codes once; a wrong code asks to start again.
pub async fn mfa_confirm(
    State(state): State<AppState>,
    here: Here,
    form: Result<Form<ConfirmForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return unreadable(&here.shop);
    };
    let t = crate::web::i18n::account::get(here.shop.lang);
    let c = match customer_or_sign_in(&here, "/account/mfa") {
        Ok(c) => c.clone(),
        Err(r) => return r.into_response(),
    };
    let csrf = csrf(&state, &here);
    let done = sessions::confirm_totp(
        &state.services,
        Some(&here.shop.tenant),
        &c.user,
        c.session.id,
        form.code.trim(),
        &audit_of(&here, &c),
    )
    .await;
    match done {
        Ok(codes) => {
            let page = MfaPage {
                t,
                csrf: &csrf,
                problem: None,
                enabled: true,
                enrolment: None,
                codes,
            };
            mfa_page(&state, &here, StatusCode::OK, page)
        }
        Err(ServiceError::Invalid(_)) => {
            let page = MfaPage {
                t,
                csrf: &csrf,
                problem: Some(t.code_wrong),
                enabled: false,
                enrolment: None,
                codes: Vec::new(),
            };
            mfa_page(&state, &here, StatusCode::UNPROCESSABLE_ENTITY, page)
        }
        Err(e) => WebError::from(e).render(here.shop.lang),
    }
}
