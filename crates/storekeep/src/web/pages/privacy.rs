//! The customer's rights from the storefront (`/account/privacy`):
//! "Download my data" — the API's export (`privacy::export`, audited as
//! `customer.data_exported`), the same JSON document as `GET
//! /api/v1/store/account/export`, sent as an attachment — and "Erase my
//! account" — a confirmation step asking for the password again (and a
//! code when MFA is on), as `POST /api/v1/store/account/erase` requires,
//! then `privacy::erase_own` (throttled per account, refused while orders
//! are open), every session ended, this browser signed out, and a page
//! saying what is kept of the orders. Both are posts behind the CSRF
//! guard: the export writes an audit entry, so a link from another site
//! must not trigger it.

use askama::Template;
use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::services::ServiceError;
use crate::services::accounts::LoginFailure;
use crate::services::privacy::{self, Requester};
use crate::web::WebError;
use crate::web::i18n::account::AccountMsgs;
use crate::web::pages::account::{FormPage, audit_of, csrf, customer_or_sign_in, text_field};
use crate::web::pages::password_reset::NoticePage;
use crate::web::pages::shopper::{Here, render, see_other, unreadable};
use crate::web::session::sign_out_cookies;
use crate::wire::privacy::CustomerExportBody;

#[derive(Template)]
#[template(path = "storefront/account_privacy.html")]
struct PrivacyPage<'a> {
    t: &'a AccountMsgs,
    csrf: &'a str,
}

/// `GET /account/privacy`.
pub async fn page(State(state): State<AppState>, here: Here) -> Response {
    let t = crate::web::i18n::account::get(here.shop.lang);
    if let Err(r) = customer_or_sign_in(&here, "/account/privacy") {
        return r.into_response();
    }
    let csrf = csrf(&state, &here);
    let main = PrivacyPage { t, csrf: &csrf }.render();
    render(
        &state,
        &here.shop,
        "/account/privacy",
        StatusCode::OK,
        t.privacy_title,
        main,
    )
}

/// `POST /account/privacy/export`: the export as a JSON download.
pub async fn export(State(state): State<AppState>, here: Here) -> Response {
    let c = match customer_or_sign_in(&here, "/account/privacy") {
        Ok(c) => c.clone(),
        Err(r) => return r.into_response(),
    };
    let export = match privacy::export(
        &state.services,
        &here.shop.tenant,
        c.user.id,
        Requester::Customer,
        &audit_of(&here, &c),
    )
    .await
    {
        Ok(e) => e,
        Err(e) => return WebError::from(e).render(here.shop.lang),
    };
    let body = match serde_json::to_vec_pretty(&CustomerExportBody { export }) {
        Ok(b) => b,
        Err(e) => return WebError::Internal(format!("the export: {e}")).render(here.shop.lang),
    };
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let name = format!(
        "attachment; filename=\"{}-account-data.json\"",
        here.shop.tenant.slug.as_str()
    );
    if let Ok(v) = HeaderValue::from_str(&name) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct EraseForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    code: String,
}

fn erase_form(
    state: &AppState,
    here: &Here,
    status: StatusCode,
    mfa: bool,
    problem: Option<String>,
) -> Response {
    let t = crate::web::i18n::account::get(here.shop.lang);
    let csrf = csrf(state, here);
    let mut fields = vec![text_field(
        "password",
        t.password,
        "",
        "password",
        "current-password",
        &[],
    )];
    if mfa {
        fields.push(text_field("code", t.code, "", "text", "one-time-code", &[]));
    }
    let main = FormPage {
        title: t.erase_title,
        intro: Some(t.erase_confirm_intro),
        action: "/account/privacy/erase".into(),
        csrf: &csrf,
        problem,
        fields,
        submit: t.erase_button,
        other_text: "",
        other_link: "/account/privacy",
        other_label: t.privacy_title,
        extra_link: None,
        hidden: Vec::new(),
    }
    .render();
    render(
        state,
        &here.shop,
        "/account/privacy/erase",
        status,
        t.erase_title,
        main,
    )
}

/// `GET /account/privacy/erase`: the confirmation step.
pub async fn erase_page(State(state): State<AppState>, here: Here) -> Response {
    let c = match customer_or_sign_in(&here, "/account/privacy/erase") {
        Ok(c) => c,
        Err(r) => return r.into_response(),
    };
    let mfa = c.user.mfa_enabled();
    erase_form(&state, &here, StatusCode::OK, mfa, None)
}

/// `POST /account/privacy/erase`: the password again (and a code with
/// MFA), then the erasure; this browser is signed out.
pub async fn erase(
    State(state): State<AppState>,
    here: Here,
    form: Result<Form<EraseForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return unreadable(&here.shop);
    };
    let t = crate::web::i18n::account::get(here.shop.lang);
    let c = match customer_or_sign_in(&here, "/account/privacy/erase") {
        Ok(c) => c.clone(),
        Err(r) => return r.into_response(),
    };
    let mfa = c.user.mfa_enabled();
    let code = Some(form.code.trim()).filter(|c| !c.is_empty());
    let done = privacy::erase_own(
        &state.services,
        &here.shop.tenant,
        &c.user,
        &form.password,
        code,
        &audit_of(&here, &c),
    )
    .await;
    let erasure = match done {
        Ok(e) => e,
        Err(LoginFailure::Locked { retry_after_secs }) => {
            let text = t.locked.replace("{secs}", &retry_after_secs.to_string());
            return erase_form(
                &state,
                &here,
                StatusCode::TOO_MANY_REQUESTS,
                mfa,
                Some(text),
            );
        }
        Err(LoginFailure::MfaRequired) => {
            let text = t.erase_code_needed.to_owned();
            return erase_form(
                &state,
                &here,
                StatusCode::UNPROCESSABLE_ENTITY,
                mfa,
                Some(text),
            );
        }
        Err(LoginFailure::Error(ServiceError::Conflict { .. })) => {
            let text = t.erase_blocked.to_owned();
            return erase_form(&state, &here, StatusCode::CONFLICT, mfa, Some(text));
        }
        Err(LoginFailure::Error(e)) => return WebError::from(e).render(here.shop.lang),
        Err(LoginFailure::Invalid) => {
            let text = t.erase_wrong.to_owned();
            return erase_form(
                &state,
                &here,
                StatusCode::UNPROCESSABLE_ENTITY,
                mfa,
                Some(text),
            );
        }
    };
    // A new page, so the layout shows a signed-out visitor.
    let mut r = see_other(&format!("/account/erased?orders={}", erasure.orders));
    for v in sign_out_cookies(here.visitor.cookies) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct ErasedQuery {
    orders: Option<u64>,
}

/// `GET /account/erased`: what the erasure did and what is kept of the
/// orders (the count is the erasure's, passed along by its redirect).
pub async fn erased(
    State(state): State<AppState>,
    here: Here,
    Query(q): Query<ErasedQuery>,
) -> Response {
    let t = crate::web::i18n::account::get(here.shop.lang);
    let mut paragraphs = vec![t.erased_text.to_owned()];
    if let Some(n) = q.orders.filter(|n| *n > 0) {
        paragraphs.push(t.erased_orders.replace("{n}", &n.to_string()));
    }
    let main = NoticePage {
        title: t.erased_title,
        paragraphs,
        link: "/",
        link_label: crate::web::i18n::layout::get(here.shop.lang).home,
    }
    .render();
    render(
        &state,
        &here.shop,
        "/account/erased",
        StatusCode::OK,
        t.erased_title,
        main,
    )
}
