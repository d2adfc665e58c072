//! Staff previews of every email template, rendered with the shop's
//! branding and sample data. The sample order lists up to two of the
//! shop's own products (their real titles), else made-up ones.

use chrono::NaiveDate;
use storekeep_domain::{
    BuyoutRule, DepositRule, LateFeeRule, Maintainer, RentalKind, RentalTerms, Tenant, TermUnit,
};
use storekeep_store::StoreError;
use storekeep_store::rules::rental_disclosure::disclosure;

use super::branding;
use super::rentals::{ContractFacts, ReminderFacts, contract_context, reminder_context};
use crate::mail::templates::{
    self, Context, Device, Kind, LineSummary, OrderSummary, Webhook, format_money,
};
use crate::services::{ServiceResult, Services};
use crate::wire::email::{EmailPreview, EmailTemplateInfo};

/// Every template, with who receives it.
pub fn list() -> Vec<EmailTemplateInfo> {
    Kind::ALL
        .into_iter()
        .map(|k| EmailTemplateInfo {
            name: k.name().to_owned(),
            audience: k.audience().to_owned(),
        })
        .collect()
}

/// `name` rendered for the shop with sample data; an unknown name is not
/// found.
pub async fn render(svc: &Services, tenant: &Tenant, name: &str) -> ServiceResult<EmailPreview> {
    let kind = Kind::parse(name).ok_or(StoreError::NotFound("email template"))?;
    let currency = tenant.settings.currency.as_str();
    let m = |a: i64| format_money(a, currency);
    let products = svc.store.products_after(tenant.id, None, 2).await?;
    let mut lines: Vec<LineSummary> = products
        .iter()
        .enumerate()
        .map(|(i, p)| LineSummary {
            title: p.title.clone(),
            sku: p.variants.first().map_or_else(
                || format!("SAMPLE-{}", i + 1),
                |v| v.sku.as_str().to_owned(),
            ),
            quantity: 1,
            unit_price: m(2_500),
            total: m(2_500),
        })
        .collect();
    if lines.is_empty() {
        lines = vec![
            LineSummary {
                title: "Sample product".into(),
                sku: "SAMPLE-1".into(),
                quantity: 2,
                unit_price: m(2_500),
                total: m(5_000),
            },
            LineSummary {
                title: "Another sample".into(),
                sku: "SAMPLE-2".into(),
                quantity: 1,
                unit_price: m(1_999),
                total: m(1_999),
            },
        ];
    }
    let product = lines[0].title.clone();
    let mut c = Context::new(branding(Some(tenant)));
    c.order = Some(OrderSummary {
        number: "0000SAMPLE".into(),
        status: "paid".into(),
        lines,
        subtotal: m(6_999),
        discount: Some(m(500)),
        shipping: m(599),
        shipping_method: "standard".into(),
        tax: m(420),
        total: m(7_518),
        refunded: (kind == Kind::Refunded).then(|| m(2_500)),
        address: vec![
            "Ada Lovelace".into(),
            "1 Analytical Way".into(),
            "San Francisco CA 94105".into(),
            "US".into(),
        ],
    });
    c.amount = Some(m(if kind == Kind::Refunded { 2_500 } else { 7_518 }));
    c.token = Some("skr_SAMPLE-TOKEN".into());
    c.link = Some("https://shop.example.com/password-reset/confirm?token=skr_SAMPLE-TOKEN".into());
    c.device = Some(Device {
        agent: "Mozilla/5.0 (sample browser)".into(),
        network: "203.0.113.0/24".into(),
    });
    c.webhook = Some(Webhook {
        url: "https://hooks.example.com/storekeep".into(),
        reason: "the endpoint answered 410 Gone".into(),
    });
    let rentals = rental_samples(&product, currency, kind);
    c.reminder = rentals.reminder;
    c.rental_contract = rentals.rental_contract;
    let rendered = templates::render(kind, &c)
        .map_err(|e| crate::services::ServiceError::Store(StoreError::other(e)))?;
    Ok(EmailPreview {
        template: kind.name().to_owned(),
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
    })
}

/// The sample rental of the previews: a 12-month rent-to-own plan of
/// 49.99 for goods of 499.00, with a 10 % deposit and a 15.00 late fee,
/// anchored on 31 January 2027 so the schedule shows the month-end rule;
/// the reminder is about installment 3, due on 31 March 2027.
fn rental_samples(product: &str, currency: &str, kind: Kind) -> Context {
    let terms = RentalTerms {
        kind: RentalKind::RentToOwn,
        term_unit: TermUnit::Month,
        term: 12,
        min_term: 6,
        max_term: 24,
        price_per_period: 4_999,
        deposit: DepositRule::Percent { bps: 1_000 },
        late_fee: LateFeeRule::Fixed {
            amount: 1_500,
            grace_days: 5,
        },
        buyout: BuyoutRule::CashPriceMinusRent { bps: 5_000 },
        extension_allowed: true,
        maintainer: Maintainer::Shop,
        default_after_days: 30,
    };
    let start = NaiveDate::from_ymd_opt(2027, 1, 31).unwrap_or_default();
    let brand = branding(None);
    let mut c = reminder_context(
        brand.clone(),
        &ReminderFacts {
            contract_ref: "RC-SAMPLE".into(),
            product: product.to_owned(),
            seq: 3,
            due_date: NaiveDate::from_ymd_opt(2027, 3, 31).unwrap_or(start),
            amount: 4_999,
            late_fee: (kind == Kind::RentalOverdue).then_some(1_500),
            currency: currency.to_owned(),
            pay_url: Some("https://shop.example.com/account/rentals/RC-SAMPLE".into()),
        },
    );
    c.rental_contract = contract_context(
        brand,
        &ContractFacts {
            contract_ref: "RC-SAMPLE".into(),
            product: product.to_owned(),
            currency: currency.to_owned(),
            disclosure: disclosure(&terms, 49_900, 12, start),
            document_url: Some("https://shop.example.com/account/rentals/RC-SAMPLE".into()),
        },
    )
    .rental_contract;
    c
}
