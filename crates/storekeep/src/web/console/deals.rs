//! The console's deals and coupons: the keyset-paged list
//! (`Permission::CatalogRead`), a new coupon or automatic deal (off the
//! whole order, or off chosen products — found with a search box, never
//! a list of the whole catalog — or categories), and
//! ending or deleting one (`Permission::CatalogWrite`), all through
//! `services::deals` — the admin API's rules and messages.

use askama::Template;
use axum::Form;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Deserialize;
use storekeep_domain::{Deal, DealId, DealKind, Money, PageRequest, Permission};

use crate::app::AppState;
use crate::services::{ServiceError, deals, products as catalog_products};
use crate::web::WebError;
use crate::web::console::desk::Staff;
use crate::web::console::page;
use crate::web::console::products::{Problems, date, id_or_404, refusal};
use crate::web::i18n::Lang;
use crate::web::money;
use crate::web::pages::shopper::see_other;
use crate::wire::deals::DealInput;
use crate::wire::storefront::SearchParams;
use storekeep_store::StoreError;

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    after: String,
    #[serde(default)]
    done: String,
}

struct Row {
    id: String,
    name: String,
    code: String,
    off: String,
    applies_to: &'static str,
    state: &'static str,
    uses: String,
    starts: String,
    ends: String,
    can_end: bool,
}

#[derive(Template)]
#[template(path = "console/deals_list.html")]
struct ListPage {
    csrf: String,
    can_write: bool,
    notice: Option<&'static str>,
    problem: Option<String>,
    rows: Vec<Row>,
    next: Option<String>,
}

fn off(d: &Deal, currency: &str) -> String {
    match d.kind {
        DealKind::Percentage => format!("{} % off", d.value),
        DealKind::Fixed => format!("{} off", money::format(d.value, currency, Lang::En)),
    }
}

async fn render_list(
    state: &AppState,
    staff: &Staff,
    status: StatusCode,
    after: &str,
    notice: Option<&'static str>,
    problem: Option<String>,
) -> Response {
    let after = (!after.is_empty()).then(|| after.to_owned());
    let req = match PageRequest::new(None, after) {
        Ok(r) => r,
        Err(m) => return page::error(state, &staff.desk, WebError::BadRequest(m)),
    };
    let tenant = staff.tenant();
    let found = match deals::list(&state.services, tenant, &req).await {
        Ok(f) => f,
        Err(e) => return page::error(state, &staff.desk, e),
    };
    let now = Utc::now();
    let currency = &tenant.settings.currency;
    let rows = found
        .items
        .iter()
        .map(|d| {
            let st = deals::state_of(d, now);
            Row {
                id: d.id.to_string(),
                name: d.name.clone(),
                code: d.code.clone().unwrap_or_default(),
                off: off(d, currency),
                applies_to: d.target.as_str(),
                state: st,
                uses: match d.max_uses {
                    Some(m) => format!("{} of {m}", d.uses),
                    None => d.uses.to_string(),
                },
                starts: d.starts_at.map(date).unwrap_or_default(),
                ends: d.ends_at.map(date).unwrap_or_default(),
                can_end: matches!(st, "live" | "scheduled" | "sold_out"),
            }
        })
        .collect();
    let main = ListPage {
        csrf: staff.desk.csrf(state),
        can_write: staff.desk.can(Permission::CatalogWrite),
        notice,
        problem,
        rows,
        next: page::next_link("/console/deals", &[], found.next_cursor.as_deref()),
    }
    .render();
    page::render(state, &staff.desk, "/console/deals", status, "Deals", main)
}

/// `GET /console/deals`.
pub async fn list(
    State(state): State<AppState>,
    staff: Staff,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Response {
    if let Err(r) = staff.require(&state, Permission::CatalogRead) {
        return r;
    }
    let Ok(Query(q)) = query else {
        return page::bad_request(&state, &staff.desk, "The page link could not be read.");
    };
    let notice = match q.done.as_str() {
        "created" => Some("The deal was created."),
        "ended" => Some("The deal was ended."),
        "deleted" => Some("The deal was deleted."),
        _ => None,
    };
    render_list(&state, &staff, StatusCode::OK, &q.after, notice, None).await
}

// --- a new deal

#[derive(Debug, Default, Deserialize)]
pub struct NewForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    value: String,
    #[serde(default)]
    starts_at: String,
    #[serde(default)]
    ends_at: String,
    #[serde(default)]
    max_uses: String,
    #[serde(default)]
    max_uses_per_customer: String,
    /// `order` (the default), `products` or `categories`.
    #[serde(default)]
    applies_to: String,
    /// The product search's words.
    #[serde(default)]
    q: String,
    /// The chosen products' and categories' ids (checkboxes).
    #[serde(skip)]
    products: Vec<String>,
    #[serde(skip)]
    categories: Vec<String>,
}

impl NewForm {
    /// The form from its fields as posted (checkboxes repeat a name).
    fn of(pairs: &[(String, String)]) -> Self {
        let one = |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let all = |k: &str| -> Vec<String> {
            let mut v: Vec<String> = pairs
                .iter()
                .filter(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
                .collect();
            v.dedup();
            v
        };
        Self {
            name: one("name"),
            code: one("code"),
            kind: one("kind"),
            value: one("value"),
            starts_at: one("starts_at"),
            ends_at: one("ends_at"),
            max_uses: one("max_uses"),
            max_uses_per_customer: one("max_uses_per_customer"),
            applies_to: one("applies_to"),
            q: one("q"),
            products: all("product"),
            categories: all("category"),
        }
    }
}

/// Most products the console's form takes for one deal (the API takes
/// up to 1000); the page lists what it shows, so it stays small.
const MAX_CHOSEN: usize = 50;
/// Most products one search shows.
const FOUND: u32 = 20;

/// A product or category the form offers.
struct Pick {
    value: String,
    label: String,
    checked: bool,
}

#[derive(Template)]
#[template(path = "console/deals_new.html")]
struct NewPage<'a> {
    csrf: String,
    f: &'a NewForm,
    amount: bool,
    target: &'a str,
    products: Vec<Pick>,
    searched: bool,
    categories: Vec<Pick>,
    problems: Problems,
    currency: &'a str,
}

/// The new-deal page: the chosen products (checked) and the search's
/// finds (at most [`FOUND`]), every category (a shop's categories are few
/// and the product page lists them all too).
async fn render_new(
    state: &AppState,
    staff: &Staff,
    status: StatusCode,
    f: &NewForm,
    mut problems: Problems,
) -> Response {
    let svc = &state.services;
    let tenant = staff.tenant();
    let mut products = Vec::new();
    for raw in f.products.iter().take(MAX_CHOSEN) {
        let Ok(id) = raw.parse() else { continue };
        match catalog_products::get(svc, tenant, id).await {
            Ok(p) => products.push(Pick {
                value: p.id.to_string(),
                label: format!("{} ({})", p.title, p.handle),
                checked: true,
            }),
            // Not the shop's (or gone): not offered again.
            Err(ServiceError::Store(StoreError::NotFound(_))) => {}
            Err(e) => return page::error(state, &staff.desk, e),
        }
    }
    let searched = !f.q.trim().is_empty();
    if searched {
        let params = SearchParams {
            q: f.q.trim().to_owned(),
            limit: Some(FOUND),
            after: None,
        };
        match catalog_products::search(svc, tenant, &params).await {
            Ok(found) => {
                for p in found.items.into_iter().take(FOUND as usize) {
                    let value = p.id.to_string();
                    if !products.iter().any(|c| c.value == value) {
                        products.push(Pick {
                            value,
                            label: format!("{} ({})", p.title, p.handle),
                            checked: false,
                        });
                    }
                }
            }
            Err(ServiceError::Invalid(v)) => {
                for e in v.0 {
                    problems.add("q", e.message);
                }
            }
            Err(e) => return page::error(state, &staff.desk, e),
        }
    }
    let categories = match catalog_products::categories(svc, tenant).await {
        Ok(c) => c
            .into_iter()
            .map(|c| {
                let value = c.id.to_string();
                Pick {
                    checked: f.categories.contains(&value),
                    value,
                    label: c.name,
                }
            })
            .collect(),
        Err(e) => return page::error(state, &staff.desk, e),
    };
    let target = match f.applies_to.as_str() {
        "products" => "products",
        "categories" => "categories",
        _ => "order",
    };
    let main = NewPage {
        csrf: staff.desk.csrf(state),
        f,
        amount: f.kind == "amount",
        target,
        products,
        searched,
        categories,
        problems,
        currency: &tenant.settings.currency,
    }
    .render();
    page::render(
        state,
        &staff.desk,
        "/console/deals/new",
        status,
        "New deal",
        main,
    )
}

/// `GET /console/deals/new`.
pub async fn new_page(State(state): State<AppState>, staff: Staff) -> Response {
    if let Err(r) = staff.require(&state, Permission::CatalogWrite) {
        return r;
    }
    render_new(
        &state,
        &staff,
        StatusCode::OK,
        &NewForm::default(),
        Problems::default(),
    )
    .await
}

/// A `datetime-local` value, read as UTC; empty is none.
fn parse_when(p: &mut Problems, field: &str, raw: &str) -> Option<DateTime<Utc>> {
    let t = raw.trim();
    if t.is_empty() {
        return None;
    }
    let parsed = NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S"))
        .or_else(|_| NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M"));
    match parsed {
        Ok(n) => Some(n.and_utc()),
        Err(_) => {
            p.add(
                field,
                "Enter a date and time in UTC, such as 2026-12-01 09:00",
            );
            None
        }
    }
}

/// A whole number typed in a field; empty is none.
fn parse_number(p: &mut Problems, field: &str, raw: &str) -> Option<i64> {
    let t = raw.trim();
    if t.is_empty() {
        return None;
    }
    match t.parse() {
        Ok(n) => Some(n),
        Err(_) => {
            p.add(field, "Enter a whole number, such as 100");
            None
        }
    }
}

/// `POST /console/deals/new`: a coupon (with a code) or an automatic deal
/// (without), off the whole order or off chosen products or categories.
/// The form's "Find products" button (`action=search`) posts here too: the
/// page comes back with the search's finds and nothing is written.
pub async fn create(
    State(state): State<AppState>,
    staff: Staff,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    if let Err(r) = staff.require(&state, Permission::CatalogWrite) {
        return r;
    }
    let Ok(Form(pairs)) = form else {
        return page::unreadable_form(&state, &staff.desk);
    };
    let f = NewForm::of(&pairs);
    let searching = pairs.iter().any(|(k, v)| k == "action" && v == "search");
    if searching {
        let mut p = Problems::default();
        let mut status = StatusCode::OK;
        if f.q.trim().is_empty() {
            p.add("q", "Type words of a product's title, or its handle");
            status = StatusCode::UNPROCESSABLE_ENTITY;
        }
        return render_new(&state, &staff, status, &f, p).await;
    }
    let tenant = staff.tenant();
    let currency = tenant.settings.currency.clone();
    let mut p = Problems::default();
    let (percent_off, amount_off) = match f.kind.as_str() {
        "amount" => match money::parse_major(&f.value, &currency, Lang::En) {
            Some(a) => (
                None,
                Some(Money {
                    amount: a,
                    currency: currency.clone(),
                }),
            ),
            None => {
                p.add(
                    "value",
                    format!("Enter an amount in {currency}, such as 5.00"),
                );
                (None, None)
            }
        },
        "percent" => match f.value.trim().trim_end_matches('%').trim().parse() {
            Ok(n) => (Some(n), None),
            Err(_) => {
                p.add("value", "Enter a whole percentage from 1 to 100");
                (None, None)
            }
        },
        _ => {
            p.add("kind", "Choose a percentage or an amount off");
            (None, None)
        }
    };
    let starts_at = parse_when(&mut p, "starts_at", &f.starts_at);
    let ends_at = parse_when(&mut p, "ends_at", &f.ends_at);
    let max_uses = parse_number(&mut p, "max_uses", &f.max_uses);
    let per_customer = parse_number(&mut p, "max_uses_per_customer", &f.max_uses_per_customer);
    let applies_to = match f.applies_to.as_str() {
        "" | "order" => "order",
        "products" => "products",
        "categories" => "categories",
        _ => {
            p.add(
                "applies_to",
                "Choose the whole order, products or categories",
            );
            "order"
        }
    };
    // Only the chosen target's picks count (the other list's checkboxes
    // may still be ticked from an earlier choice).
    let mut product_ids = Vec::new();
    let mut category_ids = Vec::new();
    match applies_to {
        "products" if f.products.is_empty() => p.add("products", "Choose at least one product"),
        "products" if f.products.len() > MAX_CHOSEN => p.add(
            "products",
            format!("Choose at most {MAX_CHOSEN} products here (the API takes more)"),
        ),
        "products" => {
            for raw in &f.products {
                match raw.parse() {
                    Ok(id) => product_ids.push(id),
                    Err(_) => {
                        p.add("products", "Choose products of this shop");
                        break;
                    }
                }
            }
        }
        "categories" if f.categories.is_empty() => {
            p.add("categories", "Choose at least one category");
        }
        "categories" => {
            for raw in &f.categories {
                match raw.parse() {
                    Ok(id) => category_ids.push(id),
                    Err(_) => {
                        p.add("categories", "Choose categories of this shop");
                        break;
                    }
                }
            }
        }
        _ => {}
    }
    if !p.is_empty() {
        return render_new(&state, &staff, StatusCode::UNPROCESSABLE_ENTITY, &f, p).await;
    }
    let input = DealInput {
        name: f.name.clone(),
        description: String::new(),
        percent_off,
        amount_off,
        applies_to: applies_to.into(),
        product_ids,
        category_ids,
        code: (!f.code.trim().is_empty()).then(|| f.code.clone()),
        starts_at,
        ends_at,
        max_uses,
        max_uses_per_customer: per_customer,
        max_units: None,
        active: true,
    };
    match deals::create(&state.services, tenant, input, &staff.desk.audit()).await {
        Ok(_) => {
            state.services.cache.invalidate(tenant.id).await;
            see_other("/console/deals?done=created")
        }
        Err(e) => match refusal(e, |field| match field {
            "percent_off" | "amount_off" => Some("value"),
            "product_ids" => Some("products"),
            "category_ids" => Some("categories"),
            _ => None,
        }) {
            Ok((status, p)) => render_new(&state, &staff, status, &f, p).await,
            Err(e) => page::error(&state, &staff.desk, e),
        },
    }
}

// --- end, delete

/// The deal's definition as the service takes it back.
fn input_of(d: &Deal, currency: &str) -> DealInput {
    let (percent_off, amount_off) = match d.kind {
        DealKind::Percentage => (Some(d.value), None),
        DealKind::Fixed => (
            None,
            Some(Money {
                amount: d.value,
                currency: currency.to_owned(),
            }),
        ),
    };
    DealInput {
        name: d.name.clone(),
        description: d.description.clone(),
        percent_off,
        amount_off,
        applies_to: d.target.as_str().to_owned(),
        product_ids: d.product_ids.clone(),
        category_ids: d.category_ids.clone(),
        code: d.code.clone(),
        starts_at: d.starts_at,
        ends_at: d.ends_at,
        max_uses: d.max_uses,
        max_uses_per_customer: d.max_uses_per_customer,
        max_units: d.max_units,
        active: d.active,
    }
}

/// `POST /console/deals/{id}/end`: a started deal ends now (its end is
/// set to the present); one not started yet is switched off.
pub async fn end(State(state): State<AppState>, staff: Staff, Path(raw): Path<String>) -> Response {
    if let Err(r) = staff.require(&state, Permission::CatalogWrite) {
        return r;
    }
    let id: DealId = match id_or_404(&state, &staff, &raw) {
        Ok(id) => id,
        Err(r) => return *r,
    };
    let tenant = staff.tenant();
    let svc = &state.services;
    let deal = match deals::get(svc, tenant, id).await {
        Ok(d) => d,
        Err(e) => return page::error(&state, &staff.desk, e),
    };
    let now = Utc::now();
    let mut input = input_of(&deal, &tenant.settings.currency);
    if deal.starts_at.is_some_and(|s| s >= now) {
        input.active = false;
    } else {
        input.ends_at = Some(now);
    }
    match deals::replace(svc, tenant, id, input, &staff.desk.audit()).await {
        Ok(_) => {
            svc.cache.invalidate(tenant.id).await;
            see_other("/console/deals?done=ended")
        }
        Err(e) => match refusal(e, |_| None) {
            Ok((status, p)) => render_list(&state, &staff, status, "", None, p.summary()).await,
            Err(e) => page::error(&state, &staff.desk, e),
        },
    }
}

/// `POST /console/deals/{id}/delete`: orders that used it keep their prices.
pub async fn delete(
    State(state): State<AppState>,
    staff: Staff,
    Path(raw): Path<String>,
) -> Response {
    if let Err(r) = staff.require(&state, Permission::CatalogWrite) {
        return r;
    }
    let id: DealId = match id_or_404(&state, &staff, &raw) {
        Ok(id) => id,
        Err(r) => return *r,
    };
    let tenant = staff.tenant();
    let svc = &state.services;
    match deals::delete(svc, tenant, id, &staff.desk.audit()).await {
        Ok(()) => {
            svc.cache.invalidate(tenant.id).await;
            see_other("/console/deals?done=deleted")
        }
        Err(e) => page::error(&state, &staff.desk, e),
    }
}
