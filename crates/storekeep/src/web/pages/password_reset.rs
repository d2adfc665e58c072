//! Password reset from the storefront: ask for the link by email
//! (`GET/POST /password-reset`), then choose a new password with the
//! emailed token (`GET/POST /password-reset/confirm?token=…`). The same
//! services as `POST /api/v1/auth/password-reset(/confirm)`: the request
//! answers the same page whether or not the address has an account (the
//! look-up and the email happen after the answer, `accounts::
//! request_reset`), and the confirmation applies the API's password rules,
//! uses the token once, ends every session of the account and lifts its
//! lockout (`accounts::confirm_reset`). Both posts count in the Auth tier
//! (`web::limit`).

use askama::Template;
use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use storekeep_domain::{FieldError, UserKind};

use crate::app::AppState;
use crate::services::{ServiceError, accounts};
use crate::web::WebError;
use crate::web::pages::account::{FormPage, csrf, text_field};
use crate::web::pages::shopper::{Here, render, see_other, unreadable};
use crate::web::session::SESSION;

#[derive(Template)]
#[template(path = "storefront/account_notice.html")]
pub(crate) struct NoticePage<'a> {
    pub title: &'a str,
    pub paragraphs: Vec<String>,
    pub link: &'a str,
    pub link_label: &'a str,
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct AskForm {
    #[serde(default)]
    email: String,
}

fn ask_form(state: &AppState, here: &Here, status: StatusCode, email: &str) -> Response {
    let t = crate::web::i18n::account::get(here.shop.lang);
    let csrf = csrf(state, here);
    let main = FormPage {
        title: t.reset_title,
        intro: Some(t.reset_intro),
        action: "/password-reset".into(),
        csrf: &csrf,
        problem: None,
        fields: vec![text_field("email", t.email, email, "email", "email", &[])],
        submit: t.reset_send,
        other_text: "",
        other_link: "/signin",
        other_label: t.sign_in_title,
        extra_link: None,
        hidden: Vec::new(),
    }
    .render();
    render(
        state,
        &here.shop,
        "/password-reset",
        status,
        t.reset_title,
        main,
    )
}

/// `GET /password-reset`.
pub async fn ask_page(State(state): State<AppState>, here: Here) -> Response {
    let email = here
        .visitor
        .customer
        .as_ref()
        .and_then(|c| accounts::open_account(&state.services.keyring, &c.user).ok())
        .map(|a| a.email)
        .unwrap_or_default();
    ask_form(&state, &here, StatusCode::OK, &email)
}

/// `POST /password-reset`: always the same answer.
pub async fn ask(
    State(state): State<AppState>,
    here: Here,
    form: Result<Form<AskForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return unreadable(&here.shop);
    };
    let t = crate::web::i18n::account::get(here.shop.lang);
    // Answers before the account is even looked up (as the API's 202).
    accounts::request_reset(
        &state.services,
        Some(&here.shop.tenant),
        UserKind::Customer,
        &form.email,
    );
    let main = NoticePage {
        title: t.reset_sent_title,
        paragraphs: vec![t.reset_sent.to_owned()],
        link: "/signin",
        link_label: t.sign_in_title,
    }
    .render();
    render(
        &state,
        &here.shop,
        "/password-reset",
        StatusCode::OK,
        t.reset_sent_title,
        main,
    )
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct TokenQuery {
    token: Option<String>,
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
}

fn confirm_form(
    state: &AppState,
    here: &Here,
    status: StatusCode,
    token: &str,
    errors: &[FieldError],
    problem: Option<String>,
) -> Response {
    let t = crate::web::i18n::account::get(here.shop.lang);
    let csrf = csrf(state, here);
    let main = FormPage {
        title: t.confirm_title,
        intro: Some(t.password_hint),
        action: "/password-reset/confirm".into(),
        csrf: &csrf,
        problem,
        fields: vec![
            text_field(
                "password",
                t.new_password,
                "",
                "password",
                "new-password",
                errors,
            ),
            text_field(
                "password_confirm",
                t.new_password_again,
                "",
                "password",
                "new-password",
                errors,
            ),
        ],
        submit: t.reset_save,
        other_text: "",
        other_link: "/password-reset",
        other_label: t.reset_title,
        extra_link: None,
        hidden: vec![("token", token.to_owned())],
    }
    .render();
    render(
        state,
        &here.shop,
        "/password-reset/confirm",
        status,
        t.confirm_title,
        main,
    )
}

/// Tokens as the emails carry them: base64url after a prefix.
fn plausible(token: &str) -> bool {
    !token.is_empty()
        && token.len() <= 100
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `GET /password-reset/confirm?token=…`: the new-password form (the
/// token is checked when it is used).
pub async fn confirm_page(
    State(state): State<AppState>,
    here: Here,
    Query(q): Query<TokenQuery>,
) -> Response {
    let t = crate::web::i18n::account::get(here.shop.lang);
    let token = q.token.unwrap_or_default();
    if !plausible(token.trim()) {
        return confirm_refused(&state, &here, t.reset_bad_token);
    }
    confirm_form(&state, &here, StatusCode::OK, token.trim(), &[], None)
}

/// A link that cannot work: say so, and offer a new one.
fn confirm_refused(state: &AppState, here: &Here, why: &str) -> Response {
    let t = crate::web::i18n::account::get(here.shop.lang);
    let main = NoticePage {
        title: t.confirm_title,
        paragraphs: vec![why.to_owned()],
        link: "/password-reset",
        link_label: t.reset_title,
    }
    .render();
    render(
        state,
        &here.shop,
        "/password-reset/confirm",
        StatusCode::UNPROCESSABLE_ENTITY,
        t.confirm_title,
        main,
    )
}

/// `POST /password-reset/confirm`: the new password twice; then every
/// session of the account is ended (this browser's cookies dropped too)
/// and the page links to sign in.
pub async fn confirm(
    State(state): State<AppState>,
    here: Here,
    form: Result<Form<ConfirmForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return unreadable(&here.shop);
    };
    let t = crate::web::i18n::account::get(here.shop.lang);
    let token = form.token.trim();
    if !plausible(token) {
        return confirm_refused(&state, &here, t.reset_bad_token);
    }
    if form.password != form.password_confirm {
        let errors = [FieldError {
            field: "password_confirm".into(),
            message: t.passwords_differ.into(),
        }];
        return confirm_form(
            &state,
            &here,
            StatusCode::UNPROCESSABLE_ENTITY,
            token,
            &errors,
            Some(t.problem.to_owned()),
        );
    }
    match accounts::confirm_reset(&state.services, token, &form.password).await {
        Ok(()) => {}
        Err(ServiceError::Invalid(v)) if v.0.iter().any(|e| e.field == "token") => {
            return confirm_refused(&state, &here, t.reset_bad_token);
        }
        Err(ServiceError::Invalid(v)) => {
            return confirm_form(
                &state,
                &here,
                StatusCode::UNPROCESSABLE_ENTITY,
                token,
                &v.0,
                Some(t.problem.to_owned()),
            );
        }
        Err(e) => return WebError::from(e).render(here.shop.lang),
    }
    // A new page, so the layout shows who is (no longer) signed in.
    let mut r = see_other("/password-reset/done");
    // Every session of the account ended server-side; this browser's
    // session cookie goes too (its cart stays).
    if here.visitor.customer.is_some() {
        r.headers_mut()
            .append(header::SET_COOKIE, here.visitor.cookies.clear(SESSION));
    }
    r
}

/// `GET /password-reset/done`: the password is changed; a sign-in link.
pub async fn done(State(state): State<AppState>, here: Here) -> Response {
    let t = crate::web::i18n::account::get(here.shop.lang);
    let main = NoticePage {
        title: t.reset_done_title,
        paragraphs: vec![t.reset_done.to_owned()],
        link: "/signin",
        link_label: t.sign_in,
    }
    .render();
    render(
        &state,
        &here.shop,
        "/password-reset/done",
        StatusCode::OK,
        t.reset_done_title,
        main,
    )
}
