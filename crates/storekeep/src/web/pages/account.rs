//! Sign in (with the TOTP step for accounts with MFA), sign up, sign out
//! and the account page — the account entry a customer needs to check out
//! signed in. Each goes through the services the API's `/api/v1/auth/*`
//! uses (`sign_in::begin`/`answer` over `accounts::check_password` and
//! `finish_login`, `accounts::create_account`, `sessions::end`), so
//! lockout, MFA and sessions behave as there.
//!
//! MFA: the password step (`services::sign_in::begin`), when the account
//! needs a code, makes a pending challenge server-side and keeps only its
//! random token in the short-lived `sk_signin` cookie (see `web::session`);
//! the code step answers it (`services::sign_in::answer`): bound to the
//! shop and the account, five minutes, single use, a bounded number of
//! codes, each counted against the account's lockout as the API's are.
//! No password is kept between the steps.

use askama::Template;
use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use storekeep_domain::{FieldError, UserKind};

use crate::app::AppState;
use crate::services::accounts::{self, LoginFailure, Origin};
use crate::services::sessions;
use crate::services::sign_in::{self as two_step, CodeFailure, FirstStep};
use crate::web::WebError;
use crate::web::i18n::account::AccountMsgs;
use crate::web::pages::checkout::FieldRow;
use crate::web::pages::shopper::{Here, local_path, render, see_other, unreadable};
use crate::web::session::{self, SIGN_IN, SIGN_IN_MAX_AGE_SECS, sign_in_cookie, sign_out_cookies};
use crate::web::shopping::message_for;
use crate::wire::accounts::NewAccountInput;

/// A one-form page (sign-in, sign-up, the code step, password reset).
#[derive(Template)]
#[template(path = "storefront/account_form.html")]
pub(crate) struct FormPage<'a> {
    pub title: &'a str,
    pub intro: Option<&'a str>,
    pub action: String,
    pub csrf: &'a str,
    pub problem: Option<String>,
    pub fields: Vec<FieldRow>,
    pub submit: &'a str,
    pub other_text: &'a str,
    pub other_link: &'a str,
    pub other_label: &'a str,
    /// A second link under the form (`href`, label).
    pub extra_link: Option<(&'a str, &'a str)>,
    /// Hidden fields besides `csrf` (name, value).
    pub hidden: Vec<(&'static str, String)>,
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct Next {
    next: Option<String>,
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct SignUpForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    name: String,
}

pub(crate) fn csrf(state: &AppState, here: &Here) -> String {
    crate::web::csrf::visitor_token(&state.services.keyring, &here.visitor)
}

pub(crate) fn with_next(path: &str, next: &str) -> String {
    if next == "/" {
        path.to_owned()
    } else {
        let q: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("next", next)
            .finish();
        format!("{path}?{q}")
    }
}

pub(crate) fn text_field(
    name: &'static str,
    label: &'static str,
    value: &str,
    kind: &'static str,
    autocomplete: &'static str,
    errors: &[FieldError],
) -> FieldRow {
    FieldRow {
        name,
        label,
        value: value.to_owned(),
        kind,
        autocomplete,
        required: true,
        error: message_for(errors, name).map(str::to_owned),
    }
}

fn sign_in_form(
    state: &AppState,
    here: &Here,
    status: StatusCode,
    email: &str,
    next: &str,
    problem: Option<String>,
) -> Response {
    let t = crate::web::i18n::account::get(here.shop.lang);
    let csrf = csrf(state, here);
    let main = FormPage {
        intro: None,
        title: t.sign_in_title,
        action: with_next("/signin", next),
        csrf: &csrf,
        problem,
        fields: vec![
            text_field("email", t.email, email, "email", "email", &[]),
            text_field(
                "password",
                t.password,
                "",
                "password",
                "current-password",
                &[],
            ),
        ],
        submit: t.sign_in,
        other_text: t.no_account,
        other_link: "/signup",
        other_label: t.sign_up,
        extra_link: Some(("/password-reset", t.forgot)),
        hidden: Vec::new(),
    }
    .render();
    render(state, &here.shop, "/signin", status, t.sign_in_title, main)
}

pub async fn sign_in_page(
    State(state): State<AppState>,
    here: Here,
    Query(q): Query<Next>,
) -> Response {
    let next = local_path(q.next.as_deref()).to_owned();
    sign_in_form(&state, &here, StatusCode::OK, "", &next, None)
}

pub(crate) fn origin_of(headers: &HeaderMap, parts_ip: Option<String>) -> Origin {
    Origin {
        ip: parts_ip,
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        request_id: None,
    }
}

/// What a failed sign-in shows.
pub(crate) fn failure_text(t: &AccountMsgs, f: &LoginFailure) -> String {
    match f {
        LoginFailure::Locked { retry_after_secs } => {
            t.locked.replace("{secs}", &retry_after_secs.to_string())
        }
        _ => t.wrong.to_owned(),
    }
}

/// The `303` of a finished sign-in: the session cookie set, the pending
/// challenge's cookie dropped.
fn signed_in(state: &AppState, here: &Here, token: &str, next: &str) -> Response {
    let mut r = see_other(next);
    let h = r.headers_mut();
    h.append(
        header::SET_COOKIE,
        sign_in_cookie(&state.services, here.visitor.cookies, token),
    );
    h.append(header::SET_COOKIE, here.visitor.cookies.clear(SIGN_IN));
    r
}

pub async fn sign_in(
    State(state): State<AppState>,
    here: Here,
    Query(q): Query<Next>,
    headers: HeaderMap,
    form: Result<Form<SignInForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return unreadable(&here.shop);
    };
    let next = local_path(q.next.as_deref()).to_owned();
    let t = crate::web::i18n::account::get(here.shop.lang);
    let origin = origin_of(&headers, here.ip.clone());
    let step = two_step::begin(
        &state.services,
        Some(&here.shop.tenant),
        storekeep_domain::UserKind::Customer,
        &form.email,
        &form.password,
        &origin,
    )
    .await;
    match step {
        Ok(FirstStep::SignedIn(ok)) => signed_in(&state, &here, &ok.token, &next),
        Ok(FirstStep::Challenge { token, .. }) => {
            let mut r = see_other(&with_next("/signin/code", &next));
            r.headers_mut().append(
                header::SET_COOKIE,
                here.visitor
                    .cookies
                    .set(SIGN_IN, &token, Some(SIGN_IN_MAX_AGE_SECS as u64)),
            );
            r
        }
        Err(LoginFailure::Error(e)) => WebError::from(e).render(here.shop.lang),
        Err(f) => {
            let status = match f {
                LoginFailure::Locked { .. } => StatusCode::TOO_MANY_REQUESTS,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            sign_in_form(
                &state,
                &here,
                status,
                &form.email,
                &next,
                Some(failure_text(t, &f)),
            )
        }
    }
}

fn code_form(
    state: &AppState,
    here: &Here,
    status: StatusCode,
    next: &str,
    problem: Option<String>,
) -> Response {
    let t = crate::web::i18n::account::get(here.shop.lang);
    let csrf = csrf(state, here);
    let main = FormPage {
        intro: None,
        title: t.code_title,
        action: with_next("/signin/code", next),
        csrf: &csrf,
        problem,
        fields: vec![text_field("code", t.code, "", "text", "one-time-code", &[])],
        submit: t.verify,
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
        "/signin/code",
        status,
        t.code_title,
        main,
    )
}

pub async fn code_page(
    State(state): State<AppState>,
    here: Here,
    Query(q): Query<Next>,
) -> Response {
    let next = local_path(q.next.as_deref()).to_owned();
    code_form(&state, &here, StatusCode::OK, &next, None)
}

pub async fn code(
    State(state): State<AppState>,
    here: Here,
    Query(q): Query<Next>,
    headers: HeaderMap,
    form: Result<Form<CodeForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return unreadable(&here.shop);
    };
    let next = local_path(q.next.as_deref()).to_owned();
    let t = crate::web::i18n::account::get(here.shop.lang);
    let start_again = |state: &AppState, here: &Here| {
        let mut r = sign_in_form(
            state,
            here,
            StatusCode::UNPROCESSABLE_ENTITY,
            "",
            &next,
            Some(t.code_expired.to_owned()),
        );
        r.headers_mut()
            .append(header::SET_COOKIE, here.visitor.cookies.clear(SIGN_IN));
        r
    };
    let Some(token) = here.visitor.cookies.read(&headers, SIGN_IN) else {
        return start_again(&state, &here);
    };
    let origin = origin_of(&headers, here.ip.clone());
    let answered = two_step::answer(
        &state.services,
        Some(&here.shop.tenant),
        token,
        &form.code,
        &origin,
    )
    .await;
    match answered {
        Ok(ok) => signed_in(&state, &here, &ok.token, &next),
        Err(CodeFailure::Error(e)) => WebError::from(e).render(here.shop.lang),
        Err(CodeFailure::Gone | CodeFailure::Wrong { dead: true }) => start_again(&state, &here),
        Err(CodeFailure::Locked { retry_after_secs }) => code_form(
            &state,
            &here,
            StatusCode::TOO_MANY_REQUESTS,
            &next,
            Some(failure_text(t, &LoginFailure::Locked { retry_after_secs })),
        ),
        Err(CodeFailure::Wrong { dead: false }) => code_form(
            &state,
            &here,
            StatusCode::UNPROCESSABLE_ENTITY,
            &next,
            Some(t.code_wrong.to_owned()),
        ),
    }
}

fn sign_up_form(
    state: &AppState,
    here: &Here,
    status: StatusCode,
    form: &SignUpForm,
    errors: &[FieldError],
    problem: Option<String>,
) -> Response {
    let t = crate::web::i18n::account::get(here.shop.lang);
    let csrf = csrf(state, here);
    let mut name = text_field("name", t.name, &form.name, "text", "name", errors);
    name.required = false;
    let password = text_field(
        "password",
        t.password,
        "",
        "password",
        "new-password",
        errors,
    );
    let main = FormPage {
        intro: None,
        title: t.sign_up_title,
        action: "/signup".into(),
        csrf: &csrf,
        problem,
        fields: vec![
            text_field("email", t.email, &form.email, "email", "email", errors),
            password,
            name,
        ],
        submit: t.sign_up,
        other_text: t.have_account,
        other_link: "/signin",
        other_label: t.sign_in,
        extra_link: None,
        hidden: Vec::new(),
    }
    .render();
    render(state, &here.shop, "/signup", status, t.sign_up_title, main)
}

pub async fn sign_up_page(State(state): State<AppState>, here: Here) -> Response {
    sign_up_form(
        &state,
        &here,
        StatusCode::OK,
        &SignUpForm::default(),
        &[],
        None,
    )
}

/// Creates the account and signs the browser in with it.
pub async fn sign_up(
    State(state): State<AppState>,
    here: Here,
    headers: HeaderMap,
    form: Result<Form<SignUpForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return unreadable(&here.shop);
    };
    let t = crate::web::i18n::account::get(here.shop.lang);
    let input = NewAccountInput {
        email: form.email.clone(),
        password: form.password.clone(),
        name: Some(form.name.clone()).filter(|n| !n.trim().is_empty()),
        phone: None,
    };
    let created = accounts::create_account(
        &state.services,
        Some(here.shop.tenant.id),
        UserKind::Customer,
        None,
        &input,
        None,
    )
    .await;
    match created {
        Ok(_) => {}
        Err(crate::services::ServiceError::Invalid(v)) => {
            return sign_up_form(
                &state,
                &here,
                StatusCode::UNPROCESSABLE_ENTITY,
                &form,
                &v.0,
                Some(t.problem.to_owned()),
            );
        }
        Err(crate::services::ServiceError::Store(storekeep_store::StoreError::Conflict {
            ..
        })) => {
            return sign_up_form(
                &state,
                &here,
                StatusCode::CONFLICT,
                &form,
                &[],
                Some(t.taken.to_owned()),
            );
        }
        Err(e) => return WebError::from(e).render(here.shop.lang),
    }
    let origin = origin_of(&headers, here.ip.clone());
    let step = two_step::begin(
        &state.services,
        Some(&here.shop.tenant),
        storekeep_domain::UserKind::Customer,
        &form.email,
        &form.password,
        &origin,
    )
    .await;
    match step {
        Ok(FirstStep::SignedIn(ok)) => signed_in(&state, &here, &ok.token, "/"),
        Err(LoginFailure::Error(e)) => WebError::from(e).render(here.shop.lang),
        _ => see_other("/signin"),
    }
}

/// Ends the session server-side and drops the browser's session and cart
/// cookies.
pub async fn sign_out(State(state): State<AppState>, here: Here) -> Response {
    if let Some(c) = &here.visitor.customer
        && let Err(e) = sessions::end(&state.services, c.user.id, c.session.id).await
    {
        return WebError::from(e).render(here.shop.lang);
    }
    let mut r = see_other("/");
    for v in sign_out_cookies(here.visitor.cookies) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

#[derive(Template)]
#[template(path = "storefront/account.html")]
struct AccountPage<'a> {
    t: &'a AccountMsgs,
    csrf: &'a str,
    signed_in_as: String,
    orders: Vec<OrderRow>,
}

/// One of the customer's orders in the account page's list.
pub struct OrderRow {
    pub url: String,
    pub title: String,
    pub date: String,
    pub status: String,
    pub total: String,
}

/// Orders the account page lists (the newest).
pub const ACCOUNT_ORDERS: u32 = 20;

/// The account page: who is signed in, and the sign-out form.
pub async fn page(State(state): State<AppState>, here: Here) -> Response {
    let t = crate::web::i18n::account::get(here.shop.lang);
    let Some(c) = &here.visitor.customer else {
        return see_other("/signin?next=%2Faccount");
    };
    let name = session::display_name(&state.services.keyring, &c.user);
    let csrf = csrf(&state, &here);
    let filter = storekeep_domain::OrderFilter {
        customer_id: Some(c.user.id),
        ..Default::default()
    };
    let page = storekeep_domain::PageRequest {
        limit: ACCOUNT_ORDERS,
        after: None,
    };
    let found = match crate::services::orders::list(
        &state.services,
        &here.shop.tenant,
        &filter,
        &page,
        crate::services::orders::Audience::Customer,
    )
    .await
    {
        Ok(f) => f,
        Err(e) => return WebError::from(e).render(here.shop.lang),
    };
    let tk = crate::web::i18n::checkout::get(here.shop.lang);
    let orders = found
        .items
        .iter()
        .map(|o| OrderRow {
            url: format!("/orders/{}", o.id),
            title: tk.order_title.replace("{id}", &o.id.to_string()),
            date: o.created_at.format("%Y-%m-%d").to_string(),
            status: crate::web::pages::checkout::status_text(tk, o.status).to_owned(),
            total: crate::web::money::format(o.total.amount, &o.total.currency, here.shop.lang),
        })
        .collect();
    let main = AccountPage {
        t,
        csrf: &csrf,
        signed_in_as: t.signed_in_as.replace("{name}", &name),
        orders,
    }
    .render();
    render(
        &state,
        &here.shop,
        "/account",
        StatusCode::OK,
        t.account_title,
        main,
    )
}

/// The signed-in customer, or (for a guest) [`SignInFirst`]: the answer
/// that sends them to sign in and come back to `path`.
pub(crate) fn customer_or_sign_in<'a>(
    here: &'a Here,
    path: &str,
) -> Result<&'a session::Customer, SignInFirst> {
    here.visitor
        .customer
        .as_ref()
        .ok_or_else(|| SignInFirst(with_next("/signin", path)))
}

/// A guest on a signed-in page: `303` to the sign-in page (its `Location`).
pub(crate) struct SignInFirst(String);

impl axum::response::IntoResponse for SignInFirst {
    fn into_response(self) -> Response {
        see_other(&self.0)
    }
}

/// Who acts, as the audit log records a signed-in customer's action.
pub(crate) fn audit_of(here: &Here, c: &session::Customer) -> storekeep_domain::AuditContext {
    storekeep_domain::AuditContext {
        actor: format!("{}:{}", c.user.kind.as_str(), c.user.id),
        ip: here.ip.clone(),
        request_id: here.request_id.clone(),
    }
}
