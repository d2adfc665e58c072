//! The console's rental screens: the shop's contracts
//! (`/console/rentals`, `orders:read`) and one contract with its schedule,
//! payments and deposit, where staff with `orders:write` record a payment,
//! a buy-out or the return of the goods with their inspection; and the
//! serial-tracked units (`/console/rentals/units`, `catalog:read`) with
//! their history, where staff with `catalog:write` finish the inspection
//! of a returned unit.
//!
//! Every action goes through the service the admin API's handler calls
//! (`contracts::pay_installment`, `contracts::end::{quote, buy_out,
//! return_goods}`, `rentals::units::move_to`), so the rules and refusals
//! are the API's; a refusal re-renders the page with 422 (a field) or 409
//! (the contract's or unit's state) and nothing written.

use std::collections::BTreeMap;

use askama::Template;
use axum::Form;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use storekeep_domain::{
    ContractDetail, ContractStatus, InspectionOutcome, InstallmentId, Permission, RentalContractId,
    RentalUnitId, UnitStatus,
};
use storekeep_store::StoreError;

use crate::app::AppState;
use crate::services::contracts::statement::{InstallmentState, Statement};
use crate::services::contracts::{self, end};
use crate::services::orders;
use crate::services::rentals::units;
use crate::services::{ServiceError, Services};
use crate::web::WebError;
use crate::web::console::desk::Staff;
use crate::web::console::page;
use crate::web::i18n::Lang;
use crate::web::pages::shopper::see_other;
use crate::wire::contracts::{BuyoutBody, ContractQuery, InstallmentPaymentBody, ReturnBody};
use crate::wire::orders::OrderView;
use crate::wire::rentals::{RentalUnitInput, RentalUnitPatch, RentalUnitQuery, UnitStatusInput};

/// A list's page size.
const PAGE: u32 = 50;

pub(crate) use crate::web::console::page::when;

fn money(amount: i64, currency: &str) -> String {
    crate::web::money::format(amount, currency, Lang::En)
}

/// What a refused action shows: the status, field problems (field →
/// message) and a message for the top of the page.
pub(crate) struct Refusal {
    pub status: StatusCode,
    pub fields: BTreeMap<String, String>,
    pub top: Option<String>,
}

impl Refusal {
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            fields: BTreeMap::from([(field.to_owned(), message.into())]),
            top: Some("Nothing was recorded: correct the form below.".into()),
        }
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.fields.get(field).map(String::as_str)
    }
}

/// A service's refusal as the page shows it: field problems (422), a
/// state that does not allow the action (409); anything else (not found,
/// the database down) is the error page.
pub(crate) fn refusal(e: ServiceError) -> Result<Refusal, WebError> {
    match e {
        ServiceError::Invalid(errors) => Ok(Refusal {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            fields: errors.0.into_iter().map(|f| (f.field, f.message)).collect(),
            top: Some("Nothing was recorded: correct the form below.".into()),
        }),
        ServiceError::BadRequest(m) => Ok(Refusal {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            fields: BTreeMap::new(),
            top: Some(m),
        }),
        ServiceError::Store(StoreError::Invalid(m)) => Ok(conflict(m)),
        ServiceError::Store(StoreError::Conflict { field }) => {
            Ok(conflict(&format!("{field} is already taken")))
        }
        ServiceError::Store(StoreError::UnknownReference { field }) => Ok(Refusal::field(
            field,
            "refers to something that does not exist",
        )),
        ServiceError::Store(e @ StoreError::LimitReached(_)) => Ok(conflict(&e.to_string())),
        ServiceError::Conflict { detail, .. } => Ok(conflict(&detail)),
        other => Err(other.into()),
    }
}

fn conflict(m: &str) -> Refusal {
    let mut top = m.to_owned();
    if let Some(first) = top.get(..1) {
        top.replace_range(..1, &first.to_uppercase());
    }
    Refusal {
        status: StatusCode::CONFLICT,
        fields: BTreeMap::new(),
        top: Some(format!("{top}. Nothing was recorded.")),
    }
}

/// An empty value filters nothing.
fn nonempty(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// The notice a `?done=` names.
fn notice(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "payment" => "The payment was recorded.",
        "buyout" => "The buy-out was recorded: the goods are the customer's.",
        "return" => "The return was recorded; the unit waits for its inspection.",
        "inspected" => "The unit's inspection was recorded.",
        "extended" => "The contract was extended: its new installments are in the schedule.",
        "unit" => "The unit was saved.",
        "added" => "The unit was added, available to rent.",
        _ => return None,
    })
}

// --- The contracts list --------------------------------------------------

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    pub status: Option<String>,
    pub after: Option<String>,
}

pub struct ContractRow {
    pub id: String,
    pub status: &'static str,
    pub kind: &'static str,
    pub term: String,
    pub per_period: String,
    pub deposit_held: String,
    pub start: String,
    pub created: String,
}

#[derive(Template)]
#[template(path = "console/rentals_list.html")]
struct ListPage<'a> {
    statuses: Vec<(&'static str, bool)>,
    status: &'a str,
    rows: Vec<ContractRow>,
    next: Option<String>,
}

fn term_of(term: i32, unit: storekeep_domain::TermUnit) -> String {
    let unit = unit.as_str();
    if term == 1 {
        format!("1 {unit}")
    } else {
        format!("{term} {unit}s")
    }
}

/// `GET /console/rentals`.
pub async fn list(
    State(state): State<AppState>,
    staff: Staff,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Response {
    if let Err(r) = staff.require(&state, Permission::OrdersRead) {
        return r;
    }
    let Ok(Query(q)) = q else {
        return page::bad_request(&state, &staff.desk, "The filter could not be read.");
    };
    let status = nonempty(q.status);
    let query = ContractQuery {
        status: status.clone(),
        customer_id: None,
        limit: Some(PAGE),
        after: q.after,
    };
    let found = match contracts::parse_query(&query) {
        Ok((filter, page)) => {
            contracts::list(&state.services, staff.tenant(), &filter, &page).await
        }
        Err(e) => Err(e),
    };
    let found = match found {
        Ok(f) => f,
        Err(e) => return page::error(&state, &staff.desk, e),
    };
    let status = status.unwrap_or_default();
    let rows = found
        .items
        .iter()
        .map(|c| ContractRow {
            id: c.id.to_string(),
            status: c.status.as_str(),
            kind: c.terms.kind.as_str(),
            term: term_of(c.term, c.terms.term_unit),
            per_period: money(c.terms.price_per_period, &c.currency),
            deposit_held: money(c.deposit_held, &c.currency),
            start: c.start_date.to_string(),
            created: when(c.created_at),
        })
        .collect();
    let next = page::next_link(
        "/console/rentals",
        &[("status", status.as_str())],
        found.next_cursor.as_deref(),
    );
    let main = ListPage {
        statuses: ContractStatus::ALL
            .iter()
            .map(|s| (s.as_str(), s.as_str() == status))
            .collect(),
        status: &status,
        rows,
        next,
    }
    .render();
    page::render(
        &state,
        &staff.desk,
        "/console/rentals",
        StatusCode::OK,
        "Rental contracts",
        main,
    )
}

// --- One contract ----------------------------------------------------------

pub struct ScheduleRow {
    pub id: String,
    pub seq: i32,
    pub due: String,
    pub amount: String,
    pub late_fee: String,
    pub state: &'static str,
    pub paid: bool,
}

pub struct PaymentRow {
    pub kind: &'static str,
    pub amount: String,
    pub provider: String,
    pub reference: String,
    pub reason: String,
    pub by: String,
    pub at: String,
}

pub struct BuyoutShown {
    pub price: String,
    pub late_fees: String,
    pub total: String,
    pub total_minor: i64,
    pub terms: String,
}

/// What the return form shows again after a refusal.
#[derive(Debug, Default, Clone)]
pub struct ReturnTyped {
    pub outcome: String,
    pub charge: String,
    pub reason: String,
    pub notes: String,
    /// The extension form's periods.
    pub periods: String,
}

#[derive(Template)]
#[template(path = "console/rentals_contract.html")]
struct ContractPage<'a> {
    csrf: &'a str,
    id: String,
    notice: Option<&'static str>,
    problem: Option<&'a str>,
    refusal: Option<&'a Refusal>,
    status: &'static str,
    kind: &'static str,
    customer: String,
    customer_id: String,
    order_id: String,
    unit: Option<(String, String, &'static str)>,
    term: String,
    per_period: String,
    cash_price: String,
    deposit: String,
    deposit_held: String,
    deposit_held_major: String,
    start: String,
    time_zone: String,
    created: String,
    schedule: Vec<ScheduleRow>,
    paid: String,
    left: String,
    payments: Vec<PaymentRow>,
    buyout: Option<BuyoutShown>,
    no_buyout: Option<String>,
    /// `orders:write` and the contract running.
    can_act: bool,
    /// The goods may be returned now.
    can_return: bool,
    unpaid: Vec<(String, String)>,
    typed: ReturnTyped,
    /// The contract may be extended (running, its terms allow it, the
    /// plan's longest term not reached): by at most this many periods.
    extend_by: Option<i32>,
}

impl ContractPage<'_> {
    fn err(&self, field: &str) -> Option<&str> {
        self.refusal.and_then(|r| r.get(field))
    }

    fn outcome_is(&self, o: &str) -> bool {
        self.typed.outcome == o
    }
}

async fn customer_of(svc: &Services, staff: &Staff, d: &ContractDetail) -> String {
    // The order's email (it is the staff's view of the order); a read
    // that fails leaves the customer as their account id.
    match orders::get(svc, staff.tenant(), d.contract.order_id).await {
        Ok(o) => OrderView::new(&o, &svc.keyring).map_or_else(|_| String::new(), |v| v.email),
        Err(_) => String::new(),
    }
}

async fn contract_page(
    state: &AppState,
    staff: &Staff,
    id: RentalContractId,
    status: StatusCode,
    notice: Option<&'static str>,
    refusal: Option<&Refusal>,
    typed: ReturnTyped,
) -> Response {
    let svc = &state.services;
    let d = match contracts::get(svc, staff.tenant(), id).await {
        Ok(d) => d,
        Err(e) => return page::error(state, &staff.desk, e),
    };
    let c = &d.contract;
    let cur = c.currency.as_str();
    let statement = Statement::new(&d, storekeep_store::now());
    let schedule: Vec<ScheduleRow> = statement
        .lines
        .iter()
        .map(|l| ScheduleRow {
            id: l.id.to_string(),
            seq: l.seq,
            due: l.due_date.to_string(),
            amount: money(l.amount, cur),
            late_fee: if l.late_fee > 0 {
                money(l.late_fee, cur)
            } else {
                String::new()
            },
            state: match l.state {
                InstallmentState::Paid => "paid",
                InstallmentState::Due => "due",
                InstallmentState::Overdue => "overdue",
            },
            paid: l.state == InstallmentState::Paid,
        })
        .collect();
    let unpaid = schedule
        .iter()
        .filter(|r| !r.paid)
        .map(|r| {
            (
                r.id.clone(),
                format!("#{} due {} ({})", r.seq, r.due, r.amount),
            )
        })
        .collect();
    let payments = d
        .payments
        .iter()
        .map(|p| PaymentRow {
            kind: p.kind.as_str(),
            amount: money(p.amount, cur),
            provider: p.provider.clone(),
            reference: p.reference.clone(),
            reason: p.reason.clone().unwrap_or_default(),
            by: p.actor.clone().unwrap_or_default(),
            at: when(p.created_at),
        })
        .collect();
    let (buyout, no_buyout) = match end::quote(&d) {
        Ok(q) => (
            Some(BuyoutShown {
                price: money(q.buyout_price.amount, cur),
                late_fees: money(q.late_fees.amount, cur),
                total: money(q.total.amount, cur),
                total_minor: q.total.amount,
                terms: q.terms,
            }),
            None,
        ),
        Err(ServiceError::Store(StoreError::Invalid(m))) => (None, Some(m.to_owned())),
        Err(e) => return page::error(state, &staff.desk, e),
    };
    let running = matches!(c.status, ContractStatus::Active | ContractStatus::Overdue);
    let can_act = staff.desk.can(Permission::OrdersWrite) && running;
    let extend_by = (can_act && c.terms.extension_allowed && c.term < c.terms.max_term)
        .then(|| c.terms.max_term - c.term);
    let customer = customer_of(svc, staff, &d).await;
    let csrf = staff.desk.csrf(state);
    let typed = if typed.outcome.is_empty() {
        ReturnTyped {
            outcome: "ok".into(),
            ..typed
        }
    } else {
        typed
    };
    let main = ContractPage {
        csrf: &csrf,
        id: c.id.to_string(),
        notice,
        problem: refusal.and_then(|r| r.top.as_deref()),
        refusal,
        status: c.status.as_str(),
        kind: c.terms.kind.as_str(),
        customer,
        customer_id: c.customer_id.map(|u| u.to_string()).unwrap_or_default(),
        order_id: c.order_id.to_string(),
        unit: d
            .unit
            .as_ref()
            .map(|u| (u.id.to_string(), u.serial.clone(), u.status.as_str())),
        term: term_of(c.term, c.terms.term_unit),
        per_period: money(c.terms.price_per_period, cur),
        cash_price: money(c.cash_price, cur),
        deposit: money(c.deposit, cur),
        deposit_held: money(c.deposit_held, cur),
        deposit_held_major: crate::web::money::plain(c.deposit_held, cur),
        start: c.start_date.to_string(),
        time_zone: c.time_zone.clone(),
        created: when(c.created_at),
        schedule,
        paid: money(statement.paid, cur),
        left: money(statement.left, cur),
        payments,
        buyout,
        no_buyout,
        can_act,
        can_return: can_act && end::started(&d),
        unpaid,
        typed,
        extend_by,
    }
    .render();
    page::render(
        state,
        &staff.desk,
        "/console/rentals",
        status,
        &format!("Rental contract {}", c.id),
        main,
    )
}

#[derive(Debug, Default, Deserialize)]
pub struct DoneQuery {
    pub done: Option<String>,
}

fn contract_id(raw: &str) -> Option<RentalContractId> {
    raw.parse().ok()
}

/// `GET /console/rentals/{id}`.
pub async fn contract(
    State(state): State<AppState>,
    staff: Staff,
    Path(raw): Path<String>,
    q: Result<Query<DoneQuery>, QueryRejection>,
) -> Response {
    if let Err(r) = staff.require(&state, Permission::OrdersRead) {
        return r;
    }
    let Some(id) = contract_id(&raw) else {
        return page::error(&state, &staff.desk, WebError::NotFound);
    };
    let done = q.ok().and_then(|Query(q)| q.done);
    contract_page(
        &state,
        &staff,
        id,
        StatusCode::OK,
        notice(done.as_deref()),
        None,
        ReturnTyped::default(),
    )
    .await
}

#[derive(Debug, Default, Deserialize)]
pub struct PayForm {
    #[serde(default)]
    pub installment_id: String,
    #[serde(default)]
    pub reference: String,
}

/// After a refused action: the contract again with the refusal.
async fn refused(
    state: &AppState,
    staff: &Staff,
    id: RentalContractId,
    e: ServiceError,
    typed: ReturnTyped,
) -> Response {
    match refusal(e) {
        Ok(r) => contract_page(state, staff, id, r.status, None, Some(&r), typed).await,
        Err(e) => page::error(state, &staff.desk, e),
    }
}

/// `POST /console/rentals/{id}/payments`: an installment paid outside the
/// shop's processors (the first unpaid one unless the form names one).
pub async fn pay(
    State(state): State<AppState>,
    staff: Staff,
    Path(raw): Path<String>,
    form: Result<Form<PayForm>, FormRejection>,
) -> Response {
    if let Err(r) = staff.require(&state, Permission::OrdersWrite) {
        return r;
    }
    let Some(id) = contract_id(&raw) else {
        return page::error(&state, &staff.desk, WebError::NotFound);
    };
    let Ok(Form(f)) = form else {
        return page::unreadable_form(&state, &staff.desk);
    };
    let installment_id = match f.installment_id.trim() {
        "" => None,
        raw => match raw.parse::<InstallmentId>() {
            Ok(i) => Some(i),
            Err(_) => {
                let r = Refusal::field("installment_id", "is not one of this contract's");
                return contract_page(
                    &state,
                    &staff,
                    id,
                    r.status,
                    None,
                    Some(&r),
                    ReturnTyped::default(),
                )
                .await;
            }
        },
    };
    let body = InstallmentPaymentBody {
        installment_id,
        reference: Some(f.reference),
    };
    let audit = staff.desk.audit();
    match contracts::pay_installment(&state.services, staff.tenant(), id, body, &audit).await {
        Ok(_) => see_other(&format!("/console/rentals/{id}?done=payment")),
        Err(ServiceError::Store(StoreError::Conflict {
            field: "installment_id",
        })) => {
            let r = Refusal {
                status: StatusCode::CONFLICT,
                ..Refusal::field("installment_id", "is paid already")
            };
            contract_page(
                &state,
                &staff,
                id,
                r.status,
                None,
                Some(&r),
                ReturnTyped::default(),
            )
            .await
        }
        Err(e) => refused(&state, &staff, id, e, ReturnTyped::default()).await,
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct BuyoutForm {
    #[serde(default)]
    pub reference: String,
    /// The quote's total (minor units) the page showed.
    #[serde(default)]
    pub amount: String,
}

/// `POST /console/rentals/{id}/buyout`: the buy-out at the total the page
/// showed (a different total now is a 409, as in the API).
pub async fn buy_out(
    State(state): State<AppState>,
    staff: Staff,
    Path(raw): Path<String>,
    form: Result<Form<BuyoutForm>, FormRejection>,
) -> Response {
    if let Err(r) = staff.require(&state, Permission::OrdersWrite) {
        return r;
    }
    let Some(id) = contract_id(&raw) else {
        return page::error(&state, &staff.desk, WebError::NotFound);
    };
    let Ok(Form(f)) = form else {
        return page::unreadable_form(&state, &staff.desk);
    };
    let amount = match f.amount.trim() {
        "" => None,
        raw => match raw.parse::<i64>() {
            Ok(a) => Some(a),
            Err(_) => return page::unreadable_form(&state, &staff.desk),
        },
    };
    let body = BuyoutBody {
        reference: Some(f.reference),
        amount,
    };
    let audit = staff.desk.audit();
    match end::buy_out(&state.services, staff.tenant(), id, body, &audit).await {
        Ok(_) => see_other(&format!("/console/rentals/{id}?done=buyout")),
        Err(e) => refused(&state, &staff, id, e, ReturnTyped::default()).await,
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ReturnForm {
    #[serde(default)]
    pub outcome: String,
    /// In major units (`15.00`); empty for none.
    #[serde(default)]
    pub charge: String,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub notes: String,
}

/// `POST /console/rentals/{id}/return`: the goods back (or missing) as
/// inspected, a damage charge kept from the deposit.
pub async fn return_goods(
    State(state): State<AppState>,
    staff: Staff,
    Path(raw): Path<String>,
    form: Result<Form<ReturnForm>, FormRejection>,
) -> Response {
    if let Err(r) = staff.require(&state, Permission::OrdersWrite) {
        return r;
    }
    let Some(id) = contract_id(&raw) else {
        return page::error(&state, &staff.desk, WebError::NotFound);
    };
    let Ok(Form(f)) = form else {
        return page::unreadable_form(&state, &staff.desk);
    };
    let typed = ReturnTyped {
        outcome: f.outcome.clone(),
        charge: f.charge.clone(),
        reason: f.reason.clone(),
        notes: f.notes.clone(),
        ..ReturnTyped::default()
    };
    let Some(outcome) = InspectionOutcome::parse(f.outcome.trim()) else {
        let r = Refusal::field("outcome", "must be ok, damaged or missing");
        return contract_page(&state, &staff, id, r.status, None, Some(&r), typed).await;
    };
    let svc = &state.services;
    let currency = &staff.tenant().settings.currency;
    let charge = match f.charge.trim() {
        "" => None,
        raw => match crate::web::money::parse_major(raw, currency, Lang::En) {
            Some(c) => Some(c),
            None => {
                let r = Refusal::field("charge", "must be an amount such as 15.00");
                return contract_page(&state, &staff, id, r.status, None, Some(&r), typed).await;
            }
        },
    };
    let body = ReturnBody {
        outcome,
        charge,
        reason: Some(f.reason),
        notes: Some(f.notes),
    };
    let audit = staff.desk.audit();
    match end::return_goods(svc, staff.tenant(), id, body, &audit).await {
        Ok(_) => see_other(&format!("/console/rentals/{id}?done=return")),
        Err(ServiceError::Invalid(mut errors)) => {
            // The API says the bound in minor units; the console in money.
            for fe in &mut errors.0 {
                if fe.field == "charge" && fe.message.starts_with("must be between 1 and") {
                    fe.message = match contracts::get(svc, staff.tenant(), id).await {
                        Ok(d) => format!(
                            "must be more than zero and at most the deposit held ({})",
                            money(d.contract.deposit_held, &d.contract.currency)
                        ),
                        Err(_) => "must be more than zero and at most the deposit held".into(),
                    };
                }
            }
            refused(&state, &staff, id, ServiceError::Invalid(errors), typed).await
        }
        Err(e) => refused(&state, &staff, id, e, typed).await,
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ExtendForm {
    #[serde(default)]
    pub periods: String,
}

/// `POST /console/rentals/{id}/extend`: more periods on a running
/// contract, through the API's extension (its terms must allow it and the
/// plan's longest term bounds it).
pub async fn extend(
    State(state): State<AppState>,
    staff: Staff,
    Path(raw): Path<String>,
    form: Result<Form<ExtendForm>, FormRejection>,
) -> Response {
    if let Err(r) = staff.require(&state, Permission::OrdersWrite) {
        return r;
    }
    let Some(id) = contract_id(&raw) else {
        return page::error(&state, &staff.desk, WebError::NotFound);
    };
    let Ok(Form(f)) = form else {
        return page::unreadable_form(&state, &staff.desk);
    };
    let typed = ReturnTyped {
        periods: f.periods.clone(),
        ..ReturnTyped::default()
    };
    let Ok(periods) = f.periods.trim().parse::<i32>() else {
        let r = Refusal::field("periods", "must be a whole number of periods");
        return contract_page(&state, &staff, id, r.status, None, Some(&r), typed).await;
    };
    let body = crate::wire::contracts::ExtendBody { periods };
    let audit = staff.desk.audit();
    match contracts::extend(&state.services, staff.tenant(), id, &body, &audit).await {
        Ok(_) => see_other(&format!("/console/rentals/{id}?done=extended")),
        Err(e) => refused(&state, &staff, id, e, typed).await,
    }
}

// --- Units -------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
pub struct UnitListQuery {
    pub status: Option<String>,
    pub after: Option<String>,
}

pub struct UnitRow {
    pub id: String,
    pub serial: String,
    pub status: &'static str,
    pub condition: &'static str,
    pub contract: String,
    pub updated: String,
}

#[derive(Template)]
#[template(path = "console/rentals_units.html")]
struct UnitsPage<'a> {
    statuses: Vec<(&'static str, bool)>,
    status: &'a str,
    rows: Vec<UnitRow>,
    next: Option<String>,
    csrf: &'a str,
    /// `catalog:write`: the add-a-unit form.
    can_add: bool,
    notice: Option<&'static str>,
    problem: Option<&'a str>,
    refusal: Option<&'a Refusal>,
    typed: AddTyped,
}

impl UnitsPage<'_> {
    fn err(&self, field: &str) -> Option<&str> {
        self.refusal.and_then(|r| r.get(field))
    }
}

/// `GET /console/rentals/units`.
pub async fn units(
    State(state): State<AppState>,
    staff: Staff,
    q: Result<Query<UnitListQuery>, QueryRejection>,
) -> Response {
    if let Err(r) = staff.require(&state, Permission::CatalogRead) {
        return r;
    }
    let Ok(Query(q)) = q else {
        return page::bad_request(&state, &staff.desk, "The filter could not be read.");
    };
    units_page(&state, &staff, q, StatusCode::OK, None, AddTyped::default()).await
}

/// What the add-a-unit form typed, and what was refused in it.
#[derive(Debug, Default)]
pub struct AddTyped {
    pub variant_id: String,
    pub serial: String,
    pub condition: String,
    pub notes: String,
    pub notice: Option<&'static str>,
}

async fn units_page(
    state: &AppState,
    staff: &Staff,
    q: UnitListQuery,
    code: StatusCode,
    refusal: Option<&Refusal>,
    typed: AddTyped,
) -> Response {
    let status = nonempty(q.status);
    let query = RentalUnitQuery {
        variant_id: None,
        status: status.clone(),
        condition: None,
        limit: Some(PAGE),
        after: q.after,
    };
    let found = match units::parse_query(&query) {
        Ok((filter, page)) => units::list(&state.services, staff.tenant(), &filter, &page).await,
        Err(e) => Err(e),
    };
    let found = match found {
        Ok(f) => f,
        Err(e) => return page::error(state, &staff.desk, e),
    };
    let status = status.unwrap_or_default();
    let rows = found
        .items
        .iter()
        .map(|u| UnitRow {
            id: u.id.to_string(),
            serial: u.serial.clone(),
            status: u.status.as_str(),
            condition: u.condition.as_str(),
            contract: u.contract_id.map(|c| c.to_string()).unwrap_or_default(),
            updated: when(u.updated_at),
        })
        .collect();
    let next = page::next_link(
        "/console/rentals/units",
        &[("status", status.as_str())],
        found.next_cursor.as_deref(),
    );
    let csrf = staff.desk.csrf(state);
    let main = UnitsPage {
        statuses: UnitStatus::ALL
            .iter()
            .map(|s| (s.as_str(), s.as_str() == status))
            .collect(),
        status: &status,
        rows,
        next,
        csrf: &csrf,
        can_add: staff.desk.can(Permission::CatalogWrite),
        notice: typed.notice,
        problem: refusal.and_then(|r| r.top.as_deref()),
        refusal,
        typed,
    }
    .render();
    page::render(
        state,
        &staff.desk,
        "/console/rentals",
        code,
        "Rental units",
        main,
    )
}

#[derive(Debug, Default, Deserialize)]
pub struct AddUnitForm {
    #[serde(default)]
    pub variant_id: String,
    #[serde(default)]
    pub serial: String,
    #[serde(default)]
    pub condition: String,
    #[serde(default)]
    pub notes: String,
}

/// `POST /console/rentals/units`: a new serial-tracked unit, available,
/// through the API's unit creation.
pub async fn add_unit(
    State(state): State<AppState>,
    staff: Staff,
    form: Result<Form<AddUnitForm>, FormRejection>,
) -> Response {
    if let Err(r) = staff.require(&state, Permission::CatalogWrite) {
        return r;
    }
    let Ok(Form(f)) = form else {
        return page::unreadable_form(&state, &staff.desk);
    };
    let input = RentalUnitInput {
        variant_id: f.variant_id.clone(),
        serial: f.serial.clone(),
        condition: nonempty(Some(f.condition.clone())),
        notes: f.notes.clone(),
    };
    let typed = AddTyped {
        variant_id: f.variant_id,
        serial: f.serial,
        condition: f.condition,
        notes: f.notes,
        notice: None,
    };
    let audit = staff.desk.audit();
    match units::add(&state.services, staff.tenant(), input, &audit).await {
        Ok(u) => see_other(&format!("/console/rentals/units/{}?done=added", u.id)),
        Err(e) => match refusal(e) {
            Ok(r) => {
                let q = UnitListQuery::default();
                units_page(&state, &staff, q, r.status, Some(&r), typed).await
            }
            Err(e) => page::error(&state, &staff.desk, e),
        },
    }
}

pub struct EventRow {
    pub kind: &'static str,
    pub contract: String,
    pub condition: &'static str,
    pub note: String,
    pub by: String,
    pub at: String,
}

/// What the unit page's forms show again after a refusal: the inspection
/// form's fields, or the grade-and-notes form's.
#[derive(Debug, Default, Clone)]
pub struct InspectTyped {
    pub status: String,
    pub condition: String,
    pub note: String,
    pub edit: Option<EditTyped>,
}

#[derive(Template)]
#[template(path = "console/rentals_unit.html")]
struct UnitPage<'a> {
    csrf: &'a str,
    id: String,
    notice: Option<&'static str>,
    problem: Option<&'a str>,
    refusal: Option<&'a Refusal>,
    serial: String,
    status: &'static str,
    condition: &'static str,
    notes: String,
    variant: String,
    contract: String,
    created: String,
    updated: String,
    history: Vec<EventRow>,
    can_inspect: bool,
    typed: InspectTyped,
    /// `catalog:write`: the grade-and-notes form.
    can_edit: bool,
    edit: EditTyped,
}

impl UnitPage<'_> {
    /// A refusal of the inspection form.
    fn err(&self, field: &str) -> Option<&str> {
        self.refusal
            .filter(|_| !self.edit.refused)
            .and_then(|r| r.get(field))
    }

    /// A refusal of the grade-and-notes form.
    fn edit_err(&self, field: &str) -> Option<&str> {
        self.refusal
            .filter(|_| self.edit.refused)
            .and_then(|r| r.get(field))
    }
}

/// What the grade-and-notes form shows (the unit's own values, or what
/// was typed into a refused post).
#[derive(Debug, Default, Clone)]
pub struct EditTyped {
    pub condition: String,
    pub notes: String,
    pub refused: bool,
}

fn unit_id(raw: &str) -> Option<RentalUnitId> {
    raw.parse().ok()
}

async fn unit_page(
    state: &AppState,
    staff: &Staff,
    id: RentalUnitId,
    status: StatusCode,
    notice: Option<&'static str>,
    refusal: Option<&Refusal>,
    typed: InspectTyped,
) -> Response {
    let (u, history) = match units::get(&state.services, staff.tenant(), id).await {
        Ok(x) => x,
        Err(e) => return page::error(state, &staff.desk, e),
    };
    let csrf = staff.desk.csrf(state);
    let typed = if typed.status.is_empty() {
        InspectTyped {
            status: "available".into(),
            condition: u.condition.as_str().into(),
            ..typed
        }
    } else {
        typed
    };
    let main = UnitPage {
        csrf: &csrf,
        id: u.id.to_string(),
        notice,
        problem: refusal.and_then(|r| r.top.as_deref()),
        refusal,
        serial: u.serial.clone(),
        status: u.status.as_str(),
        condition: u.condition.as_str(),
        notes: u.notes.clone(),
        variant: u.variant_id.to_string(),
        contract: u.contract_id.map(|c| c.to_string()).unwrap_or_default(),
        created: when(u.created_at),
        updated: when(u.updated_at),
        history: history
            .iter()
            .map(|e| EventRow {
                kind: e.kind.as_str(),
                contract: e.contract_id.map(|c| c.to_string()).unwrap_or_default(),
                condition: e.condition.map_or("", |c| c.as_str()),
                note: e.note.clone(),
                by: e.by.clone().unwrap_or_default(),
                at: when(e.at),
            })
            .collect(),
        can_inspect: u.status == UnitStatus::Inspection && staff.desk.can(Permission::CatalogWrite),
        can_edit: staff.desk.can(Permission::CatalogWrite),
        edit: typed.edit.clone().unwrap_or_else(|| EditTyped {
            condition: u.condition.as_str().into(),
            notes: u.notes.clone(),
            refused: false,
        }),
        typed,
    }
    .render();
    page::render(
        state,
        &staff.desk,
        "/console/rentals",
        status,
        &format!("Unit {}", u.serial),
        main,
    )
}

/// `GET /console/rentals/units/{id}`.
pub async fn unit(
    State(state): State<AppState>,
    staff: Staff,
    Path(raw): Path<String>,
    q: Result<Query<DoneQuery>, QueryRejection>,
) -> Response {
    if let Err(r) = staff.require(&state, Permission::CatalogRead) {
        return r;
    }
    let Some(id) = unit_id(&raw) else {
        return page::error(&state, &staff.desk, WebError::NotFound);
    };
    let done = q.ok().and_then(|Query(q)| q.done);
    unit_page(
        &state,
        &staff,
        id,
        StatusCode::OK,
        notice(done.as_deref()),
        None,
        InspectTyped::default(),
    )
    .await
}

#[derive(Debug, Default, Deserialize)]
pub struct InspectForm {
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub condition: String,
    #[serde(default)]
    pub note: String,
}

/// `POST /console/rentals/units/{id}/status`: the end of a returned
/// unit's inspection (back to available, to repair, or retired), through
/// the API's status move.
pub async fn inspect(
    State(state): State<AppState>,
    staff: Staff,
    Path(raw): Path<String>,
    form: Result<Form<InspectForm>, FormRejection>,
) -> Response {
    if let Err(r) = staff.require(&state, Permission::CatalogWrite) {
        return r;
    }
    let Some(id) = unit_id(&raw) else {
        return page::error(&state, &staff.desk, WebError::NotFound);
    };
    let Ok(Form(f)) = form else {
        return page::unreadable_form(&state, &staff.desk);
    };
    let typed = InspectTyped {
        status: f.status.clone(),
        condition: f.condition.clone(),
        note: f.note.clone(),
        edit: None,
    };
    let input = UnitStatusInput {
        status: f.status.trim().to_owned(),
        note: f.note,
        condition: nonempty(Some(f.condition)),
    };
    let audit = staff.desk.audit();
    match units::move_to(&state.services, staff.tenant(), id, input, &audit).await {
        Ok(_) => see_other(&format!("/console/rentals/units/{id}?done=inspected")),
        Err(e) => match refusal(e) {
            Ok(r) => unit_page(&state, &staff, id, r.status, None, Some(&r), typed).await,
            Err(e) => page::error(&state, &staff.desk, e),
        },
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct EditUnitForm {
    #[serde(default)]
    pub condition: String,
    #[serde(default)]
    pub notes: String,
}

/// `POST /console/rentals/units/{id}`: a unit's grade and notes, through
/// the API's unit update (audited; the unit's status moves elsewhere).
pub async fn edit_unit(
    State(state): State<AppState>,
    staff: Staff,
    Path(raw): Path<String>,
    form: Result<Form<EditUnitForm>, FormRejection>,
) -> Response {
    if let Err(r) = staff.require(&state, Permission::CatalogWrite) {
        return r;
    }
    let Some(id) = unit_id(&raw) else {
        return page::error(&state, &staff.desk, WebError::NotFound);
    };
    let Ok(Form(f)) = form else {
        return page::unreadable_form(&state, &staff.desk);
    };
    let patch = RentalUnitPatch {
        condition: Some(f.condition.trim().to_owned()),
        notes: Some(f.notes.clone()),
    };
    let audit = staff.desk.audit();
    match units::update(&state.services, staff.tenant(), id, patch, &audit).await {
        Ok(_) => see_other(&format!("/console/rentals/units/{id}?done=unit")),
        Err(e) => match refusal(e) {
            Ok(r) => {
                let edit = EditTyped {
                    condition: f.condition,
                    notes: f.notes,
                    refused: true,
                };
                let typed = InspectTyped {
                    edit: Some(edit),
                    ..InspectTyped::default()
                };
                unit_page(&state, &staff, id, r.status, None, Some(&r), typed).await
            }
            Err(e) => page::error(&state, &staff.desk, e),
        },
    }
}
