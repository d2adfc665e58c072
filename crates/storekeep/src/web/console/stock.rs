//! A variant's stock in the console: the adjustment form (a signed change
//! and a reason, `services::products::adjust_inventory`) and the variant's
//! ledger (`services::products::ledger`, newest first, keyset-paged) at
//! `/console/products/{id}/variants/{vid}/ledger`.

use askama::Template;
use axum::Form;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use storekeep_domain::{PageRequest, Permission, Product, ProductId, Variant, VariantId};
use storekeep_store::StoreError;

use crate::app::AppState;
use crate::services::{ServiceError, products};
use crate::web::WebError;
use crate::web::console::desk::Staff;
use crate::web::console::page;
use crate::web::console::products::{Problems, date, id_or_404, refusal};
use crate::web::pages::shopper::see_other;

#[derive(Debug, Default, Deserialize)]
pub struct LedgerQuery {
    #[serde(default)]
    after: String,
    #[serde(default)]
    done: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct AdjustForm {
    #[serde(default)]
    delta: String,
    #[serde(default)]
    reason: String,
}

struct Entry {
    at: String,
    delta: String,
    on_hand_after: i64,
    reason: String,
    actor: String,
}

#[derive(Template)]
#[template(path = "console/products_ledger.html")]
struct LedgerPage<'a> {
    csrf: String,
    can_write: bool,
    notice: Option<&'static str>,
    product_id: String,
    product: &'a str,
    variant_id: String,
    sku: String,
    variant: &'a str,
    on_hand: i64,
    reserved: i64,
    available: i64,
    f: &'a AdjustForm,
    problems: Problems,
    entries: Vec<Entry>,
    next: Option<String>,
}

/// The product and its variant `vid`, both the shop's; else the 404 page.
async fn find(
    state: &AppState,
    staff: &Staff,
    raw: &(String, String),
) -> Result<(Product, Variant), Response> {
    let id: ProductId = id_or_404(state, staff, &raw.0).map_err(|r| *r)?;
    let vid: VariantId = id_or_404(state, staff, &raw.1).map_err(|r| *r)?;
    let product = products::get(&state.services, staff.tenant(), id)
        .await
        .map_err(|e| page::error(state, &staff.desk, e))?;
    let variant = product
        .variants
        .iter()
        .find(|v| v.id == vid)
        .cloned()
        .ok_or_else(|| page::error(state, &staff.desk, WebError::NotFound))?;
    Ok((product, variant))
}

struct Shown<'a> {
    status: StatusCode,
    notice: Option<&'static str>,
    after: &'a str,
    form: Option<(&'a AdjustForm, Problems)>,
}

async fn render(
    state: &AppState,
    staff: &Staff,
    product: &Product,
    variant: &Variant,
    s: Shown<'_>,
) -> Response {
    let after = (!s.after.is_empty()).then(|| s.after.to_owned());
    let page_req = match PageRequest::new(None, after) {
        Ok(p) => p,
        Err(m) => return page::error(state, &staff.desk, WebError::BadRequest(m)),
    };
    let ledger =
        match products::ledger(&state.services, staff.tenant(), variant.id, &page_req).await {
            Ok(l) => l,
            Err(e) => return page::error(state, &staff.desk, e),
        };
    let path = format!(
        "/console/products/{}/variants/{}/ledger",
        product.id, variant.id
    );
    let blank = AdjustForm::default();
    let (f, problems) = s.form.unwrap_or((&blank, Problems::default()));
    let main = LedgerPage {
        csrf: staff.desk.csrf(state),
        can_write: staff.desk.can(Permission::CatalogWrite),
        notice: s.notice,
        product_id: product.id.to_string(),
        product: &product.title,
        variant_id: variant.id.to_string(),
        sku: variant.sku.as_str().to_owned(),
        variant: &variant.title,
        on_hand: variant.inventory.on_hand,
        reserved: variant.inventory.reserved,
        available: variant.inventory.available,
        f,
        problems,
        entries: ledger
            .items
            .into_iter()
            .map(|a| Entry {
                at: date(a.at),
                delta: if a.delta > 0 {
                    format!("+{}", a.delta)
                } else {
                    a.delta.to_string()
                },
                on_hand_after: a.on_hand_after,
                reason: a.reason,
                actor: a.actor,
            })
            .collect(),
        next: page::next_link(&path, &[], ledger.next_cursor.as_deref()),
    }
    .render();
    page::render(
        state,
        &staff.desk,
        &path,
        s.status,
        &format!("Stock of {}", variant.sku.as_str()),
        main,
    )
}

/// `GET /console/products/{id}/variants/{vid}/ledger`.
pub async fn ledger(
    State(state): State<AppState>,
    staff: Staff,
    Path(raw): Path<(String, String)>,
    query: Result<Query<LedgerQuery>, QueryRejection>,
) -> Response {
    if let Err(r) = staff.require(&state, Permission::CatalogRead) {
        return r;
    }
    let Ok(Query(q)) = query else {
        return page::bad_request(&state, &staff.desk, "The page link could not be read.");
    };
    let (product, variant) = match find(&state, &staff, &raw).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let shown = Shown {
        status: StatusCode::OK,
        notice: (q.done == "adjusted").then_some("The stock was adjusted."),
        after: &q.after,
        form: None,
    };
    render(&state, &staff, &product, &variant, shown).await
}

/// `POST /console/products/{id}/variants/{vid}/adjust`: adds `delta` (a
/// signed whole number) to on-hand stock with `reason`; then the ledger.
/// Stock that would go below zero or below what is reserved is refused
/// (422, the message beside the change) and nothing is written.
pub async fn adjust(
    State(state): State<AppState>,
    staff: Staff,
    Path(raw): Path<(String, String)>,
    form: Result<Form<AdjustForm>, FormRejection>,
) -> Response {
    if let Err(r) = staff.require(&state, Permission::CatalogWrite) {
        return r;
    }
    let (product, variant) = match find(&state, &staff, &raw).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let Ok(Form(f)) = form else {
        return page::unreadable_form(&state, &staff.desk);
    };
    let refused = |status, problems| Shown {
        status,
        notice: None,
        after: "",
        form: Some((&f, problems)),
    };
    let delta: i64 = match f.delta.trim().trim_start_matches('+').parse() {
        Ok(d) => d,
        Err(_) => {
            let p = Problems::field("delta", "Enter a whole number, such as 5 or -2");
            let shown = refused(StatusCode::UNPROCESSABLE_ENTITY, p);
            return render(&state, &staff, &product, &variant, shown).await;
        }
    };
    let tenant = staff.tenant();
    let svc = &state.services;
    let done = products::adjust_inventory(
        svc,
        tenant,
        variant.id,
        delta,
        &f.reason,
        &staff.desk.audit(),
    )
    .await;
    match done {
        Ok((after, _)) => {
            svc.cache.invalidate(tenant.id).await;
            see_other(&format!(
                "/console/products/{}/variants/{}/ledger?done=adjusted",
                product.id, after.id
            ))
        }
        // The stock the change would leave is the typed change's problem:
        // fixed by typing another number, so 422 beside the field.
        Err(ServiceError::Store(StoreError::Invalid(m))) => {
            let p = Problems::field("delta", m);
            let shown = refused(StatusCode::UNPROCESSABLE_ENTITY, p);
            render(&state, &staff, &product, &variant, shown).await
        }
        Err(e) => match refusal(e, |_| None) {
            Ok((status, p)) => render(&state, &staff, &product, &variant, refused(status, p)).await,
            Err(e) => page::error(&state, &staff.desk, e),
        },
    }
}
