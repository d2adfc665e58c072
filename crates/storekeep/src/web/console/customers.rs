//! The console's customers (issue 18): `/console/customers`, the shop's
//! customer accounts keyset-paged (oldest first, no count), and
//! `/console/customers/{id}`, one customer with their orders and rental
//! contracts, the data export (the admin API's, as a JSON attachment) and
//! the erasure (the admin API's, confirmed by typing the email).
//!
//! Everything here needs `customers:read`; the erasure `customers:erase`.
//! The export is a form post, not a link: it writes an audit entry
//! (`customer.data_exported`), so another site must not be able to
//! trigger it (the console's CSRF guard checks every post).

use askama::Template;
use axum::Form;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use storekeep_domain::{ContractFilter, OrderFilter, PageRequest, Permission, UserId};

use crate::app::AppState;
use crate::services::ServiceError;
use crate::services::contracts;
use crate::services::customers::{self, Customer};
use crate::services::orders::{self, Audience};
use crate::services::privacy::{self, Requester};
use crate::web::WebError;
use crate::web::console::desk::Staff;
use crate::web::console::orders::{OrderRow, limit, when};
use crate::web::console::page;
use crate::web::i18n::Lang;
use crate::web::pages::shopper::see_other;
use crate::wire::privacy::CustomerExportBody;

fn page_request(limit_raw: &str, after: &str) -> Result<PageRequest, String> {
    let after = Some(after.trim().to_owned()).filter(|a| !a.is_empty());
    PageRequest::new(limit(limit_raw)?, after)
}

// ---------------------------------------------------------------- list

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    limit: String,
    #[serde(default)]
    after: String,
}

struct CustomerRow {
    id: String,
    email: String,
    name: String,
    since: String,
    mfa: bool,
    erased: bool,
}

impl CustomerRow {
    fn new(c: &Customer) -> Self {
        Self {
            id: c.account.id.to_string(),
            email: c.account.email.clone(),
            name: c.account.name.clone().unwrap_or_default(),
            since: when(&c.account.created_at),
            mfa: c.account.mfa_enabled,
            erased: c.erased,
        }
    }
}

#[derive(Template)]
#[template(path = "console/customers_list.html")]
struct ListPage {
    rows: Vec<CustomerRow>,
    next: Option<String>,
}

/// `GET /console/customers`.
pub async fn list(
    State(state): State<AppState>,
    staff: Staff,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Response {
    if let Err(r) = staff.require(&state, Permission::CustomersRead) {
        return r;
    }
    let Ok(Query(q)) = query else {
        return page::bad_request(
            &state,
            &staff.desk,
            "The page's parameters could not be read.",
        );
    };
    let page = match page_request(&q.limit, &q.after) {
        Ok(p) => p,
        Err(m) => return page::bad_request(&state, &staff.desk, m),
    };
    let (items, next) = match customers::list(&state.services, staff.tenant(), &page).await {
        Ok(f) => f,
        Err(e) => return page::error(&state, &staff.desk, e),
    };
    let next = page::next_link(
        "/console/customers",
        &[("limit", q.limit.trim())],
        next.as_deref(),
    );
    let main = ListPage {
        rows: items.iter().map(CustomerRow::new).collect(),
        next,
    }
    .render();
    page::render(
        &state,
        &staff.desk,
        "/console/customers",
        StatusCode::OK,
        "Customers",
        main,
    )
}

// -------------------------------------------------------------- detail

#[derive(Debug, Default, Deserialize)]
pub struct DetailQuery {
    #[serde(default)]
    done: String,
    /// The orders' page.
    #[serde(default)]
    after: String,
    /// The rental contracts' page.
    #[serde(default)]
    rentals_after: String,
}

struct ContractRow {
    id: String,
    status: String,
    start: String,
    term: i32,
    deposit_held: String,
}

#[derive(Template)]
#[template(path = "console/customers_detail.html")]
struct DetailPage {
    id: String,
    csrf: String,
    notice: Option<&'static str>,
    problem: Option<String>,
    blocking: Vec<String>,
    confirm_problem: Option<String>,
    typed_confirm: String,
    email: String,
    name: String,
    phone: String,
    since: String,
    mfa: bool,
    erased: bool,
    orders: Vec<OrderRow>,
    orders_next: Option<String>,
    contracts: Vec<ContractRow>,
    contracts_next: Option<String>,
    can_erase: bool,
}

/// What a refused erasure left to show.
#[derive(Debug, Default)]
struct Problems {
    top: Option<String>,
    blocking: Vec<String>,
    confirm: Option<String>,
    typed_confirm: String,
}

fn parse_id(raw: &str) -> Option<UserId> {
    raw.parse().ok()
}

async fn show(
    state: &AppState,
    staff: &Staff,
    id: UserId,
    status: StatusCode,
    q: &DetailQuery,
    p: Problems,
) -> Response {
    let svc = &state.services;
    let tenant = staff.tenant();
    let customer = match customers::get(svc, tenant, id).await {
        Ok(c) => c,
        Err(e) => return page::error(state, &staff.desk, e),
    };
    let pages =
        page_request("", &q.after).and_then(|o| Ok((o, page_request("", &q.rentals_after)?)));
    let (orders_page, contracts_page) = match pages {
        Ok(p) => p,
        Err(m) => return page::bad_request(state, &staff.desk, m),
    };
    let filter = OrderFilter {
        customer_id: Some(id),
        ..OrderFilter::default()
    };
    let found = match orders::list(svc, tenant, &filter, &orders_page, Audience::Staff).await {
        Ok(f) => f,
        Err(e) => return page::error(state, &staff.desk, e),
    };
    let filter = ContractFilter {
        status: None,
        customer_id: Some(id),
    };
    let rentals = match contracts::list(svc, tenant, &filter, &contracts_page).await {
        Ok(f) => f,
        Err(e) => return page::error(state, &staff.desk, e),
    };
    let path = format!("/console/customers/{id}");
    let after = q.after.trim();
    let rentals_after = q.rentals_after.trim();
    let a = &customer.account;
    let main = DetailPage {
        id: id.to_string(),
        csrf: staff.desk.csrf(state),
        notice: match q.done.as_str() {
            "erased" => Some("The customer's personal data is erased."),
            _ => None,
        },
        problem: p.top,
        blocking: p.blocking,
        confirm_problem: p.confirm,
        typed_confirm: p.typed_confirm,
        email: a.email.clone(),
        name: a.name.clone().unwrap_or_default(),
        phone: a.phone.clone().unwrap_or_default(),
        since: when(&a.created_at),
        mfa: a.mfa_enabled,
        erased: customer.erased,
        orders: found.items.iter().map(OrderRow::new).collect(),
        orders_next: page::next_link(
            &path,
            &[("rentals_after", rentals_after)],
            found.next_cursor.as_deref(),
        ),
        contracts: rentals
            .items
            .iter()
            .map(|c| ContractRow {
                id: c.id.to_string(),
                status: c.status.as_str().to_owned(),
                start: c.start_date.format("%Y-%m-%d").to_string(),
                term: c.term,
                deposit_held: crate::web::money::format(c.deposit_held, &c.currency, Lang::En),
            })
            .collect(),
        contracts_next: rentals.next_cursor.as_deref().map(|cursor| {
            let mut s = url::form_urlencoded::Serializer::new(String::new());
            if !after.is_empty() {
                s.append_pair("after", after);
            }
            s.append_pair("rentals_after", cursor);
            format!("{path}?{}", s.finish())
        }),
        can_erase: staff.desk.can(Permission::CustomersErase) && !customer.erased,
    }
    .render();
    page::render(
        state,
        &staff.desk,
        "/console/customers",
        status,
        "Customer",
        main,
    )
}

/// `GET /console/customers/{id}`.
pub async fn detail(
    State(state): State<AppState>,
    staff: Staff,
    Path(raw): Path<String>,
    query: Result<Query<DetailQuery>, QueryRejection>,
) -> Response {
    if let Err(r) = staff.require(&state, Permission::CustomersRead) {
        return r;
    }
    let Some(id) = parse_id(&raw) else {
        return page::error(&state, &staff.desk, WebError::NotFound);
    };
    let Ok(Query(q)) = query else {
        return page::bad_request(
            &state,
            &staff.desk,
            "The page's parameters could not be read.",
        );
    };
    show(&state, &staff, id, StatusCode::OK, &q, Problems::default()).await
}

// ------------------------------------------------------------- actions

/// `POST /console/customers/{id}/export`: the admin API's export document
/// (`GET /api/v1/admin/customers/{id}/export`), as a download. Audited.
pub async fn export(
    State(state): State<AppState>,
    staff: Staff,
    Path(raw): Path<String>,
) -> Response {
    if let Err(r) = staff.require(&state, Permission::CustomersRead) {
        return r;
    }
    let Some(id) = parse_id(&raw) else {
        return page::error(&state, &staff.desk, WebError::NotFound);
    };
    let export = match privacy::export(
        &state.services,
        staff.tenant(),
        id,
        Requester::Staff,
        &staff.desk.audit(),
    )
    .await
    {
        Ok(e) => e,
        Err(e) => return page::error(&state, &staff.desk, e),
    };
    let body = match serde_json::to_vec_pretty(&CustomerExportBody { export }) {
        Ok(b) => b,
        Err(e) => {
            return page::error(
                &state,
                &staff.desk,
                WebError::Internal(format!("the export: {e}")),
            );
        }
    };
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let name = format!(
        "attachment; filename=\"{}-customer-{id}.json\"",
        staff.tenant().slug.as_str()
    );
    if let Ok(v) = HeaderValue::from_str(&name) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    r
}

/// The erasure's form: the customer's email typed again.
#[derive(Debug, Default, Deserialize)]
pub struct EraseForm {
    #[serde(default)]
    confirm: String,
}

/// `POST /console/customers/{id}/erase`: the admin API's erasure, once the
/// customer's email is typed into `confirm` (case and surrounding spaces
/// aside). Refused with 409 while the customer has open orders or running
/// contracts (named), 422 when the confirmation does not match.
pub async fn erase(
    State(state): State<AppState>,
    staff: Staff,
    Path(raw): Path<String>,
    form: Result<Form<EraseForm>, FormRejection>,
) -> Response {
    if let Err(r) = staff.require(&state, Permission::CustomersErase) {
        return r;
    }
    let Ok(Form(form)) = form else {
        return page::unreadable_form(&state, &staff.desk);
    };
    let Some(id) = parse_id(&raw) else {
        return page::error(&state, &staff.desk, WebError::NotFound);
    };
    let svc = &state.services;
    let tenant = staff.tenant();
    let customer = match customers::get(svc, tenant, id).await {
        Ok(c) => c,
        Err(e) => return page::error(&state, &staff.desk, e),
    };
    let q = DetailQuery::default();
    let typed = form.confirm.trim();
    if customer.erased {
        let p = Problems {
            top: Some("This customer's personal data is already erased.".into()),
            ..Problems::default()
        };
        return show(&state, &staff, id, StatusCode::CONFLICT, &q, p).await;
    }
    if !typed.eq_ignore_ascii_case(customer.account.email.trim()) {
        let p = Problems {
            top: Some("Nothing was erased: see the form below.".into()),
            confirm: Some(if typed.is_empty() {
                "Type the customer's email address to confirm.".into()
            } else {
                "This is not the customer's email address.".into()
            }),
            typed_confirm: typed.to_owned(),
            ..Problems::default()
        };
        return show(&state, &staff, id, StatusCode::UNPROCESSABLE_ENTITY, &q, p).await;
    }
    match privacy::erase(svc, tenant, id, &staff.desk.audit()).await {
        Ok(_) => see_other(&format!("/console/customers/{id}?done=erased")),
        Err(ServiceError::Conflict { detail, errors }) => {
            let p = Problems {
                top: Some(format!("Nothing was erased: {detail}.")),
                blocking: errors
                    .iter()
                    .map(|e| {
                        let what = e
                            .field
                            .replace("rental_contracts[", "Rental contract ")
                            .replace("orders[", "Order ")
                            .replace(']', "");
                        format!("{what} {}", e.message)
                    })
                    .collect(),
                typed_confirm: typed.to_owned(),
                ..Problems::default()
            };
            show(&state, &staff, id, StatusCode::CONFLICT, &q, p).await
        }
        Err(e) => page::error(&state, &staff.desk, e),
    }
}
