//! The console's products: the keyset-paged list with search and filters,
//! a new product, a product's page (edit its fields, its variants with
//! their stock, add a variant, its images), and the CSV export (the admin
//! bulk export's own CSV). Stock adjustments and the ledger are in
//! `web/console/stock.rs`.
//!
//! Every handler checks its permission first (`CatalogRead` to look,
//! `CatalogWrite` to change), calls `services::` only, and invalidates the
//! shop's storefront cache after a write, as the admin API's route layer
//! does for its own writes.

use askama::Template;
use axum::Form;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use storekeep_domain::{FieldError, Permission, Product, ProductId};
use storekeep_store::StoreError;

use crate::app::AppState;
use crate::services::{ServiceError, bulk, catalog, products};
use crate::web::WebError;
use crate::web::console::desk::Staff;
use crate::web::console::page;
use crate::web::i18n::Lang;
use crate::web::money;
use crate::web::pages::shopper::see_other;
use crate::wire::catalog::{ListParams, ProductInput, ProductPatchInput, VariantInput};
use crate::wire::storefront::SearchParams;

// --- what a refused form shows

/// The messages of a refused form post: each beside its field, and all of
/// them in a summary at the top (`role="alert"`).
#[derive(Debug, Default)]
pub struct Problems {
    pub top: Option<String>,
    pub fields: Vec<FieldError>,
}

impl Problems {
    /// The message of `field`, if it has one.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|f| f.field == field)
            .map(|f| f.message.as_str())
    }

    pub fn field(field: &str, message: impl Into<String>) -> Self {
        let mut p = Self::default();
        p.add(field, message);
        p
    }

    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.fields.push(FieldError {
            field: field.to_owned(),
            message: message.into(),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.top.is_none() && self.fields.is_empty()
    }

    /// The summary at the top: the top message, else every field's.
    pub fn summary(&self) -> Option<String> {
        if let Some(t) = &self.top {
            return Some(t.clone());
        }
        if self.fields.is_empty() {
            return None;
        }
        let all: Vec<String> = self
            .fields
            .iter()
            .map(|f| format!("{}: {}", f.field.replace('_', " "), f.message))
            .collect();
        Some(format!("Not saved. {}.", all.join("; ")))
    }
}

/// A service's refusal of a form post as the form shows it: invalid input
/// or a plan limit is `422`, a uniqueness conflict or a wrong state `409`;
/// `rename` maps the service's field paths to the form's field names. Any
/// other error is the caller's error page.
pub fn refusal(
    e: ServiceError,
    rename: impl Fn(&str) -> Option<&'static str>,
) -> Result<(StatusCode, Problems), ServiceError> {
    let mut p = Problems::default();
    let status = match e {
        ServiceError::Invalid(v) => {
            for f in v.0 {
                match rename(&f.field) {
                    Some(name) => p.add(name, f.message),
                    None => p.add(&f.field, f.message),
                }
            }
            StatusCode::UNPROCESSABLE_ENTITY
        }
        ServiceError::Store(StoreError::Conflict { field }) => {
            p.add(rename(field).unwrap_or(field), "is already taken");
            StatusCode::CONFLICT
        }
        ServiceError::Store(StoreError::UnknownReference { field }) => {
            p.add(
                rename(field).unwrap_or(field),
                "refers to something that does not exist",
            );
            StatusCode::UNPROCESSABLE_ENTITY
        }
        ServiceError::Store(StoreError::Invalid(m)) => {
            p.top = Some(format!("Not saved: {m}."));
            StatusCode::CONFLICT
        }
        ServiceError::Store(StoreError::LimitReached(what)) => {
            p.top = Some(format!("Not saved: the shop's plan allows no more {what}."));
            StatusCode::UNPROCESSABLE_ENTITY
        }
        ServiceError::PlanLimit(m) => {
            p.top = Some(format!("Not saved: {m}."));
            StatusCode::UNPROCESSABLE_ENTITY
        }
        ServiceError::Conflict { detail, .. } => {
            p.top = Some(format!("Not saved: {detail}."));
            StatusCode::CONFLICT
        }
        other => return Err(other),
    };
    Ok((status, p))
}

/// A record id from the path; anything unparsable is the 404 page (boxed:
/// a response is large beside an id).
pub fn id_or_404<T: std::str::FromStr>(
    state: &AppState,
    staff: &Staff,
    raw: &str,
) -> Result<T, Box<Response>> {
    raw.parse()
        .map_err(|_| Box::new(page::error(state, &staff.desk, WebError::NotFound)))
}

/// The short notice a page shows after `?done=<what>`.
fn notice(done: Option<&str>) -> Option<&'static str> {
    match done? {
        "created" => Some("The product was created."),
        "saved" => Some("The product was saved."),
        "variant" => Some("The variant was added."),
        "image" => Some("The image was added."),
        "image-removed" => Some("The image was removed."),
        _ => None,
    }
}

fn price_range(p: &Product, currency: &str) -> String {
    let amounts = p.variants.iter().map(|v| v.price.amount);
    match (amounts.clone().min(), amounts.max()) {
        (Some(lo), Some(hi)) if lo == hi => money::format(lo, currency, Lang::En),
        (Some(lo), Some(hi)) => format!(
            "{} – {}",
            money::format(lo, currency, Lang::En),
            money::format(hi, currency, Lang::En)
        ),
        _ => String::new(),
    }
}

pub(crate) use crate::web::console::page::when as date;

// --- the list

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    in_stock: String,
    #[serde(default)]
    after: String,
}

struct Row {
    id: String,
    title: String,
    handle: String,
    status: &'static str,
    variants: usize,
    price: String,
    stock: i64,
}

struct Choice {
    value: String,
    label: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "console/products_list.html")]
struct ListPage {
    can_write: bool,
    q: String,
    statuses: Vec<Choice>,
    categories: Vec<Choice>,
    in_stock: bool,
    searching: bool,
    rows: Vec<Row>,
    next: Option<String>,
}

fn statuses(current: &str) -> Vec<Choice> {
    [
        ("", "Any status"),
        ("draft", "Draft"),
        ("active", "Active"),
        ("archived", "Archived"),
    ]
    .into_iter()
    .map(|(v, l)| Choice {
        value: v.into(),
        label: l.into(),
        selected: v == current,
    })
    .collect()
}

/// `GET /console/products`: `q` searches (an exact handle in any status,
/// then active products by their words); without `q`, the admin list's
/// filters (`status`, `category`, `in_stock`), newest first.
pub async fn list(
    State(state): State<AppState>,
    staff: Staff,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Response {
    if let Err(r) = staff.require(&state, Permission::CatalogRead) {
        return r;
    }
    let Ok(Query(q)) = query else {
        return page::bad_request(&state, &staff.desk, "The filters could not be read.");
    };
    let in_stock = match q.in_stock.as_str() {
        "" => None,
        "true" => Some(true),
        _ => {
            return page::bad_request(&state, &staff.desk, "in_stock must be true or left out.");
        }
    };
    let svc = &state.services;
    let tenant = staff.tenant();
    let after = (!q.after.is_empty()).then(|| q.after.clone());
    let searching = !q.q.trim().is_empty();
    let found = if searching {
        let params = SearchParams {
            q: q.q.clone(),
            limit: None,
            after,
        };
        products::search(svc, tenant, &params).await
    } else {
        let params = ListParams {
            category: (!q.category.is_empty()).then(|| q.category.clone()),
            status: (!q.status.is_empty()).then(|| q.status.clone()),
            in_stock,
            after,
            ..ListParams::default()
        };
        products::list(svc, tenant, &params).await
    };
    let found = match found {
        Ok(f) => f,
        Err(e) => return page::error(&state, &staff.desk, e),
    };
    let categories = match products::categories(svc, tenant).await {
        Ok(c) => c,
        Err(e) => return page::error(&state, &staff.desk, e),
    };
    let currency = &tenant.settings.currency;
    let rows = found
        .items
        .iter()
        .map(|p| Row {
            id: p.id.to_string(),
            title: p.title.clone(),
            handle: p.handle.to_string(),
            status: p.status.as_str(),
            variants: p.variants.len(),
            price: price_range(p, currency),
            stock: p.variants.iter().map(|v| v.inventory.available).sum(),
        })
        .collect();
    let mut cats = vec![Choice {
        value: String::new(),
        label: "Any category".into(),
        selected: q.category.is_empty(),
    }];
    cats.extend(categories.iter().map(|c| Choice {
        value: c.id.to_string(),
        label: c.name.clone(),
        selected: c.id.to_string() == q.category || c.handle.as_str() == q.category,
    }));
    let filters = [
        ("q", q.q.as_str()),
        ("status", q.status.as_str()),
        ("category", q.category.as_str()),
        ("in_stock", q.in_stock.as_str()),
    ];
    let main = ListPage {
        can_write: staff.desk.can(Permission::CatalogWrite),
        q: q.q.clone(),
        statuses: statuses(&q.status),
        categories: cats,
        in_stock: in_stock.unwrap_or(false),
        searching,
        rows,
        next: page::next_link("/console/products", &filters, found.next_cursor.as_deref()),
    }
    .render();
    page::render(
        &state,
        &staff.desk,
        "/console/products",
        StatusCode::OK,
        "Products",
        main,
    )
}

// --- a new product

#[derive(Debug, Default, Deserialize)]
pub struct NewForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    handle: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    sku: String,
    #[serde(default)]
    price: String,
    #[serde(default)]
    stock: String,
}

#[derive(Template)]
#[template(path = "console/products_new.html")]
struct NewPage<'a> {
    csrf: String,
    f: &'a NewForm,
    statuses: Vec<Choice>,
    problems: Problems,
    currency: &'a str,
}

fn render_new(
    state: &AppState,
    staff: &Staff,
    status: StatusCode,
    f: &NewForm,
    problems: Problems,
) -> Response {
    let current = if f.status.is_empty() {
        "draft"
    } else {
        f.status.as_str()
    };
    let main = NewPage {
        csrf: staff.desk.csrf(state),
        f,
        statuses: statuses(current).into_iter().skip(1).collect(),
        problems,
        currency: &staff.tenant().settings.currency,
    }
    .render();
    page::render(
        state,
        &staff.desk,
        "/console/products/new",
        status,
        "New product",
        main,
    )
}

/// `GET /console/products/new`.
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
}

/// A typed stock figure (empty is zero).
fn parse_count(raw: &str) -> Option<i64> {
    let t = raw.trim();
    if t.is_empty() {
        return Some(0);
    }
    t.parse().ok()
}

/// `POST /console/products/new`: the product with one variant.
pub async fn create(
    State(state): State<AppState>,
    staff: Staff,
    form: Result<Form<NewForm>, FormRejection>,
) -> Response {
    if let Err(r) = staff.require(&state, Permission::CatalogWrite) {
        return r;
    }
    let Ok(Form(f)) = form else {
        return page::unreadable_form(&state, &staff.desk);
    };
    let tenant = staff.tenant();
    let currency = tenant.settings.currency.clone();
    let mut problems = Problems::default();
    let price = money::parse_major(&f.price, &currency, Lang::En);
    if price.is_none() {
        problems.add(
            "price",
            format!("Enter an amount in {currency}, such as 19.99"),
        );
    }
    let stock = parse_count(&f.stock);
    if stock.is_none() {
        problems.add("stock", "Enter a whole number, such as 10");
    }
    if !problems.is_empty() {
        return render_new(
            &state,
            &staff,
            StatusCode::UNPROCESSABLE_ENTITY,
            &f,
            problems,
        );
    }
    let input = ProductInput {
        handle: (!f.handle.trim().is_empty()).then(|| f.handle.clone()),
        title: f.title.clone(),
        description: f.description.clone(),
        status: (!f.status.is_empty()).then(|| f.status.clone()),
        tags: Vec::new(),
        categories: Vec::new(),
        variants: vec![VariantInput {
            sku: f.sku.clone(),
            title: None,
            options: Default::default(),
            price: storekeep_domain::Money {
                amount: price.unwrap_or(0),
                currency,
            },
            compare_at_price: None,
            inventory: stock,
        }],
    };
    match catalog::create_product(&state.services, tenant, &input, &staff.desk.audit()).await {
        Ok(p) => {
            state.services.cache.invalidate(tenant.id).await;
            see_other(&format!("/console/products/{}?done=created", p.id))
        }
        Err(e) => match refusal(e, |f| match f {
            "variants[0].sku" | "variants" => Some("sku"),
            "variants[0].price" => Some("price"),
            "variants[0].inventory" => Some("stock"),
            _ => None,
        }) {
            Ok((status, p)) => render_new(&state, &staff, status, &f, p),
            Err(e) => page::error(&state, &staff.desk, e),
        },
    }
}

// --- a product's page

struct VariantRow {
    id: String,
    sku: String,
    title: String,
    price: String,
    on_hand: i64,
    reserved: i64,
    available: i64,
}

struct ImageRow {
    id: String,
    url: String,
    alt: String,
    size: String,
}

/// The edit form's values (the product's, or what was typed).
#[derive(Debug, Default)]
pub struct EditValues {
    title: String,
    handle: String,
    description: String,
    status: String,
    categories: Vec<String>,
}

/// The add-variant form's values.
#[derive(Debug, Default, Deserialize)]
pub struct VariantForm {
    #[serde(default)]
    sku: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    price: String,
    #[serde(default)]
    stock: String,
}

#[derive(Template)]
#[template(path = "console/products_show.html")]
struct ShowPage<'a> {
    csrf: String,
    can_write: bool,
    notice: Option<&'static str>,
    id: String,
    heading: &'a str,
    e: &'a EditValues,
    statuses: Vec<Choice>,
    categories: Vec<Choice>,
    problems: Problems,
    variants: Vec<VariantRow>,
    images: Vec<ImageRow>,
    v: &'a VariantForm,
    vproblems: Problems,
    currency: &'a str,
    /// The upload form's action, its token in the query (see
    /// `desk::upload_token`).
    upload_action: String,
    image_alt: &'a str,
    iproblems: Problems,
}

/// What a product page shows besides the product: a notice, or a refused
/// form's values and messages.
pub(crate) struct Shown<'a> {
    pub status: StatusCode,
    pub notice: Option<&'static str>,
    pub edit: Option<(&'a EditValues, Problems)>,
    pub variant: Option<(&'a VariantForm, Problems)>,
    /// A refused image upload: the alt text typed and the messages.
    pub image: Option<(&'a str, Problems)>,
}

pub(crate) async fn render_show(
    state: &AppState,
    staff: &Staff,
    product: &Product,
    s: Shown<'_>,
) -> Response {
    let tenant = staff.tenant();
    let categories = match products::categories(&state.services, tenant).await {
        Ok(c) => c,
        Err(e) => return page::error(state, &staff.desk, e),
    };
    let stored = EditValues {
        title: product.title.clone(),
        handle: product.handle.to_string(),
        description: product.description.clone(),
        status: product.status.as_str().to_owned(),
        categories: product.categories.iter().map(ToString::to_string).collect(),
    };
    let (e, problems) = s.edit.unwrap_or((&stored, Problems::default()));
    let blank = VariantForm::default();
    let (v, vproblems) = s.variant.unwrap_or((&blank, Problems::default()));
    let (image_alt, iproblems) = s.image.unwrap_or(("", Problems::default()));
    let upload_path = format!("/console/products/{}/images", product.id);
    let upload_action = format!(
        "{upload_path}?csrf={}",
        crate::web::console::desk::upload_token(&state.services.keyring, &staff.desk, &upload_path)
    );
    let currency = &tenant.settings.currency;
    let main = ShowPage {
        csrf: staff.desk.csrf(state),
        can_write: staff.desk.can(Permission::CatalogWrite),
        notice: s.notice,
        id: product.id.to_string(),
        heading: &product.title,
        e,
        statuses: statuses(&e.status).into_iter().skip(1).collect(),
        categories: categories
            .iter()
            .map(|c| Choice {
                value: c.id.to_string(),
                label: c.name.clone(),
                selected: e.categories.contains(&c.id.to_string()),
            })
            .collect(),
        problems,
        variants: product
            .variants
            .iter()
            .map(|v| VariantRow {
                id: v.id.to_string(),
                sku: v.sku.as_str().to_owned(),
                title: v.title.clone(),
                price: money::format(v.price.amount, &v.price.currency, Lang::En),
                on_hand: v.inventory.on_hand,
                reserved: v.inventory.reserved,
                available: v.inventory.available,
            })
            .collect(),
        images: product
            .images
            .iter()
            .map(|i| ImageRow {
                id: i.id.to_string(),
                url: i.url.clone(),
                alt: if i.alt.is_empty() {
                    "(no alt text)".into()
                } else {
                    i.alt.clone()
                },
                size: format!("{} × {} px", i.width, i.height),
            })
            .collect(),
        v,
        vproblems,
        currency,
        upload_action,
        image_alt,
        iproblems,
    }
    .render();
    page::render(
        state,
        &staff.desk,
        &format!("/console/products/{}", product.id),
        s.status,
        &product.title,
        main,
    )
}

#[derive(Debug, Default, Deserialize)]
pub struct Done {
    #[serde(default)]
    done: String,
}

/// `GET /console/products/{id}`.
pub async fn show(
    State(state): State<AppState>,
    staff: Staff,
    Path(raw): Path<String>,
    done: Result<Query<Done>, QueryRejection>,
) -> Response {
    if let Err(r) = staff.require(&state, Permission::CatalogRead) {
        return r;
    }
    let id: ProductId = match id_or_404(&state, &staff, &raw) {
        Ok(id) => id,
        Err(r) => return *r,
    };
    let product = match products::get(&state.services, staff.tenant(), id).await {
        Ok(p) => p,
        Err(e) => return page::error(&state, &staff.desk, e),
    };
    let done = done.map(|Query(d)| d.done).unwrap_or_default();
    let shown = Shown {
        status: StatusCode::OK,
        notice: notice(Some(&done)),
        edit: None,
        variant: None,
        image: None,
    };
    render_show(&state, &staff, &product, shown).await
}

/// `POST /console/products/{id}`: title, handle, description, status and
/// categories (checkboxes, so the body is read as pairs).
pub async fn update(
    State(state): State<AppState>,
    staff: Staff,
    Path(raw): Path<String>,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    if let Err(r) = staff.require(&state, Permission::CatalogWrite) {
        return r;
    }
    let id: ProductId = match id_or_404(&state, &staff, &raw) {
        Ok(id) => id,
        Err(r) => return *r,
    };
    let Ok(Form(pairs)) = form else {
        return page::unreadable_form(&state, &staff.desk);
    };
    let one = |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let values = EditValues {
        title: one("title"),
        handle: one("handle"),
        description: one("description"),
        status: one("status"),
        categories: pairs
            .iter()
            .filter(|(n, _)| n == "category")
            .map(|(_, v)| v.clone())
            .collect(),
    };
    let tenant = staff.tenant();
    let svc = &state.services;
    // Another shop's product (or none) is a 404 before anything is read
    // from the form.
    let product = match products::get(svc, tenant, id).await {
        Ok(p) => p,
        Err(e) => return page::error(&state, &staff.desk, e),
    };
    let mut categories = Vec::new();
    for c in &values.categories {
        match c.parse() {
            Ok(c) => categories.push(c),
            Err(_) => {
                let p = Problems::field("category", "is not one of the shop's categories");
                let shown = Shown {
                    status: StatusCode::UNPROCESSABLE_ENTITY,
                    notice: None,
                    edit: Some((&values, p)),
                    variant: None,
                    image: None,
                };
                return render_show(&state, &staff, &product, shown).await;
            }
        }
    }
    let patch = ProductPatchInput {
        handle: Some(values.handle.clone()),
        title: Some(values.title.clone()),
        description: Some(values.description.clone()),
        status: Some(values.status.clone()),
        tags: None,
        categories: Some(categories),
    };
    match products::update(svc, tenant, id, &patch, &staff.desk.audit()).await {
        Ok(_) => {
            svc.cache.invalidate(tenant.id).await;
            see_other(&format!("/console/products/{id}?done=saved"))
        }
        Err(e) => match refusal(e, |f| match f {
            "categories" => Some("category"),
            _ => None,
        }) {
            Ok((status, p)) => {
                let shown = Shown {
                    status,
                    notice: None,
                    edit: Some((&values, p)),
                    variant: None,
                    image: None,
                };
                render_show(&state, &staff, &product, shown).await
            }
            Err(e) => page::error(&state, &staff.desk, e),
        },
    }
}

/// `POST /console/products/{id}/variants`: a variant with its SKU, price,
/// initial stock and (optional) title.
pub async fn add_variant(
    State(state): State<AppState>,
    staff: Staff,
    Path(raw): Path<String>,
    form: Result<Form<VariantForm>, FormRejection>,
) -> Response {
    if let Err(r) = staff.require(&state, Permission::CatalogWrite) {
        return r;
    }
    let id: ProductId = match id_or_404(&state, &staff, &raw) {
        Ok(id) => id,
        Err(r) => return *r,
    };
    let Ok(Form(f)) = form else {
        return page::unreadable_form(&state, &staff.desk);
    };
    let tenant = staff.tenant();
    let svc = &state.services;
    let product = match products::get(svc, tenant, id).await {
        Ok(p) => p,
        Err(e) => return page::error(&state, &staff.desk, e),
    };
    let currency = tenant.settings.currency.clone();
    let mut problems = Problems::default();
    let price = money::parse_major(&f.price, &currency, Lang::En);
    if price.is_none() {
        problems.add(
            "price",
            format!("Enter an amount in {currency}, such as 19.99"),
        );
    }
    let stock = parse_count(&f.stock);
    if stock.is_none() {
        problems.add("stock", "Enter a whole number, such as 10");
    }
    let refused = |status, p| Shown {
        status,
        notice: None,
        edit: None,
        variant: Some((&f, p)),
        image: None,
    };
    if !problems.is_empty() {
        let shown = refused(StatusCode::UNPROCESSABLE_ENTITY, problems);
        return render_show(&state, &staff, &product, shown).await;
    }
    let input = VariantInput {
        sku: f.sku.clone(),
        title: (!f.title.trim().is_empty()).then(|| f.title.clone()),
        options: Default::default(),
        price: storekeep_domain::Money {
            amount: price.unwrap_or(0),
            currency,
        },
        compare_at_price: None,
        inventory: stock,
    };
    match products::add_variant(svc, tenant, id, &input, &staff.desk.audit()).await {
        Ok(_) => {
            svc.cache.invalidate(tenant.id).await;
            see_other(&format!("/console/products/{id}?done=variant"))
        }
        Err(e) => match refusal(e, |f| match f {
            "variant.sku" => Some("sku"),
            "variant.title" => Some("title"),
            "variant.price" => Some("price"),
            "variant.inventory" => Some("stock"),
            _ => None,
        }) {
            Ok((status, p)) => render_show(&state, &staff, &product, refused(status, p)).await,
            Err(e) => page::error(&state, &staff.desk, e),
        },
    }
}

// --- export

/// `GET /console/products/export`: every product of the shop as the admin
/// bulk export's CSV (`GET /api/v1/admin/exports/products`), a download.
pub async fn export(State(state): State<AppState>, staff: Staff) -> Response {
    if let Err(r) = staff.require(&state, Permission::CatalogRead) {
        return r;
    }
    let tenant = staff.tenant();
    let mut out = Vec::new();
    if let Err(e) = bulk::export_from(&state.services, tenant, bulk::Format::Csv, &mut out).await {
        return WebError::Internal(format!("exporting products: {e}")).into_response();
    }
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}-products.csv\"", tenant.slug),
            ),
        ],
        out,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use storekeep_domain::ProductStatus;

    #[test]
    fn the_status_choices_are_the_products_statuses() {
        for c in statuses("").into_iter().skip(1) {
            assert!(ProductStatus::parse(&c.value).is_ok(), "{}", c.value);
        }
    }

    #[test]
    fn a_refusal_names_the_forms_fields() {
        let e = ServiceError::Invalid(storekeep_domain::ValidationErrors::single(
            "variant.sku",
            "must be 1 to 64 characters long",
        ));
        let (status, p) = refusal(e, |f| (f == "variant.sku").then_some("sku")).unwrap();
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(p.get("sku"), Some("must be 1 to 64 characters long"));
        assert!(p.summary().unwrap().contains("sku: must be"));
    }
}
