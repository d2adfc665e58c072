//! The console's orders (issue 18): `/console/orders`, the shop's orders
//! newest first, keyset-paged and filtered (status, exact email through
//! the email blind index, creation dates), and `/console/orders/{id}`,
//! one order with its lines, totals, address, payments, refunds and
//! timeline, and the staff actions as forms: mark paid, fulfil, deliver,
//! cancel and refund with restock. Each action calls the service the
//! admin API calls (`services::orders`), audited as this staff member.
//!
//! Reading needs `orders:read`, every action `orders:write` (checked by
//! each handler whether or not the page showed the button). A refused
//! action shows the order again: 422 with the message beside the field
//! (a refund's amount or restock), 409 at the top for a move the order's
//! status does not allow.

use askama::Template;
use axum::Form;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::Deserialize;
use storekeep_domain::{
    Money, OrderId, OrderLineId, OrderStatus, Permission, RestockLine, ValidationErrors,
};
use storekeep_store::StoreError;
use storekeep_store::rules::commerce::refunds;

use crate::app::AppState;
use crate::services::ServiceError;
use crate::services::orders::{self, Audience};
use crate::web::WebError;
use crate::web::console::desk::Staff;
use crate::web::console::page;
use crate::web::i18n::Lang;
use crate::web::pages::shopper::see_other;
use crate::wire::orders::{OrderQuery, OrderView, RefundRequest};

/// How the console writes a time.
pub fn when(t: &DateTime<Utc>) -> String {
    crate::web::console::page::when(*t)
}

fn money(m: &Money) -> String {
    crate::web::money::format(m.amount, &m.currency, Lang::En)
}

/// The status as the console names it.
pub fn status_label(s: OrderStatus) -> &'static str {
    match s {
        OrderStatus::PendingPayment => "awaiting payment",
        OrderStatus::Paid => "paid",
        OrderStatus::Fulfilled => "fulfilled",
        OrderStatus::Delivered => "delivered",
        OrderStatus::Cancelled => "cancelled",
        OrderStatus::Refunded => "refunded",
    }
}

// ---------------------------------------------------------------- list

/// The list's query: every value as typed (checked here, so a bad one is
/// a 400 page, never a rejection of axum's).
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    limit: String,
    #[serde(default)]
    after: String,
}

/// A date filter: `YYYY-MM-DD`, or empty.
fn date(raw: &str, name: &str) -> Result<Option<NaiveDate>, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| format!("{name} must be a date such as 2026-11-28"))
}

/// A page size typed into the URL: 1 to 200, default 50.
pub fn limit(raw: &str) -> Result<Option<u32>, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    raw.parse::<u32>()
        .map(Some)
        .map_err(|_| "limit must be a number from 1 to 200".to_owned())
}

/// The admin API's order query made of the console's filters: dates are
/// whole days in UTC (`to` includes its day).
fn order_query(q: &ListQuery) -> Result<OrderQuery, String> {
    let some = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let from = date(&q.from, "from")?;
    let to = date(&q.to, "to")?;
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        return Err("from must not be after to".into());
    }
    let end_of_day = NaiveTime::from_hms_micro_opt(23, 59, 59, 999_999).unwrap_or(NaiveTime::MIN);
    Ok(OrderQuery {
        status: some(&q.status),
        customer_id: None,
        email: some(&q.email),
        created_from: from.map(|d| d.and_time(NaiveTime::MIN).and_utc()),
        created_to: to.map(|d| d.and_time(end_of_day).and_utc()),
        limit: limit(&q.limit)?,
        after: some(&q.after),
    })
}

/// One row of an order list.
pub struct OrderRow {
    pub id: String,
    pub created: String,
    pub email: String,
    pub status: &'static str,
    pub total: String,
    pub refunded: String,
}

impl OrderRow {
    pub fn new(o: &OrderView) -> Self {
        Self {
            id: o.id.to_string(),
            created: when(&o.created_at),
            email: o.email.clone(),
            status: status_label(o.status),
            total: money(&o.total),
            refunded: if o.refunded.amount == 0 {
                "—".into()
            } else {
                money(&o.refunded)
            },
        }
    }
}

struct StatusOption {
    value: &'static str,
    label: &'static str,
    selected: bool,
}

#[derive(Template)]
#[template(path = "console/orders_list.html")]
struct ListPage {
    statuses: Vec<StatusOption>,
    email: String,
    from: String,
    to: String,
    limit: String,
    rows: Vec<OrderRow>,
    filtered: bool,
    next: Option<String>,
}

/// `GET /console/orders`.
pub async fn list(
    State(state): State<AppState>,
    staff: Staff,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Response {
    if let Err(r) = staff.require(&state, Permission::OrdersRead) {
        return r;
    }
    let Ok(Query(q)) = query else {
        return page::bad_request(&state, &staff.desk, "The filters could not be read.");
    };
    let wire = match order_query(&q) {
        Ok(w) => w,
        Err(m) => return page::bad_request(&state, &staff.desk, m),
    };
    let svc = &state.services;
    let found = match orders::parse_query(svc, &wire) {
        Ok((filter, page)) => {
            orders::list(svc, staff.tenant(), &filter, &page, Audience::Staff).await
        }
        Err(e) => Err(e),
    };
    let found = match found {
        Ok(f) => f,
        Err(e) => return page::error(&state, &staff.desk, e),
    };
    let status = q.status.trim();
    let filters = [
        ("status", status),
        ("email", q.email.trim()),
        ("from", q.from.trim()),
        ("to", q.to.trim()),
        ("limit", q.limit.trim()),
    ];
    let next = page::next_link("/console/orders", &filters, found.next_cursor.as_deref());
    let main = ListPage {
        statuses: OrderStatus::ALL
            .iter()
            .map(|s| StatusOption {
                value: s.as_str(),
                label: status_label(*s),
                selected: s.as_str() == status,
            })
            .collect(),
        email: q.email.trim().to_owned(),
        from: q.from.trim().to_owned(),
        to: q.to.trim().to_owned(),
        limit: q.limit.trim().to_owned(),
        rows: found.items.iter().map(OrderRow::new).collect(),
        filtered: filters.iter().any(|(_, v)| !v.is_empty()) || !q.after.is_empty(),
        next,
    }
    .render();
    page::render(
        &state,
        &staff.desk,
        "/console/orders",
        StatusCode::OK,
        "Orders",
        main,
    )
}

// -------------------------------------------------------------- detail

struct LineRow {
    id: String,
    sku: String,
    title: String,
    quantity: i64,
    unit_price: String,
    discount: String,
    total: String,
    restocked: i64,
    /// Units a refund may still put back.
    left: i64,
    /// What the refund form shows (what was typed, on a re-render).
    typed: String,
}

struct PaymentRow {
    provider: String,
    reference: String,
    status: String,
    amount: String,
    created: String,
}

struct RefundRow {
    created: String,
    amount: String,
    reason: String,
    restocked: String,
    actor: String,
}

struct TimelineEntry {
    at: DateTime<Utc>,
    when: String,
    what: String,
    who: String,
    note: String,
}

/// What a refused action left to show: a message at the top, messages
/// beside the refund's fields, and what was typed.
#[derive(Debug, Default)]
struct Problems {
    top: Option<String>,
    amount: Option<String>,
    reason: Option<String>,
    restock: Option<String>,
    typed_amount: String,
    typed_reason: String,
    typed_restock: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "console/orders_detail.html")]
struct DetailPage {
    id: String,
    csrf: String,
    notice: Option<&'static str>,
    p: Problems,
    status: &'static str,
    created: String,
    updated: String,
    email: String,
    customer_link: Option<String>,
    shipping_method: String,
    payment_provider: String,
    expires: Option<String>,
    address: Vec<String>,
    lines: Vec<LineRow>,
    subtotal: String,
    discount: String,
    shipping: String,
    tax: String,
    total: String,
    refunded: String,
    left_to_refund: String,
    currency: String,
    payments: Vec<PaymentRow>,
    refund_rows: Vec<RefundRow>,
    timeline: Vec<TimelineEntry>,
    can_mark_paid: bool,
    can_fulfil: bool,
    can_deliver: bool,
    can_cancel: bool,
    can_refund: bool,
}

impl DetailPage {
    fn any_action(&self) -> bool {
        self.can_mark_paid || self.can_fulfil || self.can_deliver || self.can_cancel
    }
}

fn notice(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "paid" => "The order is marked paid.",
        "fulfilled" => "The order is fulfilled.",
        "delivered" => "The order is marked delivered.",
        "cancelled" => "The order is cancelled; its stock is released.",
        "refunded" => "The refund is recorded.",
        _ => return None,
    })
}

fn timeline(o: &OrderView) -> Vec<TimelineEntry> {
    let mut t: Vec<TimelineEntry> = Vec::new();
    for tr in &o.transitions {
        let what = match tr.from {
            None => format!("Placed ({})", status_label(tr.to)),
            Some(f) => format!("{} → {}", status_label(f), status_label(tr.to)),
        };
        t.push(TimelineEntry {
            at: tr.at,
            when: String::new(),
            what,
            who: tr.actor.clone(),
            note: tr.reason.clone().unwrap_or_default(),
        });
    }
    for p in &o.payments {
        t.push(TimelineEntry {
            at: p.created_at,
            when: String::new(),
            what: format!("Payment of {} started ({})", money(&p.amount), p.provider),
            who: String::new(),
            note: p.reference.clone(),
        });
        if p.updated_at > p.created_at {
            t.push(TimelineEntry {
                at: p.updated_at,
                when: String::new(),
                what: format!("Payment {}", serde_plain(&p.status)),
                who: String::new(),
                note: p.reference.clone(),
            });
        }
    }
    for r in &o.refunds {
        t.push(TimelineEntry {
            at: r.created_at,
            when: String::new(),
            what: format!("Refund of {}", money(&r.amount)),
            who: r.actor.clone(),
            note: r.reason.clone().unwrap_or_default(),
        });
    }
    t.sort_by_key(|e| e.at);
    for e in &mut t {
        e.when = when(&e.at);
    }
    t
}

/// A unit enum's serde name (`confirmed`).
fn serde_plain<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn address_lines(o: &OrderView) -> Vec<String> {
    let a = &o.shipping_address;
    let mut city = a.postal_code.clone();
    if !city.is_empty() {
        city.push(' ');
    }
    city.push_str(&a.city);
    if let Some(r) = a.region.as_deref().filter(|r| !r.is_empty()) {
        city.push_str(", ");
        city.push_str(r);
    }
    [
        Some(a.name.clone()),
        Some(a.line1.clone()),
        a.line2.clone(),
        Some(city),
        Some(a.country.clone()),
        a.phone.clone(),
    ]
    .into_iter()
    .flatten()
    .filter(|l| !l.trim().is_empty())
    .collect()
}

fn parse_id(raw: &str) -> Option<OrderId> {
    raw.parse().ok()
}

/// The order page, with `status` and what a refused action left.
async fn show(
    state: &AppState,
    staff: &Staff,
    id: OrderId,
    status: StatusCode,
    done: Option<&str>,
    p: Problems,
) -> Response {
    let svc = &state.services;
    let view = match orders::get(svc, staff.tenant(), id).await {
        Ok(d) => OrderView::new(&d, &svc.keyring),
        Err(e) => Err(e),
    };
    let o = match view {
        Ok(o) => o,
        Err(e) => return page::error(state, &staff.desk, e),
    };
    let write = staff.desk.can(Permission::OrdersWrite);
    let can = |to: OrderStatus| write && o.status.can_move_to(to);
    let lines = o
        .lines
        .iter()
        .map(|l| {
            let id = l.id.to_string();
            let typed = p
                .typed_restock
                .iter()
                .find(|(k, _)| *k == id)
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            LineRow {
                id,
                sku: l.sku.clone(),
                title: l.title.clone(),
                quantity: l.quantity,
                unit_price: money(&l.unit_price),
                discount: money(&l.discount),
                total: money(&l.total),
                restocked: l.restocked,
                left: (l.quantity - l.restocked).max(0),
                typed,
            }
        })
        .collect();
    let currency = o.total.currency.clone();
    let left = Money {
        amount: o.total.amount - o.refunded.amount,
        currency: currency.clone(),
    };
    let main = DetailPage {
        id: o.id.to_string(),
        csrf: staff.desk.csrf(state),
        notice: notice(done),
        status: status_label(o.status),
        created: when(&o.created_at),
        updated: when(&o.updated_at),
        email: o.email.clone(),
        customer_link: o
            .customer_id
            .filter(|_| staff.desk.can(Permission::CustomersRead))
            .map(|c| format!("/console/customers/{c}")),
        shipping_method: o.shipping_method.clone(),
        payment_provider: o.payment_provider.clone(),
        expires: o.expires_at.as_ref().map(when),
        address: address_lines(&o),
        lines,
        subtotal: money(&o.subtotal),
        discount: money(&o.discount),
        shipping: money(&o.shipping),
        tax: money(&o.tax),
        total: money(&o.total),
        refunded: money(&o.refunded),
        left_to_refund: money(&left),
        currency,
        payments: o
            .payments
            .iter()
            .map(|x| PaymentRow {
                provider: x.provider.clone(),
                reference: x.reference.clone(),
                status: serde_plain(&x.status),
                amount: money(&x.amount),
                created: when(&x.created_at),
            })
            .collect(),
        refund_rows: o
            .refunds
            .iter()
            .map(|r| RefundRow {
                created: when(&r.created_at),
                amount: money(&r.amount),
                reason: r.reason.clone().unwrap_or_default(),
                restocked: r
                    .restock
                    .iter()
                    .map(|x| x.quantity)
                    .sum::<i64>()
                    .to_string(),
                actor: r.actor.clone(),
            })
            .collect(),
        timeline: timeline(&o),
        can_mark_paid: can(OrderStatus::Paid),
        can_fulfil: can(OrderStatus::Fulfilled),
        can_deliver: can(OrderStatus::Delivered),
        can_cancel: can(OrderStatus::Cancelled),
        can_refund: write && o.status.can_move_to(OrderStatus::Refunded),
        p,
    }
    .render();
    let title = format!("Order {}", o.id);
    page::render(state, &staff.desk, "/console/orders", status, &title, main)
}

#[derive(Debug, Default, Deserialize)]
pub struct DoneQuery {
    #[serde(default)]
    done: Option<String>,
}

/// `GET /console/orders/{id}`.
pub async fn detail(
    State(state): State<AppState>,
    staff: Staff,
    Path(raw): Path<String>,
    query: Result<Query<DoneQuery>, QueryRejection>,
) -> Response {
    if let Err(r) = staff.require(&state, Permission::OrdersRead) {
        return r;
    }
    let Some(id) = parse_id(&raw) else {
        return page::error(&state, &staff.desk, WebError::NotFound);
    };
    let done = query.ok().and_then(|Query(q)| q.done);
    show(
        &state,
        &staff,
        id,
        StatusCode::OK,
        done.as_deref(),
        Problems::default(),
    )
    .await
}

// ------------------------------------------------------------- actions

/// A move's form: an optional reason.
#[derive(Debug, Default, Deserialize)]
pub struct MoveForm {
    #[serde(default)]
    reason: Option<String>,
}

/// Which move a post asks for.
#[derive(Debug, Clone, Copy)]
enum Move {
    MarkPaid,
    Fulfil,
    Deliver,
    Cancel,
}

/// How the console shows a service's refusal of an action.
enum Refusal {
    /// Field problems: 422.
    Fields(ValidationErrors),
    /// The order's state forbids it: 409 with the message at the top.
    Conflict(String),
    /// Anything else: the error page (404, 503, 500).
    Page(ServiceError),
}

fn refusal(e: ServiceError) -> Refusal {
    match e {
        ServiceError::Invalid(v) => Refusal::Fields(v),
        // The refund's own limits are about what was typed.
        ServiceError::Store(StoreError::Invalid(m)) if m == refunds::AMOUNT_OUT_OF_RANGE => {
            Refusal::Fields(ValidationErrors::single("amount", m))
        }
        ServiceError::Store(StoreError::Invalid(m))
            if m == refunds::RESTOCK_TOO_MANY || m == refunds::RESTOCK_NEEDS_A_UNIT =>
        {
            Refusal::Fields(ValidationErrors::single("restock", m))
        }
        ServiceError::Store(StoreError::UnknownReference { field: "restock" }) => Refusal::Fields(
            ValidationErrors::single("restock", "names a line this order does not have"),
        ),
        ServiceError::Store(StoreError::Invalid(m)) => Refusal::Conflict(m.to_owned()),
        ServiceError::Conflict { detail, .. } => Refusal::Conflict(detail),
        other => Refusal::Page(other),
    }
}

fn sentence(m: &str) -> String {
    let mut c = m.chars();
    match c.next() {
        Some(f) => {
            let mut s: String = f.to_uppercase().collect();
            s.push_str(c.as_str());
            if !s.ends_with('.') {
                s.push('.');
            }
            s
        }
        None => String::new(),
    }
}

/// Shows the order again with the refusal.
async fn refused(
    state: &AppState,
    staff: &Staff,
    id: OrderId,
    e: ServiceError,
    mut p: Problems,
) -> Response {
    match refusal(e) {
        Refusal::Fields(v) => {
            for f in v.0 {
                let m = sentence(&f.message);
                let slot = if f.field.starts_with("amount") {
                    &mut p.amount
                } else if f.field.starts_with("reason") {
                    &mut p.reason
                } else if f.field.starts_with("restock") {
                    &mut p.restock
                } else {
                    &mut p.top
                };
                if slot.is_none() {
                    *slot = Some(m);
                }
            }
            if p.top.is_none() {
                p.top = Some("The refund was not made: see the form below.".into());
            }
            show(state, staff, id, StatusCode::UNPROCESSABLE_ENTITY, None, p).await
        }
        Refusal::Conflict(m) => {
            p.top = Some(sentence(&m));
            show(state, staff, id, StatusCode::CONFLICT, None, p).await
        }
        Refusal::Page(e) => page::error(state, &staff.desk, e),
    }
}

async fn do_move(
    state: AppState,
    staff: Staff,
    raw: String,
    form: Result<Form<MoveForm>, FormRejection>,
    action: Move,
) -> Response {
    if let Err(r) = staff.require(&state, Permission::OrdersWrite) {
        return r;
    }
    let Ok(Form(form)) = form else {
        return page::unreadable_form(&state, &staff.desk);
    };
    let Some(id) = parse_id(&raw) else {
        return page::error(&state, &staff.desk, WebError::NotFound);
    };
    let svc = &state.services;
    let audit = staff.desk.audit();
    let tenant = staff.tenant();
    let reason = form.reason.filter(|r| !r.trim().is_empty());
    let (done, result) = match action {
        Move::MarkPaid => ("paid", orders::mark_paid(svc, tenant, id, &audit).await),
        Move::Fulfil => (
            "fulfilled",
            orders::move_order(svc, tenant, id, OrderStatus::Fulfilled, reason, &audit).await,
        ),
        Move::Deliver => (
            "delivered",
            orders::move_order(svc, tenant, id, OrderStatus::Delivered, reason, &audit).await,
        ),
        Move::Cancel => (
            "cancelled",
            orders::move_order(svc, tenant, id, OrderStatus::Cancelled, reason, &audit).await,
        ),
    };
    match result {
        Ok(_) => see_other(&format!("/console/orders/{id}?done={done}")),
        Err(e) => refused(&state, &staff, id, e, Problems::default()).await,
    }
}

/// `POST /console/orders/{id}/mark-paid`.
pub async fn mark_paid(
    State(state): State<AppState>,
    staff: Staff,
    Path(raw): Path<String>,
    form: Result<Form<MoveForm>, FormRejection>,
) -> Response {
    do_move(state, staff, raw, form, Move::MarkPaid).await
}

/// `POST /console/orders/{id}/fulfil`.
pub async fn fulfil(
    State(state): State<AppState>,
    staff: Staff,
    Path(raw): Path<String>,
    form: Result<Form<MoveForm>, FormRejection>,
) -> Response {
    do_move(state, staff, raw, form, Move::Fulfil).await
}

/// `POST /console/orders/{id}/deliver`.
pub async fn deliver(
    State(state): State<AppState>,
    staff: Staff,
    Path(raw): Path<String>,
    form: Result<Form<MoveForm>, FormRejection>,
) -> Response {
    do_move(state, staff, raw, form, Move::Deliver).await
}

/// `POST /console/orders/{id}/cancel`.
pub async fn cancel(
    State(state): State<AppState>,
    staff: Staff,
    Path(raw): Path<String>,
    form: Result<Form<MoveForm>, FormRejection>,
) -> Response {
    do_move(state, staff, raw, form, Move::Cancel).await
}

/// `POST /console/orders/{id}/refund`: `amount` in major units, an
/// optional `reason`, and `restock_<line id>` units per line (empty or 0
/// puts nothing back). The admin API's refund request.
pub async fn refund(
    State(state): State<AppState>,
    staff: Staff,
    Path(raw): Path<String>,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    if let Err(r) = staff.require(&state, Permission::OrdersWrite) {
        return r;
    }
    let Ok(Form(fields)) = form else {
        return page::unreadable_form(&state, &staff.desk);
    };
    let Some(id) = parse_id(&raw) else {
        return page::error(&state, &staff.desk, WebError::NotFound);
    };
    let currency = staff.tenant().settings.currency.clone();
    let mut p = Problems::default();
    let mut errors = ValidationErrors::new();
    let mut restock = Vec::new();
    for (k, v) in &fields {
        match k.as_str() {
            "amount" => p.typed_amount = v.trim().to_owned(),
            "reason" => p.typed_reason = v.clone(),
            _ => {
                if let Some(line) = k.strip_prefix("restock_") {
                    let v = v.trim();
                    p.typed_restock.push((line.to_owned(), v.to_owned()));
                    if v.is_empty() || v == "0" {
                        continue;
                    }
                    match (line.parse::<OrderLineId>(), v.parse::<i64>()) {
                        (Ok(line_id), Ok(quantity)) if quantity > 0 => {
                            restock.push(RestockLine { line_id, quantity });
                        }
                        (Err(_), _) => {
                            errors.add("restock", "names a line this order does not have")
                        }
                        _ => errors.add("restock", "must be whole numbers of units, 0 or more"),
                    }
                }
            }
        }
    }
    let amount = crate::web::money::parse_major(&p.typed_amount, &currency, Lang::En);
    if amount.is_none() {
        errors.add(
            "amount",
            if p.typed_amount.is_empty() {
                "enter the amount to refund, such as 12.50"
            } else {
                "must be an amount such as 12.50"
            },
        );
    }
    if let (Some(amount), true) = (amount, errors.0.is_empty()) {
        let req = RefundRequest {
            amount: Money { amount, currency },
            reason: Some(p.typed_reason.clone()).filter(|r| !r.trim().is_empty()),
            restock,
        };
        let done = orders::refund(
            &state.services,
            staff.tenant(),
            id,
            req,
            &staff.desk.audit(),
        )
        .await;
        return match done {
            Ok(_) => see_other(&format!("/console/orders/{id}?done=refunded")),
            Err(e) => refused(&state, &staff, id, e, p).await,
        };
    }
    refused(&state, &staff, id, ServiceError::Invalid(errors), p).await
}
