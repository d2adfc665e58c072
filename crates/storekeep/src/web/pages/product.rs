//! `/products/{handle}`: one active product — gallery, price and
//! compare-at price, stock, the variant picker (radio buttons in a plain
//! form: no script needed), the description, rental plans with their
//! rent-to-own disclosures, and for search engines OpenGraph tags and
//! JSON-LD `Product`/`Offer`s.

use askama::Template;
use axum::extract::{OriginalUri, Path, State};
use axum::response::Response;
use storekeep_domain::{Maintainer, Product, RentalKind};
use storekeep_store::rules::rental_disclosure::Disclosure;

use crate::app::AppState;
use crate::services::rentals::plans::{self, PlanOffer};
use crate::services::storefront;
use crate::web::chrome::CSRF_SLOT;
use crate::web::i18n::Lang;
use crate::web::i18n::catalog::{self, CatalogMsgs};
use crate::web::images::{self, Slot};
use crate::web::pages::views::FEW_LEFT;
use crate::web::pages::{finish, json_ld, paragraphs};
use crate::web::shop::Shop;
use crate::web::{Fragment, WebError, cache, money};

pub struct VariantView {
    pub id: String,
    pub label: String,
    pub price: String,
    pub compare_at: Option<String>,
    pub stock: String,
    pub available: bool,
    pub checked: bool,
}

pub struct PlanView {
    pub id: String,
    pub variant_id: String,
    pub name: String,
    pub variant_label: String,
    pub term: i32,
    pub headline: String,
    /// `(label, value)` rows of the disclosure.
    pub rows: Vec<(String, String)>,
    pub schedule_note: String,
    pub rent_to_own: bool,
}

#[derive(Template)]
#[template(path = "storefront/product.html")]
struct ProductMain<'a> {
    t: &'a CatalogMsgs,
    title: &'a str,
    main_image: Option<String>,
    thumbs: Vec<String>,
    price: String,
    compare_at: Option<String>,
    stock: String,
    in_stock: bool,
    variants: Vec<VariantView>,
    single: bool,
    description: Vec<String>,
    plans: Vec<PlanView>,
    csrf: &'a str,
}

#[derive(Template)]
#[template(path = "storefront/product_head.html")]
struct ProductHead<'a> {
    title: &'a str,
    description: &'a str,
    image: Option<String>,
    price: String,
    currency: &'a str,
    json_ld: String,
}

pub async fn page(
    State(state): State<AppState>,
    shop: Result<Shop, WebError>,
    OriginalUri(uri): OriginalUri,
    Path(handle): Path<String>,
) -> Response {
    let shop = match shop {
        Ok(s) => s,
        Err(e) => return axum::response::IntoResponse::into_response(e),
    };
    let path = uri.path().to_owned();
    // The rental plans' disclosures are dated (a contract made today
    // starts today, in the shop's calendar): the entry is the day's, so a
    // page cached yesterday never shows yesterday's schedule.
    let day = crate::services::contracts::quote::rental_start_date(
        storekeep_store::now(),
        &shop.tenant.settings.time_zone,
    );
    let key = format!("{path}?day={day}");
    let fragment = cache::fragment(&state, &shop, &key, build(&state, &shop, &handle)).await;
    finish(&state, &shop, &path, fragment)
}

fn stock_text(t: &CatalogMsgs, available: i64) -> String {
    if available <= 0 {
        t.out_of_stock.to_owned()
    } else if available <= FEW_LEFT {
        t.few_left.replace("{n}", &available.to_string())
    } else {
        t.in_stock.to_owned()
    }
}

async fn build(state: &AppState, shop: &Shop, handle: &str) -> Result<Fragment, WebError> {
    let svc = &state.services;
    let tenant = &shop.tenant;
    let (lang, t) = (shop.lang, catalog::get(shop.lang));
    let currency = tenant.settings.currency.as_str();
    let product = storefront::product(svc, tenant, handle).await?.product;
    let fmt = |amount: i64| money::format(amount, currency, lang);

    // The variant shown first: the cheapest one in stock, else the cheapest.
    let chosen = product
        .variants
        .iter()
        .filter(|v| v.inventory.available > 0)
        .min_by_key(|v| v.price.amount)
        .or_else(|| product.variants.iter().min_by_key(|v| v.price.amount));
    let variants: Vec<VariantView> = product
        .variants
        .iter()
        .map(|v| VariantView {
            id: v.id.to_string(),
            label: variant_label(&product, v),
            price: fmt(v.price.amount),
            compare_at: v
                .compare_at_price
                .as_ref()
                .filter(|c| c.amount > v.price.amount)
                .map(|c| fmt(c.amount)),
            stock: stock_text(t, v.inventory.available),
            available: v.inventory.available > 0,
            checked: chosen.is_some_and(|c| c.id == v.id),
        })
        .collect();
    let plans = rental_plans(state, shop, &product).await?;

    let description = product.description.as_str();
    let short_description: String = description.chars().take(200).collect();
    let head = ProductHead {
        title: &product.title,
        description: &short_description,
        image: product.images.first().map(|i| absolute(shop, &i.url)),
        price: chosen.map_or_else(String::new, |v| money::plain(v.price.amount, currency)),
        currency,
        json_ld: json_ld(&product_json_ld(shop, &product, currency)),
    }
    .render()
    .map_err(|e| WebError::Internal(format!("rendering a product's head: {e}")))?;

    let main = ProductMain {
        t,
        title: &product.title,
        main_image: product
            .images
            .first()
            .map(|i| images::tag(i, Slot::Full, true, &product.title)),
        thumbs: product
            .images
            .iter()
            .skip(1)
            .map(|i| images::tag(i, Slot::Thumb, false, &product.title))
            .collect(),
        price: chosen.map_or_else(String::new, |v| fmt(v.price.amount)),
        compare_at: chosen
            .and_then(|v| {
                v.compare_at_price
                    .as_ref()
                    .filter(|c| c.amount > v.price.amount)
            })
            .map(|c| t.was_price.replace("{price}", &fmt(c.amount))),
        stock: stock_text(t, chosen.map_or(0, |v| v.inventory.available)),
        in_stock: chosen.is_some_and(|v| v.inventory.available > 0),
        single: variants.len() == 1,
        variants,
        description: paragraphs(description),
        plans,
        csrf: CSRF_SLOT,
    }
    .render()
    .map_err(|e| WebError::Internal(format!("rendering a product page: {e}")))?;
    Ok(Fragment {
        title: format!("{} · {}", product.title, shop.name()),
        head,
        main,
        canonical_path: Some(format!("/products/{}", product.handle.as_str())),
        hit: false,
    })
}

fn variant_label(product: &Product, v: &storekeep_domain::Variant) -> String {
    if !v.options.is_empty() {
        v.options
            .iter()
            .map(|(k, val)| format!("{k}: {val}"))
            .collect::<Vec<_>>()
            .join(", ")
    } else if !v.title.trim().is_empty() {
        v.title.clone()
    } else if product.variants.len() == 1 {
        product.title.clone()
    } else {
        v.sku.as_str().to_owned()
    }
}

fn absolute(shop: &Shop, url: &str) -> String {
    if url.starts_with('/') {
        shop.url(url)
    } else {
        url.to_owned()
    }
}

/// schema.org `Product` with one `Offer` per variant.
fn product_json_ld(shop: &Shop, p: &Product, currency: &str) -> serde_json::Value {
    let offers: Vec<serde_json::Value> = p
        .variants
        .iter()
        .map(|v| {
            serde_json::json!({
                "@type": "Offer",
                "sku": v.sku.as_str(),
                "price": money::plain(v.price.amount, currency),
                "priceCurrency": currency,
                "availability": if v.inventory.available > 0 {
                    "https://schema.org/InStock"
                } else {
                    "https://schema.org/OutOfStock"
                },
                "url": shop.url(&format!("/products/{}", p.handle.as_str())),
            })
        })
        .collect();
    serde_json::json!({
        "@context": "https://schema.org",
        "@type": "Product",
        "name": p.title,
        "description": p.description,
        "image": p.images.iter().map(|i| absolute(shop, &i.url)).collect::<Vec<_>>(),
        "sku": p.variants.first().map(|v| v.sku.as_str()),
        "offers": offers,
    })
}

/// The product's active rental plans with their disclosure, as
/// `services::rentals::plans::offers` computes them for the API too (the
/// rule the cart, the contract and the agreement use). A plan whose
/// serial-tracked units are all out is left out.
async fn rental_plans(
    state: &AppState,
    shop: &Shop,
    product: &Product,
) -> Result<Vec<PlanView>, WebError> {
    let tenant = &shop.tenant;
    let currency = tenant.settings.currency.as_str();
    let offers = plans::offers(&state.services, tenant, product).await?;
    Ok(offers
        .iter()
        .filter(|o| o.available_units != Some(0))
        .filter_map(|o| {
            let variant = product
                .variants
                .iter()
                .find(|v| v.id == o.plan.variant_id)?;
            Some(plan_view(o, variant, product, currency, shop.lang))
        })
        .collect())
}

/// The disclosure's `(label, value)` rows, as the product page, the cart's
/// rental line and the contract page show them.
pub fn disclosure_rows(d: &Disclosure, currency: &str, lang: Lang) -> Vec<(String, String)> {
    let fmt = |a: i64| money::format(a, currency, lang);
    let l = crate::web::i18n::rental::get(lang);
    let mut rows = vec![
        (l.cash_price.to_owned(), fmt(d.cash_price)),
        (
            l.payments.to_owned(),
            l.payments_value
                .replace("{count}", &d.number_of_payments.to_string())
                .replace("{amount}", &fmt(d.payment_amount))
                .replace("{period}", l.period(d.term_unit)),
        ),
        (l.total_of_payments.to_owned(), fmt(d.total_of_payments)),
        (l.total_cost.to_owned(), fmt(d.total_cost)),
        (l.cost_of_renting.to_owned(), fmt(d.cost_of_renting)),
        (
            l.deposit.to_owned(),
            format!("{} — {}", fmt(d.deposit), d.deposit_terms),
        ),
        (l.due_at_signing.to_owned(), fmt(d.due_at_start)),
        (
            l.ownership.to_owned(),
            if d.ownership_passes {
                l.ownership_passes
            } else {
                l.ownership_returns
            }
            .to_owned(),
        ),
        (
            l.maintenance.to_owned(),
            match d.maintainer {
                Maintainer::Shop => l.maintained_by_shop,
                Maintainer::Customer => l.maintained_by_customer,
            }
            .to_owned(),
        ),
    ];
    if let Some(e) = &d.early_purchase {
        let prices = e
            .prices
            .iter()
            .take(6)
            .map(|(after, price)| {
                l.buyout_after
                    .replace("{n}", &after.to_string())
                    .replace("{price}", &fmt(*price))
            })
            .collect::<Vec<_>>()
            .join("; ");
        rows.push((l.early_purchase.to_owned(), format!("{} {prices}", e.terms)));
    }
    for fee in &d.fees {
        rows.push((l.fees.to_owned(), fee.terms.clone()));
    }
    rows.push((
        l.default.to_owned(),
        l.default_value
            .replace("{n}", &d.default_after_days.to_string()),
    ));
    rows
}

fn plan_view(
    o: &PlanOffer,
    variant: &storekeep_domain::Variant,
    product: &Product,
    currency: &str,
    lang: Lang,
) -> PlanView {
    let (p, d) = (&o.plan, &o.disclosure);
    let fmt = |a: i64| money::format(a, currency, lang);
    let l = crate::web::i18n::rental::get(lang);
    let t = catalog::get(lang);
    let rows = disclosure_rows(d, currency, lang);
    let first = d
        .schedule
        .first()
        .map(|i| i.due_date.to_string())
        .unwrap_or_default();
    let last = d
        .schedule
        .last()
        .map(|i| i.due_date.to_string())
        .unwrap_or_default();
    PlanView {
        id: p.id.to_string(),
        variant_id: variant.id.to_string(),
        name: p.name.clone(),
        variant_label: variant_label(product, variant),
        term: p.terms.term,
        headline: t
            .rent_per_installment
            .replace("{amount}", &fmt(d.payment_amount))
            .replace("{period}", l.period(d.term_unit)),
        rows,
        schedule_note: l
            .schedule
            .replace("{first}", &first)
            .replace("{last}", &last),
        rent_to_own: p.terms.kind == RentalKind::RentToOwn,
    }
}
