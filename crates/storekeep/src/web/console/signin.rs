//! Console sign-in and sign-out: the storefront's two-step sign-in
//! (`services::sign_in`: the password step, then, for an account with
//! MFA, a server-side challenge the code step answers) for the desk's kind
//! of account — the shop's staff at a shop's host, operators at the
//! platform's. The session is the API's own (`services::accounts`), kept in
//! the console's cookie; sign-out revokes it server-side.

use askama::Template;
use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;
use storekeep_domain::Tenant;

use crate::app::AppState;
use crate::services::accounts::LoginFailure;
use crate::services::sign_in::{self as two_step, CodeFailure, FirstStep};
use crate::web::console::desk::{Desk, SESSION, SIGN_IN, Scope};
use crate::web::console::page;
use crate::web::pages::account::origin_of;
use crate::web::pages::shopper::{local_path, see_other};

#[derive(Debug, Deserialize)]
pub struct Next {
    next: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

#[derive(Debug, Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
}

#[derive(Template)]
#[template(path = "console/signin.html")]
struct SignInPage<'a> {
    heading: &'a str,
    intro: &'a str,
    problem: Option<String>,
    action: String,
    csrf: &'a str,
    code_step: bool,
    email: &'a str,
}

/// Where a finished sign-in goes: a console path only.
fn next_path(q: &Next) -> String {
    let p = local_path(q.next.as_deref());
    if p == "/console" || p.starts_with("/console/") {
        p.to_owned()
    } else {
        "/console".to_owned()
    }
}

fn with_next(path: &str, next: &str) -> String {
    if next == "/console" {
        return path.to_owned();
    }
    let q: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
    format!("{path}?next={q}")
}

fn tenant(desk: &Desk) -> Option<&Tenant> {
    match &desk.scope {
        Scope::Shop(s) => Some(&s.tenant),
        Scope::Platform => None,
    }
}

fn form(
    state: &AppState,
    desk: &Desk,
    status: StatusCode,
    code_step: bool,
    email: &str,
    next: &str,
    problem: Option<String>,
) -> Response {
    let who = match desk.scope {
        Scope::Shop(_) => "Staff of this shop sign in here.",
        Scope::Platform => "Platform operators sign in here.",
    };
    let (heading, intro, path) = if code_step {
        (
            "Enter your code",
            "Your account uses two-factor authentication.",
            "/console/signin/code",
        )
    } else {
        ("Sign in to the console", who, "/console/signin")
    };
    let csrf = desk.csrf(state);
    let main = SignInPage {
        heading,
        intro,
        problem,
        action: with_next(path, next),
        csrf: &csrf,
        code_step,
        email,
    }
    .render();
    page::render(state, desk, path, status, heading, main)
}

fn failure(f: &LoginFailure) -> (StatusCode, String) {
    match f {
        LoginFailure::Locked { retry_after_secs } => (
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "Too many failed sign-ins. Try again in {} seconds.",
                retry_after_secs
            ),
        ),
        _ => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "That email and password do not match an account here.".to_owned(),
        ),
    }
}

/// `GET /console/signin`.
pub async fn page(State(state): State<AppState>, desk: Desk, Query(q): Query<Next>) -> Response {
    let next = next_path(&q);
    if desk.user.is_some() {
        return see_other(&next);
    }
    form(&state, &desk, StatusCode::OK, false, "", &next, None)
}

/// The `303` of a finished sign-in: the session cookie set, the challenge
/// cookie dropped.
fn signed_in(state: &AppState, desk: &Desk, token: &str, next: &str) -> Response {
    let mut r = see_other(next);
    let h = r.headers_mut();
    h.append(
        header::SET_COOKIE,
        desk.cookies.set(
            SESSION,
            token,
            Some(state.services.settings.session_ttl.as_secs()),
        ),
    );
    h.append(header::SET_COOKIE, desk.cookies.clear(SIGN_IN));
    r
}

/// `POST /console/signin`: the password step.
pub async fn submit(
    State(state): State<AppState>,
    desk: Desk,
    Query(q): Query<Next>,
    headers: HeaderMap,
    f: Result<Form<SignInForm>, FormRejection>,
) -> Response {
    let next = next_path(&q);
    let Ok(Form(f)) = f else {
        return page::unreadable_form(&state, &desk);
    };
    let origin = origin_of(&headers, desk.ip.clone());
    let step = two_step::begin(
        &state.services,
        tenant(&desk),
        desk.scope.kind(),
        &f.email,
        &f.password,
        &origin,
    )
    .await;
    match step {
        Ok(FirstStep::SignedIn(ok)) => signed_in(&state, &desk, &ok.token, &next),
        Ok(FirstStep::Challenge { token, .. }) => {
            let mut r = see_other(&with_next("/console/signin/code", &next));
            r.headers_mut().append(
                header::SET_COOKIE,
                desk.cookies.set(
                    SIGN_IN,
                    &token,
                    Some(crate::web::session::SIGN_IN_MAX_AGE_SECS as u64),
                ),
            );
            r
        }
        Err(LoginFailure::Error(e)) => page::error(&state, &desk, e),
        Err(f2) => {
            let (status, text) = failure(&f2);
            form(&state, &desk, status, false, &f.email, &next, Some(text))
        }
    }
}

/// `GET /console/signin/code`.
pub async fn code_page(
    State(state): State<AppState>,
    desk: Desk,
    Query(q): Query<Next>,
) -> Response {
    let next = next_path(&q);
    form(&state, &desk, StatusCode::OK, true, "", &next, None)
}

/// `POST /console/signin/code`: the code step.
pub async fn code(
    State(state): State<AppState>,
    desk: Desk,
    Query(q): Query<Next>,
    headers: HeaderMap,
    f: Result<Form<CodeForm>, FormRejection>,
) -> Response {
    let next = next_path(&q);
    let Ok(Form(f)) = f else {
        return page::unreadable_form(&state, &desk);
    };
    let start_again = |state: &AppState, desk: &Desk| {
        let mut r = form(
            state,
            desk,
            StatusCode::UNPROCESSABLE_ENTITY,
            false,
            "",
            &next,
            Some("That sign-in has expired. Sign in again.".into()),
        );
        r.headers_mut()
            .append(header::SET_COOKIE, desk.cookies.clear(SIGN_IN));
        r
    };
    let Some(token) = desk.cookies.read(&headers, SIGN_IN) else {
        return start_again(&state, &desk);
    };
    let origin = origin_of(&headers, desk.ip.clone());
    let answered = two_step::answer(&state.services, tenant(&desk), token, &f.code, &origin).await;
    match answered {
        Ok(ok) => signed_in(&state, &desk, &ok.token, &next),
        Err(CodeFailure::Error(e)) => page::error(&state, &desk, e),
        Err(CodeFailure::Gone | CodeFailure::Wrong { dead: true }) => start_again(&state, &desk),
        Err(CodeFailure::Locked { retry_after_secs }) => {
            let (status, text) = failure(&LoginFailure::Locked { retry_after_secs });
            form(&state, &desk, status, true, "", &next, Some(text))
        }
        Err(CodeFailure::Wrong { dead: false }) => form(
            &state,
            &desk,
            StatusCode::UNPROCESSABLE_ENTITY,
            true,
            "",
            &next,
            Some("That code is not right. Try the current one.".into()),
        ),
    }
}

/// `POST /console/signout`: the session is revoked server-side and its
/// cookie removed.
pub async fn sign_out(State(state): State<AppState>, desk: Desk) -> Response {
    if let Some(u) = &desk.user
        && let Err(e) =
            crate::services::sessions::end(&state.services, u.user.id, u.session.id).await
    {
        return page::error(&state, &desk, e);
    }
    let mut r = see_other("/console/signin");
    let h = r.headers_mut();
    h.append(header::SET_COOKIE, desk.cookies.clear(SESSION));
    h.append(header::SET_COOKIE, desk.cookies.clear(SIGN_IN));
    r
}
