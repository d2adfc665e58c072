//! Staff previews of every email template, rendered with the shop's
//! branding and sample data. The sample order lists up to two of the
//! shop's own products (their real titles), else made-up ones.

use storekeep_domain::Tenant;
use storekeep_store::StoreError;

use super::branding;
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
    c.link = Some("https://shop.example.com/account/reset-password?token=skr_SAMPLE-TOKEN".into());
    c.device = Some(Device {
        agent: "Mozilla/5.0 (sample browser)".into(),
        network: "203.0.113.0/24".into(),
    });
    c.webhook = Some(Webhook {
        url: "https://hooks.example.com/storekeep".into(),
        reason: "the endpoint answered 410 Gone".into(),
    });
    let rendered = templates::render(kind, &c)
        .map_err(|e| crate::services::ServiceError::Store(StoreError::other(e)))?;
    Ok(EmailPreview {
        template: kind.name().to_owned(),
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
    })
}
