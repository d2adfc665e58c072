//! `/checkout`: the checkout form (guest or signed in: email, address,
//! shipping method, payment provider among those the shop accepts and this
//! server offers) and placing the order; `/orders/{id}`: the order's
//! confirmation and status.
//!
//! Idempotent submit: each rendering of the form carries a fresh hidden
//! `idempotency_key`, sent as the API's `Idempotency-Key`, so the same form
//! submitted twice (a double click, a reload of the post) makes one order
//! and both answers lead to it. A guest reaches the order page through a
//! link keyed for that order (`?k=`, a MAC under a key of its own; the
//! confirmation redirect carries it), or while the cart cookie still names
//! the order's cart; a signed-in customer through their session. Any
//! other visitor gets a 404, never another's order.

use askama::Template;
use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use storekeep_domain::{FieldError, OrderDetail, OrderStatus, PaymentStatus};

use crate::app::AppState;
use crate::services::accounts;
use crate::web::WebError;
use crate::web::i18n::checkout::CheckoutMsgs;
use crate::web::i18n::{Lang, cart::CartMsgs};
use crate::web::money;
use crate::web::pages::cart::{LineRow, TotalRow};
use crate::web::pages::shopper::{
    Here, render, render_with_head, see_other, status_of, unreadable,
};
use crate::web::session::random_id;
use crate::web::shopping::{self, CheckoutForm, Refused, message_for, order_key};

/// A text field of a form, with its problem.
pub struct FieldRow {
    pub name: &'static str,
    pub label: &'static str,
    pub value: String,
    pub kind: &'static str,
    pub autocomplete: &'static str,
    pub required: bool,
    pub error: Option<String>,
}

pub struct Choice {
    pub code: String,
    pub label: String,
    pub checked: bool,
}

#[derive(Template)]
#[template(path = "storefront/checkout.html")]
struct CheckoutPage<'a> {
    t: &'a CheckoutMsgs,
    csrf: &'a str,
    key: String,
    errors: Vec<FieldError>,
    problem: Option<String>,
    contact: Vec<FieldRow>,
    address: Vec<FieldRow>,
    shipping: Vec<Choice>,
    payment: Vec<Choice>,
    lines: Vec<LineRow>,
    totals: Vec<TotalRow>,
}

impl CheckoutPage<'_> {
    /// The message for a form field, if it has one.
    fn err(&self, field: &str) -> Option<&str> {
        message_for(&self.errors, field)
    }
}

pub fn provider_label(t: &CheckoutMsgs, code: &str) -> String {
    match code {
        "manual" => t.provider_manual.into(),
        "test" => t.provider_test.into(),
        other => other.into(),
    }
}

async fn checkout_page(
    state: &AppState,
    here: &Here,
    status: StatusCode,
    mut form: CheckoutForm,
    errors: Vec<FieldError>,
    problem: Option<String>,
) -> Response {
    let shop = &here.shop;
    let svc = &state.services;
    let t = crate::web::i18n::checkout::get(shop.lang);
    let tc = crate::web::i18n::cart::get(shop.lang);
    let cart = match shopping::open_cart(svc, &here.visitor).await {
        Ok(c) => c,
        Err(e) => return WebError::from(e).render(shop.lang),
    };
    let Some(cart) = cart else {
        let main = CheckoutEmpty { t }.render();
        return render(state, shop, "/checkout", StatusCode::OK, t.title, main);
    };
    if form.email.is_empty()
        && let Some(c) = &here.visitor.customer
        && let Ok(a) = accounts::open_account(&svc.keyring, &c.user)
    {
        form.email = a.email;
        if form.name.is_empty() {
            form.name = a.name.unwrap_or_default();
        }
    }
    let settings = &shop.tenant.settings;
    let currency = &settings.currency;
    let methods = &settings.shipping_methods;
    let shipping = methods
        .iter()
        .enumerate()
        .map(|(i, m)| Choice {
            code: m.code.clone(),
            label: format!(
                "{} ({})",
                m.name,
                money::format(m.price, currency, shop.lang)
            ),
            checked: form.shipping_method == m.code || (form.shipping_method.is_empty() && i == 0),
        })
        .collect();
    let usable = svc.payments.usable(settings);
    let payment = usable
        .iter()
        .enumerate()
        .map(|(i, p)| Choice {
            code: (*p).to_owned(),
            label: provider_label(t, p),
            checked: form.payment_provider == *p || (form.payment_provider.is_empty() && i == 0),
        })
        .collect();
    let (lines, totals) = crate::web::pages::cart::rows(&cart, shop.lang, tc);
    let row = |name: &'static str,
               label: &'static str,
               value: &str,
               kind: &'static str,
               autocomplete: &'static str,
               required: bool| FieldRow {
        name,
        label,
        value: value.to_owned(),
        kind,
        autocomplete,
        required,
        error: message_for(&errors, name).map(str::to_owned),
    };
    let f = &form;
    let contact = vec![row("email", t.email, &f.email, "email", "email", true)];
    let address = vec![
        row("name", t.name, &f.name, "text", "name", true),
        row("line1", t.line1, &f.line1, "text", "address-line1", true),
        row("line2", t.line2, &f.line2, "text", "address-line2", false),
        row("city", t.city, &f.city, "text", "address-level2", true),
        row(
            "region",
            t.region,
            &f.region,
            "text",
            "address-level1",
            false,
        ),
        row(
            "postal_code",
            t.postal_code,
            &f.postal_code,
            "text",
            "postal-code",
            true,
        ),
        row("country", t.country, &f.country, "text", "country", true),
        row("phone", t.phone, &f.phone, "tel", "tel", false),
    ];
    let csrf = crate::web::csrf::visitor_token(&svc.keyring, &here.visitor);
    let main = CheckoutPage {
        t,
        csrf: &csrf,
        // A fresh key per rendering: a form shown again after a problem is
        // a new checkout attempt.
        key: random_id(),
        errors,
        contact,
        address,
        problem,
        shipping,
        payment,
        lines,
        totals,
    }
    .render();
    render(state, shop, "/checkout", status, t.title, main)
}

#[derive(Template)]
#[template(path = "storefront/checkout_empty.html")]
struct CheckoutEmpty<'a> {
    t: &'a CheckoutMsgs,
}

pub async fn show(State(state): State<AppState>, here: Here) -> Response {
    checkout_page(
        &state,
        &here,
        StatusCode::OK,
        CheckoutForm::default(),
        Vec::new(),
        None,
    )
    .await
}

pub async fn place(
    State(state): State<AppState>,
    here: Here,
    form: Result<Form<CheckoutForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return unreadable(&here.shop);
    };
    let t = crate::web::i18n::checkout::get(here.shop.lang);
    match shopping::place_order(&state.services, &here.visitor, &form).await {
        Ok(detail) => {
            let id = detail.order.id;
            let key = order_key(&state.services.keyring, &here.shop.tenant, id);
            see_other(&format!("/orders/{id}?k={key}"))
        }
        Err(Refused::Fault(e)) => WebError::from(e).render(here.shop.lang),
        Err(r) => {
            let status = status_of(&r);
            let (errors, problem) = match r {
                Refused::Fields(errors) => (errors, Some(t.problem.to_owned())),
                Refused::Conflict { detail, errors } => {
                    let more: Vec<String> = errors.iter().map(|e| e.message.clone()).collect();
                    let p = if more.is_empty() {
                        detail
                    } else {
                        format!("{detail}: {}", more.join("; "))
                    };
                    (Vec::new(), Some(p))
                }
                Refused::NotFound => (Vec::new(), Some(t.empty.to_owned())),
                Refused::Fault(_) => unreachable!("answered above"),
            };
            checkout_page(&state, &here, status, form, errors, problem).await
        }
    }
}

#[derive(serde::Deserialize)]
pub struct OrderQuery {
    k: Option<String>,
}

#[derive(Template)]
#[template(path = "storefront/order.html")]
struct OrderPage<'a> {
    t: &'a CheckoutMsgs,
    title: String,
    status: &'a str,
    pending: bool,
    guest_link: bool,
    lines: Vec<LineRow>,
    totals: Vec<TotalRow>,
    ship_to: Vec<String>,
}

pub fn status_text(t: &CheckoutMsgs, s: OrderStatus) -> &str {
    match s {
        OrderStatus::PendingPayment => t.status_pending_payment,
        OrderStatus::Paid => t.status_paid,
        OrderStatus::Fulfilled => t.status_fulfilled,
        OrderStatus::Delivered => t.status_delivered,
        OrderStatus::Cancelled => t.status_cancelled,
        OrderStatus::Refunded => t.status_refunded,
        #[allow(unreachable_patterns)]
        _ => t.status,
    }
}

pub async fn order(
    State(state): State<AppState>,
    here: Here,
    Path(raw): Path<String>,
    Query(q): Query<OrderQuery>,
) -> Response {
    let shop = &here.shop;
    let svc = &state.services;
    let detail = match shopping::order_for(svc, &here.visitor, &raw, q.k.as_deref()).await {
        Ok(d) => d,
        Err(Refused::Fault(e)) => return WebError::from(e).render(shop.lang),
        Err(_) => return WebError::NotFound.render(shop.lang),
    };
    let view = match crate::wire::orders::OrderView::for_customer(&detail, &svc.keyring) {
        Ok(v) => v,
        Err(e) => return WebError::from(e).render(shop.lang),
    };
    let t = crate::web::i18n::checkout::get(shop.lang);
    let tc = crate::web::i18n::cart::get(shop.lang);
    let (lines, totals) = order_rows(&detail, &view, shop.lang, tc);
    let a = &view.shipping_address;
    let ship_to = [
        Some(a.name.clone()),
        Some(a.line1.clone()),
        a.line2.clone(),
        Some(format!("{} {}", a.postal_code, a.city)),
        a.region.clone(),
        Some(a.country.clone()),
    ]
    .into_iter()
    .flatten()
    .collect();
    let pending = detail.order.status == OrderStatus::PendingPayment
        && detail
            .payments
            .iter()
            .any(|p| p.status == PaymentStatus::Pending);
    let title = t.order_title.replace("{id}", &detail.order.id.to_string());
    let main = OrderPage {
        t,
        title: title.clone(),
        status: status_text(t, detail.order.status),
        pending,
        guest_link: here.visitor.customer.is_none(),
        lines,
        totals,
        ship_to,
    }
    .render();
    let path = format!("/orders/{}", detail.order.id);
    // While the payment is pending the page reloads itself (no script).
    let head = if pending {
        "<meta http-equiv=\"refresh\" content=\"3\">"
    } else {
        ""
    };
    render_with_head(&state, shop, &path, StatusCode::OK, &title, head, main)
}

fn order_rows(
    _detail: &OrderDetail,
    view: &crate::wire::orders::OrderView,
    lang: Lang,
    t: &CartMsgs,
) -> (Vec<LineRow>, Vec<TotalRow>) {
    let f = |m: &storekeep_domain::Money| money::format(m.amount, &m.currency, lang);
    let lines = view
        .lines
        .iter()
        .map(|l| LineRow {
            id: l.id.to_string(),
            title: l.title.clone(),
            quantity: l.quantity,
            unit_price: f(&l.unit_price),
            discount: (l.discount.amount > 0).then(|| f(&l.discount)),
            total: f(&l.total),
            rental: None,
            rental_rows: Vec::new(),
            rented: false,
        })
        .collect();
    let mut totals = vec![TotalRow {
        label: t.subtotal.into(),
        amount: f(&view.subtotal),
        grand: false,
    }];
    for (label, m) in [
        (t.discount, &view.discount),
        (t.shipping, &view.shipping),
        (t.tax, &view.tax),
    ] {
        if m.amount > 0 {
            totals.push(TotalRow {
                label: label.into(),
                amount: f(m),
                grand: false,
            });
        }
    }
    totals.push(TotalRow {
        label: t.total.into(),
        amount: f(&view.total),
        grand: true,
    });
    (lines, totals)
}
