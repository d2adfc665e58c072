//! The signed-in customer's rentals (issue 17): `GET /account/rentals`
//! (their contracts: goods, plan, status, next payment),
//! `GET /account/rentals/{id}` (one contract: the terms as agreed, the
//! schedule paid/due/overdue, payments made, what is left, the buy-out
//! price when the contract has one, the agreement's link, and the "pay
//! this installment" form), `POST /account/rentals/{id}/payments` (pays
//! the next installment through the shop's provider, as
//! `POST /api/v1/store/rentals/{id}/payments` does) and
//! `GET /account/rentals/{id}/document` (the printable agreement, in
//! `rental_document.rs`).
//!
//! Everything goes through the services the API's handlers call
//! (`contracts::own`/`list` by way of `contracts::statement`,
//! `customer_pay::pay`, `end::quote`). A guest is sent
//! to `/signin?next=…`; another customer's contract (or a malformed id) is
//! the 404 page, never a 403 that says it exists.
//!
//! Idempotent pay: each rendering of the pay form carries a fresh hidden
//! `idempotency_key`, passed as the API's `Idempotency-Key`, so a double
//! submit starts one payment and both answers lead back to the contract.

use askama::Template;
use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use storekeep_domain::{
    AuditContext, ContractStatus, InstallmentId, PageRequest, PaymentStatus, RentalContractId,
    RentalPaymentKind,
};

use crate::app::AppState;
use crate::services::checkout;
use crate::services::contracts::statement::{self, CustomerRental, InstallmentState};
use crate::services::contracts::{customer_pay, end};
use crate::web::i18n::Lang;
use crate::web::i18n::rental::{self as msgs, RentalMsgs};
use crate::web::pages::product::disclosure_rows;
use crate::web::pages::shopper::{Here, render, render_with_head, see_other, unreadable};
use crate::web::session::random_id;
use crate::web::shopping::Refused;
use crate::web::{WebError, money};
use crate::wire::contracts::RentalPayBody;

/// Contracts a page of the list shows.
pub const RENTALS_PAGE: u32 = 20;

/// A guest's way in: the sign-in page, back to `path` after.
pub(crate) fn sign_in_first(path: &str) -> Response {
    see_other(&format!("/signin?next={}", path.replace('/', "%2F")))
}

fn status_text(l: &RentalMsgs, s: ContractStatus) -> &'static str {
    match s {
        ContractStatus::Active => l.status_active,
        ContractStatus::Overdue => l.status_overdue,
        ContractStatus::Returned => l.status_returned,
        ContractStatus::BoughtOut => l.status_bought_out,
        ContractStatus::Completed => l.status_completed,
        ContractStatus::Defaulted => l.status_defaulted,
        ContractStatus::Cancelled => l.status_cancelled,
    }
}

fn kind_text(l: &RentalMsgs, k: RentalPaymentKind, seq: Option<i32>) -> String {
    match k {
        RentalPaymentKind::Deposit => l.kind_deposit.into(),
        RentalPaymentKind::Installment => l
            .kind_installment
            .replace("{n}", &seq.map(|s| s.to_string()).unwrap_or_default()),
        RentalPaymentKind::LateFee => l.kind_late_fee.into(),
        RentalPaymentKind::Buyout => l.kind_buyout.into(),
        RentalPaymentKind::DamageCharge => l.kind_damage_charge.into(),
        RentalPaymentKind::DepositRefund => l.kind_deposit_refund.into(),
    }
}

fn fmt(amount: i64, r: &CustomerRental, lang: Lang) -> String {
    money::format(amount, &r.detail.contract.currency, lang)
}

// ---------------------------------------------------------------- the list

pub struct RentalRow {
    pub url: String,
    pub title: String,
    pub plan: String,
    pub status: &'static str,
    pub next: String,
}

#[derive(Template)]
#[template(path = "storefront/rentals.html")]
struct RentalsPage<'a> {
    t: &'a RentalMsgs,
    rows: Vec<RentalRow>,
    next_page: Option<String>,
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct ListQuery {
    after: Option<String>,
}

/// `GET /account/rentals`: the customer's contracts, newest first, 20 a
/// page with a "more" link (keyset cursor, as the API's list).
pub async fn list(
    State(state): State<AppState>,
    here: Here,
    Query(q): Query<ListQuery>,
) -> Response {
    let shop = &here.shop;
    let Some(c) = &here.visitor.customer else {
        return sign_in_first("/account/rentals");
    };
    let l = msgs::get(shop.lang);
    let page = match PageRequest::new(Some(RENTALS_PAGE), q.after.filter(|a| !a.is_empty())) {
        Ok(p) => p,
        Err(m) => return WebError::BadRequest(m).render(shop.lang),
    };
    let found =
        match statement::customer_rentals(&state.services, &shop.tenant, c.user.id, &page).await {
            Ok(f) => f,
            Err(e) => return WebError::from(e).render(shop.lang),
        };
    let rows = found
        .items
        .iter()
        .map(|r| {
            let c = &r.detail.contract;
            RentalRow {
                url: format!("/account/rentals/{}", c.id),
                title: r.title.clone(),
                plan: plan_text(l, r, shop.lang),
                status: status_text(l, c.status),
                next: r.statement.next().map_or_else(
                    || l.none_due.to_owned(),
                    |n| {
                        l.next_payment_value
                            .replace("{amount}", &fmt(n.amount + n.late_fee, r, shop.lang))
                            .replace("{date}", &n.due_date.to_string())
                    },
                ),
            }
        })
        .collect();
    let main = RentalsPage {
        t: l,
        rows,
        next_page: found
            .next_cursor
            .map(|c| format!("/account/rentals?after={c}")),
    }
    .render();
    render(
        &state,
        shop,
        "/account/rentals",
        StatusCode::OK,
        l.rentals_title,
        main,
    )
}

/// "Own it in a year · 12 months at $60.00 / month".
fn plan_text(l: &RentalMsgs, r: &CustomerRental, lang: Lang) -> String {
    let c = &r.detail.contract;
    let terms = format!(
        "{} · {} / {}",
        l.periods(c.terms.term_unit, c.term),
        fmt(c.terms.price_per_period, r, lang),
        l.period(c.terms.term_unit)
    );
    if r.plan_name.is_empty() {
        terms
    } else {
        format!("{} · {terms}", r.plan_name)
    }
}

// ---------------------------------------------------------- one contract

pub struct ScheduleRow {
    pub seq: i32,
    pub due: String,
    pub amount: String,
    pub late_fee: Option<String>,
    pub state: &'static str,
    pub class: &'static str,
}

pub struct PaymentRow {
    pub date: String,
    pub kind: String,
    pub amount: String,
}

pub struct Provider {
    pub code: String,
    pub label: String,
    pub checked: bool,
}

/// The pay form of the next installment.
pub struct PayForm {
    pub installment_id: String,
    pub text: String,
    pub button: String,
    pub key: String,
    pub providers: Vec<Provider>,
}

#[derive(Template)]
#[template(path = "storefront/rental.html")]
struct RentalPage<'a> {
    t: &'a RentalMsgs,
    csrf: &'a str,
    title: String,
    id: String,
    notice: Option<String>,
    problem: Option<String>,
    summary: Vec<(String, String)>,
    buyout: Option<String>,
    pay: Option<PayForm>,
    schedule: Vec<ScheduleRow>,
    payments: Vec<PaymentRow>,
    terms: Vec<(String, String)>,
    schedule_note: String,
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct ShowQuery {
    /// Set by the pay form's redirect: say so once the payment is in.
    paying: Option<String>,
}

pub(crate) fn contract_id(raw: &str) -> Option<RentalContractId> {
    raw.parse().ok()
}

/// `GET /account/rentals/{id}`.
pub async fn show(
    State(state): State<AppState>,
    here: Here,
    Path(raw): Path<String>,
    Query(q): Query<ShowQuery>,
) -> Response {
    rental_page(
        &state,
        &here,
        &raw,
        q.paying.is_some(),
        StatusCode::OK,
        None,
    )
    .await
}

/// The contract page, with `problem` (a refused payment) above it.
async fn rental_page(
    state: &AppState,
    here: &Here,
    raw: &str,
    paying: bool,
    status: StatusCode,
    problem: Option<String>,
) -> Response {
    let shop = &here.shop;
    let lang = shop.lang;
    let path = format!("/account/rentals/{raw}");
    let Some(c) = &here.visitor.customer else {
        return sign_in_first(&path);
    };
    let Some(id) = contract_id(raw) else {
        return WebError::NotFound.render(lang);
    };
    let svc = &state.services;
    let tenant = &shop.tenant;
    let r = match statement::customer_rental(svc, tenant, c.user.id, id).await {
        Ok(r) => r,
        Err(e) => return WebError::from(e).render(lang),
    };
    let attempt = match statement::latest_attempt(svc, tenant, c.user.id, id).await {
        Ok(a) => a,
        Err(e) => return WebError::from(e).render(lang),
    };
    let l = msgs::get(lang);
    let contract = &r.detail.contract;
    let st = &r.statement;
    let m = |a: i64| fmt(a, &r, lang);

    // What became of the newest payment attempt, if the page has news.
    let unpaid = |inst: InstallmentId| {
        st.lines
            .iter()
            .any(|x| x.id == inst && x.state != InstallmentState::Paid)
    };
    let mut awaiting = false;
    let notice = attempt.as_ref().and_then(|a| {
        let n = a.seq.to_string();
        match a.status {
            PaymentStatus::Pending if unpaid(a.installment_id) => {
                awaiting = true;
                Some(l.paying.replace("{n}", &n))
            }
            PaymentStatus::Declined if unpaid(a.installment_id) => {
                Some(l.declined.replace("{n}", &n))
            }
            PaymentStatus::Confirmed | PaymentStatus::Pending
                if paying && !unpaid(a.installment_id) =>
            {
                Some(l.paid_notice.replace("{n}", &n))
            }
            _ => None,
        }
    });

    let count = st.lines.len();
    let pay = st.next().filter(|_| !awaiting).map(|n| {
        let usable = svc.payments.usable(&tenant.settings);
        let tc = crate::web::i18n::checkout::get(lang);
        PayForm {
            installment_id: n.id.to_string(),
            text: l
                .pay_next
                .replace("{n}", &n.seq.to_string())
                .replace("{count}", &count.to_string())
                .replace("{date}", &n.due_date.to_string())
                .replace("{amount}", &m(n.amount + n.late_fee)),
            button: l.pay_button.replace("{amount}", &m(n.amount + n.late_fee)),
            // A fresh key per rendering: the same form posted twice pays
            // once; a form shown again is a new attempt.
            key: random_id(),
            providers: usable
                .iter()
                .enumerate()
                .map(|(i, p)| Provider {
                    code: (*p).to_owned(),
                    label: crate::web::pages::checkout::provider_label(tc, p),
                    checked: i == 0,
                })
                .collect(),
        }
    });

    let mut summary = vec![
        (l.item.to_owned(), r.title.clone()),
        (l.plan.to_owned(), plan_text(l, &r, lang)),
        (
            l.status.to_owned(),
            status_text(l, contract.status).to_owned(),
        ),
        (l.started.to_owned(), contract.start_date.to_string()),
        (l.paid_so_far.to_owned(), m(st.paid)),
    ];
    if matches!(
        contract.status,
        ContractStatus::Active | ContractStatus::Overdue
    ) {
        summary.push((l.left_to_pay.to_owned(), m(st.left)));
    }
    let buyout = end::quote(&r.detail).ok().map(|q| m(q.total.amount));

    let schedule = st
        .lines
        .iter()
        .map(|x| {
            let (state_text, class) = match x.state {
                InstallmentState::Paid => (l.state_paid, "paid"),
                InstallmentState::Due => (l.state_due, "due"),
                InstallmentState::Overdue => (l.state_overdue, "overdue"),
            };
            ScheduleRow {
                seq: x.seq,
                due: x.due_date.to_string(),
                amount: m(x.amount),
                late_fee: (x.late_fee > 0).then(|| l.late_fee.replace("{amount}", &m(x.late_fee))),
                state: state_text,
                class,
            }
        })
        .collect();
    let seq_of = |inst: Option<InstallmentId>| {
        inst.and_then(|i| r.detail.installments.iter().find(|x| x.id == i))
            .map(|x| x.seq)
    };
    let payments = r
        .detail
        .payments
        .iter()
        .map(|p| PaymentRow {
            date: p.created_at.format("%Y-%m-%d").to_string(),
            kind: kind_text(l, p.kind, seq_of(p.installment_id)),
            amount: m(p.amount),
        })
        .collect();
    let d = &r.disclosure;
    let schedule_note = l
        .schedule
        .replace(
            "{first}",
            &d.schedule
                .first()
                .map(|i| i.due_date.to_string())
                .unwrap_or_default(),
        )
        .replace(
            "{last}",
            &d.schedule
                .last()
                .map(|i| i.due_date.to_string())
                .unwrap_or_default(),
        );
    let csrf = crate::web::csrf::visitor_token(&svc.keyring, &here.visitor);
    // The order line's title already says it is a rental and on which plan
    // ("… — rental: Own it in a year").
    let title = r.title.clone();
    let main = RentalPage {
        t: l,
        csrf: &csrf,
        title: title.clone(),
        id: contract.id.to_string(),
        notice,
        problem,
        summary,
        buyout,
        pay,
        schedule,
        payments,
        terms: disclosure_rows(d, &contract.currency, lang),
        schedule_note,
    }
    .render();
    // While a payment awaits its provider the page reloads itself (no
    // script), as the order page does.
    let head = if awaiting {
        "<meta http-equiv=\"refresh\" content=\"3\">"
    } else {
        ""
    };
    let path = format!("/account/rentals/{}", contract.id);
    render_with_head(state, shop, &path, status, &title, head, main)
}

// ------------------------------------------------------------- paying

/// The pay form.
#[derive(Debug, Default, serde::Deserialize)]
pub struct PayFormInput {
    #[serde(default)]
    idempotency_key: String,
    #[serde(default)]
    installment_id: String,
    #[serde(default)]
    payment_provider: String,
    /// The `test` provider's simulated outcome (`confirm`, `decline`), as
    /// the API takes it; the page never renders it.
    #[serde(default)]
    test_outcome: String,
}

fn optional(s: &str) -> Option<String> {
    Some(s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// `POST /account/rentals/{id}/payments`: starts the payment of the next
/// installment → `303` back to the contract (which shows it awaiting the
/// provider, then paid); a refusal (nothing due, a payment already
/// awaiting its provider, an unusable provider) is the contract page again
/// with the reason (409, 422).
pub async fn pay(
    State(state): State<AppState>,
    here: Here,
    Path(raw): Path<String>,
    form: Result<Form<PayFormInput>, FormRejection>,
) -> Response {
    let shop = &here.shop;
    let Some(c) = &here.visitor.customer else {
        return sign_in_first(&format!("/account/rentals/{raw}"));
    };
    let Some(id) = contract_id(&raw) else {
        return WebError::NotFound.render(shop.lang);
    };
    let Ok(Form(form)) = form else {
        return unreadable(shop);
    };
    let key = match checkout::parse_key(Some(form.idempotency_key.as_str())) {
        Ok(k) => k,
        Err(e) => {
            return refusal(&state, &here, &raw, Refused::from(e)).await;
        }
    };
    let installment_id = match optional(&form.installment_id).map(|i| i.parse()) {
        None => None,
        Some(Ok(i)) => Some(i),
        // Not an id: no installment of this contract.
        Some(Err(_)) => return WebError::NotFound.render(shop.lang),
    };
    let body = RentalPayBody {
        installment_id,
        payment_provider: optional(&form.payment_provider),
        test_outcome: optional(&form.test_outcome),
    };
    let audit = AuditContext {
        actor: format!("customer:{}", c.user.id),
        ip: here.ip.clone(),
        request_id: None,
    };
    match customer_pay::pay(
        &state.services,
        &shop.tenant,
        c.user.id,
        id,
        &body,
        Some(key),
        &audit,
    )
    .await
    {
        Ok(_) => see_other(&format!("/account/rentals/{id}?paying=1")),
        Err(e) => refusal(&state, &here, &raw, Refused::from(e)).await,
    }
}

/// A refused payment: the contract page with the reason, or the error
/// page for a fault or a contract that is not the customer's.
async fn refusal(state: &AppState, here: &Here, raw: &str, r: Refused) -> Response {
    let lang = here.shop.lang;
    let refused = |detail: String| msgs::get(lang).refused.replace("{detail}", &detail);
    let (status, detail) = match r {
        Refused::Fields(errors) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            errors
                .iter()
                .map(|e| format!("{}: {}", e.field.replace('_', " "), e.message))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        Refused::Conflict { detail, errors } => {
            let more: Vec<String> = errors.iter().map(|e| e.message.clone()).collect();
            let d = if more.is_empty() {
                detail
            } else {
                format!("{detail}: {}", more.join("; "))
            };
            (StatusCode::CONFLICT, d)
        }
        Refused::NotFound => return WebError::NotFound.render(lang),
        Refused::Fault(e) => return WebError::from(e).render(lang),
    };
    rental_page(state, here, raw, false, status, Some(refused(detail))).await
}
