//! The console's unmatched payments (`/console/payments/unmatched`,
//! `orders:read`, as `GET /api/v1/admin/payments/unmatched`): money a
//! processor confirmed for an order no longer awaiting it (cancelled
//! meanwhile, or paid by another attempt), newest first, keyset-paged.
//! Staff with `orders:write` mark one resolved with what they did about it
//! (a refund at the processor, the goods sent after all), through
//! `services::payments::resolve` (the API's rules: a note is required; a
//! payment already resolved is a 409).

use askama::Template;
use axum::Form;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use storekeep_domain::{PageRequest, PaymentId, Permission};

use crate::app::AppState;
use crate::services::payments;
use crate::web::WebError;
use crate::web::console::desk::Staff;
use crate::web::console::page;
use crate::web::console::rentals::{Refusal, refusal, when};
use crate::web::pages::shopper::see_other;

const PATH: &str = "/console/payments/unmatched";

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    pub after: Option<String>,
    pub done: Option<String>,
}

struct Row {
    id: String,
    order_id: String,
    order_status: &'static str,
    provider: String,
    reference: String,
    amount: String,
    at: String,
}

#[derive(Template)]
#[template(path = "console/payments_unmatched.html")]
struct UnmatchedPage<'a> {
    csrf: &'a str,
    can_resolve: bool,
    notice: Option<&'static str>,
    problem: Option<&'a str>,
    /// The payment a refused form was for, its note and the message.
    refused_id: &'a str,
    refused_note: &'a str,
    refused_message: Option<&'a str>,
    max: usize,
    rows: Vec<Row>,
    next: Option<String>,
}

struct Refused<'a> {
    id: &'a str,
    note: &'a str,
    refusal: &'a Refusal,
}

async fn list_page(
    state: &AppState,
    staff: &Staff,
    status: StatusCode,
    q: ListQuery,
    refused: Option<Refused<'_>>,
) -> Response {
    let page_req = match PageRequest::new(Some(50), q.after) {
        Ok(p) => p,
        Err(m) => return page::error(state, &staff.desk, WebError::BadRequest(m)),
    };
    let found = match payments::unmatched(&state.services, staff.tenant(), &page_req).await {
        Ok(f) => f,
        Err(e) => return page::error(state, &staff.desk, e),
    };
    let rows = found
        .items
        .iter()
        .map(|p| Row {
            id: p.id.to_string(),
            order_id: p.order_id.to_string(),
            order_status: p.order_status.as_str(),
            provider: p.provider.clone(),
            reference: p.reference.clone(),
            amount: crate::web::money::format(p.amount, &p.currency, crate::web::i18n::Lang::En),
            at: when(p.unmatched_at),
        })
        .collect();
    let next = page::next_link(PATH, &[], found.next_cursor.as_deref());
    let csrf = staff.desk.csrf(state);
    let notice = match q.done.as_deref() {
        Some("resolved") => Some("The payment was marked resolved."),
        _ => None,
    };
    let main = UnmatchedPage {
        csrf: &csrf,
        can_resolve: staff.desk.can(Permission::OrdersWrite),
        notice,
        problem: refused.as_ref().and_then(|r| r.refusal.top.as_deref()),
        refused_id: refused.as_ref().map_or("", |r| r.id),
        refused_note: refused.as_ref().map_or("", |r| r.note),
        refused_message: refused.as_ref().and_then(|r| r.refusal.get("resolution")),
        max: payments::MAX_RESOLUTION,
        rows,
        next,
    }
    .render();
    page::render(state, &staff.desk, PATH, status, "Unmatched payments", main)
}

/// `GET /console/payments/unmatched`.
pub async fn unmatched(
    State(state): State<AppState>,
    staff: Staff,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Response {
    if let Err(r) = staff.require(&state, Permission::OrdersRead) {
        return r;
    }
    let Ok(Query(q)) = q else {
        return page::bad_request(&state, &staff.desk, "The address could not be read.");
    };
    list_page(&state, &staff, StatusCode::OK, q, None).await
}

#[derive(Debug, Default, Deserialize)]
pub struct ResolveForm {
    #[serde(default)]
    pub resolution: String,
}

/// `POST /console/payments/{id}/resolve`.
pub async fn resolve(
    State(state): State<AppState>,
    staff: Staff,
    Path(raw): Path<String>,
    form: Result<Form<ResolveForm>, FormRejection>,
) -> Response {
    if let Err(r) = staff.require(&state, Permission::OrdersWrite) {
        return r;
    }
    let Ok(id) = raw.parse::<PaymentId>() else {
        return page::error(&state, &staff.desk, WebError::NotFound);
    };
    let Ok(Form(f)) = form else {
        return page::unreadable_form(&state, &staff.desk);
    };
    let audit = staff.desk.audit();
    match payments::resolve(&state.services, staff.tenant(), id, &f.resolution, &audit).await {
        Ok(_) => see_other(&format!("{PATH}?done=resolved")),
        Err(e) => match refusal(e) {
            Ok(r) => {
                let id = id.to_string();
                let refused = Refused {
                    id: &id,
                    note: &f.resolution,
                    refusal: &r,
                };
                list_page(
                    &state,
                    &staff,
                    r.status,
                    ListQuery::default(),
                    Some(refused),
                )
                .await
            }
            Err(e) => page::error(&state, &staff.desk, e),
        },
    }
}
