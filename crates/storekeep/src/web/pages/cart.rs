//! `/cart`: the visitor's cart — lines with their quantity and remove
//! forms, the coupon form, the totals as the pricing service computes them
//! (deals, coupon, tax, shipping) — and the forms that change it: add
//! (`POST /cart/items` from a product page), rent (`POST /cart/rentals`),
//! quantity (`POST /cart/items/{item}`, 0 removes), remove
//! (`POST /cart/items/{item}/remove`), coupon (`POST /cart/coupon`, empty
//! removes it). Each answers `303 /cart`, or the cart page again with the
//! problem (422, 404, 409).

use askama::Template;
use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use crate::app::AppState;
use crate::web::WebError;
use crate::web::i18n::{Lang, cart::CartMsgs};
use crate::web::money;
use crate::web::pages::shopper::{Here, render, see_other, status_of, unreadable};
use crate::web::session::{CART, CART_MAX_AGE_SECS};
use crate::web::shopping::{self, AddForm, CouponForm, QuantityForm, Refused};
use crate::wire::carts::CartView;
use crate::wire::contracts::RentalLineView;

pub struct LineRow {
    pub id: String,
    pub title: String,
    pub quantity: i64,
    pub unit_price: String,
    pub discount: Option<String>,
    pub total: String,
    pub rental: Option<String>,
    /// A rental line's plan and disclosure, `(label, value)` rows.
    pub rental_rows: Vec<(String, String)>,
    /// A rental line rents one unit: no quantity form.
    pub rented: bool,
}

/// A rental line's plan and the disclosure's key figures, as the cart
/// API's `rental` block carries them (computed by `contracts::quote`).
fn rental_rows(r: &RentalLineView, lang: Lang) -> Vec<(String, String)> {
    let f = |m: &storekeep_domain::Money| money::format(m.amount, &m.currency, lang);
    let l = crate::web::i18n::rental::get(lang);
    let d = &r.disclosures;
    vec![
        (l.plan.to_owned(), r.plan_name.clone()),
        (
            l.payments.to_owned(),
            l.payments_value
                .replace("{count}", &d.number_of_payments.to_string())
                .replace("{amount}", &f(&d.payment_amount))
                .replace("{period}", l.period(d.payment_every)),
        ),
        (l.cash_price.to_owned(), f(&d.cash_price)),
        (l.total_of_payments.to_owned(), f(&d.total_of_payments)),
        (l.cost_of_renting.to_owned(), f(&d.cost_over_cash_price)),
        (l.deposit.to_owned(), f(&d.fees.deposit)),
        (l.cart_due_today.to_owned(), f(&r.due_today)),
        (
            l.ownership.to_owned(),
            if d.ownership_at_end {
                l.ownership_passes
            } else {
                l.ownership_returns
            }
            .to_owned(),
        ),
    ]
}

pub struct TotalRow {
    pub label: String,
    pub amount: String,
    pub grand: bool,
}

#[derive(Template)]
#[template(path = "storefront/cart.html")]
struct CartPage<'a> {
    t: &'a CartMsgs,
    csrf: &'a str,
    lines: Vec<LineRow>,
    totals: Vec<TotalRow>,
    coupon: String,
    notes: Vec<String>,
    problem: Option<String>,
}

pub fn rows(cart: &CartView, lang: Lang, t: &CartMsgs) -> (Vec<LineRow>, Vec<TotalRow>) {
    let f = |m: &storekeep_domain::Money| money::format(m.amount, &m.currency, lang);
    let lines = cart
        .items
        .iter()
        .filter_map(|l| {
            Some(LineRow {
                id: l.id?.to_string(),
                title: l.title.clone(),
                quantity: l.quantity,
                unit_price: f(&l.unit_price),
                discount: (l.discount.amount > 0).then(|| f(&l.discount)),
                total: f(&l.total),
                rental: l.rental.as_ref().map(|r| {
                    t.rental
                        .replace("{term}", &r.term.to_string())
                        .replace("{amount}", &f(&r.price_per_period))
                }),
                rental_rows: l
                    .rental
                    .as_ref()
                    .map(|r| rental_rows(r, lang))
                    .unwrap_or_default(),
                rented: l.rental.is_some(),
            })
        })
        .collect();
    let mut totals = vec![TotalRow {
        label: t.subtotal.into(),
        amount: f(&cart.subtotal),
        grand: false,
    }];
    for d in &cart.deals {
        totals.push(TotalRow {
            label: d.name.clone(),
            amount: format!("−{}", f(&d.amount)),
            grand: false,
        });
    }
    if cart.shipping.amount > 0 {
        totals.push(TotalRow {
            label: t.shipping.into(),
            amount: f(&cart.shipping),
            grand: false,
        });
    }
    if cart.tax.amount > 0 {
        totals.push(TotalRow {
            label: t.tax.into(),
            amount: f(&cart.tax),
            grand: false,
        });
    }
    totals.push(TotalRow {
        label: t.total.into(),
        amount: f(&cart.total),
        grand: true,
    });
    (lines, totals)
}

/// The cart page, with `problem` shown above it.
async fn cart_page(
    state: &AppState,
    here: &Here,
    status: StatusCode,
    problem: Option<String>,
) -> Response {
    let shop = &here.shop;
    let t = crate::web::i18n::cart::get(shop.lang);
    let cart = match shopping::open_cart(&state.services, &here.visitor).await {
        Ok(c) => c,
        Err(e) => return WebError::from(e).render(shop.lang),
    };
    let (lines, totals, coupon, notes) = match &cart {
        Some(c) => {
            let (l, t) = rows(c, shop.lang, t);
            (
                l,
                t,
                c.coupon_code.clone().unwrap_or_default(),
                c.notes.clone(),
            )
        }
        None => (Vec::new(), Vec::new(), String::new(), Vec::new()),
    };
    let csrf = crate::web::csrf::visitor_token(&state.services.keyring, &here.visitor);
    let main = CartPage {
        t,
        csrf: &csrf,
        lines,
        totals,
        coupon,
        notes,
        problem,
    }
    .render();
    render(state, shop, "/cart", status, t.title, main)
}

pub async fn show(State(state): State<AppState>, here: Here) -> Response {
    cart_page(&state, &here, StatusCode::OK, None).await
}

/// A refused cart action: the cart page with the problem.
async fn refused(state: &AppState, here: &Here, r: Refused) -> Response {
    let t = crate::web::i18n::cart::get(here.shop.lang);
    let status = status_of(&r);
    let problem = match r {
        Refused::Fields(errors) => {
            let detail: Vec<String> = errors
                .iter()
                .map(|e| {
                    if e.field.is_empty() {
                        e.message.clone()
                    } else {
                        format!("{}: {}", e.field.replace('_', " "), e.message)
                    }
                })
                .collect();
            format!("{} {}", t.problem, detail.join("; "))
        }
        Refused::Conflict { detail, errors } => {
            let more: Vec<String> = errors.iter().map(|e| e.message.clone()).collect();
            if more.is_empty() {
                detail
            } else {
                format!("{detail}: {}", more.join("; "))
            }
        }
        Refused::NotFound => t.not_found.into(),
        Refused::Fault(e) => return WebError::from(e).render(here.shop.lang),
    };
    cart_page(state, here, status, Some(problem)).await
}

/// After an add: to the cart, with the new cart's cookie if one was made.
fn added(here: &Here, cookie: Option<crate::web::session::CartCookie>) -> Response {
    let mut r = see_other("/cart");
    if let Some(c) = cookie {
        r.headers_mut().append(
            axum::http::header::SET_COOKIE,
            here.visitor
                .cookies
                .set(CART, &c.value(), Some(CART_MAX_AGE_SECS)),
        );
    }
    r
}

pub async fn add(
    State(state): State<AppState>,
    here: Here,
    form: Result<Form<AddForm>, FormRejection>,
) -> Response {
    let Ok(Form(mut form)) = form else {
        return unreadable(&here.shop);
    };
    // A purchase: rental fields belong to `/cart/rentals`.
    form.rental_plan_id = None;
    form.rental_term = None;
    match shopping::add(&state.services, &here.visitor, &form).await {
        Ok(cookie) => added(&here, cookie),
        Err(r) => refused(&state, &here, r).await,
    }
}

pub async fn rent(
    State(state): State<AppState>,
    here: Here,
    form: Result<Form<AddForm>, FormRejection>,
) -> Response {
    let Ok(Form(mut form)) = form else {
        return unreadable(&here.shop);
    };
    form.quantity = Some("1".into());
    if form
        .rental_plan_id
        .as_deref()
        .is_none_or(|p| p.trim().is_empty())
    {
        return refused(
            &state,
            &here,
            Refused::Fields(vec![storekeep_domain::FieldError {
                field: "rental_plan_id".into(),
                message: "choose a rental plan".into(),
            }]),
        )
        .await;
    }
    match shopping::add(&state.services, &here.visitor, &form).await {
        Ok(cookie) => added(&here, cookie),
        Err(r) => refused(&state, &here, r).await,
    }
}

pub async fn set_quantity(
    State(state): State<AppState>,
    here: Here,
    Path(item): Path<String>,
    form: Result<Form<QuantityForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return unreadable(&here.shop);
    };
    match shopping::set_quantity(&state.services, &here.visitor, &item, &form).await {
        Ok(()) => see_other("/cart"),
        Err(r) => refused(&state, &here, r).await,
    }
}

pub async fn remove(
    State(state): State<AppState>,
    here: Here,
    Path(item): Path<String>,
) -> Response {
    match shopping::remove(&state.services, &here.visitor, &item).await {
        Ok(()) => see_other("/cart"),
        Err(r) => refused(&state, &here, r).await,
    }
}

pub async fn coupon(
    State(state): State<AppState>,
    here: Here,
    form: Result<Form<CouponForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return unreadable(&here.shop);
    };
    match shopping::set_coupon(&state.services, &here.visitor, &form).await {
        Ok(()) => see_other("/cart"),
        Err(r) => refused(&state, &here, r).await,
    }
}
